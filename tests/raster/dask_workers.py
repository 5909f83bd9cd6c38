"""Real ``dask worker`` processes, each in its own folder, on a scheduler in the test process: a
cluster whose workers see different files at the model's path (as two machines would)."""

from __future__ import annotations

import contextlib

import distributed

PER_WORKER_MODEL = "/proc/self/cwd/tiny.safetensors"  # each worker process's own working folder


@contextlib.contextmanager
def workers_in(folders, timeout=120):
    """A scheduler (in this process) and one real ``dask worker`` process (no nanny) per folder,
    each started in that folder: ``(client, {folder: (address, process)}, start)``, where
    ``start(folder)`` adds one more such worker and returns its ``(address, process)``."""
    import os
    import subprocess
    import sys

    cluster = distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    procs = []

    def launch(folder):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address, "--nthreads", "1",
             "--no-nanny", "--no-dashboard", "--name", folder.name], cwd=folder, env=dict(os.environ),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return procs[-1]

    def named(name):
        return {w["name"]: a for a, w in c.scheduler_info(n_workers=-1)["workers"].items()}[name]

    def start(folder):
        p = launch(folder)
        c.wait_for_workers(len(procs), timeout=timeout)
        return named(folder.name), p

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


def split(tmp_path, tiny_model_file, bad):
    """``good/`` holds the client's model; ``bad/`` holds another one (``"other weights"``) or none."""
    import shutil

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    good, broken = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    broken.mkdir()
    shutil.copy(tiny_model_file, good / "tiny.safetensors")
    if bad == "other weights":
        ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(), seed=1),
                              broken / "tiny.safetensors", name="tiny-test", version="0")
    return good, broken


def ldcsr_plugins(client):
    """The engine's worker plugins (``ldcsr-*``) the scheduler holds, sorted."""
    return client.run_on_scheduler(lambda dask_scheduler: sorted(n for n in dask_scheduler.worker_plugins
                                                                 if n.startswith("ldcsr-")))
