"""The cgroup a process is in, seen from a cgroup namespace (cgroups.levels): a process outside the
namespace's root (after nsenter), the host's tree bind-mounted into a container; and a remount while
the process runs (threads' cache of the cpu levels). Fake /proc and /sys trees: test_host_memory's."""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ldcsr_core import cgroups, mounts, threads
from ldcsr_core.host_memory import available_bytes
from tests.test_host_memory import MEMINFO, GiB, _files, _mount


def _cores(monkeypatch, root) -> int:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    return threads.available_cores(str(root))


def test_a_process_outside_its_cgroup_namespace_s_root_is_not_capped_by_that_root_s_limits(monkeypatch, tmp_path):
    """``0::/..`` (nsenter into a container's cgroup namespace, the process left in its own cgroup): the
    mount shows the namespace's root, which is not the process's cgroup nor one above it. Before: its
    limits (1 CPU, 2 GiB) capped the process; now nothing this mount shows does (its cgroup is not there)."""
    files = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/..\n",
             "proc/self/mountinfo": _mount("/sys/fs/cgroup", "cgroup2"),
             "sys/fs/cgroup/cgroup.controllers": "cpu memory\n", "sys/fs/cgroup/cpu.max": "100000 100000\n",
             "sys/fs/cgroup/memory.max": str(2 * GiB), "sys/fs/cgroup/memory.current": str(GiB)}
    root = _files(tmp_path, files)
    assert cgroups.levels("cpu", root) == (True, [])
    assert _cores(monkeypatch, root) == 8  # before: 1
    assert available_bytes(root) == (20000000 + 1000000) * 1024  # before: 1 GiB
    (tmp_path / "proc/self/cgroup").write_text("0::/../other/job\n")  # a sibling of the namespace's root
    assert _cores(monkeypatch, root) == 8
    (tmp_path / "proc/self/cgroup").write_text("0::/\n")  # inside: its limits apply, as before
    assert _cores(monkeypatch, root) == 1


def test_the_host_s_cgroup_tree_bind_mounted_into_a_private_namespace_caps_by_the_process_s_cgroup(
        monkeypatch, tmp_path):
    """The host's tree mounted in a container with its own cgroup namespace: mountinfo shows its root as
    ``/../..`` (two cgroups above the namespace's root, their names hidden). Before: the process was taken
    to be at the host's top, and no limit capped it; now the cgroup that lists it at that depth is its own."""
    host = "sys/fs/cgroup"
    files = {"proc/self/cgroup": "0::/\n", "proc/self/mountinfo": _mount("/sys/fs/cgroup", "cgroup2", top="/../.."),
             f"{host}/cgroup.controllers": "cpu\n", f"{host}/cpu.max": "max 100000\n",
             f"{host}/docker/cpu.max": "max 100000\n", f"{host}/docker/cgroup.procs": "",
             f"{host}/docker/other/cpu.max": "100000 100000\n", f"{host}/docker/other/cgroup.procs": "1\n",
             f"{host}/docker/ours/cpu.max": "150000 100000\n", f"{host}/docker/ours/cgroup.procs": f"1\n{os.getpid()}\n",
             f"{host}/system.slice/x/cgroup.procs": "7\n"}
    root = _files(tmp_path, files)
    top = str(tmp_path / host)
    assert cgroups.levels("cpu", root) == (True, [f"{top}/docker/ours", f"{top}/docker", top])
    assert _cores(monkeypatch, root) == 2  # before: 8
    # nsenter'd as well: the process is in the cgroup above the namespace's root, one name hidden
    (tmp_path / "proc/self/cgroup").write_text("0::/..\n")
    (tmp_path / host / "docker/ours/cgroup.procs").write_text("1\n")
    (tmp_path / host / "docker/cgroup.procs").write_text(f"{os.getpid()}\n")
    (tmp_path / host / "docker/cpu.max").write_text("300000 100000\n")
    assert cgroups.levels("cpu", root) == (True, [f"{top}/docker", top])
    assert _cores(monkeypatch, root) == 3
    (tmp_path / host / "docker/cgroup.procs").write_text("1\n")  # listed nowhere: not placed
    assert cgroups.levels("cpu", root) == (True, [])  # outside the namespace's root: as above
    (tmp_path / "proc/self/cgroup").write_text("0::/\n")
    assert cgroups.levels("cpu", root) == (True, [top])  # the mount's top, as before


