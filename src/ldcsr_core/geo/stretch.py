"""Stretch: the per-band linear mapping of original units (any dtype) to the model's ``[0, 1]`` and back.

* :func:`compute_stretch` fits one robust per-band stretch to a decimated read of the whole scene
  (fitting it per tile would make neighbouring tiles disagree);
* :class:`Stretch` maps to ``[0, 1]`` and back to the original units and dtype, clipped to its range
  (:meth:`Stretch.excess`: what lies beyond the stretch, which the sink adds back);
* :func:`dtype_range`: the representable range of a data type.

No rasterio or torch import here (part of :mod:`.radiometry`, which re-exports every name).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..front_end import say
from ..rules import STRETCHES

# the logger the stretch's warnings have always come from (the module it was split out of)
log = logging.getLogger("ldcsr_core.geo.radiometry")

__all__ = ["DEFAULT_PERCENTILES", "FILL_MAGNITUDE", "SAMPLE_PIXELS", "Stretch", "UINT8_RGB", "compute_stretch", "dtype_range",
           "sample_grid", "sample_array", "fill_values"]

# Default stretch percentiles: robust to a few hot pixels, keeps almost all of the histogram.
DEFAULT_PERCENTILES = (0.05, 99.95)

#: About this many pixels of a scene, on a regular grid, are what its stretch is fitted on.
SAMPLE_PIXELS = 1_000_000


# values per block of Stretch.from_unit (256 KiB of float64: stays in cache)
_CHUNK = 1 << 15


def dtype_range(dtype) -> tuple[float, float]:
    """The representable range of ``dtype`` (±inf-free for floats: the float32 limits)."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        return float(info.min), float(info.max)
    if dt.kind == "f":
        info = np.finfo(dt)
        return float(info.min), float(info.max)
    raise InputError(f"unsupported data type {dt.name}: use integer or floating-point bands")


