"""The model on a real dask.distributed cluster's workers: the output equals the single-process
file, workers that cannot load the model (other weights or software, no file) are named and left
out, the model is unloaded (after a run, a Ctrl-C, a client killed with kill -9), workers that join
later get tiles, K samples' mean and spread the
single-process files. The cluster seen from the client:
test_dask_cluster.py; the threads the workers run a tile on: test_dask_threads.py."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import rasterio

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.dask_quiet import TILE_KEY_PREFIX  # noqa: E402
from ldcsr_core.geo.distributed import DaskRunner, ModelSource  # noqa: E402
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster  # noqa: E402

from .dask_workers import PER_WORKER_MODEL
from .dask_workers import ldcsr_plugins as _ldcsr_plugins


DIFFUSION = UpscaleOptions(mode="diffusion", seed=7)


@pytest.fixture
def single(single_process):
    """The uint16 scene (4 bands: 2 model passes per tile, with nodata) upscaled ×2 in this process,
    in diffusion windows of 64 px (several tiles; conftest.single_process): the file the Dask runs
    below must equal. ``(path, tiles)``."""
    return single_process(64, DIFFUSION)


@pytest.mark.slow
def test_dask_output_equals_single_process(rasters, tiny_model, tmp_path, client, monkeypatch, single):
    src = rasters["uint16_nodata"]  # 4 bands (2 model passes per tile) with nodata
    monkeypatch.setattr(tiny_model, "tile_max", 64)  # diffusion windows of 64 px: several tiles
    kw = dict(model=tiny_model, scale=2.0, options=DIFFUSION)
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    # The same model as the tiny_model fixture, built on each worker (importable by reference).
    source = ModelSource(builder=functools.partial(ldcsr_core.build_model,
                                                   config=tiny_test_config(), seed=0),
                         key="tiny-test-seed0")
    runner = DaskRunner(client, source, in_flight=3)
    try:
        res = upscale_raster(src, tmp_path / "dask.tif", runner=runner, **kw)
        loads = runner.model_loads()
    finally:
        runner.close()
    assert res.tiles == single[1] >= 2
    assert len(loads) == 2 and all(n == 1 for n in loads.values())  # once per worker
    with rasterio.open(single[0]) as a, rasterio.open(tmp_path / "dask.tif") as b:
        x, y = a.read(), b.read()
        assert a.profile == b.profile
        ta, tb = a.tags(), b.tags()
    assert x.dtype == np.uint16 and x.std() > 0
    np.testing.assert_array_equal(x, y)
    assert {k: v for k, v in ta.items()} == {k: v for k, v in tb.items()}


def test_dask_gives_the_same_mean_and_spread(rasters, tiny_model, tmp_path, client, monkeypatch):
    """SampledRunner wraps any runner: K seeds on a Dask cluster = the single-process files (the
    mean and the spread; test_spread.py: the spread itself)."""
    monkeypatch.setattr(tiny_model, "tile_max", 64)  # diffusion windows of 64 px: several tiles
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    src = rasters["uint16_nodata"]
    kw = dict(model=tiny_model, scale=2.0, options=UpscaleOptions(seed=7, samples=2))
    single = upscale_raster(src, tmp_path / "single.tif", **kw)
    source = ModelSource(builder=functools.partial(ldcsr_core.build_model, config=tiny_test_config(), seed=0),
                         key="tiny-test-seed0")
    runner = DaskRunner(client, source, in_flight=3)
    try:
        res = upscale_raster(src, tmp_path / "dask.tif", runner=runner, **kw)
    finally:
        runner.close()
    assert res.tiles == single.tiles >= 2
    for a, b in ((single.dst, res.dst), (single.spread, res.spread)):
        with rasterio.open(a) as x, rasterio.open(b) as y:
            np.testing.assert_array_equal(x.read(), y.read())


def test_workers_with_other_weights_or_software_refuse_and_leave_no_plugin(client, tiny_model_file):
    """A worker whose file at the model's path holds other weights (another checkpoint under that name
    on its machine) used to compute its tiles with them, silently, under the client's provenance."""
    import torch

    from ldcsr_core.errors import LdcsrError
    from ldcsr_core.files import sha256_file

    other = ModelSource(path=str(tiny_model_file), weights_sha256="0" * 64, threads=1)
    with pytest.raises(LdcsrError, match=r"the Dask worker tcp://\S+ could not load the model: its model "
                                         r".*tiny\.safetensors has other weights than the client's"):
        DaskRunner(client, other)
    # The failed plugin is not left on the scheduler (every later worker would load it).
    assert _ldcsr_plugins(client) == []
    with pytest.raises(LdcsrError, match=r"runs ldcsr_core \S+, the client 0\.0\.0-other"):
        DaskRunner(client, ModelSource(path=str(tiny_model_file), threads=1, software="0.0.0-other"))
    assert _ldcsr_plugins(client) == []
    # Another torch release (its noise, its kernels) can give other pixels: before, never compared.
    with pytest.raises(LdcsrError, match=r"runs torch \S+, the client 1\.0\.0: install the same torch release"):
        DaskRunner(client, ModelSource(path=str(tiny_model_file), threads=1, torch="1.0.0"))
    assert _ldcsr_plugins(client) == []
    runner = DaskRunner(client, ModelSource(path=str(tiny_model_file), threads=1))  # the same file: fine
    try:
        assert runner.source.weights_sha256 == sha256_file(tiny_model_file)  # filled in by the client
        assert runner.source.torch == torch.__version__.partition("+")[0]  # a CUDA build's +cu126 is the same
        assert set(runner.model_loads().values()) == {1}
    finally:
        runner.close()
    assert _ldcsr_plugins(client) == []


