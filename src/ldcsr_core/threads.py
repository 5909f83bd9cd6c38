"""CPU threads of the engine: one rule for every front end (API, CLI, napari, QGIS, Dask).

**Policy.** ``LDCSR_THREADS=N`` (or ``ldcsr --threads N``, or :func:`set_threads`) runs every tile
on exactly N torch threads.  Otherwise (``auto``, the default) a tile runs on at most
``min(torch.get_num_threads(), available_cores())`` threads (CPU affinity and cgroup quota), and
fewer while other processes keep cores busy: with GNU OpenMP every worker spins at each of the
thousands of small parallel regions of a window, so one descheduled worker stalls the others
(measured on 2 cores with one kept busy: a screen-sized view 12× slower on 2 threads, not slower on
1).  :class:`Governor` picks the count of each tile from the previous one's measurement: our threads'
time waiting for a CPU (``/proc/self/task/*/schedstat``) drops a thread, idle cores of our CPU set
(``/proc/stat``) add one back; with no recent measurement the run starts from the number of
runnable tasks (``/proc/loadavg``).  The calling thread's own torch setting is restored after each
tile.  torch also keeps one process-wide count, which a thread takes as its own the first time it
uses torch; a tile's count is written there too while the tile runs, so a thread whose first torch
use is an engine tile started meanwhile is given the count from before the other tiles changed it
(a thread that first used torch elsewhere during another thread's tile keeps what torch gave it).
Fast mode in float32 gives bit-identical results for any thread count; in float32 diffusion mode
a few sums differ in their last bit, and in bfloat16 output values move by up to a few levels of
255 (README, "Engine notes": 1 vs 2 threads, 57.7 dB, 4.5/255 at most), so use a
fixed ``LDCSR_THREADS`` for bit-identical reruns on a loaded machine (and for a Dask run equal to
a local one: workers then run that count; in auto each runs its share of its cores,
:func:`worker_threads`; see ``ModelSource.threads``).

**Spin.** :func:`prepare` (run by ``import ldcsr_core``) sets ``GOMP_SPINCOUNT`` to
:data:`SPINCOUNT` before torch loads libgomp, unless ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` is
set: idle workers then sleep after a short spin, which bounds the cost of a tile that is still
running on too many threads when other work starts.  If torch was loaded first (a host
application), only the thread count adapts.

**Pools.** With libgomp every thread that has run a parallel torch operation keeps a pool of idle
OpenMP workers for as long as it lives, and while such idle pools exist, parallel regions started
by any *other* thread cost ~100 µs more each (libgomp then has more threads than CPUs and stops
spinning).  Measured on 2 cores: a 262 k-element ``add`` takes 25 µs, but 120–140 µs in a worker
thread while the main thread or an earlier worker keeps its pool; a 256-px model window 0.09 s vs
0.15 s.  GUIs compute in worker threads: calling :func:`release_pool` in a thread when it stops
computing (the main thread before it starts a worker, a worker after each window) frees that
thread's pool (OpenMP 5's ``omp_pause_resource_all``); a thread that computes again gets a new one
(~0.1 ms).  Where torch does not use libgomp it does nothing.  ``benchmarks/omp_threads.py`` shows
the effect (05:35 UTC 2026-11-26: 13.9 µs per ``add`` on the main thread, 87.8 µs in a worker
while the main thread keeps its pool, 14.1 µs after ``release_pool()``); ``benchmarks/busy_core.py``
measures the policy on an idle and on a busy machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import sys
import threading
import time

# (cgroups, mounts and words are imported where used: import ldcsr_core, ldcsr --version, need prepare alone)

__all__ = ["ENV", "SPINCOUNT", "prepare", "available_cores", "set_threads", "fixed_threads", "policy",
           "describe", "provenance_value", "workers_provenance", "tile_threads", "worker_threads", "Governor",
           "GOVERNOR", "release_pool"]

log = logging.getLogger(__name__)

ENV = "LDCSR_THREADS"
SPINCOUNT = "10000"  # libgomp's default is 300000 (README, "Busy machine": measured with busy_core.py)
_override: int | None = None
_prepared: bool | None = None  # None: prepare() not run; False: torch was loaded first
_local = threading.local()  # .fixed: a count fixed for the calling thread (fixed_threads); .seen: it ran a tile


def prepare() -> bool:
    """Before torch loads: set ``GOMP_SPINCOUNT`` (unless a spin or wait policy is set) and, for a
    fixed ``LDCSR_THREADS``, ``OMP_NUM_THREADS``. Returns False if torch was already loaded."""
    global _prepared
    if _prepared is None:
        _prepared = "torch" not in sys.modules
        if _prepared:
            if not ({"GOMP_SPINCOUNT", "OMP_WAIT_POLICY"} & os.environ.keys()):
                os.environ["GOMP_SPINCOUNT"] = SPINCOUNT
            try:
                fixed = _env_threads()
            except Exception:  # noqa: BLE001 - a bad value is reported where the policy is read
                fixed = None
            if fixed and "OMP_NUM_THREADS" not in os.environ:
                os.environ["OMP_NUM_THREADS"] = str(fixed)
    return _prepared


def _env_threads() -> int | None:
    value = os.environ.get(ENV, "auto").strip().lower()
    if value in ("", "auto"):
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        from .errors import SettingError
        raise SettingError(f"{ENV} must be 'auto' or a whole number >= 1, got {value!r}")
    return n


def available_cores(root: str = "/") -> int:
    """CPUs this process may use: its affinity set, capped by a cgroup CPU quota (:func:`_cgroup_quota`;
    ``root``: where ``proc`` and ``sys`` are read from, for tests)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota(root)
    return max(1, min(n, math.ceil(quota))) if quota else max(1, n)


