"""Real ``dask worker`` processes, each in its own folder, on a scheduler in the test process: a
cluster whose workers see different files at the model's path (as two machines would)."""

from __future__ import annotations

import contextlib

import distributed

PER_WORKER_MODEL = "/proc/self/cwd/tiny.safetensors"  # each worker process's own working folder
# The session's cluster idles through the whole session: no statistical profiler (a sample every
# 10 ms), the system monitor every 5 s (not 0.5 s), the event loop's health tick and the worker's
# memory monitor every 1 s (not 20 ms, 100 ms): in the scheduler here and in each worker process (its
# environment). Idle, the 2 workers and this process took ~3 % of a core each, now ~0.3-0.6 %. No test
# reads a profile or the monitors' numbers, or drives a worker of the pair near its memory limit.
IDLE_QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "5s",
              "distributed.admin.tick.interval": "1s", "distributed.worker.memory.monitor-interval": "1s"}
IDLE_QUIET_ENV = {"DASK_" + k.upper().replace(".", "__").replace("-", "_"): str(v) for k, v in IDLE_QUIET.items()}


@contextlib.contextmanager
def workers_in(folders, timeout=120):
    """A scheduler (in this process) and one real ``dask worker`` process (no nanny) per folder,
    each started in that folder: ``(client, {folder: (address, process)}, start)``, where
    ``start(folder)`` adds one more such worker and returns its ``(address, process)``."""
    import os
    import subprocess
    import sys

    import dask

    with dask.config.set(IDLE_QUIET):  # read as the scheduler starts
        cluster = distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                           dashboard_address=None)
    # Not the default client: kept for the session (conftest.two_machines), it would take every later
    # test's dask compute (napari's lazy layers, pixel digests) onto these workers.
    c = distributed.Client(cluster, set_as_default=False)
    procs = []
    # This process's import path, as a LocalCluster's worker processes get it: functions of the test
    # modules (pickled by reference) run on the workers.
    path = os.pathsep.join(os.path.abspath(p) for p in sys.path if os.path.isdir(p or "."))

    def launch(folder):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address, "--nthreads", "1",
             "--no-nanny", "--no-dashboard", "--name", folder.name], cwd=folder,
            env={**os.environ, **IDLE_QUIET_ENV, "PYTHONPATH": path}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        return procs[-1]

    def named(name):
        return {w["name"]: a for a, w in c.scheduler_info(n_workers=-1)["workers"].items()}[name]

    def start(folder):  # waited for by its name: workers started earlier may have been stopped
        import time

        p = launch(folder)
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(KeyError):
                return named(folder.name), p
            assert p.poll() is None and time.monotonic() < deadline, f"no worker started in {folder}"
            time.sleep(0.05)

    try:
        started = [launch(f) for f in folders]
        c.wait_for_workers(len(folders), timeout=timeout)
        yield c, {f: (named(f.name), p) for f, p in zip(folders, started)}, start
    finally:
        c.close()
        cluster.close()
        for p in procs:
            p.kill()
            p.wait()


def ldcsr_plugins(client):
    """The engine's worker plugins (``ldcsr-*``) the scheduler holds, sorted."""
    return client.run_on_scheduler(lambda dask_scheduler: sorted(n for n in dask_scheduler.worker_plugins
                                                                 if n.startswith("ldcsr-")))


class Machines:
    """Two real ``dask worker`` processes (:func:`workers_in`) kept for the test session: ``good/`` holds the
    client's model, ``bad/`` none unless a test puts one there (:meth:`put`). Each test gets them as it
    found them (:meth:`for_a_test`): ``bad/`` emptied, the workers it started stopped, no plugin left.
    Starting two worker processes that import torch costs seconds of CPU: once a session, not per test."""

    def __init__(self, c, workers, start, good, bad, model_file):
        self.c, self._start, self.good, self.bad, self.model_file = c, start, good, bad, model_file
        self.ok, self.left = workers[good][0], workers[bad][0]
        self._started = []

    def start(self, folder):
        """One more worker, in ``folder``: ``(address, process)``; stopped at the test's end."""
        addr, p = self._start(folder)
        self._started.append((addr, p))
        return addr, p

    def put(self, what: str) -> None:
        """``bad/tiny.safetensors``: ``"other weights"`` (another model), ``"the model"`` (the client's)."""
        import shutil

        import ldcsr_core
        from ldcsr_core.config import tiny_test_config

        if what == "the model":
            shutil.copy(self.model_file, self.bad / "tiny.safetensors")
        else:
            assert what == "other weights", what
            ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(), seed=1),
                                  self.bad / "tiny.safetensors", name="tiny-test", version="0")

    def executed(self) -> dict[str, int]:
        """Each worker's executed task count (all its life long: compare with one taken before)."""

        def executed(dask_worker):  # nested: pickled by value (the workers cannot import the tests)
            import time

            deadline = time.monotonic() + 30
            while dask_worker.state.executing and time.monotonic() < deadline:  # e.g. a cancelled duplicate
                time.sleep(0.05)
            return dask_worker.state.executed_count

        return self.c.run(executed)

    @contextlib.contextmanager
    def for_a_test(self):
        import time

        from ldcsr_core.geo.dask_model import remove_plugin

        assert set(self.c.nthreads()) == {self.ok, self.left}, "a worker of the session's pair is gone"
        try:
            yield self
        finally:
            for addr, p in self._started:
                p.kill()
                p.wait()
            deadline = time.monotonic() + 60
            while set(self.c.nthreads()) - {self.ok, self.left} and time.monotonic() < deadline:
                time.sleep(0.05)
            for addr, _ in self._started:  # the scheduler may list a killed worker an instant longer
                assert addr not in self.c.nthreads(), addr
            self._started.clear()
            for f in self.bad.iterdir():
                f.unlink()
            for name in ldcsr_plugins(self.c):  # a test that failed before its runner closed
                remove_plugin(self.c, name)


@contextlib.contextmanager
def machines(folder, tiny_model_file):
    """:class:`Machines` in ``folder`` (for a session-scoped fixture)."""
    import shutil

    good, bad = folder / "good", folder / "bad"
    good.mkdir()
    bad.mkdir()
    shutil.copy(tiny_model_file, good / "tiny.safetensors")
    with workers_in([good, bad]) as (c, workers, start):
        yield Machines(c, workers, start, good, bad, tiny_model_file)
