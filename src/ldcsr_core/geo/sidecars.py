"""The files beside a GeoTIFF that belong to it or place it, and what an output's write does with them.

* :data:`SIDECARS` - what GDAL reads with ``NAME`` (``.aux.xml``, ``.msk``, ``.ovr``), renamed after
  the output (:func:`_replace_with_sidecars`: the replaced file's set aside first, put back if the
  rename fails, else removed; :func:`_link_with_sidecars` without ``--overwrite``), never over a file
  there now (:func:`_put_back`: the one it had kept as ``.set-aside``, :func:`set_aside_files`, removed by the next
  write of ``NAME``);
* :func:`placement_sidecars` - RPC and world files by the output's stem that would misplace it;
* :func:`clear_stale_parts` - the part files a killed run left, what it left between its renames put
  in place first (the old image's sidecars, or the new one's).

:mod:`.geotiff_writer` re-exports them.
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import hashlib
import logging
import os
import re
import stat
from pathlib import Path

from .. import files, part_files
from ..errors import OutputExistsError, cause_line

__all__ = ["SIDECARS", "placement_sidecars", "clear_stale_parts", "set_aside_files", "is_set_aside_name"]

log = logging.getLogger("ldcsr_core.files")  # (with the stale-part clean-up's lines)

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
    """Rename ``part`` onto ``path``, then the sidecars GDAL made for it (:data:`SIDECARS`) onto ``path``'s, all or
    nothing as far as the file system allows: the replaced file's (which never describe the new image) are set aside
    first, put back if the raster's rename fails (the old file keeps its own), else removed. In this order no sidecar
    of the new image ever lies beside the old one; for the microseconds between the renames a reader sees the old
    image, then the new one, without (some of) its sidecars, as no file system renames several files at once. A marker
    (``.new``: which file the part is), made first whether or not either image has sidecars, tells another run's
    clean-up what is this one's while it lives (all of it) and, if it dies between its renames, whether ``path`` is the
    new image: its sidecars go beside it, the old one's are removed (:func:`clear_stale_parts`). One that cannot be
    renamed, of either image, stays where it is (with the part and its marker, or the marker), said in a warning: the
    next run tries again (:func:`_put_all`)."""
    sides = [(Path(f"{part}{s}"), Path(f"{path}{s}"), Path(f"{part}.old{i}")) for i, s in enumerate(SIDECARS)]
    for _, theirs, _ in sides:  # (.oldN: no longer than the part's .aux.xml, which fits)
        if os.path.isdir(theirs) and not os.path.islink(theirs):  # a folder is never replaced
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(theirs))
    ours = [(o, t) for o, t, _ in sides if os.path.lexists(o)]
    marker, aside, key = Path(f"{part}{_MARKER}"), [], _file_key(part)
    kept = _kept_now(path)  # of the image replaced (or an earlier one)
    replaced = any(os.path.lexists(theirs) for _, theirs, _ in sides)  # the image they describe, for _put_back_of
    dead = _markers_naming(path, marker)  # of the image replaced: forgotten once it is (_forget_replaced)
    try:  # (always: the old image's set aside are this run's too, sidecars of the new or not)
        marker.write_text(f"{key}\n{_replaced_key(path)}" if replaced else key)
        for _, theirs, old in sides:
            if os.path.lexists(theirs):
                os.replace(theirs, old)
                aside.append((old, theirs))
        os.replace(part, path)
    except BaseException:
        if os.path.lexists(part) or not _is_file(path, key):  # not renamed (its part there: not by the key, which an old
            # image of one size, ends and time shares on FAT; not an interrupt just after it): the old file keeps its own
            if not _put_all(aside, path):  # (one left keeps the part, emptied, and the marker: _remove_part)
                marker.unlink(missing_ok=True)
            raise
        _settle(path, ours, aside, marker)
        _drop_kept(kept, path)
        _forget_replaced(dead)
        raise
    _settle(path, ours, aside, marker)
    _drop_kept(kept, path)
    _forget_replaced(dead)


def _markers_naming(path: Path, own: Path) -> list[Path]:
    """The markers of dead parts of ``path`` (a put-back that failed: :func:`_remove_part`) that name the image at
    ``path`` now, as the clean-up knows it (:func:`_put_back_of`), for :func:`_forget_replaced`; not ``own``, this
    run's: its part there (never renamed to path), or its set-aside sidecars (the part deleted by hand; or renamed to
    path by a run killed before its settle, whose marker names an image no longer there once this run's is)."""
    found = []
    for marker in files.stale_parts(path):
        part = Path(str(marker)[:-len(_MARKER)])
        if marker != own and marker.name.endswith(files.PART_SUFFIX + _MARKER) and (os.path.lexists(part) or any(
                os.path.lexists(f"{part}.old{i}") for i in range(len(SIDECARS)))) and _put_back_of(part, path):
            found.append(marker)
    return found


