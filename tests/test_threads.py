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
