"""The questions the Dask runner asks its workers at the start (``client.run``: do they hold the model,
which cores may they use): a scheduler that refuses them, workers slow to answer.

In-process LocalClusters (processes=False): the scheduler's handlers can be made to refuse, and its
log lines are this process's."""

from __future__ import annotations

import functools
import logging
import time

import pytest

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo import dask_model  # noqa: E402
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


def test_workers_slow_to_say_their_cpu_sets_are_waited_for_at_the_start(in_process, monkeypatch):
    """A loaded machine: the workers take 1.5 s each to say their CPU sets (disjoint, as two cpusets).
    Before: the start waited 2 s, and the first tiles ran as if the two shared their cores (half
    their threads each). Now the start takes their answers; answers in ms are not waited longer."""
    _, c = in_process
    a, b = workers = sorted(c.nthreads())
    sets = {a: (0,), b: (1,)}

    def slow_cpu_set(dask_worker):
        time.sleep(1.5)  # in the cluster's one event loop: the two answers take 3 s (past the old 2 s)
        return sets[dask_worker.address]

    monkeypatch.setattr(dask_model, "cpu_set", slow_cpu_set)
    runner = DaskRunner(c, ModelSource(builder=functools.partial(int, 0), key="slow-sets"), timeout=20)
    runner.close()
    assert runner.sharing == dict.fromkeys(workers, 1)  # before: {a: 2, b: 2}
    monkeypatch.setattr(dask_model, "cpu_set", lambda dask_worker: sets[dask_worker.address])
    t0 = time.monotonic()
    runner = DaskRunner(c, ModelSource(builder=functools.partial(int, 0), key="quick-sets"), timeout=20)
    runner.close()
    assert runner.sharing == dict.fromkeys(workers, 1)
    assert time.monotonic() - t0 < 8.0  # not the 10 s cap (a loaded 2-core machine may take seconds to start)


def test_the_start_waits_only_for_the_cpu_sets_of_the_workers_that_answered_the_look(in_process, monkeypatch):
    """A worker that joined after the model question loads the model, and answers only after its load:
    the start asks the others (``among``); it is asked at a later look, and shares with all meanwhile."""
    _, c = in_process
    a, b = workers = sorted(c.nthreads())
    monkeypatch.setattr(dask_model, "cpu_set", lambda dask_worker: {a: (0,), b: (1,)}[dask_worker.address])
    cores = dask_model.CoreSharing(c)
    assert cores.threads(c.nthreads(), wait=10, among={a}) == dict.fromkeys(workers, 2)
    assert cores.cpus == {a: (0,)}
    assert cores.threads(c.nthreads(), wait=10) == dict.fromkeys(workers, 1)
