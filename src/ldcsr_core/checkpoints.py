"""Remapping, loading and writing LDCSR checkpoints (reading one: :mod:`.checkpoint_reading`, re-exported here).

Loading never executes pickled code: ``.ckpt`` files go through ``torch.load(weights_only=True)``
(a Lightning checkpoint's OmegaConf and callback objects read as inert placeholders,
:mod:`ldcsr_core.checkpoint_pickle`) and our own format is safetensors.  ``read_state_dict`` →
``remap_official`` (pure, with ``infer_config`` in :mod:`ldcsr_core.official_checkpoint`) →
``load_state_dict(strict=True)``-style checks that name every bad key.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import unicodedata
from pathlib import Path
from typing import Mapping

import torch

from .config import ModelConfig
from .errors import CheckpointError, ConfigError, InputError, one_line
from .builtin_models import builtin_folder_refusal, builtin_sums, model_path
from .devices import channels_last_on, device_layout, resolve_device
from .files import atomic_write_bytes, check_name_length, sha256_file
from .rules import DEFAULT_TILE_OUT, check_flag, check_path, check_training_seed
from .checkpoint_keys import check_cast, check_finite, mismatch_text
from .checkpoint_loading import left_unset, place_tensors, unset_init
from .private_draws import drawing_from, seeded_generator
from .checkpoint_reading import (  # noqa: F401 - re-exported (their older home)
    SAFETENSORS_HEADER_MAX, check_checkpoint_file, header_metadata, read_checkpoint, read_state_dict)
from .model_metadata import (  # noqa: F401 - window_limits: its older home
    _safetensors_kind, canonical_header, is_safetensors, recorded_numbers, window_limits)
from .words import counted
from .models.ldcsr import LDCSR
from .official_checkpoint import builtin_twin, infer_config, remap_official

__all__ = ["read_state_dict", "read_checkpoint", "check_model_texts", "config_from_metadata", "remap_official",
           "infer_config", "load_model", "save_model", "convert_checkpoint", "file_sha256", "build_model",
           "check_finite_file"]

log = logging.getLogger(__name__)

FORMAT_TAG = "ldcsr-safetensors-1"
SCHEDULE_KEYS = (
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
    "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
)
# entries of an official checkpoint that inference does not need: reported, then ignored
IGNORED_PREFIXES = ("first_stage_model.encoder.", "first_stage_model.quant_conv.", "first_stage_model.loss.",
                    "loss.", "model_ema.", "raw_unet.")
IGNORED_KEYS = set(SCHEDULE_KEYS) | {"logvar", "lvlb_weights"}


# the shared helper under its older public name
file_sha256 = sha256_file


def config_from_metadata(meta: Mapping[str, str], path) -> ModelConfig:
    """The architecture a file in our format records (its ``config`` metadata), checked; one
    :class:`CheckpointError` naming ``path`` when it holds none, is not JSON or is no model
    configuration (a field of the wrong type, one this version does not know) or numbers out of
    range (:func:`recorded_numbers`). One rule for
    :func:`load_model` and ``ldcsr models``, which lists what loads."""
    recorded_numbers(meta, path)  # its window limits and adapted scale, as load_model takes them
    text = meta.get("config")
    if not text:
        raise CheckpointError(f"{path}: its metadata marks it as an ldcsr model ({FORMAT_TAG}) but holds "
                              "no model configuration")
    try:
        return ModelConfig.from_json(text).validate()
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: its model configuration is not valid JSON ({e})") from None
    except (ConfigError, TypeError, AttributeError, ValueError) as e:
        raise CheckpointError(f"{path}: its model configuration is not one this version of ldcsr_core "
                              f"can build ({e})") from None


def check_model_file(path: str | os.PathLike) -> Path:
    """:func:`check_checkpoint_file`, and for a file in our format its recorded configuration
    (:func:`config_from_metadata`), from the header alone: what can be said of a model file
    without loading it (``ldcsr info --model``), as :func:`load_model` would say it."""
    path = check_checkpoint_file(path)
    if is_safetensors(path):
        meta = header_metadata(path)
        if meta.get("format") == FORMAT_TAG:
            check_recorded_tensors(meta, path)
    return path


def check_recorded_tensors(meta: Mapping[str, str], path: Path) -> None:
    """A file in our format whose configuration (:func:`config_from_metadata`) or tensors (names and
    shapes, from its header) do not fit: the :class:`CheckpointError` :func:`load_model` would
    raise, without reading a value (:func:`expected_shapes`). Before, ``ldcsr
    models`` and ``info --model`` described a file with a tensor missing as fine."""
    from safetensors import safe_open

    cfg = dataclasses.replace(config_from_metadata(meta, path), encoder=None)
    with safe_open(str(path), framework="pt") as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    _check_fit(expected_shapes(cfg, f"{path}: its model configuration"), shapes, str(path), recorded=True)


def check_finite_file(path: str | os.PathLike) -> None:
    """:func:`load_model`'s refusal of NaN or infinite weights (:func:`~.checkpoint_keys.check_finite`) for the
    model file ``path``, without building its model: the tensors inference loads (those it ignores left out, the
    stage-1 encoder among them). ``ldcsr info --model`` and ``ldcsr models`` said such a file was fine; it was
    refused only at load.
    Reads every tensor (a safetensors file memory-mapped): about a tenth of a second per 100 MB."""
    path = Path(path)
    if is_safetensors(path):
        from safetensors.torch import load_file

        try:
            raw, meta = load_file(str(path)), header_metadata(path)
        except CheckpointError:
            raise
        except Exception as e:  # safetensors raises its own error types
            raise CheckpointError(f"{path} is not a readable safetensors file: {one_line(e)}") from None
    else:
        raw, meta = read_state_dict(path)
    try:
        sd = raw if meta.get("format") == FORMAT_TAG else remap_official(raw)
    except CheckpointError:  # not an LDCSR model's tensors: loading it says so
        return
    used = [k for k in sd if k not in IGNORED_KEYS and not k.startswith(IGNORED_PREFIXES)]
    check_finite(sd, used, str(path))
    check_cast({k: sd[k].float() for k in used if sd[k].dtype == torch.float64}, str(path), "float32")  # as loaded


_SHAPES: dict[str, Mapping[str, tuple]] = {}  # by configuration (its JSON): a folder's models share a few


def expected_shapes(cfg: ModelConfig, whose: str) -> Mapping[str, tuple]:
    """The names and shapes of the tensors a model of ``cfg`` loads (its ``state_dict``), from the
    model built on torch's meta device once per configuration in a process (``ldcsr models`` checked
    each file of a folder by building it: 80-160 ms a compact model); a configuration that cannot be
    built is :func:`_build`'s :class:`CheckpointError` naming ``whose``, each time."""
    from types import MappingProxyType

    key = cfg.to_json()
    shapes = _SHAPES.get(key)
    if shapes is None:
        with torch.device("meta"):
            model = _build(cfg, whose)
        shapes = MappingProxyType({k: tuple(v.shape) for k, v in model.state_dict().items()})
        if len(_SHAPES) < 16:  # a process meets a few
            _SHAPES[key] = shapes
    return shapes


