"""Scene adaptation: fine-tune the fast path on the scene's own pixels, kept only if it helps.

Zero-shot SR (Shocher, Cohen & Irani, CVPR 2018) showed that a scene's own downscaled copies
teach a network about that scene. :func:`adapt` starts from a trained model and fine-tunes the parts
of its fast path named by the :class:`Recipe` on pairs made from the scene alone: a random crop of
the scene is the target, the same crop degraded by the protocol's PIL bicubic (exact scale, as
``ldcsr evaluate`` and the self-check degrade) is the input, with flips and 90° rotations.

The guard has two checks. A strip of the scene (:func:`holdout_split`) is held back from training;
the base and the adapted model are both self-checked there (reduced-resolution validation,
:func:`ldcsr_core.quality.score_window`). And a twin, adapted with the same recipe on the training
part one octave coarser, must restore that part from its coarser copy better than the base (does
the gain carry over one octave finer, as the real use needs?). The adapted model is kept only if
both say so, otherwise the result says so and carries the base model.

Only the fast path is adapted (diffusion mode decodes with the model's detail decoder, which is
left as it is); the adapted model is saved by :meth:`Adaptation.save` in our safetensors format
with its provenance (base model, scene and checksum, scale, bands and stretch, steps, minutes, guard
figures); :mod:`ldcsr_core.adapted_use` says when a use goes beyond what the guard checked.
How the scene is split, read and checked before any training: :mod:`ldcsr_core.adapt_scene`.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .adapted_use import Reading, adapted_check, adapted_scale, outside_use  # noqa: F401 - re-exported
from .adapt_scene import (  # noqa: F401 - the windows' constants, adapted_here, _guard_boxes re-exported
    GUARD_WINDOWS, HOLDOUT, MAX_GUARD_PIXELS, MAX_TRAIN_PIXELS, POOL_WINDOW, POOL_WINDOWS, _check_data,
    _check_refs, _guard_boxes, _pixels_sha256, _read_parts, _reading, _scene_id, adapted_here, holdout_split,
)
from .errors import InputError
from .finetune import PairSampler, fine_tune, like_base, training_copy
from .rules import (MAX_ADAPT_SCALE, check_callable, check_count, check_flag, check_number, check_one_scale,
                    check_path, check_training_seed)
from .words import counted, signed

__all__ = ["adapt", "Adaptation", "AdaptProgress", "Recipe", "PairSampler", "holdout_split", "user_models_dir",
           "user_model_files", "model_folder_problem", "check_save_room",
           "db_text", "adapted_scale", "adapted_check", "outside_use", "Reading"]

# MAX_ADAPT_SCALE (rules.py): above it adaptation is refused


@dataclass(frozen=True)
class Recipe:
    """How the fast path is fine-tuned (defaults: measured in docs/adaptation.md)."""

    params: str = "all"  # "all" (condition encoder + decoder), "decoder", "encoder"
    lr: float = 3e-5  # Adam, peak; warm-up then cosine decay over the budget
    warmup: int = 10
    batch: int = 4
    crop_lr: int = 32  # LR side of a training pair (the target is round(crop_lr * scale) px)
    scale_jitter: float = 0.0  # pairs at scale * exp(U(-j, j)) ("scales around s")
    l2sp: float = 0.0  # weight of ||θ - θ_base||² (regularisation towards the base)
    margin_db: float = 0.0  # the adapted model must beat the base by more than this on the holdout
    max_steps: int | None = 150  # a cap on the steps, whatever the time budget
    pair_scale: float | None = None  # make the pairs at this scale instead of the target scale
    max_scale: float = MAX_ADAPT_SCALE  # larger scales are refused (see MAX_ADAPT_SCALE)


@dataclass(frozen=True)
class AdaptProgress:
    """Where an adaptation is: ``stage`` "train" (the model: ``step`` steps done, ``seconds`` of
    ``budget``), "twin" (its twin for the octave check, likewise) or "guard" (checking them)."""

    stage: str
    step: int
    seconds: float
    budget: float
    loss: float | None = None
    steps: int | None = None  # the step budget, when one was given

    @property
    def fraction(self) -> float:
        """0-0.5 while the model trains, 0.5-1 while its twin trains, 1 in the guard."""
        if self.stage not in ("train", "twin"):
            return 1.0
        by_time = self.seconds / self.budget if self.budget > 0 else 1.0
        f = min(1.0, max(by_time, self.step / self.steps) if self.steps else by_time)
        return 0.5 * f + (0.5 if self.stage == "twin" else 0.0)


@dataclass
class Adaptation:
    """What :func:`adapt` did: ``model`` is the adapted model when ``kept``, else the base."""

    model: object
    kept: bool
    scale: float
    steps: int
    seconds: float
    holdout: tuple[int, int, int, int]  # (row_off, col_off, height, width) of the guard's strip
    psnr_base: float  # on the strip, reduced-resolution (Wald), fast mode
    psnr_adapted: float
    psnr_bicubic: float
    octave_base: float  # the octave check: the training part restored from its coarser copy by
    octave_twin: float  # the base and by a twin adapted one octave coarser (reduced resolution)
    base_name: str
    base_sha256: str
    scene: str
    scene_sha256: str
    seed: int
    recipe: Recipe = field(default_factory=Recipe)
    candidate: object = None  # the fine-tuned model, kept or not (for evaluations of the guard)
    reading: Reading = field(default_factory=Reading)  # the scene's bands and stretch (unknown: an array)
    base_version: str = ""  # the base's version: the built-ins share one name (ldcsr-compact-rsscn7 1…4)
    base_trained_on: tuple[str, ...] = ()  # the folders the base was trained on (training.evaluate.trained_folders)
    window: tuple[int, int, int, int] | None = None  # (row_off, col_off, height, width) adapted to; None: all
    base_scenes: dict = field(default_factory=dict)  # an adapted base's scenes (Checked.metadata_of_scenes)

    @property
    def gain_db(self) -> float:
        """Adapted minus base PSNR on the held-back strip."""
        return self.psnr_adapted - self.psnr_base

    @property
    def octave_gain_db(self) -> float:
        """Twin minus base PSNR of the octave check (does this scene's adaptation transfer one
        octave finer?)."""
        return self.octave_twin - self.octave_base

    @property
    def refusal(self) -> str:
        """Which of the guard's checks said no, in words ('' when kept): a gain on the strip beside
        "not kept" needs its reason."""
        if self.kept:
            return ""
        no = [what for what, gain, need in (("on the held-back strip", self.gain_db, self.recipe.margin_db),
                                            ("in the octave check", self.octave_gain_db, 0.0)) if not gain > need]
        return "no gain " + " nor ".join(no) if no else "no gain"

    def line(self) -> str:
        verdict = "kept" if self.kept else f"not kept ({self.refusal}): the base model stays"
        return (f"adaptation ×{self.scale:g}: {db_text(self.gain_db)} dB over the base model on the held-back "
                f"{self.holdout[3]}×{self.holdout[2]} px strip (base {signed(self.psnr_base - self.psnr_bicubic)}, "
                f"adapted {signed(self.psnr_adapted - self.psnr_bicubic)} dB over bicubic), octave check "
                f"{db_text(self.octave_gain_db)} dB; {counted(self.steps, 'step')}, {self.seconds / 60:.1f} min: {verdict}")

    def provenance(self) -> dict:
        """The metadata saved with the model (strings)."""
        guard = {"holdout": list(self.holdout), "psnr_base": round(self.psnr_base, 4),
                 "psnr_adapted": round(self.psnr_adapted, 4), "psnr_bicubic": round(self.psnr_bicubic, 4),
                 "octave_base": round(self.octave_base, 4), "octave_twin": round(self.octave_twin, 4),
                 "kept": self.kept}
        return {"adapted_from": self.base_name, "adapted_from_sha256": self.base_sha256,
                **({"adapted_from_version": self.base_version} if self.base_version else {}),
                **({"adapted_from_trained_on": json.dumps(list(self.base_trained_on))} if self.base_trained_on else {}),
                "adapted_on": self.scene, "adapted_on_sha256": self.scene_sha256, **self.base_scenes,
                **({"adapt_window": json.dumps(list(self.window))} if self.window else {}),
                "adapt_scale": f"{self.scale:g}", "adapt_steps": str(self.steps),
                "adapt_minutes": f"{self.seconds / 60:.2f}", "adapt_seed": str(self.seed),
                "adapt_recipe": json.dumps(asdict(self.recipe)), "adapt_guard": json.dumps(guard),
                **self.reading.metadata()}

    def save(self, path, *, name: str | None = None, overwrite: bool = True) -> Path:
        """Write the adapted model (atomically) with its provenance; InputError if it was not kept, or
        if ``path`` is the base model's file or in the built-in models' folder (``overwrite`` or not);
        without ``overwrite``, OutputExistsError if ``path`` exists (it is kept). ``model`` then
        carries the saved file's identity (name, version, notes, SHA-256), as ``load_model(path)``
        gives it, so that outputs made with it in memory (napari's Run after Adapt) name that file."""
        from .checkpoints import save_model
        from .files import check_name_length, sha256_file

        if not self.kept:
            raise InputError("the adapted model was not kept (the guard found it no better than the base "
                             "model): nothing to save")
        overwrite = check_flag(overwrite, "overwrite")
        path = check_path(path, "output")  # None: pathlib's TypeError; '': ".: ... saved as .safetensors"
        if path.suffix.lower() != ".safetensors":
            raise InputError(f"{path}: an adapted model is saved as .safetensors")
        check_name_length(path, "the adapted model's")  # is_file() below fails in errno's words
        if self.base_sha256 and path.is_file() and sha256_file(path) == self.base_sha256:  # overwrite or not
            raise InputError(f"{path} is the model it was adapted from, {self.base_name} (inputs are never "
                             "overwritten; give another name)")
        stem = Path(self.scene).stem if self.scene else "array"
        name = name or f"{self.base_name}-adapted-{stem}"
        notes = (f"{self.base_name} adapted to {Path(self.scene).name or 'an array'} at ×{self.scale:g} "
                 f"({counted(self.steps, 'step')}, {db_text(self.gain_db)} dB over the base on its held-back strip)")
        version = str(getattr(self.model, "version", "0"))  # adapt(): the base's + "+adapted"
        out = save_model(self.model, path, name=name, version=version, notes=notes, extra=self.provenance(),
                         overwrite=overwrite)
        self.model.name, self.model.version, self.model.notes = name, version, notes
        self.model.weights_sha256 = sha256_file(out)
        return out


def db_text(db: float) -> str:
    """A gain in dB, signed, with the digits its sign needs: ``+0.05``, ``+0.004``, ``-<0.001``;
    never ``+0.00`` beside "kept" or ``-0.00`` beside "not kept" (what decided it is the sign)."""
    if not math.isfinite(db) or abs(db) >= 0.005:
        return f"{db:+.2f}"
    if abs(db) >= 0.0005:
        return f"{db:+.3f}"
    return "0" if db == 0 else f"{'+' if db > 0 else '-'}<0.001"


def user_models_dir() -> Path:
    """Where the plugin keeps adapted models (listed by ``ldcsr models`` and its model picker):
    ``$LDCSR_MODELS_DIR``, else ``$XDG_DATA_HOME/ldcsr/models`` (``~/.local/share/ldcsr/models``).
    A relative ``XDG_DATA_HOME`` is ignored, as the XDG specification says (it named another
    folder in every working directory: models saved from one were not listed from another); a
    leading ``~`` is the home folder (a launcher's environment file does not expand it)."""
    env = os.environ.get("LDCSR_MODELS_DIR")
    if env:
        return Path(os.path.expanduser(env))
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "ldcsr" / "models"


def user_model_files() -> list[Path]:
    """The model files of :func:`user_models_dir`, by name: those ``--model`` reads as our format
    (:func:`~ldcsr_core.model_metadata.is_safetensors`: ``.safetensors`` in any letter case, or a file
    that starts as one, ``M.SAFETENSORS``, ``m.sft``; a FIFO or a link to a missing file by its name;
    before, only lower-case ``*.safetensors``), not a part file of a save in progress; each model file
    once (:func:`~ldcsr_core.builtin_models.distinct_models`: a link there and its target, or a hard
    link, are one model, under the name that sorts first); none when the folder cannot be read."""
    from .builtin_models import distinct_models
    from .files import PART_SUFFIX
    from .model_metadata import is_safetensors

    folder = user_models_dir()
    try:
        return distinct_models(sorted(p for p in folder.iterdir() if not p.name.endswith(PART_SUFFIX)
                                      and is_safetensors(p))) if folder.is_dir() else []
    except OSError:
        return []


def model_folder_problem() -> str:
    """Why no adapted model can be listed from :func:`user_models_dir`, or "": it is a file (or another
    thing that is not a folder), e.g. ``LDCSR_MODELS_DIR`` set to a model's file. ``ldcsr models``
    warns of it, and a name of no model says it (:func:`~ldcsr_core.model_names.model_named`); before,
    the built-in models alone were listed, without a word. One that cannot be looked at (a folder above
    it that cannot be searched, a name too long) is said so, not raised."""
    folder = user_models_dir()
    env = os.environ.get("LDCSR_MODELS_DIR")
    named = f"LDCSR_MODELS_DIR={env}" if env else f"the model folder {folder}"
    try:
        if not folder.exists() or folder.is_dir():
            return ""
    except OSError as e:  # (exists() raises all but 'not there'): user_model_files lists none of it
        return f"{named} cannot be looked at ({e.strerror or e}), so no adapted model is listed"
    what = "a file, not a folder" if folder.is_file() else "not a folder"
    return f"{named} is {what}, so no adapted model is listed: set it to the folder of your adapted models"


def check_save_room(folder, model) -> None:
    """Before adapting: an adapted ``model`` can be saved in ``folder`` (or, if it does not exist
    yet, in its nearest existing parent): a writable folder, with room for the file (float32, as
    :meth:`Adaptation.save` writes it) on the disk and under the file size limit (``ulimit -f``).
    Else a :class:`~ldcsr_core.errors.RasterIOError` naming what lacks, so that minutes of
    fine-tuning are not lost at the save; :class:`InputError` for the built-in models' folder
    (``LDCSR_MODELS_DIR`` set to it: no model is saved there)."""
    import errno

    from .builtin_models import BUILTIN_FOLDER_IS, in_builtin_folder
    from .errors import RasterIOError
    from .files import check_room, check_writable

    if in_builtin_folder(Path(folder) / "adapted.safetensors"):  # --overwrite or not (save_model's rule)
        raise InputError(f"cannot save the adapted model in {folder}: it is {BUILTIN_FOLDER_IS}")
    found = Path(folder)
    while not found.exists() and found != found.parent:
        found = found.parent
    if not found.is_dir():
        raise RasterIOError(errno.ENOTDIR, f"cannot save the adapted model in {folder}: {found} is not a folder")
    check_writable(found, "the adapted model's folder")
    need = sum(t.numel() * 4 for t in model.state_dict().values()) + (1 << 16)  # + its metadata
    check_room(found, need, "the adapted model")


def _coarser(pool: list[np.ndarray], scale: float, valid=None):
    """The training part one octave (one factor ``scale``) coarser, by the protocol's degradation;
    with ``valid`` (its masks), also theirs: a coarse pixel is valid where its box footprint is."""
    from PIL import Image

    from .training.data import degrade
    from .training.evaluate import lr_shape

    coarse = [degrade(a, lr_shape(a.shape[:2], scale)) for a in pool]
    if valid is None:
        return coarse
    masks = [None if v is None else np.asarray(Image.fromarray(v.astype(np.float32)).resize(
        (c.shape[1], c.shape[0]), Image.BOX)) > 1 - 1e-6 for c, v in zip(coarse, valid)]
    return coarse, masks



def _scenes_of(base) -> dict:
    """What a model adapted from ``base`` records of the scenes ``base`` learnt, if it is an adapted
    model (``adapted_earlier_on``: evaluate's caution counts them too); {} otherwise."""
    checked = adapted_check(base)
    return {} if checked is None or not checked.scene_sha256 else checked.metadata_of_scenes()


def _pooled_psnr(refs, scale: float, models: dict, tick) -> dict:
    """Reduced-resolution PSNR (fast mode) of each model over ``refs`` ((box, uint8 RGB, valid)
    triples; nodata pixels are not scored), from the squared error pooled over all their valid
    pixels; ``"bicubic"`` too."""
    from . import quality
    from .training.metrics import psnr_from_mse

    out = {}
    for key, m in models.items():
        checks = quality.scored([quality.score_window(a, scale, m, box=b, mode="fast", seed=0, maps=False,
                                                      callback=tick, valid=v) for b, a, v in refs], scale)
        n = sum(c.values for c in checks)
        out[key] = psnr_from_mse(sum(c.mse["model"] * c.values for c in checks) / n)
        out.setdefault("bicubic", psnr_from_mse(sum(c.mse["bicubic"] * c.values for c in checks) / n))
    return out



def adapt(scene, scale: float, base=None, *, minutes: float = 3.0, steps: int | None = None,
          seed: int = 0, callback: Optional[Callable[[AdaptProgress], None]] = None, window=None,
          bands=None, stretch: str = "auto", recipe: Recipe | None = None,
          holdout: float = HOLDOUT, nodata=None) -> Adaptation:
    """Fine-tune ``base`` on ``scene`` at ``scale`` (fast path), guarded by a held-back strip and
    the octave check (module docstring).

    Parameters
    ----------
    scene : H×W×3 uint8 array (or float in [0, 1], or H×W grey), a raster path or an open rasterio
        dataset (read through ``bands``/``stretch``/``nodata`` as ``ldcsr upscale``); ``window`` =
        ``(row_off, col_off, height, width)`` adapts to that part only.
    scale : the factor the model will be used at (pairs are made at exactly this scale, or around
        it with ``recipe.scale_jitter``).
    base : the model to start from (None: the shipped default). It is not modified. Training is in
        float32 from its weights as they are: load it with ``dtype="float32"`` (the CLI and the
        plugin do) rather than from a bfloat16 copy; the result comes back in ``base``'s type.
    minutes, steps : the time budget; ``steps`` stops after that many steps (reproducible), within
        ``minutes`` still.
    seed : crops, flips and the optimiser's randomness.
    callback : ``callback(AdaptProgress)`` after each step and before the guard; raise
        :class:`~ldcsr_core.Cancelled` in it to stop (nothing is kept).
    recipe : what to fine-tune and how (:class:`Recipe`).
    holdout : the share of the scene's longer side held back for the guard.

    Returns
    -------
    Adaptation
        ``model`` (the adapted model if both checks kept it, else the base),
        ``kept``, the guard's figures and the provenance; ``save(path)`` writes the model.
    """
    from .geo.raster_io import window_in_shape
    from .scene_windows import RGBScene, scene_argument

    scale = check_one_scale(scale)
    minutes_in, minutes = minutes, check_number(minutes, "minutes")
    if not (minutes > 0 and math.isfinite(minutes)):
        raise InputError(f"minutes must be a positive number, got {minutes_in!r}")
    steps = None if steps is None else check_count(steps, "steps")
    seed, callback = check_training_seed(seed), check_callable(callback)
    if not 0 <= check_number(holdout, "holdout") < 1:  # NaN failed in int(), -0.1 was taken as 0
        raise InputError(f"holdout must be a share of the scene's longer side in [0, 1), got {holdout!r}")
    if recipe is not None and not hasattr(recipe, "max_scale"):  # 'str' object has no attribute 'max_scale'
        raise InputError(f"recipe must be an ldcsr_core.adaptation.Recipe, got {type(recipe).__name__}")
    recipe = recipe or Recipe()
    if scale > recipe.max_scale:
        raise InputError(
            f"adaptation is offered up to ×{recipe.max_scale:g}, not ×{scale:g}: at larger scales the scene's "
            "own copies are too coarse to teach the model, and on held-out imagery adapted models lost "
            "quality that the guard could not see (docs/adaptation.md); adapt at ×2, or use the base model")
    if recipe.max_steps:
        steps = min(steps or recipe.max_steps, recipe.max_steps)
    from .api import resolve_model
    from .training.evaluate import trained_folders

    scene = scene_argument(scene)
    src = RGBScene(scene, bands, stretch, nodata)  # first: open_raster's checks before the file is hashed
    try:
        from .geo.job import check_not_spread_map

        label = scene if isinstance(scene, (str, os.PathLike)) else getattr(scene, "name", "") or "the scene"
        check_not_spread_map(src.tags, os.path.basename(str(label)), use="adapt")  # upscale's rule, adapt's words
        name, sha = _scene_id(scene)
    except BaseException:
        src.close()
        raise
    if src.made:  # its own invented detail would be taught as truth, and the guard would check against it
        src.close()
        raise InputError(f"the scene is {src.made}: its pixels are not measurements, and a model adapted to "
                         "them learns that model's invented detail as the scene's; adapt on the original scene")
    reading = Reading() if src.reader is None else _reading(src.reader, stretch)
    try:
        box = window_in_shape(window, src.shape, "scene")  # the whole scene for None
        held_box, held, pool, valid = _read_parts(src, box, scale, holdout)
    finally:
        src.close()
    refs = _check_refs(pool, valid)
    _check_data(held, refs, scale, held_box)
    base = resolve_model(base, "base")  # after the scene's refusals (bands, nodata, too little data)
    if not sha:  # not a file (an in-memory raster, e.g. a napari layer): the pixels adapted on
        sha = _pixels_sha256([a for _, a, _ in held] + pool)

    budget = minutes * 60.0 / 2  # half for the model, half for its twin (the octave check)
    model = training_copy(base)
    t0 = time.perf_counter()
    n = fine_tune(model, PairSampler(pool, scale, recipe, seed, valid=valid), recipe, budget=budget,
                  steps=steps, callback=callback)
    twin = training_copy(base)  # the same recipe one octave coarser: does it transfer one octave up?
    coarse, coarse_valid = _coarser(pool, scale, valid)
    fine_tune(twin, PairSampler(coarse, scale, recipe, seed, valid=coarse_valid), recipe, budget=budget,
              steps=n, callback=callback, stage="twin")
    seconds = time.perf_counter() - t0
    guard = AdaptProgress("guard", n, seconds, budget, steps=steps)
    tick = None if callback is None else (lambda _tile: callback(guard))  # cancel within a guard tile
    if callback is not None:
        callback(guard)
    model, twin = like_base(model, base), like_base(twin, base, "the adapted model's octave twin (its guard)")
    strip = _pooled_psnr(held, scale, {"base": base, "adapted": model}, tick)
    octave = _pooled_psnr(refs, scale, {"base": base, "twin": twin}, tick)
    kept = strip["adapted"] > strip["base"] + recipe.margin_db and octave["twin"] > octave["base"]
    if kept:
        model.name, model.version = f"{base.name}-adapted", f"{getattr(base, 'version', '0')}+adapted"
        model.weights_sha256, model.copy_of = "", None  # until saved (Adaptation.save); not the base's copy
    res = Adaptation(model=model if kept else base, kept=kept, scale=scale, steps=n, seconds=seconds,
                      holdout=tuple(int(v) for v in held_box), psnr_base=strip["base"],
                      psnr_adapted=strip["adapted"], psnr_bicubic=strip["bicubic"],
                      octave_base=octave["base"], octave_twin=octave["twin"],
                      base_name=str(base.name), base_sha256=str(base.weights_sha256 or ""), scene=name,
                      scene_sha256=sha, seed=seed, recipe=recipe, candidate=model,
                      reading=reading, base_version=str(getattr(base, "version", "") or ""),
                      base_trained_on=tuple(trained_folders(base)),
                      base_scenes=_scenes_of(base),
                      window=None if tuple(box[2:]) == tuple(src.shape) else tuple(int(v) for v in box))
    if kept:  # what its guard checked, as load_model reads it from the saved file
        from .adapted_use import checked_from_metadata

        model.adapt_checked = checked_from_metadata(res.provenance())
        model.adapt_scale = scale
    return res
