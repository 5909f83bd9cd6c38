"""Starting a run on Dask: ``--dask local:N``'s cluster, the workers loading the model."""

from __future__ import annotations

import functools
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


def _preloaded(path):
    import dask

    return dask.config.set({"distributed.worker.preload": [path]})
