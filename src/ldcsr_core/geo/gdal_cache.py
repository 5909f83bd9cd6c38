"""GDAL's block cache (decoded blocks of every file GDAL reads) is one per process: a host
application that shares rasterio's libgdal (a napari reader, QGIS where rasterio is built on QGIS's
own GDAL) shares it with the engine. The engine lowers it only while it reads, and puts it back as
it found it: :func:`bounded_gdal_cache`.

``rasterio.Env(GDAL_CACHEMAX=n)`` is not that: rasterio passes an integer to ``GDALSetCacheMax64``
as *bytes* (``Env(GDAL_CACHEMAX=256)`` is a 256-byte cache, i.e. none, for the whole process), and
each ``Env`` puts back the value it found on entry, so two overlapping runs in two threads left
the process with the inner run's value for good.

A file read whole (:func:`read_bands`) goes through that cache too: GDAL keeps the blocks it decodes
there, up to a copy of the whole file next to the pixels read; it reads with a small cache instead.
"""

from __future__ import annotations

import contextlib
import os
import threading

__all__ = ["bounded_gdal_cache", "lower_gdal_cache", "gdal_cache_bytes", "read_bands", "WHOLE_READ_CACHE_BYTES"]

_lock = threading.Lock()
_holders = 0  # blocks inside bounded_gdal_cache, all threads together
_found: int | None = None  # the bound the first of them found (None: it did not lower it)
_made: int | None = None  # the bound it set
#: GDAL's block cache bound while a file is read whole (:func:`read_bands`): a 6000² RGB GeoTIFF, striped,
#: tiled, deflate or 16-bit, then peaks at 1.00-1.02 times its pixels, not 2.0 (its decoded blocks kept in
#: a cache of 5 % of the RAM), and is read no slower (GDAL decodes each block once into the result).
WHOLE_READ_CACHE_BYTES = 2**20


def gdal_cache_bytes() -> int:
    """GDAL's block cache bound in force, in bytes."""
    from rasterio.env import get_gdal_config

    return int(get_gdal_config("GDAL_CACHEMAX"))  # rasterio returns GDALGetCacheMax64 for this key


def lower_gdal_cache(nbytes: int) -> int:
    """Lower GDAL's block cache to ``nbytes`` for the rest of the process (never raised; left alone
    when ``GDAL_CACHEMAX`` is set in the environment); a :func:`bounded_gdal_cache` block running
    meanwhile then puts back this bound, not the higher one it found. Returns the bound in force."""
    global _found
    from rasterio.env import set_gdal_config

    with _lock:
        if "GDAL_CACHEMAX" not in os.environ:
            if _found is not None:  # a run's lowering is in force: what it puts back is lowered
                _found = min(_found, int(nbytes))
            if gdal_cache_bytes() > nbytes:
                set_gdal_config("GDAL_CACHEMAX", int(nbytes))
        return gdal_cache_bytes()


@contextlib.contextmanager
def bounded_gdal_cache(nbytes: int):
    """Within the block, GDAL's process-wide block cache is at most ``nbytes`` bytes: lowered if it
    is higher, never raised, and left alone when ``GDAL_CACHEMAX`` is set in the environment (the
    user's choice). Blocks that overlap (runs in several threads) share one lowering; when the
    last one ends the bound found by the first is put back, unless someone else changed it
    meanwhile (then theirs stays)."""
    global _holders, _found, _made
    from rasterio.env import set_gdal_config

    with _lock:
        if _holders == 0 and "GDAL_CACHEMAX" not in os.environ:
            current = gdal_cache_bytes()
            if current > nbytes:
                set_gdal_config("GDAL_CACHEMAX", int(nbytes))  # an int: bytes (GDALSetCacheMax64)
                _found, _made = current, gdal_cache_bytes()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                if _found is not None and gdal_cache_bytes() == _made:
                    set_gdal_config("GDAL_CACHEMAX", _found)
                _found = _made = None


def read_bands(src, win=None):
    """``src``'s bands (an open rasterio dataset) in window ``win`` (None: whole). A whole read runs in a
    :func:`bounded_gdal_cache` of :data:`WHOLE_READ_CACHE_BYTES` (the blocks it decodes are not kept: its
    pixels once), a PNG's with GDAL_PNG_WHOLE_IMAGE_OPTIM=NO (GDAL 3.10+ decodes a whole PNG into a buffer
    of its own, then copies it out; without, row by row into the result, no slower)."""
    import rasterio

    with bounded_gdal_cache(WHOLE_READ_CACHE_BYTES) if win is None else contextlib.nullcontext():
        if getattr(src, "driver", None) != "PNG":
            return src.read(window=win)
        with rasterio.Env(GDAL_PNG_WHOLE_IMAGE_OPTIM="NO"):
            return src.read(window=win)
