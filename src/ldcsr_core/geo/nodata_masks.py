"""Nodata masks: keep nodata, NaN and alpha away from valid pixels on their way through the model.

:func:`valid_mask` (:func:`alpha_valid`: an alpha band's or a mask's rule), :func:`fill_invalid`, :func:`nearest_index` / :func:`upsample_nearest` and
:func:`restore_nodata`: fill before inference, restore the upsampled mask after; :func:`nodata_as`:
the value a band of a given dtype holds as nodata (:func:`is_nodata`: which pixels hold it);
:func:`output_nodata`: the nodata an output declares; :func:`valid_block_mean`: a coarser level that
averages valid pixels only.

No rasterio or torch import here (part of :mod:`.radiometry`, which re-exports every name).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .stretch import dtype_range

__all__ = ["valid_mask", "values_invalid", "alpha_valid", "fill_invalid", "nearest_index", "upsample_nearest", "restore_nodata", "nodata_as",
           "is_nodata", "output_nodata", "one_nodata", "file_one_nodata", "valid_block_mean"]


def nodata_as(nodata: float | None, dtype) -> float | None:
    """The value a band of ``dtype`` holds as ``nodata``, as GDAL masks it: an integer band's
    fractional nodata is truncated (0.5 on uint8: 0), one outside its range matches no pixel
    (``None``, as NaN does); a float band's is the value of its own type (float32's nearest to
    -3.4e38 on a float32 band, GDAL's cast), also None outside that type's range (an infinite
    nodata, a product's ``-inf`` fill, is held as itself).

    One rule for every comparison of pixels with a nodata value (:func:`is_nodata`): numpy's own
    promotion does not decide, which compares a float32 band with the float64 -3.4e38 in float32
    under numpy 2 (NEP 50: the fill matches) and in float64 under numpy 1.x (it does not)."""
    if nodata is None:
        return None
    dt = np.dtype(dtype)
    if dt.kind == "f":
        if np.isnan(nodata):
            return float("nan")
        with np.errstate(over="ignore"):
            held = dt.type(nodata)
        return float(held) if np.isfinite(held) or np.isinf(nodata) else None
    if dt.kind not in "ui":
        return float(nodata)
    dmin, dmax = dtype_range(dtype)
    return float(np.trunc(nodata)) if dmin <= nodata <= dmax else None


def is_nodata(values: np.ndarray, nodata) -> np.ndarray:
    """Where ``values`` (any shape) hold ``nodata`` (a number, NaN or None: no pixel), by
    :func:`nodata_as`'s rule: the value of their own type, compared exactly in it; or lie in a
    range of them (a :class:`~.nodata_override.NodataRange`, both ends included: NaN is in none)."""
    if hasattr(nodata, "lo"):
        with np.errstate(invalid="ignore"):
            return (values >= nodata.lo) & (values <= nodata.hi)
    nd = nodata_as(nodata, values.dtype)
    if nd is None or np.isnan(nd):
        return np.zeros(values.shape, bool)
    return values == np.asarray(nd).astype(values.dtype)


def output_nodata(nodata: float | None, dtype) -> float | None:
    """The nodata value an output of ``dtype`` declares for a source whose nodata is ``nodata``: the
    source's; NaN for a float output of a source that declares none, since :func:`restore_nodata`
    writes NaN on its invalid pixels (NaN, ±inf, alpha 0, a mask), so GDAL and QGIS mask them."""
    if nodata is None and np.dtype(dtype).kind == "f":
        return float("nan")
    return nodata


def alpha_valid(alpha) -> np.ndarray:
    """Which pixels an alpha band or a per-dataset mask leaves valid: any value above 0, a semi-transparent
    one too (``ldcsr upscale`` computes such a pixel and keeps its alpha). The one rule for reading a
    source's alpha or mask (:func:`valid_mask`) and for writing an alpha as a mask (``arrays.mask_of_alpha``)."""
    return np.asarray(alpha) > 0


def valid_mask(
    bands_hw: np.ndarray,
    nodata: float | Sequence[float | None] | None = None,
    *,
    alpha: Sequence[int] = (),
    dataset_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Per-band validity ``(bands, h, w)`` bool: not nodata, not NaN, alpha > 0, dataset mask > 0.

    ``nodata`` is the bands' nodata value, or one per band (``rasterio``'s ``nodatavals``; ``nan``
    and None allowed; a band's may be a tuple of several values and ranges); NaN pixels of float bands are
    always invalid. Alpha bands and a GDAL
    per-dataset mask invalidate every band of a pixel.
    """
    data = bands_hw
    if data.dtype.kind == "f":
        valid = np.isfinite(data)
    else:
        valid = np.ones(data.shape, bool)
    per_band = list(nodata) if isinstance(nodata, (list, tuple)) else [nodata] * data.shape[0]
    for b, values in enumerate(per_band):
        for nd in values if isinstance(values, tuple) else (values,):
            valid[b] &= ~is_nodata(data[b], nd)
    common = None
    for a in alpha:
        m = alpha_valid(data[a])
        common = m if common is None else common & m
    if dataset_mask is not None:
        m = alpha_valid(dataset_mask)
        common = m if common is None else common & m
    if common is not None:
        valid &= common[None]
    for a in alpha:  # an alpha band itself is always "valid": it is copied, not inferred
        valid[a] = True
    return valid


def values_invalid(bands_hw: np.ndarray, nodata: float | Sequence[float | None] | None, bands: Sequence[int]) -> bool:
    """Whether every value of the ``bands`` (indices) of ``bands_hw`` is invalid by :func:`valid_mask`'s rule of values
    (its nodata, NaN and ±inf; alpha and a mask aside, which only make more invalid), to the first valid one, in few
    passes (no mask of all bands kept: a look at hundreds of MB on napari's GUI thread): every band at once where they
    are all looked at and share their nodata (in the array's memory order: an RGB layer's pixels), else band by band."""
    per_band = list(nodata) if isinstance(nodata, (list, tuple)) else [nodata] * bands_hw.shape[0]
    if set(bands) == set(range(bands_hw.shape[0])) and all(per_band[b] == per_band[0] for b in bands):
        return _all_invalid(bands_hw, per_band[0])
    return all(_all_invalid(bands_hw[b], per_band[b]) for b in bands)


def _all_invalid(data: np.ndarray, values) -> bool:
    """Whether every value of ``data`` is NaN, ±inf (float) or one of a band's nodata ``values`` (:func:`valid_mask`)."""
    invalid = None if data.dtype.kind != "f" else ~np.isfinite(data)
    for nd in values if isinstance(values, tuple) else (values,):
        held = is_nodata(data, nd)
        invalid = held if invalid is None else invalid | held
    return invalid is not None and bool(invalid.all())


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


def one_nodata(data: np.ndarray, band_nodata: Sequence, nodata: float | None, skip: Sequence[int] = ()) -> np.ndarray:
    """``data`` ``(bands, h, w)`` whose bands' nodata differ (``band_nodata``: each band's entries,
    as :func:`valid_mask` takes them) with ``nodata`` on every band's nodata pixels and valid
    pixels moved off it (:func:`restore_nodata`), in place: one value then says each band's nodata,
    as an output declares it. ``skip``: bands left as they are (alpha)."""
    valid = valid_mask(data, tuple(band_nodata))
    for b in range(data.shape[0]):
        if b not in skip:
            restore_nodata(data[b], valid[b], nodata, data.dtype)
    return data


def file_one_nodata(src) -> Callable[..., np.ndarray] | None:
    """For ``src`` (an ``open_raster`` dataset) whose file's bands declare different nodata
    (``nodata_given`` False: a VRT, a ``.aux.xml`` by band): ``fix(data, bands=None)``, which makes
    pixels read from ``bands`` (1-based, in the order read; default all) say their nodata with
    ``src.nodata`` alone, in place on a ``(bands, h, w)`` array (:func:`one_nodata` with those bands'
    entries, alpha bands left as they are); it holds what it needs, so it works once ``src`` is
    closed. None for any other file: its pixels stay as read. One rule for every read of such a
    file: whole (``raster_io.read_raster``) or window by window (napari's lazy layers)."""
    if getattr(src, "nodata_given", True) is not False:
        return None
    entries, nodata = tuple(src.band_nodata), src.nodata
    alpha = {i for i, c in enumerate(src.colorinterp) if c.name == "alpha"}

    def fix(data: np.ndarray, bands: Sequence[int] | None = None) -> np.ndarray:
        idx = range(len(entries)) if bands is None else [b - 1 for b in bands]
        return one_nodata(data, [entries[i] for i in idx], nodata, [k for k, i in enumerate(idx) if i in alpha])

    return fix


#: Source pixels (times bands) :func:`valid_block_mean` averages at a time: few, small temporaries (a new
#: large one each time costs page faults), its memory below the window's.
STRIP_PIXELS = 2**18


def valid_block_mean(data: np.ndarray, valid: np.ndarray, k: int,
                     nodata: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``data`` ``(bands, H, W)`` made ``k`` times coarser (``(bands, ⌈H/k⌉, ⌈W/k⌉)``, its dtype):
    each pixel the mean of the ``valid`` pixels of its ``k``×``k`` block (the last row and column
    of blocks hold what is left), rounded for an integer dtype. A block with no valid pixel keeps
    its first pixel as it is (the nodata value, NaN or the masked value the full resolution shows
    there); a mean that equals ``nodata`` is moved off it (:func:`restore_nodata`), so a valid
    pixel never reads as nodata. Returns it and which of its pixels have a valid pixel under them."""
    b, H, W = data.shape
    h, w = -(-H // k), -(-W // k)
    first = data[:, ::k, ::k]
    if k == 1:
        return data, valid
    whole = bool(valid.all())
    if (h * k, w * k) != (H, W):  # pad the last blocks with invalid pixels
        pad = ((0, 0), (0, h * k - H), (0, w * k - W))
        data, valid, whole = np.pad(data, pad), np.pad(valid, pad), False
    # exact sums of integers: 16-bit ones fit int32 up to 128² pixels a block, 32-bit ones int64; 64-bit ones
    # their own type where they cannot pass 2^63, else by their halves (_wide_mean)
    dt = data.dtype
    acc = (np.float64 if dt.kind == "f" else np.int32 if dt.itemsize <= 2 and k <= 128
           else np.uint64 if dt == np.uint64 else np.int64)
    out, any_valid = np.empty((b, h, w), dt), np.empty((b, h, w), bool)
    cdt = np.uint8 if k <= 15 else np.int16 if k <= 128 else np.int32
    nd = nodata_as(nodata, dt)
    nd = None if nd is None or np.isnan(nd) else np.asarray(nd).astype(dt)
    rows = max(1, STRIP_PIXELS // (k * k * w * b))  # a strip of rows of blocks at a time: few, small temporaries
    for y in range(0, h, rows):
        d, v = data[:, y * k:(y + rows) * k], valid[:, y * k:(y + rows) * k]
        o, ok = out[:, y:y + rows], any_valid[:, y:y + rows]
        zeroed = d if whole else _zero_invalid(d, v)
        count = k * k if whole else _block_sum(v.view(np.uint8), k, cdt)
        if dt.itemsize == 8 and dt.kind in "iu" and not _sums_fit(zeroed, k):  # sums past 64 bits: by halves
            o[...] = _wide_mean(zeroed, k, count)
        elif dt.kind == "f":
            total = _block_sum(zeroed, k, acc)
            with np.errstate(invalid="ignore", divide="ignore"):
                o[...] = total / count
        elif whole:  # rounded half up, in integers (exact)
            total = _block_sum(zeroed, k, acc)
            o[...] = (total + count // 2) // count
        elif dt.itemsize <= 4 and k <= 1024:  # |sums| < 2^53: float64's quotient floors exactly (and faster)
            total, n = _block_sum(zeroed, k, acc), np.maximum(count, 1)
            q = np.divide(total + (n >> 1), n, dtype=np.float64)
            o[...] = np.floor(q, out=q)
        else:
            total, n = _block_sum(zeroed, k, acc), np.maximum(count, 1).astype(acc)
            o[...] = (total + n // 2) // n
        ok[...] = True if whole else count > 0
        if nd is not None and ((o == nd) & ok).any():  # a valid mean moved off the nodata value
            restore_nodata(o, ok, nodata, dt)
        if not whole:
            np.copyto(o, first[:, y:y + rows], where=~ok)
    return out, any_valid


def _sums_fit(a: np.ndarray, k: int) -> bool:
    """Whether the sums of ``k``² of the 64-bit integers ``a`` stay below 2^63 in magnitude."""
    lim = 2**63 // (k * k)
    return a.size == 0 or (int(a.max()) < lim and int(a.min()) > -lim)


def _wide_mean(a: np.ndarray, k: int, count) -> np.ndarray:
    """The means, rounded half up, of the ``k``×``k`` blocks of 64-bit integers ``a`` (invalid pixels
    zeroed) over ``count`` (k², or the blocks' valid pixels, 0 read as 1), exact where a block's sum
    passes 64 bits (values beyond 2^63/k²): each value's high and low 32 bits summed apart (k < 2^15)."""
    hi = _block_sum((a >> 32).astype(np.int64, copy=False), k, np.int64)
    lo = _block_sum((a & 0xFFFFFFFF).astype(np.int64, copy=False), k, np.int64)
    n = np.maximum(count, 1).astype(np.int64)
    q, r = np.divmod(hi, n)  # sum + n//2 = q·n·2^32 + (r·2^32 + lo + n//2)
    wide = a.dtype.type
    return (q.astype(wide) << wide(32)) + (((r << 32) + lo + (n >> 1)) // n).astype(wide)


def _zero_invalid(data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``np.where(valid, data, 0)``, the same bits, faster: a product for integers, the bits of
    the invalid floats (NaN, ±inf: a product keeps NaN) cleared to +0.0's."""
    if data.dtype.kind != "f":
        return data * valid
    bits = np.dtype(f"i{data.dtype.itemsize}")
    return np.bitwise_and(data.view(bits), np.negative(valid.view(np.int8), dtype=bits)).view(data.dtype)


def _block_sum(a: np.ndarray, k: int, dtype) -> np.ndarray:
    """Sums of the ``k``×``k`` blocks of ``(bands, H, W)`` (H, W multiples of ``k``) in ``dtype``.
    Integers (exact in any order): the ``k`` rows of each block added whole, then its columns
    pairwise; floats in the order they always were (:func:`_block_sum_float`): a float64 sum of
    floats depends on it, by one unit in the last place."""
    if np.dtype(dtype).kind == "f":
        return _block_sum_float(a, k, dtype)
    b, H, W = a.shape
    rows = np.add(a[:, 0::k], a[:, 1::k], dtype=dtype)
    for i in range(2, k):
        rows += a[:, i::k]
    while k % 2 == 0:
        rows, k = rows[..., 0::2] + rows[..., 1::2], k // 2
    if k == 1:
        return rows
    total = rows[..., 0::k].copy()
    for j in range(1, k):
        total += rows[..., j::k]
    return total


def _block_sum_float(a: np.ndarray, k: int, dtype) -> np.ndarray:
    """Sums of the ``k``×``k`` blocks of ``(bands, H, W)`` (H, W multiples of ``k``) in ``dtype``:
    ``k``² strided adds for a small ``k`` (numpy's reduction over a short inner axis is ~3x slower)."""
    b, H, W = a.shape
    if k <= 4:
        total = np.zeros((b, H // k, W // k), dtype)
        for i in range(k):
            for j in range(k):
                total += a[:, i::k, j::k]
        return total
    return a.reshape(b, H // k, k, W).sum(axis=2, dtype=dtype).reshape(b, H // k, W // k, k).sum(axis=3)
