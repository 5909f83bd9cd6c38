"""Cost of a parallel torch operation in a worker thread, with and without ``release_pool``.

    python benchmarks/omp_threads.py [--threads 2] [--n 3000]

With GNU OpenMP, a thread that has computed keeps an idle pool of OpenMP workers; while one
exists, parallel regions started by other threads are slower (see ``ldcsr_core.threads``). This
prints the time of one 262 k-element ``add`` on the main thread, in a worker thread while the
main thread keeps its pool, and in a worker thread after ``release_pool()`` on the main thread.
"""

from __future__ import annotations

import argparse
import threading
import time

import torch

from ldcsr_core.threads import release_pool


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, default=3000)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    x = torch.randn(64, 64, 64)

    def per_op(label, out):
        for _ in range(200):
            torch.add(x, x)
        t = time.perf_counter()
        for _ in range(a.n):
            torch.add(x, x)
        out[label] = (time.perf_counter() - t) / a.n * 1e6

    def in_thread(label, out):
        th = threading.Thread(target=per_op, args=(label, out))
        th.start()
        th.join()

    res = {}
    per_op("main thread", res)
    in_thread("worker thread, main keeps its pool", res)
    released = release_pool()
    in_thread("worker thread after release_pool()", res)
    for k, v in res.items():
        print(f"{k:40s} {v:7.1f} µs per add")
    print(f"(libgomp pool released: {released}; torch threads {torch.get_num_threads()})")


if __name__ == "__main__":
    main()