def test_a_worker_that_cannot_load_the_model_is_named(client, tmp_path):
    """A worker that joins later loads the model in its first task; its error says it is a worker's
    (the path exists on the client), keeps its class (exit status) and what to do (before: not)."""
    from ldcsr_core.errors import CheckpointError
    from ldcsr_core.geo.distributed import _worker_model

    missing = ModelSource(path=str(tmp_path / "only-on-the-client.safetensors"), threads=1)
    fut = client.submit(_worker_model, "ldcsr-test-missing", missing, pure=False)
    with pytest.raises(CheckpointError, match=r"the Dask worker tcp://\S+ could not load the model: checkpoint not "
                       r"found: .*only-on-the-client.safetensors; .*copy the file to that path on every worker"):
        fut.result(timeout=60)


def test_a_worker_denied_the_model_file_is_told_of_permissions_not_to_copy_it(tiny_model_file, tmp_path,
                                                                             monkeypatch):
    """A worker whose user may not open the model's folder, or read the file, is told that (the
    permission on that machine), not to copy the file there; one with nothing at the path still is.
    Tests run as root, which reads anything: the refusal is simulated where the worker's plugin
    (the code each worker runs) looks at and opens the file. Before: 'Permission denied' and no hint
    (here, Python 3.11: the check's Path.exists raised EACCES and the hint gave up); where that look
    passes, os.path.lexists says False on EACCES: 'copy the file to that path on every worker
    machine', of a file that was there."""
    import builtins
    import os
    import shutil
    import types

    from ldcsr_core import checkpoint_reading
    from ldcsr_core.geo.dask_model import ModelPlugin

    folder = tmp_path / "alice"
    folder.mkdir()
    model = shutil.copy(tiny_model_file, folder / "m.safetensors")
    worker = types.SimpleNamespace(address="tcp://10.0.0.2:4000")
    stat, lstat, opener = os.stat, os.lstat, builtins.open

    def said() -> str:
        plugin = ModelPlugin(ModelSource(path=str(model), threads=1), "ldcsr-test-denied")
        plugin.setup(worker)
        assert plugin.model is None
        return str(plugin.error)

    def denied(call, under):
        def look(p, *a, **kw):
            if os.fspath(p).startswith(str(under)):
                raise PermissionError(13, "Permission denied", os.fspath(p))
            return call(p, *a, **kw)
        return look

    hint = ("the user this Dask worker runs as may not read the model file at that path (permission denied): "
            "on every worker machine, let that user read the file and open its folders")
    for name, call in (("stat", stat), ("lstat", lstat)):  # its folder may not be opened (no x permission)
        monkeypatch.setattr(os, name, denied(call, folder))
    msg = said()
    assert msg.startswith("the Dask worker tcp://10.0.0.2:4000 could not load the model: ") and hint in msg, msg
    assert "copy the file" not in msg, msg
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(checkpoint_reading, "open", denied(opener, model), raising=False)  # the file may not be read
    msg = said()
    assert hint in msg and "copy the file" not in msg, msg
    os.unlink(model)  # nothing there: copy it
    msg = said()
    assert hint not in msg and "copy the file to that path on every worker machine" in msg, msg


