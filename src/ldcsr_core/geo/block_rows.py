"""Writing finished output rows one whole block row at a time.

:class:`BlockRowWriter` is the sink side of the engine's ``RowMerger``: rows arrive in order and
go to a :class:`~.geotiff_writer.GeoTiffWriter` (or anything with its ``dataset``, ``write`` and
``write_mask``) one block row at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import LdcsrError

if TYPE_CHECKING:
    from .geotiff_writer import GeoTiffWriter

__all__ = ["BlockRowWriter"]


class BlockRowWriter:
    """Collect finished output rows (arriving in order) and write them one block row at a time.

    Writing whole block rows means every compressed block is written once; partial blocks would
    be flushed, re-read and re-compressed by GDAL, bloating the file. Memory: one block row of the
    output in its own dtype.
    """

    def __init__(self, writer: GeoTiffWriter, *, block_rows: int | None = None):
        from rasterio.windows import Window

        self._Window = Window
        self.writer = writer
        ds = writer.dataset
        self.count, self.height, self.width = ds.count, ds.height, ds.width
        self.dtype = np.dtype(ds.dtypes[0])
        self.block_rows = int(block_rows or ds.block_shapes[0][0])
        self._buf = np.empty((self.count, self.block_rows, self.width), self.dtype)
        self._mask = None
        self._filled = 0  # rows in the buffer
        self._y = 0  # first output row held by the buffer
        self.rows_written = 0

    def push(self, y0: int, rows: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Append ``(bands, n, W)`` rows starting at output row ``y0`` (must follow the last)."""
        if y0 != self._y + self._filled:
            raise LdcsrError(f"rows arrived out of order: expected row {self._y + self._filled}, got {y0}")
        n = rows.shape[1]
        if mask is not None and self._mask is None:
            self._mask = np.empty((self.block_rows, self.width), np.uint8)
        k = 0
        while k < n:
            take = min(n - k, self.block_rows - self._filled)
            self._buf[:, self._filled : self._filled + take] = rows[:, k : k + take]
            if mask is not None:
                self._mask[self._filled : self._filled + take] = mask[k : k + take]
            self._filled += take
            k += take
            if self._filled == self.block_rows:
                self._flush()

    def _flush(self) -> None:
        if not self._filled:
            return
        win = self._Window(0, self._y, self.width, self._filled)
        self.writer.write(self._buf[:, : self._filled], win)
        if self._mask is not None:
            self.writer.write_mask(self._mask[: self._filled], win)
        self.rows_written += self._filled
        self._y += self._filled
        self._filled = 0

    def close(self) -> None:
        """Write the last partial block row; check that every row arrived."""
        self._flush()
        if self.rows_written != self.height:
            raise LdcsrError(
                f"incomplete output: {self.rows_written} of {self.height} rows were produced"
            )
