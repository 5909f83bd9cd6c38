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


def _meminfo_total() -> int:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return (int(fields["MemTotal"].split()[0]) + int(fields["SwapTotal"].split()[0])) * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's overcommit")
def test_a_result_the_kernel_would_allocate_but_not_hold_is_refused_before_anything_runs():
    # Before: np.empty of a result between the free memory and RAM + swap succeeded (the kernel
    # overcommits) and the run started; the process was killed once it had filled the free memory.
    free, total = available_bytes(), _meminfo_total()
    if free is None or free > 0.95 * total:
        pytest.skip("no gap between the free memory and what the kernel allocates here")
    side = math.ceil(math.sqrt((free + total) / 2 / 3) / 8)  # ×8 uint8 RGB: between the two figures
    image = np.broadcast_to(np.uint8(7), (side, side, 3))
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)

    def started(progress):
        raise AssertionError("the run started")

    with pytest.raises(InputError, match=r"does not fit in memory \([\d.]+ [GT]iB free on this machine\): upscale a part"):
        ldcsr_core.upscale(image, 8, model=model, mode="fast", callback=started)