def _check_fit(expected: Mapping[str, tuple], shapes: Mapping[str, tuple], source: str, **why) -> list[str]:
    """The names of a file's tensors (``shapes``: name → shape) that inference ignores; one
    :class:`CheckpointError` when they do not fit the model's (``expected``): counts per part, a
    name each, the likely cause (``why``: :func:`~ldcsr_core.checkpoint_keys.mismatch_text`'s)."""
    ignored = sorted(k for k in shapes if k not in expected and (k in IGNORED_KEYS or k.startswith(IGNORED_PREFIXES)))
    unexpected = sorted(k for k in shapes if k not in expected and k not in ignored)
    missing = sorted(k for k in expected if k not in shapes)
    if missing == ["first_stage_model.decoder.style.weight"]:  # dead official parameter
        missing = []
    mismatched = [f"{k}: checkpoint {shapes[k]} vs model {v}" for k, v in expected.items()
                  if k in shapes and shapes[k] != v]
    if missing or unexpected or mismatched:
        raise CheckpointError(mismatch_text(source, shapes.keys(), missing, unexpected, mismatched, **why))
    return ignored


class _InitNeeded(Exception):
    """A model built without its random initial weights (:func:`_construct_unset`) that its file leaves some of."""


def _check_and_load(model: LDCSR, sd: Mapping[str, torch.Tensor], source: str, *, config_given: bool = False,
                    recorded: bool = False, unset: list | None = None, device: torch.device | None = None,
                    formats=(), dtype: torch.dtype | None = None) -> list[str]:
    """``sd`` checked against ``model`` and copied into it, each tensor then on ``device``, in its network's memory
    format (``formats``) and in ``dtype`` (:func:`~ldcsr_core.checkpoint_loading.place_tensors`); the names of the
    file's tensors inference ignores. ``unset``: the layers built without random weights (:func:`_construct_unset`):
    :class:`_InitNeeded` where ``sd`` leaves one of theirs as it is."""
    expected = model.state_dict()
    ignored = _check_fit({k: tuple(v.shape) for k, v in expected.items()}, {k: tuple(v.shape) for k, v in sd.items()},
                         source, config_given=config_given, recorded=recorded)
    if unset and left_unset(model, [k for k in expected if k not in sd], unset):
        raise _InitNeeded
    check_finite(sd, expected, source)  # (before: loaded, and diffusion mode's pictures were black)
    # a float64 file's weight past float32's range (1e39) is infinite as loaded, its pictures NaN, said nowhere
    check_cast({k: sd[k].to(v.dtype) for k, v in expected.items() if k in sd and sd[k].dtype == torch.float64},
               source, "float32")
    place_tensors(model, sd, device=device, formats=formats, dtype=dtype)
    if ignored:
        groups = sorted({k.split(".")[0] + ("." + k.split(".")[1] if k.startswith("first_stage_model") else "")
                         for k in ignored})
        log.info("%s: ignored %s not needed for inference (%s)", source, counted(len(ignored), "entry", "entries"),
                 ", ".join(groups))
    return ignored


