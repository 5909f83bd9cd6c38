"""Big scenes: a lazy, multiscale napari layer from a GeoTIFF, read window by window.

Each pyramid level is a :class:`RasterLevel` (an array-like that reads only the window it is
sliced with, through rasterio) wrapped in a dask array of ``CHUNK``-sized blocks, so napari's
slicing (and its dask cache) reads only the blocks on screen and the live lens only the window it
needs. A coarser level averages the valid pixels under each of its pixels (:class:`Validity`),
read from the file's coarsest overview whose factor divides the level's, else from full resolution.
Placement and metadata follow the eager reader (:mod:`napari_ldcsr.io._reader`): the same layer
lies at the same world coordinates either way; its contrast limits span its valid pixels.

Memory while panning stays bounded and small (``benchmarks/lazy_memory.py``, docs/plugin.md
*Big scenes*): the layers opt out of napari's opportunistic dask cache (``cache=False``; that
cache is process-wide, 25 % of the RAM by default, and kept every block ever shown, a second copy
of what GDAL caches), and GDAL's block cache (decoded blocks of every open file, process-wide,
5 % of the RAM by default) is lowered to :data:`GDAL_CACHE_BYTES` when the first big scene
opens, unless ``GDAL_CACHEMAX`` is set in the environment.
"""

from __future__ import annotations

import errno
import os
import threading
import weakref
import warnings
from typing import Any, NamedTuple

import numpy as np

from .._geometry import layer_placement_from_transform
from ._raster_layers import is_rgb, raster_metadata, rgb_order, shown_in_order, valid_contrast

__all__ = ["RasterLevel", "Validity", "lazy_layer_data", "LAZY_MIN_PIXELS", "WHOLE_READ_DRIVERS", "WHOLE_READ_PEAK",
           "whole_read_peak", "WHOLE_READ_HEADROOM", "CHUNK", "should_open_lazily", "window_reader", "GDAL_CACHE_BYTES", "bound_gdal_cache"]

#: Rasters with more pixels than this open lazily (6000² ≈ 100 MB as uint8 RGB). Smaller ones
#: are read whole, as before (the widget's Run needs a single-resolution layer).
LAZY_MIN_PIXELS = 6000 * 6000
#: GDAL drivers with no random access: a window is read by decoding the file from its start, so each
#: lazy block of a big PNG or JPEG decoded it again (0.25-1.6 s a 256² block of a 7000² PNG). Such a
#: file is read whole where it fits the in-memory limit (:func:`should_open_lazily`), lazily beyond it.
WHOLE_READ_DRIVERS = ("PNG", "JPEG")
#: What the eager reader (``layer_data_from_geotiff``) peaks at reading a file whole, times its pixels, by
#: GDAL driver: that much must fit the free memory. Measured (VmHWM in a subprocess, medians of 3): a PNG
#: or JPEG 1.00 at 6000² RGB, 1.01-1.02 at 2400 × 2000, a GeoTIFF 1.00-1.02 at 6000² (striped, tiled, deflate,
#: 16-bit; 2.0 before 2026-12-07: GDAL's block cache) and up to 1.07 at 2400 × 2000 (256² tiles);
#: tests/plugin/test_raster_formats.py checks each is not below a real read's. Others: 2, unmeasured.
WHOLE_READ_PEAK = {"GTiff": 1.15, "PNG": 1.1, "JPEG": 1.1}
#: Free memory a whole read must leave, times the file's pixels: as much again for what napari (contrast,
#: thumbnails) and a Run make of the layer, so that a file read whole does not push them into swap.
WHOLE_READ_HEADROOM = 1.0
#: Block side of the dask arrays (pixels of the level).
CHUNK = 1024
#: Coarsest level's longer side is at most this.
TOP_LEVEL_SIDE = 1024
#: Source pixels (times bands) a coarser level averages per read (:meth:`RasterLevel._read`): ~2 MB of
#: 16-bit pixels, so a level's memory never grows with its factor.
PASS_PIXELS = 2**20
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


