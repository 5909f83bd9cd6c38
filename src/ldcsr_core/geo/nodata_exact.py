"""64-bit integer bands' nodata, which GDAL passes as float64: exact only up to 2^53.

:func:`check_exact` refuses a nodata float64 cannot hold on int64/uint64 bands (the user's or a
file's, :func:`check_file_nodata`), saying how to convert such a file (:func:`convert_advice`);
:func:`wide_file_nodata` finds one a file declares, :func:`quiet_wide_nodata` hushes GDAL's warning
about it. Re-exported by :mod:`.nodata_override`.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ..errors import InputError
from ..front_end import say
from .nodata_words import quoted_nodata

__all__ = ["EXACT_LIMIT", "WideNodataError", "check_exact", "check_file_nodata", "fit_range", "convert_advice",
           "wide_file_nodata", "quiet_wide_nodata"]

# float64 holds every whole number up to 2**53: GDAL hands nodata values over as float64 (rasterio
# reads and writes them so), so a 64-bit integer band's nodata beyond it is neither read nor written
# exactly (GDAL's GTiff even stores one of 1e18 or more as '-9', from its float text)
EXACT_LIMIT = 2**53


class WideNodataError(InputError):
    """The nodata a file declares on its int64/uint64 bands, which float64 cannot hold
    (:func:`check_file_nodata`); a front end without a conversion tool reads such a file as
    32-bit bands instead (:func:`ldcsr_core.geo.wide_nodata.read_narrowed`)."""


def _wide(dtype) -> bool:
    dt = np.dtype(dtype)
    return dt.kind in "ui" and dt.itemsize == 8


def _convert_hint(negative: bool, dtype) -> tuple[str, int]:
    """The GDAL type and nodata that turn 64-bit bands whose nodata is at one end of their range
    into 32-bit ones whose nodata is the same end (GDAL clamps the nodata pixels onto it)."""
    if negative:
        return "Int32", -2147483648
    return ("UInt32", 4294967295) if np.dtype(dtype).kind == "u" else ("Int32", 2147483647)


def fit_range(ot: str, to: int) -> str:
    """The values ``ot`` bands whose nodata is ``to`` (one end of ``ot``) hold as data: '0..4294967294'."""
    info = np.iinfo(ot.lower())
    lo, hi = (info.min + 1, info.max) if to == info.min else (info.min, info.max - 1)
    return f"{lo}..{hi}"


def convert_advice(ot: str, to: int) -> str:
    """How to convert 64-bit bands to ``ot`` (Int32 or UInt32) with nodata ``to`` (its one end,
    :func:`_convert_hint`), and when it keeps every value: the conversion clamps a value beyond
    ``ot`` onto its ends, so a valid one would silently become nodata (or another value)."""
    return (f"if its values fit in {ot} ({fit_range(ot, to)}; {say('value range')}), convert the bands first: "
            f"{say('convert', ot=ot, nodata=to)} (its nodata pixels take the new value, its values unchanged; "
            "one beyond that range would be changed, clamped)")


def check_exact(value, dtype, name: str, *, text: str | None = None, given: bool = True,
                setting: bool = False) -> None:
    """:class:`InputError` for a nodata ``value`` of ``dtype`` (int64/uint64) bands beyond
    :data:`EXACT_LIMIT`: it cannot be told from its neighbours in float64, so nodata pixels would be
    taken for data (or data for nodata) and the output would declare another value. ``None`` as the
    value of such bands: one beyond float64's range (rasterio gives none for uint64's 2**64 - 1).
    ``text``: the value as stored (its digits); ``given``: the user's value (else the file's);
    ``setting``: a nodata setting's value, quoted as given (:func:`~.nodata_words.quoted_nodata`)."""
    if not _wide(dtype) or (value is not None and (math.isnan(value) or abs(value) < EXACT_LIMIT)):
        return
    dt = np.dtype(dtype).name
    what = text or (f"{value:.17g}" if value is not None else f"beyond {dt}'s float64 range")
    negative = (value if value is not None else float(text or 1)) < 0
    ot, to = _convert_hint(negative, dt)
    fix = ("give a value within ±2^53" if given else
           f"{convert_advice(ot, to)}; or, if no pixel holds that nodata, give the nodata yourself "
           f"({say('nodata or none')})")
    head = (f"{quoted_nodata(value)}: on the {dt} bands of {name} it" if setting else
            f"{name}: {'the' if given else 'its'} nodata {what} ({dt} bands)")
    raise InputError(f"{head} cannot be read or written exactly: GDAL passes nodata values as float64, exact for "
                     f"whole numbers up to 2^53 = "
                     f"{EXACT_LIMIT} only, so nodata pixels could not be told from data nor marked on the "
                     f"output; {fix}")


def check_file_nodata(src, name) -> None:
    """:func:`check_exact` for the nodata a file declares on its int64/uint64 bands (GDAL's mask
    flags say which bands have one, also where rasterio reads it as none), quietly: rasterio logs
    GDAL's 'returns an approximate value' warning at each read of such a nodata. The refusal is a
    :class:`WideNodataError`."""
    found = wide_file_nodata(src)
    if found is not None:
        band, value, text = found
        try:
            check_exact(value, src.dtypes[band], name, text=text, given=False)
        except InputError as e:
            raise WideNodataError(str(e)) from None


def wide_file_nodata(src) -> tuple[int, float | None, str | None] | None:
    """The first int64/uint64 band (0-based) of ``src`` whose declared nodata float64 cannot hold
    (:func:`check_exact`), with that nodata as rasterio reads it (float64, or None) and as GDAL
    stores it (its digits, or None); None when there is no such band."""
    if not any(_wide(d) for d in src.dtypes):
        return None
    with quiet_wide_nodata():
        declared = [i for i, f in enumerate(src.mask_flag_enums) if any(m.name == "nodata" for m in f)]
        values = src.nodatavals
        for i in declared:
            v = values[i]
            if _wide(src.dtypes[i]) and (v is None or abs(v) >= EXACT_LIMIT):
                return i, v, _stored_nodata(src, i)
    return None


def _not_approximate(record) -> bool:
    return "returns an approximate value of the true nodata value" not in record.getMessage()


@contextlib.contextmanager
def quiet_wide_nodata():
    """A context in which GDAL's 'GetNoDataValue() returns an approximate value of the true nodata
    value' (logged by rasterio at each read of such a nodata: opening the file reads it) is not
    shown: :func:`check_file_nodata` says it in its own words."""
    import logging

    log = logging.getLogger("rasterio._env")
    log.addFilter(_not_approximate)
    try:
        yield
    finally:
        log.removeFilter(_not_approximate)


def _stored_nodata(src, band: int) -> str | None:
    """Band ``band``'s (0-based) nodata as GDAL stores it, every digit (from a VRT copy of ``src``:
    GDAL writes a 64-bit band's own), or None."""
    import re

    import rasterio.shutil
    from rasterio.io import MemoryFile

    try:
        with MemoryFile(ext=".vrt") as m:
            rasterio.shutil.copy(src, m.name, driver="VRT")
            m.seek(0)
            found = re.findall(r"<NoDataValue>\s*([-+0-9]+)\s*</NoDataValue>", m.read().decode())
    except Exception:  # noqa: BLE001 - only the message's digits depend on it
        return None
    return found[band] if band < len(found) else None