_BUILD_LOCK = threading.Lock()  # unset_init's: one build without random weights at a time


def _construct(config: ModelConfig, seed: int | None = None) -> LDCSR:
    """``LDCSR(config)``, its initial weights drawn from a private generator
    (:func:`~ldcsr_core.private_draws.drawing_from`) at ``seed``, the stream ``torch.manual_seed(seed)`` starts
    (None: where torch's global CPU generator stands, which stays there). torch's global generator is neither seeded
    nor moved: another thread's draws meanwhile are its own, a caller's seeded sequence does not depend on a model
    being made, and another thread's draws or seed never reach these weights."""
    with drawing_from(seeded_generator(seed)):
        return LDCSR(config)


def _construct_unset(config: ModelConfig) -> tuple[LDCSR, list]:
    """:func:`_construct` for a model whose weights a file replaces: its layers left without their random initial
    weights (:func:`~ldcsr_core.checkpoint_loading.unset_init`, whose list of them it returns too), so it draws
    nothing from torch's global generator and leaves it alone (saved and put back, numbers another thread drew from
    it meanwhile were drawn again); under the lock :func:`~ldcsr_core.checkpoint_loading.unset_init` needs."""
    with _BUILD_LOCK, unset_init() as skipped:
        return LDCSR(config), skipped


def _build(cfg: ModelConfig, whose: str, construct=None):
    """:func:`_construct` (its random weights leave torch's global generator alone), or ``construct``; a configuration
    that cannot be built is one :class:`CheckpointError` naming ``whose`` (load_model, ldcsr models)."""
    try:
        return (construct or _construct)(cfg)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as e:  # e.g. a width of 0 or a list of lists
        raise CheckpointError(f"{whose} cannot be built into a model ({one_line(e)})") from None


def _check_config(config) -> None:
    """A ``config=`` argument is a :class:`ModelConfig` or None: :class:`ConfigError` otherwise."""
    if config is not None and not isinstance(config, ModelConfig):
        raise ConfigError(f"config must be a ldcsr_core.ModelConfig or None, got {type(config).__name__}")


def build_model(config: ModelConfig | None = None, *, seed: int = 0, device: str = "cpu") -> LDCSR:
    """A model with freshly initialised (random) weights, e.g. for tests or training.  The weights
    depend on ``seed`` only (a whole number; the weights ``torch.manual_seed(seed)`` then ``LDCSR(config)`` give),
    also when several threads build models or draw at once: they are drawn from a private generator, torch's global
    one is neither seeded nor moved."""
    from .config import tiny_test_config
    _check_config(config)
    seed = check_training_seed(seed)  # 1.5 and '1' failed in torch's manual_seed ('expected a long'), 2**64 overflowed
    model = _construct(config or tiny_test_config(), seed)
    dev = resolve_device(device)
    return device_layout(model.eval().to(dev), dev)


