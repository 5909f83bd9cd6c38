"""The ``ldcsr`` command line (click). Library modules hold no click code; commands live here."""

from .commands import LAZY_COMMANDS, main

__all__ = ["main", "LAZY_COMMANDS"]