class Validity(NamedTuple):
    """Which pixels of a file are valid, by the engine's rule (``radiometry.valid_mask``, as a Run
    reads them): ``entries`` each band's nodata (``band_nodata``), ``alpha`` its alpha bands
    (1-based), ``mask`` whether it has a per-dataset mask, ``nodata`` the layer's one value.
    ``mask_alpha``: the band (``count + 1``, among ``alpha``) that holds the mask as the RGBA layer's
    alpha, as the eager reader holds it (``_raster_layers.mask_is_alpha``: the engine's ``mask_as_alpha``); 0: none."""

    entries: tuple = ()
    alpha: tuple = ()
    mask: bool = False
    nodata: float | None = None
    mask_alpha: int = 0

    @classmethod
    def of(cls, src) -> "Validity":
        from ldcsr_core.geo.raster_io import raster_info

        from ._raster_layers import mask_is_alpha

        alpha = tuple(i + 1 for i, c in enumerate(src.colorinterp) if c.name == "alpha")
        entries = tuple(getattr(src, "band_nodata", None) or src.nodatavals)
        held = src.count + 1 if mask_is_alpha(src) else 0
        if held:
            alpha, entries = alpha + (held,), entries + (None,)
        return cls(entries, alpha, raster_info(src).has_dataset_mask, src.nodata, held)


