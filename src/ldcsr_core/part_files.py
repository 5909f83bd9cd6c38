"""Part files: the hidden ``.NAME.<random>.ldcsr-part`` temporary file an output is written to
before its atomic rename (:func:`make_part`, :func:`part_prefix`, :func:`is_part_of`), and the
clean-up of those a killed run (``kill -9``) left behind (:func:`stale_parts`,
:func:`remove_stale_parts`, :func:`clear_stale_parts`).  A writer holds an exclusive ``flock`` on
its part file while it works; the kernel drops it when the process dies, however it dies, so
"stale" means "ours by name and not locked" (where ``fcntl`` is missing, Windows: "ours by name and
untouched for :data:`STALE_AFTER_S`").  :mod:`ldcsr_core.files` re-exports them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from pathlib import Path

from .file_names import cut_to_fit, made_name_max, refused_name
from .words import counted

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["PART_SUFFIX", "STALE_AFTER_S", "part_prefix", "part_named", "is_part_of", "is_part_name", "part_in_text",
           "output_of_part", "made_here", "forget_part", "make_part", "stale_parts",
           "remove_stale_parts", "clear_stale_parts"]

log = logging.getLogger("ldcsr_core.files")  # (its warnings were files' before the split)

PART_SUFFIX = ".ldcsr-part"
STALE_AFTER_S = 24 * 3600.0  # without flock: a part untouched this long is stale
# mkstemp's random part: 8 characters of [a-z0-9_].
_RANDOM_LEN = 8
_RANDOM = rf"[a-z0-9_]{{{_RANDOM_LEN}}}"


# What part files add to an output's name: '.' + NAME + '.' + 8 random + PART_SUFFIX, and GDAL's
# '.aux.xml' for a sidecar of the part file.
_PART_EXTRA = 2 + 8 + len(PART_SUFFIX) + len(".aux.xml")
# What may follow a part file's name in the name of one of its files (is_part_of).
_PART_FILES_END = r"(\.aux\.xml|\.msk|\.ovr|\.old\d|\.new)?"


def part_prefix(path: str | os.PathLike) -> str:
    """Prefix of the temporary files of ``path``: ``.NAME.`` (hidden, in the same folder).

    A NAME too long to hold what part files add (an output name near the filesystem's 255 bytes)
    is cut to its first bytes and ``~`` + 12 hex digits of its SHA-256, so that every output name
    the filesystem takes can be written, and the prefix still names one output."""
    p = Path(path)
    name = p.name
    room = max(made_name_max(p.parent) - _PART_EXTRA, 16)
    if len(os.fsencode(name)) <= room:
        return f".{name}."
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    return f".{cut_to_fit(name, room - 13)}~{digest}."


def is_part_of(candidate: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``candidate`` is one of our temporary files for ``path`` (or a GDAL sidecar of one).

    Only names made by the writers of this package match: ``.NAME.<8 random chars>.ldcsr-part``,
    optionally followed by ``.aux.xml``, ``.msk``, ``.ovr``, ``.oldN`` (a replaced file's sidecar set aside) or ``.new`` (the
    marker of a part with sidecars, as it is renamed).
    """
    c = Path(candidate)
    if c.parent.resolve() != Path(path).parent.resolve():
        return False
    pat = re.escape(part_prefix(path)) + _RANDOM + re.escape(PART_SUFFIX) + _PART_FILES_END
    return re.fullmatch(pat, c.name) is not None


def is_part_name(path: str | os.PathLike) -> bool:
    """Whether ``path``'s name is one of our temporary files' (:func:`is_part_of`'s names), whatever output it is of:
    a file the engine made and owns, so that an error of its own reading it there is the engine's, not the user's."""
    name = Path(os.fsdecode(path)).name
    return re.fullmatch(r"\..+\." + _RANDOM + re.escape(PART_SUFFIX) + _PART_FILES_END, name) is not None


def part_in_text(text: str) -> Path | None:
    """The first part file (:func:`is_part_name`) named in ``text``: a GDAL message through rasterio names the file it
    failed on only in its words, quoted or not (``Read or write failed. /out/.a_sr.tif.k3j9x2ab.ldcsr-part, band 1``;
    unquoted, its name starts at a path's start: ``failed. .a_sr.tif.k3j9x2ab.ldcsr-part`` names ``.a_sr.tif…``)."""
    name = r"\.[^/\\\n'\"]*?\." + _RANDOM + re.escape(PART_SUFFIX) + _PART_FILES_END
    start = r"(?<![^\s'\"`(\[<=,;:])"  # unquoted, a path starts the text or follows a space or mark, not a word's end
    for pattern in (rf"'([^'\n]*?{name})'", rf'"([^"\n]*?{name})"', rf"{start}((?:[^\s'\",]*[/\\])?{name})"):
        for m in re.finditer(pattern, text):
            if is_part_name(m.group(1)):
                return Path(m.group(1))
    return None


def output_of_part(part: str | os.PathLike) -> Path | None:
    """The output that ``part`` (one of :func:`is_part_of`'s names) is written for, beside it; None where its name
    was cut to fit (:func:`part_prefix`) or is none of ours."""
    p = Path(os.fsdecode(part))
    m = re.fullmatch(r"\.(.+)\." + _RANDOM + re.escape(PART_SUFFIX) + _PART_FILES_END, p.name)
    out = p.parent / m.group(1) if m else None
    return out if out is not None and is_part_of(p, out) else None


#: the part files :func:`make_part` made in this process, their paths by their names (each unique by its random
#: part), in the order made: one renamed into place is forgotten (:func:`forget_part`); of those removed after a
#: failure, whose error may name them as it is said, the last :data:`MADE_KEPT` are kept (a napari session or a Dask
#: worker makes thousands)
_MADE: dict = {}
_MADE_LOCK = threading.Lock()
MADE_KEPT = 256


def made_here(part: str | os.PathLike) -> Path | None:
    """The part file of ``part``'s name that this process made to write an output (:func:`make_part`), its path as
    made (whole, where a message's words cut it at a space: ``my out/.a.tif.….ldcsr-part`` read as ``out/…``); None
    for one it was given to read (a part file left by another run, opened as an input: ``ldcsr info
    out/.a.tif.….ldcsr-part``)."""
    return _MADE.get(Path(os.fsdecode(part)).name)


def forget_part(part: str | os.PathLike) -> None:
    """Forget ``part`` (made by :func:`make_part`), renamed into place: no error names it any more."""
    with _MADE_LOCK:
        _MADE.pop(Path(os.fsdecode(part)).name, None)


def _remember(part: Path) -> None:
    with _MADE_LOCK:
        _MADE[part.name] = part
        while len(_MADE) > MADE_KEPT:  # the oldest: its run and its error long over
            del _MADE[next(iter(_MADE))]


def part_named(name: str, path: str | os.PathLike) -> str:
    """The name of the part file that ``name`` (one of :func:`is_part_of`'s for ``path``: the part file's, or one of
    its files') goes with: :func:`part_prefix`, the random part and :data:`PART_SUFFIX`; not cut at the first
    ``.ldcsr-part``, which ``path``'s own name may hold."""
    return name[:len(part_prefix(path)) + _RANDOM_LEN + len(PART_SUFFIX)]


def make_part(path: str | os.PathLike) -> tuple[Path, int]:
    """Create and lock a new, empty part file for ``path``; returns ``(part_path, fd)``.

    Keep ``fd`` open while the part is being written (it holds the lock) and close it after the
    rename or removal.
    """
    import tempfile

    p = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=part_prefix(p), suffix=PART_SUFFIX, dir=p.parent)
    except BaseException as e:  # a Ctrl-C as os.open made it: a part not locked yet, its name unknown
        if not isinstance(e, OSError):
            remove_stale_parts(p)
        refused = refused_name(p, e) if isinstance(e, OSError) else None
        if refused:  # (before, "cannot write to FOLDER: No such file or directory" of a folder that is there)
            raise OSError(e.errno, refused) from None
        raise
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:  # (a Ctrl-C as it was made) no part file left
        os.close(fd)
        os.unlink(tmp)
        raise
    _remember(Path(tmp))
    return Path(tmp), fd