def worker_threads(nthreads: int, cores: int | None = None) -> int:
    """Torch threads for each tile of a Dask worker that runs ``nthreads`` tiles at once: its
    ``cores`` (default :func:`available_cores` where it runs) shared among them, at least 1."""
    return max(1, (cores or available_cores()) // max(1, int(nthreads)))


def _cgroup_quota(root: str = "/") -> float | None:
    """The tightest CPU quota, in CPUs, on the process's cgroup and each one above it (``docker --cpus``,
    a Slurm job's, a systemd slice's ``CPUQuota``), wherever the cpu controller is mounted
    (:func:`.cgroups.levels`): v2's ``cpu.max`` ("quota period"; "max period": none), v1's
    ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (-1: none); None without one."""
    from . import cgroups

    v2, dirs = _cpu_levels(root)
    quotas = []
    for d in dirs:
        if v2:
            parts = (cgroups.read(os.path.join(d, "cpu.max")) or "").split()
        else:
            parts = [cgroups.read(os.path.join(d, f"cpu.cfs_{f}_us")) or "" for f in ("quota", "period")]
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and int(parts[1]) > 0:
            quotas.append(int(parts[0]) / int(parts[1]))
    return min(quotas, default=None)


_LEVELS: dict[str, tuple[int, tuple[bool, list[str]]]] = {}  # {cgroup: (_CHANGES when read, its levels)}
_CHANGES = [0]  # the mount changes a thread has seen (one poll sees each: the mountinfo is the process's)


def _cpu_levels(root: str) -> tuple[bool, list[str]]:
    """:func:`.cgroups.levels` of the cpu controller, kept for this machine's root while the process's
    cgroup (``/proc/self/cgroup``) is the same and no mount or unmount was made since
    (:func:`.mounts.mounts_changed`): reading ``mountinfo`` at each tile costs ~0.5 ms (tests' roots are read
    afresh each time). Levels read across a change another thread saw are not kept (that thread's are)."""
    from . import cgroups, mounts

    if root != "/":
        return cgroups.levels("cpu", root)
    key = cgroups.read("/proc/self/cgroup") or ""
    if mounts.mounts_changed():
        _CHANGES[0] += 1
    seen, kept = _CHANGES[0], _LEVELS.get(key)  # one look: another thread may replace it
    if kept is not None and kept[0] == seen:
        return kept[1]
    found = cgroups.levels("cpu", root)
    if _CHANGES[0] == seen:  # no change seen since this read began (else the thread that saw it keeps its own)
        _LEVELS.clear()
        _LEVELS[key] = (seen, found)
    return found


def set_threads(n: int | None) -> None:
    """Fix the thread count for this process (``ldcsr --threads``); None goes back to
    ``LDCSR_THREADS`` / auto."""
    global _override
    _override = _count(n)


def _count(n) -> int | None:
    """None, or ``n`` if it is a whole number >= 1: else :class:`~ldcsr_core.InputError` here (a
    ValueError), not torch's 'set_num_threads expects an int' at the next tile (1.5 and True were
    taken by set_threads as 1)."""
    from .rules import check_count

    return None if n is None else check_count(n, "threads")


@contextlib.contextmanager
def fixed_threads(n: int | None):
    """Fix the count for tiles computed by the calling thread inside the block (a Dask worker's
    tiles: see ``ModelSource.threads``); None changes nothing."""
    n, saved = _count(n), getattr(_local, "fixed", None)
    _local.fixed = n or saved
    try:
        yield
    finally:
        _local.fixed = saved


def policy() -> tuple[str, int]:
    """``("fixed", N)`` (:func:`fixed_threads`, then :func:`set_threads`, then ``LDCSR_THREADS``)
    or ``("auto", most)``: the calling thread's torch count (``OMP_NUM_THREADS`` or the CPU count
    while torch is not loaded) capped by :func:`available_cores`."""
    fixed = getattr(_local, "fixed", None) or _override or _env_threads()
    if fixed:
        return "fixed", fixed
    if "torch" in sys.modules:  # (a thread's first look is taken as its first tile's: _own_count)
        most = _own_count(sys.modules["torch"])
    else:
        omp = os.environ.get("OMP_NUM_THREADS", "")
        most = int(omp) if omp.isdigit() and int(omp) > 0 else os.cpu_count() or 1
    return "auto", max(1, min(most, available_cores()))


def describe(spin: bool = False) -> str:
    """``auto, up to 2 threads`` or ``4 threads (LDCSR_THREADS)``; ``spin`` adds the OpenMP spin
    setting (``ldcsr info``)."""
    from .words import counted

    kind, n = policy()
    source = "--threads" if _override else ENV
    text = f"{counted(n, 'thread')} ({source})" if kind == "fixed" else f"auto, up to {counted(n, 'thread')}"
    if spin:
        text += "; GOMP_SPINCOUNT " + os.environ.get("GOMP_SPINCOUNT", "unset")
        text += "" if _prepared else " (torch was loaded first)" if _prepared is False else ""
    return text


def provenance_value() -> str:
    """The ``LDCSR_THREADS`` provenance tag: ``auto:2`` or ``2``."""
    kind, n = policy()
    return f"auto:{n}" if kind == "auto" else str(n)


def workers_provenance(share: int | None = None) -> str:
    """The ``LDCSR_THREADS`` tag of a Dask run whose workers run no fixed count: ``auto:workers`` (each
    worker its share of its own cores, :func:`worker_threads`), or ``auto:workers:K`` when that share is
    ``K`` on every worker (``local:N``: this machine's cores // N). Before, the client's ``auto:N``."""
    return "auto:workers" if share is None else f"auto:workers:{share}"


# ------------------------------------------------------------------------------ measurement

def _thread_waits() -> dict[str, int] | None:
    """Nanoseconds each thread of this process has waited for a CPU so far, by thread id (None where
    not available)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    waits = {}
    for t in tasks:
        try:
            with open(f"/proc/self/task/{t}/schedstat") as f:
                waits[t] = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):  # a thread that just ended
            continue
    return waits


def _waited(since: dict[str, int] | None) -> float | None:
    """Seconds this process's threads have waited for a CPU since ``since`` (a :func:`_thread_waits`):
    each live thread's wait less its wait then (all of it for a thread new since). Not the change of
    a sum over the threads: a thread that ends (the OpenMP workers :func:`release_pool` frees after
    another thread's window, say) takes its whole wait out of such a sum, which then went down: a
    tile's wait came out negative, and the governor kept or added threads on a busy machine."""
    now = _thread_waits()
    if since is None or now is None:
        return None
    return sum(max(0, ns - since.get(t, 0)) for t, ns in now.items()) / 1e9


def _idle_cpu_seconds() -> float | None:
    """Idle CPU seconds so far, summed over the CPUs of our affinity set (None where unknown)."""
    try:
        cpus = os.sched_getaffinity(0)
        total = 0
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3:4].isdigit():
                    p = line.split()
                    if int(p[0][3:]) in cpus:
                        total += int(p[4]) + int(p[5])  # idle + iowait
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, AttributeError, ValueError, IndexError):
        return None


