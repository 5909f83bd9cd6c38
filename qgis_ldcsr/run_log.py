"""The engine's log records of a run, in that run's Processing log: QGIS runs several algorithms at
once, in background tasks, and the engine's logger is shared by all of them."""

from __future__ import annotations

import contextvars
import logging

#: The handler of the run going on in this thread (and in the engine threads it starts, which run in
#: a copy of its context): QGIS runs algorithms in background tasks, several at once.
RUN: contextvars.ContextVar = contextvars.ContextVar("ldcsr_qgis_run", default=None)


class FeedbackLog(logging.Handler):
    """Forwards the engine's log records (e.g. stale part files removed) to the feedback log of the
    run that emitted them: the handler sits on the engine's logger, shared by every run of the
    process, and takes only the records of its own run (:data:`RUN`)."""

    def __init__(self, feedback):
        super().__init__(logging.INFO)
        self.feedback = feedback

    def filter(self, record: logging.LogRecord) -> bool:
        return RUN.get() is self and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING and hasattr(self.feedback, "pushWarning"):
            self.feedback.pushWarning(msg)
        else:
            self.feedback.pushInfo(msg)


def feedback_or_stand_in(feedback):
    """``feedback``, or where a script gave none (``alg.run(params, context, None)``, as QGIS's API allows) a
    ``QgsProcessingFeedback`` of the run's own, which logs what it is told to QGIS's message log: before, the run
    failed on its first message ('NoneType' object has no attribute 'pushInfo') and QGIS crashed."""
    if feedback is not None:
        return feedback
    from qgis.core import QgsProcessingFeedback

    return QgsProcessingFeedback()
