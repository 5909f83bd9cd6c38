"""Where this process's cgroups are (Linux): one place for the memory limit (:mod:`.host_memory`) and
the CPU quota (:mod:`.threads`) it is under.

A controller's cgroup file system is found where ``/proc/self/mountinfo`` says it is mounted: v1's
controller anywhere, alone or co-mounted (``cpu,cpuacct``); else cgroup2 anywhere (a container
runtime's own mount point; on a hybrid system v2 at /sys/fs/cgroup/unified holds the controllers v1
does not). The process's own cgroup there comes from ``/proc/self/cgroup``, counted from the mount's
top, and a limit on it or on any cgroup above it (a Slurm job's above its task's, a systemd slice's)
applies. Both paths are seen from the process's cgroup namespace: a mount whose top is above its root
(``/../..``: the host's tree bind-mounted into a container) hides the names between, and the process's
cgroup is the one at that depth that lists it; a process outside that root (``0::/..``, after ``nsenter``)
is in no cgroup a mount of the namespace shows, and none of their limits is said to apply. Without a
readable mountinfo the usual places under /sys/fs/cgroup are read.
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
    return mounts[0][2], [] if own is None else list(_up_to(own, mount))


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


def _own_dir(mounts: list[tuple[str, str, bool]], root: str, controller: str) -> tuple[str, str | None]:
    """The mount the process's cgroup is under and its folder there (on a hybrid system the v1
    controller's where v1 has it); the first mount's top where that is all a container sees, None where
    the process is outside its cgroup namespace's root and no mount shows its cgroup."""
    v2 = mounts[0][2]
    outside = False
    for line in (read(os.path.join(root, "proc/self/cgroup")) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and ((v2 and parts[0] == "0") or (not v2 and controller in parts[1].split(","))):
            for mount, top, _ in (m for m in mounts if m[2] == v2):
                own = _placed(mount, top, parts[2])
                if own is not None:
                    return mount, own
            outside = _parts(parts[2])[:1] == [".."]
    return mounts[0][0], None if outside else mounts[0][0]


def _parts(path: str) -> list[str]:
    """A cgroup path of ``/proc/self/cgroup`` or a mount's root, as names from the cgroup namespace's
    root: ".." for each one above it (after ``nsenter``, or the host's tree bind-mounted in a container)."""
    p = os.path.normpath(path.lstrip("/") or ".")  # relative: its leading ".." stay
    return [] if p == "." else p.split("/")


def _placed(mount: str, top: str, path: str) -> str | None:
    """The folder of the cgroup ``path`` in the cgroup file system at ``mount`` whose root is ``top``
    (both as names from the namespace's root), None where it is not there. A root above the namespace's
    (``/../..``) hides the names between: the folder at that depth that lists this process is its own."""
    t, p = _parts(top), _parts(path)
    k, j = _ups(t), _ups(p)
    if k == 0:  # the mount shows the namespace's root or a cgroup below it: names all the way
        own = os.path.join(mount, *p[len(t):])
        return own if not j and p[:len(t)] == t and os.path.isdir(own) else None
    n = k - j - len(t[k:])  # names not shown between the mount's root and the process's known names
    if j > k or len(p) - j < -n:
        return None
    known = p[j:][max(0, -n):]
    for d in _below(mount, max(0, n)):
        own = os.path.join(d, *known)
        if str(os.getpid()) in (read(os.path.join(own, "cgroup.procs")) or "").split():
            return own
    return None


def _ups(names: list[str]) -> int:
    """How many of ``names`` lead up (".."), at their start."""
    return next((i for i, n in enumerate(names) if n != ".."), len(names))


def _below(folder: str, depth: int):
    """The folders ``depth`` levels below ``folder``."""
    if depth == 0:
        yield folder
        return
    try:
        subs = [e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for d in subs:
        yield from _below(d, depth - 1)


def _up_to(own: str, mount: str):
    """``own`` and each cgroup above it up to ``mount``: a limit on any of them caps the process."""
    d = own
    while True:
        yield d
        if os.path.normpath(d) == os.path.normpath(mount) or os.path.dirname(d) == d:
            return
        d = os.path.dirname(d)
