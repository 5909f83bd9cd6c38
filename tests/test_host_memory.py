"""A result larger than the free memory is refused before it is computed (host_memory.available_bytes)."""

import math
import sys

import numpy as np
import pytest

import ldcsr_core
from ldcsr_core import InputError
from ldcsr_core.config import tiny_test_config
from ldcsr_core.host_memory import available_bytes

GiB = 2**30


def _files(root, files: dict):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


MEMINFO = "MemTotal:       25000000 kB\nMemAvailable:   20000000 kB\nSwapTotal: 4000000 kB\nSwapFree:        1000000 kB\n"


def test_free_memory_is_the_kernels_available_figure_plus_free_swap(tmp_path):
    assert available_bytes(_files(tmp_path, {"proc/meminfo": MEMINFO})) == (20000000 + 1000000) * 1024
    assert available_bytes(str(tmp_path / "elsewhere")) is None  # not Linux: not known, nothing refused


def test_a_cgroup_v2_limit_caps_it_with_its_page_cache_counted_as_free(tmp_path):
    root = _files(tmp_path, {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/job\n",
                             "sys/fs/cgroup/cgroup.controllers": "memory\n",
                             "sys/fs/cgroup/job/memory.max": str(8 * GiB), "sys/fs/cgroup/job/memory.current": str(5 * GiB),
                             "sys/fs/cgroup/job/memory.stat": f"anon 1\ninactive_file {GiB}\n",
                             "sys/fs/cgroup/job/memory.swap.max": "0", "sys/fs/cgroup/job/memory.swap.current": "0"})
    assert available_bytes(root) == 4 * GiB
    (tmp_path / "sys/fs/cgroup/job/memory.max").write_text("max")  # no limit: the kernel's figure
    assert available_bytes(root) == (20000000 + 1000000) * 1024


def test_a_cgroup_v1_limit_caps_it_and_its_no_limit_value_does_not(tmp_path):
    root = _files(tmp_path, {"proc/meminfo": MEMINFO, "proc/self/cgroup": "4:memory:/job\n1:cpu:/\n",
                             "sys/fs/cgroup/memory/job/memory.limit_in_bytes": str(6 * GiB),
                             "sys/fs/cgroup/memory/job/memory.usage_in_bytes": str(5 * GiB),
                             "sys/fs/cgroup/memory/job/memory.stat": f"cache 5\ntotal_inactive_file {2 * GiB}\n"})
    assert available_bytes(root) == 3 * GiB + 1000000 * 1024
    (tmp_path / "sys/fs/cgroup/memory/job/memory.limit_in_bytes").write_text("9223372036854771712")
    assert available_bytes(root) == (20000000 + 1000000) * 1024


def test_a_limit_above_the_process_cgroup_caps_it(tmp_path):
    # Before: only the process's own cgroup was read: a limit set on a cgroup above it (a Slurm job's,
    # its task's cgroup unlimited; a systemd slice's) was not seen, and a result the limit kills was let through.
    v2 = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/job_7/step_0/task_0\n",
          "sys/fs/cgroup/cgroup.controllers": "memory\n",
          "sys/fs/cgroup/job_7/memory.max": str(8 * GiB), "sys/fs/cgroup/job_7/memory.current": str(5 * GiB),
          "sys/fs/cgroup/job_7/memory.swap.max": "0", "sys/fs/cgroup/job_7/memory.swap.current": "0"}
    for level in ("job_7/step_0", "job_7/step_0/task_0"):
        v2.update({f"sys/fs/cgroup/{level}/memory.max": "max", f"sys/fs/cgroup/{level}/memory.current": str(GiB),
                   f"sys/fs/cgroup/{level}/memory.swap.max": "max", f"sys/fs/cgroup/{level}/memory.swap.current": "0"})
    assert available_bytes(_files(tmp_path / "v2", v2)) == 3 * GiB
    v1 = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "4:memory:/job_7/step_0\n",
          "sys/fs/cgroup/memory/job_7/memory.limit_in_bytes": str(6 * GiB),
          "sys/fs/cgroup/memory/job_7/memory.usage_in_bytes": str(5 * GiB),
          "sys/fs/cgroup/memory/job_7/step_0/memory.limit_in_bytes": "9223372036854771712",
          "sys/fs/cgroup/memory/job_7/step_0/memory.usage_in_bytes": str(GiB)}
    assert available_bytes(_files(tmp_path / "v1", v1)) == GiB + 1000000 * 1024


