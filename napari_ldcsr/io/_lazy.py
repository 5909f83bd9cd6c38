"""Big scenes: a lazy, multiscale napari layer from a GeoTIFF, read window by window.

Each pyramid level is a :class:`RasterLevel` (an array-like that reads only the window it is
sliced with, through rasterio, using the file's overviews for the coarser levels when it has
them) wrapped in a dask array of ``CHUNK``-sized blocks, so napari's slicing (and its dask
cache) reads only the blocks on screen and the live lens only the window it needs. Placement
and metadata follow the eager reader (:mod:`napari_ldcsr.io._reader`): the same layer lies at the
same world coordinates either way.

Memory while panning stays bounded and small (``benchmarks/lazy_memory.py``, docs/plugin.md
*Big scenes*): the layers opt out of napari's opportunistic dask cache (``cache=False``; that
cache is process-wide, 25 % of the RAM by default, and kept every block ever shown, a second copy
of what GDAL caches), and GDAL's block cache (decoded blocks of every open file, process-wide,
5 % of the RAM by default) is lowered to :data:`GDAL_CACHE_BYTES` when the first big scene
opens, unless ``GDAL_CACHEMAX`` is set in the environment.
"""

from __future__ import annotations

import os
import threading
import weakref
import warnings
from typing import Any

import numpy as np

from .._geometry import layer_placement_from_transform
from ._raster_layers import is_rgb, raster_metadata, rgb_order, shown_in_order

__all__ = ["RasterLevel", "lazy_layer_data", "LAZY_MIN_PIXELS", "CHUNK", "should_open_lazily",
           "window_reader", "GDAL_CACHE_BYTES", "bound_gdal_cache"]

#: Rasters with more pixels than this open lazily (6000² ≈ 100 MB as uint8 RGB). Smaller ones
#: are read whole, as before (the widget's Run needs a single-resolution layer).
LAZY_MIN_PIXELS = 6000 * 6000
#: Block side of the dask arrays (pixels of the level).
CHUNK = 1024
#: Coarsest level's longer side is at most this.
TOP_LEVEL_SIDE = 1024
#: GDAL's block cache bound set when a big scene opens lazily (unless ``GDAL_CACHEMAX`` is set):
#: ~340 decoded 512² RGB blocks, dozens of screens of panning back; GDAL's default is 5 % of the RAM.
GDAL_CACHE_BYTES = 256 * 2**20


def bound_gdal_cache(nbytes: int = GDAL_CACHE_BYTES) -> int:
    """Lower GDAL's process-wide block cache to ``nbytes`` (never raise it; a ``GDAL_CACHEMAX`` set
    in the environment is the user's choice and is left alone). Returns the bound in force.

    It stays lowered when the layer closes: a bound, not a change of behaviour. Other readers in
    napari that share rasterio's libgdal keep a 256 MB cache (GDAL's default is 5 % of the RAM):
    they re-decode some blocks sooner, their pixels are the same. (QGIS never runs this reader.)
    A Run's own lowering (:func:`~ldcsr_core.geo.gdal_cache.bounded_gdal_cache`) puts this bound
    back when it ends."""
    from ldcsr_core.geo.gdal_cache import lower_gdal_cache

    return lower_gdal_cache(nbytes)


_LEVELS: "weakref.WeakValueDictionary[str, RasterLevel]" = weakref.WeakValueDictionary()


def window_reader(data: Any) -> Any:
    """The array to read windows of ``data`` from: for a lazy level, its :class:`RasterLevel`
    (reads exactly the window asked for, not whole dask blocks); otherwise ``data`` itself."""
    return _LEVELS.get(getattr(data, "name", None), data) if isinstance(getattr(data, "name", None), str) else data


