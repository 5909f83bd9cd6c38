"""A raster's pixel size on the ground, in metres, whatever its CRS: what ``rules.untrained_ground_note``
compares with the ground resolutions the shipped models were trained on.

* :func:`ground_pixel_metres` - of a CRS, a geotransform and a shape (a napari layer's metadata);
* :func:`ground_pixel_of` - of a :class:`~ldcsr_core.geo.raster_io.RasterInfo` (the command line, QGIS).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .raster_io import RasterInfo

__all__ = ["ground_pixel_metres", "ground_pixel_of"]


def _metres_per_degree(lat: float) -> tuple[float, float]:
    """(along a parallel, along a meridian): metres per degree of longitude and of latitude at ``lat``
    (WGS 84 ellipsoid, series to cos 4φ: within a millimetre per degree)."""
    phi = math.radians(lat)
    return (111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi),
            111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi))


def ground_pixel_metres(crs, transform, shape) -> tuple[float, float] | None:
    """``(x, y)``: the ground length in metres of a pixel's column and row steps at the centre of a raster
    of ``shape`` ``(rows, cols)`` placed by ``transform`` (an ``Affine`` or its 6 coefficients; None: not
    placed) in ``crs`` (a rasterio CRS or its text; None: unknown). The centre pixel's neighbours are taken
    to longitude and latitude, so any unit (metres, feet, degrees) and a projection's scale (Web Mercator's
    1/cos φ) count; a CRS PROJ cannot take there (a local one) is measured in its linear unit. None when
    it is not known: no CRS or placement, a singular grid, a unit that is no length."""
    if crs is None or transform is None:
        return None
    from affine import Affine

    from .georef import affine_apply

    t = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
    if not math.isfinite(t.determinant) or t.determinant == 0:
        return None
    rows, cols = (int(v) for v in tuple(shape)[:2])
    points = [affine_apply(t, (cols / 2 + dx, rows / 2 + dy)) for dx, dy in ((0, 0), (1, 0), (0, 1))]
    try:
        from rasterio.warp import transform as reproject

        lons, lats = reproject(crs, "EPSG:4326", [p[0] for p in points], [p[1] for p in points])
    except Exception:  # noqa: BLE001 - rasterio's CRS and PROJ errors: a local CRS, by its unit
        return _by_unit(crs, t)
    if not all(math.isfinite(v) for v in (*lons, *lats)) or not all(-90.0 <= v <= 90.0 for v in lats):
        return None
    along_lon, along_lat = _metres_per_degree(lats[0])

    def length(i: int) -> float:
        dlon = (lons[i] - lons[0] + 180.0) % 360.0 - 180.0
        return math.hypot(dlon * along_lon, (lats[i] - lats[0]) * along_lat)

    return length(1), length(2)


def _by_unit(crs, t) -> tuple[float, float] | None:
    """The pixel size in metres by the CRS's linear unit alone, or None when it has none."""
    try:
        from rasterio.crs import CRS

        crs = crs if isinstance(crs, CRS) else CRS.from_user_input(crs)
        if crs.is_geographic:
            return None
        unit, factor = crs.units_factor
    except Exception:  # noqa: BLE001 - an exotic CRS: unknown
        return None
    if not unit or unit == "unknown" or not (isinstance(factor, (int, float)) and factor > 0):
        return None
    return math.hypot(t.a, t.d) * factor, math.hypot(t.b, t.e) * factor


def ground_pixel_of(info: RasterInfo) -> tuple[float, float] | None:
    """:func:`ground_pixel_metres` of a raster as ``raster_info`` describes it (None unless a geotransform
    places it: a picture, one placed by GCPs or RPCs alone)."""
    if not info.placed:
        return None
    return ground_pixel_metres(info.crs, info.transform, (info.height, info.width))
