"""File names: what a file system (and GDAL) takes, and when two names are one file (torch-free,
no rasterio).

* :func:`name_max`, :func:`check_name_length` - an output name refused before any work, in words,
  when its file system cannot hold it (over 255 bytes) or GDAL cannot be given it (not UTF-8), or, on Windows
  and on a disk Windows reads, when Windows takes it for a device (:func:`windows_device`: ``CON.tif``);
  :func:`check_not_folder` - one that is a folder, or a link to one (never replaced by a file);
  :func:`check_geotiff_name` - a raster output not named as a GeoTIFF (``ldcsr upscale -o``, QGIS);
  :func:`cut_to_fit` - a name made from another (a part file's, napari's output next to its
  source) cut to the bytes it may take.

A USB stick or card (FAT, exFAT), an NTFS disk or an SMB share, and macOS's default disks take
``A_sr.tif`` and ``a_sr.tif`` for one file: two outputs of those names would be written over each
other, and an output ``SCENE.TIF`` over the input ``scene.tif``. :func:`name_key` is the one key
under which two paths name one file there (:func:`ldcsr_core.files.same_file`,
:class:`~ldcsr_core.files.FileSet` and ``ldcsr upscale``'s output planning compare by it), found
before any work, whether the files exist yet or not:

* :func:`folds_case` - whether a folder's file system takes names that differ only in letter case
  for one, found by looking (its names; in an empty folder, a probe file made and removed), once
  per folder and minute;
* :func:`name_key` - the folder (its device and inode) and the name, in lower case where the
  folder folds case.

:func:`renumbers_files` - whether a file system gives its files new inode numbers at each mount (FAT, exFAT, FUSE), so
that a file is not told by its number across a remount.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from pathlib import Path

from .errors import OutputNameError, RasterIOError
from .mounts import mounts
from .words import path_said

__all__ = ["name_max", "made_name_max", "check_name_length", "refused_name", "fs_type", "windows_names",
           "WINDOWS_DEVICES", "windows_device", "device_free", "made_not_a_device", "check_not_folder", "check_geotiff_name", "cut_to_fit", "folds_case", "name_key", "same_name",
           "file_version", "renumbers_files"]

_FOLDS: dict[tuple[int, int], tuple[bool, float]] = {}  # a folder's (device, inode) -> folds_case's answer, when
# an answer is kept this long (s): a batch of 10,000 names looks once, while a disk unmounted and another mounted at
# that device and folder inode (a USB stick swapped in a napari session) is looked at afresh
KEEP_S = 60.0
ON_WINDOWS = os.name == "nt"  # every disk keeps names as Windows does (a test may say so on another system)


def name_max(folder: str | os.PathLike) -> int:
    """The longest file name, in bytes, that ``folder``'s filesystem takes (255 where not told)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no such folder yet
        return 255


def made_name_max(folder: str | os.PathLike) -> int:
    """:func:`name_max` at most 255 bytes: the room of a name made here, not chosen by the user (a part file's, a
    napari Run's output). The kernel's FAT and exFAT say 1530 and 765 bytes, yet hold 255 UTF-16 units
    (:func:`check_name_length`), so a name cut to their figure was refused as too long."""
    return min(name_max(folder), UTF16_NAME_MAX)


