"""Evaluation on a folder of HR images, following the official test protocol.

Each HR image is downsampled by PIL bicubic to ``(int(H/s), int(W/s))``, super-resolved back to
``H×W``, and scored with PSNR/SSIM on RGB uint8 with a border crop of ``ceil(s)`` — for the model
and for PIL bicubic.  LR-consistency = PSNR between the output downsampled again (PIL bicubic) and
the LR input.  HF ratio = spectral energy of the output above the LR Nyquist frequency divided by
that of the HR reference (:func:`ldcsr_core.training.metrics.hf_ratio`; median over images, as
the per-image ratios are skewed).  The ``ldcsr evaluate`` command is in :mod:`ldcsr_core.cli.train_cmd`.
The degradation and restoration of one image is :func:`reduced_resolution`, which the scene
self-check (:mod:`ldcsr_core.quality`) shares, so that its figures are this protocol's.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from ..rules import MAX_SCALE
from ..words import counted, noun, scale_typed, signed
from .data import degrade, load_rgb, split_source
from .metrics import border_crop, hf_ratio, psnr, ssim

__all__ = ["evaluate", "read_set", "format_table", "select_files", "reduced_resolution", "lr_shape", "check_sizes",
           "trained_folders", "trained_folder_of", "trained_on_caution"]


def _bicubic(img: np.ndarray, hw) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize((hw[1], hw[0]), Image.BICUBIC))


def lr_shape(hr_shape, scale: float) -> tuple[int, int]:
    """The LR grid of the protocol: ``(int(H/s), int(W/s))``."""
    return int(hr_shape[0] / scale), int(hr_shape[1] / scale)


def reduced_resolution(hr: np.ndarray, scale: float, model, *, mode="fast", seed=0, tile=None,
                       callback=None, mean_of: int = 1):
    """Wald's reduced-resolution step of the protocol for one HR uint8 RGB image: degrade it by
    PIL bicubic to :func:`lr_shape`, restore it to ``H×W`` with ``model`` (``mean_of`` K > 1: the
    mean of K diffusion samples, seeds ``seed … seed+K-1``, as ``upscale --samples K`` writes its
    output) and with PIL bicubic.

    Returns ``(lr, sr, bic, lr_hw)`` (uint8 images and the LR shape).
    """
    from ..api import upscale
    H, W = hr.shape[:2]
    lr_hw = lr_shape((H, W), scale)
    lr = degrade(hr, lr_hw)
    kw = dict(out_shape=(H, W), model=model, mode=mode, seed=seed, tile=tile, callback=callback)
    sr = upscale(lr, **kw, samples=mean_of).mean if mean_of > 1 else upscale(lr, **kw)
    return lr, sr, _bicubic(lr, (H, W)), lr_hw


def _load(path):
    """An image of the set (:func:`load_rgb`); one that cannot be read says how to score the others."""
    try:
        return load_rgb(path)
    except OSError as e:
        from ..errors import RasterIOError, one_line

        raise RasterIOError(e.errno or errno.EIO, f"{one_line(e)} (move it out of the folder, or remove it, to "
                            "score the other images)") from None


def read_set(files, scales) -> list[tuple[str, np.ndarray]]:
    """The images of ``files`` as :func:`evaluate` scores them (``(the path as given, H×W×3 uint8)``), or their
    refusals, which need no model: one unreadable, with nodata (:func:`load_rgb`'s), too small for a scale
    (:func:`check_sizes`). ``ldcsr evaluate`` reads them so before it loads the model."""
    from ..rules import check_list

    files = check_list(files, "files", "image paths")
    if not files:
        raise InputError("files is empty: give the paths of one or more images to score")
    images = [(str(f), _load(f)) for f in files]  # the path as given: names repeat across subfolders
    check_sizes(images, list(dict.fromkeys(scales)))
    return images


def _given_images(images, files, scales) -> list:
    """``images`` given to :func:`evaluate`, checked as :func:`read_set`'s of ``files`` and ``scales``: one ``(the path
    as given, H×W×3 uint8)`` per file, in their order, each fit for every scale (:func:`check_sizes`); else an
    :class:`InputError` naming both counts, or the first entry that is not its file's, before any image is scored
    (a shorter list scored the first images alone, said as the set's)."""
    from ..rules import check_list

    redo = "give read_set(files, scales)'s images of these files, or images=None to read them here"
    images = check_list(images, "images", "(path, image) pairs, read_set's")
    if len(images) != len(files):
        raise InputError(f"images holds {counted(len(images), 'image')} but files names {len(files)}: {redo}")
    for i, (entry, f) in enumerate(zip(images, files)):
        name, hr = entry if isinstance(entry, (tuple, list)) and len(entry) == 2 else (None, entry)
        if name is None or str(name) != str(f):
            got = f"the image of {str(name)!r}" if name is not None else f"{type(entry).__name__}, not a (path, image) pair"
            raise InputError(f"images[{i}] is not that of files[{i}] {str(f)!r}, got {got}: {redo}")
        if not (isinstance(hr, np.ndarray) and hr.ndim == 3 and hr.shape[-1] == 3 and hr.dtype == np.uint8):
            got = (f"{'×'.join(map(str, hr.shape)) or '0-d'} {hr.dtype}" if isinstance(hr, np.ndarray)  # (not '  uint8')
                   else type(hr).__name__)
            raise InputError(f"images[{i}] ({str(f)!r}) must be an H×W×3 uint8 array, as read_set reads it, got "
                             f"{got}: {redo}")
    check_sizes(images, scales)
    return images


def evaluate(model, files, scales, *, mode="fast", seed=0, tile=None, progress=None, tell=None, images=None) -> dict:
    """Mean PSNR/SSIM/LR-consistency and median HF ratio per scale for ``model`` and for bicubic.
    Every image is checked against every scale before any work (:func:`check_sizes`). The figures
    are in ``model``'s float type (``dtype``): load it with :func:`~ldcsr_core.precision.measuring_dtype`'s
    (float32 unless asked) to compare models; ``note``: an adapted model used beyond what its guard
    checked, and ``caution``: images it was trained on, each also given to ``tell`` as its line
    (``note: …``, ``caution: …``) once the images are checked, before any is scored (the CLI says
    them then, as ``upscale`` does, so that a user can stop a long evaluation). ``images``: :func:`read_set`'s of
    ``files`` and ``scales``, read before (the CLI's, before the model loads; checked: :func:`_given_images`); None:
    read here."""
    from ..adapted_use import adapted_check, outside_use
    from ..api import resolve_model
    from ..precision import model_dtype
    from ..rules import check_callable, check_list, check_mode, check_scales, check_seed, check_tile

    # the arguments before any image is read ('2' was the scale 2, and '23' the scales 2 and 3; a path given
    # alone was read as its characters: 'input is a folder, not a raster file: /'; [] divided by zero)
    check_mode(mode)
    seed, tile = check_seed(seed), check_tile(tile)
    progress, tell = check_callable(progress, "progress"), check_callable(tell, "tell")
    scales = list(dict.fromkeys(check_scales(scales, "[2]")))  # a repeated scale is one row
    files = check_list(files, "files", "image paths")
    if not files:
        raise InputError("files is empty: give the paths of one or more images to score")
    if model is not None:
        resolve_model(model)  # a name is refused before the images are read, as upscale refuses it
    images = read_set(files, scales) if images is None else _given_images(images, files, scales)
    model = resolve_model(model)  # None: the shipped model, named in the result (it was '?')
    note = outside_use(adapted_check(model), scales, mode)  # upscale's note: beyond what its guard checked
    seen, caution = trained_on_caution(model, files)
    for said, text in (("note", note), ("caution", caution)):
        if text and tell:
            tell(f"{said}: {text}")
    table = {}
    for s in scales:
        acc = {k: [] for k in ("psnr", "ssim", "lr_psnr", "hf_ratio", "bicubic_psnr", "bicubic_ssim",
                                "bicubic_lr_psnr", "bicubic_hf_ratio")}
        t0 = time.time()
        for i, (name, hr) in enumerate(images):
            try:
                lr, sr, bic, lr_hw = reduced_resolution(hr, s, model, mode=mode, seed=seed, tile=tile)
            except InputError as e:  # e.g. a side that the scale does not divide: beyond ×8 at ×8
                raise InputError(f"{name} ({hr.shape[1]}×{hr.shape[0]} px) at ×{scale_typed(s)}: {e}") from None
            for name, out in (("", sr), ("bicubic_", bic)):
                acc[name + "psnr"].append(psnr(border_crop(out, s), border_crop(hr, s)))
                acc[name + "ssim"].append(ssim(border_crop(out, s), border_crop(hr, s)))
                acc[name + "lr_psnr"].append(psnr(_bicubic(out, lr_hw), lr))
                acc[name + "hf_ratio"].append(hf_ratio(out, hr, lr_hw))
            if progress:
                progress(s, i + 1, len(images))
        row = {k: float(np.median(v) if k.endswith("hf_ratio") else np.mean(v)) for k, v in acc.items()}
        row["gain_db"] = row["psnr"] - row["bicubic_psnr"]
        row["seconds_per_image"] = (time.time() - t0) / len(images)
        table[str(s)] = row
    return {"mode": mode, "seed": seed, "images": len(images), "model": getattr(model, "name", "?"),
            "weights_sha256": getattr(model, "weights_sha256", ""), "dtype": model_dtype(model),
            "device": str(getattr(model, "device", "cpu")), "tile": tile, "files": [name for name, _ in images],
            "images_trained_on": seen, "caution": caution or None, "note": note, "scales": table}


def trained_folders(model) -> list[str]:
    """The folders of images ``model`` was trained on, as its notes record them (``ldcsr train``'s:
    the history's ``trained_on``, its --init model's folders and its own DATA, resolved; an earlier
    model's ``data``, when it is a full path), and an adapted model's base's, as its metadata records
    them (``adapted_from_trained_on``; a model adapted before they were recorded: a built-in base's,
    known by its SHA-256); [] when they say none (an official model)."""
    import json

    from ..adapted_use import adapted_check

    try:
        notes = json.loads(getattr(model, "notes", "") or "{}")
    except ValueError:
        notes = {}
    notes = notes if isinstance(notes, dict) else {}
    history = notes.get("history")
    folders = history.get("trained_on") if isinstance(history, dict) else None
    if not isinstance(folders, list):
        folders = [notes.get("data")]
    checked = adapted_check(model)
    base = () if checked is None else checked.trained_on or _builtin_folders(checked.base_sha256)
    folders = list(dict.fromkeys([*base, *folders]))
    return [f for f in folders if isinstance(f, str) and Path(split_source(f)[0]).is_absolute()]


def _builtin_folders(sha256: str) -> tuple[str, ...]:
    """The training folders of the built-in model whose shipped SHA-256 is ``sha256`` (its notes),
    () for another: the base of a model adapted before ``adapted_from_trained_on`` was recorded."""
    from types import SimpleNamespace

    from ..builtin_models import builtin_model_paths, builtin_sums

    sums = builtin_sums()
    path = next((p for p in builtin_model_paths() if sha256 and sums.get(p.name) == sha256), None)
    if path is None:
        return ()
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            notes = (f.metadata() or {}).get("notes", "")
    except Exception:  # noqa: BLE001 - a damaged install: loading it says so
        return ()
    return tuple(trained_folders(SimpleNamespace(notes=notes)))


def trained_folder_of(model, path) -> str:
    """The folder of :func:`trained_folders` that holds file ``path``, or "" (none, or not a file)."""
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        return ""
    p = Path(path).resolve()
    return next((f for f in trained_folders(model) if not split_source(f)[1] and Path(f) in p.parents), "")


def trained_on_caution(model, files) -> tuple[int, str]:
    """How many of ``files`` the model was trained on, as it records it: in a folder of
    :func:`trained_folders`, or the scene an adapted model was adapted on (``ldcsr adapt``'s file);
    and a caution saying so ('' for none): their figures are not on unseen images."""
    from ..adapt_scene import is_scene_file
    from ..adapted_use import adapted_check

    checked = adapted_check(model)
    found = [{trained_folder_of(model, f)} - {""} | ({f"{Path(f).resolve()}, {said}"} if (said := is_scene_file(checked, f))
                                                   else set()) for f in files]
    seen = sum(1 for where in found if where)
    if not seen:
        return 0, ""
    where = "; ".join(sorted(set().union(*found)))
    return seen, (f"{seen} of the {counted(len(files), 'image')} {noun(seen, 'is', 'are')} among those model {getattr(model, 'name', '?')} was trained "
                  f"on ({where}: as it records them): its figures on them are not on unseen images")


def check_sizes(images, scales, advice: str = "remove it or drop the scale") -> None:
    """InputError naming the first image too small for a scale (its LR copy below the engine's
    minimum, restored by more than ×8, or no room for SSIM inside the border crop), or of one flat
    colour (bicubic restores it exactly: an infinite PSNR and an undefined HF ratio, which made the
    whole set's means inf/nan), so that a set is refused before any work rather than after some
    scales were computed. ``advice`` ends the message (train's validation: its scales are fixed)."""
    from ..quality import _check_restorable, min_side

    for name, hr in images:
        if hr.size and not np.ptp(hr.reshape(-1, hr.shape[-1]), axis=0).any():
            raise InputError(f"{name} is one flat colour (every pixel {tuple(int(v) for v in hr[0, 0])}): "
                             "bicubic restores it exactly, so its PSNR is infinite and its HF ratio undefined "
                             f"(the set's means would be inf/nan); {advice.replace(' or drop the scale', '')}")
    for s in scales:
        need = min_side(s)
        for name, hr in images:
            if min(hr.shape[:2]) < need:
                raise InputError(f"{name} is {hr.shape[1]}×{hr.shape[0]} px; scoring at ×{scale_typed(s)} needs at "
                                 f"least {need}×{need} px ({advice})")
            try:
                _check_restorable(hr.shape[:2], s)
            except InputError:  # its words are the scene's (--window): here, the set's
                h, w = lr_shape(hr.shape, s)
                raise InputError(f"{name} is {hr.shape[1]}×{hr.shape[0]} px: at ×{scale_typed(s)} it would be restored from "
                                 f"its {w}×{h} px copy, more than ×{MAX_SCALE:g} ({advice})") from None


def format_table(result: dict) -> str:
    said = [_table_scale(s) for s in result["scales"]]
    width = max([6, *map(len, said)])  # a scale typed whole (3.14159) widens its column: the rows stay aligned
    lines = [f"model {result['model']} · mode {result['mode']} · {result.get('dtype', 'float32')} on "
             f"{result.get('device', 'cpu')} · {counted(result['images'], 'image')}",
             f"{'scale':>{width}} {'PSNR':>7} {'bicubic':>8} {'gain':>6} {'SSIM':>7} {'bic SSIM':>8} {'LR-cons':>8} {'bic LR-c':>8}"
             f" {'HF':>6} {'bic HF':>6}"]
    for scale, r in zip(said, result["scales"].values()):
        lines.append(f"{scale:>{width}} {r['psnr']:>7.2f} {r['bicubic_psnr']:>8.2f} {signed(r['gain_db']):>6} "
                     f"{r['ssim']:>7.4f} {r['bicubic_ssim']:>8.4f} {r['lr_psnr']:>8.2f} {r['bicubic_lr_psnr']:>8.2f}"
                     f" {r['hf_ratio']:>6.3f} {r['bicubic_hf_ratio']:>6.3f}")
    if result.get("caution"):
        lines.append(f"caution: {result['caution']}")
    return "\n".join(lines)


def _table_scale(scale) -> str:
    """A scale in the table: in 2 decimals (``2.00``) where that is the scale, else whole
    (:func:`~ldcsr_core.words.scale_typed`: ``1.2345678``, not ``1.23``, which ``1.234`` would share)."""
    fixed = f"{float(scale):.2f}"
    return fixed if float(fixed) == float(scale) else scale_typed(float(scale))


def select_files(files: list, limit: int | None) -> list:
    """Every k-th file so that at most ``limit`` remain (all of them when ``limit`` is None)."""
    if limit and len(files) > limit:
        return files[:: -(-len(files) // limit)]
    return files
