"""Scoring one window of a self-check (Wald's protocol): the scene degraded by the scale, restored
by the model and by bicubic, both scored against it (:func:`score_window`: PSNR/SSIM on the
cropped reference, the LR-consistency, nodata left out), and whether a window has enough data
to score (:func:`score_counts`, :func:`check_scorable`). :mod:`ldcsr_core.quality` pools the
windows into a :class:`~ldcsr_core.quality.SelfCheck`; every name here is importable from there too.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .rules import MIN_INPUT_SIDE
from .words import scale_typed

__all__ = ["WindowCheck", "score_window", "scored", "unscored", "score_counts", "check_scorable", "min_side",
           "nodata_share"]

_SSIM_MARGIN = 5  # metrics.ssim_map drops 5 px on each side
_CLEAR_PIXELS = 2**20  # scene pixels _lr_clear maps to the LR grid at a time


def min_side(scale: float) -> int:
    """Smallest scene side (px) that can be checked at ``scale``: the LR copy needs
    :data:`~ldcsr_core.rules.MIN_INPUT_SIDE` px and the cropped reference room for SSIM's window."""
    return max(math.ceil(MIN_INPUT_SIDE * scale), 2 * math.ceil(scale) + 2 * _SSIM_MARGIN + 1)


@dataclass
class WindowCheck:
    """The figures of one checked window (``box`` = ``(row_off, col_off, height, width)``)."""

    box: tuple[int, int, int, int]
    crop: int
    values: int  # scored values (cropped pixels × 3 channels)
    mse: dict  # {"model": ..., "bicubic": ...} on the cropped reference
    ssim_sum: dict
    ssim_values: int
    lr_mse: dict  # the restored image degraded again vs the LR copy
    lr_values: int
    error: dict = field(default_factory=dict)  # per-pixel |error| maps (float32, NaN in the crop)
    nodata: int = 0  # pixels of the window that are nodata (filled for the model, never scored)



def score_window(hr: np.ndarray, scale: float, model, *, box, mode: str, seed: int, tile=None,
                 maps: bool = True, callback=None, valid: np.ndarray | None = None, mean_of: int = 1) -> WindowCheck:
    """Degrade ``hr`` (H×W×3 uint8) by ``scale``, restore it with ``model`` (``mean_of`` > 1: the mean
    of that many diffusion samples) and bicubic, score both.

    ``valid`` (H×W bool, None: all) marks the pixels that are data: nodata pixels (filled so that
    the model sees a continuation) are left out of every figure and are NaN in the error maps; an
    SSIM value counts where its whole 11×11 window is valid, an LR-consistency pixel where no
    nodata pixel weighs in it through the bicubic degradation (:func:`_lr_clear`)."""
    from .training.data import degrade
    from .training.evaluate import reduced_resolution
    from .training.metrics import border_crop, crop_width, mse, ssim_map

    lr, sr, bic, lr_hw = reduced_resolution(hr, scale, model, mode=mode, seed=seed, tile=tile,
                                            callback=callback, mean_of=mean_of)
    ref = border_crop(hr, scale)
    b = crop_width(hr.shape, scale)
    masks = None if valid is None else _score_masks(valid, scale, lr_hw)
    out = {"mse": {}, "ssim_sum": {}, "lr_mse": {}, "error": {}}
    for kind, img in (("model", sr), ("bicubic", bic)):
        cropped = border_crop(img, scale)
        smap = ssim_map(cropped, ref)
        again = degrade(img, lr_hw)
        if masks is None:
            out["mse"][kind] = mse(cropped, ref)
            out["ssim_sum"][kind] = float(smap.sum())
            out["lr_mse"][kind] = mse(again, lr)
        else:
            out["mse"][kind] = mse(cropped, ref, masks[0])
            out["ssim_sum"][kind] = float(smap[masks[1]].sum())
            out["lr_mse"][kind] = mse(again, lr, masks[2])
        if maps:
            err = np.abs(img.astype(np.float32) - hr.astype(np.float32)).mean(axis=-1)
            if b:
                err[:b], err[-b:], err[:, :b], err[:, -b:] = np.nan, np.nan, np.nan, np.nan
            if valid is not None:
                err[~valid] = np.nan
            out["error"][kind] = err
    if masks is None:
        counts = dict(values=int(ref.size), ssim_values=int(smap.size), lr_values=int(lr.size))
    else:
        counts = dict(values=3 * int(masks[0].sum()), ssim_values=3 * int(masks[1][..., 0].sum()),
                      lr_values=3 * int(masks[2].sum()), nodata=int((~valid).sum()))
    return WindowCheck(box=tuple(int(v) for v in box), crop=b, **counts, **out)