def _forget_replaced(markers: list[Path]) -> None:
    """Remove, once an ``--overwrite`` has replaced the image, the dead parts' markers that named it: the sidecars
    they kept aside (``.oldN``) describe the image replaced, never the new one, which could share its size, ends and
    time (:func:`_is_file`: FAT's 2 s, a time zone's shift); without the marker the next clean-up goes by change
    times, and removes them."""
    for m in markers:
        with contextlib.suppress(OSError):
            m.unlink()


def _link_with_sidecars(part: Path, path: Path) -> None:
    """Put ``part`` at ``path`` only if nothing is there (:func:`files.link_new`, else its
    :class:`~ldcsr_core.errors.OutputExistsError`), then its sidecars beside it, with the marker of
    :func:`_replace_with_sidecars` (a run killed in between: the next one puts them there); the sidecars kept aside
    of an image deleted since are removed, as an ``--overwrite`` removes those of the image it replaces."""
    ours = [(Path(f"{part}{s}"), Path(f"{path}{s}")) for s in SIDECARS if os.path.lexists(f"{part}{s}")]
    marker, key, kept = Path(f"{part}{_MARKER}"), _file_key(part), _kept_now(path)
    try:
        if ours:
            marker.write_text(key)
        files.link_new(part, path)
    except BaseException:
        if not _is_file(path, key):  # not linked (another file there, or an interrupt before)
            marker.unlink(missing_ok=True)
            raise
        _settle(path, ours, [], marker)
        _drop_kept(kept, path)
        raise
    _settle(path, ours, [], marker)
    _drop_kept(kept, path)


def _settle(path: Path, ours: list[tuple[Path, Path]], aside: list[tuple[Path, Path]], marker: Path) -> None:
    """After the raster's rename: its sidecars beside it, the replaced file's removed, then the marker (the last: while
    it is there, another run's clean-up leaves all of them to this one)."""
    left = _put_all(ours, path)  # (one that cannot be is left with the marker, for the next run)
    for old, _ in aside:
        old.unlink(missing_ok=True)
    if not left:
        marker.unlink(missing_ok=True)


_KEPT = ".set-aside"  # a sidecar put back where another program had made one since: kept beside it by this name
_MARKER = ".new"  # a part's marker: its file's key (_file_key), made before an --overwrite's renames, or a new
# output's link when it has sidecars


def set_aside_files(path: str | os.PathLike) -> list[Path]:
    """The sidecars of the image at ``path`` that a write kept aside (:func:`_put_back`: ``NAME.aux.xml.set-aside``,
    ``-2``, ``-3``...), there now; they are listed by ``ldcsr info``, and only the next write of ``path`` (an
    ``--overwrite``, or a new output where the image was deleted) removes them (:func:`_drop_kept`)."""
    p = Path(path)
    try:
        with os.scandir(p.parent) as found:
            return sorted(p.parent / e.name for e in found
                          if is_set_aside_name(e.name, p) and e.is_file(follow_symlinks=False))
    except OSError:
        return []


def is_set_aside_name(name: str, path: str | os.PathLike) -> bool:
    """Whether ``name`` is one :func:`set_aside_files` of ``path`` (in its folder) would be named."""
    kept = re.escape(Path(path).name) + f"({'|'.join(map(re.escape, SIDECARS))})" + re.escape(_KEPT) + r"(-\d+)?"
    return re.fullmatch(kept, name) is not None


def _kept_now(path: Path) -> list[tuple[Path, tuple | None]]:
    """:func:`set_aside_files` of ``path`` with what each file is (:func:`files.file_id`), for :func:`_drop_kept`."""
    return [(p, files.file_id(p)) for p in set_aside_files(path)]


def _drop_kept(kept: list[tuple[Path, tuple | None]], path: Path) -> None:
    """Remove, once the new image is at ``path``, the sidecars kept aside before (:func:`_kept_now`): they describe
    the image there before (replaced, or deleted since), as its own sidecars did, never the new one; each only if it
    is still the file found (one made since, the new image's, stays). Said in a warning."""
    gone = []
    for p, was in kept:
        try:
            if files.file_id(p) == was:
                p.unlink()
                gone.append(p.name)
        except OSError:  # (one that cannot be removed stays, listed by ldcsr info)
            pass
    if gone:
        log.warning("removed %s beside %s: sidecars of the image there before, kept aside by an earlier write of it",
                    ", ".join(gone), path.name)


