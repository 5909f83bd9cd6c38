"""The threads a Dask worker runs a tile on (its share of its machine's cores, or the client's fixed
count) and the output's ``LDCSR_THREADS`` tag that says so. The model on the workers:
test_dask_model.py."""

from __future__ import annotations

import contextlib
import functools
import warnings

import pytest
import rasterio

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.distributed import DaskRunner, ModelSource  # noqa: E402
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster  # noqa: E402

SEEN: list[int] = []  # torch's thread count each time a module of the model ran (in the worker's process)


def _model_noting_its_threads():
    """The tiny_model fixture's model, built on a worker: each module's forward notes torch's
    thread count in the thread that runs it."""
    import torch

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    for m in model.modules():
        m.register_forward_hook(lambda *_: SEEN.append(torch.get_num_threads()))
    return model


def _threads_seen():
    seen = sorted(set(SEEN))
    SEEN.clear()
    return seen


def _cores():
    from ldcsr_core.threads import available_cores

    return available_cores()


def _torch_threads():
    import torch

    return torch.get_num_threads()


def _run_noting(c, src, out, tiny_model, builder=_model_noting_its_threads, callback=None, **kw):
    """``src`` upscaled ×2 on ``c``'s workers by ``builder``'s model (``kw``: the runner's); the
    runner, closed."""
    runner = DaskRunner(c, ModelSource(builder=builder, key=builder.__name__), **kw)
    try:
        upscale_raster(src, out, model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast", tile=32),
                       runner=runner, callback=callback)
    finally:
        runner.close()
    return runner


