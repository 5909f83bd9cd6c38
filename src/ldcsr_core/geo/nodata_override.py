"""A nodata value given by the user instead of the file's (``--nodata``, QGIS's layer nodata).

Many scenes carry fill (black borders of a mosaic, -9999 around a clipped product) that the file
does not declare as nodata, and some declare a value that is real data (0 on dark water). The
override is applied to the opened dataset (:func:`with_nodata`), so the one reader, stretch, mask,
output profile and provenance all see the same value; the file itself is never touched.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import InputError
from ..front_end import say
from .dataset_proxy import DatasetProxy
from .nodata_exact import (  # noqa: F401 - the 64-bit rules, re-exported
    EXACT_LIMIT, WideNodataError, check_exact, check_file_nodata, convert_advice, fit_range, quiet_wide_nodata,
    wide_file_nodata,
)
from .nodata_masks import nodata_as, output_nodata
from .nodata_words import NO_NODATA, nodata_text, quoted_nodata

__all__ = ["NO_NODATA", "NodataRange", "WideNodataError", "parse_nodata", "parse_nodata_text", "nodata_text",
           "nodata_request", "with_zero", "zero_signs", "spelt_zeros", "check_fits", "check_exact", "check_file_nodata", "fit_range",
           "convert_advice", "wide_file_nodata", "quiet_wide_nodata", "with_nodata", "band_nodata", "declared_nodata",
           "quoted_nodata", "NodataOverride"]

@dataclasses.dataclass(frozen=True)
class NodataRange:
    """Every value from ``lo`` to ``hi`` (both included; ``-inf`` or ``inf``: unbounded) is nodata:
    QGIS's no-data ranges (Layer Properties ▸ Transparency, 'Additional no data value' ``0-5``), e.g.
    a noisy dark border."""

    lo: float
    hi: float

    def __post_init__(self):
        lo, hi = (float(v) if isinstance(v, (float, np.floating)) and math.isinf(v) else parse_nodata(v)
                  for v in (self.lo, self.hi))
        if not isinstance(lo, float) or not isinstance(hi, float) or math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise InputError(f"a nodata range needs two numbers, the first not above the second, got "
                             f"{self.lo!r}..{self.hi!r}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def __str__(self) -> str:
        return f"{nodata_text(self.lo)}..{nodata_text(self.hi)}"


def parse_nodata(value) -> float | str | tuple | dict | None:
    """``None`` (the file's nodata), :data:`NO_NODATA` (none at all), a number (``"nan"`` too),
    several (a list or tuple of numbers and :class:`NodataRange`: a tuple of distinct entries on
    every band, the first number the one an output declares; one number alone is that number: QGIS's
    file nodata and its 'Additional no data value' entries), or each band's (a dict of 1-based band:
    such a value, ``"none"`` or ``()`` for no nodata; a band left out has none: QGIS's nodata set by
    band), normalised to ``{band: tuple}``; anything else is an :class:`InputError`."""
    if isinstance(value, dict):
        bands = {}
        for band, v in value.items():
            if isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 1:
                raise InputError(f"nodata by band: bands are numbered from 1, got {band!r}")
            v = () if v is None or (isinstance(v, str) and v.strip().lower() == NO_NODATA) else v
            # (not v != (): a NumPy number compared to () is an empty array, whose truth is an error)
            v = () if isinstance(v, tuple) and not v else parse_nodata(v if isinstance(v, (list, tuple)) else (v,))
            bands[int(band)] = v if isinstance(v, tuple) else (v,)
        if not any(bands.values()):
            return NO_NODATA
        return bands
    if isinstance(value, NodataRange):
        return (value,)
    if isinstance(value, (list, tuple)):
        values: list = []
        for v in value:
            v = v if isinstance(v, NodataRange) else parse_nodata(v)
            if not isinstance(v, (float, NodataRange)):
                raise InputError(f"nodata values must be numbers (or 'nan') or ranges, got {value!r}")
            if not any(v == w or (isinstance(v, float) and isinstance(w, float) and math.isnan(v) and math.isnan(w))
                       for w in values):
                values.append(v)
        if not values:
            raise InputError("nodata values: none given (give None for the file's nodata)")
        return values[0] if len(values) == 1 and isinstance(values[0], float) else tuple(values)
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (NO_NODATA, "off"):
            return NO_NODATA
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{quoted_nodata(value)}: must be a number, 'nan' or 'none' (every value is "
                             "data)") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{say('nodata setting')} must be a number, 'nan' or 'none', got {value!r}")
    value = float(value)
    if math.isinf(value):
        raise InputError(f"{quoted_nodata(value)}: must be finite or nan")
    return value


# ``--nodata``'s syntax, said by its help and by each refusal of a value that does not follow it
NODATA_SYNTAX = ("a number (nan too), 'none' (every value is data), a range LO:HI (both included; -inf or inf "
                 "for no end), several of them separated by commas (0,255 or 0:5,255), or each band's as "
                 "BAND=VALUE (1=0,2=255 or 1=0:5,1=255,3=none; a band left out has none)")


def parse_nodata_text(text: str):
    """``--nodata``'s text (:data:`NODATA_SYNTAX`) as :func:`parse_nodata` takes it: ``'0'``, ``'nan'``,
    ``'none'``, ``'0:5'`` (a :class:`NodataRange`), ``'0,255'``, ``'1=0,2=0:5,2=255,3=none'``
    (``{band: values}``); anything else is an :class:`InputError` saying the syntax."""
    def bad(why):
        return InputError(f"{quoted_nodata(text)}: {why}; give {NODATA_SYNTAX}")

    def entry(item):
        if ":" in item:
            ends = item.split(":")
            if len(ends) != 2:
                raise bad(f"a range has two ends, got {item!r}")
            try:
                lo, hi = (float(v) for v in ends)
            except ValueError:
                raise bad(f"a range's ends must be numbers, got {item!r}") from None
            try:
                return NodataRange(lo, hi)
            except InputError as e:
                raise bad(str(e)) from None
        v = parse_nodata(item)
        if not isinstance(v, float):
            raise bad("'none' stands alone (or as one band's, 3=none), got it among values")
        return v

    text = str(text).strip()
    items = [i.strip() for i in text.split(",")]
    if len(items) == 1 and ":" not in text and "=" not in text:
        return parse_nodata(text)
    if "" in items:
        raise bad("an empty value between commas")
    by_band = ["=" in i for i in items]
    if any(by_band) and not all(by_band):
        raise bad("give every value by band (1=0,2=255) or none by band (0,255)")
    try:
        if not any(by_band):
            return parse_nodata(tuple(entry(i) for i in items))
        bands: dict[int, list] = {}
        for item in items:
            band, value = (v.strip() for v in item.split("=", 1))
            if not band.isdigit() or int(band) < 1:
                raise bad(f"bands are numbered from 1, got {item!r}")
            values = bands.setdefault(int(band), [])
            if value.lower() == NO_NODATA:
                continue
            values.append(entry(value))
        return parse_nodata({b: tuple(v) or () for b, v in bands.items()})
    except InputError as e:
        if str(e).startswith(quoted_nodata(text)):
            raise
        raise bad(str(e).removeprefix(f"{say('nodata setting')} ")) from None  # an entry's: 'abc': …



def nodata_request(nodata):
    """A nodata (any form :func:`parse_nodata` takes) in one spelling per request (the ``LDCSR_JOB``
    fingerprint's): by band without the bands given none (``1=none,2=0`` is ``2=0``: the same output and
    tags), -0 as 0 (``--nodata -0``, a float file's -0.0 in QGIS: the same pixels are nodata); what makes
    another output stays apart (``0:0``: a range in ``LDCSR_NODATA``; ``1=0,2=0,3=0``)."""
    nodata = parse_nodata(nodata)
    return with_zero({b: v for b, v in nodata.items() if v} if isinstance(nodata, dict) else nodata, 0.0)


def with_zero(nodata, zero: float):
    """``nodata`` (:func:`parse_nodata`'s form) with each zero, a number or a range's end, as ``zero``:
    0.0 or -0.0, equal values but two spellings in a fingerprint (``repr``, JSON)."""
    return _zeros_as(nodata, lambda: zero)


def zero_signs(nodata, most: int = 256) -> list[tuple[bool, ...]]:
    """Each way of spelling ``nodata``'s zeros (:func:`with_zero`'s), one zero at a time: a tuple per way,
    True where that zero is -0 (in the order :func:`spelt_zeros` takes them): all 0, all -0, then every
    mix (``1=-0,2=0``: an output made before -0 was taken as 0 recorded the zeros as given); none
    without a zero; all 0 and all -0 alone where the mixes would be more than ``most`` (over 8 zeros)."""
    count = [0]

    def seen():
        count[0] += 1
        return 0.0

    _zeros_as(nodata, seen)
    n = count[0]
    if not n:
        return []
    ways = [0, 2 ** n - 1] + (list(range(1, 2 ** n - 1)) if 2 ** n <= most else [])
    return [tuple(bool(w >> i & 1) for i in range(n)) for w in ways]


def spelt_zeros(nodata, signs: tuple[bool, ...]):
    """``nodata`` with its zeros spelt as ``signs`` says (:func:`zero_signs`): -0.0 where True, else 0.0."""
    each = iter(signs)
    return _zeros_as(nodata, lambda: -0.0 if next(each) else 0.0)


def _zeros_as(nodata, zero):
    """``nodata`` with each zero (a number, a range's end), in order, as ``zero()`` gives it."""
    if isinstance(nodata, dict):
        return {b: _zeros_as(v, zero) for b, v in nodata.items()}
    if isinstance(nodata, tuple):
        return tuple(_zeros_as(v, zero) for v in nodata)
    if isinstance(nodata, NodataRange):
        return NodataRange(_zeros_as(nodata.lo, zero), _zeros_as(nodata.hi, zero))
    return zero() if isinstance(nodata, float) and nodata == 0.0 else nodata


def check_fits(value, dtype, name: str) -> None:
    """:class:`InputError` unless a band of ``dtype`` can hold ``value`` (None and ``"none"`` always),
    exactly (:func:`check_exact`); of what :func:`parse_nodata` gives, each number, and some value
    of each range."""
    if value is None or value == NO_NODATA:
        return
    if isinstance(value, (dict, tuple)):
        for v in value.values() if isinstance(value, dict) else value:
            check_fits(v, dtype, name)
        return
    if isinstance(value, NodataRange):
        if _declared((value,), dtype) is None:
            raise InputError(f"{quoted_nodata(value)}: no {np.dtype(dtype).name} pixel of {name} can hold any "
                             "value of it")
        return
    check_exact(value, dtype, name, setting=True)
    dt = np.dtype(dtype)
    if math.isnan(value):
        if dt.kind != "f":
            raise InputError(f"{quoted_nodata(value)}: {name} has {dt.name} bands, which hold no NaN (give a number)")
        return
    if dt.kind in "ui":
        info = np.iinfo(dt)
        if not info.min <= value <= info.max or value != int(value):
            raise InputError(f"{quoted_nodata(value)}: no {dt.name} pixel of {name} can hold it "
                             f"({dt.name} holds whole numbers {info.min}..{info.max})")
    elif dt.kind == "f" and np.isinf(np.asarray(value, dtype=dt)):
        raise InputError(f"{quoted_nodata(value)}: outside the {dt.name} range of {name}")


class NodataOverride(DatasetProxy):
    """An open dataset whose nodata is ``values`` on every band (numbers and ranges,
    :class:`NodataRange`; ``()``: none), or each band's own (``per_band``: a tuple of them per
    band); an output declares ``nodata`` (the first number, else a value of the first range) and
    writes it on every invalid pixel of every band. ``given``: the user's nodata (else the file's
    own, which differs by band: :func:`with_nodata`)."""

    def __init__(self, dataset, nodata: float | None, values: tuple = (), per_band: tuple | None = None,
                 *, given: bool = True):
        # the user's over the file's by band (open_raster's): the file's dataset, whose nodata it replaces
        super().__init__(dataset.file_dataset if isinstance(dataset, NodataOverride) else dataset)
        self._nodata = nodata
        self._values = tuple(values)
        self._per_band = per_band
        self.nodata_given = given

    @property
    def nodata(self):
        return self._nodata

    @property
    def nodatavals(self):
        if self._per_band is not None:
            return tuple(self._nodata if entries else None for entries in self._per_band)
        return (self._nodata,) * self._dataset.count

    @property
    def band_nodata(self) -> tuple:
        """Each band's nodata entries (numbers and :class:`NodataRange`; ``()``: none)."""
        return self._per_band if self._per_band is not None else (self._values,) * self._dataset.count

    @property
    def nodata_values(self):
        """What is nodata on each band, as given (``()``: none; the declared number first when
        several numbers are); by band (``{band: entries}``, bands without any left out)."""
        if self._per_band is not None:
            return {b: entries for b, entries in enumerate(self._per_band, 1) if entries}
        return self._values

    @property
    def profile(self):
        return {**self._dataset.profile, "nodata": self._nodata}

    @property
    def meta(self):
        return {**self._dataset.meta, "nodata": self._nodata}

    @property
    def file_nodata(self):
        """The nodata the file itself declares: its value (``None`` if none), or each band's when
        they differ (``{band: (value,)}``, bands without one left out)."""
        return _file_by_band(self._dataset) or self._dataset.nodata

    @property
    def file_dataset(self):
        """The dataset as the file declares it (its own nodata)."""
        return self._dataset


def _declared(entries, dtype) -> float | None:
    """The nodata an output declares for these entries: the first number, else the first range's
    first value a band of ``dtype`` holds (None when it holds none of them)."""
    if numbers := [v for v in entries if isinstance(v, float)]:
        return numbers[0]
    dt = np.dtype(dtype)
    for r in entries:
        info = np.iinfo(dt) if dt.kind in "ui" else np.finfo(dt)
        lo = max(r.lo, float(info.min))
        lo = float(math.ceil(lo)) if dt.kind in "ui" else lo
        if lo <= min(r.hi, float(info.max)):
            return lo
    return None


def _file_by_band(dataset) -> dict | None:
    """The nodata ``dataset``'s file declares, by band (``{band: (value,)}``, bands without one left
    out), when its bands do not all declare the same (a VRT of single-band files, each with its
    own); None when they do (one value or none: band 1's is every band's)."""
    vals = tuple(dataset.nodatavals)
    same = all(v == vals[0] or (v is not None and vals[0] is not None and math.isnan(v) and math.isnan(vals[0]))
               for v in vals)
    if same or getattr(dataset, "palette_expanded", None):
        return None
    # a value its band cannot hold matches no pixel (as GDAL's mask): not declared on the output either
    bands = {b: (float(v),) for b, (v, dt) in enumerate(zip(vals, dataset.dtypes), 1)
             if v is not None and nodata_as(v, dt) is not None}
    return bands or None


def with_nodata(dataset, nodata):
    """``dataset`` with every band's nodata replaced (:data:`NO_NODATA`: no nodata; several values
    or ranges: each is nodata, the first number declared; ``{band: values}``: each band's).
    ``None``: the file's, ``dataset`` as is, unless its bands declare different values (band 1
    none, band 2 0, band 3 255): then each band's own, as given by band, and the output declares
    the first band's that has one (not given: no ``LDCSR_NODATA``). Refuses a value the bands
    cannot hold, a band the raster does not have, and colour-table rasters (their transparency is
    the table's; the engine expands it itself)."""
    nodata = parse_nodata(nodata)
    given = nodata is not None
    if nodata is None and not hasattr(dataset, "band_nodata"):  # (not one this made already)
        nodata = _file_by_band(dataset)
    if nodata is None:
        return dataset
    name = str(getattr(dataset, "name", "the input"))
    name = "the image" if name.startswith("/vsimem/") else name  # an array (a napari layer)
    if getattr(dataset, "palette_expanded", None):
        raise InputError(f"{name}: nodata cannot be set on a raster with a colour table (its "
                         "transparent entries say what is nodata)")
    declared, per_band, values = _applied(nodata, dataset.count, dataset.dtypes, name, given)
    if per_band is not None:
        return NodataOverride(dataset, declared, per_band=per_band, given=given)
    return NodataOverride(dataset, declared, values)


def _applied(nodata, count: int, dtypes, name: str, given: bool = True):
    """``(declared, each band's entries or None, the entries of every band)`` of a parsed nodata
    (not None) on a raster of ``count`` bands of ``dtypes``: :func:`with_nodata`'s rule."""
    if isinstance(nodata, dict):
        missing = sorted(b for b in nodata if b > count)
        if missing:
            raise InputError(f"{quoted_nodata(nodata)}: {name} has no band {missing[0]} (it has {count})")
        per_band = tuple(nodata.get(b, ()) for b in range(1, count + 1))
    else:
        per_band = None
    values = () if nodata == NO_NODATA else nodata if isinstance(nodata, tuple) else (nodata,)
    entries = [v for band in per_band for v in band] if per_band is not None else list(values)
    for value in entries if given else ():  # the file's own: as GDAL masks them (_file_by_band)
        for dtype in set(dtypes):
            check_fits(value, dtype, name)
    return _first_declared(nodata, dtypes[0]), per_band, values


def declared_nodata(nodata, dtype, own: float | None = None) -> float | None:
    """The one nodata value an output of ``dtype`` declares, and writes on every invalid pixel of every
    band, for a user's nodata (any form :func:`parse_nodata` takes; None: the source's ``own``): the
    first number, else a value of the first range ``dtype`` holds; by band, the first band's that has
    one; on a float output with none (``"none"`` too), NaN (:func:`~.nodata_masks.output_nodata`).
    A napari result's layer records it as the engine's file declares it."""
    nodata = parse_nodata(nodata)
    return output_nodata(own if nodata is None else _first_declared(nodata, dtype), dtype)


def _first_declared(nodata, dtype) -> float | None:
    """:func:`declared_nodata` before the float rule (None: none): :class:`NodataOverride`'s value."""
    if nodata is None or nodata == NO_NODATA:
        return None
    by_band = [nodata[b] for b in sorted(nodata)] if isinstance(nodata, dict) else \
        [nodata if isinstance(nodata, tuple) else (nodata,)]
    return next((d for entries in by_band if (d := _declared(entries, dtype)) is not None), None)


def band_nodata(nodata, count: int, dtype, *, given: bool = True, name: str = "the image") -> tuple:
    """``(declared, entries)`` of a nodata as :func:`with_nodata` applies it to a raster of ``count``
    bands of ``dtype`` without opening one (a napari layer's pixels read by the live lens): the value
    an output declares and writes on every invalid pixel (None: none), and each band's nodata
    entries (numbers and ranges, ``()``: none) for :func:`~.nodata_masks.valid_mask`. ``nodata``:
    any form :func:`parse_nodata` takes (None: none); ``given``: the user's (checked against
    ``dtype``), else the layer's own."""
    nodata = parse_nodata(nodata)
    if nodata is None:
        return None, ((),) * count
    declared, per_band, values = _applied(nodata, count, (np.dtype(dtype).name,), name, given)
    return declared, per_band if per_band is not None else (values,) * count
