"""Where this process's cgroups are (Linux): one place for the memory limit (:mod:`.host_memory`) and
the CPU quota (:mod:`.threads`) it is under.

A controller's cgroup file system is found where ``/proc/self/mountinfo`` says it is mounted: v1's
controller anywhere, alone or co-mounted (``cpu,cpuacct``); else cgroup2 anywhere (a container
runtime's own mount point; on a hybrid system v2 at /sys/fs/cgroup/unified holds the controllers v1
does not). The process's own cgroup there comes from ``/proc/self/cgroup``, counted from the mount's
top, and a limit on it or on any cgroup above it (a Slurm job's above its task's, a systemd slice's)
applies. Without a readable mountinfo the usual places under /sys/fs/cgroup are read.
"""

from __future__ import annotations

import os

from .mounts import mounts

__all__ = ["levels", "read", "number"]


def levels(controller: str, root: str = "/") -> tuple[bool, list[str]]:
    """Whether ``controller`` ("memory", "cpu") is read from cgroup v2, and the folders of the process's
    cgroup and of each one above it up to its mount's top, the process's own first (none where no cgroup
    file system is mounted). ``root``: where ``proc`` and ``sys`` are read from (tests)."""
    mounts = _mounts(root, controller)
    if not mounts:
        return False, []
    mount, own = _own_dir(mounts, root, controller)
    return mounts[0][2], list(_up_to(own, mount))


def read(path: str) -> str | None:
    """The text of a file, stripped, or None where it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def number(path: str) -> int | None:
    """The whole number a file holds, or None (unreadable, "max", -1)."""
    text = read(path)
    return int(text) if text and text.isdigit() else None


def _mounts(root: str, controller: str) -> list[tuple[str, str, bool]]:
    """(mount point, the cgroup it shows as its top, whether v2) of each cgroup v1 mount of ``controller``,
    then each cgroup2 mount, as ``/proc/self/mountinfo`` lists them; without it, the usual places."""
    listed = mounts(os.path.join(root, "proc/self/mountinfo"))
    if listed is None:
        v2 = os.path.join(root, "sys/fs/cgroup")
        if os.path.exists(os.path.join(v2, "cgroup.controllers")):
            return [(v2, "/", True)]
        return [(os.path.join(v2, controller), "/", False)]
    v1, v2 = [], []
    for m in listed:
        mount = (os.path.join(root, m.point.lstrip("/")), m.root, m.fs_type == "cgroup2")
        if m.fs_type == "cgroup2":
            v2.append(mount)
        elif m.fs_type == "cgroup" and controller in m.options:
            v1.append(mount)
    return v1 + v2


def _own_dir(mounts: list[tuple[str, str, bool]], root: str, controller: str) -> tuple[str, str]:
    """The mount the process's cgroup is under and its folder there (on a hybrid system the v1
    controller's where v1 has it); the first mount's top where that is all a container sees."""
    v2 = mounts[0][2]
    for line in (read(os.path.join(root, "proc/self/cgroup")) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and ((v2 and parts[0] == "0") or (not v2 and controller in parts[1].split(","))):
            for mount, top, _ in (m for m in mounts if m[2] == v2):
                inside = os.path.relpath(parts[2], top)
                own = os.path.normpath(os.path.join(mount, inside))
                if inside != ".." and not inside.startswith("../") and os.path.isdir(own):
                    return mount, own
    return mounts[0][0], mounts[0][0]


def _up_to(own: str, mount: str):
    """``own`` and each cgroup above it up to ``mount``: a limit on any of them caps the process."""
    d = own
    while True:
        yield d
        if os.path.normpath(d) == os.path.normpath(mount) or os.path.dirname(d) == d:
            return
        d = os.path.dirname(d)
