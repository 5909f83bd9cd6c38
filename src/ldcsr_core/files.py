"""Small file helpers shared by the engine, the raster pipeline and the CLI (no torch, no rasterio).

* :func:`sha256_file` - the SHA-256 of a file, read in chunks;
* :func:`new_file_mode` - the permissions a plain ``open(path, "w")`` would give (0666 - umask),
  for files made with :func:`tempfile.mkstemp` (0600) and then renamed into place;
* :func:`make_part`, :func:`is_part_of`, :func:`remove_stale_parts` - the part files outputs are
  written to before their atomic rename, and their clean-up (:mod:`ldcsr_core.part_files`,
  re-exported here);
* :func:`atomic_write_bytes` - a whole file (a model, a checkpoint, a report) written that way;
* :func:`same_file` and :func:`check_report_path` - the one rule for a report's destination (the
  self-check's and evaluate's JSON/HTML, QGIS's quality report), checked before any work;
* :func:`write_error` - the one-line error of a failed write, naming the output and the cause (no
  space left, the file size limit, a read-only folder...); :func:`free_bytes`,
  :func:`file_size_limit` and :func:`human_bytes` for it and for the free-space checks;
* :func:`check_room` - the one check, before minutes of work, that a file (a model, a checkpoint)
  fits a folder's free space and the file size limit.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from pathlib import Path

from .errors import OVERWRITE, InputError, OutputExistsError, RasterIOError, cause_line
from .file_names import check_name_length, check_not_folder, name_max
from .words import path_said
from .part_files import (PART_SUFFIX, clear_stale_parts, forget_part, is_part_of, make_part, part_prefix,
                         remove_stale_parts, stale_parts)

__all__ = ["sha256_file", "new_file_mode", "real", "same_file", "file_keys", "file_id", "UNKNOWN", "FileSet", "name_max", "check_name_length", "check_report_path", "HTML_SUFFIXES", "is_html_name", "check_writable", "check_readable", "check_not_folder", "is_stream", "PART_SUFFIX", "make_part", "forget_part", "part_prefix", "atomic_write_bytes", "link_new",
           "is_part_of", "stale_parts", "remove_stale_parts", "clear_stale_parts", "write_error", "free_bytes",
           "file_size_limit", "human_bytes", "check_room"]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def real(path: str | os.PathLike) -> Path:
    """``path`` with its links resolved, as far as they resolve: :meth:`Path.resolve` without its
    ``RuntimeError`` on a symlink loop (one in a folder of inputs stopped the whole batch)."""
    return Path(os.path.realpath(path))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (resolving links; ``b`` may not exist): the same
    inode, or the same name in one folder (:func:`~ldcsr_core.file_names.name_key`: in any letter
    case where the folder's file system folds it, as FAT, exFAT, NTFS, SMB and macOS do)."""
    return bool(file_keys(a) & file_keys(b))


def file_keys(path: str | os.PathLike) -> frozenset:
    """What :func:`same_file` compares, for comparing many files with many once each: the device and inode of the
    file ``path`` names (links followed), where it exists, and its :func:`~ldcsr_core.file_names.name_key`."""
    from .file_names import name_key

    try:
        st = os.stat(path)
        ino = {("inode", st.st_dev, st.st_ino)}
    except (OSError, ValueError):
        ino = set()
    return frozenset(ino | {("name", name_key(path))})


UNKNOWN = object()  # a file_id not known (e.g. an upscale_raster caller that did not look first)


def file_id(path) -> tuple[int, int] | None:
    """Device and inode of what is at ``path`` (not following a link), or ``None`` if nothing is
    (or ``path`` is ``None``): tells a file a run renamed into place from the one there before."""
    try:
        st = os.lstat(path) if path is not None else None
    except OSError:
        return None
    return None if st is None else (st.st_dev, st.st_ino)


class FileSet:
    """Files given once, then asked about many times: ``path in fs`` is :func:`same_file` of
    ``path`` and any of them (the same inode, or the same name by ``file_names.name_key``), at the
    cost of one ``stat`` per question instead of one comparison per file (a batch of 10 000 inputs
    checks each output against every input before any work)."""

    def __init__(self, paths=()):
        from .file_names import name_key

        self._ids: set[tuple[int, int]] = set()
        self._names: set[tuple] = set()
        for p in paths:
            p = Path(p)
            self._names.add(name_key(p))  # a file's other-case name where the folder folds case
            try:
                st = p.stat()
            except OSError:  # a broken link, say: its name only
                continue
            self._ids.add((st.st_dev, st.st_ino))

    def __contains__(self, path) -> bool:
        from .file_names import name_key

        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            st = None
        return (st is not None and (st.st_dev, st.st_ino) in self._ids) or name_key(p) in self._names


