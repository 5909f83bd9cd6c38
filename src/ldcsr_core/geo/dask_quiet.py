"""Quiet in a run's Dask workers the one line distributed prints for each tile a worker was
computing when the run stops (a Ctrl-C, a cancel through the API) and its cluster closes:
``distributed.worker.state_machine - WARNING - Async instruction for <Task cancelled …> ended with
CancelledError`` (the run says it was interrupted or cancelled). Only the engine's tiles' lines
(their keys begin :data:`TILE_KEY_PREFIX`, :func:`tile_key`): on a shared cluster, the same line for
another user's task, and every other worker line, memory-pressure warnings too, still shows. Installed by :class:`QuietCancelledTasks`, a worker
plugin :func:`quiet_workers` gives every :class:`~ldcsr_core.geo.distributed.DaskRunner`'s cluster
(``--dask local:N``'s, a scheduler address's, an API caller's own): its workers, and those that
join later or that a nanny restarts, keep the filter. Each runner registers it under a name of its
own and removes only that one: a run in progress on a shared cluster keeps it when another ends."""

from __future__ import annotations

import logging
import uuid

__all__ = ["QuietCancelledTasks", "QUIET_PREFIX", "TILE_KEY_PREFIX", "cancelled_task_line", "quiet_workers",
           "removed_twice_line", "tile_key"]

# The logger distributed's worker state machine says it on (distributed.worker_state_machine).
STATE_MACHINE_LOGGER = "distributed.worker.state_machine"
# The logger a worker says a plugin's removal failed on (distributed.worker.Worker.plugin_remove).
WORKER_LOGGER = "distributed.worker"


TILE_KEY_PREFIX = "ldcsr-tile-"  # the Dask key of each tile a DaskRunner submits


def tile_key() -> str:
    """A new Dask key for a tile: :data:`TILE_KEY_PREFIX` and a random part (each submit runs anew)."""
    return f"{TILE_KEY_PREFIX}{uuid.uuid4().hex}"


def cancelled_task_line(record: logging.LogRecord) -> bool:
    """Is ``record`` distributed's 'Async instruction for <Task cancelled name="execute('KEY')" …> ended
    with CancelledError' for one of the engine's tiles (KEY of :func:`tile_key`)?"""
    message = record.getMessage()
    return (message.startswith("Async instruction for <Task cancelled") and f"execute('{TILE_KEY_PREFIX}" in message
            and message.endswith("ended with CancelledError"))


class _DropCancelledTasks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not cancelled_task_line(record)


def removed_twice_line(record: logging.LogRecord) -> bool:
    """Is ``record`` a worker's 'Worker plugin NAME failed to teardown' with its KeyError traceback for one of the
    engine's plugins (its model's, its quieting one) that was already removed? A worker closing (a Ctrl-C on
    ``--dask local:N``) removes every plugin while the run, ending, removes its own: whichever comes second
    finds it gone, which is no failure (before, about one Ctrl-C in four printed that traceback)."""
    from .dask_model import PLUGIN_PREFIX

    exc = record.exc_info[1] if record.exc_info else None
    name = record.args[0] if isinstance(record.args, tuple) and record.args else None
    return (record.msg == "Worker plugin %s failed to teardown" and isinstance(exc, KeyError)
            and isinstance(name, str) and name.startswith((PLUGIN_PREFIX, QUIET_PREFIX)))


class _DropRemovedTwice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not removed_twice_line(record)


try:  # the plugin base class only exists with the cluster extra installed
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask not installed
    _WorkerPlugin = object


class QuietCancelledTasks(_WorkerPlugin):
    """Adds the filter to the worker's state-machine logger, and one for an engine plugin removed twice
    (:func:`removed_twice_line`) to its own logger, once per process. They stay on at the worker's close,
    which cancels the tasks (and says so) before it removes the plugins."""

    name = "ldcsr-quiet-cancelled-tasks"

    def setup(self, worker) -> None:
        for logger, kind in ((STATE_MACHINE_LOGGER, _DropCancelledTasks), (WORKER_LOGGER, _DropRemovedTwice)):
            log = logging.getLogger(logger)
            if not any(isinstance(f, kind) for f in log.filters):
                log.addFilter(kind())


#: The start of a runner's name for the plugin: ``ldcsr-quiet-cancelled-tasks-<8 hex>@<client id>``.
QUIET_PREFIX = QuietCancelledTasks.name + "-"


def quiet_workers(client) -> str:
    """Give ``client``'s cluster :class:`QuietCancelledTasks` under a name of its own, returned (for
    the runner to remove at its end, and a client gone without closing recognised by its id). Before,
    one name for all: the first of two runs on a shared cluster to end removed it, and a worker that
    joined the other run then printed those lines. A cluster that refuses it (or a worker lost
    meanwhile) only keeps those lines."""
    name = f"{QUIET_PREFIX}{uuid.uuid4().hex[:8]}@{getattr(client, 'id', 'client')}"
    try:
        client.register_plugin(QuietCancelledTasks(), name=name)
    except Exception:  # noqa: BLE001 - the run's own checks say what is wrong with the cluster
        pass
    return name