def _score_masks(valid: np.ndarray, scale: float, lr_hw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The valid pixels of the cropped reference, of its SSIM map (H'×W'×3, as ``ssim_map``'s
    5-px margin: a value whose whole 11×11 window is valid; one whose centre alone was counted held
    the fill beside it) and of the LR copy (:func:`_lr_clear`)."""
    from .training.metrics import border_crop

    ref = border_crop(valid, scale)
    m = _SSIM_MARGIN
    ssim = np.repeat(_all_valid(ref, 2 * m + 1)[m:-m, m:-m, None], 3, axis=-1)
    return ref, ssim, _lr_clear(valid, lr_hw)


def _lr_clear(valid: np.ndarray, lr_hw) -> np.ndarray:
    """The LR pixels (``lr_hw`` bool) that no invalid scene pixel weighs in when the degradation
    makes them: neither the LR copy's pixel nor the restored image's degraded again holds the fill
    (a pixel whose box footprint alone was valid held it through bicubic's wider kernel). Counts, not
    one degraded mask: bicubic's negative lobes could cancel a mask's weights to exactly 0."""
    invalid = ~np.asarray(valid, dtype=bool)
    if not invalid.any():
        return np.ones(tuple(lr_hw), bool)
    (h, w), across = invalid.shape, _reach(valid.shape[1], lr_hw[1])
    down = _reach(h, lr_hw[0]).tocsc()
    hit = np.zeros(tuple(lr_hw), bool)
    step = max(1, _CLEAR_PIXELS // w)  # scene rows at a time: a few MiB, not 4 bytes a scene pixel
    for y in range(0, h, step):
        part, band = invalid[y:y + step], down[:, y:y + step]
        if part.any() and band.nnz:  # LR columns × these scene rows, then onto the LR rows they reach
            i0, i1 = band.indices.min(), band.indices.max() + 1
            hit[i0:i1] |= (band[i0:i1] @ (across @ np.ascontiguousarray(part.T, dtype=np.float32)).T) != 0
    return ~hit


@functools.lru_cache(maxsize=8)
def _reach(n: int, m: int):
    """Which of ``n`` scene pixels weigh in each of the ``m`` LR pixels along one axis (m×n sparse
    0/1) when :func:`~ldcsr_core.training.data.degrade` takes n px to m (PIL's antialiased bicubic:
    LR pixel j's taps within 2·n/m + ½ px of its centre (j + ½)·n/m, exactly 0 at some): read from the
    degradation itself, impulses degraded as float32, each row holding impulses farther apart than
    a pixel's taps (about 4·n/m + 3 rows of n px, not n rows: 0.01 s for 1.6 s at 8000 px ×4), so
    each LR pixel holds one of them at most. A weight non-zero in degrade's 8-bit arithmetic is
    non-zero here."""
    from scipy import sparse

    from .training.data import degrade

    gap = min(n, int(4 * n / m) + 3)  # two impulses of a row never both within one LR pixel's taps
    impulses = np.zeros((gap, n), np.float32)
    row = np.arange(n)
    impulses[row % gap, row] = 1.0
    r, j = np.nonzero(degrade(impulses, (gap, m)))  # rows alone: PIL's vertical pass is skipped
    centre = (j + 0.5) * (n / m)
    px = r + np.clip(np.round((centre - r) / gap), 0, (n - 1 - r) // gap).astype(np.int64) * gap
    return sparse.csr_matrix((np.ones(len(j), np.float32), (j, px)), shape=(m, n))


def _all_valid(mask: np.ndarray, side: int) -> np.ndarray:
    """Where the ``side``×``side`` window centred on a pixel of ``mask`` is all True (outside it:
    False), as ``binary_erosion`` by a full square with ``border_value=0``: a square's erosion is
    two 1-D ones, a running minimum each (0.27 s for 1.5 s on 4096² px)."""
    from scipy.ndimage import minimum_filter1d

    out = np.ascontiguousarray(mask, dtype=np.uint8)
    for axis in (0, 1):
        out = minimum_filter1d(out, side, axis=axis, mode="constant", cval=0)
    return out.astype(bool)


def unscored(box, scale: float) -> WindowCheck:
    """A checked window whose every pixel is nodata: nothing scored, all of it counted as nodata."""
    box = tuple(int(v) for v in box)
    return WindowCheck(box=box, crop=math.ceil(scale), values=0, mse={}, ssim_sum={}, ssim_values=0,
                       lr_mse={}, lr_values=0, nodata=box[2] * box[3])


def nodata_share(n: int, total: int) -> str:
    """``n`` of ``total`` as a percentage for a reader: never "0 %" or "100 %" for a part."""
    pct = 100.0 * n / total
    return "<1 %" if pct < 1 else ">99 %" if pct > 99 and n < total else f"{pct:.0f} %"


def scored(checks: list[WindowCheck], scale: float) -> list[WindowCheck]:
    """The windows with pixels to score (:func:`check_scorable` on them)."""
    check_scorable([(c.values // 3, c.ssim_values // 3, c.lr_values // 3) for c in checks],
                   sum(c.box[2] * c.box[3] for c in checks), scale)
    return [c for c in checks if c.values]


def score_counts(shape, valid: np.ndarray | None, scale: float) -> tuple[int, int, int]:
    """How many pixels :func:`score_window` would score on a window of ``shape`` with ``valid``:
    (reference, SSIM map, LR copy), before running any model."""
    from .training.evaluate import lr_shape

    if valid is None:
        valid = np.ones(shape[:2], bool)
    ref, ssim, lr = _score_masks(valid, scale, lr_shape(shape, scale))
    return int(ref.sum()), int(ssim[..., 0].sum()), int(lr.sum())


def check_scorable(counts, total: int, scale: float) -> None:
    """InputError when nodata leaves fewer pixels to score (``counts``: (reference, SSIM, LR)
    per window) than the smallest scene the check accepts scores: too few for a figure."""
    need = (min_side(scale) - 2 * math.ceil(scale)) ** 2
    n, n_ssim, n_lr = (sum(c[i] for c in counts) for i in range(3))
    if n < need or not n_ssim or not n_lr:
        raise InputError(
            f"too little data to score at ×{scale_typed(scale)}: {n} of the {total} px are data inside the "
            f"{math.ceil(scale)}-px border ({n_ssim} of them {_SSIM_MARGIN} px further in and as far from "
            f"nodata, where SSIM is measured; {n_lr} px of the copy ×{scale_typed(scale)} coarser made of data alone, "
            f"where the LR-consistency is), the rest is nodata; a check needs at least {need} (and some for "
            "SSIM and the LR-consistency): use a window with more data")