def check_report_path(path: str | os.PathLike, *, inputs=(), outputs=(), overwrite: bool = False,
                      name: str = "the report", html: bool = True) -> Path:
    """A report's destination (JSON or HTML), checked before any work; returns it as a Path.

    ``inputs`` and ``outputs`` are ``(path, what)`` pairs naming the files the run reads (the
    scene, the model file, a VRT's sources, a sidecar: "a file v.vrt reads") and writes (the output
    raster); ``None`` paths are skipped.  Refused: an input (:class:`InputError`, inputs are never
    modified) or an output of the run, a folder (:class:`InputError`); a missing or unwritable
    folder (:class:`RasterIOError`); an existing file unless ``overwrite``
    (:class:`OutputExistsError`), as for the CLI's other outputs.  ``name`` starts the messages.
    ``html=False`` for a report written as JSON only (``ldcsr evaluate``): an HTML name
    (:data:`HTML_SUFFIXES`, which :func:`ldcsr_core.report.write_report` writes as a page) is
    refused (:class:`InputError`) rather than left holding JSON text."""
    from .rules import check_flag

    overwrite, html = check_flag(overwrite, "overwrite"), check_flag(html, "html")
    p = Path(path)
    names = ".json or .html" if html else ".json"
    if not html and is_html_name(p):
        raise InputError(f"{name} is written as JSON only: {p} is an HTML name (choose a .json name)")
    check_name_length(p, name)  # before is_dir(), which fails in errno's words
    for pairs, why in ((inputs, "inputs are never overwritten"), (outputs, "the run writes it")):
        for other, what in pairs:
            if other is not None and same_file(p, other):  # same_file compares resolved paths too
                raise InputError(f"{name} path is {what}: {p} ({why}; choose another {names} name)")
    if p.is_dir():
        raise InputError(f"{name} path is a folder: {p} (choose a {names} name in it)")
    check_not_special(p, name)
    folder = p.parent
    if not folder.is_dir():
        raise RasterIOError(errno.ENOENT, f"{name}'s folder does not exist: {path_said(folder)}")
    check_writable(folder, f"{name}'s folder")
    if os.path.lexists(p) and not overwrite:  # a broken link too: the write keeps it (found after the work)
        link = "" if p.exists() else f" (a link to {os.readlink(p)}, which is missing)"
        raise OutputExistsError(errno.EEXIST, f"{name} exists: {p}{link} (use {OVERWRITE} to replace it)",
                                overwrite=OVERWRITE)
    return p


HTML_SUFFIXES = (".html", ".htm")  # a report by one of these names is an HTML page


def is_html_name(path: str | os.PathLike) -> bool:
    """Whether a report at ``path`` is an HTML page (its suffix, in any letter case)."""
    return Path(path).suffix.lower() in HTML_SUFFIXES


def check_not_special(path: str | os.PathLike, name: str = "the output") -> None:
    """Refuse a ``path`` that is a device, a pipe or a socket (:class:`InputError`), whatever
    ``--overwrite`` says: a file is renamed into place, which would replace ``/dev/null`` (as
    root) or a named pipe by a regular file. A link to one is replaced as a link, and may be,
    except a process's open stream (:func:`is_stream`: ``/dev/stdout``, ``/dev/fd/N``): the
    system's link would be replaced, the file not written where it was asked for."""
    import stat

    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise InputError(f"{name} path is not a regular file (a device, a pipe or a socket): {path} "
                         "(it is never replaced; choose a file name)")
    if is_stream(path):
        raise InputError(f"{name} path is a process's open stream, not a file: {path} (it is never "
                         "replaced; choose a file name)")


def is_stream(path: str | os.PathLike) -> bool:
    """Whether ``path`` is one of a process's open files by number (``/proc/PID/fd/N``), or a link
    to one (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``), whatever it is open on."""
    def in_fds(p: str) -> bool:
        return re.fullmatch(r"/proc/[^/]+/fd", os.path.realpath(os.path.dirname(os.path.abspath(p)))) is not None

    try:
        p = os.fsdecode(path)
        return in_fds(p) or (os.path.islink(p) and in_fds(os.path.join(os.path.dirname(os.path.abspath(p)),
                                                                       os.readlink(p))))
    except (OSError, ValueError, TypeError):
        return False


