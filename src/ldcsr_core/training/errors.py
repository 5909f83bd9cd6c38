"""The training package's own error (kept apart so that every training module can raise it)."""

from __future__ import annotations

__all__ = ["TrainingError"]


class TrainingError(RuntimeError):
    """Training cannot start or continue (bad init weights, unreadable checkpoint, ...)."""