def load_model(source: str | os.PathLike | None = None, *, device: str | torch.device = "auto",
               config: ModelConfig | None = None, with_encoder: bool = False,
               dtype: str | torch.dtype | None = "auto") -> LDCSR:
    """Load an LDCSR model for inference.

    Parameters
    ----------
    source : path to an official Lightning ``.ckpt`` (UNet from its EMA weights), to our
        ``.safetensors`` format (config and provenance in its metadata), a model's name as
        ``ldcsr models`` lists it (:func:`~ldcsr_core.builtin_models.model_path`, the rule of
        ``--model``: a file there of that name wins; a built-in model by file stem, e.g.
        ``"ldcsr-compact-rsscn7-v1"``, ``"ldcsr-compact-rsscn7"`` the default; an adapted model of
        the user's model folder by file name, ``"mine.safetensors"``; another name: an
        :class:`InputError` naming the models), or None for the default model shipped inside the package.
    device : "auto" (CUDA, MPS, then CPU), "cpu", "cuda", "mps" or a torch.device.
    config : override the architecture (otherwise read from metadata or inferred from shapes).
    with_encoder : also load the stage-1 encoder (training / fine-tuning only).
    dtype : "auto" (default: bfloat16 on a CPU that computes it natively, else float32; the
        environment variable ``LDCSR_DTYPE`` overrides it, see :mod:`ldcsr_core.precision`),
        "float32", "bfloat16" or "float16" (GroupNorms and the attention softmax still compute in
        float32). With ``with_encoder`` (training) "auto" is float32.
    """
    from .precision import resolve_dtype

    dev = resolve_device(device)  # bad arguments are refused before the checkpoint is read
    _check_config(config)  # dataclasses.replace's TypeError
    with_encoder = check_flag(with_encoder, "with_encoder")
    try:
        dt = resolve_dtype(dtype, dev, float32_only=with_encoder)
    except ConfigError:  # LDCSR_DTYPE's SettingError
        raise
    except ValueError as e:
        raise ConfigError(str(e)) from None
    path = model_path(source)
    raw, meta, digest = read_checkpoint(path, builtin_check=True)  # one read: weights and checksum agree
    limits, twin_cfg, twin, rounded = meta, None, None, False
    if meta.get("format") != FORMAT_TAG:  # a built-in model's tensors saved alone: its config and windows
        twin = builtin_twin(raw)  # or its float16 (bfloat16) copy saved alone: the same model rounded, loaded as it
        twin, rounded = (twin, False) if twin else (builtin_twin(raw, rounded=True), True)
        if twin is not None and twin[1].get("format") == FORMAT_TAG:
            limits, twin_cfg = twin[1], config_from_metadata(twin[1], twin[0])
            if not with_encoder or not any(k.startswith("first_stage_model.encoder.") for k in raw):
                twin_cfg = dataclasses.replace(twin_cfg, encoder=None)
    if meta.get("format") == FORMAT_TAG:
        cfg = config or config_from_metadata(meta, path)
        if not with_encoder:
            cfg = dataclasses.replace(cfg, encoder=None)
        sd = raw
    else:
        try:  # its EMA copy (a shadow missing) and its architecture: which file, for a batch or a script
            sd = remap_official(raw)
            cfg = config or twin_cfg or infer_config(sd, with_encoder=with_encoder)
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from None
        except ConfigError as e:  # read off its tensors (a model of 4 bands): which file, as for ours
            raise CheckpointError(f"{path}: its architecture, read off its tensors, is not one ldcsr_core "
                                  f"can run ({e})") from None
    ours = limits.get("format") == FORMAT_TAG  # our format, or a built-in model's tensors saved alone
    whose = "the config given" if config is not None else f"{path}: its model configuration"
    placing = dict(device=dev, dtype=None if dt == torch.float32 else dt, config_given=config is not None,
                   recorded=meta.get("format") == FORMAT_TAG)
    model, unset = _build(cfg, whose, _construct_unset)  # without the random weights the file's replace
    try:  # each tensor on dev, in its layout (official weights: the UNet's parity layout) and dtype
        _check_and_load(model, sd, str(path), unset=unset,
                        formats=model.layouts(channels_last_on(dev), all_networks=ours), **placing)
    except _InitNeeded:  # the file leaves some of them: built with them, as before
        model = _build(cfg, whose)
        _check_and_load(model, sd, str(path), formats=model.layouts(channels_last_on(dev), all_networks=ours),
                        **placing)
    model.name = meta.get("name", path.stem)
    model.version = meta.get("version", "official" if not meta else "0")
    model.notes = meta.get("notes", "")
    model.weights_sha256 = digest
    if twin_cfg is not None:  # its weights are that built-in's (or rounded): its name, version and training notes
        model.name, model.version, model.notes = (limits.get("name", model.name),
                                                  limits.get("version", model.version), limits.get("notes", ""))
        model.copy_of, model.rounded_copy_of = (None, twin[0].stem) if rounded else (twin[0].stem, None)
    from .adapted_use import checked_from_metadata

    # an adapted model: the scale, bands and stretch its guard checked (ldcsr_core.adapted_use)
    model.adapt_checked = checked_from_metadata(meta)
    if meta.get("format") == FORMAT_TAG and model.adapt_checked is None and digest not in builtin_sums().values():
        copy = builtin_twin(raw, rounded=True)  # a float16 copy in our format (save_model): its own metadata
        model.rounded_copy_of = copy[0].stem if copy else None
    model.adapt_scale = None if model.adapt_checked is None else model.adapt_checked.scale
    if ours:  # the window limits travel in the metadata
        model.tile_max, overlap = recorded_numbers(limits, path)
        if limits.get("tile_overlap"):
            model.tile_overlap = overlap
    else:  # the official weights only saw 256-px outputs in stage-2 training
        model.tile_max = DEFAULT_TILE_OUT
    model = model.eval().requires_grad_(False)
    device_layout(model, dev, all_networks=ours, converted=True)  # (its tensors placed so by _check_and_load)
    if dt != torch.float32:
        model.scale_factor.data = model.scale_factor.data.float()
        check_cast(model.state_dict(), str(path), str(dt).removeprefix("torch."))  # float16: 1e5 is inf
    return model