def _file_key(path) -> str:
    """Which file is at ``path`` (not following a link): device, inode, size and modification time, and
    :func:`_ends_digest` for a file system that numbers its files anew at each mount (:func:`_is_file`)."""
    st = os.lstat(path)
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {_ends_digest(path, st.st_size)}"


_ENDS = 1 << 16  # bytes of each end of a file that _ends_digest reads


def _ends_digest(path, size: int) -> str:
    """SHA-256 (32 hex digits) of a file's size, first and last :data:`_ENDS` bytes: a GeoTIFF's header and directory
    (its tiles' offsets and sizes), which two images of one size share only if they are copies of one file."""
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_ENDS))
        if size > _ENDS:
            f.seek(max(size - _ENDS, _ENDS))
            h.update(f.read(_ENDS))
    return h.hexdigest()[:32]


def _is_file(path, key: str, *, anywhere: bool = False) -> bool:
    """Whether the file at ``path`` is the one :func:`_file_key` gave ``key`` (False where none is): its device, inode,
    size and modification time; on FAT, exFAT or FUSE (:func:`~ldcsr_core.file_names.renumbers_files`: a file there
    gets another inode, and maybe device, number at each mount, and FAT's times may shift with the mount's time zone),
    its size, :func:`_ends_digest` and modification time to a time zone's shift (:func:`_same_time`; a marker before
    2026-12-07 has no digest: its inode only). Not a digest of the whole file (seconds for gigabytes at each clean-up),
    nor the inode alone, which would leave a dead run's new sidecars (its mask) off the new image after the stick was
    unplugged; nor the digest alone: two uncompressed images of one scene share their header, tile directory and
    nodata border's first and last pixels. ``anywhere``: by its size, digest and time on every disk (the image an
    ``--overwrite`` replaced, in a copy of the folder: :func:`_put_back_of`)."""
    from ..file_names import renumbers_files

    try:
        st = os.lstat(path)
        dev, ino, size, mtime, *digest = key.split()
        if (dev, ino, size, mtime) == tuple(map(str, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))):
            return True
        return (bool(digest) and size == str(st.st_size) and stat.S_ISREG(st.st_mode)
                and (anywhere or renumbers_files(path)) and _same_time(int(mtime), st.st_mtime_ns)
                and _ends_digest(path, st.st_size) == digest[0])
    except (OSError, ValueError):  # none there (or unreadable), or a marker cut short
        return False


_ZONES, _FAT_TIMES = 900 * 10**9, 2 * 10**9  # time zones' offsets are whole quarter hours; FAT keeps times to 2 s


def _same_time(then: int, now: int) -> bool:
    """Whether a modification time read ``now`` is the one read ``then`` on a disk remounted since: the same to FAT's
    2 s, or shifted by a time zone's whole quarter hours (FAT records local times)."""
    off = abs(now - then) % _ZONES
    return min(off, _ZONES - off) <= _FAT_TIMES


def _put_all(pairs: list[tuple[Path, Path]], path: Path, *, replacing: bool = False) -> list[Path]:
    """:func:`_put_back` each sidecar of the image at ``path`` (set aside, or the new image's), each even if another
    cannot be: one that cannot is left where it is, said in a warning (:func:`_left_advice`); returns those left."""
    left = []
    for mine, theirs in pairs:
        try:
            _put_back(mine, theirs)
        except OSError as e:
            left.append(mine)
            log.warning("%s not put in place: %s; it is left as %s, %s", theirs.name, e.strerror or cause_line(e),
                        mine.name, _left_advice(path, theirs, replacing))
    return left


def _left_advice(path: Path, theirs: Path, replacing: bool) -> str:
    """What :func:`_put_all`'s warning says of a sidecar left: the next write of ``path`` puts it in place, or the
    user renames it to ``theirs``; but in the clean-up of a run that is to replace ``path`` (``--overwrite``) it
    describes the image that run replaces, and beside the new one it would give it that image's metadata: the next
    write removes it (:func:`clear_stale_parts`: its marker no longer names the image there, or is gone,
    :func:`_forget_replaced`)."""
    if not replacing:
        return f"which the next write of {path.name} tries again (or rename it to {theirs.name} yourself)"
    return (f"a sidecar of the {path.name} that this run is to replace: never rename it beside the new {path.name} "
            f"(move it elsewhere to keep it); the next write of {path.name} removes it, or puts it back if "
            f"{path.name} was not replaced")


