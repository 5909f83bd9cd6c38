"""Words for the messages every front end shows (torch-free)."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word`` in agreement: ``1 tile``, ``0 tiles``, ``3 tiles`` (``plural`` where it is
    not ``word + "s"``)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"
