"""Training of LDCSR models on any folder of images (CPU or GPU), as library code.

Three phases, each with a wall-clock budget or a number of steps (the spec's two-stage recipe, reordered so that the
deployable fast path is trained first; see the model card for the substitutions):

A. ``fast``  — condition encoder + decoder end to end: decode(cond(bicubic(lr))) ≈ hr
               (MSE + 0.1·L1 on image gradients).
B. ``prior`` — stage-1 encoder on [bicubic(lr), hr] with the decoder frozen: the differential
               prior latent z (posterior sample, KL 1e-6) plus an anchor ||z − c||².
C. ``diffusion`` — UNet through the 4-step chain from q(x_3|x0): the recipe's latent loss
               ||x_0^chain − x0||², and (v2) losses on the *decoded* chain output so that the
               stochastic chain adds detail: L1 + gradient L1, an L1 on FFT amplitudes, and a
               hinge loss from a small conditional PatchGAN (``PatchDiscriminator``), and the
               energy score of two independent chains (``energy_score_l1``) or a loss that makes
               their disagreement follow the error of their mean (``spread_calibration_l1``).  When the
               decoder is trained in this phase too, the fast path keeps its own MSE loss on the
               same batch so that the deterministic mode does not drift.  EMA of the trained weights.

A run checkpoints (atomically) every ``checkpoint_every_s`` to ``<out>.ckpt`` and can be resumed
from it (``resume=``); each checkpoint also writes the EMA weights to ``out``.

Library code only: the ``ldcsr train`` command lives in :mod:`ldcsr_core.cli.train_cmd`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import random
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checkpoints import build_model, load_model, resolve_device, save_model
from ..config import ModelConfig, compact_config
from .data import MultiScaleCrops, degrade, list_images, load_rgb
from .metrics import border_crop, hf_ratio, psnr
from ..models.ldcsr import LDCSR, unet_scale
from ..models.resample import Window2d, resize
from ..samplers import p_sample_step

__all__ = ["train", "Trainer", "TrainingError", "EMA", "PatchDiscriminator", "TrainState", "PHASES", "validate"]

log = logging.getLogger("ldcsr_core.training")

PHASES = ("fast", "prior", "diffusion")


class TrainingError(RuntimeError):
    """Training cannot start or continue (bad init weights, unreadable checkpoint, ...)."""


def to_tensor(a: np.ndarray, device) -> torch.Tensor:
    """uint8 B×H×W×3 → float (B,3,H,W) in [-1,1]."""
    return torch.from_numpy(a).to(device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (B,3,H,W) in [-1,1] → uint8 B×H×W×3."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def grad_l1(a, b):
    dx = lambda x: x[..., :, 1:] - x[..., :, :-1]  # noqa: E731
    dy = lambda x: x[..., 1:, :] - x[..., :-1, :]  # noqa: E731
    return F.l1_loss(dx(a), dx(b)) + F.l1_loss(dy(a), dy(b))


def fft_l1(a, b):
    """L1 distance of the (orthonormal) 2-D FFT amplitude spectra: rewards the right amount of
    high-frequency energy regardless of its exact phase (faithfulness comes from the pixel loss)."""
    fa = torch.fft.rfft2(a.float(), norm="ortho").abs()
    fb = torch.fft.rfft2(b.float(), norm="ortho").abs()
    return F.l1_loss(fa, fb)


def hf_band_l1(a, b, lr_hw, bands: int = 3):
    """Per image, the L1 distance of the RMS spectral amplitudes of ``a`` and ``b`` in ``bands``
    log-spaced bands above the Nyquist frequency of the ``lr_hw`` input (Hann-windowed, as the HF
    ratio metric). It asks for the right amount of detail per band but, unlike :func:`fft_l1`, not
    per frequency, so next to a pixel loss the cheapest way to meet it is to strengthen the
    structure the model is sure of rather than to add noise where it is not."""
    B, C, H, W = a.shape
    win = torch.hann_window(H, periodic=False, device=a.device)[:, None] * \
        torch.hann_window(W, periodic=False, device=a.device)[None, :]
    def power(x):
        x = x.float()
        return torch.fft.rfft2((x - x.mean(dim=(-2, -1), keepdim=True)) * win, norm="ortho").abs().square().sum(1)
    fy = torch.fft.fftfreq(H, device=a.device).abs()[:, None] * H / lr_hw[0]
    fx = torch.fft.rfftfreq(W, device=a.device)[None, :] * W / lr_hw[1]
    q = torch.maximum(fy, fx)  # 0.5 = the LR Nyquist frequency, H/(2h) the HR one
    edges = 0.5 * max(H / lr_hw[0], W / lr_hw[1]) ** (torch.arange(bands + 1, device=a.device) / bands)
    pa, pb = power(a), power(b)
    loss = a.new_zeros(())
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (q > lo) & (q <= hi)
        n = max(int(m.sum()) * C, 1)
        ea, eb = pa[:, m].sum(-1), pb[:, m].sum(-1)
        loss = loss + ((ea / n + 1e-12).sqrt() - (eb / n + 1e-12).sqrt()).abs().mean()
    return loss / bands


def energy_score_l1(y1, y2, target):
    """The energy score (a proper scoring rule, CRPS per pixel) of two independent samples:
    ``½(|y₁−x| + |y₂−x|) − ½|y₁−y₂|``, averaged over pixels. Its expectation is lowest when the
    samples are drawn from the true conditional distribution, so unlike an L1 per sample it rewards
    samples that disagree where the target is uncertain (and only there)."""
    return 0.5 * (F.l1_loss(y1, target) + F.l1_loss(y2, target)) - 0.5 * F.l1_loss(y1, y2)


def spread_calibration_l1(y1, y2, target, ratio: float, window: int = 5):
    """Teach two independent samples to disagree where their mean is wrong: the L1 distance between
    their local disagreement ``|y₁−y₂|`` and ``ratio`` × the local error of their mean ``|ȳ−x|``
    (both averaged over channels and a ``window``² neighbourhood; the error is a fixed target, so
    the gradient moves only the disagreement). ``ratio`` < 1 keeps the samples under-dispersed: the
    map ranks pixels by their error without the cost of fully calibrated samples to the PSNR."""
    local = lambda v: F.avg_pool2d(v.mean(1, keepdim=True), window, 1, window // 2,  # noqa: E731
                                   count_include_pad=False)
    with torch.no_grad():
        err = local((0.5 * (y1 + y2) - target).abs())
    return F.l1_loss(local((y1 - y2).abs()), ratio * err)


def fast_path(model: LDCSR, lr, hr_hw):
    """The deployable one-shot path: decode(cond(bicubic(lr)) / scale_factor)."""
    win = Window2d.whole(lr.shape[-2:], hr_hw)
    return model.decode(model.condition(lr, win), lr, win, hr_hw[0] / lr.shape[-2])


class PatchDiscriminator(nn.Module):
    """A small conditional PatchGAN (pix2pix-style): input = [bicubic(lr), image], output = a map
    of real/fake logits over ~22-px patches.  Spectral norm keeps it tame without tuning."""

    def __init__(self, width: int = 32):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.net = nn.Sequential(
            sn(nn.Conv2d(6, width, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * width, 4 * width, 4, 1, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(4 * width, 1, 4, 1, 1)))

    def forward(self, img, bic):
        return self.net(torch.cat([bic, img], dim=1))


class EMA:
    """Exponential moving average of a set of modules' floating-point state (decay warms up as
    ``min(decay, (1+n)/(10+n))``)."""

    def __init__(self, modules: dict[str, nn.Module], decay: float = 0.999):
        self.modules, self.decay, self.updates = modules, decay, 0
        self.shadow = {f"{m}.{k}": v.detach().clone() for m, mod in modules.items()
                       for k, v in mod.state_dict().items()}

    @torch.no_grad()
    def update(self):
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        for m, mod in self.modules.items():
            for k, v in mod.state_dict().items():
                s = self.shadow[f"{m}.{k}"]
                if v.is_floating_point():
                    s.mul_(d).add_(v.detach(), alpha=1 - d)
                else:
                    s.copy_(v)

    def swap(self):
        """Exchange the live weights and the averages (call twice to restore)."""
        for m, mod in self.modules.items():
            sd = mod.state_dict()
            live = {k: v.detach().clone() for k, v in sd.items()}
            mod.load_state_dict({k: self.shadow[f"{m}.{k}"] for k in sd})
            for k in sd:
                self.shadow[f"{m}.{k}"] = live[k]

    def state_dict(self):
        return {"updates": self.updates, "decay": self.decay, "shadow": self.shadow}

    def load_state_dict(self, sd):
        self.updates, self.decay = sd["updates"], sd["decay"]
        for k, v in sd["shadow"].items():
            self.shadow[k].copy_(v)


@dataclass
class TrainState:
    """Everything a run needs to be resumed: phase bookkeeping, history and RNG states."""

    done: list = field(default_factory=list)         # finished phases
    phase: str | None = None                          # phase in progress
    phase_step: int = 0
    phase_elapsed: float = 0.0                        # wall-clock seconds spent in the phase
    calibrated: bool = False                          # scale_factor measured after phase A
    history: dict = field(default_factory=lambda: {"phases": {}, "val": []})


@torch.no_grad()
def validate(model: LDCSR, val_images, scales=(2.0, 4.0), mode="fast", crop=192, seed=0):
    """Mean PSNR gain over PIL bicubic (dB) and mean HF ratio per scale on centre crops."""
    from PIL import Image
    was_training = model.training
    model.eval()
    res = {}
    for s in scales:
        g, hf, hf_bic = [], [], []
        for img in val_images:
            H, W = img.shape[:2]
            c = min(crop, H, W)
            hr = img[(H - c) // 2:(H - c) // 2 + c, (W - c) // 2:(W - c) // 2 + c]
            lh = int(c / s)
            lr = degrade(hr, (lh, lh))
            out = model.super_resolve(to_tensor(lr[None], model.device), (c, c), mode=mode,
                                      generator=torch.Generator(model.device).manual_seed(seed))
            sr = to_uint8(out)[0]
            bic = np.asarray(Image.fromarray(lr).resize((c, c), Image.BICUBIC))
            g.append(psnr(border_crop(sr, s), border_crop(hr, s)) - psnr(border_crop(bic, s), border_crop(hr, s)))
            hf.append(hf_ratio(sr, hr, lr.shape[:2]))
            hf_bic.append(hf_ratio(bic, hr, lr.shape[:2]))
        res[s] = {"gain_db": float(np.mean(g)), "hf_ratio": float(np.median(hf)),
                  "bicubic_hf_ratio": float(np.median(hf_bic))}
    model.train(was_training)
    return res


def _lr_at(step, frac, base, warmup=50):
    """Linear warm-up over ``warmup`` steps, then cosine decay over the phase's budget (``frac`` of
    its wall-clock time or of its steps)."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 1e-2 * base + 0.5 * (base - 1e-2 * base) * (1 + math.cos(math.pi * min(1.0, frac)))