def _put_back(mine: Path, theirs: Path) -> None:
    """Rename a sidecar set aside (or a new image's) to ``theirs``, never over a file there now (one another program
    made since, QGIS's ``.aux.xml`` of a changed style, say): that one is kept, and ``mine`` is renamed to
    ``theirs.set-aside`` (``-2``, ``-3``... where that is taken), as a warning says."""
    try:
        return files.link_new(mine, theirs)
    except OutputExistsError:
        if files.file_id(theirs) == files.file_id(mine) or _same_bytes(theirs, mine):  # linked there by a run killed
            return mine.unlink()  # before its unlink (two files of the same bytes once the folder is copied elsewhere)
    side = next(s for s in SIDECARS if theirs.name.endswith(s))
    for n in range(1, 100):
        kept = Path(f"{theirs}{_KEPT}{f'-{n}' if n > 1 else ''}")
        try:
            files.link_new(mine, kept)
        except OutputExistsError:
            continue
        log.warning("kept %s, made by another program during or since a write of its image; the one that write "
                    "had is now %s (rename it to %s to use it instead, or remove it; the next write of %s removes it)",
                    theirs.name, kept, theirs.name, theirs.name[:-len(side)])
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(kept))


def _same_bytes(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are plain files of the same bytes (read only where their sizes are the same)."""
    try:
        sa, sb = os.lstat(a), os.lstat(b)
        return (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode) and sa.st_size == sb.st_size
                and filecmp.cmp(a, b, shallow=False))
    except OSError:
        return False


def _remove_part(part: Path) -> None:
    """Remove a part file that will not be renamed, and its sidecars; but what a failed put-back left stays for the
    next run's (:func:`_put_all`): a part with a set-aside sidecar left (``.oldN``, the old image's only copy) stays,
    emptied (it tells that run the old image was not replaced), with its marker (which names that image: on FAT the
    one thing that does, :func:`_put_back_of`), as do the sidecars of one renamed, its marker left."""
    if any(os.path.lexists(f"{part}.old{i}") for i in range(len(SIDECARS))):
        _empty(part)
        gone = _sidecars(part)
    elif os.path.lexists(f"{part}{_MARKER}") and not os.path.lexists(part):
        gone = []
    else:
        gone = [part, *_sidecars(part)]
    for p in gone:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _empty(part: Path) -> None:
    """Truncate a part file kept for its set-aside sidecars (its pixels are no use: it is never renamed)."""
    try:
        os.truncate(part, 0)
    except OSError:
        pass


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


def clear_stale_parts(path: str | os.PathLike, *, replacing: bool = False) -> list[Path]:
    """:func:`files.clear_stale_parts` of ``path``, what a write killed between its renames left put in place first: where
    its part is not ``path`` (not renamed), the old image's sidecars an ``--overwrite`` set aside (``.oldN``; their part
    deleted by hand since: only beside the image their marker names, :func:`_put_back_of`); where it is (renamed, or
    linked and left), the new image's (its marker, ``.new``, names that file), unless its writer is alive (it still
    locks that file: its own put-back comes next; nothing of it is removed, nor the old image's sidecars it set aside).
    Only beside that very image: one deleted since, or another moved to its name, gets none (removed with the part). One
    that cannot be put back stays where it is, with its part (emptied) and marker (which names the old image:
    :func:`_put_back_of`), or its marker, for the next run (:func:`_put_all`; ``replacing``: this is the clean-up of a
    run that is to replace ``path``, whose warning says so). The part files are listed once, and only what that listing
    judged stale is removed: a live run's renamed since is no dead run's."""
    path = Path(path)
    left, stale = [], files.stale_parts(path)
    for part in dict.fromkeys(p.with_name(part_files.part_named(p.name, path)) for p in stale):
        gone = not os.path.lexists(part)  # (deleted by hand, or renamed to path)
        if gone and _names_file(Path(f"{part}{_MARKER}"), path) and not _not_replaced(part, path):  # renamed: new
            continue
        aside = [(Path(f"{part}.old{i}"), Path(f"{path}{s}")) for i, s in enumerate(SIDECARS)]
        try:  # (a rename sets the ctime of what it moves: the .oldN's is when it was set aside)
            ctime = os.lstat(path).st_ctime_ns
        except OSError:  # no image: none put back
            ctime = None
        same = ctime is not None and any(os.path.lexists(old) for old, _ in aside) and _put_back_of(part, path)
        aside = [(old, theirs) for old, theirs in aside if ctime is not None and os.path.lexists(old) and (
            same or same is None and not gone and _set_aside_since(old, ctime))]  # (by change times: no image named)
        kept = _put_all(aside, path, replacing=replacing)
        if kept:  # the part (if there) and its marker stay with them, for the next run's put-back
            _empty(part)
            left += [part, Path(f"{part}{_MARKER}"), *kept]
    for part in stale:
        renamed = Path(str(part)[:-len(_MARKER)])
        if part.name.endswith(files.PART_SUFFIX + _MARKER):  # (its part renamed, or linked and left: the same file)
            # (none where its part is there but not at path: not renamed, whatever its digest says)
            here = (not os.path.lexists(renamed) or files.file_id(renamed) == files.file_id(path)) and _names_file(
                part, path) and not _not_replaced(renamed, path)
            if here and _locked(path):  # its writer is alive, its renames' end next: its own
                left += [p for p in stale if p.name.startswith(renamed.name)]
            elif here:
                kept = _put_all([(Path(f"{renamed}{s}"), Path(f"{path}{s}")) for s in SIDECARS
                                 if os.path.lexists(f"{renamed}{s}")], path, replacing=replacing)
                left += [part, *kept] if kept else []
    return files.clear_stale_parts(path, keep=left, parts=stale)


def _names_file(marker: Path, path: Path) -> bool:
    """Whether ``marker``'s first line, its part's key, names the file at ``path`` (:func:`_is_file`; on every disk by
    its size, ends and time where its inode differs: in a copy of the folder on another disk, the new image is that
    run's, its sidecars its own)."""
    try:
        return _is_file(path, marker.read_text().partition("\n")[0], anywhere=True)
    except (OSError, ValueError):
        return False


def _locked(path: Path) -> bool:
    """Whether a live writer still holds the lock of the file it renamed to ``path`` (False without ``flock``,
    where :func:`part_files._in_use` goes by age: a dead run's sidecars are put in place at once, as before)."""
    return part_files.fcntl is not None and part_files._in_use(path)


def _replaced_key(path: Path) -> str:
    """:func:`_file_key` of the image an ``--overwrite`` replaces, for its marker's second line ("" where unreadable)."""
    try:
        return _file_key(path)
    except OSError:
        return ""


def _put_back_of(part: Path, path: Path) -> bool | None:
    """Whether the image at ``path`` is still the one whose sidecars ``part``'s run set aside, by the key its marker
    recorded (:func:`_is_file`, on every disk by its size, ends and time where its inode differs: a copy of the folder
    on another disk, a disk plugged in as another device, FAT, exFAT or FUSE): where a marker names that image, it
    alone says, whether ``part`` is there or not (deleted by hand, or renamed to ``path`` by a run killed before its
    settle), as :func:`_set_aside_since`'s change times cannot (a copy's are the copy's order; exFAT's and FUSE's are
    the modification times, FAT's are set again at a remount). None where no marker names one (none, one not ours,
    or one written before 2026-12-07): the clean-up goes by change times, its part there."""
    try:
        was = Path(f"{part}{_MARKER}").read_text().split("\n")[1]
    except (OSError, ValueError, IndexError):  # no marker, one not ours (not text), or one without it (before 2026-12-07)
        return None
    return _is_file(path, was, anywhere=True) if was else None


def _not_replaced(part: Path, path: Path) -> bool:
    """Whether the image at ``path`` is the very file (device, inode, size and time) that ``part``'s marker names as
    the one its run was to replace: that run never renamed its part there, whatever the size, ends and time of a
    lookalike say of the marker's first line (:func:`_names_file`: two uncompressed outputs of one tile with a nodata
    border, written in one second or a quarter hour apart)."""
    try:
        was, st = Path(f"{part}{_MARKER}").read_text().split("\n")[1].split(), os.lstat(path)
    except (OSError, ValueError, IndexError):
        return False
    return was[:4] == [str(v) for v in (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)]


def _set_aside_since(old: Path, ctime: int) -> bool:
    """Whether ``old`` was set aside at or after ``ctime`` (the image's): it is there, and the image unchanged since."""
    try:
        return ctime <= os.lstat(old).st_ctime_ns
    except OSError:
        return False
