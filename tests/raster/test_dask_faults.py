"""The Dask runner's poll loop when a question to the scheduler fails once: asked again at the next
poll, no tile computed twice (a real scheduler in this process, real ``dask worker`` processes: the
session's pair, :class:`~.dask_workers.Machines`, where a test needs no workers of its own)."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
import rasterio

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.dask_model import _run_tile
from ldcsr_core.geo.distributed import DaskRunner, ModelSource
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

from .dask_workers import PER_WORKER_MODEL
from .conftest import distributed_tile

OPTIONS = UpscaleOptions(mode="diffusion", seed=7)


def _flaky(scheduler, op: str, monkeypatch):
    """The scheduler's handler ``op`` fails, as on a comm error, for the next ``n`` calls after
    ``state["arm"](n)``; ``state["failed"]`` counts the failures. Its own handler again after the test."""
    real = scheduler.handlers[op]
    state = {"left": 0, "failed": 0}

    def handler(**msg):
        if state["left"] > 0:
            state["left"] -= 1
            state["failed"] += 1
            raise OSError(f"injected: a transient failure of the scheduler's {op!r}")
        return real(**msg)

    handler.__name__ = f"flaky_{op}"
    monkeypatch.setitem(scheduler.handlers, op, handler)
    state["arm"] = lambda n=1: state.update(left=n)
    return state


@pytest.fixture(scope="module")
def single(single_process):
    """The uint16 scene upscaled ×2 in this process, in windows of 32 px (20 tiles), OPTIONS
    (conftest.single_process): the reference the Dask runs of the tests below must equal. ``(tiles, pixels)``."""
    out, tiles = single_process(32, OPTIONS)
    with rasterio.open(out) as ds:
        return tiles, ds.read()


def _tiny_source():
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    return ModelSource(builder=functools.partial(ldcsr_core.build_model, config=tiny_test_config(), seed=0),
                       key="tiny-test-seed0", threads=1)


def _executed_since(machines, before: dict[str, int]) -> dict[str, int]:
    """The tasks (here only tiles) each worker executed since ``before`` (``machines.executed()``)."""
    return {a: n - before.get(a, 0) for a, n in machines.executed().items()}


def _count_tiles_sent(client, monkeypatch) -> list[int]:
    """The index of every tile the runner submits, one entry per submission."""
    sent, real = [], client.submit

    def submit(fn, *args, **kwargs):
        if fn is _run_tile:
            sent.append(args[3].index)
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(client, "submit", submit)
    return sent


@pytest.mark.slow
def test_one_failed_scheduler_query_while_tiles_are_awaited_sends_no_tile_twice(
        rasters, tiny_model, tmp_path, monkeypatch, machines, single):
    """A question to the scheduler that failed once in the poll loop (which workers are alive) was
    taken for lost work: every pending tile was sent and computed again."""
    monkeypatch.setattr(DaskRunner, "POLL", 0.02)  # the scheduler is asked while each tile is awaited
    monkeypatch.setattr(tiny_model, "tile_max", 32)  # windows of 32 px: 20 tiles
    src = rasters["uint16_nodata"]
    c = machines.c  # two workers (the model is built on each: their folders do not matter)
    fault = _flaky(c.cluster.scheduler, "ncores", monkeypatch)  # client.nthreads()
    before = machines.executed()
    runner = DaskRunner(c, _tiny_source(), in_flight=6)
    sent = _count_tiles_sent(c, monkeypatch)
    try:
        res = upscale_raster(src, tmp_path / "dask.tif", model=tiny_model, scale=2.0, options=OPTIONS,
                             runner=runner, callback=lambda p: p.done == 1 and fault["arm"]())
        loads = runner.model_loads()
        executed = _executed_since(machines, before)
    finally:
        runner.close()
    assert fault["failed"] == 1  # the failure did happen, while tiles were pending
    assert res.tiles == single[0] >= 10
    assert len(sent) == len(set(sent)) == res.tiles  # each tile sent once (before: the 6 pending again)
    assert sum(executed.values()) == res.tiles  # and computed once (before: those already running twice)
    assert set(loads.values()) == {1}
    with rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(single[1], b.read())


@pytest.mark.slow
def test_a_failed_look_at_a_worker_that_joined_keeps_it_from_tiles_until_it_answers(
        rasters, tiny_model, tiny_model_file, tmp_path, monkeypatch, machines, single):
    """The question whether a worker that joined during the run holds the model (``client.run``)
    failed once: the worker was used unchecked, and one that could not load the model failed tiles."""
    from ldcsr_core.files import sha256_file

    monkeypatch.setattr(DaskRunner, "POLL", 0.02)
    monkeypatch.setattr(tiny_model, "tile_max", 32)
    broken = tmp_path / "broken"  # no model: the worker that joins cannot load it
    broken.mkdir()
    source = ModelSource(path=PER_WORKER_MODEL, key="tiny", weights_sha256=sha256_file(tiny_model_file), threads=1)
    src = rasters["uint16_nodata"]
    c, ok = machines.c, machines.ok  # and the session's worker in bad/ (no model: left out from the start)
    fault = _flaky(c.cluster.scheduler, "broadcast", monkeypatch)  # client.run
    before = machines.executed()
    runner = DaskRunner(c, source, in_flight=4)
    joined = []

    def join_after_the_first_tile(p):
        if p.done == 1:
            joined.append(machines.start(broken)[0])
            fault["arm"]()

    try:
        res = upscale_raster(src, tmp_path / "dask.tif", model=tiny_model, scale=2.0, options=OPTIONS,
                             runner=runner, callback=join_after_the_first_tile)
        executed = _executed_since(machines, before)
    finally:
        runner.close()
    assert fault["failed"] == 1 and len(joined) == 1
    assert runner.usable == {ok} and set(runner.left_out) == {machines.left, *joined}  # asked again: left out
    assert executed == {ok: res.tiles, machines.left: 0, joined[0]: 0}  # before: tiles failed on the joined one
    with rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(single[1], b.read())


def test_a_scheduler_that_stops_answering_ends_the_run_after_the_timeout(rasters, tiny_model, tmp_path,
                                                                         monkeypatch):
    """Questions are asked again at each poll, but not forever: a tile awaited for ``timeout`` s
    without an answer ends the run in one clear line. (In-process workers: tiles made slow here.)"""
    import time

    from ldcsr_core.errors import LdcsrError
    from ldcsr_core.geo import local_runner

    monkeypatch.setattr(DaskRunner, "POLL", 0.05)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    c = distributed.Client(cluster)
    fault = _flaky(cluster.scheduler, "ncores", monkeypatch)
    started, real = [], local_runner.infer_tile

    def slow_tile(*args, **kwargs):  # the scheduler stops answering once the first tile runs
        if not started:
            started.append(time.monotonic())
            fault["arm"](10**6)
        time.sleep(3)
        return real(*args, **kwargs)

    monkeypatch.setattr(local_runner, "infer_tile", slow_tile)
    try:
        runner = DaskRunner(c, _tiny_source(), in_flight=1, timeout=1)
        with pytest.raises(LdcsrError, match=r"^the Dask cluster at inproc://\S+ failed: injected: a transient "
                                             r"failure of the scheduler's 'ncores'$"):
            upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif", model=tiny_model, scale=2.0,
                           options=OPTIONS, runner=runner)
        assert 1 <= time.monotonic() - started[0] < 3  # after the timeout, not the tile
        assert fault["failed"] > 5  # asked again at each poll first (before: gave up at once)
        runner.close()
    finally:
        c.close()
        cluster.close()
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.slow
def test_a_killed_scheduler_is_said_in_one_clear_line(rasters, tiny_model, tmp_path, monkeypatch):
    """The scheduler killed during a run: 'lost the Dask scheduler', not a bare CommClosedError from
    fetching a finished tile's result; within the connect timeout (here 5 s), not the retries'."""
    import json
    import subprocess
    import sys
    import time

    import dask

    from ldcsr_core.errors import LdcsrError

    monkeypatch.setattr(tiny_model, "tile_max", 32)
    info = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--dashboard-address", ":0", "--scheduler-file", str(info)], **quiet),
             # started with it (it waits for the scheduler's file): both processes start at once
             subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(info),
                               "--nthreads", "1", "--no-nanny", "--no-dashboard"], **quiet)]
    killed = []

    def kill_the_scheduler(p):
        if p.done == 2 and not killed:
            procs[0].kill()
            killed.append(time.monotonic())

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the file exists before the scheduler has written it
            try:
                address = json.loads(info.read_text())["address"]
                break
            except (FileNotFoundError, ValueError, KeyError):
                time.sleep(0.1)
        else:
            pytest.fail(f"the scheduler wrote no {info} in 60 s")
        with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
            c = distributed.Client(address)
            try:
                c.wait_for_workers(1, timeout=120)
                runner = DaskRunner(c, _tiny_source(), in_flight=4, timeout=3)
                with pytest.raises(LdcsrError, match=rf"^lost the Dask scheduler at {address}: "):
                    upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif", model=tiny_model, scale=2.0,
                                   options=OPTIONS, runner=runner, callback=kill_the_scheduler)
                assert time.monotonic() - killed[0] < 20
            finally:
                c.close()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert not (tmp_path / "o.tif").exists()


def _tries(name):
    """For ``client.run``: how many times the worker tried to load the model of plugin ``name``."""

    def tries(dask_worker):
        return dask_worker.plugins[name].tries

    return tries


@pytest.mark.slow
def test_a_left_out_worker_whose_checkpoint_appears_gets_tiles_and_others_are_not_reloaded(
        rasters, tiny_model, tiny_model_file, tmp_path, monkeypatch, caplog, machines, single):
    """A worker left out for a missing checkpoint stayed out for the whole run after the file appeared.
    Asked again every RELOOK s, it loads the model once the file is there; a worker whose file holds
    other weights (unchanged) is asked too but does not load it again."""
    import logging

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    from ldcsr_core.files import sha256_file

    monkeypatch.setattr(DaskRunner, "POLL", 0.02)
    monkeypatch.setattr(DaskRunner, "RELOOK", 0.3)
    monkeypatch.setattr(tiny_model, "tile_max", 32)
    other = tmp_path / "other"
    other.mkdir()
    ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(), seed=1), other / "tiny.safetensors",
                          name="tiny-test", version="0")
    source = ModelSource(path=PER_WORKER_MODEL, key="tiny", weights_sha256=sha256_file(tiny_model_file), threads=1)
    src = rasters["uint16_nodata"]
    c, ok, appears = machines.c, machines.ok, machines.left  # the session's workers: good/, bad/ (no model yet)
    differs, _ = machines.start(other)
    before = machines.executed()
    runner = DaskRunner(c, source, in_flight=4)
    assert set(runner.left_out) == {appears, differs}
    relooks, look = [], runner._look
    monkeypatch.setattr(runner, "_look", lambda w, **kw: (kw.get("reload") and relooks.append(w), look(w, **kw)))

    def copy_after_two_tiles(p):
        if p.done == 2:
            machines.put("the model")

    try:
        with caplog.at_level(logging.WARNING, logger="ldcsr_core"):
            res = upscale_raster(src, tmp_path / "dask.tif", model=tiny_model, scale=2.0, options=OPTIONS,
                                 runner=runner, callback=copy_after_two_tiles)
        executed = _executed_since(machines, before)
        tries = c.run(_tries(runner.plugin_name))
    finally:
        runner.close()
    assert runner.usable == {ok, appears} and set(runner.left_out) == {differs}
    assert executed[appears] > 0 and executed[differs] == 0  # before: 0, it stayed left out
    assert sum(executed.values()) == res.tiles
    assert len(relooks) >= 2 and all(differs in w for w in relooks)  # asked again, several times ...
    assert tries == {ok: 1, appears: 2, differs: 1}  # ... but loaded again only where the file changed
    assert f"the Dask worker {appears} now holds the model (its checkpoint changed): it gets tiles again" in [
        r.getMessage() for r in caplog.records]
    with rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(single[1], b.read())


GATED_LOAD = """
import os, pathlib, time
from ldcsr_core.geo import dask_model

