"""Reads that fail: GDAL's messages about damaged files, turned into one line naming the file.

GDAL (through rasterio) says "Read failed. See previous exception for details."; the cause says
which tile or block of which band could not be read. :func:`read_errors` wraps the reads of a
dataset and raises :func:`read_error`'s :class:`~ldcsr_core.errors.RasterIOError` instead.
"""

from __future__ import annotations

import contextlib
import errno
import re
from pathlib import Path

from ..errors import RasterIOError, cause_line

__all__ = ["gdal_errors", "read_error", "read_errors"]


_BAD_TIFF = re.compile(r"Read error at (?:row|scanline) (\d+)(?:, col (\d+))?(?:, (tile|strip) (\d+))?"
                       r"(?:;\s*(.*))?")


_BAD_BLOCK = re.compile(r"band (\d+): IReadBlock failed at X offset (\d+), Y offset (\d+)(?::\s*(.*))?")

# GDAL's JPEG driver: libjpeg's own words, then a hint that turns the error into a warning, which
# would let the run go on with the missing part of the picture as grey (a wrong result): not said.
_BAD_JPEG = re.compile(r"(libjpeg: .*?)\.?(?:\s*\(this error can be turned as a warning[^)]*\))?\s*$")


def gdal_errors() -> tuple[type[BaseException], ...]:
    """The exceptions rasterio raises for GDAL's failures, for ``except``. Before rasterio 1.4 its
    ``RasterioIOError`` (a file that cannot be opened or read) was an ``OSError`` but not a
    ``RasterioError``: catching ``RasterioError`` alone let it through as a raw GDAL message."""
    from rasterio.errors import RasterioError, RasterioIOError

    return (RasterioError, RasterioIOError)


def read_error(name, exc: BaseException) -> RasterIOError:
    """One line for a failed read of raster ``name``: which block of which band, in plain words."""
    cause = cause_line(exc)
    m = _BAD_TIFF.search(cause)
    if m:
        row, col, kind, n, why = m.groups()
        what = f"{kind} {n}" if kind else "a block"
        if row and int(row) < 2**31:
            what += f" (at row {row}" + (f", column {col})" if col else ")")
        why = f": {why.strip().rstrip('.')}" if why else ""
        return RasterIOError(errno.EIO, f"{name} is truncated or damaged: GDAL could not read "
                             f"{what}{why}")
    m = _BAD_BLOCK.search(cause)
    if m:
        band, bx, by, why = m.groups()
        why = f" ({why.strip().rstrip('.')})" if why else ""
        return RasterIOError(errno.EIO, f"{name} is truncated or damaged: GDAL could not read "
                             f"block (row {by}, column {bx}) of band {band}{why}")
    m = _BAD_JPEG.search(cause)
    if m:
        return RasterIOError(errno.EIO, f"{name} is truncated or damaged: {m.group(1)}")
    return RasterIOError(errno.EIO, f"cannot read {name}: {cause}")


@contextlib.contextmanager
def read_errors(src):
    """Turn GDAL's read failures inside the block into :func:`read_error` for dataset ``src``."""
    try:
        yield
    except gdal_errors() as e:
        name = str(getattr(src, "name", src))
        name = "the layer" if name.startswith("/vsimem/") else Path(name).name
        raise read_error(name, e) from None