def check_writable(folder: str | os.PathLike, what: str = "output folder") -> None:
    """Refuse, before any work, a folder this process cannot create files in (no permission, a
    read-only filesystem): :class:`RasterIOError` naming it."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RasterIOError(errno.EACCES, f"{what} is not writable: {folder}")


def check_readable(path: str | os.PathLike) -> None:
    """Refuse an input this user may not read (a folder: list and enter): :class:`RasterIOError`
    (EACCES) ``cannot read PATH: permission denied``, the one line every command says of it (exit 5:
    a raster, a folder of images or one of its subfolders, a --config, a --resume checkpoint)."""
    mode = os.R_OK | os.X_OK if os.path.isdir(path) else os.R_OK
    if not os.access(path, mode):
        raise RasterIOError(errno.EACCES, f"cannot read {path}: permission denied")


def new_file_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give now: ``0o666`` minus the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to a locked part file beside ``path`` and rename it into place (permissions
    as ``open(path, "w")`` would give); on any failure the part file is removed, ``path`` untouched,
    and a write that fails is one :class:`RasterIOError` naming ``path`` (:func:`write_error`).
    Without ``overwrite`` a ``path`` that exists (e.g. appeared during the run) is kept and
    :class:`OutputExistsError` raised (a hard link, so no check-then-rename race); a folder, or a
    symbolic link to one, is no file that overwrite replaces: :func:`check_not_folder` either way.
    Part files a killed run left for ``path`` are removed first."""
    from .rules import check_flag

    overwrite = check_flag(overwrite, "overwrite")  # 'no' was true: the file was replaced
    check_not_folder(path)  # (the rename replaces a link to a folder by the file)
    clear_stale_parts(path)
    try:
        part, fd = make_part(path)
    except OSError as e:
        raise write_error(path, e, len(data), exact=True) from None
    try:
        with os.fdopen(os.dup(fd), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(part, new_file_mode())
        if overwrite:
            check_not_special(path)  # one that appeared during the run
            os.replace(part, path)
        else:
            link_new(part, Path(path))
        forget_part(part)  # in place: no error names it any more
    except BaseException as e:
        err = (write_error(path, e, len(data), exact=True, part=part)
               if isinstance(e, OSError) and not isinstance(e, (RasterIOError, OutputExistsError)) else None)
        part.unlink(missing_ok=True)
        if isinstance(e, OSError):
            check_not_folder(path)  # one made meanwhile (never replaced: not 'use overwrite')
        if err is not None:
            raise err from None
        raise
    finally:
        os.close(fd)
    return Path(path)


def link_new(part: Path, path: Path) -> None:
    """Put ``part`` at ``path`` only if nothing is there, not even a broken link (else
    :class:`OutputExistsError`): a hard link, then ``part`` unlinked, so two runs finishing the
    same output at once cannot both think they wrote it."""
    try:
        os.link(part, path)
    except FileExistsError:
        raise OutputExistsError(errno.EEXIST, f"{path} exists (use {OVERWRITE} to replace it)",
                                overwrite=OVERWRITE) from None
    except OSError:  # no hard links here (FAT, some network shares): check, then rename
        if os.path.lexists(path):
            raise OutputExistsError(errno.EEXIST, f"{path} exists (use {OVERWRITE} to replace it)",
                                    overwrite=OVERWRITE) from None
        os.replace(part, path)
    else:
        part.unlink()


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Bytes free for this user in ``folder``'s filesystem, or ``None`` if it cannot be told."""
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return None


# A write makes a few files beside its raster (its claim, part, marker, sidecars: each a file entry, removed as it
# fails): an ENOSPC with fewer entries than this left, and 1 MB free or more, is theirs.
FEW_ENTRIES = 8


def _file_entries_left(folder: str | os.PathLike) -> int | None:
    """The file entries (inodes) ``folder``'s file system has left for this user; ``None`` where it counts none."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # (no statvfs on Windows)
        return None
    return int(st.f_favail) if st.f_files > 0 else None


def file_size_limit() -> int | None:
    """The process's file size limit (``ulimit -f``) in bytes, or ``None`` when unlimited."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def check_room(folder: str | os.PathLike, nbytes: int, what: str, *, largest: int | None = None,
               at_least: bool = False, they: bool = False) -> None:
    """Raise :class:`RasterIOError` (``ENOSPC``) unless ``folder``'s filesystem has ``nbytes`` free,
    or (``EFBIG``) unless the file size limit (``ulimit -f``) lets a file of ``largest`` bytes
    (default ``nbytes``) be written. ``what`` names the file(s) in the sentence ("the adapted
    model"; ``they`` for several); ``at_least``: ``nbytes`` is a lower bound ("more than", not
    "about"). Where the system does not say, nothing is refused."""
    def size(n):
        return f"{'more than' if at_least else 'about'} {human_bytes(n)}"

    needs = "they need" if they else "it needs"
    free = free_bytes(folder)
    if free is not None and free < nbytes:
        raise RasterIOError(errno.ENOSPC, f"not enough space for {what} in {folder}: "
                            f"{human_bytes(free)} free, {needs} {size(nbytes)}")
    largest = nbytes if largest is None else largest
    limit = file_size_limit()
    if limit is not None and limit < largest:
        raise RasterIOError(errno.EFBIG, f"{what} cannot be written: the file size limit (ulimit -f) is "
                            f"{human_bytes(limit)}, {'each' if they else 'it'} needs {size(largest)}")