def test_the_cli_gives_the_workers_the_weights_to_check(monkeypatch, tiny_model_file, tiny_model):
    import contextlib

    import ldcsr_core.geo.distributed as dist
    from ldcsr_core.cli.upscale_cmd import _runner

    seen = []
    monkeypatch.setattr(dist, "dask_runner", lambda address, source: seen.append(source) or contextlib.nullcontext())
    monkeypatch.setattr(tiny_model, "weights_sha256", "ab" * 32)
    _runner("local:1", str(tiny_model_file), "cpu", tiny_model)
    assert seen[0].weights_sha256 == "ab" * 32 and seen[0].path == str(tiny_model_file.resolve())


# --- A cluster whose workers see different files at the model's path (as two machines would) ---------


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["other weights", "missing"])
def test_a_worker_that_cannot_load_the_model_is_left_out_and_the_run_goes_on(
        rasters, tiny_model, tiny_model_file, tmp_path, caplog, monkeypatch, machines, bad, single):
    """Before: one worker that could not load the model (its checkpoint missing, other weights at the
    path) failed the whole run, although the other workers could do the work."""
    import logging

    from ldcsr_core.files import sha256_file

    if bad == "other weights":
        machines.put(bad)
    src = rasters["uint16_nodata"]
    monkeypatch.setattr(tiny_model, "tile_max", 64)  # several tiles
    kw = dict(model=tiny_model, scale=2.0, options=DIFFUSION)
    source = ModelSource(path=PER_WORKER_MODEL, key="tiny", weights_sha256=sha256_file(tiny_model_file),
                         threads=1)
    c, ok, left = machines.c, machines.ok, machines.left
    with caplog.at_level(logging.WARNING, logger="ldcsr_core"):
        runner = DaskRunner(c, source, in_flight=4)
    try:
        expected = ("has other weights than the client's" if bad == "other weights" else
                    "checkpoint not found: /proc/self/cwd/tiny.safetensors")
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and warned[0].startswith(f"the Dask worker {left} could not load the model: ")
        assert expected in warned[0] and warned[0].endswith("its tiles go to the 1 other worker")
        assert runner.usable == {ok} and set(runner.left_out) == {left}
        with distributed.get_task_stream(client=c) as stream:
            res = upscale_raster(src, tmp_path / "dask.tif", runner=runner, **kw)
        ran = [t["worker"] for t in stream.data if str(t["key"]).startswith(TILE_KEY_PREFIX)]
    finally:
        runner.close()
    assert res.tiles == single[1] >= 2
    with rasterio.open(single[0]) as a, rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())  # every tile by the client's model
    assert len(ran) == res.tiles and set(ran) == {ok}  # every tile to the worker that holds the model


@pytest.mark.slow
def test_when_the_workers_holding_the_model_are_gone_the_run_ends_in_one_clear_line(
        rasters, tiny_model, tiny_model_file, tmp_path, monkeypatch, machines):
    """Tiles may only go to the workers that hold the model: when those die, the run must not wait
    for them forever on a cluster whose other workers cannot load it."""
    import shutil
    import time

    from ldcsr_core.errors import CheckpointError
    from ldcsr_core.files import sha256_file

    holder = tmp_path / "holder"  # the one worker with a file at the model's path (the session's two: none)
    holder.mkdir()
    shutil.copy(tiny_model_file, holder / "held.safetensors")
    monkeypatch.setattr(tiny_model, "tile_max", 64)
    source = ModelSource(path="/proc/self/cwd/held.safetensors", key="tiny", weights_sha256=sha256_file(tiny_model_file),
                         threads=1)
    _, holding = machines.start(holder)
    runner = DaskRunner(machines.c, source, in_flight=2, timeout=2)
    killed = []

    def kill_after_the_first_tile(p):
        if p.done >= 1 and not killed:
            holding.kill()
            killed.append(time.perf_counter())

    try:
        with pytest.raises(CheckpointError, match=rf"the Dask worker {min(machines.ok, machines.left)} could not load "
                                                  r"the model: checkpoint not found: .*; the workers that held the "
                                                  r"model are gone and the 2 left could not load it"):
            upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif", model=tiny_model, scale=2.0,
                           options=UpscaleOptions(mode="diffusion", seed=7), runner=runner,
                           callback=kill_after_the_first_tile)
    finally:
        runner.close()
    assert killed and time.perf_counter() - killed[0] < 30  # not forever
    assert not (tmp_path / "o.tif").exists()


