"""``release_pool`` frees the calling thread's idle OpenMP workers (libgomp)."""

import os
import threading
import time

import pytest
import torch

from ldcsr_core.threads import _libgomp, release_pool


def _os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _thread_ids() -> set:
    return set(os.listdir("/proc/self/task"))


@pytest.mark.skipif(_libgomp() is None, reason="torch does not use libgomp here")
def test_release_pool_frees_the_calling_threads_openmp_workers():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    counts = {}

    def work():
        x = torch.randn(256, 256, 64)
        torch.add(x, x)  # a parallel region: this thread now owns a pool with one idle worker
        counts["with pool"] = _os_threads()
        assert release_pool()
        deadline = time.time() + 5
        while _os_threads() >= counts["with pool"] and time.time() < deadline:
            time.sleep(0.01)
        counts["released"] = _os_threads()
        before = _thread_ids()
        torch.add(x, x)  # computing again just makes a new pool
        counts["new"] = len(_thread_ids() - before)  # by identity: other tests' threads may end meanwhile
        release_pool()

    try:
        t = threading.Thread(target=work)
        t.start()
        t.join()
    finally:
        torch.set_num_threads(saved)
    assert counts["released"] < counts["with pool"]
    assert counts["new"] >= 1


# ---------------------------------------------------------------------------- the thread rule

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ldcsr_core import threads
from ldcsr_core.errors import ConfigError
from tests.test_host_memory import _files, _mount

SRC = Path(__file__).resolve().parents[1] / "src"


def _fresh(code: str, **env) -> dict:
    """Run ``code`` in a fresh interpreter (no OMP/GOMP/LDCSR settings unless given); its last
    line of output, as JSON."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "LDCSR_"))}
    clean.update(env, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    r = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


PROBE = ("import json, os, ldcsr_core, torch; print(json.dumps({'spin': os.environ.get('GOMP_SPINCOUNT'), "
         "'threads': torch.get_num_threads(), 'file': ldcsr_core.__file__}))")
SPIN_PROBE = ("import json, os, sys, ldcsr_core; "
              "print(json.dumps({'spin': os.environ.get('GOMP_SPINCOUNT'), 'torch': 'torch' in sys.modules}))")


@pytest.fixture(scope="module")
def fresh_fixed_one():
    """PROBE in a fresh interpreter with LDCSR_THREADS=1 (the spin is set whatever the count)."""
    return _fresh(PROBE, LDCSR_THREADS="1")


def test_spin_count_is_set_before_torch_loads(fresh_fixed_one):
    r = fresh_fixed_one
    assert r["file"].startswith(str(SRC))
    assert r["spin"] == threads.SPINCOUNT
    # the user's own setting wins (what ldcsr_core's import leaves: torch, which reads it, need not load)
    assert _fresh(SPIN_PROBE, GOMP_SPINCOUNT="123") == {"spin": "123", "torch": False}
    assert _fresh(SPIN_PROBE, OMP_WAIT_POLICY="PASSIVE") == {"spin": None, "torch": False}
    late = _fresh("import torch; " + PROBE)  # torch loaded first (a host application)
    assert late["spin"] is None


def test_fixed_env_count_reaches_torch_in_a_fresh_process(fresh_fixed_one):
    assert fresh_fixed_one["threads"] == 1


def test_policy_order_and_bad_values(monkeypatch):
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.policy() == ("fixed", 3)
    assert threads.provenance_value() == "3"
    assert threads.describe() == "3 threads (LDCSR_THREADS)"
    try:
        threads.set_threads(2)  # ldcsr --threads wins over the environment
        assert threads.policy() == ("fixed", 2)
        with threads.fixed_threads(1):  # a Dask worker's count wins over both, in its thread
            assert threads.policy() == ("fixed", 1)
        assert threads.policy() == ("fixed", 2)
    finally:
        threads.set_threads(None)
    monkeypatch.setenv(threads.ENV, "auto")
    kind, most = threads.policy()
    assert kind == "auto" and threads.provenance_value() == f"auto:{most}"
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(threads.ENV, bad)
        with pytest.raises(ConfigError, match=threads.ENV):
            threads.policy()


def test_auto_count_respects_affinity_and_cgroup_quota(monkeypatch):
    monkeypatch.setenv(threads.ENV, "auto")
    saved = torch.get_num_threads()
    torch.set_num_threads(8)
    try:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
        monkeypatch.setattr(threads, "_cgroup_quota", lambda root: None)
        assert threads.available_cores() == 3
        assert threads.policy() == ("auto", 3)
        monkeypatch.setattr(threads, "_cgroup_quota", lambda root: 1.5)  # cpu.max "150000 100000"
        assert threads.available_cores() == 2
        assert threads.policy() == ("auto", 2)
    finally:
        torch.set_num_threads(saved)


def _cores(monkeypatch, tmp_path, files: dict) -> int:
    """available_cores() of a process on 8 CPUs with ``files`` as its /proc and /sys."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    return threads.available_cores(_files(tmp_path, files))


