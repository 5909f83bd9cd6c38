"""Reuse freed memory while inference runs (glibc): no page faults for every fresh activation.

By default glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh
``mmap``, whose pages the kernel faults in and zeroes on first touch, and unmaps it again on free:
one 128→512 super-resolution with the official architecture faulted in ~4 GB this way (~1 M page
faults, 15–20 % of its time).  :func:`retained_heap` raises the thresholds while it is active, so
freed activations are reused, and when the outermost one exits, gives the free memory back to the
system (``malloc_trim``) and sets glibc's thresholds to the values its own dynamic rule reaches
once a 32 MiB block has been freed.  Elsewhere (macOS, Windows, musl) it does nothing.
``LDCSR.run_window`` runs inside it: one model window at a time, so a tiled run's peak memory
stays that of one window (across a whole tiled run, fragmentation raised it by a quarter).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

__all__ = ["retained_heap", "resident_bytes", "trim_above", "bounded_retained_heap"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_RETAIN = (1 << 30, 1 << 30)  # (mmap, trim) thresholds while active: blocks up to 1 GiB are reused
_AFTER = (32 << 20, 64 << 20)  # glibc's own ceiling for its dynamic thresholds (64-bit)

_lock = threading.Lock()
_depth = 0


def _load_glibc():
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return None
        libc = ctypes.CDLL("libc.so.6")  # glibc's soname on x86-64 and aarch64
        libc.mallopt.argtypes, libc.malloc_trim.argtypes = [ctypes.c_int, ctypes.c_int], [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError, ValueError):  # not glibc (os.confstr raises elsewhere)
        return None


_libc = _load_glibc()


def _set(mmap_threshold: int, trim_threshold: int) -> None:
    _libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    _libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)


@contextlib.contextmanager
def retained_heap():
    """Keep freed memory for reuse inside the block (re-entrant and thread-safe)."""
    global _depth
    if _libc is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _set(*_RETAIN)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _set(*_AFTER)
                _libc.malloc_trim(0)


def resident_bytes() -> int:
    """This process's resident memory in bytes (Linux ``/proc/self/statm``; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def trim_above(limit: int) -> bool:
    """Give free heap memory back to the system if resident memory exceeds ``limit`` bytes (inside a
    :func:`retained_heap`, where freed memory is otherwise kept). Returns whether it trimmed."""
    if _libc is None or resident_bytes() <= limit:
        return False
    _libc.malloc_trim(0)
    return True


@contextlib.contextmanager
def bounded_retained_heap(extra_bytes: int):
    """:func:`retained_heap` for a loop of model windows: yields ``trim()``, to call after each
    window, which gives free memory back once resident memory exceeds its level at the start by
    ``extra_bytes`` — so the windows reuse each other's memory but it does not grow with the loop."""
    with retained_heap():
        cap = resident_bytes() + int(extra_bytes)
        yield lambda: trim_above(cap)