def clear_stale_parts(path: str | os.PathLike, keep=(), parts=None) -> list[Path]:
    """Remove (and log as a warning) the part files a killed run left for output ``path``, but those in ``keep``
    (``parts``: :func:`stale_parts` as the caller listed them, not listed again)."""
    removed = remove_stale_parts(path, keep, parts)
    if removed:
        log.warning("removed %s of %s left by an interrupted run: %s",
                    counted(len(removed), "stale part file"), Path(path).name, ", ".join(p.name for p in removed))
    return removed


def _in_use(part: Path) -> bool:
    """Whether a live writer holds ``part``'s lock (without fcntl: touched recently)."""
    if fcntl is None:  # pragma: no cover - Windows
        return time.time() - part.stat().st_mtime < STALE_AFTER_S
    try:
        fd = os.open(part, os.O_RDONLY)
    except OSError:
        return True  # vanished or unreadable: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock
    return False


def stale_parts(path: str | os.PathLike) -> list[Path]:
    """Our temporary files for ``path`` that no live writer holds (left by a killed run)."""
    p = Path(path)
    folder = p.parent
    prefix = part_prefix(p)
    try:
        names = [e.name for e in os.scandir(folder)
                 if e.name.startswith(prefix) and e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    parts = {n for n in names if is_part_of(folder / n, p)}
    out = []
    for n in sorted(parts):
        main = part_named(n, p)  # a sidecar goes with its part file
        if main in parts and n != main:
            continue  # decided with its part file below
        if not _in_use(folder / n):
            out.append(folder / n)
            out.extend(folder / s for s in sorted(parts) if s != n and s.startswith(n))
    return out


def remove_stale_parts(path: str | os.PathLike, keep=(), parts=None) -> list[Path]:
    """Remove the temporary files a killed run left for ``path``, but those in ``keep``; returns what was removed.
    ``parts``: :func:`stale_parts` as the caller listed and judged them (a listing made now could hold a live run's
    files that were not stale then: those of a part renamed since)."""
    removed = []
    for q in stale_parts(path) if parts is None else parts:
        if q in keep:
            continue
        try:
            q.unlink()
            removed.append(q)
        except FileNotFoundError:
            pass
    return removed
