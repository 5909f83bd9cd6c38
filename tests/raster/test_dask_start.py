"""Starting a run on Dask: ``--dask local:N``'s cluster, the workers loading the model; Ctrl-C and the
end of a run on local workers."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.distributed import ModelSource, dask_runner  # noqa: E402

SLOW_START = """
import os, pathlib, time
pathlib.Path({pids!r}, str(os.getpid())).touch()
time.sleep(2)  # the worker starts slowly (a busy machine, a slow disk)
"""


def _sigint_blocked_or_ignored(pid: int) -> bool:
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    bit = 1 << (signal.SIGINT - 1)
    return bool((int(fields["SigBlk"], 16) | int(fields["SigIgn"], 16)) & bit)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie: it has ended
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_ctrl_c_while_the_local_cluster_starts_stops_at_once(tmp_path):
    """Before: the local workers were kept from Ctrl-C by ignoring it in this process while they
    started, so a Ctrl-C then was dropped: the run went on (and wrote its output). Now it stops at
    once, the workers still never see it, and none is left."""
    pids = tmp_path / "pids"
    pids.mkdir()
    preload = tmp_path / "slow_start.py"
    preload.write_text(SLOW_START.format(pids=str(pids)))
    sent = []

    def ctrl_c_once_a_worker_starts():
        deadline = time.monotonic() + 60
        while not any(pids.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.02)
        sent.append(int(next(pids.iterdir()).name))
        os.kill(os.getpid(), signal.SIGINT)  # as the terminal's Ctrl-C reaches this process

    t = threading.Thread(target=ctrl_c_once_a_worker_starts, daemon=True)
    t.start()
    with _preloaded(str(preload)):
        with pytest.raises(KeyboardInterrupt):
            with dask_runner("local:1", ModelSource(builder=functools.partial(int, 0), key="zero", threads=1)):
                t.join(60)  # (on main: the Ctrl-C was dropped) never a Ctrl-C outside pytest.raises
    worker = sent[0]
    assert _gone(worker) or _sigint_blocked_or_ignored(worker)  # the workers never see Ctrl-C
    deadline = time.monotonic() + 60  # the cluster is closed once its start ends (2 s): nothing left
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(worker)


def _loads_until(gate, marks):
    """A model builder (a closure: sent by value) that marks in ``marks`` that its worker (by pid)
    began loading, loads until the file ``gate`` exists (60 s at most), then marks that it ended."""
    def build():
        import os
        import pathlib
        import time

        pathlib.Path(marks, f"loading-{os.getpid()}").touch()
        deadline = time.monotonic() + 60
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.05)
        pathlib.Path(marks, f"loaded-{os.getpid()}").touch()
        return 0
    return build


def _marked(marks, what: str) -> list[int]:
    return sorted(int(p.name.partition("-")[2]) for p in marks.iterdir() if p.name.startswith(what + "-"))


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_ctrl_c_while_local_workers_load_the_model_does_not_wait_for_their_load(tmp_path):
    """Before: Ctrl-C while the workers of --dask local:N loaded the model waited for their loads to
    end (6-9 s under load: removing the model from them needs their answer) before the cluster was
    closed. Now the run stops while they still load (the cluster is closed with it), and no worker
    is left."""
    marks, gate = tmp_path / "marks", tmp_path / "gate"
    marks.mkdir()

    def ctrl_c_once_the_worker_loads():
        deadline = time.monotonic() + 60
        while not _marked(marks, "loading") and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)  # as the terminal's Ctrl-C reaches this process

    t = threading.Thread(target=ctrl_c_once_the_worker_loads, daemon=True)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            with dask_runner("local:1", ModelSource(builder=_loads_until(str(gate), str(marks)), key="gated",
                                                    threads=1)):
                t.join(60)  # not reached: interrupted while the worker loads
        assert _marked(marks, "loaded") == []  # stopped while it still loads (before: after its load)
        worker = _marked(marks, "loading")[0]
        deadline = time.monotonic() + 60
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(worker)
    finally:
        gate.touch()


def _preloaded(path):
    import dask

    return dask.config.set({"distributed.worker.preload": [path]})


def _dies_in(folder_name: str):
    """A model builder (a closure: sent by value) that kills its worker when the worker runs in
    ``folder_name`` (every worker for ``"*"``), as a worker killed over its memory limit."""
    def build():
        import os
        import pathlib

        if folder_name in ("*", pathlib.Path.cwd().name):
            os._exit(1)
        import ldcsr_core
        from ldcsr_core.config import tiny_test_config

        return ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    return build


@pytest.mark.slow
def test_a_worker_dying_while_the_workers_load_the_model_leaves_the_run_to_the_others(
        rasters, tiny_model, tmp_path, caplog):
    """Before: one worker dying while the workers loaded the model ended the run ('a Dask worker
    died while loading the model ...: in <TCP (closed) ConnectionPool.register_worker_plugin ...>'),
    though the others held it. Now the run goes on with them, as after a death mid-run; with none
    left, one line says so."""
    import logging

    import numpy as np
    import rasterio

    from ldcsr_core.errors import LdcsrError
    from ldcsr_core.geo.distributed import DaskRunner
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from .dask_workers import workers_in

    lives, dies = tmp_path / "lives", tmp_path / "dies"
    lives.mkdir()
    dies.mkdir()
    kw = dict(model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast", tile=32))
    single = upscale_raster(rasters["uint16_nodata"], tmp_path / "single.tif", **kw)
    with workers_in([lives, dies]) as (c, workers, _):
        with caplog.at_level(logging.WARNING, logger="ldcsr_core"):
            runner = DaskRunner(c, ModelSource(builder=_dies_in("dies"), key="dies", threads=1), timeout=5)
        try:
            res = upscale_raster(rasters["uint16_nodata"], tmp_path / "dask.tif", runner=runner, **kw)
        finally:
            runner.close()
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warned == [f"the Dask worker {workers[dies][0]} died while loading the model (killed over its "
                          "--memory-limit?); its tiles go to the 1 other worker"]
        assert runner.usable == {workers[lives][0]}
        with pytest.raises(LdcsrError, match=r"^(the Dask worker tcp://\S+|a Dask worker) died while loading the model \(killed "
                                             r"over its --memory-limit\?\), and no other worker holds it \(none within 1 s\)$"):
            DaskRunner(c, ModelSource(builder=_dies_in("*"), key="all die", threads=1), timeout=1)
    assert res.tiles == single.tiles >= 2
    with rasterio.open(tmp_path / "single.tif") as a, rasterio.open(tmp_path / "dask.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_a_local_cluster_that_cannot_start_is_named_as_such(monkeypatch):
    """Before: 'cannot reach the Dask scheduler at 2', naming the worker count as an address."""
    import ldcsr_core.geo.dask_address as dask_address
    from ldcsr_core.errors import LdcsrError

    def no_room(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dask_address, "_start_local", no_room)
    with pytest.raises(LdcsrError, match=r"^cannot start a local Dask cluster of 2 workers: .*No space left"):
        with dask_runner("local:2", ModelSource(builder=functools.partial(int, 0), key="zero", threads=1)):
            pass



CLOSE_WARNINGS = """
import logging

def dask_teardown(worker):  # at the worker's close, after it cancelled its tiles
    logging.getLogger("distributed.worker.memory").warning(
        "Worker is at 96% memory usage. Pausing worker.  Process memory: 7.70 GiB -- Worker memory limit: 8.00 GiB")
    logging.getLogger("distributed.worker.state_machine").warning("Another state-machine warning")
"""


@pytest.fixture(scope="module")
def ctrl_c_on_local_workers(tmp_path_factory, tiny_model_file):
    """One ``ldcsr upscale ... --dask local:2`` run (its own process, in its own session: a terminal's
    process group) given Ctrl-C a second after its part file appears, its workers computing tiles;
    their preload logs two warnings as each worker closes. ``(exit status, stderr, output folder)``,
    for the tests below (each of its own asserts: one run, instead of one each)."""
    import subprocess
    import sys

    import numpy as np

    from .conftest import ctrl_c_while_writing, smooth_field, write_tif

    d = tmp_path_factory.mktemp("ctrl_c")
    src = write_tif(d / "big.tif", smooth_field(np.random.default_rng(3), 192, 192, 3, 0, 255).round(), dtype="uint8")
    preload = d / "close_warnings.py"
    preload.write_text(CLOSE_WARNINGS)
    out = d / "out"
    out.mkdir()
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__PRELOAD": repr([str(preload)])}
    p = subprocess.Popen([sys.executable, "-m", "ldcsr_core.cli", "upscale", str(src), "-o", str(out / "o.tif"),
                          "-s", "4", "--mode", "fast", "--tile", "32", "--model", str(tiny_model_file),
                          "--dask", "local:2"],
                         stderr=subprocess.PIPE, text=True, start_new_session=True, env=env,  # a terminal's group
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    err = ctrl_c_while_writing(p, out)
    return p.returncode, err, out


def test_ctrl_c_on_local_workers_is_one_line(ctrl_c_on_local_workers):
    """Ctrl-C from a terminal reaches the whole process group, the local workers too: they ignore it
    (no KeyboardInterrupt tracebacks from each of them), the CLI closes the cluster and says it in
    one line, exit 130, nothing left."""
    code, err, out = ctrl_c_on_local_workers
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert [ln for ln in err.splitlines() if ln.startswith("Error")] == [
        "Error: interrupted; no partial output was left"], err
    assert list(out.iterdir()) == []


def test_ctrl_c_on_local_workers_computing_tiles_prints_no_cancelled_task_lines(ctrl_c_on_local_workers):
    """Before: each local worker computing a tile on Ctrl-C printed 'distributed.worker.state_machine
    - WARNING - Async instruction for <Task cancelled name="execute('ldcsr-tile-…')" …> ended with
    CancelledError' under the run's own one line. Other worker warnings, a memory-pressure one
    logged as the worker closes too, still show."""
    code, err, _ = ctrl_c_on_local_workers
    assert code == 130, err
    assert "CancelledError" not in err and "Async instruction" not in err, err
    assert err.count("WARNING - Worker is at 96% memory usage. Pausing worker.") == 2, err  # one per worker
    assert err.count("distributed.worker.state_machine - WARNING - Another state-machine warning") == 2, err
    assert [ln for ln in err.splitlines() if ln.startswith("Error")] == [
        "Error: interrupted; no partial output was left"], err


class _Kept(logging.Handler):
    """The messages said on the logger it is added to, in order (``lines``)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_a_local_worker_slow_to_end_after_the_run_prints_no_nanny_warning(tmp_path, tiny_model_file, rasters):
    """Before: a finished '--dask local:N' run whose workers took over 4 s to end (a loaded machine)
    printed 'WARNING distributed.nanny: Worker process still alive after 4.0 seconds, killing' once
    per worker above its summary, although its output was written. (The CLI in this process, click's
    CliRunner: its nannies are this process's, their logger read by a handler of its own; no new
    interpreter importing torch for the CLI.)"""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    preload = tmp_path / "slow_end.py"
    # Ends slowly: past the nanny's 4 s, counted from its close request, before which this cannot start.
    preload.write_text("import time\n\ndef dask_teardown(worker):\n    time.sleep(4.5)  # ends slowly\n")
    nanny, kept = logging.getLogger("distributed.nanny"), _Kept()
    nanny.addHandler(kept)
    try:
        with _preloaded(str(preload)):
            r = CliRunner().invoke(main, ["upscale", str(rasters["uint16_nodata"]), "-o", str(tmp_path / "o.tif"),
                                          "-s", "2", "--mode", "fast", "--model", str(tiny_model_file),
                                          "--dask", "local:1"])
    finally:
        nanny.removeHandler(kept)
    assert r.exit_code == 0, (r.output, r.exception)
    assert not [ln for ln in kept.lines if "still alive" in ln], kept.lines
    assert "still alive" not in r.output and "1 input: 1 written" in r.output, r.output


def test_a_cancel_through_the_api_on_its_own_cluster_prints_no_cancelled_task_lines(tmp_path, tiny_model, capfd,
                                                                                    monkeypatch):
    """Before: a DaskRunner on the API caller's own cluster (not '--dask local:N''s) printed, as the
    cluster closed after a cancel, one 'distributed.worker.state_machine - WARNING - Async instruction
    for <Task cancelled name="execute('ldcsr-tile-…')" …> ended with CancelledError' line per worker
    that was computing a tile: only the CLI's local workers had the filter. The runner gives it to
    every cluster's workers now. (In-process workers, their tiles made slow: no worker processes to
    start, each importing torch; their logger is this process's, read by a handler of its own, the
    filter an earlier run here left on it taken off for this test.)"""
    import numpy as np

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    from ldcsr_core.geo import local_runner
    from ldcsr_core.geo.dask_quiet import STATE_MACHINE_LOGGER, _DropCancelledTasks
    from ldcsr_core.geo.distributed import DaskRunner
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from .conftest import smooth_field, write_tif

    src = write_tif(tmp_path / "big.tif", smooth_field(np.random.default_rng(3), 192, 192, 3, 0, 255).round(),
                    dtype="uint8")

    def cancel_after_two_tiles(p):
        if p.done >= 2:
            raise ldcsr_core.Cancelled("cancelled by the user")

    real_tile = local_runner.infer_tile

    def slow_tile(*args, **kwargs):  # the workers are still computing tiles as the cluster closes
        time.sleep(0.5)
        return real_tile(*args, **kwargs)

    monkeypatch.setattr(local_runner, "infer_tile", slow_tile)
    log, kept = logging.getLogger(STATE_MACHINE_LOGGER), _Kept()
    monkeypatch.setattr(log, "filters", [f for f in log.filters if not isinstance(f, _DropCancelledTasks)])
    log.addHandler(kept)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        runner = DaskRunner(client, ModelSource(builder=functools.partial(
            ldcsr_core.build_model, config=tiny_test_config(), seed=0), key="tiny-test-seed0", threads=1))
        try:
            with pytest.raises(ldcsr_core.Cancelled):
                upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=4.0, runner=runner,
                               options=UpscaleOptions(mode="fast", tile=32), callback=cancel_after_two_tiles)
        finally:
            runner.close()
    finally:
        client.close()
        cluster.close()  # the workers cancel the tiles they were computing
        log.removeHandler(kept)
    err = capfd.readouterr().err
    assert not [ln for ln in kept.lines if "CancelledError" in ln or "Async instruction" in ln], kept.lines
    assert "CancelledError" not in err and "Async instruction" not in err, err
    assert sorted(q.name for q in tmp_path.iterdir()) == ["big.tif"]