def human_bytes(n: float) -> str:
    """``n`` bytes in the tool's one way of saying a size (every message: free space, an output's, memory, a model
    file's): whole bytes below 1 KiB ("1023 bytes"), else in powers of two named as such, KiB, MiB, GiB, TiB, with one
    decimal, in the largest unit that says less than 1024 of it (1 MiB less a byte is "1.0 MiB", not "1024.0 KiB")."""
    n = max(0, int(round(n)))
    if n < 1024:
        return "1 byte" if n == 1 else f"{n} bytes"
    value, units = n / 1024, ("KiB", "MiB", "GiB", "TiB")
    for unit in units[:-1]:
        if float(f"{value:.1f}") < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {units[-1]}"


def needs_words(nbytes: int, each=None, what: str = "the output") -> str:
    """``'the output needs about 12.0 MiB'`` (``what``); of several files, ``each``: their ``(what, bytes)``, each one's
    (``'the output needs about 192.0 KiB and its spread file about 768.0 KiB'``, not their sum as the output's)."""
    (first, n), *rest = each or [(what, nbytes)]
    return f"{first} needs about {human_bytes(n)}" + "".join(f" and {w} about {human_bytes(b)}" for w, b in rest)


def write_error(path: str | os.PathLike, exc: BaseException | None = None,
                nbytes: int | None = None, *, exact: bool = False,
                part: str | os.PathLike | list | None = None, each=None) -> RasterIOError:
    """One-line :class:`RasterIOError` for a failed write of ``path``: the cause in plain words
    (no space left, the file size limit, or the system's or GDAL's own message) with the free
    space and the size (``nbytes``: the raster's uncompressed size, or with ``exact`` the file's; ``each``: of several
    files, each one's, :func:`needs_words`).
    ``part``: the unfinished file (or files) that the caller removes next; its space counts as free
    (what the user finds when reading the line, not the "0 bytes" of the moment the disk filled).
    Without an errno (GDAL's failures; one in its close is found as the finished file is checked) or
    with EIO the cause is still told: a disk with under 1 MB free as the write failed, or a part file
    that reached the file size limit. Another errno is the cause (a rename onto a folder on a disk
    with 500 kB free is EISDIR, not a full disk). Never names a part file: the output is what the
    user asked for."""
    p = Path(path)
    full = free = free_bytes(p.parent)  # full: as the write failed (the disk full, its parts still there)
    limit = file_size_limit()
    at_limit = False  # an unfinished file that reached the size limit (a failure in GDAL's close says no errno)
    for q in [part] if isinstance(part, (str, os.PathLike)) else part or ():
        try:
            st = os.stat(q)
        except OSError:  # gone already
            continue
        at_limit = at_limit or (limit is not None and st.st_size >= limit)
        if free is not None:
            free += getattr(st, "st_blocks", 0) * 512  # (no st_blocks on Windows)
    code = exc.errno if isinstance(exc, OSError) else None  # (a CPLE_* error's errno is GDAL's error class)
    told = code in (None, errno.EIO)  # no cause said, or one that may hide a full disk: tell it from the disk
    need = "" if not nbytes else (f", the file is {human_bytes(nbytes)}" if exact else
                                  f", {needs_words(nbytes, each)} uncompressed")
    entries = _file_entries_left(p.parent) if code == errno.ENOSPC else None
    # not "no space left: 19.9 MB free" alone; but a disk whose bytes are used up says so, though XFS and ZFS count
    # as many entries left as the bytes free hold (a full XFS: 3 left): the bytes are its cause
    if entries is not None and entries < FEW_ENTRIES and (full is None or full >= 1 << 20):
        return RasterIOError(errno.ENOSPC, f"cannot write {p}: no space left on device: its file entries (inodes) "
                             f"are used up ({entries} left, {human_bytes(free or 0)} free); remove files there or "
                             "choose another output folder")
    if code == errno.ENOSPC or (told and full is not None and full < (1 << 20)):
        return RasterIOError(errno.ENOSPC, f"cannot write {p}: no space left on device: "
                             f"{human_bytes(free or 0)} free{need}")
    if code == errno.EFBIG or (told and (at_limit or (limit is not None and nbytes and limit < nbytes))):
        return RasterIOError(errno.EFBIG, f"cannot write {p}: the file size limit (ulimit -f) "
                             f"of {human_bytes(limit or 0)} was reached{need}")
    if isinstance(exc, OSError) and exc.strerror:
        cause = exc.strerror  # not str(exc): that names the part file
    else:
        cause = cause_line(exc) if exc is not None else "the finished file does not read back"
    return RasterIOError(code or errno.EIO, f"cannot write {p}: {cause}")

