"""Memory this process can still fill before the kernel kills it (Linux; elsewhere unknown).

``np.empty`` of a result larger than the free memory succeeds on Linux (the kernel overcommits: it
refuses only what exceeds RAM and swap together), and the process is killed once the engine has
filled that much of it, hours into a run. :func:`available_bytes` is the figure to check first: the
kernel's ``MemAvailable`` plus free swap, capped by the tightest cgroup memory limit the process is
under (a container's, a Slurm job's or systemd slice's above its own cgroup), whose page cache counts as
free, as the kernel's figure counts it; its swap only as far as a limit on swap (v2's ``memory.swap.max``)
or on memory and swap together (v1's ``memory.memsw.limit_in_bytes``) lets it fill.
"""

from __future__ import annotations

import os

__all__ = ["available_bytes"]


def available_bytes(root: str = "/") -> int | None:
    """Bytes this process can still allocate and touch, or None where it is not known (not Linux).
    ``root``: where ``proc`` and ``sys`` are read from (tests)."""
    info = _meminfo(os.path.join(root, "proc/meminfo"))
    if info is None or "MemAvailable" not in info:
        return None
    free = info["MemAvailable"] + info.get("SwapFree", 0)
    room = _cgroup_room(root, info.get("SwapFree", 0))
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


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _page_cache(path: str, keys: tuple[str, ...]) -> int:
    """The sum of ``keys`` (a cgroup's file-backed pages, which it reclaims at its limit) in its
    ``memory.stat`` at ``path``, read once."""
    total = 0
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name in keys and value.strip().isdigit():
            total += int(value)
    return total


def _own_dir(mount: str, root: str, v2: bool) -> str:
    """The process's own cgroup folder under ``mount`` (its root where that is all a container sees)."""
    for line in (_read(os.path.join(root, "proc/self/cgroup")) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and ((v2 and parts[0] == "0") or (not v2 and "memory" in parts[1].split(","))):
            own = os.path.join(mount, parts[2].lstrip("/"))
            if os.path.isdir(own):
                return own
    return mount


def _up_to(own: str, mount: str):
    """``own`` and each cgroup above it up to ``mount``: a limit on any of them (a Slurm job's above its
    task's, a systemd slice's) caps the process."""
    d = own
    while True:
        yield d
        if os.path.normpath(d) == os.path.normpath(mount) or os.path.dirname(d) == d:
            return
        d = os.path.dirname(d)


def _number(path: str) -> int | None:
    text = _read(path)
    return int(text) if text and text.isdigit() else None


def _cgroup_room(root: str, swap_free: int) -> int | None:
    """What the tightest cgroup memory limit above the process leaves (its page cache, active and
    inactive, counted as free, as the kernel reclaims it at the limit), or None without a limit."""
    v2 = os.path.join(root, "sys/fs/cgroup")
    rooms = []
    if os.path.exists(os.path.join(v2, "cgroup.controllers")):
        levels = list(_up_to(_own_dir(v2, root, True), v2))
        swap_room = swap_free
        for d in levels:  # memory.swap.max: the swap a cgroup (and those below it) may fill
            swap, swapped = _read(os.path.join(d, "memory.swap.max")), _number(os.path.join(d, "memory.swap.current"))
            if swap not in (None, "max"):
                swap_room = min(swap_room, int(swap) - swapped if swap.isdigit() and swapped is not None else 0)
        for d in levels:
            limit, used = _number(os.path.join(d, "memory.max")), _number(os.path.join(d, "memory.current"))
            if limit is not None and used is not None:
                cache = _page_cache(os.path.join(d, "memory.stat"), ("active_file", "inactive_file"))
                rooms.append(limit - used + cache + max(0, swap_room))
    else:
        mount = os.path.join(v2, "memory")
        for d in _up_to(_own_dir(mount, root, False), mount):
            limit, used = _number(os.path.join(d, "memory.limit_in_bytes")), _number(os.path.join(d, "memory.usage_in_bytes"))
            if limit is not None and used is not None and limit < 1 << 62:  # v1's "no limit" is about 2**63
                cache = _page_cache(os.path.join(d, "memory.stat"), ("total_active_file", "total_inactive_file"))
                rooms.append(limit - used + cache + swap_free)
                # memory and swap together (Slurm's ConstrainSwapSpace): the swap it may still fill
                both, both_used = (_number(os.path.join(d, f"memory.memsw.{f}")) for f in ("limit_in_bytes", "usage_in_bytes"))
                if both is not None and both_used is not None and both < 1 << 62:
                    rooms.append(both - both_used + cache)
    return min(rooms) if rooms else None
