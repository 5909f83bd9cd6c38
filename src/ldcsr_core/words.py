"""Words for the messages every front end shows (torch-free)."""

from __future__ import annotations

__all__ = ["bound", "counted", "noun", "path_said", "scale_said", "scale_typed", "shell_word", "signed", "whole_said"]


def noun(n: int, word: str, plural: str | None = None) -> str:
    """``word`` in agreement with ``n``: ``band`` for 1, ``bands`` otherwise (``plural`` where it is
    not ``word + "s"``); for a noun before a list, e.g. ``bands 4, 5``."""
    return word if n == 1 else plural or word + "s"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word`` in agreement: ``1 tile``, ``0 tiles``, ``3 tiles`` (``plural`` where it is
    not ``word + "s"``)."""
    return f"{n} {noun(n, word, plural)}"


def signed(value: float, digits: int = 2) -> str:
    """``value`` with its sign in ``digits`` decimals (``+1.23``, ``-0.37``: a gain in dB), and without one where it
    shows as zero: ``0.00`` for -0.004 or +0.004, never ``-0.00`` (a loss it is not) nor ``+0.00``."""
    text = f"{value:+.{digits}f}"
    return text[1:] if text[1:].strip("0.") == "" else text


def bound(value: float, *, up: bool, digits: int = 6) -> str:
    """``value`` in ``digits`` significant digits (as ``:g``), rounded up (``up``) or down, not to the
    nearest: a limit a message suggests stays on its side when typed back (the finest target
    pixel size rounded up; a pixel size that adds a pixel rounded down)."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

    d = Context(prec=digits, rounding=ROUND_CEILING if up else ROUND_FLOOR).plus(Decimal(value))
    return f"{float(d):.{digits}g}"


def whole_said(n, digits: int = 20) -> str:
    """A whole number (an int, or a ``Decimal`` of one) in a message: in full up to ``digits`` digits, else short, in 3
    significant ones (``1e+400``, ``1.36e+331``): a number past a limit said so, not as its hundreds of digits (nor
    thousands: past 4300, ``str`` refuses an int)."""
    from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal

    d, short = Decimal(n), Context(prec=3, Emax=MAX_EMAX, Emin=MIN_EMIN)  # (text's 1e999999999 too)
    return str(int(d)) if d.adjusted() < digits else f"{short.normalize(short.plus(d)):g}"


def shell_word(path) -> str:
    """``path`` as a shell reads it back as one argument of ``ldcsr``: quoted, and one that starts with
    ``-`` (``./-b.tif``, from a run on ``.``) as a file, not an option."""
    import os
    import shlex

    text = str(path)
    return shlex.quote(os.path.join(os.curdir, text) if text.startswith("-") else text)


def path_said(path) -> str:
    """``path`` as a message names it: as it is, or where a message would not show all of it (a space at its start
    or end, a tab, a line break, a no-break or zero-width space) quoted as Python writes it, its end spaces named:
    ``'/p/o.tif ' (a space at its end)``, not ``/p/o.tif  is not a GeoTIFF name``."""
    import os

    text = os.fspath(path)
    if not isinstance(text, str) or text.isprintable() and text == text.strip():
        return str(text)
    ends = [end for end, char in (("start", text[:1]), ("end", text[-1:])) if char == " "]
    spaces = f" ({'spaces' if len(ends) > 1 else 'a space'} at its {' and '.join(ends)})" if ends else ""
    return repr(text) + spaces


def scale_typed(scale) -> str:
    """A scale as the user can type it back (``-s``, a dialog's field): text as it is (as typed), a number as the
    shortest decimal that reads back as the very same float (Python's ``repr``, ``2`` not ``2.0``): ``1.2345678``
    whole, not ``:g``'s ``1.23457``, which measures another scale."""
    if isinstance(scale, str):
        return scale
    text = repr(float(scale))
    return text[:-2] if text.endswith(".0") else text


def scale_said(scale) -> str:
    """A scale in a message: text as it is (:func:`scale_typed`'s, a run's scale as its pasted command gives it), a
    number in 6 digits (``:g``: a target pixel size's ×1.1111111111111112 is ×1.11111)."""
    return scale if isinstance(scale, str) else f"{float(scale):g}"