KILLED_CLIENT = r"""
import functools, sys, time
import distributed, ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.geo.distributed import DaskRunner, ModelSource
c = distributed.Client(sys.argv[1])
r = DaskRunner(c, ModelSource(builder=functools.partial(ldcsr_core.build_model, config=tiny_test_config(), seed=1),
                              threads=1))
print(r.plugin_name, c.id, flush=True)
time.sleep(600)
"""


def _holds_model(dask_worker, name):
    p = dask_worker.plugins.get(name)
    return p is not None and p.model is not None


@pytest.mark.slow
def test_the_model_of_a_client_killed_with_kill_9_is_unloaded_by_the_next_run(client):
    """A client killed with kill -9 never unregisters its model plugin: the scheduler kept it and
    every worker kept its model in memory (and every worker joining later loaded it), for as long as
    the cluster lived. The next run removes the plugins of clients that are gone."""
    import os
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, client.scheduler.address], stdout=subprocess.PIPE,
                         text=True)
    try:
        stale, stale_client = p.stdout.readline().split()
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert stale in _ldcsr_plugins(client)
    assert set(client.run(_holds_model, name=stale).values()) == {True}  # a model in every worker
    deadline = time.monotonic() + 30
    while stale_client in client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.clients)):
        assert time.monotonic() < deadline, "the scheduler did not notice the client's death"
        time.sleep(0.1)
    assert stale in _ldcsr_plugins(client)  # what stays after the kill

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    runner = DaskRunner(client, ModelSource(builder=functools.partial(ldcsr_core.build_model, config=tiny_test_config(),
                                                                      seed=0), key="tiny-test-seed0", threads=1))
    try:
        assert _ldcsr_plugins(client) == [runner.plugin_name, runner.quiet_name]  # the killed client's gone
        assert set(client.run(_holds_model, name=stale).values()) == {False}  # unloaded on the workers
        assert set(client.run(_holds_model, name=runner.plugin_name).values()) == {True}
    finally:
        runner.close()
    assert _ldcsr_plugins(client) == []


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before the run", "during the run"])
def test_a_worker_that_joins_later_with_the_model_gets_tiles(rasters, tiny_model, tiny_model_file, tmp_path,
                                                             monkeypatch, machines, when):
    """Tiles go only to the workers known to hold the model: one that joins the cluster after the
    runner started must be asked and used, not ignored. During the run it holds no copy of the plan,
    and the scheduler placed every tile where the plan was: it got none."""
    import shutil

    from ldcsr_core.files import sha256_file

    late = tmp_path / "late"
    late.mkdir()
    shutil.copy(tiny_model_file, late / "tiny.safetensors")
    monkeypatch.setattr(DaskRunner, "POLL", 0.02)
    monkeypatch.setattr(tiny_model, "tile_max", 64 if when == "before the run" else 32)
    source = ModelSource(path=PER_WORKER_MODEL, key="tiny", weights_sha256=sha256_file(tiny_model_file), threads=1)
    c = machines.c  # a worker in good/ (the model), one in bad/ (none)
    runner = DaskRunner(c, source, in_flight=4)
    joined = []

    def join(p):
        if not joined and (when == "before the run" or p.done == 2):
            joined.append(machines.start(late)[0])
            # The joined worker loads the model (a new process importing torch: seconds on a busy
            # machine) while the good one works through the tiles: wait for the load, so that the
            # tiles left are not all done before it holds the model (what is tested is that the
            # runner finds and uses it, not how fast it loads).
            _wait_until_it_holds_the_model(c, runner.plugin_name, joined[0])

    try:
        if when == "before the run":
            join(None)
        with distributed.get_task_stream(client=c) as stream:
            res = upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif", model=tiny_model, scale=2.0,
                                 options=UpscaleOptions(mode="diffusion", seed=7), runner=runner, callback=join)
    finally:
        runner.close()
    ran = [t["worker"] for t in stream.data if str(t["key"]).startswith(TILE_KEY_PREFIX)]
    assert res.tiles >= 2 and len(ran) == res.tiles
    assert runner.usable == {machines.ok, *joined} and set(runner.left_out) == {machines.left}
    assert set(ran) == {machines.ok, *joined}  # the joined worker computed tiles too