def _atomic_torch_save(obj, path: Path):
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ckpt", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def grow_model(model, config: ModelConfig, *, seed: int = 0):
    """``model`` with more IMD modules per decoder FRU (``config.decoder.num_sr_modules``), computing
    exactly the same function: the new modules are appended after the existing ones and the FRU's
    1×1 fuse gets zero weights for their outputs, so training starts from the old model's outputs.
    Any other difference between the two configurations is an error."""
    old_cfg = model.config
    same_rest = replace(config, decoder=replace(config.decoder, num_sr_modules=old_cfg.decoder.num_sr_modules))
    grows = all(n >= o for n, o in zip(config.decoder.num_sr_modules, old_cfg.decoder.num_sr_modules))
    if same_rest != old_cfg or not grows or len(config.decoder.num_sr_modules) != len(old_cfg.decoder.num_sr_modules):
        raise TrainingError("--config can only add IMD modules to the decoder (num_sr_modules) of the --init "
                            f"model; got {config.decoder} vs {old_cfg.decoder} and other differences")
    dev = next(model.parameters()).device
    grown = build_model(config, seed=seed, device=dev)
    old_sd, new_sd = model.state_dict(), grown.state_dict()
    with torch.no_grad():
        for key, value in old_sd.items():
            target = new_sd[key]
            if target.shape == value.shape:
                target.copy_(value)
            elif key.endswith(".c.0.weight") and "FRUList" in key:  # the FRU's 1×1 fuse over the concat
                target.zero_()
                target[:, : value.shape[1]].copy_(value)
            else:
                raise TrainingError(f"cannot grow {key}: {tuple(value.shape)} -> {tuple(target.shape)}")
    grown.load_state_dict(new_sd)
    return grown.requires_grad_(True)


