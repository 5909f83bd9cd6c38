"""GDAL's block cache (decoded blocks of every file GDAL reads) is one per process: a host
application that shares rasterio's libgdal (a napari reader, QGIS where rasterio is built on QGIS's
own GDAL) shares it with the engine. The engine lowers it only while it reads, and puts it back as
it found it: :func:`bounded_gdal_cache`.

``rasterio.Env(GDAL_CACHEMAX=n)`` is not that: rasterio passes an integer to ``GDALSetCacheMax64``
as *bytes* (``Env(GDAL_CACHEMAX=256)`` is a 256-byte cache, i.e. none, for the whole process), and
each ``Env`` puts back the value it found on entry, so two overlapping runs in two threads left
the process with the inner run's value for good.

A GeoTIFF read whole (:func:`read_bands`) keeps none of its blocks there and leaves the cache alone (its
bound, the blocks other datasets keep there: a lazy layer's, QGIS's layers'): it is read through a second
handle on the file opened with GDAL's per-dataset ``NUM_THREADS``, whose GTiff driver then decodes a read
of all of it block by block straight into the result (GDAL >= 3.6, ``GTiffDataset::MultiThreadedRead``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

__all__ = ["bounded_gdal_cache", "lower_gdal_cache", "gdal_cache_bytes", "gdal_cache_used", "read_bands",
           "WHOLE_READ_THREADS"]

_lock = threading.Lock()
_holders = 0  # blocks inside bounded_gdal_cache, all threads together
_found: int | None = None  # the bound the first of them found (None: it did not lower it)
_made: int | None = None  # the bound it set
#: GDAL's threads (its global pool) decoding a GeoTIFF read whole (:func:`read_bands`): with more than one,
#: its GTiff driver decodes the blocks of a read of the whole file straight into the result.
WHOLE_READ_THREADS = 2
_pool = {"started": False, "forked": False}  # by a read of this process or its parent; this is a fork since


def _forked() -> None:
    _pool["forked"] = _pool["started"]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def gdal_cache_bytes() -> int:
    """GDAL's block cache bound in force, in bytes."""
    from rasterio.env import get_gdal_config

    return int(get_gdal_config("GDAL_CACHEMAX"))  # rasterio returns GDALGetCacheMax64 for this key


def gdal_cache_used() -> int | None:
    """Bytes GDAL's block cache holds now (``GDALGetCacheUsed64`` of the libgdal rasterio loaded; None
    where that is no shared library of this process): for tests and benchmarks."""
    lib = _libgdal()
    return None if lib is None else int(lib.GDALGetCacheUsed64())


@functools.lru_cache(maxsize=1)
def _libgdal():
    import ctypes

    import rasterio  # noqa: F401 - loads its libgdal

    with open("/proc/self/maps") as f:
        names = sorted({p for p in (line.split()[-1] for line in f) if "libgdal" in os.path.basename(p) and ".so" in p})
    if not names:
        return None
    lib = ctypes.CDLL(names[0])
    lib.GDALGetCacheUsed64.restype = ctypes.c_int64
    return lib


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
    """``src``'s bands (an open rasterio dataset) in window ``win`` (None: whole). A GeoTIFF read whole keeps
    none of its blocks in GDAL's block cache (:func:`_whole_geotiff`: its pixels once, the cache as it was),
    a PNG's with GDAL_PNG_WHOLE_IMAGE_OPTIM=NO (GDAL 3.10+ decodes a whole PNG into a buffer of its own, then
    copies it out; without, row by row into the result, no slower)."""
    import rasterio

    if win is None and (whole := _whole_geotiff(src)) is not None:
        return whole
    if getattr(src, "driver", None) != "PNG":
        return src.read(window=win)
    with rasterio.Env(GDAL_PNG_WHOLE_IMAGE_OPTIM="NO"):
        return src.read(window=win)


def _whole_geotiff(src):
    """All bands of ``src``'s GeoTIFF, read through a second handle on it opened with ``NUM_THREADS``
    (:data:`WHOLE_READ_THREADS`) and its open options: GDAL's GTiff driver then decodes a read of all of it
    block by block into the result, none kept in the block cache. None where that does not apply: another
    driver, a file of one block (nothing for threads to share: read as before), a process forked after GDAL's pool of
    threads started (the fork has its pool but not its threads: a read would wait for ever), a file at
    that path that is not the one ``src`` opened (gone or replaced since: ``src`` reads it), a read that
    failed (GDAL's threads say a damaged block less plainly: ``src`` reads it again, and says that)."""
    import warnings

    import rasterio

    from .read_failures import gdal_errors

    ds = getattr(getattr(src, "read", None), "__self__", None)  # a proxy's (nodata, CRS) dataset
    if getattr(ds, "driver", None) != "GTiff" or getattr(ds, "mode", None) != "r" or _pool["forked"]:
        return None
    if all(h >= ds.height and w >= ds.width for h, w in ds.block_shapes):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            other = rasterio.open(ds.name, driver="GTiff", **{**ds.options, "NUM_THREADS": WHOLE_READ_THREADS})
    except gdal_errors():
        return None
    with other:
        if other.profile != ds.profile:
            return None
        _pool["started"] = True
        try:
            return other.read()
        except gdal_errors():  # a damaged file: ``src`` reads it again and says which block, in plain words
            return None
