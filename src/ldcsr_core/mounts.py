"""The mounts this process sees, as ``/proc/self/mountinfo`` lists them (Linux): one reading of that file
for the cgroup file systems (:mod:`.cgroups`) and the file system a file is on
(:func:`.file_names.renumbers_files`)."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Mount", "mounts"]


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
