"""Small file helpers shared by the engine, the raster pipeline and the CLI (no torch, no rasterio).

* :func:`sha256_file` - the SHA-256 of a file, read in chunks;
* :func:`new_file_mode` - the permissions a plain ``open(path, "w")`` would give (0666 - umask),
  for files made with :func:`tempfile.mkstemp` (0600) and then renamed into place;
* :func:`make_part`, :func:`is_part_of`, :func:`remove_stale_parts` - the hidden
  ``.NAME.<random>.ldcsr-part`` temporary file an output is written to before its atomic rename,
  and the clean-up of those a killed run (``kill -9``) left behind.  A writer holds an exclusive
  ``flock`` on its part file while it works; the kernel drops it when the process dies, however
  it dies, so "stale" means "ours by name and not locked" (where ``fcntl`` is missing, Windows:
  "ours by name and untouched for :data:`STALE_AFTER_S`").
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["sha256_file", "new_file_mode", "PART_SUFFIX", "make_part", "part_prefix", "atomic_write_bytes",
           "is_part_of", "stale_parts", "remove_stale_parts"]

PART_SUFFIX = ".ldcsr-part"
STALE_AFTER_S = 24 * 3600.0  # without flock: a part untouched this long is stale
# mkstemp's random part: 8 characters of [a-z0-9_].
_RANDOM = r"[a-z0-9_]{8}"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def new_file_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give now: ``0o666`` minus the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def part_prefix(path: str | os.PathLike) -> str:
    """Prefix of the temporary files of ``path``: ``.NAME.`` (hidden, in the same folder)."""
    return f".{Path(path).name}."


def is_part_of(candidate: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``candidate`` is one of our temporary files for ``path`` (or a GDAL sidecar of one).

    Only names made by the writers of this package match: ``.NAME.<8 random chars>.ldcsr-part``,
    optionally followed by ``.aux.xml`` or ``.msk``.
    """
    c = Path(candidate)
    if c.parent.resolve() != Path(path).parent.resolve():
        return False
    pat = re.escape(part_prefix(path)) + _RANDOM + re.escape(PART_SUFFIX) + r"(\.aux\.xml|\.msk)?"
    return re.fullmatch(pat, c.name) is not None


def make_part(path: str | os.PathLike) -> tuple[Path, int]:
    """Create and lock a new, empty part file for ``path``; returns ``(part_path, fd)``.

    Keep ``fd`` open while the part is being written (it holds the lock) and close it after the
    rename or removal.
    """
    import tempfile

    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=part_prefix(p), suffix=PART_SUFFIX, dir=p.parent)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return Path(tmp), fd


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a locked part file beside ``path`` and rename it into place (permissions
    as ``open(path, "w")`` would give); on any failure the part file is removed, ``path`` untouched."""
    part, fd = make_part(path)
    try:
        with os.fdopen(os.dup(fd), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(part, new_file_mode())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return Path(path)


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
        main = n.split(PART_SUFFIX)[0] + PART_SUFFIX  # a sidecar goes with its part file
        if main in parts and n != main:
            continue  # decided with its part file below
        if not _in_use(folder / n):
            out.append(folder / n)
            out.extend(folder / s for s in sorted(parts) if s != n and s.startswith(n))
    return out


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed run left for ``path``; returns what was removed."""
    removed = []
    for q in stale_parts(path):
        try:
            q.unlink()
            removed.append(q)
        except FileNotFoundError:
            pass
    return removed
