"""Fine-tuning the fast path on pairs made from one scene (the training half of :mod:`.adaptation`).

:class:`PairSampler` makes the pairs from the scene's pixels only; :func:`fine_tune` trains a
float32 copy of a model on them (Adam, warm-up then cosine decay, the fast phase's loss) and
reports :class:`~ldcsr_core.adaptation.AdaptProgress` after each step.
"""

from __future__ import annotations

import copy
import math
import random
import time

import numpy as np

from .errors import InputError

__all__ = ["PairSampler", "fine_tune", "training_copy", "like_base", "MIN_PAIR_LR"]

MIN_PAIR_LR = 4  # the smallest LR side of a training pair (a pool too small for it: see holdout_split)


class PairSampler:
    """Training pairs from the scene's pixels only: a crop of ``pool`` (the target) and its PIL
    bicubic copy at the scale (the input), a random flip/rotation, one scale per batch.

    ``valid`` (one H×W bool mask per pool array, None: all valid) marks the data: a crop that is
    mostly nodata (filled) is drawn again, up to :data:`REDRAWS` times, so that the model learns
    the ground rather than the fill."""

    MIN_VALID = 0.5  # share of a crop's pixels that must be data
    REDRAWS = 20

    def __init__(self, pool: list[np.ndarray], scale: float, recipe, seed: int, valid=None):
        self.pool, self.scale, self.recipe = pool, scale, recipe
        self.valid = list(valid) if valid is not None else [None] * len(pool)
        self.rng = random.Random(seed)
        self.weights = [a.shape[0] * a.shape[1] for a in pool]

    def _crop(self, c: int) -> np.ndarray:
        """A ``c``-px crop of a pool array, mostly data where the pool has nodata."""
        for _ in range(self.REDRAWS + 1):
            i = self.rng.choices(range(len(self.pool)), weights=self.weights)[0]
            a, v = self.pool[i], self.valid[i]
            y, x = self.rng.randrange(a.shape[0] - c + 1), self.rng.randrange(a.shape[1] - c + 1)
            if v is None or v[y:y + c, x:x + c].mean() >= self.MIN_VALID:
                break
        return a[y:y + c, x:x + c]

    def sizes(self, s: float) -> tuple[int, int]:
        """(lr, hr) side of the pairs at scale ``s``, shrunk to fit the smallest pool image."""
        side = min(min(a.shape[:2]) for a in self.pool)
        lr = self.recipe.crop_lr
        while lr > MIN_PAIR_LR and round(lr * s) > side:
            lr -= 1
        return lr, round(lr * s)

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        from .training.data import degrade

        j = self.recipe.scale_jitter
        s0 = self.recipe.pair_scale or self.scale
        s = s0 * math.exp(self.rng.uniform(-j, j)) if j else s0
        l, c = self.sizes(s)
        lrs, hrs = [], []
        for _ in range(self.recipe.batch):
            hr = np.rot90(self._crop(c), self.rng.randrange(4))
            if self.rng.random() < 0.5:
                hr = hr[:, ::-1]
            hr = np.ascontiguousarray(hr)
            hrs.append(hr)
            lrs.append(degrade(hr, (l, l)))
        return np.stack(lrs), np.stack(hrs)


# ------------------------------------------------------------------------------------ training


def _trainable(model, which: str) -> list:
    from .training.growth import decoder_params

    enc = list(model.cond_stage_model.parameters())
    dec = decoder_params(model.first_stage_model)
    groups = {"all": enc + dec, "decoder": dec, "encoder": enc}
    if which not in groups:
        raise InputError(f"recipe params must be one of {sorted(groups)}, not {which!r}")
    return groups[which]


def _learning_rate(recipe, step: int, frac: float) -> float:
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    return recipe.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


def fine_tune(model, sampler: PairSampler, recipe, *, budget: float, steps: int | None,
              callback, stage: str = "train") -> int:
    """Fine-tune ``model`` (float32, in place) for ``steps`` steps or ``budget`` seconds, on the fixed thread count
    when one is set (``threads.fixed_count``). Its randomness is ``sampler``'s (its pairs, from the sampler's seed); it
    draws nothing from torch's global generators and leaves them alone (before: seeded for the run and put back after
    it, which undid the draws another thread made meanwhile and gave that thread the seed's numbers)."""
    from .threads import fixed_count

    with fixed_count():  # LDCSR_THREADS=N: N threads, as tiles
        return _fine_tune(model, sampler, recipe, budget=budget, steps=steps, callback=callback,
                          stage=stage)


def _fine_tune(model, sampler: PairSampler, recipe, *, budget: float, steps: int | None,
               callback, stage: str) -> int:
    import torch
    import torch.nn.functional as F

    from .adaptation import AdaptProgress
    from .training.data import to_tensor
    from .training.losses import fast_path, grad_l1

    model.requires_grad_(False)
    params = _trainable(model, recipe.params)
    for p in params:
        p.requires_grad_(True)
    anchor = [p.detach().clone() for p in params] if recipe.l2sp else None
    opt = torch.optim.Adam(params, lr=recipe.lr)
    dev = model.device
    t0, step = time.perf_counter(), 0
    try:
        while True:
            elapsed = time.perf_counter() - t0
            frac = step / steps if steps else elapsed / budget
            if frac >= 1.0 or (steps and elapsed >= budget):
                break
            for g in opt.param_groups:
                g["lr"] = _learning_rate(recipe, step, frac)
            lr_u8, hr_u8 = sampler.batch()
            lr, hr = to_tensor(lr_u8, dev), to_tensor(hr_u8, dev)
            pred = fast_path(model, lr, hr.shape[-2:])
            loss = F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr)
            if anchor is not None:
                loss = loss + recipe.l2sp * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if callback is not None:
                callback(AdaptProgress(stage, step, time.perf_counter() - t0, budget, float(loss.detach()), steps))
    finally:
        model.requires_grad_(False)
        model.eval()
    return step


def training_copy(base):
    """A float32 copy of ``base`` on its device, for fine-tuning."""
    import torch

    m = copy.deepcopy(base)
    m = m.to(torch.float32)
    m.train()
    return m


def like_base(model, base, what: str = "the adapted model"):
    """``model`` in ``base``'s float type, with ``base``'s tiling limits (same architecture); a
    :class:`~ldcsr_core.errors.CheckpointError` naming it as ``what`` where a weight is past that type's range
    (:func:`~ldcsr_core.checkpoint_keys.check_cast`, load_model's rule: before, a float16 base's adapted model
    was kept with infinite weights, and saved a file that load_model refuses)."""
    from .checkpoint_keys import check_cast
    from .precision import model_dtype

    dt = model_dtype(base)
    if dt != "float32":
        import torch

        model = model.to(getattr(torch, dt))
        model.scale_factor.data = model.scale_factor.data.float()
        check_cast(model.state_dict(), f"{what}, in its base's float type,", dt)
    model.tile_max, model.tile_overlap = base.tile_max, base.tile_overlap
    return model.eval().requires_grad_(False)
