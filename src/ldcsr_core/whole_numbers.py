"""The rule of a whole number given to a run (its seed, its samples) in every front end: how text of one is read
(:func:`whole_text`: ``ldcsr --seed``, QGIS's SEED and SAMPLES) and how large one may be (:func:`check_whole_size`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from .errors import InputError

__all__ = ["MOST_BITS", "GROUPED_DIGITS", "check_whole_size", "whole_text"]

#: The most bits of a whole number a run takes (its seed, either sign: below 2**4096, up to 1233 digits), in every
#: front end (:func:`check_whole_size`): ``ldcsr --seed`` read up to Python's 4300 digits, QGIS's SEED 2**4096.
MOST_BITS = 4096

#: Digits grouped as ``int`` groups them (``1_000``): one underscore between two digits.
GROUPED_DIGITS = re.compile(r"\s*[+-]?\d+(_\d+)*\s*")
_STRAY_UNDERSCORE = re.compile(r"(?<!\d)_|_(?!\d)")  # one not between two digits: '1__0', '_1', '1_'


def whole_text(text: str) -> Decimal:
    """``text`` as a number, exact (for :func:`check_whole_size`), in any notation ``Decimal`` reads (``'1e3'``,
    ``'7.0'``, full-width digits and point), its digits grouped only as Python groups them (one underscore between
    two digits: ``'1_000'``, ``'1_000.0'``): ``Decimal`` also reads ``'1__0'`` and ``'_1'`` (as 10 and 1), typos, not
    numbers; ValueError or ArithmeticError where it is none."""
    from .rules import point_text

    if _STRAY_UNDERSCORE.search(text):
        raise ValueError(f"not a number: {text!r}")
    return Decimal(point_text(text))


def check_whole_size(value, what: str, given=None) -> int:
    """``value`` (an int, or a ``Decimal``: :func:`whole_text`'s, of thousands of digits, which ``int`` does not read,
    or of another notation, '1e3', '7.0') as an int below 2**:data:`MOST_BITS` in size, else :class:`InputError`:
    naming ``given`` (the value as given) where it is no finite whole number, the number said short where too large."""
    from .words import whole_said

    d = Decimal(value)
    if not d.is_finite() or d != d.to_integral_value():  # (QGIS's SEED '1.5', ldcsr --seed 1.5: not truncated)
        kind = "whole" if d.is_finite() else "finite"
        raise InputError(f"{what} must be a {kind} number, got {value if given is None else given!r}")
    if d.adjusted() > int(MOST_BITS * math.log10(2)) or abs(int(d)).bit_length() > MOST_BITS:  # (1e10**9: no int)
        raise InputError(f"{what} must be less than 2**{MOST_BITS} in size, got {whole_said(d)}")
    return int(d)