def add_detail_decoder(model: LDCSR) -> LDCSR:
    """``model`` plus a detail decoder for diffusion mode, starting as a copy of its stage-1 decoder
    (and post-quant conv): every output is unchanged until the detail decoder is trained."""
    dev = next(model.parameters()).device
    grown = build_model(replace(model.config, detail_decoder=model.config.decoder), device=dev)
    sd = model.state_dict()
    for key in list(sd):
        for part in ("decoder.", "post_quant_conv."):
            if key.startswith("first_stage_model." + part):
                sd["detail_decoder." + key[len("first_stage_model."):]] = sd[key]
    grown.load_state_dict(sd)
    grown.name, grown.version, grown.weights_sha256, grown.notes = model.name, model.version, "", model.notes
    grown.tile_max, grown.tile_overlap = model.tile_max, model.tile_overlap  # same receptive field
    return grown.requires_grad_(True)


def _decoder_params(ae) -> list:
    """Trainable parameters of a decoder and its post-quant conv (not the official dead ``style``)."""
    return [p for n, p in ae.decoder.named_parameters() if not n.startswith("style")] \
        + list(ae.post_quant_conv.parameters())


class Trainer:
    """One training run: the model, data, optimisers, EMA and the resumable ``TrainState``."""

    def __init__(self, data_dir, out, *, val_dir=None, config=None, init=None, minutes=(50.0, 10.0, 15.0),
                 batch_size=8, lr_size=32, scale_range=(1.2, 8.0), base_lr=1e-3, seed=0, device="auto",
                 log_every=10, val_every_s=900.0, checkpoint_every_s=600.0, name="ldcsr-custom", version="0",
                 adv_weight=0.0, fft_weight=0.0, pix_weight=0.0, lat_weight=1.0, hf_weight=0.0, lrc_weight=0.0,
                 es_weight=0.0, spread_weight=0.0, spread_ratio=0.3, train_decoder_in_diffusion=False, train_decoder_in_prior=False, train_detail_decoder=False, val_limit=35, checkpoint=None,
                 grow_sr_modules=None, steps=None):
        if train_decoder_in_diffusion and train_detail_decoder:
            raise TrainingError("train either the shared decoder or the detail decoder in the diffusion phase, not both")
        self.dev = resolve_device(device)
        self.gen = torch.Generator(self.dev).manual_seed(seed)
        if init:
            model = load_model(init, device=self.dev, with_encoder=True).requires_grad_(True)
            if getattr(model.first_stage_model, "encoder", None) is None:
                raise TrainingError(f"{init} has no stage-1 encoder; cannot fine-tune the prior from it")
            if grow_sr_modules:
                levels = len(model.config.decoder.num_sr_modules)
                config = replace(model.config, decoder=replace(model.config.decoder,
                                                               num_sr_modules=(int(grow_sr_modules),) * levels))
            if config is not None and config != model.config:
                model = grow_model(model, config, seed=seed)
        else:
            model = build_model(config or compact_config(with_encoder=True), seed=seed, device=self.dev)
            with torch.no_grad():  # a residual that starts at zero: the output begins as the bicubic skip
                last = model.first_stage_model.decoder.upsampler.fuse[8]
                last.weight.mul_(0.1)
                last.bias.zero_()
        if train_detail_decoder and model.config.detail_decoder is None:
            model = add_detail_decoder(model)
        self.model = model.train()
        self.out = Path(out)
        self.ckpt_path = Path(checkpoint) if checkpoint else self.out.with_suffix(".ckpt")
        self.data_dir = str(data_dir)
        self.data = MultiScaleCrops(list_images(data_dir), lr_size=lr_size, scale_range=scale_range, seed=seed)
        vfiles = list_images(val_dir) if val_dir else []
        if vfiles and val_limit and len(vfiles) > val_limit:
            vfiles = vfiles[:: -(-len(vfiles) // val_limit)]
        self.val_images = [load_rgb(f) for f in vfiles]
        self.minutes = dict(zip(PHASES, minutes))
        # a step budget (when given) replaces the wall clock: pausing the process or sharing the
        # CPU then changes how long a run takes, not what it computes
        self.steps = dict(zip(PHASES, (int(v) for v in steps))) if steps else None
        self.batch_size, self.base_lr = batch_size, base_lr
        self.log_every, self.val_every_s, self.checkpoint_every_s = log_every, val_every_s, checkpoint_every_s
        self.name, self.version = name, version
        self.adv_weight, self.fft_weight, self.pix_weight = adv_weight, fft_weight, pix_weight
        self.lat_weight, self.hf_weight, self.lrc_weight = lat_weight, hf_weight, lrc_weight
        self.es_weight, self.spread_weight, self.spread_ratio = es_weight, spread_weight, spread_ratio
        self.train_decoder_in_diffusion = train_decoder_in_diffusion
        self.train_decoder_in_prior = train_decoder_in_prior
        self.train_detail_decoder = train_detail_decoder
        self.state = TrainState()
        self.disc = PatchDiscriminator().to(self.dev) if adv_weight > 0 else None
        self.ema: EMA | None = None
        self.opt: torch.optim.Optimizer | None = None
        self.opt_d: torch.optim.Optimizer | None = None
        self.settings = {"init": str(init) if init else None, "minutes": list(minutes), "steps": list(steps) if steps else None,
                         "batch_size": batch_size,
                         "lr_size": lr_size, "scale_range": list(scale_range), "base_lr": base_lr, "seed": seed,
                         "adv_weight": adv_weight, "fft_weight": fft_weight, "pix_weight": pix_weight, "lat_weight": lat_weight,
                         "hf_weight": hf_weight, "lrc_weight": lrc_weight, "es_weight": es_weight,
                         "spread_weight": spread_weight, "spread_ratio": spread_ratio,
                         "train_decoder_in_diffusion": train_decoder_in_diffusion,
                         "train_decoder_in_prior": train_decoder_in_prior,
                         "train_detail_decoder": train_detail_decoder,
                         "grow_sr_modules": grow_sr_modules}

    # -- parameters of each phase ------------------------------------------------------------------
    @property
    def _fs(self):
        return self.model.first_stage_model

    def _params(self, phase):
        m, fs = self.model, self._fs
        dec = _decoder_params(fs)
        if phase == "fast":
            return [{"params": list(m.cond_stage_model.parameters()) + dec, "lr": self.base_lr}]
        if phase == "prior":
            groups = [{"params": list(fs.encoder.parameters()) + list(fs.quant_conv.parameters()),
                       "lr": self.base_lr * 0.5}]
            if self.train_decoder_in_prior:  # let the decoder learn to use what z knows beyond c
                groups.append({"params": dec, "lr": self.base_lr * 0.2})
            return groups
        groups = [{"params": list(m.model.parameters()), "lr": self.base_lr * 0.5}]
        if self.train_decoder_in_diffusion:
            groups.append({"params": dec, "lr": self.base_lr * 0.1})
        if self.train_detail_decoder:
            groups.append({"params": _decoder_params(self.model.detail_decoder), "lr": self.base_lr})
        return groups

    def _ema_modules(self):
        mods = {"unet": self.model.model}
        if self.train_decoder_in_diffusion:
            mods["decoder"] = self._fs.decoder
            mods["post_quant_conv"] = self._fs.post_quant_conv
        if self.train_detail_decoder:
            mods["detail_decoder"] = self.model.detail_decoder
        return mods

    def _set_trainable(self, phase):
        self.model.requires_grad_(False)
        for g in self._params(phase):
            for p in g["params"]:
                p.requires_grad_(True)

    # -- losses ------------------------------------------------------------------------------------
    def _randn_like(self, x):
        return torch.randn(x.shape, generator=self.gen, device=x.device, dtype=x.dtype)

    def loss_fast(self, lr, hr):
        pred = fast_path(self.model, lr, hr.shape[-2:])
        return F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr), {}

    def loss_prior(self, lr, hr):
        m, fs = self.model, self._fs
        win = Window2d.whole(lr.shape[-2:], hr.shape[-2:])
        post = fs.encode(hr, lr, win)
        z = post.sample(self._randn_like(post.mean))
        pred = m.decode(z * m.scale_factor, lr, win, hr.shape[-2] / lr.shape[-2])
        with torch.no_grad():
            c = m.condition(lr, win)
        anchor = F.mse_loss(post.mean * m.scale_factor, c)
        loss = F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr) + 0.05 * anchor + 1e-6 * post.kl().mean()
        parts = {"anchor": float(anchor.detach())}
        if self.train_decoder_in_prior:  # the decoder is shared: keep the fast path where phase A left it
            fast = m.decode(c, lr, win, hr.shape[-2] / lr.shape[-2])
            fl = F.mse_loss(fast, hr) + 0.1 * grad_l1(fast, hr)
            loss = loss + fl
            parts["fast"] = float(fl.detach())
        return loss, parts

    def chain(self, lr, hr, win, c, x0):
        """The 4-step ancestral chain from q(x_3 | x0) with the UNet (differentiable)."""
        m, dev = self.model, self.dev
        sched = m.schedule.to(dev)
        T, b = sched.timesteps, lr.shape[0]
        s_int = torch.full((b,), unet_scale(hr.shape[-2], lr.shape[-2]), dtype=torch.long, device=dev)
        osize = torch.full((b,), hr.shape[-2], dtype=torch.long, device=dev)
        x = sched.sqrt_alphas_cumprod[T - 1] * x0 + sched.sqrt_one_minus_alphas_cumprod[T - 1] * self._randn_like(x0)
        for t in reversed(range(T)):
            eps = m.model(x, torch.full((b,), t, dtype=torch.long, device=dev), c, s_int, osize)
            x = p_sample_step(eps, x, t, sched, self._randn_like(x) if t > 0 else None)
        return x

    def loss_diffusion(self, lr, hr):
        m, fs = self.model, self._fs
        win = Window2d.whole(lr.shape[-2:], hr.shape[-2:])
        scale = hr.shape[-2] / lr.shape[-2]
        with torch.no_grad():
            post = fs.encode(hr, lr, win)
            x0 = m.scale_factor * post.sample(self._randn_like(post.mean))
            c = m.condition(lr, win)
        if self.es_weight or self.spread_weight:  # two independent chains per image (the batch twice) for the pair losses
            lr, hr, x0, c = (torch.cat([v, v]) for v in (lr, hr, x0, c))
        x = self.chain(lr, hr, win, c, x0)
        lat = F.mse_loss(x, x0)
        loss = self.lat_weight * lat
        parts = {"lat": float(lat.detach())}
        if not (self.pix_weight or self.fft_weight or self.adv_weight or self.hf_weight or self.lrc_weight
                or self.es_weight or self.spread_weight):
            return loss, parts
        y = m.decode(x, lr, win, scale, sampled=True)
        if self.es_weight or self.spread_weight:
            (y1, y2), target = y.chunk(2), hr.chunk(2)[0]
            if self.es_weight:
                es = energy_score_l1(y1, y2, target)
                loss = loss + self.es_weight * es
                parts["es"] = float(es.detach())
            if self.spread_weight:
                sc = spread_calibration_l1(y1, y2, target, self.spread_ratio)
                loss = loss + self.spread_weight * sc
                parts["spread"] = float(sc.detach())
        if self.pix_weight:
            pix = F.l1_loss(y, hr) + 0.1 * grad_l1(y, hr)
            loss = loss + self.pix_weight * pix
            parts["pix"] = float(pix.detach())
        if self.fft_weight:
            ff = fft_l1(y, hr)
            loss = loss + self.fft_weight * ff
            parts["fft"] = float(ff.detach())
        if self.hf_weight:
            hf = hf_band_l1(y, hr, lr.shape[-2:])
            loss = loss + self.hf_weight * hf
            parts["hf"] = float(hf.detach())
        if self.lrc_weight:  # LR-consistency: the detail must vanish when the output is downsampled again
            lrc = F.l1_loss(F.interpolate(y, size=lr.shape[-2:], mode="bicubic", antialias=True,
                                          align_corners=False), lr)
            loss = loss + self.lrc_weight * lrc
            parts["lrc"] = float(lrc.detach())
        if self.disc is not None:
            bic = resize(lr, win, "bicubic")
            # discriminator step (hinge) on real HR vs the detached chain output
            self.disc.requires_grad_(True)
            d_loss = F.relu(1 - self.disc(hr, bic)).mean() + F.relu(1 + self.disc(y.detach(), bic)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            self.disc.requires_grad_(False)
            g_adv = -self.disc(y, bic).mean()
            loss = loss + self.adv_weight * g_adv
            parts.update(d=float(d_loss.detach()), adv=float(g_adv.detach()))
        if self.train_decoder_in_diffusion:  # keep the deterministic fast path where phase A left it
            pred = m.decode(c, lr, win, scale)
            fl = F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr)
            loss = loss + fl
            parts["fast"] = float(fl.detach())
        return loss, parts

    # -- bookkeeping -------------------------------------------------------------------------------
    def _make_optimizers(self, phase):
        self.opt = torch.optim.Adam(self._params(phase), eps=1e-10)  # small early gradients: keep Adam's steps
        for g in self.opt.param_groups:
            g["base_lr"] = g["lr"]
        if phase == "diffusion":
            self.ema = EMA(self._ema_modules())
            if self.disc is not None:
                self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def checkpoint(self):
        """Atomically write the resumable checkpoint and the current (EMA) weights."""
        s = self.state
        obj = {"model": self.model.state_dict(), "state": s.__dict__, "settings": self.settings,
               "opt": self.opt.state_dict() if self.opt else None,
               "ema": self.ema.state_dict() if self.ema else None,
               "disc": self.disc.state_dict() if self.disc is not None else None,
               "opt_d": self.opt_d.state_dict() if self.opt_d else None,
               "data_rng": self.data.rng.getstate(), "gen": self.gen.get_state()}
        _atomic_torch_save(obj, self.ckpt_path)
        self.save_weights()
        log.info("checkpoint written: %s (+ %s)", self.ckpt_path, self.out)

    def save_weights(self, path=None):
        if self.ema is not None:
            self.ema.swap()
        try:
            save_model(self.model, path or self.out, name=self.name, version=self.version,
                       notes=json.dumps({"data": self.data_dir, "settings": self.settings,
                                         "history": self.state.history}))
        finally:
            if self.ema is not None:
                self.ema.swap()

    def resume(self, path):
        try:
            obj = torch.load(path, map_location=self.dev, weights_only=True)  # never runs pickled code
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
            raise TrainingError(f"cannot read checkpoint {path}: {e}") from e
        self.model.load_state_dict(obj["model"])
        self.state = TrainState(**obj["state"])
        self.data.rng.setstate(obj["data_rng"])
        self.gen.set_state(obj["gen"])
        if self.disc is not None and obj.get("disc") is not None:
            self.disc.load_state_dict(obj["disc"])
        if self.state.phase:
            self._set_trainable(self.state.phase)
            self._make_optimizers(self.state.phase)
            if obj.get("opt"):
                self.opt.load_state_dict(obj["opt"])
            if self.ema is not None and obj.get("ema"):
                self.ema.load_state_dict(obj["ema"])
            if self.opt_d is not None and obj.get("opt_d"):
                self.opt_d.load_state_dict(obj["opt_d"])
        log.info("resumed from %s: done %s, in %s at step %d (%.1f min)", path, self.state.done,
                 self.state.phase, self.state.phase_step, self.state.phase_elapsed / 60)

    def run_validation(self, phase):
        if not self.val_images:
            return
        entry = {"phase": phase, "step": self.state.phase_step}
        if phase != "diffusion":
            entry["fast"] = validate(self.model, self.val_images, mode="fast")
        else:
            if self.ema is not None:
                self.ema.swap()
            try:
                entry["fast"] = validate(self.model, self.val_images, mode="fast")
                entry["diffusion"] = validate(self.model, self.val_images, mode="diffusion")
            finally:
                if self.ema is not None:
                    self.ema.swap()
        entry = {k: ({str(s): v for s, v in d.items()} if isinstance(d, dict) else d) for k, d in entry.items()}
        self.state.history["val"].append(entry)
        for mode in ("fast", "diffusion"):
            if mode in entry:
                log.info("VAL %s step %d %s: %s", phase, entry["step"], mode,
                         "  ".join(f"x{s}: gain {v['gain_db']:+.3f} dB HF {v['hf_ratio']:.3f} "
                                   f"(bic {v['bicubic_hf_ratio']:.3f})" for s, v in entry[mode].items()))

    # -- phases --------------------------------------------------------------------------------------
    def run_phase(self, phase):
        s = self.state
        budget = self.minutes[phase] * 60
        n_steps = self.steps[phase] if self.steps else None
        if n_steps is not None:
            budget = float(n_steps)
        if phase in s.done:
            return
        if budget <= 0 or (phase == "prior" and getattr(self._fs, "encoder", None) is None):
            s.done.append(phase)  # skipped: the weights keep what init/resume gave them
            s.calibrated = s.calibrated or phase == "fast"
            return
        if s.phase != phase:  # a fresh phase
            s.phase, s.phase_step, s.phase_elapsed = phase, 0, 0.0
            self._set_trainable(phase)
            self._make_optimizers(phase)
        loss_fn = {"fast": self.loss_fast, "prior": self.loss_prior, "diffusion": self.loss_diffusion}[phase]
        params = [p for g in self.opt.param_groups for p in g["params"]]
        t_start = time.time() - s.phase_elapsed
        last_ckpt = last_val = time.time()
        losses, parts_acc = [], {}
        def progress():  # fraction of the phase's budget spent
            return s.phase_step / n_steps if n_steps is not None else (time.time() - t_start) / budget

        while budget > 0 and progress() < 1.0:
            frac = progress()
            for g in self.opt.param_groups:
                g["lr"] = _lr_at(s.phase_step, frac, g["base_lr"])
            lr_u8, hr_u8 = self.data.batch(self.batch_size)
            loss, parts = loss_fn(to_tensor(lr_u8, self.dev), to_tensor(hr_u8, self.dev))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            self.opt.step()
            if self.ema is not None and phase == "diffusion":
                self.ema.update()
            losses.append(float(loss.detach()))
            for k, v in parts.items():
                parts_acc.setdefault(k, []).append(v)
            s.phase_step += 1
            s.phase_elapsed = time.time() - t_start
            if s.phase_step % self.log_every == 0:
                extra = " ".join(f"{k} {np.mean(v[-self.log_every:]):.4f}" for k, v in parts_acc.items())
                log.info("%s step %d loss %.5f %s lr %.2e (%.0f s)", phase, s.phase_step,
                         np.mean(losses[-self.log_every:]), extra, self.opt.param_groups[0]["lr"], s.phase_elapsed)
            if self.val_images and time.time() - last_val > self.val_every_s:
                self.run_validation(phase)
                last_val = time.time()
            if time.time() - last_ckpt > self.checkpoint_every_s:
                self.checkpoint()
                last_ckpt = time.time()
        s.history["phases"][phase] = {"steps": s.phase_step, "minutes": round(s.phase_elapsed / 60, 1),
                                      "final_loss": float(np.mean(losses[-50:])) if losses else None}
        s.done.append(phase)
        s.phase = None
        if phase == "fast" and not s.calibrated:
            self.calibrate_scale()
        self.run_validation(phase)
        self.checkpoint()
        self.save_weights(self.out.with_name(f"{self.out.stem}-after-{phase}.safetensors"))

    @torch.no_grad()
    def calibrate_scale(self, batches=8):
        """Make the condition latent c (hence x0) unit-variance without changing the fast path."""
        m = self.model
        cs = []
        for _ in range(batches):
            lr_u8, hr_u8 = self.data.batch(self.batch_size)
            lr = to_tensor(lr_u8, self.dev)
            cs.append(m.condition(lr, Window2d.whole(lr.shape[-2:], hr_u8.shape[1:3])).flatten())
        std = float(torch.cat(cs).std())
        k = 1.0 / max(std, 1e-6)  # c -> k·c and scale_factor -> k·scale_factor: decode(c / sf) unchanged
        m.cond_stage_model.conv_out.weight.mul_(k)
        m.cond_stage_model.conv_out.bias.mul_(k)
        m.scale_factor.mul_(k)
        self.state.calibrated = True
        log.info("scale_factor set to %.5f (latent std was %.4f)", float(m.scale_factor), std)

    def run(self):
        log.info("data: %d training images, %d validation images; device %s, %d threads; settings %s",
                 len(self.data.images), len(self.val_images), self.dev, torch.get_num_threads(), self.settings)
        for phase in PHASES:
            self.run_phase(phase)
        self.save_weights()
        return self.model, self.state.history


def train(data_dir, out, *, val_dir=None, config: ModelConfig | None = None, init: str | None = None,
          minutes=(50.0, 10.0, 15.0), batch_size=8, lr_size=32, scale_range=(1.2, 8.0), base_lr=1e-3,
          seed=0, device="auto", threads=None, log_every=10, val_every_s=900.0, name="ldcsr-custom",
          version="0", resume=None, **kw):
    """Train (or fine-tune, with ``init``; or continue, with ``resume``) an LDCSR model; writes our
    safetensors format to ``out``. Returns (model, history)."""
    if threads:
        torch.set_num_threads(threads)
    t = Trainer(data_dir, out, val_dir=val_dir, config=config, init=init, minutes=minutes, batch_size=batch_size,
                lr_size=lr_size, scale_range=scale_range, base_lr=base_lr, seed=seed, device=device,
                log_every=log_every, val_every_s=val_every_s, name=name, version=version, **kw)
    if resume:
        t.resume(resume)
    return t.run()