@dataclass(frozen=True)
class Stretch:
    """A per-band linear stretch ``[lo, hi] → [0, 1]`` and its inverse (original units/dtype); a
    constant band has ``lo == hi``: to 0 and back to ``lo``, whatever the model makes of it."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]
    dtype: str

    def to_unit(self, bands_hw: np.ndarray, band_index: Sequence[int] | None = None) -> np.ndarray:
        """``(bands, h, w)`` in original units → float32 in ``[0, 1]`` (clipped; NaN stays NaN)."""
        idx = list(range(bands_hw.shape[0])) if band_index is None else list(band_index)
        # float32 holds every value of 8/16-bit integer and float32 bands; wider types are offset
        # in float64 (a float32 cast first gave int32 values near 2e9 steps of 256, float64 ones
        # near 1e8 steps of 8: a band of a few hundred levels there reached the model as one or two)
        dt = np.dtype(bands_hw.dtype)
        ct = np.float64 if dt.itemsize > 4 or (dt.kind in "ui" and dt.itemsize == 4) else np.float32
        lo = np.asarray([self.lo[i] for i in idx], ct)[:, None, None]
        span = np.asarray([self.hi[i] - self.lo[i] for i in idx], ct)[:, None, None]
        span[span == 0] = 1  # a constant band (lo == hi): its value is 0, what lies beyond it clipped
        with np.errstate(over="ignore"):  # fill values (-3.4e38) saturate: clipped to 0 below
            out = (bands_hw.astype(ct, copy=False) - lo) / span
        out = np.clip(out, 0.0, 1.0, out=out)
        return out.astype(np.float32, copy=False)

    def excess(self, band_hw: np.ndarray, band: int, valid: np.ndarray | None = None) -> np.ndarray | None:
        """What ``band_hw`` (band ``band``, original units) has beyond the stretch's ``[lo, hi]``:
        ``x - clip(x, lo, hi)`` as float64, 0 on invalid or non-finite values; ``None`` when it
        is 0 everywhere. :meth:`to_unit` clips it away; :meth:`from_unit` (``add``) puts it back."""
        lo, hi = self.lo[band], self.hi[band]
        x = np.asarray(band_hw)
        if x.dtype.kind in "ui" and x.size and lo <= x.min() and x.max() <= hi:
            return None  # nothing beyond (the usual case: one pass over the integers, no copy)
        x = x.astype(np.float64)
        e = x - np.clip(x, lo, hi)
        drop = ~np.isfinite(e) if valid is None else ~(valid & np.isfinite(e))
        e[drop] = 0.0
        return e if e.any() else None

    def from_unit(self, unit_hw, band_index: Sequence[int] | None = None, *, out=None,
                  clip_unit: bool = False, add=None) -> np.ndarray:
        """float ``(bands, h, w)`` in ``[0, 1]`` (or a list of ``(h, w)`` planes, views allowed) →
        original units and dtype, clipped to its range; into ``out`` when given (``(bands, h, w)``,
        or a list of ``(h, w)`` planes, of the stretch's dtype).  ``clip_unit``: clip the input to
        ``[0, 1]`` first (model overshoot).  ``add``: per band, None or an ``(h, w)`` plane in
        original units added before rounding (:meth:`excess`, upsampled).

        Computed in float64 (exact for every integer type) a cache-sized block of rows at a time:
        the whole-array float64 temporaries this once made cost more than the model on a fast card."""
        idx = list(range(len(unit_hw))) if band_index is None else list(band_index)
        dt = np.dtype(self.dtype)
        dmin, dmax = dtype_range(dt)
        if dt.kind in "ui" and dmax > np.iinfo(dt).max:  # int64/uint64: float64 rounds the top up to
            dmax = float(np.nextafter(dmax, -np.inf))  # 2**63 / 2**64, which the cast wraps to the bottom
        if out is None:
            out = np.empty((len(idx),) + unit_hw[0].shape, dt)
        for k, i in enumerate(idx):
            lo, span = float(self.lo[i]), float(self.hi[i] - self.lo[i])
            src, dst = unit_hw[k], out[k]
            h, w = src.shape
            step = max(1, _CHUNK // max(w, 1))
            buf = np.empty((min(h, step), w), np.float64)
            for r0 in range(0, h, step):
                v = buf[:min(h, r0 + step) - r0]
                v[...] = src[r0:r0 + v.shape[0]]
                if clip_unit:
                    np.clip(v, 0.0, 1.0, out=v)
                np.multiply(v, span, out=v)
                np.add(v, lo, out=v)
                if add is not None and add[k] is not None:
                    np.add(v, add[k][r0:r0 + v.shape[0]], out=v)
                if dt.kind in "ui":
                    np.rint(v, out=v)
                np.clip(v, dmin, dmax, out=v)
                dst[r0:r0 + v.shape[0]] = v
        return out

    def clips(self, band: int) -> bool:
        """Whether the stretch of ``band`` is narrower than its dtype's range (values can lie beyond)."""
        return (float(self.lo[band]), float(self.hi[band])) != dtype_range(self.dtype)

    def to_dict(self) -> dict:
        return {"lo": list(self.lo), "hi": list(self.hi), "dtype": self.dtype}


#: An 8-bit RGB picture's stretch (``"auto"``'s for uint8): ``ldcsr_core.upscale`` of a uint8 array
#: reads and writes its pixels with it, so they come out as the raster path's of the same picture.
UINT8_RGB = Stretch((0.0, 0.0, 0.0), (255.0, 255.0, 255.0), "uint8")

#: Float values this large are fill values, not measurements (float32's extremes are ±3.4e38).
FILL_MAGNITUDE = 1e30


def _check_span(band: int, lo: float, hi: float) -> None:
    """:class:`InputError` for a float band whose stretch reaches fill-value magnitudes: an
    undeclared nodata value (e.g. -3.4e38) would squeeze every real value into one grey level,
    or overflow to NaN."""
    with np.errstate(over="ignore"):
        span = np.float32(hi) - np.float32(lo)
    if max(abs(lo), abs(hi)) >= FILL_MAGNITUDE or not np.isfinite(span):
        raise InputError(
            f"band {band + 1}: its values reach {lo:.4g} … {hi:.4g}, magnitudes no measurement has; "
            "probably a fill value that the file does not declare as nodata. Give it as nodata "
            f"({say('nodata')}) and run again")


def _warn_if_crushed(band: int, values: np.ndarray, lo: float, hi: float, dt: np.dtype,
                     name: str | None = None) -> None:
    """Warn when ``stretch="dtype"`` squeezes a band's values into a sliver of the model's range
    (e.g. uint32 data of 0…200 000: 0.005 % of it, black to the model); ``name``: the scene's."""
    if values.size == 0:
        return
    used = (float(values.max()) - float(values.min())) / (hi - lo)
    if used < 1 / 256:
        log.warning("%sband %d spans %.3g %% of the %s range, so %s maps it to less than one "
                    "grey level of the model's range; 'percentile' (the default for %s) fits it",
                    f"{name}: " if name else "", band + 1, 100 * used, dt.name, say("stretch option", value="dtype"),
                    dt.name)


def sample_grid(h: int, w: int, max_pixels: int = SAMPLE_PIXELS) -> tuple[np.ndarray, np.ndarray, int]:
    """The rows, the columns and the step of the regular grid a scene's stretch sample is read on
    (about ``max_pixels``; every pixel of a smaller scene): ``raster_io.decimated_read``'s grid for a
    file without overviews (or whose overviews mixed its nodata in), and :func:`sample_array`'s."""
    step = max(1, int(math.ceil(math.sqrt(h * w / max_pixels))))
    return np.arange(step // 2, h, step), np.arange(step // 2, w, step), step


def sample_array(data, max_pixels: int = SAMPLE_PIXELS) -> np.ndarray:
    """The stretch sample of an in-memory image ``data`` (``(h, w[, bands])``, NumPy or dask): its
    pixels on :func:`sample_grid`, as ``decimated_read`` samples the same pixels in a dataset made of
    them (a napari layer's Run), so the live lens fits the Run's stretch."""
    rows, cols, step = sample_grid(int(data.shape[0]), int(data.shape[1]), max_pixels)
    if step == 1:
        return np.asarray(data)
    return np.asarray(np.asarray(data[rows])[:, cols])


def fill_values(stretch: "Stretch", sample: np.ndarray, valid: np.ndarray) -> tuple[float, ...]:
    """Per band, the value in ``[0, 1]`` that invalid pixels far from valid ones are filled with for
    the model (:func:`~.nodata_masks.fill_invalid`): the median of the band's valid sample values
    (``(bands, h, w)``, original units) through ``stretch``; 0.5 for a band with none."""
    unit = stretch.to_unit(sample)
    fills = []
    for b in range(sample.shape[0]):
        v = unit[b][valid[b] & np.isfinite(unit[b])]
        fills.append(float(np.median(v)) if v.size else 0.5)
    return tuple(fills)


def compute_stretch(
    sample: np.ndarray,
    valid: np.ndarray,
    dtype,
    *,
    method: str = "auto",
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    name: str | None = None,
) -> Stretch:
    """Fit a robust per-band stretch to a decimated sample of the whole scene.

    Parameters
    ----------
    sample : ``(bands, h, w)`` decimated read of the scene (original units).
    valid : bool mask of the same shape (True = valid pixel of that band).
    dtype : the scene's data type.
    method : ``"auto"`` (uint8 keeps its native 0..255 range, the model's training range; other
        types use percentiles), ``"percentile"`` or ``"dtype"`` (the full dtype range; integers only).
    percentiles : low/high percentiles of the valid pixels, per band.
    name : the scene's name, for the warning of a band ``"dtype"`` crushes (a batch has many).

    Returns
    -------
    Stretch
    """
    dt = np.dtype(dtype)
    if method not in STRETCHES:
        raise InputError(f"stretch must be 'auto', 'percentile' or 'dtype', got {method!r}")
    if method == "dtype" and dt.kind == "f":
        raise InputError(f"{say('stretch', value='dtype')} needs integer bands; use 'percentile' for float data")
    use_dtype = method == "dtype" or (method == "auto" and dt == np.uint8)
    los, his = [], []
    for b in range(sample.shape[0]):
        if use_dtype:
            lo, hi = dtype_range(dt)
            if method == "dtype":
                _warn_if_crushed(b, sample[b][valid[b]], lo, hi, dt, name)
        else:
            v = sample[b][valid[b]]
            v = v[np.isfinite(v)] if v.dtype.kind == "f" else v
            if v.size == 0:  # all-nodata band: any stretch will do, nothing valid to map
                lo, hi = (0.0, 1.0) if dt.kind == "f" else dtype_range(dt)
            else:
                lo, hi = (float(x) for x in np.percentile(v.astype(np.float64), percentiles))
        if not hi > lo:  # a constant band: span 0, so it reaches the model as 0 and maps back to itself
            hi = lo
        if dt.kind == "f" and not use_dtype:
            _check_span(b, lo, hi)
        los.append(lo)
        his.append(hi)
    return Stretch(tuple(los), tuple(his), dt.name)