def check_name_length(path: str | os.PathLike, what: str = "output") -> None:
    """Refuse an output name its filesystem cannot hold, in words (:class:`~ldcsr_core.errors.OutputNameError`, as
    every refusal here: the CLI's exit 2, for every command; ``ENAMETOOLONG``), before any work: the system's own error names no file it fits; and a path that
    is not valid UTF-8 (``EINVAL``), which GDAL, the raster writer, cannot be given (its
    ``UnicodeEncodeError`` came once the model had loaded), as ``open_raster`` refuses such an input.
    On a FAT, exFAT or NTFS disk (:func:`windows_names`) a name is counted in UTF-16 units, 255 at most, as those
    disks hold it (exfat-fuse says 255 bytes: a 267-byte name of 133 characters was refused though the disk takes
    it); where the disk surely refuses a character of the name (:data:`WINDOWS_REFUSED`) it is refused too, in
    :func:`refused_name`'s words (``EINVAL``; before, found as its part file was made, after the model had loaded).
    On Windows and on a disk Windows reads (FAT, exFAT, NTFS, an SMB share: :data:`_READ_ON_WINDOWS`), a name
    Windows takes for a device (:func:`windows_device`: ``CON.tif``, ``nul.tif``) or would store otherwise (a
    trailing dot or space) is refused (:class:`~ldcsr_core.errors.ReservedNameError`; before, written to the device
    and said written, or a file Windows cannot open). The sidecars and part files a write makes begin with the
    output's name (``o.tif.aux.xml``) or a dot (``.o.tif.….ldcsr-part``): none is a device's where it is not."""
    p = Path(path)
    try:
        os.fspath(p).encode("utf-8")
    except UnicodeEncodeError:  # bytes of another encoding, kept by Python as surrogates
        remedy = "choose another name or folder"
        raise OutputNameError(errno.EINVAL, f"{what} path is not valid UTF-8: {os.fspath(p)!r} (GDAL writes "
                              f"rasters by UTF-8 names only): {remedy}", kind="encoding", remedy=remedy) from None
    units, nbytes, most = len(p.name.encode("utf-16-le")) // 2, len(os.fsencode(p.name)), name_max(p.parent)
    device, trailing = windows_device(p.name), p.name[-1:] in (".", " ") and p.name not in (".", "..")
    if units <= UTF16_NAME_MAX and nbytes <= most and not _refused_characters(p.name) and not (device or trailing):
        return  # taken by every disk: its type is not looked up (mountinfo: 0.35 ms a read, 42 ms with 3000 mounts)
    disk = None if ON_WINDOWS else fs_type(p.parent)
    if (device or trailing) and (ON_WINDOWS or disk in _READ_ON_WINDOWS):
        raise _reserved(p, what, device, disk)
    kind = _names_kind(disk)
    if kind == "sure" and _refused_characters(p.name):
        raise OutputNameError(errno.EINVAL, f"cannot write to {p.parent}: {_refused_words(p.name)}",
                              kind="characters", remedy=_REFUSED_REMEDY)
    n, most, unit = (units, UTF16_NAME_MAX, "characters (UTF-16 units)") if kind else (nbytes, most, "bytes")
    if n > most:
        raise OutputNameError(errno.ENAMETOOLONG, f"{what} name too long: {p} ({n} {unit}; the file system "
                              f"takes at most {most}): choose a shorter name",
                              kind="long", remedy="choose a shorter name")