REMOUNT = """
import os, subprocess, sys
from ldcsr_core import threads
before = threads._cpu_levels("/")
mount = before[1][-1]  # the mount's top
for cmd in (["mount", "--bind", mount, sys.argv[1]], ["umount", "-l", mount]):
    if subprocess.run(cmd).returncode:
        sys.exit(3)
after = threads._cpu_levels("/")
print(before[1][-1], after[1][-1])
"""


@pytest.mark.skipif(not shutil.which("unshare") or not shutil.which("mount") or os.geteuid() != 0,
                    reason="needs root's unshare -m (a private mount namespace)")
def test_a_remount_of_the_cpu_controller_while_the_process_runs_is_seen(tmp_path):
    """The cpu controller's file system moved (bound elsewhere, unmounted where it was) while the process
    runs, its cgroup the same. Before: the levels cached at the first tile were read still (folders
    that no longer exist: no quota). Now a mount or unmount drops them (the kernel marks the open
    mountinfo)."""
    (tmp_path / "moved").mkdir()
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("unshare -m not allowed here")
    src = str(Path(threads.__file__).resolve().parents[1])
    p = subprocess.run(["unshare", "-m", sys.executable, "-c", REMOUNT, str(tmp_path / "moved")], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": src}, timeout=120)
    if p.returncode == 3:
        pytest.skip(f"the cgroup mount cannot be moved here: {p.stderr.strip()[-200:]}")
    assert p.returncode == 0, p.stderr
    before, after = p.stdout.split()
    assert after == str(tmp_path / "moved"), (before, after)


def test_the_cached_cpu_levels_hold_in_a_process_with_over_1024_files_open(monkeypatch):
    """A process with many files open (a Dask worker, napari with many layers) opens the watched
    mountinfo at a descriptor >= 1024, which select() cannot take. Before: its ValueError counted as
    a mount change at every look, so mountinfo was read again (~1 ms) and the cache emptied at every tile."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1100:
        if hard != resource.RLIM_INFINITY and hard < 1100:
            pytest.skip("fewer than 1100 files may be open here")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1100, hard))
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(max(0, 1030 - len(os.listdir("/proc/self/fd"))))]
    reads = []
    real = cgroups.levels
    monkeypatch.setattr(cgroups, "levels", lambda *a, **k: reads.append(a) or real(*a, **k))
    monkeypatch.setattr(mounts, "_WATCH", ())
    monkeypatch.setattr(threads, "_LEVELS", {})
    try:
        first = threads._cpu_levels("/")
        assert mounts._WATCH[1] >= 1024  # the case: the watch opened past select()'s reach
        assert [threads._cpu_levels("/") for _ in range(3)] == [first] * 3
    finally:
        if mounts._WATCH:
            os.close(mounts._WATCH[1])
        for fd in fds:
            os.close(fd)
        if soft != resource.RLIM_INFINITY and soft < 1100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert len(reads) == 1, reads  # read once, then cached (no mount or unmount meanwhile)


def test_levels_read_before_a_mount_change_another_thread_saw_are_not_kept(monkeypatch):
    """One thread's tile reads the cpu levels (none cached) when the mounts change and another thread's tile sees it
    (the kernel marks the shared mountinfo once: one poll sees it) and reads the new levels first: the levels read
    before the change are not kept over the new ones, and later tiles get the new. Before: the last read to finish
    was kept, and every later tile used the levels from before the remount (until the next mount change)."""
    reading, seen, real = threading.Event(), threading.Event(), threading.current_thread()
    change = [True]  # the remount, seen by the first poll after it: this thread's

    def levels(controller, root):  # the other thread's read began before the remount and ends after the new one
        if threading.current_thread() is real:
            return True, ["/new"]
        reading.set()
        assert seen.wait(10)
        return True, ["/old"]

    monkeypatch.setattr(cgroups, "levels", levels)
    monkeypatch.setattr(mounts, "mounts_changed", lambda: threading.current_thread() is real and bool(change) and
                        change.pop())
    monkeypatch.setattr(threads, "_LEVELS", {})
    got = []
    other = threading.Thread(target=lambda: got.append(threads._cpu_levels("/")))
    other.start()
    assert reading.wait(10)
    assert threads._cpu_levels("/") == (True, ["/new"])
    seen.set()
    other.join(10)
    assert got == [(True, ["/old"])]  # (its own read)
    assert [threads._cpu_levels("/") for _ in range(2)] == [(True, ["/new"])] * 2
