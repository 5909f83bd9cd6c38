"""Checks of raw parameter values and of the input layer, before QGIS converts or the engine reads them.

``processing.run``, batch cells and modeler values arrive untyped, and QGIS's conversions are
silent: an optional number that is not one becomes the parameter's default, a fraction is rounded
to an integer, and ``-2**31`` reads as 0. Here such a value is one clear line instead.
"""

from __future__ import annotations

import math
import os


def check_number(raw, what: str, *, whole: bool = False) -> None:
    """Refuse a raw value that is not a (finite, with ``whole`` whole) number; unset, NULL and
    expressions (``QgsProperty``, evaluated by QGIS) pass."""
    from ldcsr_core.errors import InputError

    if isinstance(raw, str):
        if not raw.strip():
            return
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{what} must be a number, got {raw!r}") from None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        return
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {raw!r}")
    if whole and not value.is_integer():
        raise InputError(f"{what} must be a whole number, got {raw!r}")


def band_choice(alg, parameters, name: str, context):
    """The bands parameter as the engine takes it: typed text (``"4,3,2"``, ``"4;3;2"``, as the CLI's
    ``--bands``) for the engine to parse and check, a list of band numbers, or ``None`` (automatic,
    also for empty text)."""
    raw = parameters.get(name)
    if isinstance(raw, str):
        return raw.strip().replace(";", ",") or None
    return alg.parameterAsInts(parameters, name, context) or None


def layer_source(layer) -> str:
    """The file of a GDAL raster layer; an ``InputError`` for anything the engine cannot open."""
    from ldcsr_core.errors import InputError

    if layer is None:
        raise InputError("no input raster layer")
    if layer.providerType() != "gdal":
        raise InputError(f"layer '{layer.name()}' is not a file raster (provider "
                         f"{layer.providerType()}): save it as a GeoTIFF first")
    src = layer.source().split("|")[0]
    if os.path.isfile(src):
        return src
    if os.path.isabs(src) and not src.startswith("/vsi") and not os.path.exists(src):
        raise InputError(f"the file of layer '{layer.name()}' no longer exists (moved or deleted?): {src}")
    # a GeoPackage table, /vsizip/, a subdataset…
    raise InputError(f"layer '{layer.name()}' is not a plain raster file ({src}): save it as a "
                     "GeoTIFF first (Raster ▸ Conversion ▸ Translate)")


def crs_note(layer) -> str | None:
    """A warning when the layer's CRS was set in QGIS and differs from its file's, which the
    engine reads (and the output gets)."""
    crs, file_crs = layer.crs(), layer.dataProvider().crs()
    if not crs.isValid() or crs == file_crs:
        return None
    has = f"has CRS {file_crs.authid() or file_crs.description()}" if file_crs.isValid() else "has no CRS"
    return (f"layer '{layer.name()}' is shown in {crs.authid() or crs.description()}, but its file "
            f"{has}, which the output gets: assign the CRS to the file first "
            "(Raster ▸ Projections ▸ Assign Projection) if the file is wrong")


def nodata_note(layer) -> str | None:
    """A warning when nodata was set in QGIS (the layer's Transparency properties: an extra nodata
    value, or the file's switched off), which the engine does not see: it reads the file's nodata,
    for the output and the quality report alike."""
    dp = layer.dataProvider()
    bands = range(1, layer.bandCount() + 1)
    extra = {b for b in bands if dp.userNoDataValues(b)}
    off = {b for b in bands if dp.sourceHasNoDataValue(b) and not dp.useSourceNoDataValue(b)}
    if not extra and not off:
        return None
    fv = dp.sourceNoDataValue(1) if dp.sourceHasNoDataValue(1) else None
    what = "; ".join((["an extra nodata value"] if extra else []) + (["the file's nodata switched off"] if off else []))
    return (f"layer '{layer.name()}' has nodata set in QGIS (Properties ▸ Transparency: {what}) on band(s) "
            f"{','.join(map(str, sorted(extra | off)))}, but the engine reads its file's nodata "
            f"({'none' if fv is None else f'{fv:g}'}), which the output and the quality report use: set "
            "nodata on the file first (Raster ▸ Conversion ▸ Translate, 'Assign a specified nodata value') "
            "if it is wrong")
