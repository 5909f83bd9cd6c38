"""A 64-bit integer raster whose nodata float64 cannot hold (uint64's 2^64 - 1, int64's -2^63), read
as the 32-bit raster that converting it makes.

The engine refuses to run such a file as it is (:func:`~.nodata_override.check_file_nodata`: its
nodata pixels could be neither told from data nor marked on an output), and the command line and
QGIS say how to convert it (``gdal_translate -ot UInt32 -a_nodata 4294967295``, QGIS's Translate).
A front end with no such tool (napari) reads the file so itself: :func:`read_narrowed` gives the
bands as that conversion would, its nodata pixels found by GDAL's own mask (exact), and refuses a
file whose values need more than 32 bits.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..errors import InputError
from .nodata_exact import WideNodataError, _convert_hint, fit_range, wide_file_nodata
from .nodata_words import NO_NODATA

__all__ = ["read_narrowed"]


def read_narrowed(path, *, max_pixels: int | None = None) -> tuple | None:
    """``(GeoArray, georeferencing, note)`` of the raster at ``path`` read as 32-bit bands
    (UInt32 with nodata 4294967295 for uint64 bands whose nodata is 2^64 - 1, Int32 with
    -2147483648 or 2147483647 for int64 ones), its values unchanged; ``note`` says so in a sentence.
    None when the engine opens the file as it is (it declares no nodata refused by
    :func:`~.nodata_override.check_file_nodata`). An :class:`InputError` when its valid values do
    not fit in the 32-bit type (or one is its new nodata value), as :func:`~.raster_io.open_raster`'s other refusals,
    and, before any pixel is read, when it has more than ``max_pixels`` pixels (the front end's limit
    for reading a file whole: napari's reader opens bigger ones lazily, which such a file cannot be),
    saying how to convert it. The bands are read a strip of rows at a time (:func:`_narrowed_bands`):
    the memory of the 32-bit result and one strip (before, ~3.5 times the 64-bit bands)."""
    from .raster_io import georeferencing, open_raster, read_raster

    try:
        with open_raster(path):
            return None
    except WideNodataError:
        pass
    name = os.path.basename(os.fspath(path))
    with open_raster(path, nodata=NO_NODATA) as src:
        band, value, text = wide_file_nodata(src.file_dataset)
        dtype = np.dtype(src.dtypes[band])
        shown = text or (f"{value:.17g}" if value is not None else f"beyond {dtype.name}'s float64 range")
        what = f"{name}: its nodata {shown} ({dtype.name} bands)"
        negative = text.strip().startswith("-") if text else (value is not None and value < 0)
        ot, to = _convert_hint(negative, dtype)
        if max_pixels is not None and src.width * src.height > max_pixels:
            raise InputError(f"{what} cannot be read or written exactly (GDAL passes nodata values as float64), and at "
                             f"{src.width}×{src.height} px it is too big to be read whole as {ot} bands (a file above "
                             f"{max_pixels:,} px is opened lazily, from the file, which this one cannot be): if its "
                             f"values fit in {ot} ({fit_range(ot, to)}; QGIS's Raster ▸ Miscellaneous ▸ Information, "
                             "'Force computation of the actual min/max values for each band', or gdalinfo -mm "
                             "in.tif shows them), convert it first (QGIS: Raster ▸ Conversion ▸ Translate, output "
                             f"data type {ot} and 'Assign a specified nodata value' {to}; or gdal_translate -ot {ot} "
                             f"-a_nodata {to} in.tif out.tif; one beyond that range would be changed, clamped), then open the new file")
        georef = georeferencing(src)
        narrowed, low, high, clash = _narrowed_bands(src, np.dtype(ot.lower()), to)
        geo = read_raster(src, data=narrowed)  # all but the pixels, as read_raster reads them
    info = np.iinfo(ot.lower())
    if low is not None and (low < info.min or high > info.max or clash):
        raise InputError(f"{what} cannot be read or written exactly (GDAL passes nodata values as float64), and "
                         f"its values ({low}..{high}) do not fit in {ot} bands with nodata {to}, so "
                         "it cannot be read as them either: give its nodata pixels a value within ±2^53 and declare "
                         "that as its nodata (e.g. with QGIS's Raster Calculator, or GDAL), then open the new file")
    note = (f"{what} cannot be read or written exactly (GDAL passes nodata values as float64): it is opened as "
            f"{ot} bands with nodata {to}, its values unchanged (they fit), as converting the file to {ot} "
            "would make it; results and saved layers are so too")
    return dataclasses.replace(geo, nodata=float(to)), georef, note


BLOCK_BYTES = 16 << 20  # the 64-bit pixels read at once (all bands of a strip of rows)


def _narrowed_bands(src, ot: np.dtype, to) -> tuple[np.ndarray, object, object, bool]:
    """``(bands, low, high, clash)``: ``src``'s bands as ``ot``, its nodata pixels (GDAL's exact
    masks) ``to``, read a strip of rows at a time (all bands, at most :data:`BLOCK_BYTES` of 64-bit
    pixels), so memory holds the result and one strip, not the 64-bit raster; ``low`` and ``high``
    the smallest and largest valid value (None when none is valid), ``clash`` whether one is
    ``to``. A valid value outside ``ot`` lands wrapped in ``bands``, which the caller then refuses."""
    from rasterio.windows import Window

    from .read_failures import read_errors

    ds = src.file_dataset
    count, height, width = ds.count, ds.height, ds.width
    out = np.empty((count, height, width), ot)
    rows = max(1, BLOCK_BYTES // max(1, 8 * count * width))
    wide = np.iinfo(np.dtype(ds.dtypes[0]))
    low = high = None
    clash = False
    with read_errors(src):
        for r0 in range(0, height, rows):
            win = Window(0, r0, width, min(rows, height - r0))
            block = src.read(window=win)
            valid = ds.read_masks(window=win) > 0  # the nodata value exactly, per band
            if valid.any():
                lo, hi = block.min(where=valid, initial=wide.max), block.max(where=valid, initial=wide.min)
                low = lo if low is None else min(low, lo)
                high = hi if high is None else max(high, hi)
                clash = clash or bool((valid & (block == np.array(to, block.dtype))).any())
            np.copyto(out[:, r0:r0 + win.height], block, casting="unsafe")
            out[:, r0:r0 + win.height][~valid] = to
    return out, low, high, clash
