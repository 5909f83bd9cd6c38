"""The scene in and out of the model: windows of a raster as model input, model output back in the
source's units.

* :class:`SceneReader` - all bands of a window, a stretch fitted once on the whole scene, nodata
  filled, band triplets for the model;
* :class:`RasterSink` - the engine ``RowMerger``'s sink: float rows back to the source dtype and
  units, nodata and the per-dataset mask restored, pushed to a row writer;
* :class:`ArrayWriter` - a row writer that collects the result in memory (files use
  :class:`~ldcsr_core.geo.block_rows.BlockRowWriter`).
"""

from __future__ import annotations

import threading

import numpy as np

from . import raster_io as rio_io
from . import radiometry as rad
from .nodata_override import check_file_nodata, with_nodata
from .stretch import fill_values

__all__ = ["SceneReader", "RasterSink", "ArrayWriter"]


BandSpec = "Sequence[int] | str | None"


# Rows converted per sink step: bounds the float temporaries for very wide outputs.
_SINK_PIXELS = 2_000_000
_PROBE = 256  # the side of the centre window SceneReader.all_nodata looks at first


class SceneReader:
    """Reads windows of a source raster as model input: all bands → stretch → fill → triplets.

    The stretch and fill values are fitted once, on a decimated read of the whole scene, even
    when only ``window`` ``(row_off, col_off, height, width)`` is super-resolved; coordinates
    given to :meth:`read` and :meth:`tile` are relative to that window (``fit=False``: no stretch, for
    :meth:`read` and :meth:`empty` alone, a look at where the data is).  Reads of the dataset are
    serialised (a GPU run reads the next tiles in a background thread while the sink may read
    validity masks; GDAL datasets are not thread-safe). ``name``: the scene's, in its warnings.
    """

    def __init__(self, src, bands: BandSpec = None, stretch: str = "auto", window=None, name=None, *, fit: bool = True):
        self.src = src
        self._io = threading.Lock()
        self.info = rio_io.raster_info(src)
        self.oy, self.ox, self.height, self.width = rio_io.check_window(src, window)
        self.plan = rad.plan_bands(src.count, self.info.colorinterp, bands, self.info.descriptions,
                                   rad.band_holder(src))  # (an array, a napari layer, has no file; a palette)
        if not getattr(src, "nodata_given", False):  # the file's own nodata (not the user's): exact in float64?
            # (open_raster checks it too; not a dataset opened elsewhere)
            check_file_nodata(getattr(src, "file_dataset", src), name or src.name)
            src = with_nodata(src, None)  # bands that declare different values: each its own (a VRT)
            self.src = src
        # the output's one nodata value (a GeoTIFF has one for all bands), written on every band's
        # nodata pixels: the user's, or the file's (the first band's that has one, when they differ)
        self.nodata = src.nodata
        # each band's: the file's (a VRT may differ by band), or the user's values and ranges
        self.band_nodata = tuple(getattr(src, "band_nodata", None) or src.nodatavals)
        self.dtype = np.dtype(src.dtypes[0])
        self.use_dataset_mask = self.info.has_dataset_mask
        self._strip_key: tuple[int, int] | None = None
        self._strip = None
        if not fit:  # raw windows and their validity alone (:meth:`read`, :meth:`empty`): no stretch fitted, said
            return
        sample, dmask, _ = rio_io.decimated_read(src)
        valid = self._valid(sample, dmask)
        self.stretch = rad.compute_stretch(sample, valid, self.dtype, method=stretch, name=name)
        self.fill = fill_values(self.stretch, sample, valid)
        self.valid_fraction = float(valid[list(self.plan.colour)].mean()) if valid.size else 0.0

    @property
    def may_have_invalid(self) -> bool:
        """Whether any pixel can be invalid (nodata, NaN, alpha, mask); if not, masks are skipped."""
        return (
            any(v not in (None, ()) for v in self.band_nodata) or self.dtype.kind == "f" or bool(self.plan.alpha)
            or self.use_dataset_mask
        )

    def _valid(self, data: np.ndarray, dmask: np.ndarray | None) -> np.ndarray:
        return rad.valid_mask(data, self.band_nodata, alpha=self.plan.alpha, dataset_mask=dmask)

    def dataset_mask(self, y0: int, x0: int, h: int, w: int) -> np.ndarray:
        with self._io, rio_io.read_errors(self.src):
            return self.src.dataset_mask(window=_window(self.oy + y0, self.ox + x0, h, w))

    def read(self, y0: int, x0: int, h: int, w: int, *, strip: bool = False):
        """Raw ``(bands, h, w)`` data and validity of a window.

        With ``strip=True`` the full-width strip of rows ``y0..y0+h`` is read once and kept, so
        the tiles of one plan row (which share their rows) decompress each block once instead of
        once per tile.
        """
        if strip:
            if self._strip_key != (y0, h):
                self._strip = None  # free the old strip before reading the next one
                self._strip_key = None
                self._strip = self.read(y0, 0, h, self.width)
                self._strip_key = (y0, h)
            data, valid = self._strip
            return data[:, :, x0 : x0 + w], None if valid is None else valid[:, :, x0 : x0 + w]
        with self._io, rio_io.read_errors(self.src):
            data = self.src.read(window=_window(self.oy + y0, self.ox + x0, h, w))
        dmask = self.dataset_mask(y0, x0, h, w) if self.use_dataset_mask else None
        if self.may_have_invalid:
            valid = self._valid(data, dmask)
        else:
            valid = None
        return data, valid

    def empty(self, valid) -> bool:
        """Whether :meth:`read`'s ``valid`` holds no valid pixel of a colour band: a window all nodata, which no
        model runs on (:meth:`tile`'s None; the self-check's refusal, :func:`~ldcsr_core.scene_windows.check_has_data`)."""
        return valid is not None and not valid[list(self.plan.colour)].any()

    def all_nodata(self) -> bool:
        """Whether every pixel of the scene (its window) is :meth:`empty` (every tile of a run of it, its output all
        nodata): a look at its centre first (a few blocks: a scene with data is mostly seen so at once), then a
        decimated read of a whole scene where it reads only part of it (:func:`~.sample_read.reads_every_row`: a
        valid pixel there is one of it), and only where those find none, the scene read in strips to the first that
        holds data: at most one pass over it (and the decimated read's part)."""
        if not self.may_have_invalid:
            return False
        side_y, side_x = min(_PROBE, self.height), min(_PROBE, self.width)
        if not self.empty(self.read((self.height - side_y) // 2, (self.width - side_x) // 2, side_y, side_x)[1]):
            return False
        from .sample_read import reads_every_row

        whole = (self.oy, self.ox, self.height, self.width) == (0, 0, self.src.height, self.src.width)
        if whole and not reads_every_row(self.src):  # (else a pass no quicker than the strips')
            sample, dmask, _ = rio_io.decimated_read(self.src)
            if not self.empty(self._valid(sample, dmask)):
                return False
        rows = max(1, _SINK_PIXELS // max(1, self.width))
        return all(self.empty(self.read(y0, 0, min(rows, self.height - y0), self.width)[1])
                   for y0 in range(0, self.height, rows))

    def tile(self, y0: int, x0: int, h: int, w: int, *, strip: bool = True) -> np.ndarray | None:
        """Model input ``(h, w, 3·groups)`` float32 in ``[0, 1]``, or ``None`` if all invalid.

        ``strip=False`` reads just the window (no full-width strip kept): for isolated windows,
        e.g. the self-check's samples (:mod:`ldcsr_core.quality`)."""
        return self.tile_valid(y0, x0, h, w, strip=strip)[0]

    def tile_valid(self, y0: int, x0: int, h: int, w: int, *, strip: bool = False):
        """``(tile, valid)``: :meth:`tile`, and where the first triplet's bands are all valid
        (``(h, w)`` bool; ``None`` when every pixel is): the pixels a score may count, the rest
        being filled (the self-check and the adaptation's guard, :mod:`ldcsr_core.quality`)."""
        data, valid = self.read(y0, x0, h, w, strip=strip)
        if self.empty(valid):
            return None, None
        unit = self.stretch.to_unit(data)
        first = None
        if valid is not None:
            rad.fill_invalid(unit, valid, self.fill)
            first = valid[list(self.plan.groups[0])].all(axis=0)
            first = None if first.all() else first
        return np.ascontiguousarray(self.plan.gather(unit), dtype=np.float32), first


class RasterSink:
    """The ``RowMerger`` sink: float rows → original units/dtype (plus what lay beyond the stretch,
    :meth:`~.radiometry.Stretch.excess`), mask restored → a row writer.

    ``writer`` is anything with ``push(y0, rows (bands, n, W), mask (n, W) | None)``: a
    :class:`~ldcsr_core.geo.raster_io.BlockRowWriter` (files) or an :class:`ArrayWriter`.
    """

    def __init__(self, reader: SceneReader, writer, out_shape):
        self.reader = reader
        self.writer = writer
        self.H, self.W = out_shape
        self.h, self.w = reader.height, reader.width
        self.cols = rad.nearest_index(self.w, self.W, 0, self.W)
        self.colour = list(reader.plan.colour)
        self.alpha = list(reader.plan.alpha)
        # colour bands whose stretch is narrower than their dtype: values beyond it skip the model
        self.clipped = [b for b in self.colour if reader.stretch.clips(b)]

    def __call__(self, y0: int, rows_hwc) -> None:
        rows_hwc = np.asarray(rows_hwc)
        n = rows_hwc.shape[0]
        step = max(1, _SINK_PIXELS // max(1, self.W))
        for k in range(0, n, step):
            self._rows(y0 + k, rows_hwc[k : k + step])

    def _rows(self, y0: int, rows_hwc: np.ndarray) -> None:
        r = self.reader
        mask_out = None
        # each colour band's channels clipped to [0, 1] as ldcsr_core.upscale clips, then averaged
        # (BandPlan.unit_planes: one rule for both), back to the source's units and dtype straight
        # into the output rows
        out = np.empty((r.src.count, rows_hwc.shape[0], self.W), r.dtype)
        planes = r.plan.unit_planes(rows_hwc)
        r.stretch.from_unit(planes, self.colour, out=[out[b] for b in self.colour], clip_unit=True)
        if r.may_have_invalid or self.clipped:
            rows = rad.nearest_index(self.h, self.H, y0, rows_hwc.shape[0])
            lo, hi = int(rows.min()), int(rows.max()) + 1
            data, valid = r.read(lo, 0, hi - lo, self.w)
            ri, ci = rows - lo, self.cols
            for k, b in enumerate(self.colour):
                if b in self.clipped:
                    self._add_excess(out[b], planes[k], b, data[b], None if valid is None else valid[b], ri, ci)
        if r.may_have_invalid:
            up_valid = rad.upsample_nearest(valid, ri, ci)
            for b in self.colour:
                rad.restore_nodata(out[b], up_valid[b], r.nodata, r.dtype)
            for b in self.alpha:
                out[b] = rad.upsample_nearest(data[b], ri, ci)
            if r.use_dataset_mask:
                dmask = r.dataset_mask(lo, 0, hi - lo, self.w)
                mask_out = rad.upsample_nearest(dmask, ri, ci).astype(np.uint8)
        self.writer.push(y0, out, mask_out)

    def _add_excess(self, out_b, plane, b, data_b, valid_b, ri, ci) -> None:
        """Put back on output rows ``out_b`` what the stretch clipped off source band ``b`` (the
        brightest and darkest 0.05 %: a ship on water, a sunlit roof), nearest-neighbour upsampled as
        the mask is: such a pixel keeps its value instead of becoming the stretch's end.  Only the
        output rows and columns that lie on such pixels are recomputed (they are few)."""
        e = self.reader.stretch.excess(data_b, b, valid_b)
        if e is None:
            return
        ys, xs = np.nonzero(e)
        R = np.flatnonzero(np.isin(ri, ys))
        C = np.flatnonzero(np.isin(ci, xs))
        at = np.ix_(R, C)
        e_up = e[np.ix_(ri[R], ci[C])]
        val = self.reader.stretch.from_unit([plane[at]], [b], clip_unit=True, add=[e_up])[0]
        out_b[at] = np.where(e_up != 0, val, out_b[at])


class ArrayWriter:
    """Collects the sink's rows into one ``(bands, H, W)`` array (and mask), for :func:`upscale_window`.

    ``on_rows(y0, rows)``, if given, is called after each push with the finished rows
    ``(bands, n, W)`` in the source dtype and units, nodata restored (progressive display).
    """

    def __init__(self, count: int, shape: tuple[int, int], dtype, on_rows=None):
        self.data = np.empty((count, *shape), dtype)
        self.mask: np.ndarray | None = None
        self.rows = 0
        self.on_rows = on_rows

    def push(self, y0: int, rows: np.ndarray, mask: np.ndarray | None = None) -> None:
        n = rows.shape[1]
        self.data[:, y0 : y0 + n] = rows
        if mask is not None:
            if self.mask is None:
                self.mask = np.full(self.data.shape[1:], 255, np.uint8)
            self.mask[y0 : y0 + n] = mask
        self.rows = max(self.rows, y0 + n)
        if self.on_rows is not None:
            self.on_rows(y0, self.data[:, y0 : y0 + n])


def _window(y0, x0, h, w):
    from rasterio.windows import Window

    return Window(x0, y0, w, h)