def _own_running() -> int:
    """Threads of this process that are running or runnable now (the caller among them)."""
    n = 0
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/stat") as f:
                n += f.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):  # a thread that just ended
            continue
    return max(1, n)


def _others_running() -> int | None:
    """Runnable tasks of other processes now (``/proc/loadavg`` less our own; least of 3 looks
    1 ms apart), or None where that does not describe our CPUs (a restricted CPU set)."""
    try:
        if len(os.sched_getaffinity(0)) != os.cpu_count():
            return None
        seen = []
        for i in range(3):
            if i:
                time.sleep(0.001)
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
            seen.append(running - _own_running())
        return max(0, min(seen))
    except (OSError, AttributeError, ValueError, IndexError):
        return None


class Governor:
    """Thread count of the next tile in auto mode (see the module docstring); one per process."""

    MIN_TILE_S = 0.05  # shorter tiles are not measured (too short to tell, and cheap anyway)
    STALE_S = 10.0  # an older measurement is not trusted: the run starts from /proc/loadavg
    WAIT_DROP = 0.5  # our threads waited for a CPU this share of the tile: one thread fewer
    IDLE_ADD = 0.6  # this many idle cores of our CPU set during the tile: one thread more

    def __init__(self):
        self._lock = threading.Lock()
        self.threads: int | None = None
        self.when = 0.0

    def choose(self, most: int) -> int:
        with self._lock:
            recent = self.threads is not None and time.monotonic() - self.when < self.STALE_S
            n = self.threads if recent else None
        if n is None:
            others = _others_running()
            n = most if others is None else available_cores() - others
        return max(1, min(most, n))

    def observe(self, n: int, most: int, wall: float, waited: float | None, idle: float | None) -> int:
        """Record a tile run on ``n`` threads; returns the count for the next one."""
        nxt = n
        if wall >= self.MIN_TILE_S and waited is not None:
            if waited / wall > self.WAIT_DROP and n > 1:
                nxt = max(1, n - max(1, round(waited / wall)))
            elif idle is not None and idle / wall > self.IDLE_ADD and n < most:
                nxt = min(most, n + max(1, int(idle / wall + 0.4)))
            with self._lock:
                self.threads, self.when = nxt, time.monotonic()
            log.debug("tile on %d threads, %.3f s: waited %.2f, idle %.2f cores -> %d", n, wall,
                      waited / wall, (idle or 0.0) / wall, nxt)
        return nxt


