"""Radiometry: map analysts' bands (any dtype, any band count, nodata) to the RGB model and back.

The model is trained on 8-bit RGB in ``[0, 1]``. Real scenes are 16-bit, signed or float, have one,
four or a dozen bands and carry nodata. This module holds the pure, array-level half of that bridge:

* :func:`plan_bands` groups the bands into triplets for the model (``--bands 3,2,1`` picks the first
  one; a lone band is replicated and averaged back; alpha bands are masks, never colours);
* :func:`compute_stretch` fits one robust per-band stretch to a decimated read of the whole scene
  (fitting it per tile would make neighbouring tiles disagree);
* :class:`Stretch` maps to ``[0, 1]`` and back to the original units and dtype, clipped to its range
  (:meth:`Stretch.excess`: what lies beyond the stretch, which the sink adds back);
* :func:`valid_mask`, :func:`fill_invalid`, :func:`nearest_index` / :func:`upsample_nearest` and
  :func:`restore_nodata` keep nodata and NaN away from valid pixels: fill before inference,
  restore the upsampled mask after.

No rasterio or torch import here: everything works on NumPy arrays in ``(bands, rows, cols)`` order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..rules import STRETCHES

log = logging.getLogger(__name__)

__all__ = [
    "ALPHA",
    "BandPlan",
    "Stretch",
    "plan_bands",
    "parse_bands",
    "suggest_bands",
    "default_triplet",
    "compute_stretch",
    "valid_mask",
    "fill_invalid",
    "nearest_index",
    "upsample_nearest",
    "restore_nodata",
    "nodata_as",
    "dtype_range",
]

ALPHA = "alpha"  # rasterio ColorInterp.alpha.name

# Default stretch percentiles: robust to a few hot pixels, keeps almost all of the histogram.
DEFAULT_PERCENTILES = (0.05, 99.95)


# ---------------------------------------------------------------------------------------------
# Band plan
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandPlan:
    """How the ``count`` source bands travel through the three-channel model.

    ``groups`` are triplets of 0-based band indices, each one model pass; a band may appear several
    times in a group (grayscale replication), and its output is the mean of those channels.
    ``alpha`` holds the 0-based indices of alpha bands: they are masks, upsampled by nearest
    neighbour and never fed to the model.
    """

    count: int
    groups: tuple[tuple[int, int, int], ...]
    alpha: tuple[int, ...] = ()

    @property
    def colour(self) -> tuple[int, ...]:
        return tuple(b for b in range(self.count) if b not in self.alpha)

    @property
    def channels(self) -> int:
        """Number of model channels per tile (3 per group)."""
        return 3 * len(self.groups)

    def gather(self, bands_hw: np.ndarray) -> np.ndarray:
        """``(count, h, w)`` → ``(h, w, 3·groups)``: the model input, group after group."""
        idx = [b for g in self.groups for b in g]
        return np.moveaxis(bands_hw[idx], 0, -1)

    def planes(self, channels_hwc: np.ndarray) -> list[np.ndarray]:
        """``(h, w, 3·groups)`` → one ``(h, w)`` plane per colour band: a view of its channel, or
        the mean of a replicated band's channels (float32)."""
        chans: dict[int, list[int]] = {}
        for gi, g in enumerate(self.groups):
            for ci, b in enumerate(g):
                chans.setdefault(b, []).append(3 * gi + ci)
        return [channels_hwc[..., chans[b][0]] if len(chans[b]) == 1
                else channels_hwc[..., chans[b]].mean(axis=-1, dtype=np.float32) for b in self.colour]

    def scatter(self, channels_hwc: np.ndarray) -> np.ndarray:
        """``(h, w, 3·groups)`` → ``(colour bands, h, w)`` float32, averaging replicated bands."""
        h, w = channels_hwc.shape[:2]
        res = np.empty((len(self.colour), h, w), np.float32)
        for k, plane in enumerate(self.planes(channels_hwc)):
            res[k] = plane
        return res