def test_a_cpu_quota_on_the_process_own_cgroup_caps_the_cores(monkeypatch, tmp_path):
    # Before: only the top of the mount (/sys/fs/cgroup/cpu.max, /sys/fs/cgroup/cpu/cpu.cfs_quota_us) was
    # read: a quota on the process's own cgroup (docker --cpus 1.5 without a cgroup namespace, a systemd
    # scope's CPUQuota) was not seen, and the engine ran 8 threads on 1.5 CPUs.
    v2 = {"proc/self/cgroup": "0::/job\n", "proc/self/mountinfo": _mount("/sys/fs/cgroup", "cgroup2"),
          "sys/fs/cgroup/cgroup.controllers": "cpu memory\n", "sys/fs/cgroup/job/cpu.max": "150000 100000\n"}
    assert _cores(monkeypatch, tmp_path / "v2", v2) == 2
    assert threads._cgroup_quota(str(tmp_path / "v2")) == 1.5
    (tmp_path / "v2/sys/fs/cgroup/job/cpu.max").write_text("max 100000\n")  # no quota
    assert _cores(monkeypatch, tmp_path / "v2", {}) == 8
    v1 = {"proc/self/cgroup": "4:memory:/\n3:cpu,cpuacct:/job\n",  # co-mounted: /sys/fs/cgroup/cpu,cpuacct
          "proc/self/mountinfo": _mount("/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
          "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
          "sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us": "50000", "sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us": "100000"}
    assert _cores(monkeypatch, tmp_path / "v1", v1) == 1
    (tmp_path / "v1/sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us").write_text("-1")  # v1's "no quota"
    assert _cores(monkeypatch, tmp_path / "v1", {}) == 8


def test_a_cpu_quota_on_a_cgroup_above_the_process_caps_the_cores(monkeypatch, tmp_path):
    # Before: a quota on a cgroup above the process's (a Slurm job's above its step's and task's, a systemd
    # slice's above its services) was not seen: the tightest of them applies.
    files = {"proc/self/cgroup": "0::/slurm/job_7/step_0/task_0\n", "proc/self/mountinfo": _mount("/sys/fs/cgroup", "cgroup2"),
             "sys/fs/cgroup/cgroup.controllers": "cpu memory\n", "sys/fs/cgroup/slurm/job_7/cpu.max": "300000 100000\n",
             "sys/fs/cgroup/slurm/job_7/step_0/cpu.max": "max 100000\n",
             "sys/fs/cgroup/slurm/job_7/step_0/task_0/cpu.max": "max 100000\n"}
    assert _cores(monkeypatch, tmp_path, files) == 3
    (tmp_path / "sys/fs/cgroup/slurm/cpu.max").write_text("200000 100000\n")  # tighter, further up
    assert _cores(monkeypatch, tmp_path, {}) == 2
    v1 = "sys/fs/cgroup/cpu/user.slice"
    files = {"proc/self/cgroup": "2:cpu:/user.slice/app.service\n", "proc/self/mountinfo": _mount("/sys/fs/cgroup/cpu", "cgroup", "rw,cpu"),
             f"{v1}/cpu.cfs_quota_us": "100000", f"{v1}/cpu.cfs_period_us": "50000",
             f"{v1}/app.service/cpu.cfs_quota_us": "-1", f"{v1}/app.service/cpu.cfs_period_us": "100000"}
    assert _cores(monkeypatch, tmp_path / "v1", files) == 2


def test_a_cpu_quota_where_cgroup2_is_mounted_elsewhere_caps_the_cores(monkeypatch, tmp_path):
    # Before: v2 was looked for only at /sys/fs/cgroup (here a tmpfs with an unlimited cpu.max of the
    # host's), not at a container runtime's own cgroup2 mount, whose top is the pod's cgroup.
    files = {"proc/self/cgroup": "0::/pod_1/ctr\n",
             "proc/self/mountinfo": _mount("/run/cg\\040two", "cgroup2", top="/pod_1") + _mount("/sys/fs/cgroup", "tmpfs"),
             "run/cg two/cgroup.controllers": "cpu\n", "run/cg two/ctr/cpu.max": "100000 100000\n",
             "sys/fs/cgroup/cpu.max": "max 100000\n"}
    assert _cores(monkeypatch, tmp_path, files) == 1


def test_on_a_hybrid_system_the_v1_cpu_controllers_quota_caps_the_cores(monkeypatch, tmp_path):
    # systemd's hybrid layout: v1 controllers under /sys/fs/cgroup (cpu and cpuacct co-mounted at
    # cpu,cpuacct), v2 without them at /sys/fs/cgroup/unified. Before: /sys/fs/cgroup/cpu/ was read at its
    # top only, and the job's quota missed.
    files = {"proc/self/cgroup": "3:cpu,cpuacct:/job\n2:memory:/job\n1:name=systemd:/job\n0::/job\n",
             "proc/self/mountinfo": _mount("/sys/fs/cgroup", "tmpfs") + _mount("/sys/fs/cgroup/unified", "cgroup2")
             + _mount("/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct") + _mount("/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
             "sys/fs/cgroup/unified/cgroup.controllers": "\n", "sys/fs/cgroup/unified/job/cgroup.procs": "1\n",
             "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
             "sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us": "250000", "sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us": "100000"}
    root = _files(tmp_path, files)
    (tmp_path / "sys/fs/cgroup/cpu").symlink_to("cpu,cpuacct")  # as systemd links it
    assert _cores(monkeypatch, tmp_path, {}) == 3
    assert threads._cgroup_quota(root) == 2.5


def test_governor_drops_a_thread_when_ours_wait_and_adds_one_when_cores_idle(monkeypatch):
    g = threads.Governor()
    assert g.observe(2, 2, wall=1.0, waited=0.9, idle=0.0) == 1  # one core taken by another process
    assert g.choose(2) == 1  # ... and the next tile starts there
    assert g.observe(1, 2, wall=1.0, waited=0.0, idle=0.0) == 1  # still busy
    assert g.observe(1, 2, wall=1.0, waited=0.0, idle=0.95) == 2  # the other work ended
    assert g.observe(2, 2, wall=1.0, waited=0.05, idle=0.0) == 2  # idle machine: all threads
    assert g.observe(4, 8, wall=1.0, waited=2.1, idle=0.0) == 2
    g2 = threads.Governor()
    g2.observe(2, 2, wall=0.01, waited=0.01, idle=0.0)  # too short to tell: not recorded
    monkeypatch.setattr(threads, "_others_running", lambda: 1)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert g2.choose(2) == 1  # no measurement yet: start from the runnable tasks now
    monkeypatch.setattr(threads, "_others_running", lambda: 0)
    assert g2.choose(2) == 2
    monkeypatch.setattr(threads, "_others_running", lambda: None)  # unknown: all allowed
    assert g2.choose(2) == 2


def test_measurements_are_available_on_linux():
    if not Path("/proc/self/task").is_dir():
        pytest.skip("no /proc")
    w0, i0 = threads._thread_waits(), threads._idle_cpu_seconds()
    time.sleep(0.05)
    assert str(threading.get_native_id()) in w0 and min(w0.values()) >= 0
    assert threads._waited(w0) >= 0
    assert threads._idle_cpu_seconds() >= i0 >= 0
    assert threads._others_running() is None or threads._others_running() >= 0


def test_a_thread_that_ends_during_a_tile_leaves_the_tiles_wait_its_own(monkeypatch):
    """The tile's wait for a CPU was the change of a sum over the process's threads: a thread that
    ended during the tile took its whole earlier wait out of the sum (here 5 s), and the tile
    "waited" -4.8 s. Which made the test above fail now and then on a loaded machine (a thread of an
    earlier test ending in its 50 ms). Now each live thread's own change: 0.2 s. (/proc faked.)"""
    import builtins
    import io

    task = "/proc/self/task"
    waits = {"101": 5_000_000_000, "102": 1_000_000_000}  # run-queue wait so far (ns) of 2 threads
    real_listdir, real_open = os.listdir, builtins.open

    def listdir(path="."):
        return sorted(waits) if str(path) == task else real_listdir(path)

    def fake_open(path, *args, **kwargs):
        tid, _, name = str(path).removeprefix(task + "/").partition("/")
        if not str(path).startswith(task + "/"):
            return real_open(path, *args, **kwargs)
        if tid not in waits:
            raise FileNotFoundError(path)
        return io.StringIO(f"1 {waits[tid]} 1\n" if name == "schedstat" else f"{tid} (python) S 1\n")

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(threads, "open", fake_open, raising=False)
    monkeypatch.setenv(threads.ENV, "auto")
    monkeypatch.setattr(threads, "_others_running", lambda: 0)
    seen = []

    class Spy(threads.Governor):
        def observe(self, n, most, wall, waited, idle):
            seen.append(waited)
            return n

    monkeypatch.setattr(threads, "GOVERNOR", Spy())
    saved = torch.get_num_threads()
    try:
        with threads.tile_threads():
            del waits["101"]  # thread 101 ends ...
            waits["102"] += 200_000_000  # ... and 102 waits 0.2 s more
    finally:
        torch.set_num_threads(saved)
    assert seen == [pytest.approx(0.2)]


def test_every_tile_runs_on_the_rules_count_and_the_callers_setting_is_restored(monkeypatch):
    import ldcsr_core
    from ldcsr_core import tiling
    from ldcsr_core.config import tiny_test_config

    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    seen = []
    real = tiling.process_tile

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return real(*a, **k)

    monkeypatch.setattr(tiling, "process_tile", spy)
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        img = np.random.default_rng(0).random((40, 60, 3), dtype=np.float32)
        monkeypatch.setenv(threads.ENV, "1")
        ldcsr_core.upscale(img, 2.0, model=model, mode="fast", tile=32)
        assert len(seen) > 1 and set(seen) == {1}
        assert torch.get_num_threads() == 2
        seen.clear()
        monkeypatch.setenv(threads.ENV, "auto")
        monkeypatch.setattr(threads, "GOVERNOR", threads.Governor())
        # a saturated machine: every core runnable by others, none idle while our tiles run (else the
        # governor rightly adds a thread back after a tile that left a core idle)
        monkeypatch.setattr(threads, "_others_running", lambda: os.cpu_count())
        monkeypatch.setattr(threads, "_idle_cpu_seconds", lambda: 0.0)
        ldcsr_core.upscale(img, 2.0, model=model, mode="fast", tile=32)
        assert set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)


def test_ldcsr_info_and_the_provenance_tags_report_the_rule(monkeypatch):
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.geo.pipeline import provenance_tags

    sample = str(SRC.parent / "napari_ldcsr" / "data" / "neon_osbs_029.tif")
    monkeypatch.setenv(threads.ENV, "3")
    r = CliRunner().invoke(main, ["info", sample])
    assert r.exit_code == 0, r.output
    assert "threads:     3 threads (LDCSR_THREADS); GOMP_SPINCOUNT" in r.output
    tags = provenance_tags(object(), scale=(2.0, 2.0), requested="x2", mode="fast", seed=0, src_name="a.tif")
    assert tags["LDCSR_THREADS"] == "3"
    saved = torch.get_num_threads()
    try:
        r = CliRunner().invoke(main, ["--threads", "1", "info", sample])  # the option wins over the env
        assert "threads:     1 thread (--threads)" in r.output
        assert provenance_tags(object(), scale=(2.0, 2.0), requested="x2", mode="fast", seed=0,
                               src_name="a.tif")["LDCSR_THREADS"] == "1"
    finally:
        threads.set_threads(None)
        torch.set_num_threads(saved)
    monkeypatch.setenv(threads.ENV, "auto")
    assert "threads:     auto, up to" in CliRunner().invoke(main, ["info", sample]).output


@pytest.mark.parametrize("bad", ["2", 1.5, True, 0, -1])
def test_thread_counts_are_whole_numbers_checked_when_set(bad):
    # fixed_threads took them and the next tile failed in torch ('set_num_threads expects an int, but
    # got str'); set_threads took 1.5 and True as 1
    from ldcsr_core import InputError
    before = threads.policy()
    with pytest.raises(InputError, match="threads must be a whole number of at least 1"):
        with threads.fixed_threads(bad):
            pass
    with pytest.raises(InputError, match="threads must be a whole number of at least 1"):
        threads.set_threads(bad)
    assert threads.policy() == before  # nothing was set
