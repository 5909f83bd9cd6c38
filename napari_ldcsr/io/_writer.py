"""GeoTIFF writer contribution: an image layer with its (possibly SR-scaled) georeferencing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._geometry import transform_from_world_matrix
from .._viewer import LIVE_KEY, SOURCE_FILES_KEY, STREAMING, open_viewers

__all__ = ["write_geotiff", "saved_tags", "write_geotiff_bands", "layer_world_matrix", "full_resolution", "check_savable",
           "check_not_a_source", "BLOCK_BYTES"]

#: A layer is written about this many bytes of rows at a time (whole rows of output blocks).
BLOCK_BYTES = 64 << 20


def saved_tags(md: dict) -> dict[str, str]:
    """The dataset tags Save writes of a layer's metadata ``md``: its file's ``tags`` and, for a layer this
    plugin made, ``LDCSR_PROVENANCE`` (``metadata["ldcsr"]``: how it was made, e.g. a Run's spread)."""
    tags = {k: str(v) for k, v in (md.get("tags") or {}).items()}
    if "ldcsr" in md:
        tags["LDCSR_PROVENANCE"] = json.dumps(md["ldcsr"], default=str)
    return tags


def layer_world_matrix(meta: dict) -> np.ndarray:
    """3x3 data->world matrix of a 2-D layer from its ``scale/translate/rotate/shear/affine``."""
    from napari.utils.transforms import Affine

    ndim = 2
    scale = meta.get("scale")
    translate = meta.get("translate")
    data2physical = Affine(
        scale=np.ones(ndim) if scale is None else np.asarray(scale, dtype=float)[-ndim:],
        translate=np.zeros(ndim) if translate is None else np.asarray(translate, dtype=float)[-ndim:],
        rotate=_last_block(meta.get("rotate"), ndim),
        shear=_last_shear(meta.get("shear"), ndim),
        ndim=ndim,
    )
    matrix = data2physical.affine_matrix
    affine = meta.get("affine")
    if affine is not None:
        a = np.asarray(getattr(affine, "affine_matrix", affine), dtype=float)
        a = _last_block(a, ndim + 1, homogeneous=True)
        matrix = a @ matrix
    return matrix


def _last_block(m: Any, ndim: int, homogeneous: bool = False) -> np.ndarray | None:
    if m is None:
        return None
    m = np.asarray(m, dtype=float)
    if m.ndim == 0:  # rotation angle in degrees
        return m  # type: ignore[return-value]
    if m.shape[0] > ndim:
        if homogeneous:
            keep = list(range(m.shape[0] - ndim, m.shape[0]))
            m = m[np.ix_(keep, keep)]
        else:
            m = m[-ndim:, -ndim:]
    return m


def _last_shear(shear: Any, ndim: int) -> np.ndarray | None:
    if shear is None:
        return None
    s = np.asarray(shear, dtype=float)
    if s.ndim == 2:
        return s[-ndim:, -ndim:]
    return s[-1:] if s.size >= 1 else s


def full_resolution(data: Any) -> Any:
    """Level 0 of a multiscale layer's data, else ``data``: napari hands a writer a
    ``MultiScaleData`` (``np.asarray`` of it is the *coarsest* level) or a list of levels."""
    from collections.abc import Sequence

    return data[0] if isinstance(data, Sequence) and not isinstance(data, str) else data


def _files_behind(name: str, md: dict, source_path=None) -> list[tuple[str, str]]:
    """``(file, what it is)`` for each file behind a layer ``name`` with metadata ``md``: the file
    it was read from (this plugin's ``metadata["path"]``, napari's ``source.path`` for any reader)
    and, for a layer made from others (a result, a kept view, an error map), theirs."""
    read = [(str(p), f"the source file of the open layer '{name}'")
            for p in dict.fromkeys((md.get("path"), source_path)) if p]
    return read + [(str(p), f"the input '{name}' was made from") for p in md.get(SOURCE_FILES_KEY, ()) if p]


def open_layer_sources() -> list[tuple[str, str]]:
    """``(file, what it is)`` for each file behind a layer of every open viewer (:func:`_files_behind`),
    and each file a Run is streaming its result to (saved there, the run would find its name taken
    at its end and lose its result)."""
    return [f for viewer in open_viewers() for layer in viewer.layers
            for f in _files_behind(layer.name, getattr(layer, "metadata", None) or {},
                                   getattr(getattr(layer, "source", None), "path", None))] + \
        [(p, "the file a Run is streaming its result to") for p in sorted(STREAMING)]


def check_not_a_source(path: str, meta: dict) -> None:
    """:class:`~ldcsr_core.errors.OutputExistsError` when ``path`` is a file behind the layer being
    saved or behind any open layer (:func:`_files_behind`), or a file GDAL reads with one (a VRT's sources), or when
    the save would remove one as its sidecar (:func:`ldcsr_core.geo.pipeline.removed_input`, the CLI's rule):
    replacing it would change or break that layer (a lazy layer reads its pixels from the file as it is drawn) or
    overwrite a result's input, also when its source layer was closed."""
    import errno

    from ldcsr_core.errors import OutputExistsError
    from ldcsr_core.geo.pipeline import removed_input
    from ldcsr_core.files import file_keys

    behind = _files_behind(str(meta.get("name") or "this layer"), meta.get("metadata") or {}) + open_layer_sources()
    behind += [(f, f"a file {os.path.basename(src)} reads, {what}") for src, what in behind if src not in STREAMING
               for f in _read_with(src)]
    # each looked at once (same_file's keys), as the CLI's check_not_read: a VRT of 1000 sources was compared again for
    # the name and each of its sidecars (0.8-3.7 s on the GUI's thread at each Save)
    keyed = [(file_keys(src), what) for src, what in behind]

    def among(found):
        return next(((c, what) for c in found for k in [file_keys(c)] for keys, what in keyed if k & keys), None)

    hit = among([path])
    if hit:
        raise OutputExistsError(errno.EEXIST, f"not saved: {path} is {hit[1]}; choose another name")
    words = removed_input(path, among, [(Path(src), what) for src, what in behind])
    if words:
        raise OutputExistsError(errno.EEXIST, f"not saved: {words}")


def _read_with(path: str) -> list[str]:
    """The other files GDAL reads with the raster at ``path`` (a VRT's sources, a mask or ``.aux.xml`` sidecar);
    none where it cannot be opened."""
    from ldcsr_core.geo.raster_io import files_read_at

    return [str(f) for f, what in files_read_at(path) if what != "the input"]


def check_savable(meta: dict) -> None:
    """ValueError when the layer ``meta`` holds no pixels to save as data: the live lens's own layer
    (display colours of a moving window of another layer) or a Run's result still being computed
    (nearest-neighbour placeholders and unblended tile previews until the run ends). napari selects
    a Run's result layer as it appears, so Save pressed during the run would write those."""
    md, name = meta.get("metadata") or {}, str(meta.get("name") or "this layer")
    if md.get(LIVE_KEY):
        raise ValueError(f"'{name}' is the live lens's view of another layer (display colours); press Keep "
                         "to add the view as a result layer, and save that")
    if (md.get("ldcsr") or {}).get("status") == "running":
        raise ValueError(f"'{name}' is still being computed (its tiles are previews until the run ends); "
                         "save it when the run has finished")


def write_geotiff(path: str, data: Any, meta: dict) -> list[str]:
    """Write an image layer to a GeoTIFF; returns ``[path]``.

    RGB(A) layers become 3/4-band rasters, 2-D layers one band, in the layer's dtype. A multiscale
    layer is written at full resolution (level 0); a lazy one (a big GeoTIFF, a streamed result)
    is read and written :data:`BLOCK_BYTES` at a time, never whole. When the layer's metadata has
    a ``crs`` (e.g. it came from the GeoTIFF reader, or is an LDCSR result of such a layer),
    the transform is derived from the layer's current placement, so a super-resolved layer is
    written with its finer pixel size; the CRS, nodata, band names, tags and LDCSR provenance are
    kept. The file is written by ``ldcsr_core.geo.raster_io.GeoTiffWriter``: tiled, compressed and
    atomic (a temporary file renamed into place when complete). The source file of an open layer
    is never replaced (:func:`check_not_a_source`), nor a file another run (a command line, another
    viewer) is making now (the writer's ``claim``: ``OutputBusy``).
    """
    from ._lazy import window_reader

    check_savable(meta)
    check_not_a_source(path, meta)
    level = window_reader(full_resolution(data))
    shape, rgb = tuple(level.shape), bool(meta.get("rgb", False))
    if rgb or (len(shape) == 3 and shape[-1] in (3, 4) and meta.get("rgb") is None):
        count, rgb = shape[-1], True
    elif len(shape) == 2:
        count, rgb = 1, False
    else:
        raise ValueError(f"GeoTIFF writer takes 2-D or RGB(A) image layers; got data of shape {shape}")

    def bands(y0: int, y1: int) -> np.ndarray:
        """Rows ``y0:y1`` of the layer as ``(bands, rows, W)``."""
        rows = np.asarray(level[y0:y1])
        return np.moveaxis(rows, -1, 0) if rgb else rows[np.newaxis]

    md = dict(meta.get("metadata") or {})
    names = md.get("band_names")
    if md.get("band") is not None and names:  # one band of a multi-band file
        names = [names[int(md["band"])]]
    # an alpha that is its file's mask band (the readers' ``alpha_is_mask``): written as that mask, as
    # `ldcsr upscale` writes the file's (raster_io.write_raster: the bands and a mask band)
    mask_last = rgb and count == 4 and bool(md.get("alpha_is_mask"))
    count -= mask_last
    names = names[:count] if mask_last and names else names  # the alpha's name goes with it
    colorinterp = ("red", "green", "blue", "alpha")[:count] if rgb else None
    if colorinterp is None and md.get("colorinterp") and len(md["colorinterp"]) == count:
        colorinterp = tuple(md["colorinterp"])
    _write(path, bands, shape[:2], meta, md.get("nodata"), names, colorinterp,
           [_band_values(md, i) for i in range(count)], mask_last=mask_last)
    return [path]


def _band_values(md: dict, i: int) -> tuple:
    """``(scale, offset, unit, tags)`` of band ``i`` of a layer (of its file's band ``metadata["band"]``
    for a band layer), from the reader's ``scales``/``offsets``/``band_units``/``band_tags``."""
    b = int(md["band"]) if md.get("band") is not None else i
    return tuple(values[b] if b < len(values := md.get(key) or []) else default
                 for key, default in (("scales", 1.0), ("offsets", 0.0), ("band_units", None), ("band_tags", {})))


def write_geotiff_bands(path: str, layer_data: list) -> list[str]:
    """Write several 2-D image layers that lie over each other (e.g. the band layers of a
    multi-band file, or their LDCSR results) as the bands of one GeoTIFF; returns ``[path]``.

    ``layer_data`` holds napari's ``(data, meta, layer_type)`` tuples. Bands are in the order of
    the layers' ``metadata["band"]`` when every layer has one, else in the given order; band names
    are the file's band names, else the layer names. The layers must have the same shape,
    placement and CRS (else ``ValueError``); their dtypes are promoted to a common one. Written as
    :func:`write_geotiff` writes one layer (georeferencing from the first layer's placement)."""
    from ._lazy import window_reader

    if len(layer_data) < 2:
        raise ValueError("saving bands as one GeoTIFF takes two or more image layers")
    items = [(d, m) for d, m, _ in layer_data]
    if all((m.get("metadata") or {}).get("band") is not None for _, m in items):
        items.sort(key=lambda dm: int(dm[1]["metadata"]["band"]))
    for _, m in items:
        check_savable(m)
        check_not_a_source(path, m)
    levels = [window_reader(full_resolution(d)) for d, _ in items]
    what = ", ".join(repr(str(m.get("name", "?"))) for _, m in items)
    if any(m.get("rgb") or len(lv.shape) != 2 for lv, (_, m) in zip(levels, items)):
        raise ValueError(f"only 2-D (single-band) layers can be saved as the bands of one GeoTIFF: {what}")
    if len({tuple(lv.shape) for lv in levels}) > 1:
        raise ValueError(f"the layers {what} have different sizes; only layers of one size can be the "
                         "bands of one GeoTIFF")
    first = items[0][1]
    if any(not np.allclose(layer_world_matrix(m), layer_world_matrix(first)) for _, m in items[1:]):
        raise ValueError(f"the layers {what} do not lie over each other (different scale, position or "
                         "rotation); only layers that overlay exactly can be the bands of one GeoTIFF")
    crss = {(m.get("metadata") or {}).get("crs") for _, m in items}
    if len(crss) > 1:
        raise ValueError(f"the layers {what} have different coordinate reference systems")
    dtype = np.result_type(*[lv.dtype for lv in levels])

    def bands(y0: int, y1: int) -> np.ndarray:
        return np.stack([np.asarray(lv[y0:y1]).astype(dtype, copy=False) for lv in levels])

    mds = [m.get("metadata") or {} for _, m in items]
    names = []
    for md, (_, m) in zip(mds, items):
        file_names, band = md.get("band_names"), md.get("band")
        names.append(file_names[int(band)] if file_names and band is not None and int(band) < len(file_names)
                     else str(m.get("name") or f"band {len(names) + 1}"))
    _write(path, bands, tuple(levels[0].shape), first, _one_nodata(mds, [m for _, m in items], dtype), names, None,
           [_band_values(md, 0) for md in mds])  # each layer is one band: its file's band, else its own
    return [path]


def _one_nodata(mds: list[dict], metas: list[dict], dtype) -> float | None:
    """The nodata value all the layers would write as bands of ``dtype`` (the engine's
    ``output_nodata``: a float band without one writes NaN, so none beside NaN is one value), which
    the one GeoTIFF's bands take; ValueError when they differ (one value would mark another layer's
    data pixels as nodata, or none its nodata pixels as data)."""
    from ldcsr_core.geo.nodata_masks import output_nodata

    values = [output_nodata(md.get("nodata"), dtype) for md in mds]

    def same(a, b) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return bool(a == b or (np.isnan(a) and np.isnan(b)))

    if all(same(values[0], v) for v in values[1:]):
        return values[0]
    said = ", ".join(f"'{m.get('name', '?')}' {'none' if v is None else v}" for v, m in zip(values, metas))
    raise ValueError(f"the layers have different nodata values ({said}); the bands of one GeoTIFF share one "
                     "nodata value: save these layers one by one")


def _gcps(md: dict):
    """``(GroundControlPoints, CRS)`` from a layer's ``metadata["gcps"]`` (a raster placed by GCPs
    only; a result's are on its own pixel grid), or None."""
    if not md.get("gcps"):
        return None
    from ldcsr_core.geo.georef import gcps_crs
    from rasterio.control import GroundControlPoint

    return ([GroundControlPoint(row=r, col=c, x=x, y=y, z=z) for r, c, x, y, z in md["gcps"]],
            gcps_crs(md.get("gcps_crs")))


def _make_folder(folder: str) -> list[str]:
    """Make ``folder`` (and its parents) for a save; a RasterIOError in words when it cannot be made
    (os.makedirs says '[Errno 17] File exists' when a part of the name is a file), or when a name its disk cannot
    hold or a Windows device's (``NUL``) is to be made (the engine's rule for the file's own name,
    ``check_name_length``). Returns the folders it made, innermost first, for :func:`_remove_folders` if the write
    then fails."""
    import errno

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.file_names import check_name_length

    made, p = [], os.path.abspath(folder)
    while not os.path.lexists(p) and os.path.dirname(p) != p:
        made.append(p)
        p = os.path.dirname(p)
    for p in reversed(made):
        check_name_length(p, "folder")
    try:
        os.makedirs(folder, exist_ok=True)
        return made
    except OSError as e:
        part = next((p for p in [folder, *map(str, Path(folder).parents)]
                     if os.path.lexists(p) and not os.path.isdir(p)), None)
        if part is not None:
            raise RasterIOError(errno.ENOTDIR, f"cannot save in {folder}: {part} is a file, not a folder") from None
        raise RasterIOError(e.errno, f"cannot make the folder {folder}: {e.strerror or e}") from None


def _remove_folders(made: list[str]) -> None:
    """Remove the folders a failed save made (innermost first), each only while empty: nothing
    else is touched (a file put there meanwhile keeps its folder)."""
    for folder in made:
        try:
            os.rmdir(folder)
        except OSError:
            return


def _write(path: str, bands, hw: tuple[int, int], meta: dict, nodata, names, colorinterp, values,
           mask_last: bool = False) -> None:
    """Write ``bands(y0, y1)`` (``(count, rows, W)`` for output rows ``y0:y1``) of an ``hw`` image
    placed as the layer ``meta`` is, a block of rows at a time, atomically; ``values`` holds each
    band's ``(scale, offset, unit, tags)``. ``mask_last``: the last band is written as the mask
    (``arrays.mask_of_alpha``: the alpha a file's mask band was read as), the others as the bands."""
    from affine import Affine
    from ldcsr_core.geo.arrays import mask_of_alpha
    from ldcsr_core.geo.raster_io import GeoTiffWriter, dataset_from_array, output_profile, quiet_georef
    from rasterio.windows import Window

    def rows(y0: int, y1: int) -> np.ndarray:
        block = bands(y0, y1)
        return block.astype(np.uint8) if block.dtype == np.bool_ else block

    def colours(block: np.ndarray) -> np.ndarray:
        return block[:-1] if mask_last else block

    md = dict(meta.get("metadata") or {})
    crs = md.get("crs")
    matrix = layer_world_matrix(meta)
    gcps = _gcps(md) if crs is None and md.get("transform") is None else None
    # no geotransform (the reader's transform None, beside a CRS or not; what was made of a picture
    # placed by nothing, ``derived_metadata``): none written, as `ldcsr upscale` writes none, whatever
    # the layer's placement in the viewer (a result's finer grid is no georeferencing)
    unplaced = gcps is None and "transform" in md and md["transform"] is None
    placed = gcps is None and not unplaced and (crs is not None or not np.allclose(matrix, np.eye(3)))
    transform = Affine(*transform_from_world_matrix(matrix)) if placed else Affine.identity()
    tags = saved_tags(md)
    if "credit" in md:
        tags["CREDIT"] = str(md["credit"])
    H, W = hw
    head_rows = colours(rows(0, 1))
    count = head_rows.shape[0]
    made = _make_folder(os.path.dirname(os.path.abspath(path)) or ".")
    try:
        # The first row carries the bands' dtype, nodata, names and colours for the output's profile.
        with dataset_from_array(head_rows, bands_last=False, transform=transform, crs=crs, nodata=nodata,
                                colorinterp=colorinterp,
                                descriptions=tuple(str(n) for n in names) if names and len(names) == count else None,
                                domains=md.get("domains"),
                                **dict(zip(("scales", "offsets", "units", "band_tags"), map(tuple, zip(*values))))) as head:
            profile = output_profile(head, (H, W))
            if "transform" in profile:
                profile["transform"] = transform
            if gcps is not None:  # already on this layer's pixel grid (not the one-row head's)
                profile.pop("transform", None)
                profile["gcps"], profile["crs"] = gcps
            if md.get("rpcs"):  # a satellite image's, on this layer's pixel grid
                from rasterio.rpc import RPC

                profile["rpcs"] = RPC(**md["rpcs"])
            step = profile["blockysize"] * max(1, BLOCK_BYTES // (profile["blockysize"] * W * count
                                                                 * np.dtype(profile["dtype"]).itemsize))
            with quiet_georef(), GeoTiffWriter(path, profile, src=head, tags=tags, overwrite=True,
                                               claim=True) as gw:
                for y0 in range(0, H, step):
                    block = rows(y0, min(y0 + step, H))
                    win = Window(0, y0, W, block.shape[1])
                    gw.write(colours(block), win)
                    if mask_last:
                        gw.write_mask(mask_of_alpha(block[-1]), win)
    except BaseException:  # a failed save leaves no folder it made (the writer leaves no file)
        _remove_folders(made)
        raise
