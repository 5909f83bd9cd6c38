"""The input layer's file opened as QGIS shows it: with the nodata and the CRS set in QGIS (Layer
Properties), through the engine's overrides; what the engine refuses of them is said as the
layer's setting."""

from __future__ import annotations


def with_layer_nodata(ds, nodata):
    """``ds`` with the nodata set in QGIS (the engine's ``with_nodata``); a value the engine refuses
    (one the layer's data type cannot hold, a layer with a colour table) is said to come from the
    layer's properties: the user gave no nodata to the algorithm."""
    from ldcsr_core.errors import InputError, one_line
    from ldcsr_core.geo.nodata_override import with_nodata

    try:
        return with_nodata(ds, nodata)
    except InputError as e:
        raise InputError(f"the layer's nodata, set in QGIS (Layer Properties ▸ Transparency), cannot be "
                         f"used: {one_line(e)}") from None


def open_with_layer_nodata(src: str, nodata):
    """The layer's file opened with the nodata set in QGIS (None: the file's). The file's own nodata
    is not read then (one it declares on 64-bit bands beyond 2^53 would be refused, as QGIS's replaces
    it), and QGIS's is applied after the opening, so that a value the engine refuses (any, on a layer
    with a colour table) is said as the layer's setting (:func:`with_layer_nodata`)."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo import raster_io as rio
    from ldcsr_core.geo.nodata_override import NO_NODATA

    if nodata is None:
        return rio.open_raster(src)
    try:
        ds = rio.open_raster(src, nodata=NO_NODATA)
    except InputError:  # no nodata at all is refused too (a colour table): the file's reading, then QGIS's
        ds = rio.open_raster(src)
    try:
        return with_layer_nodata(ds, nodata)
    except InputError:
        ds.close()
        raise


def with_layer_crs(ds, crs):
    """``ds`` with the CRS set in QGIS (the engine's ``with_crs``); one the engine cannot read is
    said to come from the layer's properties."""
    from ldcsr_core.errors import InputError, one_line
    from ldcsr_core.geo.crs_override import with_crs

    try:
        return with_crs(ds, crs)
    except InputError as e:
        raise InputError(f"the layer's CRS, set in QGIS (Layer Properties ▸ Source), cannot be used: "
                         f"{one_line(e)}") from None