# Windows's device names (Microsoft's "Naming Files, Paths, and Namespaces"): a name that is one of these, in any
# letter case, with trailing dots and spaces, is the device on every Windows; up to Windows 10 also with any
# extension: "CON.tif", "nul.tar.gz" and "con .tif" open the device (Windows 11 no longer reserves a name with an
# extension). A disk is read by any Windows: refused whatever the extension. The superscript digits ¹ ² ³ (Latin-1's,
# which Windows reads as digits) are included; CONIN$ and CONOUT$ are the console's. COM0 and LPT0 are not: Windows
# opens them as files (Python's ntpath.isreserved and Go's filepath take them; Microsoft's page listed them from 2022
# until MicrosoftDocs/win32#2008 took them out in 2025, finding no sign they are reserved).
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                             *(f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3")})
_DEVICE_WORDS = {"CON": "the console", "CONIN$": "the console", "CONOUT$": "the console", "PRN": "the printer",
                 "AUX": "a serial port", "NUL": "the null device, which keeps nothing", "COM": "a serial port",
                 "LPT": "a printer port"}
# mountinfo's types of the disks Windows reads, where a file named as a device cannot be opened there: FAT, exFAT,
# NTFS (the kernel's drivers, and fuseblk: exfat-fuse, ntfs-3g) and SMB shares (a Windows server refuses such names)
_READ_ON_WINDOWS = ("vfat", "msdos", "exfat", "fuseblk", "ntfs", "ntfs3", "cifs", "smb3", "smbfs")


def windows_device(name: str) -> str | None:
    """The device (``"CON"``, ``"COM1"`` ...: :data:`WINDOWS_DEVICES`) Windows takes the file name ``name`` for, by
    its part before the first dot, trailing spaces and dots dropped, in any letter case (``CON.tif``, ``nul.aux.xml``,
    ``con .tif``, ``Lpt¹.tif``); ``None`` for any other name (``CON_sr.tif``, ``COM10.tif``, ``.CON.tif``)."""
    stem = name.rstrip(". ").partition(".")[0].rstrip(" ").upper()
    return stem if stem in WINDOWS_DEVICES else None


def _reserved(p: Path, what: str, device: str | None, disk: str | None) -> OutputNameError:
    """:func:`check_name_length`'s refusal of a name Windows takes for a ``device`` or would store otherwise (its
    trailing dots and spaces dropped), on Windows or a ``disk`` of :data:`_READ_ON_WINDOWS`."""
    from .errors import ReservedNameError

    where = "Windows" if disk is None else f"this disk ({disk}), which Windows reads,"
    if device is None:
        kept, remedy = p.name.rstrip(". "), "choose a name without them"
        return ReservedNameError(errno.EINVAL, f"{what} name {p.name!r} ends in a dot or a space, which Windows does "
                                 f"not keep in a name: on {where} it would be {kept!r} or refused; {remedy}",
                                 kind="trailing", remedy=remedy, suggested=kept or None)
    other = device_free(p.name)
    words = _DEVICE_WORDS.get(device, _DEVICE_WORDS.get(device[:3], "a device"))
    remedy = f"choose another name, such as {other}"
    return ReservedNameError(errno.EINVAL, (
        f"{what} name {p.name} names a Windows device ({device}, {words}) whatever follows its first dot: on {where} "
        f"it would be written to the device, or be a file Windows cannot open; {remedy}"), kind="device",
        remedy=remedy, suggested=other)


def device_free(name: str) -> str:
    """``name`` with ``_1`` after its part before the first dot (``CON.x.tif`` -> ``CON_1.x.tif``), which names no
    device: the name a refusal of :func:`windows_device`'s names suggests."""
    head, dot, rest = name.partition(".")
    return f"{head.rstrip(' ')}_1{dot}{rest}".rstrip(". ")


def made_not_a_device(name: str) -> str:
    """A name made from another's (napari's output next to its source, an adapted model's file), which the user
    cannot choose: ``name``, or :func:`device_free`'s where Windows takes it for a device (``CON.x_x2.00_ldcsr.tif``
    -> ``CON_1.x_x2.00_ldcsr.tif``), on every disk (a file is copied to a USB stick), so that no refusal of
    :func:`check_name_length` comes, with advice to choose another name, once the work is done."""
    return device_free(name) if windows_device(name) else name


# Characters FAT, exFAT and NTFS disks (Windows' rules) and SMB shares refuse in a name, as do control characters: such a
# disk's driver says EINVAL, or ENOENT (exfat-fuse), of a folder that is there.
WINDOWS_REFUSED = '"*:<>?\\|'
UTF16_NAME_MAX = 255  # the longest name of FAT (its long names), exFAT and NTFS, in UTF-16 units
# mountinfo's types of disks that keep names as Windows does (UTF-16): the kernel's FAT and exFAT, which refuse
# WINDOWS_REFUSED; fuseblk (exfat-fuse or ntfs-3g, which takes them) and NTFS's drivers, which may take them
_UTF16_SURE, _UTF16_MAYBE = ("vfat", "exfat"), ("fuseblk", "ntfs", "ntfs3")
# types that take any character but '/' and NUL in a name: an EINVAL or ENOENT there is never the name's characters
_POSIX_NAMES = ("ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "zfs", "f2fs", "jfs", "reiserfs", "nilfs2",
                "bcachefs", "overlay")


def fs_type(path: str | os.PathLike, mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The type (``mountinfo``'s: "ext4", "vfat", "fuseblk" ...) of the file system ``path`` is on, by the longest
    mount point above it (links resolved); ``None`` where that cannot be told (no ``/proc``: macOS, Windows)."""
    listed = mounts(mountinfo)
    if listed is None:
        return None
    where = os.path.realpath(os.path.abspath(path))
    longest, kind = -1, None
    for m in listed:
        if (where == m.point or where.startswith(m.point.rstrip("/") + "/")) and len(m.point) >= longest:
            longest, kind = len(m.point), m.fs_type
    return kind


def windows_names(folder: str | os.PathLike) -> str | None:
    """``"sure"`` where ``folder``'s disk keeps names as Windows does (in UTF-16, :data:`UTF16_NAME_MAX` units) and
    refuses :data:`WINDOWS_REFUSED` (FAT, exFAT; any disk on Windows), ``"maybe"`` where it counts names so but may
    take those characters (a FUSE block device: exfat-fuse refuses them, ntfs-3g takes them; NTFS), else ``None``."""
    return _names_kind(None if ON_WINDOWS else fs_type(folder))


def _names_kind(disk: str | None) -> str | None:
    """:func:`windows_names`'s answer for a disk of mountinfo's type ``disk`` (``None`` on Windows: any disk)."""
    if ON_WINDOWS:
        return "sure"
    return "sure" if disk in _UTF16_SURE else "maybe" if disk in _UTF16_MAYBE else None


def _refused_characters(name: str) -> list[str]:
    return sorted({c for c in name if c in WINDOWS_REFUSED or ord(c) < 32})


_REFUSED_REMEDY = "choose another name"


def _refused_words(name: str) -> str:
    return (f"its file system refuses the name {name} (for its {' '.join(map(repr, _refused_characters(name)))}: FAT, "
            f"exFAT and NTFS disks and SMB shares take no {' '.join(WINDOWS_REFUSED)} nor control characters in names); "
            f"{_REFUSED_REMEDY}")


def refused_name(path: str | os.PathLike, err: OSError) -> str | None:
    """Words for ``err``, an ``EINVAL`` or ``ENOENT`` from making a file named as ``path`` (or after it: its part
    file), when ``path``'s folder is there, its disk may refuse names (not one of :data:`_POSIX_NAMES`, where such an
    ENOENT is the folder removed and made again meanwhile), and its name holds a character those disks refuse; else
    ``None``."""
    name = Path(path).name
    if err.errno not in (errno.EINVAL, errno.ENOENT) or not _refused_characters(name):
        return None
    if not os.path.isdir(Path(path).parent) or fs_type(Path(path).parent) in _POSIX_NAMES:
        return None
    return _refused_words(name)


def check_not_folder(path: str | os.PathLike, what: str = "output") -> None:
    """Refuse an output ``path`` that is a folder or a link to one (:class:`RasterIOError`, ``EISDIR``),
    overwrite or not, before any work: a rename replaces the link by the file, and fails on the folder
    after the work. Every writer's rule (a raster, a model, a report). A path it cannot look at (a name
    too long, a folder this user may not open) passes: the write that follows fails on it and says so
    (``Path.is_dir`` raised the bare ``OSError`` there, out of writers that promise one error naming it)."""
    if os.path.isdir(path):
        raise RasterIOError(errno.EISDIR, f"{what} path is a folder: {path}")


def check_geotiff_name(path: str | os.PathLike, *, folder_ok: bool = False) -> None:
    """Refuse a raster output not named as a GeoTIFF (:data:`~ldcsr_core.rules.GEOTIFF_SUFFIXES`, any
    letter case) with :class:`~ldcsr_core.errors.InputError`, before any work: the one sentence of
    ``ldcsr upscale -o`` / ``--spread-out`` and QGIS's output (``folder_ok``: a folder may be given
    instead, as ``-o`` takes one)."""
    from .errors import InputError
    from .rules import GEOTIFF_SUFFIXES

    if Path(path).suffix.lower() not in GEOTIFF_SUFFIXES:
        raise InputError(f"{path_said(path)} is not a GeoTIFF name: outputs are GeoTIFFs, so give a name ending in "
                         ".tif or .tiff" + (" (or an existing folder)" if folder_ok else ""))


def _folder_id(folder: str) -> tuple[int, int] | str:
    try:
        st = os.stat(folder)
    except (OSError, ValueError):
        return folder
    return st.st_dev, st.st_ino


def cut_to_fit(text: str, nbytes: int) -> str:
    """``text`` cut at its end to at most ``nbytes`` bytes of the file system's encoding, on a
    character, never inside one (a name made from a long one, to fit :func:`name_max`)."""
    while text and len(os.fsencode(text)) > nbytes:
        text = text[:-1]
    return text


def folds_case(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` (which exists) takes a name and the same name in other letter case for one
    file. Told by a name in it whose other-case spelling is no name of its own but is found there;
    in a folder without such a name, by a probe file made and removed (where it cannot be made:
    ``False``, as nothing will be written there, and asked again next time: the folder may be made
    writable). Asked once per folder (its device and inode) and :data:`KEEP_S`."""
    folder = os.path.realpath(folder)
    fid = _folder_id(folder)
    if not isinstance(fid, tuple):
        return False
    kept = _FOLDS.get(fid)
    if kept is not None and time.monotonic() - kept[1] < KEEP_S:
        return kept[0]
    found = _look(folder)
    if found is None:  # not told: not kept either
        return False
    _FOLDS[fid] = found, time.monotonic()
    return found