real = getattr(dask_model.ModelSource.load, "real", dask_model.ModelSource.load)  # preloaded twice

def load(self):  # in a folder with 'gated': once its checkpoint is there, loads until 'open' exists
    here = pathlib.Path.cwd()
    if (here / "gated").exists() and (here / "tiny.safetensors").exists():
        (here / "loading").touch()
        deadline = time.monotonic() + 60
        while not (here / "open").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        (here / "loaded").touch()
    return real(self)

load.real = real
dask_model.ModelSource.load = load
"""


@pytest.mark.slow
def test_a_left_out_worker_loading_its_new_checkpoint_does_not_hold_up_the_run(
        rasters, tiny_model, tiny_model_file, tmp_path, monkeypatch, machines, single_process):
    """Before: asking a left-out worker again (its checkpoint appeared) waited for its answer, which
    it gives only once it has loaded the model: the client merged and sent no tile meanwhile, the
    other workers idled. Now the run goes on on the others while it loads, and it gets tiles once
    its answer is in."""
    import shutil

    from ldcsr_core.files import sha256_file

    monkeypatch.setattr(DaskRunner, "POLL", 0.02)
    monkeypatch.setattr(DaskRunner, "RELOOK", 0.0)
    monkeypatch.setattr(tiny_model, "tile_max", 32)
    preload = tmp_path / "gated_load.py"
    preload.write_text(GATED_LOAD)
    late = tmp_path / "late"  # its worker started with the preload (the session's two: without)
    late.mkdir()
    (late / "gated").touch()
    source = ModelSource(path=PER_WORKER_MODEL, key="tiny", weights_sha256=sha256_file(tiny_model_file), threads=1)
    kw = dict(model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast", tile=32))
    src = rasters["uint16_nodata"]
    single, tiles = single_process(32, kw["options"])
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__PRELOAD", f'["{preload}"]')
    slow, _ = machines.start(late)
    c, ok = machines.c, machines.ok  # and the session's worker in bad/ (no model: left out throughout)
    runner = DaskRunner(c, source, in_flight=4)
    try:
        assert set(runner.left_out) == {machines.left, slow}
        shutil.copy(tiny_model_file, late / "tiny.safetensors")  # it appears: asked again at the run's start
        res = upscale_raster(src, tmp_path / "dask.tif", runner=runner, **kw)
        deadline = time.monotonic() + 60
        while not (late / "loading").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (late / "loading").exists()  # asked again, it loads ...
        # ... and the runs end meanwhile: this one, and the next input's, whose plan goes only to
        # the workers that hold the model (before: each waited for the load)
        res2 = upscale_raster(src, tmp_path / "dask2.tif", runner=runner, **kw)
        assert not (late / "loaded").exists()
        assert res.tiles == res2.tiles == tiles >= 2 and runner.usable == {ok}
        (late / "open").touch()
        deadline = time.monotonic() + 60  # its answer, once in, is taken at a later look
        while slow not in runner.usable and time.monotonic() < deadline:
            runner._targets()
            time.sleep(0.05)
        assert runner.usable == {ok, slow} and set(runner.left_out) == {machines.left}
    finally:
        (late / "open").touch()
        runner.close()
    with rasterio.open(single) as a:
        for name in ("dask.tif", "dask2.tif"):
            with rasterio.open(tmp_path / name) as b:
                np.testing.assert_array_equal(a.read(), b.read())


def test_a_batch_stops_when_the_dask_scheduler_is_lost(rasters, tiny_model_file, tmp_path, monkeypatch):
    """Before: a lost scheduler failed each input of a batch in turn, each after its own wait and with
    ever worse reasons ('lost the Dask scheduler at the scheduler: 'NoneType' object has no attribute
    'ncores''); the batch stops at the first, in one line, and says how to resume."""
    import contextlib
    import shutil

    import dask
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.cli import upscale_cmd

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(rasters["uint16_nodata"], inputs / f"{name}.tif")
    asked, at = [], {}

    @contextlib.contextmanager
    def lost_scheduler(*args):
        with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
            cluster = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None)
            c = distributed.Client(cluster)
            try:
                runner = DaskRunner(c, _tiny_source(), timeout=2)
                real_map = runner.map
                runner.map = lambda *a, **k: (asked.append(1), real_map(*a, **k))[1]
                at["address"] = cluster.scheduler_address
                cluster.close()  # the scheduler (and its worker) gone before the first tile
                yield runner
            finally:
                c.close()

    monkeypatch.setattr(upscale_cmd, "_runner", lost_scheduler)
    (tmp_path / "out").mkdir()
    r = CliRunner().invoke(main, ["upscale", str(inputs), "-o", str(tmp_path / "out"), "-s", "2", "--mode", "fast",
                                  "--model", str(tiny_model_file), "--dask", "tcp://127.0.0.1:8786"])
    assert r.exit_code == 1, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith(("Error", "failed"))]
    assert errors == [f"Error: lost the Dask scheduler at {at['address']}: the client is closed"], r.output
    assert len(asked) == 1  # b.tif and c.tif were not tried
    assert list((tmp_path / "out").iterdir()) == []