def parse_bands(text: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """Parse ``"3,2,1"`` (1-based band numbers) into a tuple; ``None``/``""`` stays ``None``."""
    if text is None or text == "":
        return None
    if isinstance(text, str):
        try:
            vals = tuple(int(t) for t in text.replace(" ", "").split(","))
        except ValueError:
            raise InputError(
                f"bands must be 1-based band numbers like '3,2,1', got {text!r}"
            ) from None
    else:
        vals = tuple(int(v) for v in text)
    if len(vals) not in (1, 3):
        raise InputError(f"bands must name 1 or 3 bands (e.g. '3,2,1'), got {len(vals)}: {text!r}")
    return vals


_S2_NAME = re.compile(r"^\s*B0?([1-9]|1[0-2]|8A)(?![0-9A-Za-z])", re.IGNORECASE)
# Band order of a full Sentinel-2 stack (L1C: 13 bands; L2A without B10: 12).
S2_ORDER = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")


def suggest_bands(count: int, descriptions: Sequence[str | None] = ()) -> tuple[int, int, int] | None:
    """A natural-colour triplet (1-based) for a Sentinel-2-like stack, else ``None`` (first three).

    The rule, in order:

    1. band descriptions that name Sentinel-2 bands (``B4``, ``B04``, ``B4 red``, ``B04_10m``...)
       and include B4, B3 and B2: those three bands, as R, G, B;
    2. no band descriptions at all, and 12 or 13 bands (a full L2A or L1C stack in band-number
       order, where band 4 is red, 3 green, 2 blue): ``(4, 3, 2)``;
    3. otherwise ``None``: the engine's default, the first three colour bands.
    """
    found: dict[str, int] = {}
    for i, d in enumerate(descriptions or ()):
        m = _S2_NAME.match(d or "")
        if m:
            found.setdefault("B" + m.group(1).upper(), i + 1)
    if all(k in found for k in ("B4", "B3", "B2")):
        return found["B4"], found["B3"], found["B2"]
    if not any(descriptions or ()) and count in (12, 13):
        return 4, 3, 2
    return None


def default_triplet(count: int, colorinterp: Sequence[str] | None = None,
                    descriptions: Sequence[str | None] = ()) -> tuple[tuple[int, ...], str]:
    """The model's RGB triplet (0-based) when none is given, and the rule that chose it — one rule
    for the command line, napari and QGIS:

    1. the colour interpretation names one red, one green and one blue band: those, as R, G, B
       (a file stored blue, green, red is fed as red, green, blue) — unless they are bands 1, 2, 3
       of a stack that rule 2 recognises (GDAL marks the first three bands of any PHOTOMETRIC=RGB
       file so);
    2. :func:`suggest_bands`: a Sentinel-2 stack (band names, or 12/13 unnamed bands): 4, 3, 2;
    3. otherwise the first three colour bands (not alpha)."""
    ci = [str(c).lower() for c in (colorinterp or ["undefined"] * count)]
    if all(ci.count(c) == 1 for c in ("red", "green", "blue")):
        rgb = tuple(ci.index(c) for c in ("red", "green", "blue"))
        if rgb != (0, 1, 2) or count == 3 or not suggest_bands(count, descriptions):
            return rgb, "colour interpretation"
    s2 = suggest_bands(count, descriptions)
    if s2 is not None:
        return tuple(b - 1 for b in s2), "Sentinel-2 rule"
    alpha = {i for i, c in enumerate(ci) if c == ALPHA} if ci.count(ALPHA) < count else set()
    return tuple(b for b in range(count) if b not in alpha)[:3], "the first three"


def plan_bands(
    count: int, colorinterp: Sequence[str] | None = None, bands: Sequence[int] | None = None,
    descriptions: Sequence[str | None] = (),
) -> BandPlan:
    """Group ``count`` bands into model triplets.

    Parameters
    ----------
    count : number of bands in the source.
    colorinterp : per-band colour interpretation names (``"red"``, ``"alpha"``, ...); alpha bands
        become masks.
    bands : optional 1-based band numbers (one or three) for the first, display/model triplet,
        e.g. ``(3, 2, 1)`` for a BGR-ordered file or ``(4, 3, 2)`` for a false-colour composite.
        None: :func:`default_triplet` (with ``descriptions``, the bands' names).

    Returns
    -------
    BandPlan
        The first group is the chosen triplet (default: :func:`default_triplet`). The other
        colour bands follow in file order, three at a time; a short last group repeats its last
        band. A single-band image is replicated to ``(b, b, b)`` and averaged back.
    """
    if count < 1:
        raise InputError(f"the raster has no bands (count={count})")
    ci = [str(c).lower() for c in (colorinterp or ["undefined"] * count)]
    alpha = tuple(i for i, c in enumerate(ci) if c == ALPHA)
    # A one-band "alpha" file is not a mask of anything: treat it as data.
    if len(alpha) == count:
        alpha = ()
    colour = [b for b in range(count) if b not in alpha]

    if bands is not None:
        bands = parse_bands(bands)
        for b in bands:
            if not 1 <= b <= count:
                raise InputError(f"band {b} does not exist: the file has bands 1..{count}")
            if b - 1 in alpha:
                raise InputError(f"band {b} is an alpha band (a mask), it cannot be a colour band")
        first = [b - 1 for b in bands]
        if len(first) == 1:
            first = first * 3
    else:
        first = list(default_triplet(count, colorinterp, descriptions)[0])
        while len(first) < 3:
            first.append(first[-1])

    groups = [tuple(first)]
    rest = [b for b in colour if b not in first]
    for i in range(0, len(rest), 3):
        g = rest[i : i + 3]
        while len(g) < 3:
            g.append(g[-1])
        groups.append(tuple(g))
    return BandPlan(count=count, groups=tuple(groups), alpha=alpha)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Stretch
# ---------------------------------------------------------------------------------------------


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
            "(ldcsr --nodata VALUE; in QGIS the layer's Transparency properties) and run again")


