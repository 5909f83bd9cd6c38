"""Paletted rasters: a band of class indices with a colour table is seen through that table.

Super-resolving class indices would invent classes between classes, so :func:`palette_expansion`
decides how such a raster is expanded (RGB, or RGBA when the table or nodata needs an alpha band)
and :func:`open_expanded` opens it through GDAL's ``vrt://...?expand=`` (streamed, nothing copied).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, one_line
from .dataset_proxy import DatasetProxy
from .georef import quiet_georef
from .read_failures import gdal_errors

__all__ = ["palette_expansion", "open_expanded"]


def palette_expansion(src, name=None) -> str | None:
    """``"rgb"`` or ``"rgba"`` when ``src`` is one band of class indices with a colour table, else None.

    Such a band holds indices, not brightness: super-resolving it would invent indices between
    classes. It is expanded through its colour table instead (:func:`open_raster` does so);
    ``"rgba"`` when the table has transparent entries or the band has a nodata value (the alpha
    band then marks those pixels). A colour table on one band of several is an
    :class:`InputError` (expand or drop that band first).
    """
    ci = [c.name for c in src.colorinterp]
    if "palette" not in ci:
        return None
    name = name or src.name
    if src.count != 1:
        b = ci.index("palette") + 1
        raise InputError(
            f"{name}: band {b} of {src.count} has a colour table (class indices, not brightness), "
            f"which cannot be super-resolved; expand it first, e.g. gdal_translate -b {b} "
            "-expand rgb in.tif out.tif, or drop that band")
    try:
        cmap = src.colormap(1)
    except ValueError:  # "palette" without a table: nothing to expand through
        return None
    transparent = src.nodata is not None or any(len(v) > 3 and v[3] < 255 for v in cmap.values())
    return "rgba" if transparent else "rgb"


def open_expanded(p: Path, kind: str):
    """``p`` opened through GDAL's ``vrt://...?expand=rgb|rgba`` (streamed, nothing copied)."""
    import rasterio

    hint = f"expand it first: gdal_translate -expand {kind} {p} {p.stem}_{kind}.tif"
    if "?" in str(p):
        raise InputError(f"{p} has a colour table (class indices, not brightness); {hint}")
    try:
        with quiet_georef():
            ds = rasterio.open(f"vrt://{p}?expand={kind}")
    except gdal_errors() as e:
        raise InputError(f"{p} has a colour table that GDAL could not expand "
                         f"({one_line(e)}); {hint}") from None
    return _ExpandedDataset(ds, str(p), kind)


class _ExpandedDataset(DatasetProxy):
    """A paletted raster seen through its colour table as RGB(A) bands (attributes pass through).

    ``name`` is the original file and ``source_driver`` its driver, ``gdal_name`` what GDAL opened
    (``vrt://NAME?expand=...``, to open it again); ``palette_expanded`` is ``"RGB"`` or ``"RGBA"``.
    """

    def __init__(self, dataset, name: str, kind: str):
        super().__init__(dataset)
        self.name = name
        self.source_driver = dataset.driver
        self.gdal_name = dataset.name
        self.palette_expanded = kind.upper()

    def __repr__(self) -> str:
        return f"<{self.name} expanded to {self.palette_expanded}: {self._dataset!r}>"
