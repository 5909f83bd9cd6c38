"""What the eager reader (``_reader``) and the lazy one (``_lazy``) share: the layer-data type,
the RGB rule and a raster's layer metadata (Qt-free).

Both readers import this module and ``_lazy`` never imports ``_reader`` (``_reader`` picks the
lazy path for big rasters), so the two do not import each other.
"""

from __future__ import annotations

import os
from typing import Any

from ldcsr_core.geo.band_plan import band_names as rad_band_names
from ldcsr_core.geo.georef import crs_units
from ldcsr_core.geo.raster_io import pixel_size

__all__ = ["LayerData", "mask_is_alpha", "is_rgb", "rgb_order", "shown_in_order", "raster_metadata", "valid_contrast",
           "band_contrasts"]

LayerData = tuple[Any, dict, str]


def is_rgb(count: int, dtype: str, colorinterp: list[str]) -> bool:
    """One RGB(A) layer: 3 bands that are red, green and blue in any order (shown in :func:`rgb_order`),
    or any 3 uint8 bands, or such bands and a 4th that the file says is alpha (a 4th band that is not,
    e.g. NIR, is not shown as alpha; an alpha among the 3 is not shown as a colour)."""
    ci = [c.lower() for c in colorinterp]
    if count not in (3, 4) or (count == 4 and ci[3:] != ["alpha"]) or "alpha" in ci[:3]:
        return False
    return sorted(ci[:3]) == ["blue", "green", "red"] or dtype == "uint8"


def rgb_order(count: int, colorinterp: list[str], descriptions=()) -> tuple[int, ...]:
    """The file's bands (0-based) in the order one RGB(A) layer shows them: the engine's default
    triplet (``ldcsr_core.geo.radiometry.default_triplet``, the bands a Run feeds the model as red,
    green, blue: a file stored blue, green, red is shown red, green, blue), then the alpha band."""
    from ldcsr_core.geo.radiometry import default_triplet

    triplet = default_triplet(count, colorinterp, descriptions)[0]
    if sorted(triplet) != [0, 1, 2]:
        return tuple(range(count))
    return tuple(triplet) + tuple(range(3, count))


#: Pixels (all bands together) whose validity :func:`band_contrasts` measures at once: a few hundred
#: kB, held in cache (faster than the whole scene at once) instead of a mask of the whole scene
CONTRAST_PIXELS = 2**18