def test_the_quieting_filter_leaves_other_users_cancelled_tasks_lines_on_a_shared_worker():
    """Before: the filter every DaskRunner gives its cluster's workers dropped distributed's 'Async
    instruction for <Task cancelled …> ended with CancelledError' for any task, so on a shared cluster
    the workers no longer said it for other users' tasks either. Only the engine's tiles' lines go
    now: the keys its runner gives them (tile_key). The lines as the worker's state machine writes
    them: a real asyncio task of that name, cancelled, on distributed's logger."""
    import asyncio

    from ldcsr_core.geo.dask_quiet import STATE_MACHINE_LOGGER, QuietCancelledTasks, tile_key

    async def cancelled(key):
        task = asyncio.create_task(asyncio.sleep(60), name=f"execute({key!r})")
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return task

    log, kept = logging.getLogger(STATE_MACHINE_LOGGER), _Kept()
    filters = list(log.filters)
    log.addHandler(kept)
    try:
        QuietCancelledTasks().setup(None)
        for key in (tile_key(), "train_step-5f3a", "ldcsr-model-x", tile_key()):
            log.warning(f"Async instruction for {asyncio.run(cancelled(key))} ended with CancelledError")
    finally:
        log.removeHandler(kept)
        log.filters[:] = filters
    assert len(kept.lines) == 2, kept.lines
    assert "execute('train_step-5f3a')" in kept.lines[0] and "execute('ldcsr-model-x')" in kept.lines[1], kept.lines
