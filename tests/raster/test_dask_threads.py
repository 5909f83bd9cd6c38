"""The threads a Dask worker runs a tile on (its share of its machine's cores, or the client's fixed
count) and the output's ``LDCSR_THREADS`` tag that says so. The model on the workers:
test_dask_model.py."""

from __future__ import annotations

import contextlib
import functools

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


@pytest.mark.slow
def test_each_worker_runs_its_tiles_on_its_share_of_its_own_cores(rasters, tiny_model, tmp_path, client,
                                                                   monkeypatch):
    """Before: every worker ran its tiles on the client's thread count (its auto count, here 1),
    whatever the worker's cores and Dask threads (a 32-core worker on 1 thread, a worker of 4 Dask
    threads on a 4-core machine on 4 × the client's), and a shared cluster's worker kept torch at
    that count after the run. Now each runs (its cores // the Dask threads of the workers on its
    machine), and its own count after; ``--dask local:N``'s workers share this machine's cores. Before
    that: the worker processes of one machine each took all its cores (2 × 2 torch threads on 2 cores)."""
    import torch

    from ldcsr_core import threads
    from ldcsr_core.geo.distributed import dask_runner

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
            runner = DaskRunner(c, ModelSource(builder=_model_noting_its_threads, key="noting"))
            try:
                upscale_raster(rasters["uint16_nodata"], tmp_path / f"o{i}.tif", model=tiny_model, scale=2.0,
                               options=UpscaleOptions(mode="fast", tile=32), runner=runner)
            finally:
                runner.close()
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
        with dask_runner("local:1", ModelSource(builder=functools.partial(int, 0), key="zero")) as runner:
            assert runner.source.threads == threads.worker_threads(1) == threads.available_cores()
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
    run skips the Dask output, and the Dask run one made here."""
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
    with dask_runner("local:1", source) as runner:
        on_dask("local.tif", runner)
    assert tags("local.tif")["LDCSR_THREADS"] == f"auto:workers:{threads.worker_threads(1)}"
    monkeypatch.setenv(threads.ENV, "1")  # fixed: every worker runs the client's count, as before
    upscale_raster(src, tmp_path / "here1.tif", **kw)
    on_dask("dask1.tif")
    assert tags("dask1.tif")["LDCSR_THREADS"] == tags("here1.tif")["LDCSR_THREADS"] == "1"
