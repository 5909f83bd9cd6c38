"""The stretch sample of a whole raster (:func:`decimated_read`): about a million pixels on a regular grid,
read from the file's overviews where they left its nodata out, else from full resolution."""

from __future__ import annotations

import numpy as np

from .overviews import overviews_leave_nodata_out
from .read_failures import read_errors
from .stretch import SAMPLE_PIXELS, sample_grid

__all__ = ["decimated_read", "reads_every_row"]


def decimated_read(src, max_pixels: int = SAMPLE_PIXELS):
    """``(bands, h', w')`` sample of the whole scene on a regular grid (about ``max_pixels``).

    Uses the file's overviews when it has them and they left the nodata read with out
    (:func:`~.overviews.overviews_leave_nodata_out`); otherwise reads full resolution's sampled rows
    (:func:`~.stretch.sample_grid`'s pixels) by whole blocks (each decompressed once), which is far quicker
    than GDAL's pixel-by-pixel decimation on large tiled files; of a file in strips (or blocks) shorter than
    the grid's step, only those that hold a sampled row. Returns the array, the per-dataset mask sample (or
    ``None``) and the sampling step."""
    with read_errors(src):
        return _decimated_read(src, max_pixels)


def reads_every_row(src, max_pixels: int = SAMPLE_PIXELS) -> bool:
    """Whether :func:`decimated_read` of ``src`` reads every row of it (a scene of at most ``max_pixels``, or one
    without overviews that left its nodata out whose blocks are as tall as the grid's step or more): no quicker
    than reading it whole."""
    _, _, step = sample_grid(src.height, src.width, max_pixels)
    if step == 1:
        return True
    if src.overviews(1) and overviews_leave_nodata_out(src):
        return False
    return max(src.block_shapes[0][0], 1) >= step


def _decimated_read(src, max_pixels: int):
    from rasterio.enums import Resampling

    h, w = src.height, src.width
    rows, cols, step = sample_grid(h, w, max_pixels)
    want_mask = any(
        "per_dataset" in [f.name for f in fl] and "nodata" not in [f.name for f in fl]
        and "alpha" not in [f.name for f in fl] for fl in src.mask_flag_enums)
    if step == 1 or (src.overviews(1) and overviews_leave_nodata_out(src)):
        out_shape = (len(rows), len(cols))
        data = src.read(out_shape=(src.count, *out_shape), resampling=Resampling.nearest)
        mask = (src.dataset_mask(out_shape=out_shape, resampling=Resampling.nearest)
                if want_mask else None)
        return data, mask, step
    data = np.empty((src.count, len(rows), len(cols)), src.dtypes[0])
    mask = np.empty((len(rows), len(cols)), np.uint8) if want_mask else None
    block = max(src.block_shapes[0][0], 1)
    if block < step:  # a sampled row's strip alone (GDAL's default GeoTIFF: 8 KB strips, often one row)
        for k, r in enumerate(rows):
            y0 = int(r - r % block)
            _keep(src, (y0, min(block, h - y0)), rows[k:k + 1], cols, data[:, k:k + 1], mask, k)
        return data, mask, step
    # Read whole block rows (one decompression per block; single-row reads of pixel-interleaved
    # tiles are ~100× slower) and keep the sampled rows and columns.
    bh = max(min(block, 1024), min(h, max(1, (8 << 20) // max(1, w * src.count * data.itemsize))))  # ≥ 8 MiB
    k = 0
    for y0 in range(0, h, bh):
        sel = rows[(rows >= y0) & (rows < y0 + bh)]
        if sel.size:
            _keep(src, (y0, min(bh, h - y0)), sel, cols, data[:, k:k + sel.size], mask, k)
            k += sel.size
    return data, mask, step


def _keep(src, span: tuple[int, int], sel, cols, out, mask, k: int) -> None:
    """Read rows ``span`` = ``(first, count)`` of ``src`` whole and keep rows ``sel`` and ``cols`` in ``out``
    (and the mask's in ``mask``'s rows from ``k``)."""
    from rasterio.windows import Window

    y0, n = span
    win = Window(0, y0, src.width, n)
    out[...] = src.read(window=win)[:, sel - y0][:, :, cols]
    if mask is not None:
        mask[k:k + sel.size] = src.dataset_mask(window=win)[sel - y0][:, cols]