def _swapped(name: str) -> str:
    """``name`` with its ASCII letters in the other case (every case-folding file system folds
    those alike; 'ß' -> 'SS' and the like are not asked about)."""
    return "".join(c.swapcase() if c.isascii() else c for c in name)


def _look(folder: str) -> bool | None:
    """:func:`folds_case`'s answer, or None where it cannot be told (no name to tell by, and no
    probe file can be made)."""
    try:
        names = set(os.listdir(folder))
    except OSError:
        names = set()
    twins = False
    for name in names:
        other = _swapped(name)
        if other == name:
            continue
        if other in names:  # a name and its other-case twin beside it: letter case is told apart
            twins = True
        elif os.path.lexists(os.path.join(folder, other)):
            return True
        elif os.path.lexists(os.path.join(folder, name)):
            return False
        # else gone since listed (another run's part or probe file, renamed or removed): it tells nothing
    if twins:
        return False
    try:  # no name to tell by (an empty folder): one made and removed, in lower case ([a-z0-9_])
        fd, probe = tempfile.mkstemp(prefix=".ldcsr-case-", dir=folder)
    except OSError:
        return None
    try:
        os.close(fd)
        head, name = os.path.split(probe)
        return os.path.lexists(os.path.join(head, name.upper()))
    finally:
        try:
            os.unlink(probe)
        except OSError:
            pass