#: Characters drawn as nothing that are letters or marks, not format characters: Hangul fillers (U+3164, as a
#: "blank name" trick pastes), the braille blank, the combining grapheme joiner, variation selectors
_DRAWN_BLANK = frozenset([0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x17B4, 0x17B5, *range(0x180B, 0x1810),
                          *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def _visible(c: str) -> bool:
    """Whether ``c`` shows as something: printable, not a blank, not a format character (a zero-width space, a
    BOM) nor one of :data:`_DRAWN_BLANK`."""
    return c.isprintable() and not c.isspace() and unicodedata.category(c) != "Cf" and ord(c) not in _DRAWN_BLANK


def check_model_texts(name, version="0", notes="", extra=None) -> dict:
    """The metadata :func:`save_model` writes beside the weights, checked: ``name``, ``version``,
    ``notes`` and ``extra``'s keys and values text (str), ``name`` not blank, ``extra`` not replacing the format's own
    entries; returns ``extra`` as a dict, else :class:`InputError`.  The trainer checks its model's
    name and version by it when it is made, not when it saves the model at the end of training."""
    try:
        extra = dict(extra or {})
    except (TypeError, ValueError):
        raise InputError(f"extra must be a mapping of text to text, got {type(extra).__name__}") from None
    texts = {"name": name, "version": version, "notes": notes, **{f"extra[{k!r}]": v for k, v in extra.items()}}
    for what, text in [*texts.items(), *(("extra's keys", k) for k in extra)]:
        if not isinstance(text, str):  # was safetensors' "'int' object is not an instance of 'str'"
            raise InputError(f"{what} must be text (str), got {type(text).__name__} {text!r:.40}")
    # '' and ' ' were written: a model listed, and loaded, with no name; so were invisible ones ('\u200b', a BOM)
    if not any(_visible(c) for c in name):
        raise InputError(f"name is {'empty' if not name else f'only blanks ({ascii(name)})'}: give the model a name "
                         "(ldcsr models and info list it by it), e.g. 'my-model'")
    own = sorted(set(extra) & {"format", "config", "name", "version", "notes", "tile_max", "tile_overlap"})
    if own:  # extra={'config': ...} wrote a file that no longer loads
        raise InputError(f"extra may not replace the format's own metadata: {', '.join(own)}")
    return extra


def save_model(model: LDCSR, path: str | os.PathLike, *, name: str, version: str = "0", notes: str = "",
               extra: Mapping[str, str] | None = None, overwrite: bool = True) -> Path:
    """Write ``model`` in our format: safetensors with config, name, version and notes in metadata.
    The file is written to a part file in the destination folder and renamed when complete
    (:func:`~ldcsr_core.files.atomic_write_bytes`: a failed write is one clear error naming
    ``path``, and part files a killed run left are removed). Without ``overwrite`` a file at
    ``path`` (one that appeared while the model was made) is kept: :class:`OutputExistsError`.
    A path in the built-in models' folder is refused, ``overwrite`` or not: :class:`InputError`; a name its disk
    cannot hold, or a Windows device's: :class:`~ldcsr_core.errors.OutputNameError`."""
    from safetensors.torch import save
    overwrite = check_flag(overwrite, "overwrite")  # 'no' was true: the file was replaced
    path = check_path(path, "output")  # '' was the current folder: 'cannot write .: Device or resource busy'
    if not (hasattr(model, "config") and hasattr(model, "state_dict")):  # was "no attribute 'state_dict'"
        raise InputError(f"model must be an LDCSR model (ldcsr_core.load_model or build_model), got "
                         f"{type(model).__name__}")
    extra = check_model_texts(name, version, notes, extra)
    refused = builtin_folder_refusal(path)
    if refused:
        raise InputError(refused)
    check_name_length(path)  # CON.safetensors on Windows: written to the console; too long: errno's words
    sd = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous()
          for k, v in model.state_dict().items()}
    meta = {"format": FORMAT_TAG, "config": model.config.to_json(), "name": name, "version": version,
            "notes": notes}
    for key in ("tile_max", "tile_overlap"):
        if getattr(model, key, None) is not None:
            meta[key] = str(int(getattr(model, key)))
    meta.update(extra)
    # serialised here, written by Python: the disk's errors are OSErrors, not the serialiser's own
    return atomic_write_bytes(path, canonical_header(save(sd, metadata=meta)), overwrite=overwrite)  # same bytes


def convert_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, *, name: str | None = None,
                       config: ModelConfig | None = None, overwrite: bool = True) -> Path:
    """Convert an official ``.ckpt`` into our ``.safetensors`` format (inference tensors only).
    A file already in our format is refused, and so is a built-in model's tensors saved without
    our metadata (which loads as that model, :attr:`copy_of`) (:class:`CheckpointError`):
    converted, either would be labelled version 'official' and lose its training notes (and an
    adapted model its record of what its guard checked); so is ``dst`` naming ``src`` itself
    (:class:`InputError`: inputs are never overwritten). Without ``overwrite`` a file at ``dst``
    (one that appeared meanwhile) is kept: :class:`OutputExistsError`, as :func:`save_model`."""
    from .files import same_file

    overwrite = check_flag(overwrite, "overwrite")
    src, dst = check_path(src, "checkpoint"), check_path(dst, "output")  # None: os.fspath's TypeError
    if same_file(src, dst):
        raise InputError(f"{dst} is the checkpoint it converts (inputs are never overwritten; give another name)")
    check_name_length(dst)  # before the checkpoint is read (save_model's rule)
    path = check_checkpoint_file(src)
    if is_safetensors(path):
        meta = header_metadata(path)
        if meta.get("format") == FORMAT_TAG:
            who = " ".join(filter(None, (meta.get("name"), meta.get("version"))))
            raise CheckpointError(f"{path} is already in the ldcsr format (model {who or '?'}): nothing to "
                                  "convert; use it as it is (--model; load_model(path) in Python)")
    model = load_model(src, device="cpu", config=config, dtype="float32")
    if model.copy_of:  # its weights are a built-in's, not the official release's: loaded as that model already
        raise CheckpointError(f"{path} holds the built-in model {model.copy_of}'s tensors without its metadata: "
                              f"nothing to convert (it loads as {model.name} {model.version} as it is); use "
                              f"--model {model.copy_of} (load_model({model.copy_of!r}) in Python) or this file")
    return save_model(model, dst, name=name or Path(src).stem, version="official",
                      notes=f"converted from {Path(src).name} (sha256 {model.weights_sha256})", overwrite=overwrite)