class RasterLevel:
    """Array-like (H, W[, C]) of one pyramid level, read from the file per requested window.

    ``factor`` is the level's decimation (1 = full resolution). ``reads`` records each window
    read as ``(factor, row0, col0, rows, cols)`` in level pixels (for tests and benchmarks).
    ``one_nodata``: for a file whose bands declare different nodata, the engine's
    :func:`~ldcsr_core.geo.nodata_masks.file_one_nodata` of it, applied to every window read (the
    layer's one nodata then says each band's, as the eager reader's ``read_raster`` gives it).
    A coarser level's pixel is the mean of the ``validity``'s valid pixels under it (the engine's
    ``valid_block_mean``, on a grid of whole blocks of the full resolution: its alpha is then the
    type's maximum where a pixel under it is valid), read from the file's
    coarsest overview whose factor divides ``factor`` and that left the file's nodata out
    (:func:`~ldcsr_core.geo.overviews.overview_averages_valid_pixels`; the level of its factor is its
    pixels as they are), else from full resolution.
    """

    def __init__(self, path: str, factor: int, full_shape: tuple[int, int], bands: list[int],
                 dtype: str, rgb: bool, reads: list | None = None, one_nodata=None,
                 validity: Validity = Validity()):
        self.path, self.factor, self.bands, self.rgb = os.fspath(path), int(factor), list(bands), rgb
        H, W = full_shape
        self.full_shape = (int(H), int(W))
        hw = (-(-H // self.factor), -(-W // self.factor))
        self.shape = hw + ((len(bands),) if rgb else ())
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.reads = reads if reads is not None else []
        self.one_nodata, self.validity = one_nodata, validity
        self._local = threading.local()  # one dataset handle per thread (GDAL handles are not shared)

    def _dataset(self, level: int | None = None):
        """This thread's handle on the file (``level``: on its overview of that index). A file gone
        from its path (moved, deleted, its disk unmounted) raises the engine's one-line
        ``RasterIOError`` ("input not found: …") on every thread, the ones holding a handle too:
        whether a read works never depends on which thread napari's dask pool runs it on."""
        if not os.path.exists(file := _on_disk(self.path)):
            from ldcsr_core.errors import RasterIOError

            raise RasterIOError(errno.ENOENT, f"input not found: {file}")
        handles = self._local.__dict__.setdefault("ds", {})
        if level not in handles:
            import rasterio

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                handles[level] = rasterio.open(self.path, **({} if level is None else {"overview_level": level}))
        return handles[level]

    def _source(self):
        """(handle, its decimation) to average this level from: the file's coarsest overview whose
        factor divides the level's, whose grid is the full resolution's cut in whole blocks and whose
        pixels leave the file's nodata out (the engine's ``overview_averages_valid_pixels``)."""
        from ldcsr_core.geo.overviews import overview_averages_valid_pixels

        H, W = self.full_shape
        base = self._dataset()
        factors = base.overviews(self.bands[0]) if self.factor > 1 else []
        for i, d in sorted(enumerate(factors), key=lambda t: -t[1]):
            if d <= self.factor and self.factor % d == 0:
                ds = self._dataset(i)
                if ds.shape == (-(-H // d), -(-W // d)) and overview_averages_valid_pixels(base, ds):
                    return ds, d
        return base, 1

    def _read(self, r0: int, c0: int, h: int, w: int, with_valid: bool = False):
        """Level pixels ``(bands, h, w)`` of the window at ``(r0, c0)`` (``with_valid``: and which
        of them are valid or have a valid pixel under them)."""
        from ldcsr_core.geo.nodata_masks import valid_block_mean
        from ldcsr_core.geo.raster_io import read_errors
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        f, (H, W) = self.factor, self.full_shape
        if f == 1:
            ds = self._dataset()
            win = Window(c0, r0, min(c0 + w, W) - c0, min(r0 + h, H) - r0)
            with warnings.catch_warnings(), read_errors(ds):  # a damaged file: named, in plain words
                warnings.simplefilter("ignore")
                arr, mask = self._read_bands(ds, self.bands, win, out_shape=(len(self.bands), h, w),
                                             resampling=Resampling.nearest)
            valid = None
            if with_valid:
                with read_errors(ds):
                    if mask is None and self.validity.mask:
                        mask = ds.dataset_mask(window=win)
                    valid = self._valid(arr, self.bands, mask)
            arr = self._one_nodata(arr, self.bands)
            return (arr, valid) if with_valid else arr
        ds, d = self._source()
        k, vy = f // d, self.validity
        bands = self.bands + [a for a in vy.alpha if a not in self.bands]  # alpha masks every band
        n = len(self.bands)
        # a few rows of blocks at a time: memory bounded by PASS_PIXELS, not by the window (k² times the
        # level's: the whole scene for the coarsest level of one without overviews)
        step = h if k == 1 and not with_valid else max(1, PASS_PIXELS // (k * k * w * len(bands)))
        parts, buf = [], None
        for y in range(r0, r0 + h, step):
            win = Window(c0 * k, y * k, min((c0 + w) * k, ds.width) - c0 * k,
                         min(min(y + step, r0 + h) * k, ds.height) - y * k)
            shape = (len(bands), int(win.height), int(win.width))
            if k > 1 and (buf is None or buf.shape != shape):  # averaged: one array read into, pass after pass
                buf = np.empty(shape, ds.dtypes[0])  # (a new one each pass: page faults, up to half the time)
            with warnings.catch_warnings(), read_errors(ds):
                warnings.simplefilter("ignore")
                arr, mask = self._read_bands(ds, bands, win, out=buf if k > 1 else None)
                if mask is None and vy.mask and (k > 1 or with_valid):
                    mask = ds.dataset_mask(window=win)
            if k == 1 and not with_valid:  # the file's overview of this level: its pixels as they are
                return self._one_nodata(arr, bands)[:n]
            valid = self._valid(arr, bands, mask)
            arr = self._one_nodata(arr, bands)
            parts.append(valid_block_mean(arr, valid, k, vy.nodata))
        arr, valid = parts[0] if len(parts) == 1 else (np.concatenate(x, axis=1) for x in zip(*parts))
        return (arr[:n], valid[:n]) if with_valid else arr[:n]

    def _read_bands(self, ds, bands: list[int], win, out=None, **kw) -> tuple[np.ndarray, np.ndarray | None]:
        """(``ds.read`` of ``bands`` in ``win`` (``out``, ``kw``: rasterio's), ``ds``'s mask there or
        None): the band that holds the mask as alpha (``validity.mask_alpha``, last of ``bands``) made
        of that mask by the engine's rule (``arrays.alpha_of_mask``); the mask is read once a window,
        for that alpha and for the window's validity (:meth:`_read`)."""
        held = self.validity.mask_alpha
        if not held or held not in bands:
            return ds.read(bands, window=win, out=out, **kw), None
        from ldcsr_core.geo.arrays import alpha_of_mask

        shape = kw.get("out_shape", (len(bands), int(win.height), int(win.width)))
        arr = np.empty(shape, ds.dtypes[0]) if out is None else out
        if len(bands) > 1:
            ds.read(bands[:-1], window=win, out=arr[:-1], **{k: v for k, v in kw.items() if k != "out_shape"})
        mask = ds.dataset_mask(window=win, out_shape=shape[1:], **{k: v for k, v in kw.items() if k == "resampling"})
        arr[-1] = alpha_of_mask(mask, arr.dtype)
        return arr, mask

    def _one_nodata(self, arr: np.ndarray, bands: list[int]) -> np.ndarray:
        """``arr`` read from ``bands`` whose nodata say the layer's one (``one_nodata``; the mask's alpha left)."""
        if self.one_nodata is None:
            return arr
        n = len(bands) - (self.validity.mask_alpha in bands)
        self.one_nodata(arr[:n], bands[:n])
        return arr

    def _valid(self, arr: np.ndarray, bands: list[int], mask=None) -> np.ndarray:
        from ldcsr_core.geo.nodata_masks import valid_mask

        vy = self.validity
        return valid_mask(arr, [vy.entries[b - 1] if vy.entries else None for b in bands],
                          alpha=[i for i, b in enumerate(bands) if b in vy.alpha], dataset_mask=mask)

    def contrast(self) -> list[float] | None:
        """napari's contrast limits over this level's valid pixels (and those with a valid pixel
        under them), all bands together but an RGBA layer's alpha (:func:`~._raster_layers.valid_contrast`)."""
        if self.dtype == np.uint8:
            return None
        arr, valid = self._read(0, 0, self.shape[0], self.shape[1], with_valid=True)
        self.reads.append((self.factor, 0, 0) + self.shape[:2])
        colours = [i for i, b in enumerate(self.bands) if not (self.rgb and b in self.validity.alpha)]
        return valid_contrast(arr[colours], valid[colours])

    def __getitem__(self, key) -> np.ndarray:
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
        if h == 0 or w == 0:
            arr = np.zeros((len(self.bands), h, w), self.dtype)
        else:
            self.reads.append((self.factor, r0, c0, h, w))
            arr = self._read(r0, c0, h, w)
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


def _on_disk(name: str) -> str:
    """The file a GDAL dataset name reads: a colour table's expansion (``vrt://FILE?expand=rgb``,
    the engine's ``open_raster``) reads FILE."""
    return name[len("vrt://"):].split("?", 1)[0] if name.startswith("vrt://") else name


class _Shown:
    """A :class:`RasterLevel` as napari's dask arrays read it (its slicing, panning, zooming out):
    once its file is gone (moved, deleted, its disk unmounted) each window is the layer's nodata
    (else 0) and the layer says so once in one line, not with a traceback from napari's slicing; the
    screen already drawn stays. A Run, the live lens and a save read the level itself and say the
    engine's error ("input not found: …")."""

    def __init__(self, level: RasterLevel, name: str, said: list):
        self.level, self.name, self.said = level, name, said  # said: shared by the layer's levels
        self.shape, self.dtype, self.ndim = level.shape, level.dtype, level.ndim

    def __getitem__(self, key) -> np.ndarray:
        from ldcsr_core.errors import RasterIOError

        try:
            arr = self.level[key]
        except RasterIOError as exc:
            if exc.errno != errno.ENOENT:
                raise
            if not self.said:
                self.said.append(self.level.path)
                from .._viewer import notify

                notify("warning", f"'{self.name}': its file is gone ({exc}): open it again to see "
                                  "the parts of the layer not on screen.")
            from ldcsr_core.geo.nodata_masks import nodata_as

            held = nodata_as(self.level.validity.nodata, self.dtype)  # as its nodata pixels hold it
            fill = np.array(0 if held is None else held).astype(self.dtype)
            return np.full(np.broadcast_to(fill, self.shape)[key].shape, fill, self.dtype)
        self.said.clear()  # the file is back: said again if it goes again
        return arr


def should_open_lazily(path: str | os.PathLike) -> bool:
    """True for rasters larger than :data:`LAZY_MIN_PIXELS` (opened with the engine's
    ``open_raster``: a file that is not a usable raster raises its one-line error), but for a file of
    :data:`WHOLE_READ_DRIVERS` only where its pixels (all bands) are over the in-memory limit of a
    result (``NAPARI_LDCSR_STREAM_MB``, :func:`~napari_ldcsr._memory_limit.stream_threshold_bytes`) or
    where :func:`whole_read_peak` plus :data:`WHOLE_READ_HEADROOM` times them are over the memory this machine
    has free."""
    from ldcsr_core.geo.raster_io import open_raster
    from ldcsr_core.host_memory import available_bytes

    from .._memory_limit import stream_threshold_bytes

    with open_raster(path) as src:
        if src.width * src.height <= LAZY_MIN_PIXELS:
            return False
        driver = getattr(src, "source_driver", src.driver)  # a palette's expanded copy: the file's driver
        if driver not in WHOLE_READ_DRIVERS:
            return True
        nbytes = src.width * src.height * src.count * np.dtype(src.dtypes[0]).itemsize
    free = available_bytes()
    return nbytes > stream_threshold_bytes() or (free is not None and (whole_read_peak(driver) + WHOLE_READ_HEADROOM) * nbytes > free)


def whole_read_peak(driver: str) -> float:
    """What reading a file of GDAL ``driver`` whole peaks at, times its pixels (:data:`WHOLE_READ_PEAK`)."""
    return WHOLE_READ_PEAK.get(driver, 2.0)


def lazy_layer_data(path: str | os.PathLike, reads: list | None = None,
                    said_mask: bool = False) -> list[tuple[Any, dict, str]]:
    """napari layer data for a (Geo)TIFF as a lazy multiscale layer (nothing read but metadata).

    RGB(A) rasters give one RGB(A) layer and single-band
    rasters a grey layer; other band counts give one lazy layer per band. Placement and metadata
    are those of the eager reader (``scale``/``translate`` or ``affine`` in ``(-northing,
    easting)``). ``reads`` (a list) collects every window read, all levels together. A mask band
    whose red, green, blue bands make one layer is its alpha, as the eager reader makes it
    (:class:`Validity`'s ``mask_alpha``). ``said_mask`` (a file the user opens): a mask band that
    band layers cannot hold is said in a warning, as the eager reader says it.
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
            validity = Validity.of(src)
    if validity.mask_alpha:  # the mask as the RGBA layer's alpha, its metadata as the eager reader's (mask_as_alpha)
        count, colorinterp, descriptions = count + 1, [*colorinterp, "alpha"], [*descriptions, None]
        values = tuple((*v, one) if v else v for v, one in zip(values, (1.0, 0.0, None)))
        btags = (*btags, {}) if btags else btags
    metadata, band_names, georeferenced = raster_metadata(path, crs, transform, nodata, colorinterp,
                                                          descriptions, tags, values, gcps, rpcs, btags,
                                                          georef=georef, domains=domains)
    metadata["lazy"] = True
    if validity.mask_alpha:  # as the eager reader's: a Save writes the alpha as the mask band it is (_writer)
        metadata["alpha_is_mask"] = True
    name = os.path.splitext(os.path.basename(str(path)))[0]
    if said_mask and validity.mask and not validity.alpha:  # band layers: no alpha to hold it
        from .._viewer import notify

        notify("warning", f"{os.path.basename(str(path))} has a mask band that its big (lazy) layers cannot "
               "hold: they show its masked pixels as data")
    factors = [1]
    while max(H, W) / factors[-1] > TOP_LEVEL_SIDE:
        factors.append(factors[-1] * 2)

    def pyramid(bands: list[int], rgb: bool, shown: str) -> list:
        levels, said = [], []
        for f in factors:
            lvl = RasterLevel(read_path, f, (H, W), bands, dtype, rgb, reads, one_nodata, validity)
            chunks = (CHUNK, CHUNK) + ((len(bands),) if rgb else ())
            arr = da.from_array(_Shown(lvl, shown, said), chunks=chunks, asarray=True, fancy=False, lock=False,
                                name=f"ldcsr-lazy-{id(lvl):x}", meta=np.empty((0,) * lvl.ndim, lvl.dtype))
            _LEVELS[arr.name] = lvl
            lvl.graph_name = arr.name
            try:  # kept by an edit in place, which renames the graph (_lazy_edits.file_level)
                arr.ldcsr_level = lvl
            except AttributeError:  # a dask without an instance dict: its file by name only (window_reader)
                pass
            levels.append(arr)
        return levels

    def layer(bands: list[int], rgb: bool, kwargs: dict) -> tuple[Any, dict, str]:
        levels = pyramid(bands, rgb, kwargs["name"])
        contrast = _LEVELS[levels[-1].name].contrast()  # napari's own would span the nodata too
        return levels, dict(kwargs, contrast_limits=contrast) if contrast else kwargs, "image"

    bound_gdal_cache()
    # napari's dask cache off for these layers: GDAL's (bounded) block cache serves panning back
    base: dict[str, Any] = {"metadata": metadata, "multiscale": True, "cache": False}
    if georeferenced:
        base.update(layer_placement_from_transform(tuple(transform)[:6]))
    if is_rgb(count, dtype, colorinterp):  # its bands shown red, green, blue(, alpha), as the eager reader
        order = rgb_order(count, colorinterp, descriptions)
        return [layer([b + 1 for b in order], True, dict(base, name=name, rgb=True,
                                                          metadata=shown_in_order(metadata, order)))]
    if count == 1:
        return [layer([1], False, dict(base, name=name))]
    return [layer([b], False, dict(base, name=f"{name} [{band_names[b - 1]}]", metadata=dict(metadata, band=b - 1)))
            for b in range(1, count + 1)]
