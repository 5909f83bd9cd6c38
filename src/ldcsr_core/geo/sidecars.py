"""The files beside a GeoTIFF that belong to it or place it, and what an output's write does with them.

* :data:`SIDECARS` - what GDAL reads with ``NAME`` (``.aux.xml``, ``.msk``, ``.ovr``), renamed with
  the output (:func:`_replace_with_sidecars`: the replaced file's set aside, put back if the rename
  fails, else removed);
* :func:`placement_sidecars` - RPC and world files by the output's stem that would misplace it;
* :func:`clear_stale_parts` - the part files a killed run left, the sidecars a killed ``--overwrite``
  set aside put back first.

:mod:`.geotiff_writer` re-exports them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .. import files

__all__ = ["SIDECARS", "placement_sidecars", "clear_stale_parts"]

# Files GDAL reads together with a GeoTIFF NAME, found by name: NAME.aux.xml (PAM metadata,
# statistics), NAME.msk (mask) and NAME.ovr (overviews). An output's are part of it: ours are
# renamed with it, those of a file it replaces are removed (they describe the old image).
SIDECARS = (".aux.xml", ".msk", ".ovr")
# Files GDAL finds by the stem of NAME.tif and reads as its placement: RPCs in NAME.RPB or
# NAME_rpc.txt (over the GeoTIFF's own), and, where it has no geotransform of its own, a world file
# (NAME.tfw, NAME.tifw, NAME.wld) or a MapInfo NAME.tab; in either case. We never make them, and
# never remove one (it may be another file's, e.g. the input's): an output they would misplace is
# refused, --overwrite or not.
_WORLD_EXTENSIONS = ("wld", "tab")
_RPC_ENDS = (".rpb", "_rpc.txt")


def _replace_with_sidecars(part: Path, path: Path) -> None:
    """Rename ``part`` and the sidecars GDAL made for it (:data:`SIDECARS`) onto ``path``'s, all or
    nothing as far as the file system allows: the replaced file's sidecars (which never describe the
    new image) are set aside, put back if a rename fails (the old file keeps its own), else removed."""
    aside, placed = [], []
    try:
        for i, side in enumerate(SIDECARS):  # (.oldN: no longer than the part's .aux.xml, which fits)
            ours, theirs, old = Path(f"{part}{side}"), Path(f"{path}{side}"), Path(f"{part}.old{i}")
            if os.path.isdir(theirs) and not os.path.islink(theirs):  # a folder is never replaced
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(theirs))
            if os.path.lexists(theirs):
                os.replace(theirs, old)
                aside.append((old, theirs))
            if ours.exists():
                os.replace(ours, theirs)
                placed.append(theirs)
        os.replace(part, path)
    except BaseException:
        for theirs in placed:
            theirs.unlink(missing_ok=True)
        for old, theirs in aside:
            os.replace(old, theirs)
        raise
    for old, _ in aside:
        old.unlink(missing_ok=True)


def _sidecars(path: Path) -> list[Path]:
    return [Path(str(path) + side) for side in SIDECARS]


def placement_sidecars(path: str | os.PathLike, *, has_transform: bool = False) -> list[Path]:
    """The files by the stem of a GeoTIFF at ``path`` that exist and that GDAL would read as its
    placement: RPCs (``NAME.RPB``, ``NAME_rpc.txt``; GDAL takes them over the file's own) and,
    unless it ``has_transform``, a world file (``NAME.tfw``, ``NAME.tifw``, ``NAME.wld``) or
    ``NAME.tab``; each in lower or upper case."""
    p = Path(path)
    ext = p.suffix[1:].lower()
    ends = list(_RPC_ENDS)
    if not has_transform:
        ends += [f".{e}" for e in ([ext[0] + ext[-1] + "w", ext + "w"] if ext else [])]
        ends += [f".{e}" for e in _WORLD_EXTENSIONS]
    found = [p.with_name(p.stem + e) for end in ends for e in dict.fromkeys((end, end.upper()))]
    # os.path.exists, not Path.exists: a sidecar name longer than the file system takes (the
    # output's is near 255 bytes) is no file there, not an OSError that stopped the run
    return [f for f in found if os.path.exists(f)]


def clear_stale_parts(path: str | os.PathLike) -> list[Path]:
    """:func:`files.clear_stale_parts` of ``path``, the sidecars a killed ``--overwrite`` set aside (``.oldN``) put
    back first where its part is left: the old image was not replaced (the part gone, it was: they go with it). Only
    beside that image: one deleted since, or another moved to its name (changed since: its ctime), gets none."""
    for part in files.stale_parts(path):
        for i, side in enumerate(SIDECARS if part.name.endswith(files.PART_SUFFIX) else ()):
            old = Path(f"{part}.old{i}")
            try:  # (a rename sets the ctime of what it moves: the .oldN's is when it was set aside)
                if os.lstat(path).st_ctime_ns <= os.lstat(old).st_ctime_ns:
                    os.replace(old, f"{path}{side}")
            except OSError:  # none set aside, or no image; or it stays unplaced: removed with the part
                pass
    return files.clear_stale_parts(path)