def _warn_if_crushed(band: int, values: np.ndarray, lo: float, hi: float, dt: np.dtype) -> None:
    """Warn when ``stretch="dtype"`` squeezes a band's values into a sliver of the model's range
    (e.g. uint32 data of 0…200 000: 0.005 % of it, black to the model)."""
    if values.size == 0:
        return
    used = (float(values.max()) - float(values.min())) / (hi - lo)
    if used < 1 / 256:
        log.warning("band %d spans %.3g %% of the %s range, so --stretch dtype maps it to less than one "
                    "grey level of the model's range; 'percentile' (the default for %s) fits it",
                    band + 1, 100 * used, dt.name, dt.name)


def compute_stretch(
    sample: np.ndarray,
    valid: np.ndarray,
    dtype,
    *,
    method: str = "auto",
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
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

    Returns
    -------
    Stretch
    """
    dt = np.dtype(dtype)
    if method not in STRETCHES:
        raise InputError(f"stretch must be 'auto', 'percentile' or 'dtype', got {method!r}")
    if method == "dtype" and dt.kind == "f":
        raise InputError("stretch='dtype' needs integer bands; use 'percentile' for float data")
    use_dtype = method == "dtype" or (method == "auto" and dt == np.uint8)
    los, his = [], []
    for b in range(sample.shape[0]):
        if use_dtype:
            lo, hi = dtype_range(dt)
            if method == "dtype":
                _warn_if_crushed(b, sample[b][valid[b]], lo, hi, dt)
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


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------


def nodata_as(nodata: float | None, dtype) -> float | None:
    """The value a band of ``dtype`` holds as ``nodata``, as GDAL masks it: an integer band's
    fractional nodata is truncated (0.5 on uint8: 0), one outside its range matches no pixel
    (``None``, as NaN does); a float band's value is kept."""
    if nodata is None or np.dtype(dtype).kind not in "ui":
        return None if nodata is None else float(nodata)
    dmin, dmax = dtype_range(dtype)
    return float(np.trunc(nodata)) if dmin <= nodata <= dmax else None


def valid_mask(
    bands_hw: np.ndarray,
    nodata: float | Sequence[float | None] | None = None,
    *,
    alpha: Sequence[int] = (),
    dataset_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Per-band validity ``(bands, h, w)`` bool: not nodata, not NaN, alpha > 0, dataset mask > 0.

    ``nodata`` is the bands' nodata value, or one per band (``rasterio``'s ``nodatavals``; ``nan``
    and None allowed); NaN pixels of float bands are always invalid. Alpha bands and a GDAL
    per-dataset mask invalidate every band of a pixel.
    """
    data = bands_hw
    if data.dtype.kind == "f":
        valid = np.isfinite(data)
    else:
        valid = np.ones(data.shape, bool)
    per_band = list(nodata) if isinstance(nodata, (list, tuple)) else [nodata] * data.shape[0]
    for b, nd in enumerate(per_band):
        nd = nodata_as(nd, data.dtype)
        if nd is not None and not np.isnan(nd):
            valid[b] &= data[b] != nd
    common = None
    for a in alpha:
        m = data[a] > 0
        common = m if common is None else common & m
    if dataset_mask is not None:
        m = dataset_mask > 0
        common = m if common is None else common & m
    if common is not None:
        valid &= common[None]
    for a in alpha:  # an alpha band itself is always "valid": it is copied, not inferred
        valid[a] = True
    return valid


def fill_invalid(unit_hw: np.ndarray, valid: np.ndarray, fill: Sequence[float], iters: int = 8):
    """Replace invalid pixels in place so nodata/NaN can never leak into valid ones.

    Invalid pixels within ``iters`` pixels of valid ones get the mean of their valid neighbours,
    grown ring by ring (so the model sees a smooth continuation, not a cliff at the mask edge);
    the rest get the band's ``fill`` value (the scene median in ``[0, 1]`` units).
    """
    for b in range(unit_hw.shape[0]):
        v = valid[b]
        if v.all():
            continue
        x = unit_hw[b]
        if not v.any():
            x[...] = fill[b]
            continue
        x[~v] = 0.0
        known = v.astype(np.float32)
        val = np.where(v, x, 0.0).astype(np.float32)
        for _ in range(iters):
            if known.all():
                break
            s = _box3(val)
            n = _box3(known)
            grow = (n > 0) & (known == 0)
            if not grow.any():
                break
            val = np.where(grow, s / np.maximum(n, 1e-6), val)
            known = np.where(grow, 1.0, known).astype(np.float32)
        x[...] = np.where(known > 0, val, fill[b])
    return unit_hw


def _box3(a: np.ndarray) -> np.ndarray:
    """Sum over the 3×3 neighbourhood (zero outside)."""
    p = np.pad(a, 1)
    return (
        p[:-2, :-2] + p[:-2, 1:-1] + p[:-2, 2:]
        + p[1:-1, :-2] + p[1:-1, 1:-1] + p[1:-1, 2:]
        + p[2:, :-2] + p[2:, 1:-1] + p[2:, 2:]
    )


def nearest_index(n_in: int, n_out: int, start: int, count: int) -> np.ndarray:
    """Input index of output pixels ``start..start+count`` under nearest-neighbour upsampling.

    Pixel centres map exactly as the scaled transform does: ``i = floor((o + 0.5) · n_in / n_out)``.
    """
    o = np.arange(start, start + count, dtype=np.float64)
    # Integer arithmetic, exact for any size: floor(((2o+1)·n_in) / (2·n_out)).
    idx = ((2 * o.astype(np.int64) + 1) * n_in) // (2 * n_out)
    return np.clip(idx, 0, n_in - 1)


def upsample_nearest(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Nearest-neighbour upsample of ``(..., h, w)`` with precomputed row/col indices."""
    # two takes, one axis each: the same pixels as a[..., rows[:, None], cols[None, :]], ~4x faster
    return np.take(np.take(a, rows, axis=-2), cols, axis=-1)


def restore_nodata(
    values: np.ndarray, valid: np.ndarray, nodata: float | None, dtype
) -> np.ndarray:
    """Put the nodata value (or NaN) back on invalid pixels; nudge valid pixels off nodata.

    A valid pixel whose super-resolved value happens to equal ``nodata`` would silently turn into
    nodata; it is moved to the nearest representable value instead.
    """
    dt = np.dtype(dtype)
    nodata = nodata_as(nodata, dt)
    if nodata is None:
        if dt.kind == "f":
            values[~valid] = np.nan
        return values
    nd = np.asarray(nodata).astype(dt) if not np.isnan(nodata) else None
    if nd is not None:
        clash = valid & (values == nd)
        if clash.any():
            dmin, dmax = dtype_range(dt)
            if dt.kind in "ui":
                bump = nd + 1 if float(nd) < dmax else nd - 1
            else:
                bump = np.nextafter(nd, np.inf if float(nd) < dmax else -np.inf).astype(dt)
            values[clash] = bump
        values[~valid] = nd
    else:
        values[~valid] = np.nan
    return values
