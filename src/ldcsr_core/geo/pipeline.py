"""Super-resolve a georeferenced raster, streaming by tiles: read → radiometry → model → write.

One implementation serves every front end (CLI, napari plugin, QGIS provider, Dask):

* :func:`upscale_raster` - a raster file in, a tiled, compressed, georeferenced GeoTIFF out
  (atomic: written to a hidden part file and renamed into place when complete);
* :func:`upscale_window` - an open dataset (a file, or a NumPy layer wrapped by
  :func:`~ldcsr_core.geo.raster_io.dataset_from_array`), or a window of it, in; a
  :class:`~ldcsr_core.geo.raster_io.GeoArray` out.

Both plan tiles with the engine (:func:`ldcsr_core.tiling.plan_for_model`, as ``upscale`` does; the
bicubic baseline uses :func:`ldcsr_core.tileplan.plan_tiles`), read each tile's window
with one :class:`SceneReader` (all bands, validity, a stretch fitted once on the *whole* scene,
nodata fill, band triplets), run the triplets through :func:`~ldcsr_core.tiling.process_tile` in
the engine's one tile loop (:func:`~ldcsr_core.tiling.run_plan`) and hand finished rows to one
:class:`RasterSink` (original units and dtype, upsampled mask restored), which pushes them to a
GeoTIFF block writer or to an array: the same input and options give the same pixels and the
same georeferencing either way. Memory is one tile row of the output plus the model (plus the
result array for :func:`upscale_window`).

Tiles can run in this process (:class:`LocalRunner`) or as tasks on a Dask cluster
(:class:`ldcsr_core.geo.distributed.DaskRunner`); both feed the same merger in plan order, and as the
engine keys noise to global latent position, the same seed gives the same file either way.
Progress and cancel use the one protocol of :mod:`ldcsr_core.progress`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .. import threads
from . import geotiff_writer as gw_mod
from . import raster_io as rio_io
from . import radiometry as rad
from ..errors import InputError, OutputExistsError
from ..progress import ProgressCallback
from ..rules import check_mode, check_samples, output_shape

__all__ = [
    "UpscaleOptions",
    "OutputOptions",
    "RasterResult",
    "LocalRunner",
    "SceneReader",
    "upscale_raster",
    "upscale_window",
    "bicubic_window",
    "ArrayWriter",
    "RasterSink",
    "infer_tile",
    "plan_output",
    "provenance_tags",
    "is_complete_output",
    "request_fingerprint",
    "has_provenance",
    "software_version",
]

log = logging.getLogger(__name__)

BandSpec = "Sequence[int] | str | None"

# Rows converted per sink step: bounds the float temporaries for very wide outputs.
_SINK_PIXELS = 2_000_000


@dataclass(frozen=True)
class UpscaleOptions:
    """How to super-resolve: engine ``mode`` and ``seed``, ``tile`` side in input pixels
    (``None``: the engine's default), ``bands`` (1-based model triplet, e.g. ``"4,3,2"``; ``None``:
    the first three colour bands) and ``stretch`` (``"auto"``, ``"percentile"`` or ``"dtype"``,
    see :func:`radiometry.compute_stretch`). ``samples`` > 1 (diffusion only): the output is the
    mean of that many samples (seeds ``seed, seed+1, …``) and their per-pixel spread is written too
    (:mod:`ldcsr_core.geo.spread`)."""

    mode: str = "diffusion"
    seed: int = 0
    tile: int | None = None
    bands: Any = None
    stretch: str = "auto"
    samples: int = 1

    def __post_init__(self):
        check_mode(self.mode)
        check_samples(self.samples, self.mode)
        if self.bands is not None:
            object.__setattr__(self, "bands", rad.parse_bands(self.bands))


@dataclass(frozen=True)
class OutputOptions:
    """How to write a file: ``overwrite`` an existing output, or ``skip_complete`` (leave an
    existing complete output of the same request alone); ``block`` side and ``compress`` of the
    GeoTIFF; ``gdal_cache_mb``, GDAL's block cache during the run."""

    overwrite: bool = False
    skip_complete: bool = False
    block: int = 512
    compress: str = "deflate"
    gdal_cache_mb: int = 256


