"""The Dask runner with workers it cannot ask (a locked-down deployment) and tiles slower than POLL.

In-process LocalClusters (processes=False) so that a worker's or the scheduler's handlers can be
made to refuse, as a locked-down deployment does."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
import rasterio

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.distributed import DaskRunner, ModelSource
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster


def _refuse(*args, **kwargs):
    raise RuntimeError("refused by policy")


@pytest.fixture
def cluster():
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield cluster, c
    finally:
        c.close()
        cluster.close()


FAST = UpscaleOptions(mode="fast", seed=7)


@pytest.fixture
def single(single_process):
    """The uint16 scene upscaled ×2 in this process, in windows of 64 px (several tiles;
    conftest.single_process): the file the Dask runs below must equal. ``(path, tiles)``."""
    return single_process(64, FAST)


def _tiny_source():
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    return ModelSource(builder=functools.partial(ldcsr_core.build_model, config=tiny_test_config(), seed=0),
                       key="tiny-test-seed0")


@pytest.mark.parametrize("where", ["worker", "scheduler"])
def test_workers_that_cannot_be_asked_still_run_the_tiles(where, cluster, rasters, tiny_model, tmp_path,
                                                          monkeypatch, single):
    """A worker that refuses ``client.run`` (or a scheduler that refuses to broadcast it) was left out
    as 'could not load the model' although it held it: with no other worker the run failed."""
    cl, c = cluster
    if where == "worker":
        for w in cl.workers.values():
            w.handlers["run"] = _refuse
    else:
        cl.scheduler.handlers["broadcast"] = _refuse
    cl.scheduler.handlers["run_function"] = _refuse  # run_on_scheduler refused too (stale plugins)
    src = rasters["uint16_nodata"]
    monkeypatch.setattr(tiny_model, "tile_max", 64)
    kw = dict(model=tiny_model, scale=2.0, options=FAST)
    runner = DaskRunner(c, _tiny_source(), in_flight=2, timeout=5)
    try:
        assert runner.usable == set(c.nthreads())
        assert runner.left_out == {}
        res = upscale_raster(src, tmp_path / "dask.tif", runner=runner, **kw)
    finally:
        runner.close()
    assert res.tiles == single[1] >= 2
    with rasterio.open(single[0]) as a, rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
def _slow(x, seconds):
    time.sleep(seconds)
    return x + 1


def test_a_tile_that_finishes_just_after_a_poll_is_its_result_not_a_timeout(cluster, monkeypatch):
    """``fut.result(timeout=POLL)`` timed out, the tile finished before ``fut.done()`` was looked at,
    and the poll loop re-raised the wait's TimeoutError as if it were the task's: the run failed."""
    _, c = cluster
    runner = DaskRunner(c, ModelSource(builder=dict, key="review-race", threads=1), timeout=5)
    try:
        fut = c.submit(_slow, 1, 0.5, pure=False)
        real = distributed.Future.result

        def result(self, timeout=None):
            if timeout is None:
                return real(self)
            # The wait times out, and the task completes in the instant before done() is asked.
            distributed.wait([self])
            raise TimeoutError(f"Result not ready within {timeout} s")

        monkeypatch.setattr(distributed.Future, "result", result)
        assert runner._result(fut, set(runner.usable), {"to": set(runner.usable), "fresh": set()}) == 2
    finally:
        monkeypatch.undo()
        runner.close()


def test_a_tile_slower_than_poll_is_waited_for_not_resent(cluster, monkeypatch):
    _, c = cluster
    monkeypatch.setattr(DaskRunner, "POLL", 0.2)
    runner = DaskRunner(c, ModelSource(builder=dict, key="review-slow", threads=1), timeout=5)
    try:
        fut = c.submit(_slow, 41, 1.5, pure=False)
        t0 = time.perf_counter()
        assert runner._result(fut, set(runner.usable), {"to": set(runner.usable), "fresh": set()}) == 42
        assert 1.0 < time.perf_counter() - t0 < 10
    finally:
        runner.close()


def test_a_result_whose_fetch_starts_after_a_poll_is_fetched(cluster, monkeypatch):
    """``fut.result(timeout=POLL)`` timed out before the transfer had begun (distributed's 5 fetch
    slots busy) and cancelled a fetch that distributed then handed to the next ``fut.result()`` of
    that tile: the run died of an ``UnboundLocalError`` inside distributed."""
    import asyncio

    _, c = cluster
    monkeypatch.setattr(DaskRunner, "POLL", 0.05)
    runner = DaskRunner(c, ModelSource(builder=dict, key="review-fetch", threads=1), timeout=5)
    try:
        fut = c.submit(_slow, 1, 0, pure=False)
        distributed.wait([fut])
        held = asyncio.Event()

        async def busy_fetches():  # as five fetches of other results in progress would
            for _ in range(5):
                await c._gather_semaphore.acquire()
            held.set()
            await asyncio.sleep(0.5)
            for _ in range(5):
                c._gather_semaphore.release()

        c.loop.add_callback(busy_fetches)
        c.sync(held.wait)
        assert runner._result(fut, set(runner.usable), {"to": set(runner.usable), "fresh": set()}) == 2
    finally:
        runner.close()
