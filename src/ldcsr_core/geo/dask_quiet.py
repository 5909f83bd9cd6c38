"""Quiet in ``--dask local:N``'s workers the one line distributed prints on a Ctrl-C for each tile a
worker was computing: ``distributed.worker.state_machine - WARNING - Async instruction for <Task
cancelled …> ended with CancelledError`` (the run says it was interrupted). Every other worker
line, memory-pressure warnings too, still shows. Installed by :class:`QuietCancelledTasks`, a
worker plugin given to the local cluster's workers (and to any its nannies restart)."""

from __future__ import annotations

import logging

__all__ = ["QuietCancelledTasks", "cancelled_task_line"]

# The logger distributed's worker state machine says it on (distributed.worker_state_machine).
STATE_MACHINE_LOGGER = "distributed.worker.state_machine"


def cancelled_task_line(record: logging.LogRecord) -> bool:
    """Is ``record`` distributed's 'Async instruction for <Task cancelled …> ended with CancelledError'?"""
    message = record.getMessage()
    return message.startswith("Async instruction for <Task cancelled") and message.endswith(
        "ended with CancelledError")


class _DropCancelledTasks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not cancelled_task_line(record)


try:  # the plugin base class only exists with the cluster extra installed
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask not installed
    _WorkerPlugin = object


class QuietCancelledTasks(_WorkerPlugin):
    """Adds the filter to the worker's state-machine logger, once per process. It stays on at the
    worker's close, which cancels the tasks (and says so) before it removes the plugins."""

    name = "ldcsr-quiet-cancelled-tasks"

    def setup(self, worker) -> None:
        log = logging.getLogger(STATE_MACHINE_LOGGER)
        if not any(isinstance(f, _DropCancelledTasks) for f in log.filters):
            log.addFilter(_DropCancelledTasks())
