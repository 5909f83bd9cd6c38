"""The UTM zone of a raster in degrees: the projected CRS its refusals suggest reprojecting it to.

* :func:`utm_epsg` - the EPSG code of the WGS 84 / UTM zone of a longitude and latitude;
* :func:`centre_utm_crs` - that of a raster's centre (``"EPSG:32756"`` for one over Sydney).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .raster_io import RasterInfo

__all__ = ["utm_epsg", "centre_utm_crs"]


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 / UTM zone holding (``lon``, ``lat``), in degrees: zones 1 to 60 of
    6° eastwards from 180° W (any longitude, e.g. 0-360, is taken modulo 360), 326zz on or north of the
    equator, 327zz south of it. The zones' exceptions off Norway (32V widened) and on Svalbard (31X to
    37X) are not applied: the regular zone is a projection of metres there too, good for a pixel size."""
    zone = int(((lon + 180.0) % 360.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def centre_utm_crs(info: RasterInfo) -> str | None:
    """``"EPSG:326zz"`` or ``"EPSG:327zz"``: the UTM zone (:func:`utm_epsg`) of the centre of a placed
    raster's bounds, its CRS's coordinates taken to WGS 84 degrees; None where they cannot be (no CRS,
    one PROJ cannot transform, a centre off the globe)."""
    if info.crs is None or not info.placed:
        return None
    left, bottom, right, top = info.bounds
    try:
        from rasterio.warp import transform

        (lon,), (lat,) = transform(info.crs, "EPSG:4326", [(left + right) / 2], [(bottom + top) / 2])
    except Exception:  # noqa: BLE001 - rasterio's CRS and PROJ errors: no zone to suggest
        return None
    if not (math.isfinite(lon) and math.isfinite(lat) and -90.0 <= lat <= 90.0):
        return None
    return f"EPSG:{utm_epsg(lon, lat)}"
