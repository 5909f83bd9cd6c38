"""Words for the messages every front end shows (torch-free)."""

from __future__ import annotations

__all__ = ["counted", "noun"]


def noun(n: int, word: str, plural: str | None = None) -> str:
    """``word`` in agreement with ``n``: ``band`` for 1, ``bands`` otherwise (``plural`` where it is
    not ``word + "s"``); for a noun before a list, e.g. ``bands 4, 5``."""
    return word if n == 1 else plural or word + "s"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word`` in agreement: ``1 tile``, ``0 tiles``, ``3 tiles`` (``plural`` where it is
    not ``word + "s"``)."""
    return f"{n} {noun(n, word, plural)}"