def test_a_joined_worker_that_goes_sends_only_its_tiles_again(monkeypatch):
    """Before: when the only worker a tile could run on went (one that joined mid-run and got its
    own tile), the whole queue was cancelled and sent again with a new copy of the plan, the tiles
    the other workers had computed or were computing too."""
    import time

    from ldcsr_core.geo import local_runner

    monkeypatch.setattr(DaskRunner, "POLL", 0.05)

    def slow_tile(model, arr, *args, **kwargs):
        time.sleep(0.3)
        return arr * 2

    monkeypatch.setattr(local_runner, "infer_tile", slow_tile)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        runner = DaskRunner(c, _tiny_source(), timeout=10)  # 4 tiles in flight on the first worker
        first = set(c.nthreads())
        sent, real = [], c.submit

        def submit(fn, *args, workers=None, **kwargs):
            sent.append((args[3].index, tuple(workers)))
            return real(fn, *args, workers=workers, **kwargs)

        monkeypatch.setattr(c, "submit", submit)
        jobs = [(distributed_tile(i), np.full((2, 2, 3), i, np.float32)) for i in range(12)]
        got, joined = [], None
        for t, out in runner.map(iter(jobs), plan=None, mode="fast", seed=0):
            got.append((t.index, float(out.flat[0])))
            if t.index == 0:
                cluster.scale(2)
            own = [w for _, ws in sent for w in ws if w not in first]  # a tile of its own
            if joined is None and own:
                joined = own[0]
                c.retire_workers([joined], close_workers=True, remove=True)  # it goes with its tile
        assert joined is not None
    finally:
        c.close()
        cluster.close()
    assert got == [(i, 2.0 * i) for i in range(12)]  # every tile, in order, right
    assert len(sent) == 12 + 1  # only the tile of the worker that went was sent again