def test_a_cgroup_v1_limit_on_memory_and_swap_together_caps_the_swap_it_may_fill(tmp_path):
    # Before: v1's memory.memsw.limit_in_bytes was not read and the machine's free swap was added to a
    # limit's room: a Slurm job (ConstrainSwapSpace, no swap allowed: memsw = 8 GiB = its memory limit,
    # 5 GiB used) on a node with 16 GiB of swap free was said to have 19 GiB, and a 10 GiB result let
    # through, which the limit kills.
    meminfo = f"MemTotal: 64000000 kB\nMemAvailable: 50000000 kB\nSwapFree: {16 * GiB // 1024} kB\n"
    job = "sys/fs/cgroup/memory/slurm/uid_1/job_7"
    files = {"proc/meminfo": meminfo, "proc/self/cgroup": "11:memory:/slurm/uid_1/job_7/step_0/task_0\n",
             f"{job}/memory.limit_in_bytes": str(8 * GiB), f"{job}/memory.usage_in_bytes": str(5 * GiB),
             f"{job}/memory.memsw.limit_in_bytes": str(8 * GiB), f"{job}/memory.memsw.usage_in_bytes": str(5 * GiB),
             f"{job}/memory.stat": f"total_active_file {GiB // 2}\ntotal_inactive_file {GiB // 2}\n",
             f"{job}/step_0/task_0/memory.limit_in_bytes": "9223372036854771712",
             f"{job}/step_0/task_0/memory.usage_in_bytes": str(GiB)}
    root = _files(tmp_path, files)
    assert available_bytes(root) == 4 * GiB  # 3 GiB under the limit and its 1 GiB of page cache
    (tmp_path / job / "memory.memsw.limit_in_bytes").write_text(str(10 * GiB))  # 2 GiB of swap allowed
    (tmp_path / job / "memory.memsw.usage_in_bytes").write_text(str(5 * GiB + GiB // 2))  # half of it used
    assert available_bytes(root) == 4 * GiB + 3 * GiB // 2  # and the 1.5 GiB of swap it may still fill
    (tmp_path / job / "memory.memsw.limit_in_bytes").write_text("9223372036854771712")  # swap not limited
    assert available_bytes(root) == 4 * GiB + 16 * GiB


def test_a_cgroups_active_page_cache_counts_as_free_too(tmp_path):
    # Before: only inactive_file was counted: a container that had just read its 2 GiB input twice
    # (its cache active) was refused a result the kernel holds by dropping that cache at the limit.
    root = _files(tmp_path, {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/\n",
                             "sys/fs/cgroup/cgroup.controllers": "memory\n",
                             "sys/fs/cgroup/memory.max": str(8 * GiB), "sys/fs/cgroup/memory.current": str(5 * GiB),
                             "sys/fs/cgroup/memory.stat": f"anon 1\nfile {3 * GiB}\nactive_file {2 * GiB}\n"
                                                          f"inactive_file {GiB}\nshmem 0\n"})
    assert available_bytes(root) == 6 * GiB + 1000000 * 1024
    (tmp_path / "sys/fs/cgroup/memory.swap.max").write_text("0")
    (tmp_path / "sys/fs/cgroup/memory.swap.current").write_text("0")
    assert available_bytes(root) == 6 * GiB


def test_a_cgroup_v2_memory_high_caps_it_as_memory_max_does(tmp_path):
    # Before: only memory.max was read: a job under memory.high = 8 GiB (memory.max unset), 5 GiB used,
    # was let start a 10 GiB result, which the kernel throttles and reclaims at 8 GiB (for hours), as it
    # does under a slice's memory.high above the job's cgroup.
    files = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/slice/job\n", "sys/fs/cgroup/cgroup.controllers": "memory\n"}
    for level, high in (("slice", "max"), ("slice/job", str(8 * GiB))):
        files.update({f"sys/fs/cgroup/{level}/memory.max": "max", f"sys/fs/cgroup/{level}/memory.high": high,
                      f"sys/fs/cgroup/{level}/memory.current": str(5 * GiB),
                      f"sys/fs/cgroup/{level}/memory.swap.max": "0", f"sys/fs/cgroup/{level}/memory.swap.current": "0"})
    root = _files(tmp_path, files)
    assert available_bytes(root) == 3 * GiB
    (tmp_path / "sys/fs/cgroup/slice/job/memory.max").write_text(str(7 * GiB))  # the lower of the two
    assert available_bytes(root) == 2 * GiB
    (tmp_path / "sys/fs/cgroup/slice/memory.high").write_text(str(6 * GiB))  # the slice's, above the job
    assert available_bytes(root) == GiB


def test_free_swap_on_zram_is_not_counted_as_free(tmp_path):
    # Before: a zram device's free swap (compressed RAM, which fills from MemAvailable as it is used)
    # was added to MemAvailable as room beyond it: 600 MB counted twice, and more on the usual zram
    # of half the RAM (Fedora's, ChromeOS's), letting through a result that does not fit.
    swaps = ("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
             "/dev/zram0                              partition\t800000\t\t200000\t\t100\n"
             "/swap\\040file                           file\t\t500000\t\t100000\t\t-2\n")
    root = _files(tmp_path, {"proc/meminfo": MEMINFO, "proc/swaps": swaps})
    assert available_bytes(root) == (20000000 + 400000) * 1024  # the swap file's free 400000 kB only
    files = {"proc/self/cgroup": "4:memory:/job\n", "sys/fs/cgroup/memory/job/memory.limit_in_bytes": str(6 * GiB),
             "sys/fs/cgroup/memory/job/memory.usage_in_bytes": str(5 * GiB)}
    assert available_bytes(_files(tmp_path, files)) == GiB + 400000 * 1024  # and under a limit


def test_what_zfss_arc_can_give_back_counts_as_free(tmp_path):
    # Before: ZFS's ARC, which shrinks to its c_min under memory pressure, is not in MemAvailable: a
    # ZFS machine with 5 GiB of ARC above its floor was refused a result that fits once the ARC shrinks.
    arcstats = ("13 1 0x01 123 33456 1234567 8901234\nname                            type data\n"
                f"hits                            4    12345\nc_min                           4    {GiB}\n"
                f"c_max                           4    {12 * GiB}\nsize                            4    {6 * GiB}\n")
    root = _files(tmp_path, {"proc/meminfo": MEMINFO, "proc/spl/kstat/zfs/arcstats": arcstats})
    assert available_bytes(root) == (20000000 + 1000000) * 1024 + 5 * GiB
    (tmp_path / "proc/spl/kstat/zfs/arcstats").write_text(arcstats.replace(str(6 * GiB), str(GiB // 2)))
    assert available_bytes(root) == (20000000 + 1000000) * 1024  # below its floor: nothing to give back
    files = {"proc/self/cgroup": "4:memory:/job\n", "sys/fs/cgroup/memory/job/memory.limit_in_bytes": str(6 * GiB),
             "sys/fs/cgroup/memory/job/memory.usage_in_bytes": str(5 * GiB)}  # the ARC is not the cgroup's
    assert available_bytes(_files(tmp_path, files)) == GiB + 1000000 * 1024


def _mount(point: str, kind: str, options: str = "rw", top: str = "/") -> str:
    """A /proc/self/mountinfo line for a cgroup file system mounted at ``point``."""
    return f"35 24 0:30 {top} {point} rw,nosuid,nodev,noexec,relatime shared:9 - {kind} {kind} {options}\n"


def test_a_cgroup_mounted_elsewhere_than_sys_fs_cgroup_caps_it(tmp_path):
    # Before: v2 was looked for only at /sys/fs/cgroup and v1's memory controller only at
    # /sys/fs/cgroup/memory: a container runtime's own cgroup2 mount, or v1's at /cgroup/memory (RHEL 6),
    # gave no cap, and a 10 GiB result under a limit of 8 GiB (5 GiB used) was let through.
    v2 = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "0::/pod_1/ctr\n",
          "proc/self/mountinfo": _mount("/run/cg\\040two", "cgroup2", top="/pod_1") + _mount("/proc", "proc"),
          "run/cg two/cgroup.controllers": "memory\n",
          "run/cg two/ctr/memory.max": str(8 * GiB), "run/cg two/ctr/memory.current": str(5 * GiB),
          "run/cg two/ctr/memory.swap.max": "0", "run/cg two/ctr/memory.swap.current": "0"}
    assert available_bytes(_files(tmp_path / "v2", v2)) == 3 * GiB
    v1 = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "3:cpu,cpuacct:/\n2:memory:/job\n",
          "proc/self/mountinfo": _mount("/cgroup/cpu", "cgroup", "rw,cpu,cpuacct") + _mount("/cgroup/memory", "cgroup", "rw,memory"),
          "cgroup/memory/job/memory.limit_in_bytes": str(8 * GiB), "cgroup/memory/job/memory.usage_in_bytes": str(5 * GiB),
          "cgroup/cpu/job/memory.limit_in_bytes": str(GiB), "cgroup/cpu/job/memory.usage_in_bytes": "0"}  # not memory's
    assert available_bytes(_files(tmp_path / "v1", v1)) == 3 * GiB + 1000000 * 1024


def test_on_a_hybrid_system_the_v1_memory_controllers_limit_caps_it(tmp_path):
    # systemd's hybrid layout: v1 controllers under /sys/fs/cgroup, v2 (no memory controller) at
    # /sys/fs/cgroup/unified; the limit that applies is the v1 memory controller's.
    files = {"proc/meminfo": MEMINFO, "proc/self/cgroup": "4:memory:/job\n1:name=systemd:/job\n0::/job\n",
             "proc/self/mountinfo": _mount("/sys/fs/cgroup", "tmpfs") + _mount("/sys/fs/cgroup/unified", "cgroup2")
             + _mount("/sys/fs/cgroup/memory", "cgroup", "rw,memory") + _mount("/sys/fs/cgroup/systemd", "cgroup", "rw,name=systemd"),
             "sys/fs/cgroup/unified/cgroup.controllers": "\n", "sys/fs/cgroup/unified/job/cgroup.procs": "1\n",
             "sys/fs/cgroup/memory/job/memory.limit_in_bytes": str(6 * GiB),
             "sys/fs/cgroup/memory/job/memory.usage_in_bytes": str(5 * GiB)}
    assert available_bytes(_files(tmp_path, files)) == GiB + 1000000 * 1024


def _meminfo_total() -> int:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return (int(fields["MemTotal"].split()[0]) + int(fields["SwapTotal"].split()[0])) * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's overcommit")
def test_a_result_the_kernel_would_allocate_but_not_hold_is_refused_before_anything_runs():
    # Before: np.empty of a result between the free memory and RAM + swap succeeded (the kernel
    # overcommits) and the run started; the process was killed once it had filled the free memory.
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    free, total = available_bytes(), _meminfo_total()
    # the result lies half the gap from each figure: another process (an xdist worker) freeing or
    # taking less than that meanwhile changes nothing
    if free is None or total - free < max(2 * GiB, 0.05 * total):
        pytest.skip("no gap between the free memory and what the kernel allocates here")
    side = math.ceil(math.sqrt((free + total) / 2 / 3) / 8)  # ×8 uint8 RGB: between the two figures
    image = np.broadcast_to(np.uint8(7), (side, side, 3))

    def started(progress):
        raise AssertionError("the run started")

    with pytest.raises(InputError, match=r"does not fit in memory \([\d.]+ (kB|MB|GiB|TiB) free on this machine\): upscale a part"):
        ldcsr_core.upscale(image, 8, model=model, mode="fast", callback=started)


def test_a_result_larger_than_the_free_memory_is_refused_whatever_this_machine_has_free(monkeypatch):
    # The test above needs a gap between the free memory and RAM + swap on the machine it runs on;
    # this one gives the engine a free-memory figure (1 GiB) and asks for 3 GiB, which numpy
    # allocates here without a word (Linux overcommits; nothing is written to it).
    import ldcsr_core.host_memory as host_memory

    monkeypatch.setattr(host_memory, "available_bytes", lambda: GiB)
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    image = np.broadcast_to(np.uint8(7), (8, 8, 3))
    side = math.ceil(math.sqrt(3 * GiB / 3) / 8)
    big = np.broadcast_to(np.uint8(7), (side, side, 3))

    def started(progress):
        raise AssertionError("the run started")

    with pytest.raises(InputError, match=r"uint8 \(3.0 GiB\), does not fit in memory \(1.0 GiB free on this machine\)"):
        ldcsr_core.upscale(big, 8, model=model, mode="fast", callback=started)
    with pytest.raises(InputError, match=r"float32 ×2 \(.*\), does not fit in memory \(1.0 GiB free"):
        ldcsr_core.upscale(np.broadcast_to(np.uint8(7), (1024, 1024, 3)), 8, model=model, samples=2, callback=started)
    out = ldcsr_core.upscale(image, 2, model=model, mode="fast")  # one that fits runs as before
    assert out.shape == (16, 16, 3)
