"""A file's overviews (its reduced-resolution copies, ``gdaladdo``): whether they left its nodata out.

GDAL (``gdaladdo``, rasterio's ``build_overviews``) writes the nodata in force into each overview it
builds, read back as the overview's own, and averages those pixels out. An overview built while the
file declared no nodata or another, the nodata set after (``gdal_edit -a_nodata``, ``dataset.nodata =
…``), mixed it into the pixels beside it (-9999 beside 100s: -2425), which read as valid data. The
stretch sample (:func:`~.raster_io.decimated_read`: the CLI's, QGIS's, napari's Run and the live
lens's) and napari's lazy levels use a file's overviews only where :func:`overview_averages_valid_pixels`
says so. A VRT's overviews are its sources' (GDAL's implicit ones, declaring the VRT's nodata): those
are asked too.
"""

from __future__ import annotations

import math
import warnings

from .read_failures import gdal_errors

__all__ = ["overview_averages_valid_pixels", "overviews_leave_nodata_out"]


def overview_averages_valid_pixels(base, overview) -> bool:
    """Whether the ``overview`` (a rasterio handle opened with ``overview_level``) of the dataset open
    as ``base`` left out the nodata ``base`` reads with (its file's, or the user's: a
    :func:`~.nodata_override.with_nodata` dataset's ``band_nodata``): it declares that value on each
    band (none where there is none; several values or a range: never), or it was built by ``nearest``
    (GDAL's ``RESAMPLING`` tag: pixels copied, not mixed). Otherwise, e.g. built before the nodata
    was set, its pixels beside nodata mix it in (-9999 beside 100s: -2425): False. A ``.vrt``'s
    overviews are its sources' overviews (each declaring the VRT's nodata, whatever they mixed in): every
    overview of each source must pass too."""
    if not _left_out(base, overview):
        return False
    try:
        return all(_source_left_out(base, f) for f in _vrt_sources(base))
    except gdal_errors():
        return False


def _left_out(base, overview) -> bool:
    """:func:`overview_averages_valid_pixels` for the ``overview`` alone (its nodata, its tags)."""
    def same(a, b):
        return len(a) == len(b) and all(
            x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
            for x, y in zip(a, b))

    def entries(values):
        return [() if v is None else (float(v),) for v in values]

    wanted = getattr(base, "band_nodata", None) or entries(base.nodatavals)
    if all(same(tuple(a), b) for a, b in zip(wanted, entries(overview.nodatavals))):
        return True
    return all(str(overview.tags(b).get("RESAMPLING", "")).upper() == "NEAREST" for b in overview.indexes)


def overviews_leave_nodata_out(src) -> bool:
    """Whether every overview of the open dataset ``src`` passes :func:`overview_averages_valid_pixels`
    (each opened again with ``overview_level``: its nodata and tags read at no cost); False where one
    cannot be opened so."""
    name = getattr(src, "gdal_name", None) or src.name  # a colour table's expansion: what GDAL opened
    try:
        return _levels_left_out(src, name, len(src.overviews(1)), _vrt_sources(src))
    except gdal_errors():
        return False


def _levels_left_out(base, name, levels: int, sources) -> bool:
    """Whether each of the ``levels`` overviews of the raster ``name``, and of its ``sources`` (a VRT's),
    left out the nodata ``base`` reads with (:func:`_left_out`)."""
    import rasterio

    for level in range(levels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an overview alone: no georeferencing said
            with rasterio.open(name, overview_level=level) as overview:
                if not _left_out(base, overview):
                    return False
    return all(_source_left_out(base, f) for f in sources)


def _source_left_out(base, name) -> bool:
    """:func:`_levels_left_out` for the file ``name`` a VRT reads."""
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a source alone: no georeferencing said
        with rasterio.open(name) as ds:
            levels, sources = len(ds.overviews(1)), _vrt_sources(ds)
    return _levels_left_out(base, name, levels, sources)


def _vrt_sources(ds) -> list:
    """The files a ``.vrt`` dataset reads its pixels from (GDAL's file list less the VRT and its
    sidecars); none for another file (a colour table's expansion included: its ``name`` is the file's)."""
    if getattr(ds, "driver", None) != "VRT" or not str(ds.name).lower().endswith(".vrt"):
        return []
    return [f for f in (getattr(ds, "files", None) or ())[1:]
            if not str(f).lower().endswith((".vrt.ovr", ".aux.xml", ".msk"))]
