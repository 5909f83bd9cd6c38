"""Raster reader contribution: georeferenced layers that line up in CRS units.

It claims the files ``ldcsr upscale`` reads (named as the engine's ``RASTER_SUFFIXES``: GeoTIFF, VRT,
ERDAS ``.img``, JPEG 2000, JPEG/PNG with a world file) that rasterio opens, and reads them with
``ldcsr_core.geo.raster_io.read_raster`` (the CLI's raster I/O), so the layer holds exactly the values
the CLI reads: no stretch, nodata and NaN kept as they are.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._geometry import layer_placement_from_transform
from ._raster_layers import (LayerData, _alpha_holds_mask, band_contrasts, in_layer_order, is_rgb,  # noqa: F401
                             mask_is_alpha, raster_metadata, rgb_order, shown_in_order)

__all__ = ["napari_get_reader", "read_geotiff", "layer_data_from_geotiff", "mask_is_alpha", "unopened"]


def napari_get_reader(path: str | list[str]) -> Callable[[str | list[str]], list[LayerData]] | None:
    """Return :func:`read_geotiff` for raster files the engine reads (named as ``ldcsr upscale`` reads a
    folder's: ``raster_io.is_raster_name``) that it can open; None otherwise, so that napari tries its
    other readers: another name, or a file rasterio cannot open (:func:`unopened`: not a raster, empty,
    gone). A raster the engine refuses (complex bands, a container of subdatasets) is claimed: reading it
    says why in the engine's words."""
    from ldcsr_core.geo.raster_io import is_raster_name

    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths or not all(is_raster_name(Path(p), check_file=False) for p in paths):
        return None
    if any(unopened(p) for p in paths):
        return None
    return read_geotiff


def unopened(path) -> str | None:
    """Why ``path`` cannot be opened as a raster, in the engine's words (``open_raster``'s
    :class:`~ldcsr_core.errors.RasterIOError`: 'input is an empty file (0 bytes): …', '… cannot read … as a
    raster (not a raster, …)'), or None when it can (the raster itself may still be refused)."""
    from ldcsr_core.errors import RasterIOError, one_line
    from ldcsr_core.geo.raster_io import open_raster

    try:
        open_raster(path).close()
    except RasterIOError as exc:
        return one_line(exc)
    except Exception:  # noqa: BLE001 - an InputError (WideNodataError, a refused raster): opened, the read says it
        return None
    return None


def read_geotiff(path: str | list[str]) -> list[LayerData]:
    """Read one or more raster files (GeoTIFF, VRT, ``.img``, …) into napari layer data tuples."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    from ldcsr_core.geo.nodata_override import WideNodataError

    layers: list[LayerData] = []
    for p in paths:
        # issue 10 hook: big rasters open as lazy multiscale layers (napari_ldcsr/io/_lazy.py)
        from ._lazy import lazy_layer_data, should_open_lazily

        try:
            lazy = should_open_lazily(p)
        except WideNodataError:  # read whole, as 32-bit bands (layer_data_from_geotiff)
            lazy = False
        read = lazy_layer_data(p, said_mask=True) if lazy else layer_data_from_geotiff(p)
        _say_if_made_by_ldcsr(p, read)
        _say_if_pages(p)
        layers.extend(read)
    return layers


def _say_if_pages(path) -> None:
    """A TIFF of several full-size images (pages) says that its first alone is opened, in the
    engine's words (``ldcsr upscale`` warns so; a Run of the layer cannot, it has the first only).
    A raster whose geotransform is singular (``ldcsr upscale`` refuses it: the engine's
    ``georef.singular_refusal``) says that its layer is shown unplaced."""
    from ldcsr_core.geo.georef import singular_refusal
    from ldcsr_core.geo.nodata_override import NO_NODATA, WideNodataError
    from ldcsr_core.geo.raster_io import georeferencing, open_raster
    from ldcsr_core.geo.tile_run import pages_note

    from .._viewer import notify

    name = os.path.basename(str(path))
    try:
        src = open_raster(path)
    except WideNodataError:  # a 64-bit nodata float64 cannot hold: opened as 32-bit bands (read_narrowed)
        src = open_raster(path, nodata=NO_NODATA)
    with src:
        note = pages_note(src, name)
        singular = singular_refusal(name, src.transform) if georeferencing(src) == "singular" else None
    if note:
        notify("warning", note.replace("read and super-resolved", "opened"))
    if singular:
        notify("warning", singular.split(": it places no grid")[0] + ": it places no grid, so the layer is "
               "shown unplaced, on its pixel grid")


def _say_if_made_by_ldcsr(path, read: list[LayerData]) -> None:
    """A file LDCSR made says so when it is opened (its pixels are not measurements): a warning
    with what its tags say (``ldcsr info``'s provenance line); the tags stay in the metadata."""
    from ldcsr_core.geo.job import provenance_summary

    from .._viewer import notify

    md = read[0][1].get("metadata") if read else None
    md = md[0] if isinstance(md, list) else md
    made = provenance_summary((md or {}).get("tags") or {})
    if made:
        notify("warning", f"{os.path.basename(str(path))}: {made}")


def layer_data_from_geotiff(path: str | os.PathLike) -> list[LayerData]:
    """Layer data for one (Geo)TIFF.

    * ``rgb=True`` (H x W x 3/4) for RGB(A) rasters, their bands shown red, green, blue(, alpha)
      (:func:`~._raster_layers.rgb_order`: a file stored blue, green, red is shown the right way
      round, its per-band metadata in the layer's order and ``file_bands`` saying which file band
      each channel is), one 2-D layer for single-band rasters,
      and ``channel_axis=0`` (one layer per band, ``metadata["band"]`` = its 0-based index)
      otherwise; the widget super-resolves such band layers together, as the CLI does;
    * ``scale`` = pixel size and ``translate`` = centre of the first pixel, in
      ``(-northing, easting)`` CRS units (an ``affine`` for rotated rasters), so that the
      layer's world extent is the raster's bounds;
    * ``metadata`` keeps ``crs`` (WKT), ``crs_name``, ``transform`` (6 GDAL/rasterio
      coefficients), ``nodata``, ``band_names``, ``colorinterp``, ``units``, ``pixel_size``,
      ``tags`` and ``path`` (and the bands' ``scales``, ``offsets``, ``band_units`` if set, and
      the ``gcps`` of a raster placed by ground control points only, the ``rpcs`` of a satellite
      image);
    * a 64-bit integer raster whose nodata float64 cannot hold (2^64 - 1, -2^63), which the engine
      refuses as it is, is read as the 32-bit bands converting it makes, with a warning that says
      so (the engine's ``wide_nodata.read_narrowed``: its nodata pixels are the layer's nodata); one
      above :data:`~._lazy.LAZY_MIN_PIXELS`, which cannot be opened lazily, is refused before any
      pixel is read, saying how to convert it.
    """
    from ldcsr_core.geo.nodata_override import WideNodataError
    from ldcsr_core.geo.raster_io import georeferencing, open_raster, read_raster
    from ldcsr_core.geo.wide_nodata import read_narrowed
    from ldcsr_core.pixel_digest import pixel_digest

    from .._viewer import FILE_PIXELS

    from .._viewer import notify

    try:
        with open_raster(path) as src:
            georef = georeferencing(src)
            geo = read_raster(src)
    except WideNodataError:  # read whole as 32-bit bands; one too big to read whole is refused (not lazily openable)
        from . import _lazy

        geo, georef, note = read_narrowed(path, max_pixels=_lazy.LAZY_MIN_PIXELS)
        notify("warning", note)
    geo, read = _mask_kept(geo, path), geo
    data = geo.data
    count, dtype = data.shape[0], data.dtype.name
    colorinterp = list(geo.colorinterp)
    metadata, band_names, georeferenced = raster_metadata(
        path, geo.crs, geo.transform, geo.nodata, colorinterp, geo.descriptions, geo.tags,
        (geo.scales, geo.offsets, geo.units), geo.gcps, geo.rpcs, geo.band_tags, georef=georef,
        domains=geo.domains)
    if geo is not read:  # its alpha is the file's mask band: a Save writes it as one (_writer)
        metadata["alpha_is_mask"] = True
    transform = geo.transform
    name = os.path.splitext(os.path.basename(str(path)))[0]
    kwargs: dict[str, Any] = {"name": name, "metadata": metadata}
    if georeferenced:
        kwargs.update(layer_placement_from_transform(tuple(transform)[:6]))
    valid_of = _valid_rows(geo, colorinterp)
    rgb = is_rgb(count, dtype, colorinterp)
    # an RGBA layer's limits stretch its colours alone (napari shows alpha as a fraction of the type's maximum)
    colours = [i for i, c in enumerate(colorinterp) if c != "alpha"] if rgb else None
    contrasts = band_contrasts(data, valid_of, colours) if valid_of is not None else None
    if rgb:
        order = rgb_order(count, colorinterp, geo.descriptions)
        kwargs.update(rgb=True, metadata=shown_in_order(metadata, order))
        if contrasts and contrasts[-1]:  # all bands together
            kwargs["contrast_limits"] = contrasts[-1]
        layer = in_layer_order(data, order)  # its pixels once, not a reordered copy
        kwargs["metadata"] = dict(kwargs["metadata"], **{FILE_PIXELS: pixel_digest(layer)})
        return [(layer, kwargs, "image")]
    if contrasts:
        contrasts = contrasts[:-1]
        if all(contrasts):
            kwargs["contrast_limits"] = contrasts[0] if count == 1 else contrasts
    if count == 1:
        kwargs["metadata"] = dict(metadata, **{FILE_PIXELS: pixel_digest(data[0])})
        return [(data[0], kwargs, "image")]
    kwargs["channel_axis"] = 0
    kwargs["name"] = [f"{name} [{b}]" for b in band_names]
    kwargs["metadata"] = [dict(metadata, band=i, **{FILE_PIXELS: pixel_digest(data[i])}) for i in range(count)]
    return [(data, kwargs, "image")]


def _mask_kept(geo, path):
    """``geo`` whose file has a per-dataset mask (an internal mask band: a COG's, an orthophoto's)
    with that mask as its alpha band when that makes it one RGBA layer (the engine's ``mask_as_alpha``),
    so its masked pixels are shown transparent and a Run and a Save keep them out as ``ldcsr upscale``
    does. Other layers cannot hold it: a warning says their masked pixels are taken as data."""
    from ldcsr_core.geo.arrays import mask_as_alpha

    from .._viewer import notify

    if geo.mask is None or "alpha" in geo.colorinterp:
        return geo
    if _alpha_holds_mask(geo.count, geo.data.dtype.name, list(geo.colorinterp)):
        return mask_as_alpha(geo)
    masked = int(np.count_nonzero(np.asarray(geo.mask) == 0))
    if masked:
        notify("warning", f"{os.path.basename(str(path))} has a mask band ({masked} pixels masked) that its "
               "layers cannot hold: they show, and a Run computes, those pixels as data; super-resolve it "
               "with ldcsr upscale, which keeps the mask")
    return geo


def _valid_rows(geo, colorinterp) -> Callable[[int, int], np.ndarray] | None:
    """Which pixels of rows ``r0:r1`` of ``geo`` are valid (the engine's ``valid_mask``), as a
    function of ``(r0, r1)``, where a declared nodata value, an alpha band or a mask may make some
    invalid, for the layer's contrast limits (:func:`~._raster_layers.band_contrasts`, a few rows at
    a time); None otherwise (napari's own range skips NaN)."""
    from ldcsr_core.geo.nodata_masks import valid_mask

    alpha = [i for i, c in enumerate(colorinterp) if c == "alpha"]
    nodata = geo.nodata if geo.nodata is not None and not np.isnan(geo.nodata) else None
    if geo.data.dtype == np.uint8 or (nodata is None and not alpha and geo.mask is None):
        return None
    mask = geo.mask
    return lambda r0, r1: valid_mask(geo.data[:, r0:r1], nodata, alpha=alpha,
                                     dataset_mask=None if mask is None else mask[r0:r1])