def software_version() -> str:
    try:
        from importlib.metadata import version

        return f"napari-ldcsr {version('napari-ldcsr')}"
    except Exception:
        return "napari-ldcsr (unknown version)"


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class SceneReader:
    """Reads windows of a source raster as model input: all bands → stretch → fill → triplets.

    The stretch and fill values are fitted once, on a decimated read of the whole scene, even
    when only ``window`` ``(row_off, col_off, height, width)`` is super-resolved; coordinates
    given to :meth:`read` and :meth:`tile` are relative to that window.
    """

    def __init__(self, src, bands: BandSpec = None, stretch: str = "auto", window=None):
        self.src = src
        self.info = rio_io.raster_info(src)
        self.oy, self.ox, self.height, self.width = rio_io.check_window(src, window)
        self.plan = rad.plan_bands(src.count, self.info.colorinterp, bands)
        self.nodata = src.nodata
        self.dtype = np.dtype(src.dtypes[0])
        self.use_dataset_mask = self.info.has_dataset_mask
        self._strip_key: tuple[int, int] | None = None
        self._strip = None
        sample, dmask, _ = rio_io.decimated_read(src)
        valid = self._valid(sample, dmask)
        self.stretch = rad.compute_stretch(sample, valid, self.dtype, method=stretch)
        unit = self.stretch.to_unit(sample)
        fills = []
        for b in range(src.count):
            v = unit[b][valid[b] & np.isfinite(unit[b])]
            fills.append(float(np.median(v)) if v.size else 0.5)
        self.fill = tuple(fills)
        self.valid_fraction = float(valid[list(self.plan.colour)].mean()) if valid.size else 0.0

    @property
    def may_have_invalid(self) -> bool:
        """Whether any pixel can be invalid (nodata, NaN, alpha, mask); if not, masks are skipped."""
        return (
            self.nodata is not None or self.dtype.kind == "f" or bool(self.plan.alpha)
            or self.use_dataset_mask
        )

    def _valid(self, data: np.ndarray, dmask: np.ndarray | None) -> np.ndarray:
        return rad.valid_mask(data, self.nodata, alpha=self.plan.alpha, dataset_mask=dmask)

    def dataset_mask(self, y0: int, x0: int, h: int, w: int) -> np.ndarray:
        with rio_io.read_errors(self.src):
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
        with rio_io.read_errors(self.src):
            data = self.src.read(window=_window(self.oy + y0, self.ox + x0, h, w))
        dmask = self.dataset_mask(y0, x0, h, w) if self.use_dataset_mask else None
        if self.may_have_invalid:
            valid = self._valid(data, dmask)
        else:
            valid = None
        return data, valid

    def tile(self, y0: int, x0: int, h: int, w: int) -> np.ndarray | None:
        """Model input ``(h, w, 3·groups)`` float32 in ``[0, 1]``, or ``None`` if all invalid."""
        data, valid = self.read(y0, x0, h, w, strip=True)
        colour = list(self.plan.colour)
        if valid is not None and not valid[colour].any():
            return None
        unit = self.stretch.to_unit(data)
        if valid is not None:
            rad.fill_invalid(unit, valid, self.fill)
        return np.ascontiguousarray(self.plan.gather(unit), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Running tiles
# ---------------------------------------------------------------------------------------------


def infer_tile(model, arr: np.ndarray, tile, plan, *, mode: str, seed: int, processor=None) -> np.ndarray:
    """Run every triplet of ``arr`` ``(h, w, 3·g)`` through the engine; ``(H, W, 3·g)`` float32.
    ``processor``: the run's :class:`~ldcsr_core.tiling.TileProcessor` (out-of-memory fallback
    that persists across tiles); a new one is made if None."""
    from ..tiling import TileProcessor

    if processor is None:
        processor = TileProcessor(model, plan, mode=mode, seed=seed)
    outs = []
    for g in range(arr.shape[-1] // 3):
        part = np.ascontiguousarray(arr[..., 3 * g : 3 * g + 3])
        outs.append(np.asarray(processor(part, tile), dtype=np.float32))
    return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)


class LocalRunner:
    """Runs tiles in this process, one after another."""

    def __init__(self, model):
        self.model = model

    def map(self, jobs: Iterable[tuple[Any, np.ndarray | None]], plan, *, mode: str, seed: int
            ) -> Iterator[tuple[Any, np.ndarray | None]]:
        from ..tiling import TileProcessor

        processor = TileProcessor(self.model, plan, mode=mode, seed=seed)  # one per run
        for tile, arr in jobs:
            yield tile, (None if arr is None else infer_tile(self.model, arr, tile, plan, mode=mode, seed=seed,
                                                             processor=processor))

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class RasterSink:
    """The ``RowMerger`` sink: float rows → original units/dtype, mask restored → a row writer.

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

    def __call__(self, y0: int, rows_hwc) -> None:
        rows_hwc = np.asarray(rows_hwc)
        n = rows_hwc.shape[0]
        step = max(1, _SINK_PIXELS // max(1, self.W))
        for k in range(0, n, step):
            self._rows(y0 + k, rows_hwc[k : k + step])

    def _rows(self, y0: int, rows_hwc: np.ndarray) -> None:
        r = self.reader
        # (colour bands, n, W) in [0, 1]: clipped as ldcsr_core.upscale clips (one rule for both)
        unit = np.clip(r.plan.scatter(rows_hwc), 0.0, 1.0)
        vals = r.stretch.from_unit(unit, self.colour)
        out = np.empty((r.src.count, rows_hwc.shape[0], self.W), r.dtype)
        out[self.colour] = vals
        mask_out = None
        if r.may_have_invalid:
            rows = rad.nearest_index(self.h, self.H, y0, rows_hwc.shape[0])
            lo, hi = int(rows.min()), int(rows.max()) + 1
            data, valid = r.read(lo, 0, hi - lo, self.w)
            ri, ci = rows - lo, self.cols
            up_valid = rad.upsample_nearest(valid, ri, ci)
            for b in self.colour:
                rad.restore_nodata(out[b], up_valid[b], r.nodata, r.dtype)
            for b in self.alpha:
                out[b] = rad.upsample_nearest(data[b], ri, ci)
            if r.use_dataset_mask:
                dmask = r.dataset_mask(lo, 0, hi - lo, self.w)
                mask_out = rad.upsample_nearest(dmask, ri, ci).astype(np.uint8)
        self.writer.push(y0, out, mask_out)


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


# ---------------------------------------------------------------------------------------------
# Planning and provenance
# ---------------------------------------------------------------------------------------------


@dataclass
class RasterResult:
    """What :func:`upscale_raster` did."""

    src: str
    dst: str
    in_shape: tuple[int, int]
    out_shape: tuple[int, int]
    scale: tuple[float, float]
    status: str = "written"  # "written" | "skipped"
    tiles: int = 0
    skipped_tiles: int = 0
    seconds: float = 0.0
    tags: dict = field(default_factory=dict)
    stale_parts_removed: int = 0
    spread: str | None = None  # the spread GeoTIFF of a samples > 1 run

    @property
    def megapixels_per_s(self) -> float:
        return self.out_shape[0] * self.out_shape[1] / 1e6 / max(self.seconds, 1e-9)


def plan_output(info: rio_io.RasterInfo, *, scale=None, target_resolution=None, out_shape=None,
                in_shape: tuple[int, int] | None = None
                ) -> tuple[tuple[int, int], tuple[float, float]]:
    """Output shape and exact per-axis scale ``(H/h, W/w)`` from exactly one request.

    ``in_shape`` is the size of the part being super-resolved (default: the whole raster).
    ``target_resolution`` is in the raster CRS's units (metres for the usual projected CRS).
    """
    given = [x is not None for x in (scale, target_resolution, out_shape)]
    if sum(given) != 1:
        raise InputError("give exactly one of scale, target_resolution or out_shape")
    h, w = in_shape or (info.height, info.width)
    if target_resolution is not None:
        scale = rio_io.scale_for_resolution(info, target_resolution)
    H, W = output_shape((h, w), scale=scale, out_shape=out_shape)
    return (H, W), (H / h, W / w)


def provenance_tags(model, *, scale, requested, mode: str, seed: int, src_name: str,
                    reader: SceneReader | None = None, tile=None) -> dict[str, str]:
    """Provenance written into every output (GDAL metadata, default domain)."""
    name = getattr(model, "name", None) or "unnamed"
    ver = getattr(model, "version", None)
    tags = {
        "LDCSR_NOTICE": rio_io.AI_NOTICE,
        "LDCSR_MODEL": f"{name} {ver}" if ver else str(name),
        "LDCSR_WEIGHTS_SHA256": str(getattr(model, "weights_sha256", None) or "unknown"),
        "LDCSR_SCALE_Y": repr(float(scale[0])),
        "LDCSR_SCALE_X": repr(float(scale[1])),
        "LDCSR_REQUEST": str(requested),
        "LDCSR_MODE": mode,
        "LDCSR_SEED": str(int(seed)),
        "LDCSR_SOFTWARE": software_version(),
        "LDCSR_SOURCE": src_name,
        "LDCSR_THREADS": threads.provenance_value(),  # auto:N or N (see ldcsr_core.threads)
        "TIFFTAG_SOFTWARE": software_version(),
    }
    if tile is not None:
        tags["LDCSR_TILE"] = str(tile)
    if reader is not None:
        tags["LDCSR_BANDS"] = json.dumps([[b + 1 for b in g] for g in reader.plan.groups])
        tags["LDCSR_STRETCH"] = json.dumps(reader.stretch.to_dict())
        if (reader.oy, reader.ox, reader.height, reader.width) != (0, 0, reader.src.height,
                                                                    reader.src.width):
            tags["LDCSR_WINDOW"] = json.dumps([reader.oy, reader.ox, reader.height, reader.width])
    return tags


def request_fingerprint(src_path: str | Path, *, model, options: UpscaleOptions, request: dict,
                        out_shape: tuple[int, int]) -> str:
    """SHA-256 of everything that makes a file output what it is: the source (resolved path, size,
    modification time), the weights, and every option that changes pixels (mode, seed, samples,
    tile, bands, stretch, the requested scale or size). Written as the ``LDCSR_JOB`` tag; a resumed
    run skips an existing output only when its fingerprint is the same."""
    import hashlib

    p = Path(src_path)
    st = p.stat()
    ident = {
        "source": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
        "weights": str(getattr(model, "weights_sha256", None) or "unknown"),
        "mode": options.mode, "seed": int(options.seed), "samples": int(options.samples),
        "tile": options.tile, "bands": options.bands, "stretch": options.stretch,
        "request": {k: v for k, v in request.items() if v is not None},
        "out_shape": [int(v) for v in out_shape],
    }
    blob = json.dumps(ident, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()


def is_complete_output(dst: str | Path, *, out_shape, job: str) -> bool:
    """Whether ``dst`` is a finished output of this very request: our provenance, the size, and the
    ``LDCSR_JOB`` fingerprint of :func:`request_fingerprint` (source, weights, every option).

    Outputs are renamed into place only when complete, so this is what a resumed batch skips.
    """
    import rasterio

    p = Path(dst)
    if not p.is_file():
        return False
    try:
        with rasterio.open(p) as ds:
            t = ds.tags()
            return ((ds.height, ds.width) == tuple(out_shape)
                    and t.get("LDCSR_NOTICE") == rio_io.AI_NOTICE and t.get("LDCSR_JOB") == job)
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------
# The one implementation behind both entry points
# ---------------------------------------------------------------------------------------------


@dataclass
class _Job:
    """Everything fixed before the first tile: reader, tile plan, output grid, provenance."""

    src: Any
    reader: SceneReader
    plan: Any
    shape: tuple[int, int]
    scale: tuple[float, float]
    transform: Any
    tags: dict
    options: UpscaleOptions
    skipped_tiles: int = 0
    gcps: Any = None  # (GCPs on the output grid, their CRS) of a GCP-georeferenced source

    @property
    def tiles(self) -> int:
        return len(self.plan.tiles)


def _prepare(src, model, request: dict, options: UpscaleOptions, *, window=None,
             src_name: str | None = None) -> _Job:
    from ..tileplan import plan_tiles

    _check_palette(src, src_name)
    info = rio_io.raster_info(src)
    reader = SceneReader(src, options.bands, options.stretch, window=window)
    in_shape = (reader.height, reader.width)
    shape, exact = plan_output(info, in_shape=in_shape, **request)
    if model is None:  # the bicubic baseline: no model, the fixed windows
        plan = plan_tiles(in_shape, shape, options.tile)
    else:  # the model's own windows (memory budget, measured overlap), as ldcsr_core.upscale plans
        from ..tiling import plan_for_model

        plan = plan_for_model(model, in_shape, shape, options.tile)
    georef = rio_io.georeferencing(src)
    gcps = None
    if georef == "transform":
        win_transform = src.window_transform(_window(reader.oy, reader.ox, *in_shape))
        transform = rio_io.scaled_transform(win_transform, in_shape, shape)
    else:  # no geotransform in, none out (not a made-up one on the pixel grid)
        from affine import Affine

        transform = Affine.identity()
        if georef == "gcps":
            g, gcrs = src.gcps
            gcps = (rio_io.scale_gcps(g, exact, (reader.oy, reader.ox)), gcrs)
    requested = {k: v for k, v in request.items() if v is not None}
    tags = provenance_tags(model, scale=exact, requested=requested, mode=options.mode,
                           seed=options.seed, src_name=src_name or Path(str(src.name)).name,
                           reader=reader, tile=options.tile)
    if options.samples > 1:
        tags["LDCSR_SAMPLES"] = str(options.samples)
    expanded = getattr(src, "palette_expanded", None)
    if expanded:
        tags["LDCSR_PALETTE_EXPANDED"] = expanded
        log.warning("%s has a colour table: super-resolving its colours expanded to %s (the output "
                    "is an %s image; its class indices are not kept)",
                    src_name or Path(str(src.name)).name, expanded, expanded)
    return _Job(src, reader, plan, shape, exact, transform, tags, options, gcps=gcps)


def _check_palette(src, name) -> None:
    """:class:`InputError` for a dataset of colour-table indices that was not opened expanded
    (``open_raster`` expands them): indices must never be interpolated."""
    if getattr(src, "palette_expanded", None):
        return
    name = name or Path(str(src.name)).name
    if rio_io.palette_expansion(src, name) is not None:
        raise InputError(
            f"{name} is a band of class indices with a colour table, which cannot be "
            "super-resolved as brightness; open it with ldcsr_core.geo.raster_io.open_raster (it "
            "expands the table to RGB) or expand it first: gdal_translate -expand rgb in.tif out.tif")


def _execute(job: _Job, model, writer, *, runner=None, callback: ProgressCallback | None = None,
             spread_writer=None) -> None:
    """Run every tile of ``job`` through the engine's tile loop into ``writer`` (via the sink);
    with ``samples`` > 1, the mean into ``writer`` and the spread into ``spread_writer``."""
    from ..tiling import run_plan

    opts, reader = job.options, job.reader
    runner = runner or LocalRunner(model)
    channels = reader.plan.channels

    def jobs():
        for t in job.plan.tiles:
            arr = reader.tile(*t.read)
            if arr is None:
                job.skipped_tiles += 1
            yield t, arr

    def outputs():
        for t, out in runner.map(jobs(), job.plan, mode=opts.mode, seed=opts.seed):
            if out is None:  # an all-invalid tile: nodata is restored over it by the sink
                _, _, oh, ow = t.write
                out = np.zeros((oh, ow, channels), np.float32)
            yield t, out

    sink = RasterSink(reader, writer, job.shape)
    if opts.samples > 1:  # uncertainty map: K samples per tile, mean and spread (geo.spread)
        from .spread import sampled

        runner, sink, channels = sampled(runner, sink, spread_writer, job, opts.samples)
    run_plan(model, job.plan, None, sink, mode=opts.mode,
             seed=opts.seed, callback=callback, channels=channels, tiles=outputs())


def _request(scale, target_resolution, out_shape) -> dict:
    return {"scale": scale, "target_resolution": target_resolution, "out_shape": out_shape}


def upscale_window(
    src,
    *,
    model,
    scale=None,
    target_resolution=None,
    out_shape=None,
    window=None,
    options: UpscaleOptions | None = None,
    callback: ProgressCallback | None = None,
    runner=None,
    source_name: str | None = None,
    on_rows: Callable[[int, np.ndarray], None] | None = None,
) -> rio_io.GeoArray:
    """Super-resolve an open dataset, or a window of it, into a :class:`~raster_io.GeoArray`.

    Parameters
    ----------
    src : an open rasterio dataset (a file, or a NumPy array wrapped by
        :func:`~ldcsr_core.geo.raster_io.dataset_from_array`), or a path.
    model : a loaded engine model (:func:`ldcsr_core.load_model`).
    scale, target_resolution, out_shape : exactly one; as in :func:`upscale_raster`
        (``out_shape`` is the output size of the window).
    window : ``(row_off, col_off, height, width)`` of the source to super-resolve (default: all).
        The stretch and fill values are fitted on the whole scene either way, so a window gets
        the radiometry of a whole-scene run (tiles and noise are laid out on the window).
    options : :class:`UpscaleOptions` (mode, seed, tile, bands, stretch).
    callback : the progress/cancel protocol of :mod:`ldcsr_core.progress`.
    runner : :class:`LocalRunner` (default) or a ``DaskRunner``.
    source_name : the ``LDCSR_SOURCE`` tag (default: the file name; ``"array"`` in memory).
    on_rows : ``on_rows(y0, rows)`` with each block of finished output rows ``(bands, n, W)``,
        in order, in the source dtype and units with nodata restored (exactly the final pixels):
        for progressive display. The rows are a view into the result; copy to keep them.

    Returns
    -------
    GeoArray
        ``data`` ``(bands, H, W)`` in the source dtype with nodata restored, the output
        ``transform`` (the window's bounds, finer pixels), ``crs``, ``nodata``, ``tags`` (source
        tags + ``LDCSR_*`` provenance), colour interpretation, band names, and ``mask`` if the
        source had a per-dataset mask.
    """
    if isinstance(src, (str, os.PathLike)):
        with rio_io.open_raster(src) as ds:
            return upscale_window(ds, model=model, scale=scale,
                                  target_resolution=target_resolution, out_shape=out_shape,
                                  window=window, options=options, callback=callback,
                                  runner=runner, source_name=source_name, on_rows=on_rows)
    options = options or UpscaleOptions()
    rio_io.check_dataset(src)
    job = _prepare(src, model, _request(scale, target_resolution, out_shape), options,
                   window=window, src_name=_source_name(src, source_name))
    writer = ArrayWriter(src.count, job.shape, job.reader.dtype, on_rows)
    _execute(job, model, writer, runner=runner, callback=callback)
    return _geo_array(src, job, writer)


def _source_name(src, given: str | None) -> str:
    if given is not None:
        return given
    name = str(src.name)
    return "array" if name.startswith("/vsimem/") else Path(name).name


def _geo_array(src, job: _Job, writer: ArrayWriter) -> rio_io.GeoArray:
    src_tags = {k: v for k, v in src.tags().items() if not k.startswith(rio_io.PROVENANCE_PREFIX)}
    return rio_io.GeoArray(
        writer.data, job.transform, src.crs, src.nodata, {**src_tags, **job.tags},
        tuple(c.name for c in src.colorinterp), tuple(src.descriptions), writer.mask, job.gcps)


BICUBIC_NOTICE = ("Bicubic interpolation (PyTorch, align_corners=False) of the stretched bands: "
                  "a baseline for comparison, no model involved.")


def bicubic_window(
    src,
    *,
    scale=None,
    target_resolution=None,
    out_shape=None,
    window=None,
    options: UpscaleOptions | None = None,
    source_name: str | None = None,
    on_rows: Callable[[int, np.ndarray], None] | None = None,
) -> rio_io.GeoArray:
    """The bicubic baseline of :func:`upscale_window`: same reader, stretch, band triplets,
    nodata handling and sink, with a plain bicubic resize instead of the model.

    Arguments as in :func:`upscale_window` (``options.mode``, ``seed`` and ``tile`` are unused).
    Tags carry ``LDCSR_MODEL = "bicubic"`` and no AI notice. The window is resized in one piece.
    """
    if isinstance(src, (str, os.PathLike)):
        with rio_io.open_raster(src) as ds:
            return bicubic_window(ds, scale=scale, target_resolution=target_resolution,
                                  out_shape=out_shape, window=window, options=options,
                                  source_name=source_name, on_rows=on_rows)
    options = options or UpscaleOptions()
    rio_io.check_dataset(src)
    job = _prepare(src, None, _request(scale, target_resolution, out_shape), options,
                   window=window, src_name=_source_name(src, source_name))
    for k in ("LDCSR_NOTICE", "LDCSR_WEIGHTS_SHA256", "LDCSR_SEED", "LDCSR_TILE"):
        job.tags.pop(k, None)
    job.tags.update(LDCSR_MODEL="bicubic", LDCSR_MODE="bicubic", LDCSR_METHOD=BICUBIC_NOTICE)
    reader = job.reader
    writer = ArrayWriter(src.count, job.shape, reader.dtype, on_rows)
    arr = reader.tile(0, 0, reader.height, reader.width)
    if arr is None:
        up = np.zeros((*job.shape, reader.plan.channels), np.float32)
    else:
        up = _bicubic_unit(arr, job.shape)
    RasterSink(reader, writer, job.shape)(0, up)
    return _geo_array(src, job, writer)


def _bicubic_unit(unit_hwc: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Bicubic resize (torch, ``align_corners=False``, clamped to ``[0, 1]``) of ``(h, w, c)``."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(unit_hwc, np.float32)).permute(2, 0, 1)[None]
    y = F.interpolate(x, size=tuple(int(v) for v in out_shape), mode="bicubic",
                      align_corners=False)
    return y.clamp_(0.0, 1.0)[0].permute(1, 2, 0).numpy()


def has_provenance(path: str | Path) -> bool:
    """Whether ``path`` is a raster this package wrote (it carries the ``LDCSR_NOTICE`` tag)."""
    try:
        import rasterio

        with rasterio.open(path) as ds:
            return "LDCSR_NOTICE" in ds.tags()
    except Exception:
        return False


def upscale_raster(
    src_path: str | Path,
    dst_path: str | Path,
    *,
    model,
    scale=None,
    target_resolution=None,
    out_shape=None,
    options: UpscaleOptions | None = None,
    output: OutputOptions | None = None,
    runner=None,
    callback: ProgressCallback | None = None,
    spread_path: str | Path | None = None,
) -> RasterResult:
    """Super-resolve one raster file into a tiled, compressed, georeferenced GeoTIFF.

    Parameters
    ----------
    src_path, dst_path : input raster (anything rasterio reads) and output GeoTIFF path. The input
        is opened read-only; the output is written to a hidden part file in its folder and
        renamed into place when complete (part files a killed run left are removed first).
    model : a loaded engine model (:func:`ldcsr_core.load_model`).
    scale, target_resolution, out_shape : exactly one. ``scale`` is ``s`` or ``(sy, sx)``;
        ``target_resolution`` is the output pixel size in the CRS's units (metres), ``t`` or
        ``(tx, ty)`` (projected CRS only); ``out_shape`` is ``(H, W)``.
    options : :class:`UpscaleOptions` (mode, seed, tile, bands, stretch).
    output : :class:`OutputOptions` (overwrite, skip_complete, block, compress, gdal_cache_mb).
        Without ``overwrite`` an existing output is an :class:`~ldcsr_core.errors.OutputExistsError`,
        unless ``skip_complete`` and it is a complete output of the same request (then skipped).
    runner : where tiles run: :class:`LocalRunner` (default) or a ``DaskRunner``.
    callback : ``callback(TileProgress)`` before the first tile and after each one; raising
        :class:`~ldcsr_core.Cancelled` in it stops the run and leaves no output behind.
    spread_path : with ``options.samples`` > 1, where the spread GeoTIFF goes (default
        ``NAME_spread.tif`` next to ``dst_path``; see :mod:`ldcsr_core.geo.spread`). Written
        atomically like the output, on the same grid; the output holds the mean of the samples.

    Returns
    -------
    RasterResult
    """
    options = options or UpscaleOptions()
    output = output or OutputOptions()
    src_path, dst_path = Path(src_path), Path(dst_path)
    if rio_io.same_file(src_path, dst_path):
        raise InputError(f"output path is the input file: {dst_path}")
    if not dst_path.parent.is_dir():
        import errno

        from ..errors import RasterIOError

        raise RasterIOError(errno.ENOENT, f"output folder does not exist: {dst_path.parent}")
    if options.samples > 1:  # the uncertainty map's file (ldcsr_core.geo.spread)
        from .spread import check_spread_path

        spread_path = check_spread_path(src_path, dst_path, spread_path)
    elif spread_path is not None:
        raise InputError("a spread file needs samples > 1 (the spread of one sample is 0)")
    import rasterio

    t0 = time.perf_counter()
    # A bounded GDAL block cache (its default is 5 % of RAM) keeps peak memory flat.
    with rasterio.Env(GDAL_CACHEMAX=int(output.gdal_cache_mb), GDAL_TIFF_INTERNAL_MASK=True), \
            rio_io.open_raster(src_path) as src:
        info = rio_io.raster_info(src)
        request = _request(scale, target_resolution, out_shape)
        shape, exact = plan_output(info, **request)
        result = RasterResult(str(src_path), str(dst_path), (info.height, info.width), shape, exact)
        result.stale_parts_removed = len(rio_io.clear_stale_parts(dst_path))
        fingerprint = request_fingerprint(src_path, model=model, options=options, request=request,
                                          out_shape=shape)
        if dst_path.exists() and not output.overwrite:
            if output.skip_complete and is_complete_output(dst_path, out_shape=shape, job=fingerprint) \
                    and (spread_path is None or is_complete_output(spread_path, out_shape=shape,
                                                                   job=fingerprint)):
                result.status = "skipped"
                result.spread = None if spread_path is None else str(spread_path)
                return result
            why = (" from another request (source, model or options differ)"
                   if has_provenance(dst_path) else "")
            raise OutputExistsError(f"output exists{why}: {dst_path} (use --overwrite to replace it)")
        if spread_path is not None and spread_path.exists() and not output.overwrite:
            raise OutputExistsError(f"output exists: {spread_path} (use --overwrite to replace it)")
        # Before any compute: refuse what cannot fit (the output and its spread file).
        nbytes = gw_mod.output_nbytes(shape, info.count, info.dtype)
        if spread_path is not None:
            nbytes += gw_mod.output_nbytes(shape, info.count, "float32")
        gw_mod.check_free_space(dst_path.parent, nbytes, name=dst_path.name)

        job = _prepare(src, model, request, options, src_name=src_path.name)
        job.tags["LDCSR_JOB"] = fingerprint
        result.tiles = job.tiles
        profile = rio_io.output_profile(src, shape, block=output.block, compress=output.compress)
        spread_cm = contextlib.nullcontext(None)
        if spread_path is not None:
            from .spread import spread_file

            spread_cm = spread_file(spread_path, src, job, output=output)
            result.spread = str(spread_path)
        with rio_io.GeoTiffWriter(dst_path, profile, src=src, tags=job.tags,
                                  overwrite=output.overwrite) as gw, spread_cm as spread_writer:
            writer = rio_io.BlockRowWriter(gw)
            _execute(job, model, writer, runner=runner, callback=callback, spread_writer=spread_writer)
            writer.close()
        result.skipped_tiles = job.skipped_tiles
        result.tags = job.tags
    result.seconds = time.perf_counter() - t0
    return result
