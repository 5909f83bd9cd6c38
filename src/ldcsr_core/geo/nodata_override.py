"""A nodata value given by the user instead of the file's (``--nodata``, QGIS's layer nodata).

Many scenes carry fill (black borders of a mosaic, -9999 around a clipped product) that the file
does not declare as nodata, and some declare a value that is real data (0 on dark water). The
override is applied to the opened dataset (:func:`with_nodata`), so the one reader, stretch, mask,
output profile and provenance all see the same value; the file itself is never touched.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .dataset_proxy import DatasetProxy

__all__ = ["NO_NODATA", "parse_nodata", "check_fits", "with_nodata", "NodataOverride"]

# ``nodata="none"``: treat every value as data, whatever nodata the file declares
NO_NODATA = "none"


def parse_nodata(value) -> float | str | None:
    """``None`` (the file's nodata), :data:`NO_NODATA` (none at all) or a number (``"nan"`` too);
    anything else is an :class:`InputError`."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (NO_NODATA, "off"):
            return NO_NODATA
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"nodata must be a number, 'nan' or 'none' (every value is data), "
                             f"got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"nodata must be a number, 'nan' or 'none', got {value!r}")
    value = float(value)
    if math.isinf(value):
        raise InputError(f"nodata must be finite or nan, got {value}")
    return value


def check_fits(value, dtype, name: str) -> None:
    """:class:`InputError` unless a band of ``dtype`` can hold ``value`` (None and ``"none"`` always)."""
    if value is None or value == NO_NODATA:
        return
    dt = np.dtype(dtype)
    if math.isnan(value):
        if dt.kind != "f":
            raise InputError(f"nodata nan: {name} has {dt.name} bands, which hold no NaN (give a number)")
        return
    if dt.kind in "ui":
        info = np.iinfo(dt)
        if not info.min <= value <= info.max or value != int(value):
            raise InputError(f"nodata {value:g}: no {dt.name} pixel of {name} can hold it "
                             f"({dt.name} holds whole numbers {info.min}..{info.max})")
    elif dt.kind == "f" and np.isinf(np.asarray(value, dtype=dt)):
        raise InputError(f"nodata {value:g} is outside the {dt.name} range of {name}")


class NodataOverride(DatasetProxy):
    """An open dataset whose nodata is ``nodata`` (a number, or None for none) in every band."""

    def __init__(self, dataset, nodata: float | None):
        super().__init__(dataset)
        self._nodata = nodata

    @property
    def nodata(self):
        return self._nodata

    @property
    def nodatavals(self):
        return (self._nodata,) * self._dataset.count

    @property
    def profile(self):
        return {**self._dataset.profile, "nodata": self._nodata}

    @property
    def meta(self):
        return {**self._dataset.meta, "nodata": self._nodata}

    @property
    def file_nodata(self):
        """The nodata value the file itself declares (band 1's; ``None`` if none)."""
        return self._dataset.nodata


def with_nodata(dataset, nodata):
    """``dataset`` as is when ``nodata`` is ``None``, else with every band's nodata replaced
    (:data:`NO_NODATA`: no nodata).  Refuses a value the bands cannot hold and colour-table rasters
    (their transparency is the table's; the engine expands it itself)."""
    nodata = parse_nodata(nodata)
    if nodata is None:
        return dataset
    name = str(getattr(dataset, "name", "the input"))
    name = "the image" if name.startswith("/vsimem/") else name  # an array (a napari layer)
    if getattr(dataset, "palette_expanded", None):
        raise InputError(f"{name}: nodata cannot be set on a raster with a colour table (its "
                         "transparent entries say what is nodata)")
    value = None if nodata == NO_NODATA else nodata
    if value is not None:
        for dtype in set(dataset.dtypes):
            check_fits(value, dtype, name)
    return NodataOverride(dataset, value)
