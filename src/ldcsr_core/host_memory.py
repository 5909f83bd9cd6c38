"""Memory this process can still fill before the kernel kills it (Linux; elsewhere unknown).

``np.empty`` of a result larger than the free memory succeeds on Linux (the kernel overcommits: it
refuses only what exceeds RAM and swap together), and the process is killed once the engine has
filled that much of it, hours into a run. :func:`available_bytes` is the figure to check first: the
kernel's ``MemAvailable`` (with what ZFS's ARC can give back, which it leaves out) plus free swap (not
a zram device's: compressed RAM), capped by the tightest cgroup memory limit the process is under (a
container's, a Slurm job's or systemd slice's above its own cgroup; v1's memory controller or v2,
wherever ``/proc/self/mountinfo`` says it is mounted; v2's ``memory.high`` as well as its
``memory.max``: above it the kernel throttles the cgroup), whose page cache counts as free, as the
kernel's figure counts it; its swap only as far as a limit on swap (v2's ``memory.swap.max``) or on
memory and swap together (v1's ``memory.memsw.limit_in_bytes``) lets it fill.
"""

from __future__ import annotations

import os

from .cgroups import levels
from .cgroups import number as _number
from .cgroups import read as _read

__all__ = ["available_bytes"]


def available_bytes(root: str = "/") -> int | None:
    """Bytes this process can still allocate and touch, or None where it is not known (not Linux).
    ``root``: where ``proc`` and ``sys`` are read from (tests)."""
    info = _meminfo(os.path.join(root, "proc/meminfo"))
    if info is None or "MemAvailable" not in info:
        return None
    swap = max(0, info.get("SwapFree", 0) - _zram_free(root))
    room = _cgroup_room(root, swap)
    free = info["MemAvailable"] + _arc_shrinkable(root) + swap
    return free if room is None else max(0, min(free, room))


def _meminfo(path: str) -> dict[str, int] | None:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def _zram_free(root: str) -> int:
    """The free swap on zram devices in ``/proc/swaps``: compressed RAM, taken from ``MemAvailable`` as
    it fills (a result's pixels and activations compress little), so no room beyond it."""
    total = 0
    for fields in (line.split() for line in (_read(os.path.join(root, "proc/swaps")) or "").splitlines()[1:]):
        zram = len(fields) > 3 and os.path.basename(fields[0]).startswith("zram")
        if zram and fields[2].isdigit() and fields[3].isdigit():
            total += (int(fields[2]) - int(fields[3])) * 1024  # Size and Used, in kB
    return total


def _arc_shrinkable(root: str) -> int:
    """What ZFS's ARC gives back under memory pressure, which ``MemAvailable`` leaves out: its ``size``
    above its floor ``c_min`` in ``/proc/spl/kstat/zfs/arcstats`` (0 without ZFS)."""
    stats = {}
    text = _read(os.path.join(root, "proc/spl/kstat/zfs/arcstats")) or ""
    for fields in (line.split() for line in text.splitlines()):
        if len(fields) == 3 and fields[2].isdigit():  # name type value
            stats[fields[0]] = int(fields[2])
    return max(0, stats["size"] - stats["c_min"]) if "size" in stats and "c_min" in stats else 0


def _page_cache(path: str, keys: tuple[str, ...]) -> int:
    """The sum of ``keys`` (a cgroup's file-backed pages, which it reclaims at its limit) in its
    ``memory.stat`` at ``path``, read once."""
    total = 0
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name in keys and value.strip().isdigit():
            total += int(value)
    return total


def _cgroup_room(root: str, swap_free: int) -> int | None:
    """What the tightest cgroup memory limit above the process leaves (its page cache, active and
    inactive, counted as free, as the kernel reclaims it at the limit), or None without a limit."""
    v2, dirs = levels("memory", root)
    rooms = _v2_rooms(dirs, swap_free) if v2 else _v1_rooms(dirs, swap_free)
    return min(rooms) if rooms else None


def _v2_rooms(levels: list[str], swap_free: int) -> list[int]:
    """The room each cgroup v2 limit in ``levels`` leaves (the lower of ``memory.max`` and ``memory.high``),
    with the swap ``memory.swap.max`` lets it fill."""
    swap_room = swap_free
    for d in levels:  # memory.swap.max: the swap a cgroup (and those below it) may fill
        swap, swapped = _read(os.path.join(d, "memory.swap.max")), _number(os.path.join(d, "memory.swap.current"))
        if swap not in (None, "max"):
            swap_room = min(swap_room, int(swap) - swapped if swap.isdigit() and swapped is not None else 0)
    rooms = []
    for d in levels:  # memory.high too: above it the kernel throttles the cgroup and reclaims hard
        limits = [n for n in (_number(os.path.join(d, f"memory.{f}")) for f in ("max", "high")) if n is not None]
        limit, used = min(limits, default=None), _number(os.path.join(d, "memory.current"))
        if limit is not None and used is not None:
            cache = _page_cache(os.path.join(d, "memory.stat"), ("active_file", "inactive_file"))
            rooms.append(limit - used + cache + max(0, swap_room))
    return rooms


def _v1_rooms(levels: list[str], swap_free: int) -> list[int]:
    """The room each cgroup v1 limit in ``levels`` leaves, and each limit on memory and swap together."""
    rooms = []
    for d in levels:
        limit, used = _number(os.path.join(d, "memory.limit_in_bytes")), _number(os.path.join(d, "memory.usage_in_bytes"))
        if limit is not None and used is not None and limit < 1 << 62:  # v1's "no limit" is about 2**63
            cache = _page_cache(os.path.join(d, "memory.stat"), ("total_active_file", "total_inactive_file"))
            rooms.append(limit - used + cache + swap_free)
            # memory and swap together (Slurm's ConstrainSwapSpace): the swap it may still fill
            both, both_used = (_number(os.path.join(d, f"memory.memsw.{f}")) for f in ("limit_in_bytes", "usage_in_bytes"))
            if both is not None and both_used is not None and both < 1 << 62:
                rooms.append(both - both_used + cache)
    return rooms