def name_key(path: str | os.PathLike) -> tuple:
    """The key two paths of one file share, whether it exists yet or not: its folder (device and
    inode, after the links are resolved; its path where it does not exist) and its name, case-folded
    where the folder folds case (:func:`folds_case`, asked only of a name with letters): in lower
    case, letter for letter as those file systems fold it (not casefold's 'ß' -> 'ss': 'strasse'
    and 'straße' are two files there)."""
    folder, name = os.path.split(os.path.realpath(path))
    fid = _folder_id(folder)
    if isinstance(fid, tuple) and name.lower() != name.upper() and folds_case(folder):
        name = name.lower()
    return fid, name


def same_name(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file by :func:`name_key`."""
    return name_key(a) == name_key(b)


def file_version(path: str | os.PathLike) -> tuple[int, ...]:
    """What tells one version of the file at ``path`` (a link followed) from another without reading
    it, as a cache's key: device, inode, size, modification and change times (ns). The change time
    is set by every write and cannot be set back, so a file rewritten in place with its size and
    modification time kept (``cp -p`` or ``rsync -t --inplace`` over it) is another version.
    Raises ``OSError`` where it cannot be looked at."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


# File system types (/proc/self/mountinfo's) that number their files anew at each mount: FAT and exFAT have no inode
# numbers (Linux makes them up as it reads a folder), FUSE's are the program's (most make them up too: exfat-fuse,
# sshfs). A file's device number may change too (a USB stick in another port).
_RENUMBERING = ("vfat", "msdos", "exfat", "fuse")


def renumbers_files(path: str | os.PathLike, mountinfo: str = "/proc/self/mountinfo") -> bool:
    """Whether the file system ``path`` is on gives its files other inode numbers after a remount (:data:`_RENUMBERING`,
    by the mount of ``path``'s folder in ``mountinfo``); False where that cannot be told (no ``/proc``: macOS,
    Windows)."""
    return (fs_type(os.path.dirname(os.path.abspath(path)), mountinfo) or "").startswith(_RENUMBERING)