class RasterLevel:
    """Array-like (H, W[, C]) of one pyramid level, read from the file per requested window.

    ``factor`` is the level's decimation (1 = full resolution). ``reads`` records each window
    read as ``(factor, row0, col0, rows, cols)`` in level pixels (for tests and benchmarks).
    ``one_nodata``: for a file whose bands declare different nodata, the engine's
    :func:`~ldcsr_core.geo.nodata_masks.file_one_nodata` of it, applied to every window read (the
    layer's one nodata then says each band's, as the eager reader's ``read_raster`` gives it).
    """

    def __init__(self, path: str, factor: int, full_shape: tuple[int, int], bands: list[int],
                 dtype: str, rgb: bool, reads: list | None = None, one_nodata=None):
        self.path, self.factor, self.bands, self.rgb = os.fspath(path), int(factor), list(bands), rgb
        H, W = full_shape
        self.full_shape = (int(H), int(W))
        hw = (-(-H // self.factor), -(-W // self.factor))
        self.shape = hw + ((len(bands),) if rgb else ())
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.reads = reads if reads is not None else []
        self.one_nodata = one_nodata
        self._local = threading.local()  # one dataset handle per thread (GDAL handles are not shared)

    def _dataset(self):
        ds = getattr(self._local, "ds", None)
        if ds is None:
            import rasterio

            ds = self._local.ds = rasterio.open(self.path)
        return ds

    def __getitem__(self, key) -> np.ndarray:
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        ranges, squeeze, steps = [], [], []
        for i, k in enumerate(key[:2]):
            n = self.shape[i]
            if isinstance(k, (int, np.integer)):
                k = int(k) + (n if k < 0 else 0)
                ranges.append((k, k + 1))
                squeeze.append(i)
                steps.append(1)
            elif isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step < 1:
                    raise IndexError("negative steps are not supported")
                ranges.append((start, max(start, stop)))
                steps.append(step)
            else:
                raise TypeError(f"unsupported index {k!r}")
        (r0, r1), (c0, c1) = ranges
        h, w = r1 - r0, c1 - c0
        out_bands = len(self.bands)
        if h == 0 or w == 0:
            arr = np.zeros((out_bands, h, w), self.dtype)
        else:
            f = self.factor
            H, W = self.full_shape
            win = Window(c0 * f, r0 * f, min(c1 * f, W) - c0 * f, min(r1 * f, H) - r0 * f)
            self.reads.append((f, r0, c0, h, w))
            from ldcsr_core.geo.raster_io import read_errors

            ds = self._dataset()
            with warnings.catch_warnings(), read_errors(ds):  # a damaged file: named, in plain words
                warnings.simplefilter("ignore")
                arr = ds.read(self.bands, window=win, out_shape=(out_bands, h, w),
                              resampling=Resampling.nearest if f == 1 else Resampling.average)
            if self.one_nodata is not None:  # each band's nodata as the layer's one value
                arr = self.one_nodata(arr, self.bands)
        arr = np.moveaxis(arr, 0, -1) if self.rgb else arr[0]
        if steps != [1, 1]:
            arr = arr[::steps[0], ::steps[1]]
        if squeeze:
            arr = arr[tuple(0 if i in squeeze else slice(None) for i in range(2))]
        if self.ndim == 3 and len(key) > 2:
            arr = arr[(Ellipsis, key[2])]
        return arr

    def __array__(self, dtype=None, copy=None):
        arr = self[:, :]
        return arr if dtype is None else arr.astype(dtype)


def should_open_lazily(path: str | os.PathLike) -> bool:
    """True for rasters larger than :data:`LAZY_MIN_PIXELS` (opened with the engine's
    ``open_raster``: a file that is not a usable raster raises its one-line error)."""
    from ldcsr_core.geo.raster_io import open_raster

    with open_raster(path) as src:
        return src.width * src.height > LAZY_MIN_PIXELS


def lazy_layer_data(path: str | os.PathLike, reads: list | None = None) -> list[tuple[Any, dict, str]]:
    """napari layer data for a (Geo)TIFF as a lazy multiscale layer (nothing read but metadata).

    RGB(A) rasters give one RGB(A) layer and single-band
    rasters a grey layer; other band counts give one lazy layer per band. Placement and metadata
    are those of the eager reader (``scale``/``translate`` or ``affine`` in ``(-northing,
    easting)``). ``reads`` (a list) collects every window read, all levels together.
    """
    import dask.array as da
    from ldcsr_core.geo.georef import band_tags, carried_domains, georeferencing, source_rpcs
    from ldcsr_core.geo.nodata_masks import file_one_nodata
    from ldcsr_core.geo.raster_io import band_values, open_raster
    from rasterio.errors import NotGeoreferencedWarning

    reads = reads if reads is not None else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with open_raster(path) as src:  # a colour table is read expanded to RGB(A), as the CLI does
            read_path = getattr(src, "gdal_name", path)
            H, W, count, dtype = src.height, src.width, src.count, src.dtypes[0]
            crs, transform, nodata = src.crs, src.transform, src.nodata
            colorinterp = [ci.name for ci in src.colorinterp]
            descriptions, tags, values = list(src.descriptions), src.tags(), band_values(src)
            georef = georeferencing(src)
            gcps = src.gcps if georef == "gcps" else None
            rpcs, btags, domains = source_rpcs(src), band_tags(src), carried_domains(src)
            one_nodata = file_one_nodata(src)  # bands whose nodata differ: as read_raster reads them
    metadata, band_names, georeferenced = raster_metadata(path, crs, transform, nodata, colorinterp,
                                                          descriptions, tags, values, gcps, rpcs, btags,
                                                          georef=georef, domains=domains)
    metadata["lazy"] = True
    name = os.path.splitext(os.path.basename(str(path)))[0]
    factors = [1]
    while max(H, W) / factors[-1] > TOP_LEVEL_SIDE:
        factors.append(factors[-1] * 2)

    def pyramid(bands: list[int], rgb: bool) -> list:
        levels = []
        for f in factors:
            lvl = RasterLevel(read_path, f, (H, W), bands, dtype, rgb, reads, one_nodata)
            chunks = (CHUNK, CHUNK) + ((len(bands),) if rgb else ())
            arr = da.from_array(lvl, chunks=chunks, asarray=True, fancy=False, lock=False,
                                name=f"ldcsr-lazy-{id(lvl):x}", meta=np.empty((0,) * lvl.ndim, lvl.dtype))
            _LEVELS[arr.name] = lvl
            levels.append(arr)
        return levels

    bound_gdal_cache()
    # napari's dask cache off for these layers: GDAL's (bounded) block cache serves panning back
    base: dict[str, Any] = {"metadata": metadata, "multiscale": True, "cache": False}
    if georeferenced:
        base.update(layer_placement_from_transform(tuple(transform)[:6]))
    if is_rgb(count, dtype, colorinterp):  # its bands shown red, green, blue(, alpha), as the eager reader
        order = rgb_order(count, colorinterp, descriptions)
        return [(pyramid([b + 1 for b in order], True),
                 dict(base, name=name, rgb=True, metadata=shown_in_order(metadata, order)), "image")]
    if count == 1:
        return [(pyramid([1], False), dict(base, name=name), "image")]
    return [(pyramid([b], False), dict(base, name=f"{name} [{band_names[b - 1]}]",
                                       metadata=dict(metadata, band=b - 1)), "image")
            for b in range(1, count + 1)]