def rows_at_once(count: int, w: int) -> int:
    """Rows of a ``count``-band raster ``w`` pixels wide that hold :data:`CONTRAST_PIXELS` (at least one)."""
    return max(1, CONTRAST_PIXELS // max(1, count * w))


def in_layer_order(data, order):
    """``data`` (bands, h, w) as one RGB(A) layer's ``(h, w, bands)``, its bands in ``order``
    (:func:`rgb_order`): a view of ``data`` whose bands are put in that order in place, a few rows at a
    time (:func:`rows_at_once`), so that a whole read holds its pixels once, not them and a reordered
    copy. Read-only ``data`` is copied."""
    import numpy as np

    order = list(order)
    if order != list(range(len(order))):
        if not data.flags.writeable:
            data = data[order]
        else:
            step = rows_at_once(data.shape[0], data.shape[2])
            for r0 in range(0, data.shape[1], step):
                rows = data[:, r0:r0 + step]
                rows[...] = rows[order]
    return np.moveaxis(data, 0, -1)


def _valid_range(values, valid) -> tuple[float, float] | None:
    """(min, max) of ``values``' valid finite pixels; None if there is none."""
    import numpy as np

    v = values[valid]
    if v.dtype.kind == "f":
        v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else None


def _limits(ranges) -> list[float] | None:
    """napari's contrast limits over the pixels whose parts' (min, max) are ``ranges`` (None: no
    valid pixel in that part): their min … max (one value ``v``: ``min(v, 0) … max(v, 1)``, napari's rule)."""
    ranges = [r for r in ranges if r is not None]
    if not ranges:
        return None
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return [lo, hi] if lo < hi else [min(lo, 0.0), max(hi, 1.0)]


def valid_contrast(values, valid) -> list[float] | None:
    """napari's contrast limits of a layer over its ``valid`` pixels alone (napari's own span its
    nodata too: -9999 … 999 on a scene of 100 … 999): their min … max (one value ``v``:
    ``min(v, 0) … max(v, 1)``, napari's rule); None for uint8 (napari shows 0 … 255) or no valid pixel."""
    import numpy as np

    return None if values.dtype == np.uint8 else _limits([_valid_range(values, valid)])


def band_contrasts(values, valid_of, together=None) -> list[list[float] | None]:
    """:func:`valid_contrast` of each band of ``values`` (bands, h, w), then of the bands ``together``
    (indices; None: all) as one, measured a few rows at a time (:data:`CONTRAST_PIXELS`): ``valid_of(r0,
    r1)`` = the validity of rows ``r0:r1`` (bands, r1 - r0, w). The same limits as over the whole
    scene, without its mask or a copy of its valid pixels."""
    import numpy as np

    count, h, w = values.shape
    if values.dtype == np.uint8:
        return [None] * (count + 1)
    step = rows_at_once(count, w)
    ranges: list[tuple[float, float] | None] = [None] * count
    for r0 in range(0, h, step):
        valid = valid_of(r0, min(h, r0 + step))
        for b, r in enumerate(ranges):
            part = _valid_range(values[b, r0:r0 + step], valid[b])
            if part is not None:
                ranges[b] = part if r is None else (min(r[0], part[0]), max(r[1], part[1]))
    return [_limits([r]) for r in ranges] + [_limits(ranges if together is None else [ranges[b] for b in together])]


#: Per-band metadata lists, one entry per band of the layer (per file band for band layers).
BAND_KEYS = ("band_names", "colorinterp", "scales", "offsets", "band_units", "band_tags")


def shown_in_order(metadata: dict, order: tuple[int, ...]) -> dict:
    """``metadata`` of a raster shown as one RGB(A) layer with its bands in ``order`` (0-based file
    bands, :func:`rgb_order`): the per-band lists follow the layer's channels and, when that is not
    the file's order, ``file_bands`` (1-based) says which file band each channel is (a Run reads
    the file's bands through it, ``run._job.LayerSource``)."""
    if list(order) == list(range(len(order))):
        return metadata
    md = dict(metadata, file_bands=[b + 1 for b in order])
    for key in BAND_KEYS:
        if isinstance(md.get(key), list) and len(md[key]) == len(order):
            md[key] = [md[key][b] for b in order]
    return md


def raster_metadata(path, crs, transform, nodata, colorinterp, descriptions, tags,
                    band_values=((), (), ()), gcps=None, rpcs=None, band_tags=(), *,
                    georef: str, domains=None) -> tuple[dict, list, bool]:
    """(layer ``metadata``, band names, georeferenced?) of a raster; shared by the eager and the lazy reader.
    ``band_values`` = the bands' ``(scales, offsets, units)`` (``ldcsr_core.geo.raster_io.band_values``),
    kept as ``scales``/``offsets``/``band_units`` (one per band of the file) when not the default.
    ``gcps`` = ``(ground control points, CRS)`` of a raster placed by GCPs only: kept as ``gcps``
    (``[row, col, x, y, z]`` rows, GDAL's pixel/line: 0 = the first pixel's top/left edge) and
    ``gcps_crs`` (WKT or None); the layer itself is shown in pixels. ``rpcs`` = a satellite image's
    rational polynomial coefficients (a rasterio ``RPC``): kept as ``rpcs`` (its ``to_dict()``).
    ``band_tags`` = each band's tags (``ldcsr_core.geo.georef.band_tags``), kept as ``band_tags``.
    ``georef`` = how the raster is placed, by the engine's rule (``georef.georeferencing``).
    ``domains`` = its metadata in other GDAL domains that a result carries (``georef.carried_domains``,
    e.g. ``IMAGERY``: acquisition time, satellite), kept as ``domains``."""
    # placed by a geotransform, by the engine's rule: the identity is GDAL's "none", also beside a
    # CRS, unless the raster declares it (a VRT's, a GeoTIFF's); such a raster is shown as a plain
    # picture, not flipped on a made-up grid; a singular one places no grid (napari cannot show it so)
    georeferenced = georef == "transform"
    band_names = rad_band_names(len(descriptions), colorinterp, descriptions)  # the engine's words
    metadata: dict[str, Any] = {
        "path": os.fspath(path),
        "file_name": os.path.basename(str(path)),
        "crs": crs.to_wkt() if crs is not None else None,
        "crs_name": crs.to_string() if crs is not None else None,
        "transform": tuple(transform)[:6] if georeferenced else None,
        "nodata": nodata,
        "band_names": band_names,
        "colorinterp": list(colorinterp),
        "units": crs_units(crs),
        # (rows, cols), along the pixel edges as the engine measures it (also on a rotated grid)
        "pixel_size": pixel_size(transform)[::-1] if georeferenced else None,
        "tags": tags,
    }
    for key, values in zip(("scales", "offsets", "band_units"), band_values):
        if values:
            metadata[key] = list(values)
    if gcps and gcps[0]:
        metadata["gcps"] = [[g.row, g.col, g.x, g.y, g.z] for g in gcps[0]]
        metadata["gcps_crs"] = gcps[1].to_wkt() if gcps[1] else None
    if rpcs is not None:
        metadata["rpcs"] = rpcs.to_dict()
    if band_tags:
        metadata["band_tags"] = [dict(t) for t in band_tags]
    if domains:
        metadata["domains"] = {ns: dict(t) for ns, t in domains.items()}
    return metadata, band_names, georeferenced


def _alpha_holds_mask(count: int, dtype: str, colorinterp: list[str]) -> bool:
    """Whether bands with a mask open as one RGBA layer, the mask as its alpha (the eager reader's ``_mask_kept``)."""
    import numpy as np

    return np.dtype(dtype).kind in "ui" and "alpha" not in colorinterp and is_rgb(count + 1, dtype,
                                                                                    [*colorinterp, "alpha"])


def mask_is_alpha(src) -> bool:
    """Whether open dataset ``src``'s mask band is the alpha of the RGBA layer the eager reader makes of it,
    a band more than the file has (a Run that streams from the file reads the mask there)."""
    from ldcsr_core.geo.raster_io import raster_info

    return raster_info(src).has_dataset_mask and _alpha_holds_mask(
        src.count, src.dtypes[0], [c.name for c in src.colorinterp])
