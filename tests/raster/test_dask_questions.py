"""The questions the Dask runner asks its workers at the start (``client.run``: do they hold the model,
which cores may they use): a scheduler that refuses them, workers slow to answer.

In-process LocalClusters (processes=False): the scheduler's handlers can be made to refuse, and its
log lines are this process's."""

from __future__ import annotations

import functools
import logging

import pytest

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.distributed import DaskRunner, ModelSource  # noqa: E402


def _refuse(*args, **kwargs):
    raise RuntimeError("refused by policy")


@pytest.fixture
def in_process():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        with distributed.Client(cl) as c:
            yield cl, c


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_scheduler_refusing_client_run_logs_one_error_and_the_client_says_the_fallback_in_one_line(in_process):
    """Before: the scheduler logged 'Exception while handling op broadcast' (and its traceback) twice,
    for the model question and then for the CPU sets, and the client said nothing without -v. Now
    once, and the client warns in one line what it does without the answers."""
    cl, c = in_process
    cl.scheduler.handlers["broadcast"] = _refuse
    cl.scheduler.handlers["run_function"] = _refuse  # run_on_scheduler refused too (stale plugins)
    seen = _Records()
    loggers = [logging.getLogger(n) for n in ("distributed.core", "ldcsr_core")]
    for lg in loggers:
        lg.addHandler(seen)
    try:
        runner = DaskRunner(c, ModelSource(builder=functools.partial(int, 0), key="refused"), timeout=5)
        runner.close()
    finally:
        for lg in loggers:
            lg.removeHandler(seen)
    broadcasts = [r for r in seen.records if r.name == "distributed.core" and "op broadcast" in r.getMessage()]
    assert len(broadcasts) == 1, [r.getMessage() for r in broadcasts]
    said = [r.getMessage() for r in seen.records if r.name.startswith("ldcsr_core") and r.levelno >= logging.WARNING]
    assert said == [f"the Dask scheduler at {cl.scheduler.address} did not run the client's question on its "
                    "workers (refused by policy): without their answers all workers get tiles, and each shares "
                    "its machine's cores with all the Dask threads there"], said
    workers = set(c.nthreads())
    assert runner.usable == workers and runner.cores.cpus == dict.fromkeys(workers)
    assert runner.sharing == dict.fromkeys(workers, 2)  # both on this machine, sets unknown
