"""Memory this process can still fill before the kernel kills it (Linux; elsewhere unknown).

``np.empty`` of a result larger than the free memory succeeds on Linux (the kernel overcommits: it
refuses only what exceeds RAM and swap together), and the process is killed once the engine has
filled that much of it, hours into a run. :func:`available_bytes` is the figure to check first: the
kernel's ``MemAvailable`` plus free swap, capped by the process's cgroup memory limit (a container's),
whose page cache that can be dropped counts as free, as the kernel's figure counts it.
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


def _stat(path: str, key: str) -> int:
    for line in (_read(path) or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _own_dir(mount: str, root: str, v2: bool) -> str:
    """The process's own cgroup folder under ``mount`` (its root where that is all a container sees)."""
    for line in (_read(os.path.join(root, "proc/self/cgroup")) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and ((v2 and parts[0] == "0") or (not v2 and "memory" in parts[1].split(","))):
            own = os.path.join(mount, parts[2].lstrip("/"))
            if os.path.isdir(own):
                return own
    return mount


def _cgroup_room(root: str, swap_free: int) -> int | None:
    """What the cgroup memory limit leaves (its reclaimable page cache counted as free), or None."""
    v2 = os.path.join(root, "sys/fs/cgroup")
    if os.path.exists(os.path.join(v2, "cgroup.controllers")):
        d = _own_dir(v2, root, True)
        limit, used = _read(os.path.join(d, "memory.max")), _read(os.path.join(d, "memory.current"))
        if not (limit and used and limit.isdigit() and used.isdigit()):
            return None
        swap, swapped = _read(os.path.join(d, "memory.swap.max")), _read(os.path.join(d, "memory.swap.current"))
        swap_room = swap_free
        if swap not in (None, "max"):
            swap_room = min(swap_free, int(swap) - int(swapped)) if swap.isdigit() and (swapped or "").isdigit() else 0
        return int(limit) - int(used) + _stat(os.path.join(d, "memory.stat"), "inactive_file") + max(0, swap_room)
    d = _own_dir(os.path.join(v2, "memory"), root, False)
    limit, used = _read(os.path.join(d, "memory.limit_in_bytes")), _read(os.path.join(d, "memory.usage_in_bytes"))
    if not (limit and used and limit.isdigit() and used.isdigit()) or int(limit) >= 1 << 62:  # v1's "no limit"
        return None
    return int(limit) - int(used) + _stat(os.path.join(d, "memory.stat"), "total_inactive_file") + swap_free
