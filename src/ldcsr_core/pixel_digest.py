"""A fingerprint of an in-memory image's pixels: whether an array still holds the pixels work was
made of, also after an edit in place (``data[10:20, 10:20] = 0``), which leaves it the same object.

:func:`pixel_digest` reads every byte (CRC-32, about 2.5 GB/s here) in the order they lie in memory:
no copy of a contiguous array nor of a view that only puts its axes in another order (a GeoTIFF's
bands read as one RGB layer, ``np.moveaxis``: 0.8 s for 192 MB copied a few rows at a time in C
order, 0.07 s in its own). :func:`same_pixels` compares an array with a digest in the digest's order,
so that a copy laid out otherwise is still the same pixels. A dask array is not read (its pixels
may be a file's, and reading them all to hash would be slow): its digest holds the name of its task
graph, which an edit in place (``data[10:20, 10:20] = 0``: dask's ``__setitem__`` gives the same object
a new graph) changes; what it reads changing under it (the NumPy array or the store it wraps) is not
seen; a lazy file's levels (napari_ldcsr's reader: dask arrays over the file) are digested so too. An
xarray ``DataArray`` is digested as the NumPy or dask array it holds. None for anything else, not edited
in place: a multiscale layer's wrapper of its levels, a reader of a file (the live lens's of a lazy
file's level), lists, an xarray of a file not loaded.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["pixel_digest", "rows_digest", "same_pixels", "memory_order", "held_array", "graph_name", "DIGEST_ROWS_BYTES"]

#: bytes hashed a pass: a view whose memory is not in one piece is copied this much at a time, not whole
DIGEST_ROWS_BYTES = 2**20


def memory_order(data: np.ndarray) -> tuple:
    """``data``'s axes from the one that steps farthest in memory to the nearest where that order
    makes it one contiguous block (a view of contiguous pixels with its axes moved), else C order."""
    order = tuple(sorted(range(data.ndim), key=lambda i: -abs(data.strides[i])))
    return order if np.transpose(data, order).flags.c_contiguous else tuple(range(data.ndim))


def held_array(data):
    """The array that holds ``data``'s pixels: an xarray ``DataArray``'s NumPy or dask array (which an edit
    in place of the ``DataArray`` writes to; not copied), None for one that holds neither (a file's, read
    when asked: ``.data`` would read it all), else ``data``."""
    if not type(data).__module__.startswith("xarray."):
        return data
    held = getattr(getattr(data, "variable", None), "_data", None)  # what ``.data`` gives, without a read
    return held if isinstance(held, np.ndarray) or graph_name(held) is not None else None


def graph_name(data) -> str | None:
    """The name of dask array ``data``'s task graph (a token of the graph: another after an edit in
    place); None for anything else."""
    name = getattr(data, "name", None)
    return name if type(data).__module__.startswith("dask.") and isinstance(name, str) else None


def pixel_digest(data, order=None) -> tuple | None:
    """``(shape, dtype, order, CRC-32 of the values with their axes in order)`` of NumPy array ``data``
    (``order``: its :func:`memory_order` when not given); ``(shape, dtype, None, "dask:" + its graph's
    name)`` of a dask array (nothing read, :func:`graph_name`); None for anything else (nothing to digest
    without reading a file). An xarray ``DataArray``'s is that of its :func:`held_array`."""
    data = held_array(data)
    if not isinstance(data, np.ndarray):
        name = graph_name(data)
        return None if name is None else (tuple(data.shape), np.dtype(data.dtype).str, None, "dask:" + name)
    order = memory_order(data) if order is None else tuple(int(a) for a in order)
    view = np.transpose(data, order)
    crc = 0
    if view.ndim and view.size:
        rows = max(1, DIGEST_ROWS_BYTES // max(1, view[0].nbytes))
        for y in range(0, view.shape[0], rows):
            part = view[y:y + rows]
            crc = zlib.crc32(memoryview(part if part.flags.c_contiguous else np.ascontiguousarray(part)).cast("B"), crc)
    elif view.size:
        crc = zlib.crc32(view.tobytes())
    return tuple(data.shape), data.dtype.str, order, crc


def rows_digest(shape, dtype, read_rows, pass_bytes: int = DIGEST_ROWS_BYTES, tick=None) -> tuple:
    """:func:`pixel_digest` of the array of ``shape`` and ``dtype`` in C order whose rows ``y0:y1``
    ``read_rows(y0, y1)`` gives (an array held elsewhere: a raster's copy of a layer's pixels, read back
    about ``pass_bytes`` at a time, never whole): ``pixel_digest(a, tuple(range(a.ndim)))`` of that array ``a``.
    ``tick()``, if given, is called before each pass: a run's progress callback repeating its last state
    (:mod:`ldcsr_core.progress`), whose :class:`~ldcsr_core.Cancelled` stops the digest within one pass."""
    shape, dtype = tuple(int(v) for v in shape), np.dtype(dtype)
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    rows, crc = max(1, pass_bytes // max(1, row_bytes)), 0
    for y in range(0, shape[0] if len(shape) and row_bytes else 0, rows):
        if tick is not None:
            tick()
        part = np.ascontiguousarray(read_rows(y, min(shape[0], y + rows)), dtype)
        crc = zlib.crc32(memoryview(part).cast("B"), crc)
    return shape, dtype.str, tuple(range(len(shape))), crc


def same_pixels(data, digest, digest_of=None) -> bool:
    """Whether ``data`` holds the pixels ``digest`` (:func:`pixel_digest`, or its lists as metadata may
    keep them) was taken of: the same shape, type and values, read in the digest's axis order.
    ``digest_of``: ``(data, order) -> digest`` taking it (default :func:`pixel_digest`; one that reuses a
    digest already taken)."""
    digest_of = digest_of or (lambda d, o=None: pixel_digest(d, o))
    data = held_array(data)
    if digest is None or not isinstance(data, np.ndarray):
        return digest_of(data, None) == digest
    shape, dtype, order, _ = digest
    if order is None:  # a dask array's (by its graph): not of a NumPy array's pixels
        return False
    if tuple(data.shape) != tuple(shape) or data.dtype.str != dtype or len(order) != data.ndim:
        return False
    return digest_of(data, order)[3] == digest[3]
