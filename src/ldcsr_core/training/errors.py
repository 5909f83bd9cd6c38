"""The training package's own errors (kept apart so that every training module can raise them)."""

from __future__ import annotations

from ..errors import CheckpointError

__all__ = ["TrainingError", "ResumeError"]


class TrainingError(RuntimeError):
    """Training cannot start or continue (bad init weights, unreadable checkpoint, ...)."""


class ResumeError(TrainingError, CheckpointError):
    """``--resume`` got a file that is not a checkpoint of this run: unreadable or cut short, not
    written by the trainer, or of another model (exit status 6, as any checkpoint error)."""

    __str__ = CheckpointError.__str__
