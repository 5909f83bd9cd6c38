"""Keep torch fast in worker threads (GNU OpenMP).

With libgomp (the OpenMP of PyTorch's Linux wheels) every thread that has run a parallel torch
operation keeps a pool of idle OpenMP workers for as long as it lives, and while such idle pools
exist, parallel regions started by any *other* thread cost ~100 µs more each (libgomp then has
more threads than CPUs and stops spinning).  Measured on 2 cores: a 262 k-element ``add`` takes
25 µs, but 120–140 µs in a worker thread while the main thread or an earlier worker keeps its
pool; a 256-px model window 0.09 s vs 0.15 s.  GUIs compute in worker threads: calling
:func:`release_pool` in a thread when it stops computing (the main thread before it starts a
worker, a worker after each window) frees that thread's pool (OpenMP 5's
``omp_pause_resource_all``); a thread that computes again gets a new one (~0.1 ms).  Where torch
does not use libgomp it does nothing.  ``benchmarks/omp_threads.py`` shows the effect (05:35 UTC
2026-11-26: 13.9 µs per ``add`` on the main thread, 87.8 µs in a worker while the main thread keeps
its pool, 14.1 µs after ``release_pool()``).
"""

from __future__ import annotations

import ctypes

__all__ = ["release_pool"]

_gomp = None
_looked = False


def _libgomp():
    global _gomp, _looked
    if not _looked:
        _looked = True
        try:
            with open("/proc/self/maps") as f:
                paths = {line.split()[-1] for line in f if "libgomp" in line and "/" in line}
            if paths:
                lib = ctypes.CDLL(sorted(paths)[0])  # the copy already loaded (torch's own)
                lib.omp_pause_resource_all.argtypes = [ctypes.c_int]
                _gomp = lib
        except (OSError, AttributeError):  # not Linux, or a libgomp without OpenMP 5 pause
            _gomp = None
    return _gomp


def release_pool() -> bool:
    """Release the calling thread's idle OpenMP workers (see the module docstring). Call it only
    between torch operations of this thread. Returns False where there is nothing to release with
    (no libgomp loaded)."""
    lib = _libgomp()
    return bool(lib is not None and lib.omp_pause_resource_all(1) == 0)  # 1 = omp_pause_hard