@pytest.mark.slow
def test_each_worker_runs_its_tiles_on_its_share_of_its_own_cores(rasters, tiny_model, tmp_path, client,
                                                                   monkeypatch):
    """Before: every worker ran its tiles on the client's thread count (its auto count, here 1),
    whatever the worker's cores and Dask threads (a 32-core worker on 1 thread, a worker of 4 Dask
    threads on a 4-core machine on 4 × the client's), and a shared cluster's worker kept torch at
    that count after the run. Now each runs (its cores // the Dask threads of the workers on its
    machine), and its own count after; ``--dask local:N``'s workers share this machine's cores (checked
    on the local:1 cluster of test_a_dask_output_records_the_threads_its_workers_ran). Before that:
    the worker processes of one machine each took all its cores (2 × 2 torch threads on 2 cores)."""
    import torch

    from ldcsr_core import threads

    monkeypatch.delenv(threads.ENV, raising=False)  # the client in auto: its count is not the workers'
    monkeypatch.setattr(threads, "_override", None)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    two = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    c2 = distributed.Client(two)
    try:
        assert threads.policy() == ("auto", 1)
        for i, c in enumerate((client, c2)):  # 2 processes of 1 Dask thread; 1 in-process worker of 2
            workers = sorted(c.nthreads())
            own = {a: c.submit(_torch_threads, workers=[a], pure=False).result() for a in workers}
            _run_noting(c, rasters["uint16_nodata"], tmp_path / f"o{i}.tif", tiny_model)
            seen, cores, nthreads = c.run(_threads_seen), c.run(_cores), c.nthreads()
            ran = {a: s for a, s in seen.items() if s}
            assert ran, seen  # tiles were computed on the workers
            # the worker processes of one machine share its cores: here all of them (both are local)
            assert ran == {a: [max(1, cores[a] // sum(nthreads.values()))] for a in ran}, (seen, cores, nthreads)
            # torch threads of the tiles running at once on this machine: not more than its cores
            # (before: 2 processes × 1 Dask thread × 2 torch threads on 2 cores)
            assert sum(ran.get(a, [1])[0] * n for a, n in nthreads.items()) <= max(max(cores.values()),
                                                                                   sum(nthreads.values()))
            assert {a: c.submit(_torch_threads, workers=[a], pure=False).result() for a in workers} == own
    finally:
        torch.set_num_threads(before)
        c2.close()
        two.close()


@pytest.mark.slow
def test_a_dask_output_records_the_threads_its_workers_ran(rasters, tiny_model, tmp_path, client, monkeypatch):
    """Before: a Dask output's LDCSR_THREADS tag was the client's policy ('auto:1' here) although each
    worker ran its tiles on its share of its own cores. Now 'auto:workers' ('--dask local:N':
    'auto:workers:K', the share this machine's cores give each); a count fixed on the client is the
    tag of a run here, as before. The request's fingerprint (LDCSR_JOB) is a run's here: a resumed
    run skips the Dask output, and the Dask run one made here. The local:1 run, with port 8787 taken,
    prints no port warning (below)."""
    import ldcsr_core
    from ldcsr_core import threads
    from ldcsr_core.config import tiny_test_config
    from ldcsr_core.geo.distributed import dask_runner

    src = rasters["uint16_nodata"]
    kw = dict(model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast", tile=32))
    source = ModelSource(builder=functools.partial(ldcsr_core.build_model, config=tiny_test_config(), seed=0),
                         key="tiny-test-seed0")

    def tags(name):
        with rasterio.open(tmp_path / name) as ds:
            return ds.tags()

    def on_dask(name, runner=None, **more):
        with contextlib.ExitStack() as stack:
            if runner is None:
                runner = DaskRunner(client, source)
                stack.callback(runner.close)
            return upscale_raster(src, tmp_path / name, runner=runner, **kw, **more)

    monkeypatch.delenv(threads.ENV, raising=False)  # the client in auto
    monkeypatch.setattr(threads, "_override", None)
    upscale_raster(src, tmp_path / "here.tif", **kw)
    assert tags("here.tif")["LDCSR_THREADS"] == threads.provenance_value() == f"auto:{threads.policy()[1]}"
    on_dask("dask.tif")
    assert tags("dask.tif")["LDCSR_THREADS"] == "auto:workers"
    assert tags("dask.tif")["LDCSR_JOB"] == tags("here.tif")["LDCSR_JOB"]
    resume = OutputOptions(skip_complete=True)
    assert upscale_raster(src, tmp_path / "dask.tif", output=resume, **kw).status == "skipped"  # resumed here
    assert on_dask("here.tif", output=resume).status == "skipped"  # and on the cluster
    with port_8787_taken(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dask_runner("local:1", source) as runner:
            # --dask local:N's workers share this machine's cores (before in test_each_worker_runs_its_tiles_...)
            assert runner.source.threads == threads.worker_threads(1) == threads.available_cores()
            on_dask("local.tif", runner)
    assert tags("local.tif")["LDCSR_THREADS"] == f"auto:workers:{threads.worker_threads(1)}"
    # Before: with port 8787 taken (a Dask dashboard or scheduler already on this machine), '--dask
    # local:N' printed distributed's 'UserWarning: Port 8787 is already in use. Perhaps you already have
    # a cluster running? Hosting the HTTP server on port … instead' (4 lines), although the run asks
    # for no dashboard: the scheduler's HTTP server (health routes) still took that port. (Checked on
    # this run's local cluster: one cluster start, not one more of its own.)
    assert not [str(w.message) for w in caught if "already in use" in str(w.message)]
    monkeypatch.setenv(threads.ENV, "1")  # fixed: every worker runs the client's count, as before
    upscale_raster(src, tmp_path / "here1.tif", **kw)
    on_dask("dask1.tif")
    assert tags("dask1.tif")["LDCSR_THREADS"] == tags("here1.tif")["LDCSR_THREADS"] == "1"


@contextlib.contextmanager
def port_8787_taken():
    """Port 8787 (Dask's dashboard's) held by a socket here, unless already taken (as on the user's
    machine)."""
    import socket

    held = socket.socket()
    try:
        held.bind(("", 8787))
        held.listen(1)
    except OSError:  # already taken
        pass
    try:
        yield
    finally:
        held.close()


def test_the_workers_that_share_cores_are_those_on_one_machine_whose_cpu_sets_overlap():
    """Before: the workers of one address were taken to share its cores, so workers in separate
    cpusets of one node (Slurm jobs, containers on the host's network) each divided its own cores by
    all their threads. Now those whose CPU sets overlap; one whose set is not known shares with all
    on its machine (as before), never with another machine's."""
    from ldcsr_core.geo.dask_model import shared_threads

    a, b, c, d = (f"tcp://10.0.0.{h}:{p}" for h, p in ((1, 4001), (1, 4002), (1, 4003), (2, 4001)))
    nthreads = {a: 1, b: 2, c: 4, d: 8}
    by_ip = {w: sum(n for v, n in nthreads.items() if v.rsplit(":", 1)[0] == w.rsplit(":", 1)[0]) for w in nthreads}
    one_set = dict.fromkeys(nthreads, (0, 1, 2, 3))
    assert shared_threads(nthreads, one_set) == shared_threads(nthreads, {}) == by_ip == {a: 7, b: 7, c: 7, d: 8}
    assert shared_threads(nthreads, {a: (0, 1), b: (2, 3), c: (4, 5), d: (0, 1)}) == nthreads  # disjoint
    assert shared_threads(nthreads, {a: (0, 1), b: (1, 2), c: (4, 5), d: (0, 1)}) == {a: 3, b: 3, c: 4, d: 8}
    assert shared_threads(nthreads, {a: (0, 1), b: None, c: (4, 5), d: (0, 1)}) == {a: 3, b: 7, c: 6, d: 8}
    assert shared_threads({"inproc://x/1/2": 3, **nthreads}, {})["inproc://x/1/2"] == 3


def _affinity(cpus):
    import os

    os.sched_setaffinity(0, cpus)
    return sorted(os.sched_getaffinity(0))


@pytest.mark.slow
def test_workers_in_disjoint_cpu_sets_of_one_machine_each_run_on_their_own_cores(client, monkeypatch):
    """The CPU sets the workers say (os.sched_getaffinity, set here as a cpuset would): two worker
    processes of this machine in disjoint sets do not share, in one set they do (today's numbers)."""
    import os

    from ldcsr_core.geo.dask_model import cpu_set

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs 2 CPUs")
    a, b = sorted(client.nthreads())
    try:
        assert client.run(_affinity, {cpus[0]}, workers=[a])[a] == [cpus[0]]
        assert client.run(_affinity, set(cpus[1:]), workers=[b])[b] == cpus[1:]
        assert client.run(cpu_set) == {a: (cpus[0],), b: tuple(cpus[1:])}
        runner = DaskRunner(client, ModelSource(builder=functools.partial(int, 0), key="zero"))
        runner.close()
        assert runner.sharing == {a: 1, b: 1}  # before: {a: 2, b: 2}
    finally:
        client.run(_affinity, set(cpus))
    runner = DaskRunner(client, ModelSource(builder=functools.partial(int, 0), key="zero"))
    runner.close()
    assert runner.sharing == {a: 2, b: 2}


@pytest.mark.slow
def test_a_worker_runs_its_tiles_on_its_own_cores_when_no_other_worker_shares_them(rasters, tiny_model, tmp_path,
                                                                                   monkeypatch):
    """Two in-process workers of 1 Dask thread, whose CPU sets are made to say disjoint sets (as
    they would in two cpusets) and then one set: each tile runs on all the cores (before: half),
    then on half, as before."""
    import torch

    from ldcsr_core import threads
    from ldcsr_core.geo import dask_model

    cores = threads.available_cores()
    if cores < 2:
        pytest.skip("needs 2 cores")
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "_override", None)
    before = torch.get_num_threads()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        workers = sorted(c.nthreads())
        for name, sets, share in (("apart", {w: (i,) for i, w in enumerate(workers)}, cores),
                                  ("together", dict.fromkeys(workers, (0, 1)), cores // 2)):
            monkeypatch.setattr(dask_model, "cpu_set", lambda dask_worker, sets=sets: sets[dask_worker.address])
            runner = _run_noting(c, rasters["uint16_nodata"], tmp_path / f"{name}.tif", tiny_model)
            assert runner.sharing == {w: 2 if name == "together" else 1 for w in workers}
            assert _threads_seen() == [share], name
    finally:
        torch.set_num_threads(before)
        c.close()
        cluster.close()


def _slow_model_noting_its_threads():
    """:func:`_model_noting_its_threads`, each tile taking 0.2 s more: the client waits for it."""
    import time

    model = _model_noting_its_threads()
    model.register_forward_hook(lambda *_: time.sleep(0.2))
    return model


@pytest.mark.slow
def test_the_cores_of_a_worker_that_left_mid_run_go_to_the_others_at_the_next_look(tiny_model, tmp_path, monkeypatch):
    """A worker that leaves mid-run is counted among those sharing its machine's cores until the
    next look: the client's question to the scheduler (which workers are alive) while it waits for a
    tile, every DaskRunner.POLL s. The tiles sent after it run on the cores the others now share;
    those already sent keep their count."""
    import numpy as np
    import torch

    from ldcsr_core import threads

    from .conftest import smooth_field, write_tif

    cores = threads.available_cores()
    if cores < 2:
        pytest.skip("needs 2 cores")
    src = write_tif(tmp_path / "in.tif", smooth_field(np.random.default_rng(3), 96, 96, 3, 0, 255).round(), dtype="uint8")
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "_override", None)
    monkeypatch.setattr(DaskRunner, "POLL", 0.05)
    before = torch.get_num_threads()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        a, b = sorted(c.nthreads())
        counts = []  # the torch threads of each tile, as the tiles come back

        def leave_after_two(p):
            counts.append(_threads_seen())
            if p.done == 2:
                c.retire_workers([b], close_workers=True)
        runner = _run_noting(c, src, tmp_path / "o.tif", tiny_model, _slow_model_noting_its_threads, in_flight=1,
                             callback=leave_after_two)
        assert runner.sharing == {a: 1}
        ran = [n for n in counts if n]
        assert ran[0] == [cores // 2] and ran[-1] == [cores], counts
    finally:
        torch.set_num_threads(before)
        c.close()
        cluster.close()