GOVERNOR = Governor()


@contextlib.contextmanager
def tile_threads():
    """Run the body (one tile, in the computing thread) on the policy's thread count; the calling
    thread's torch setting is restored afterwards. Yields the count used."""
    import torch

    before = _own_count(torch)
    kind, most = policy()
    n = most if kind == "fixed" else GOVERNOR.choose(most)
    if n != before:
        _change_count(torch, n, before)
    measure = kind == "auto"
    if measure:
        t0, w0, i0 = time.perf_counter(), _thread_waits(), _idle_cpu_seconds()
    try:
        yield n
        if measure:
            wall = time.perf_counter() - t0
            i1 = _idle_cpu_seconds()
            GOVERNOR.observe(n, most, wall, _waited(w0), None if i0 is None or i1 is None else i1 - i0)
    finally:
        if n != before:
            _change_count(torch, before, None)


@contextlib.contextmanager
def fixed_count():
    """Run the body (a loop of training steps: ``adapt``'s fine-tuning) on the fixed count when one
    is set (:func:`fixed_threads`, :func:`set_threads`, ``LDCSR_THREADS``), as tiles run; in auto
    mode on the thread's own count. The calling thread's torch setting is restored afterwards."""
    import torch

    kind, n = policy()
    before = _own_count(torch)
    if kind != "fixed" or n == before:
        yield
        return
    _change_count(torch, n, before)
    try:
        yield
    finally:
        _change_count(torch, before, None)


# torch.set_num_threads(n) sets the calling thread's count and torch's process-wide one, from which a
# thread takes its own at its first torch use: while a tile runs on a count of its own, a thread new
# to torch would take that count for good (and, in auto mode, cap every later tile of its own by it).
_count_lock = threading.Lock()
_changed = 0  # tiles running now on a count of their own
_resting: int | None = None  # the process-wide count before those tiles changed it
_written: int | None = None  # the process-wide count as the last of our changes left it


def _own_count(torch) -> int:
    """The calling thread's torch count; at a thread's first tile (or first look, :func:`policy`), the process's
    resting count if torch has just given it the count of another thread's running tile."""
    global _written
    with _count_lock:  # a thread new to torch takes its count here, not while it is being changed
        n = torch.get_num_threads()
        if not getattr(_local, "seen", False):
            _local.seen = True
            if _changed and n == _written and _resting is not None and n != _resting:
                torch.set_num_threads(_resting)  # also rests the process-wide count again
                n, _written = _resting, _resting
        return n


def _change_count(torch, n: int, before: int | None) -> None:
    """Run the calling thread on ``n`` torch threads: a tile's count (``before``: the thread's own), or
    back to its own (``before`` None)."""
    global _changed, _resting, _written
    with _count_lock:
        if before is not None:
            if not _changed:
                _resting = before
            _changed += 1
        else:
            _changed -= 1
        torch.set_num_threads(n)
        _written = n


# ------------------------------------------------------------------------------ OpenMP pools

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
