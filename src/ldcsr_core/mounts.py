"""The mounts this process sees, as ``/proc/self/mountinfo`` lists them (Linux): one reading of that file
for the cgroup file systems (:mod:`.cgroups`) and the file system a file is on
(:func:`.file_names.renumbers_files`); whether they changed since the last look (:func:`mounts_changed`,
for :mod:`.threads`' cached CPU quota)."""

from __future__ import annotations

import os
import re
import select
import threading
from typing import NamedTuple

__all__ = ["Mount", "mounts", "mounts_changed"]


class Mount(NamedTuple):
    """One line of ``mountinfo``, its paths as they are (the kernel writes a space, tab, newline or
    backslash in them as ``\\ooo``)."""

    point: str  #: where it is mounted
    root: str  #: the folder of its file system it shows there (a cgroup file system's: a cgroup)
    fs_type: str  #: "ext4", "vfat", "cgroup2", "fuse.sshfs" ...
    source: str  #: the device, or the file system's own word ("cgroup", "tmpfs")
    options: tuple[str, ...]  #: the file system's options (a cgroup v1 mount's: its controllers)


def mounts(mountinfo: str = "/proc/self/mountinfo") -> list[Mount] | None:
    """The mounts ``mountinfo`` lists, in its order; None where it cannot be read (no ``/proc``: macOS,
    Windows)."""
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = []
    for fields in (line.split() for line in lines):
        # ID parent major:minor root mount-point options [optional fields] - type source super-options
        if "-" not in fields[6:]:
            continue
        tail = fields[fields.index("-", 6) + 1:] + ["", "", ""]
        found.append(Mount(_unescape(fields[4]), _unescape(fields[3]), tail[0], _unescape(tail[1]),
                           tuple(tail[2].split(",")) if tail[2] else ()))
    return found


def _unescape(field: str) -> str:
    """A mountinfo path field as it is (the kernel writes a space, tab, newline or backslash as \\ooo)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


_WATCH: tuple = ()  # (pid, fd, its poll, (st_dev, st_ino)) of this process's open mountinfo, which the kernel
# marks at each (un)mount; replaced whole, never changed in place, so that a thread's one look at it holds
_WATCH_LOCK = threading.Lock()  # taken to open it or drop it, never to poll it


def mounts_changed() -> bool:
    """Whether this process's mounts changed since the last call (the kernel marks an open
    ``/proc/self/mountinfo`` with an exceptional condition at each mount or unmount: a few µs, where
    reading it takes ~0.5 ms); True at the first call; False where it cannot be opened. Threads
    calling it first at once open it once (:data:`_WATCH_LOCK`); later calls poll it, and check that its
    descriptor is still that file (:func:`_is_watch`)."""
    watch = _WATCH  # one look: another thread may replace it
    if watch and watch[0] == os.getpid():
        try:  # poll, not select: a process with many files open has it at a descriptor >= 1024
            events = [ev for _, ev in watch[2].poll(0)]
        except (OSError, RuntimeError):  # (RuntimeError: another thread's poll of it under way, which CPython refuses)
            return True
        if not _is_watch(watch):  # closed by someone else (POLLNVAL), or its number another file's since (no event,
            _drop_watch(watch)  # ever): opened again next time, a change to be safe (os.fstat: ~1 us a look)
            return True
        return any(ev & (select.POLLPRI | select.POLLERR | select.POLLNVAL) for ev in events)
    return _open_watch()


def _open_watch() -> bool:
    """:func:`mounts_changed`'s first call in this process: open and publish the watch, unless another
    thread has meanwhile (True: this thread's first look, whose levels are read afresh)."""
    global _WATCH
    with _WATCH_LOCK:
        watch = _WATCH
        if watch and watch[0] == os.getpid():
            return True
        if watch:  # a forked child's copy of its parent's (not forked by os.fork: see _forked)
            _close_copy(watch)
        try:
            fd = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            _WATCH = ()
            return False
        st = os.fstat(fd)
        poll = select.poll()
        poll.register(fd, select.POLLPRI)
        _WATCH = (os.getpid(), fd, poll, (st.st_dev, st.st_ino))
        return True


def _drop_watch(watch: tuple) -> None:
    """Forget ``watch``, closed by someone else (its number may be another file's by now: not closed
    again), unless another thread has replaced it already."""
    global _WATCH
    with _WATCH_LOCK:
        if _WATCH is watch:
            _WATCH = ()


def _is_watch(watch: tuple) -> bool:
    """Whether ``watch``'s descriptor is still open on the mountinfo it was (not closed by someone else, nor its
    number reused for another file since)."""
    try:
        st = os.fstat(watch[1])
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == watch[3]


def _close_copy(watch: tuple) -> None:
    """Close a forked child's copy of its parent's watch (the parent's own stays open), if that
    descriptor is still the mountinfo it was (:func:`_is_watch`)."""
    if _is_watch(watch):
        try:
            os.close(watch[1])
        except OSError:
            pass


def _forked() -> None:
    """In a child forked by ``os.fork`` (multiprocessing's fork): a new lock (the parent's may have been
    held by a thread that is not in the child), the parent's watch closed; the child opens its own."""
    global _WATCH, _WATCH_LOCK
    _WATCH_LOCK = threading.Lock()
    if _WATCH:
        _close_copy(_WATCH)
    _WATCH = ()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