def _wait_until_it_holds_the_model(c, plugin_name, addr, timeout=180):
    import time

    from ldcsr_core.geo.dask_model import NOT_YET, model_state

    deadline = time.monotonic() + timeout
    while (state := c.run(model_state, plugin_name=plugin_name, workers=[addr])[addr]) is not None:
        assert state == NOT_YET and time.monotonic() < deadline, f"the joined worker holds no model: {state}"
        time.sleep(0.1)


def test_ctrl_c_while_the_workers_load_the_model_leaves_no_model_on_them(client, tmp_path):
    """Before: Ctrl-C while the workers loaded the model (a notebook cell interrupted, its client
    living on) left the plugin on the scheduler: the model stayed in every worker's memory and each
    worker joining later loaded it, until the client closed and a later run removed it. And the
    Ctrl-C then waited for the loads to end (removing the plugin waited for the workers' answer):
    now it stops at once, and the workers drop the model when their load ends."""
    import os
    import signal
    import threading
    import time

    from .test_dask_start import _loads_until, _marked

    marks, gate = tmp_path / "marks", tmp_path / "gate"
    marks.mkdir()

    def held(dask_worker):  # this run's model plugin (other tests leave their own names)
        return sorted(n for n in dask_worker.plugins if n.startswith("ldcsr-model-gated@"))

    def ctrl_c_once_the_workers_load():
        deadline = time.monotonic() + 60
        while len(_marked(marks, "loading")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=ctrl_c_once_the_workers_load, daemon=True)
    t.start()
    with pytest.raises(KeyboardInterrupt):
        DaskRunner(client, ModelSource(builder=_loads_until(str(gate), str(marks)), key="gated", threads=1))
        t.join(60)  # not reached: interrupted while the workers load
    try:
        assert _marked(marks, "loaded") == []  # the Ctrl-C did not wait for the loads (before: it did)
        deadline = time.monotonic() + 30  # the scheduler forgets it when it gets the message
        while _ldcsr_plugins(client) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _ldcsr_plugins(client) == []
    finally:
        gate.touch()
    deadline = time.monotonic() + 60  # once their load ends, the workers drop the model
    while any(client.run(held).values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(map(tuple, client.run(held).values())) == {()}


def test_runs_that_keep_the_model_leave_no_quieting_plugin_on_a_shared_client(client):
    """``unload=False`` (a Python caller's long-lived client): each runner's close left its own
    quieting plugin on the scheduler, one more per run (its model plugin, one per client, stays)."""
    from ldcsr_core.geo.dask_quiet import QUIET_PREFIX

    source = ModelSource(builder=functools.partial(int, 0), key="zero", threads=1)
    names = []
    try:
        for _ in range(3):
            runner = DaskRunner(client, source, unload=False)
            names.append(runner.quiet_name)
            assert runner.quiet_name in _ldcsr_plugins(client)  # on while the run goes on
            runner.close()
        assert len(set(names)) == 3
        assert [n for n in _ldcsr_plugins(client) if n.startswith(QUIET_PREFIX)] == []
        assert _ldcsr_plugins(client) == [runner.plugin_name]  # the model kept, as asked
    finally:  # the other tests share the cluster
        from ldcsr_core.geo.dask_model import remove_plugin

        for name in _ldcsr_plugins(client):
            remove_plugin(client, name)


def test_a_built_in_models_name_is_loaded_by_name_on_the_workers(rasters, client, tmp_path):
    """`ldcsr upscale --dask ... --model ldcsr-compact-rsscn7-v4`: each worker loads the built-in model
    of its own installation, and the output is the single-process file. Before: the client hashed the
    name as a file, exit 5 "[Errno 2] No such file or directory: 'ldcsr-compact-rsscn7-v4'"."""
    import ldcsr_core
    from ldcsr_core.builtin_models import default_model_path

    name = default_model_path().stem
    model = ldcsr_core.load_model(name, device="cpu")
    kw = dict(model=model, scale=2.0, options=UpscaleOptions(mode="fast"))
    upscale_raster(rasters["gray"], tmp_path / "single.tif", **kw)
    runner = DaskRunner(client, ModelSource(path=name, threads=1, weights_sha256=model.weights_sha256))
    try:
        upscale_raster(rasters["gray"], tmp_path / "dask.tif", runner=runner, **kw)
        assert runner.model_loads() and set(runner.model_loads().values()) == {1}
    finally:
        runner.close()
    with rasterio.open(tmp_path / "single.tif") as a, rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
