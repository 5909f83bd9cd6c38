"""A CRS given by the user instead of the file's (QGIS's layer CRS, set in the project).

A raster whose file has no CRS (a PNG or JPEG with a world file and no ``.prj``), or a wrong one,
is placed by the CRS QGIS was told: its layer is shown there, so an output that overlays it must
carry that CRS. The override is applied to the opened dataset (:func:`with_crs`), so the output
profile, the target-pixel-size rule and provenance all see the same CRS; the file itself is never
touched. The geotransform (or the GCPs) stays the file's: only what its numbers are in changes.
"""

from __future__ import annotations

from ..errors import InputError
from .dataset_proxy import DatasetProxy

__all__ = ["parse_crs", "with_crs", "CrsOverride"]


def parse_crs(value) -> str | None:
    """``None`` (the file's CRS) or the CRS as text rasterio reads (``"EPSG:32633"``, WKT, PROJ);
    anything else is an :class:`InputError`."""
    if value is None:
        return None
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        crs = value if isinstance(value, CRS) else CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError) as e:
        raise InputError(f"crs {str(value)[:80]!r} is not a CRS: {e}") from None
    return crs.to_string()


class CrsOverride(DatasetProxy):
    """An open dataset whose CRS is ``crs`` (its geotransform or GCPs unchanged)."""

    def __init__(self, dataset, crs):
        super().__init__(dataset)
        self._crs = crs

    @property
    def crs(self):
        return self._crs

    @property
    def profile(self):
        return {**self._dataset.profile, "crs": self._crs}

    @property
    def meta(self):
        return {**self._dataset.meta, "crs": self._crs}

    @property
    def gcps(self):
        gcps, _ = self._dataset.gcps
        return gcps, (self._crs if gcps else None)

    @property
    def file_crs(self):
        """The CRS the file itself declares (``None`` if none)."""
        return self._dataset.crs


def with_crs(dataset, crs):
    """``dataset`` as is when ``crs`` is ``None`` or the file's own, else with its CRS replaced."""
    crs = parse_crs(crs)
    if crs is None:
        return dataset
    from rasterio.crs import CRS

    crs = CRS.from_user_input(crs)
    if dataset.crs is not None and dataset.crs == crs:
        return dataset
    return CrsOverride(dataset, crs)
