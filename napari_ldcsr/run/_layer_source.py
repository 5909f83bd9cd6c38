"""A layer as the raster a Run reads, Qt-free (:class:`LayerSource`, :func:`layer_source`): one
image layer, or the band layers of one multi-band file, in the file's band order with the layers'
georeferencing; :func:`is_lazy_file_layer` tells a big GeoTIFF read from its file. ``_job``
re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["LayerSource", "layer_source", "is_lazy_file_layer"]


#: bytes of a run's copy read back a pass to digest it (:meth:`LayerSource.copy_digests`, in the run's worker). A 1 GB
#: uint8 RGB layer (medians of 3, 2 shared cores): 2.4 s in passes of 1 MB, 1.0 s of 16 MB, 1.3 s of 64 MB; its
#: ``pixel_digest`` on the GUI thread as Run was pressed (before 2026-12-07), 0.5 s of a frozen viewer
COPY_PASS_BYTES = 16 * 2**20


def is_lazy_file_layer(layer) -> bool:
    """Whether ``layer`` is a big GeoTIFF the reader opened lazily (multiscale, read from its file)."""
    md = getattr(layer, "metadata", None) or {}
    return bool(getattr(layer, "multiscale", False) and md.get("lazy") and md.get("path"))


@dataclass(frozen=True)
class LayerSource:
    """The pixels of one layer, or of the band layers of one multi-band file, as one raster.

    ``layout`` says how the raster's ``(bands, H, W)`` maps to layers: ``"rgb"`` (one RGB(A)
    layer, bands last), ``"gray"`` (one 2-D layer) or ``"bands"`` (one 2-D layer per band, as the
    reader opens files with other band counts). Georeferencing comes from the layers' metadata
    (the reader's ``transform``, ``crs``, ``nodata``...); plain arrays are taken on a pixel grid.

    The raster is in its file's band order, as ``ldcsr upscale`` reads the file (``colorinterp``,
    ``descriptions`` and a Run's ``bands`` are the file's): ``order`` (0-based) is the file band
    each channel of an RGB layer shows (the reader shows a file stored blue, green, red as red,
    green, blue: its ``metadata["file_bands"]``); :meth:`bands`/:meth:`join` put the layer's
    channels back in file order, :meth:`split` gives results in the layer's.
    """

    layers: tuple
    layout: str
    transform: tuple | None = None
    crs: str | None = None
    nodata: float | None = None
    colorinterp: tuple[str, ...] | None = None
    descriptions: tuple[str | None, ...] | None = None
    name: str = "layer"
    path: str | None = None  # the file the layers were read from (reader metadata), if any
    lazy: bool = False  # read pixels from ``path``, not from the layers (big lazy layers)
    order: tuple[int, ...] | None = None  # rgb: the file band (0-based) of each channel, if not 0, 1, 2...
    provenance: tuple = ()  # the layer's LDCSR_* tags as (key, value) pairs: an LDCSR output in again
    # each layer's data as the run was asked (:meth:`pinned`: what its worker copies, also where a layer is given
    # other pixels meanwhile, which its end then says; :meth:`unpin` once copied); empty: the layers' data now
    pinned_data: tuple | list = field(default=(), compare=False, repr=False)

    def pinned(self) -> LayerSource:
        """This source reading each layer's data as it is now (``layer.data = …`` later: not this run's pixels)."""
        return replace(self, pinned_data=[lyr.data for lyr in self.layers])

    def unpin(self) -> None:
        """Once the run's copy of the layers is made (:meth:`dataset`; as a streamed run starts: it reads their file),
        keep of each pinned NumPy array its size and type alone (a view of one value, no pixels): a layer given
        another array meanwhile frees the old one, as before pinning (a 300 MB layer's stayed in memory to the run's
        end beside the run's copy). The source's size, bands and :meth:`copied` are as they were; a lazy source reads
        its file, not these."""
        from ldcsr_core.pixel_digest import held_array

        if isinstance(self.pinned_data, list) and not self.lazy:
            self.pinned_data[:] = [np.broadcast_to(np.zeros((), a.dtype), a.shape)
                                   if isinstance(held_array(a), np.ndarray) else a for a in self.pinned_data]

    def data(self, i: int = 0):
        """Layer ``i``'s data: as :meth:`pinned`, else now."""
        return self.pinned_data[i] if self.pinned_data else self.layers[i].data

    def _to_file(self, channels: np.ndarray) -> np.ndarray:
        """An RGB layer's ``(channels, h, w)`` in the file's band order."""
        return channels if self.order is None else channels[np.argsort(self.order)]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.data().shape[:2])

    @property
    def count(self) -> int:
        """Number of bands."""
        if self.layout == "rgb":
            return int(self.data().shape[-1])
        return 1 if self.layout == "gray" else len(self.layers)

    def bands(self, window=None, step: int = 1) -> np.ndarray:
        """``(bands, H, W)`` view (rgb/gray) or stack (band layers) of the pixels (``window``
        ``(row_off, col_off, height, width)``: of those alone; ``step``: every step-th row and column of it)."""
        def part(data):  # a lazy layer's multiscale data is indexed by level: its pixels whole, unindexed
            return np.asarray(data if window is None else data[window[0]:window[0] + window[2]:step,
                                                               window[1]:window[1] + window[3]:step])

        if self.layout == "rgb":
            return self._to_file(np.moveaxis(part(self.data()), -1, 0))
        if self.layout == "gray":
            return part(self.data())[np.newaxis]
        return np.stack([part(self.data(i)) for i in range(len(self.layers))])

    def copied(self) -> tuple[bool, ...]:
        """Which layers a run of the layers (:meth:`dataset`: not a lazy source's file) reads from its one copy of
        them exactly as they hold their pixels: NumPy pixels (an xarray's too) whose type the copy keeps (the
        band layers' common type), so :meth:`copy_digests` digests that copy in the run's worker, off the GUI."""
        from ldcsr_core.pixel_digest import held_array

        if self.lazy:
            return (False,) * len(self.layers)
        arrays = [self.data(i) for i in range(len(self.layers))]
        common = np.result_type(*[a.dtype for a in arrays])
        return tuple(isinstance(held_array(a), np.ndarray) and a.dtype == common for a in arrays)

    def copy_digests(self, ds, tick=None) -> tuple:
        """The engine's ``pixel_digest`` of each layer :meth:`copied` as ``ds`` (:meth:`dataset`'s copy, which the
        run reads) holds it (None for the others), read back a few rows at a time (``rows_digest``): exactly the
        pixels the run reads, whatever the layers hold meanwhile (an edit on the GUI thread after the copy is
        then seen at the run's end; one before it is the run's). The copy's own size and bands, not the layers':
        a layer given other pixels meanwhile (RGB made RGBA) is said at the run's end, by its array. ``tick``: called
        between passes (``rows_digest``'s: the run's progress callback, whose Cancel stops it within one pass)."""
        from ldcsr_core.pixel_digest import rows_digest

        H, W = ds.height, ds.width
        shape = (H, W, len(self.order or range(ds.count))) if self.layout == "rgb" else (H, W)

        def rows(i: int):
            return lambda y0, y1: self.read_layer(ds, i, (y0, 0, y1 - y0, W))

        return tuple(rows_digest(shape, self.data(i).dtype, rows(i), COPY_PASS_BYTES, tick) if copied else None
                     for i, copied in enumerate(self.copied()))

    def read_layer(self, ds, i: int, window) -> np.ndarray:
        """Layer ``i``'s pixels of ``window`` ``(row_off, col_off, height, width)`` of ``ds`` (:meth:`dataset`'s
        copy) in the layer's own layout, as :meth:`split` gives them: an RGB layer's channels pixel-interleaved
        in its order (channel c is file band ``order[c]``), read straight into that layout; a 2-D layer's band."""
        from rasterio.windows import Window

        y0, x0, h, w = window
        win = Window(x0, y0, w, h)
        if self.layout != "rgb":
            return ds.read(i + 1, window=win)
        indexes = [b + 1 for b in (self.order or range(ds.count))]
        out = np.empty((h, w, len(indexes)), ds.dtypes[0])
        ds.read(indexes, window=win, out=np.moveaxis(out, -1, 0))
        return out

    def split(self, bands: np.ndarray) -> list[np.ndarray]:
        """``(bands, h, w)`` -> one array per layer, in the layers' layout."""
        if self.layout == "rgb":
            return [np.moveaxis(bands if self.order is None else bands[list(self.order)], 0, -1)]
        return [bands[0]] if self.layout == "gray" else [bands[i] for i in range(bands.shape[0])]

    def join(self, arrays: list) -> np.ndarray:
        """One array per layer (layers' layout) -> ``(bands, h, w)``: the inverse of :meth:`split`."""
        if self.layout == "rgb":
            return self._to_file(np.moveaxis(np.asarray(arrays[0]), -1, 0))
        return np.stack([np.asarray(a) for a in arrays])

    def band_plan(self, bands=None):
        """The band triplets a Run of this raster feeds the model (the engine's
        :func:`~ldcsr_core.geo.band_plan.plan_bands`, as ``SceneReader`` plans the Run's dataset;
        ``bands``: the form's *Bands*): an ``InputError`` for a band it lacks or an alpha band."""
        from ldcsr_core.geo.band_plan import plan_bands

        return plan_bands(self.count, self.colorinterp, bands, self.descriptions or (),
                          "the file" if self.lazy else "the image")  # as the engine says of a layer's array

    def check_nodata(self, nodata, name: str) -> None:
        """An ``InputError`` for the form's ``nodata`` that this raster's bands cannot hold or that
        names a band it lacks (the engine's ``with_nodata`` rule, said of ``name``), before any work."""
        from ldcsr_core.geo.nodata_override import band_nodata

        band_nodata(nodata, self.count, self.data().dtype, name=name)

    def held(self, geo):
        """The engine's ``geo`` of a Run as this source's layers hold it: a lazy RGBA layer's alpha is its file's
        mask, which a Run of the file keeps as a mask (made that alpha again: the engine's ``mask_as_alpha``)."""
        from ldcsr_core.geo.arrays import mask_as_alpha

        return geo if not (self.lazy and geo.count + 1 == self.count) else mask_as_alpha(
            geo if geo.mask is not None else replace(geo, mask=np.full(geo.shape, 255, np.uint8)))

    def dataset(self, window=None, step: int = 1):
        """A rasterio dataset of the pixels (close it when done): the file itself for a lazy
        source, else an in-memory copy of the layers (``window``: of its pixels alone, on no grid,
        for a look at them: :meth:`window_box` is where the window is in it; ``step``: every step-th row and column
        of the window, a decimated look)."""
        from ldcsr_core.geo.raster_io import dataset_from_array, open_raster

        if self.lazy:
            return open_raster(self.path)
        return dataset_from_array(self.bands(window, step), bands_last=False,
                                  transform=self.transform if window is None else None, crs=self.crs,
                                  nodata=self.nodata, colorinterp=self.colorinterp,
                                  descriptions=self.descriptions, tags=dict(self.provenance) or None)

    def window_box(self, window, step: int = 1) -> tuple[int, int, int, int]:
        """Where ``window`` is in :meth:`dataset` of it: the file's window itself (a lazy source), else all of the copy
        (of ``step``: its rows and columns one in ``step``)."""
        return tuple(window) if self.lazy else (0, 0, -(-window[2] // step), -(-window[3] // step))


def _band_group(viewer, layer) -> list | None:
    """The band layers of ``layer``'s file, in band order, if all of them are in the viewer; ``layer``
    is its band's (a copy of a band layer, napari's *Duplicate Layer*, keeps its file's metadata: it is
    that band with its own pixels), the first in the layer list for the other bands."""
    md = layer.metadata or {}
    count = len(md.get("band_names") or ())
    if md.get("band") is None or not md.get("path") or count < 2:
        return None
    group: dict[int, Any] = {int(md["band"]): layer}
    for other in viewer.layers:
        omd = getattr(other, "metadata", None) or {}
        if omd.get("path") == md["path"] and omd.get("band") is not None and not getattr(other, "rgb", True):
            if tuple(other.data.shape) == tuple(layer.data.shape):
                group.setdefault(int(omd["band"]), other)
    if sorted(group) != list(range(count)):
        return None
    return [group[i] for i in range(count)]


def _file_order(md: dict, n: int) -> tuple[int, ...] | None:
    """The file band (0-based) of each of an ``n``-channel RGB layer's channels (the reader's
    ``file_bands``), or None when they are in file order (or the entry is not a permutation)."""
    order = tuple(int(b) - 1 for b in md.get("file_bands") or ())
    return order if sorted(order) == list(range(n)) and order != tuple(range(n)) else None


def layer_source(viewer, layer) -> LayerSource:
    """The raster behind an image layer: the whole band group when ``layer`` is one band of a
    multi-band file whose band layers are all open (the CLI super-resolves all bands together). A lazy
    source is read from its file: a level of it edited in napari is said once not to be used
    (``io._lazy_edits``)."""
    source = _layer_source(viewer, layer)
    if source.lazy:
        from ..io._lazy_edits import say_edits_not_used

        say_edits_not_used(source.layers)
    return source


def _layer_source(viewer, layer) -> LayerSource:
    md = layer.metadata or {}
    geo = {"transform": tuple(md["transform"]) if md.get("transform") is not None else None,
           "crs": md.get("crs"), "nodata": md.get("nodata"), "path": md.get("path"),
           "lazy": is_lazy_file_layer(layer),
           "provenance": tuple((k, v) for k, v in (md.get("tags") or {}).items() if str(k).startswith("LDCSR_"))}
    group = None if layer.rgb else _band_group(viewer, layer)
    if group is not None:
        ci = md.get("colorinterp")
        return LayerSource(tuple(group), "bands", colorinterp=tuple(ci) if ci else None,
                           descriptions=tuple(md.get("band_names") or ()), name=md.get("file_name", layer.name),
                           **geo)
    if layer.rgb:
        n = layer.data.shape[-1]
        ci = tuple(md.get("colorinterp") or ("red", "green", "blue", "alpha")[:n])
        names = tuple(md.get("band_names") or ())
        order = _file_order(md, n)
        if order is not None:  # the reader's per-band lists follow the layer's channels: the file's order
            ci, names = (tuple(v[i] for i in np.argsort(order)) if len(v) == n else v for v in (ci, names))
        return LayerSource((layer,), "rgb", colorinterp=ci, descriptions=names if len(names) == n else None,
                           name=layer.name, order=order, **geo)
    return LayerSource((layer,), "gray", name=layer.name, **geo)
