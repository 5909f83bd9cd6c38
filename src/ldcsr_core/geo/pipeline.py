"""Super-resolve a georeferenced raster file, streaming by tiles: read → radiometry → model → write.

:func:`upscale_raster` is the file-level counterpart of :func:`ldcsr_core.upscale`. It plans tiles
with the engine (:func:`ldcsr_core.tiling.plan_tiles`), reads each tile's window (all bands,
validity, stretch, nodata fill), runs every band triplet through
:func:`~ldcsr_core.tiling.process_tile`, blends tiles in the engine's ``RowMerger`` and hands
finished rows to a sink that maps them back to the original units and dtype, restores the
upsampled mask and writes whole block rows of a GeoTIFF (:mod:`ldcsr_core.geo.raster_io`). Memory is one
tile row of the output plus the model, whatever the scene size.

Tiles can run in this process (:class:`LocalRunner`) or as tasks on a Dask cluster
(:class:`ldcsr_core.geo.distributed.DaskRunner`); both feed the same merger in plan order, and as the
engine keys noise to global latent position, the same seed gives the same file either way.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import raster_io as rio_io
from . import radiometry as rad
from ..errors import InputError
from ..progress import ProgressCallback
from ..rules import check_mode, output_shape

__all__ = [
    "RasterResult",
    "LocalRunner",
    "SceneReader",
    "upscale_raster",
    "infer_tile",
    "plan_output",
    "provenance_tags",
    "is_complete_output",
    "software_version",
]

log = logging.getLogger(__name__)

BandSpec = "Sequence[int] | str | None"

# Rows converted per sink step: bounds the float temporaries for very wide outputs.
_SINK_PIXELS = 2_000_000


def software_version() -> str:
    try:
        from importlib.metadata import version

        return f"napari-ldcsr {version('napari-ldcsr')}"
    except Exception:
        return "napari-ldcsr (unknown version)"


# ---------------------------------------------------------------------------------------------
# Engine adapters: the contract names windows (y0, x0, h, w); accept the common spellings.
# ---------------------------------------------------------------------------------------------


def window_tuple(win) -> tuple[int, int, int, int]:
    """``(y0, x0, h, w)`` of an engine window (tuple, dataclass or rasterio ``Window``)."""
    if hasattr(win, "y0"):
        return int(win.y0), int(win.x0), int(win.h), int(win.w)
    if hasattr(win, "row_off"):
        return int(win.row_off), int(win.col_off), int(win.height), int(win.width)
    y0, x0, h, w = win
    return int(y0), int(x0), int(h), int(w)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class SceneReader:
    """Reads windows of a source raster as model input: all bands → stretch → fill → triplets.

    The stretch and fill values are fitted once, on a decimated read of the whole scene.
    """

    def __init__(self, src, bands: BandSpec = None, stretch: str = "auto"):
        self.src = src
        self.info = rio_io.raster_info(src)
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

    def read(self, y0: int, x0: int, h: int, w: int, *, strip: bool = False):
        """Raw ``(bands, h, w)`` data and validity of a window.

        With ``strip=True`` the full-width strip of rows ``y0..y0+h`` is read once and kept, so
        the tiles of one plan row (which share their rows) decompress each block once instead of
        once per tile.
        """
        from rasterio.windows import Window

        if strip:
            if self._strip_key != (y0, h):
                self._strip = None  # free the old strip before reading the next one
                self._strip_key = None
                self._strip = self.read(y0, 0, h, self.src.width)
                self._strip_key = (y0, h)
            data, valid = self._strip
            return data[:, :, x0 : x0 + w], None if valid is None else valid[:, :, x0 : x0 + w]
        win = Window(x0, y0, w, h)
        data = self.src.read(window=win)
        dmask = self.src.dataset_mask(window=win) if self.use_dataset_mask else None
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


def make_noise(model, mode: str, seed: int):
    """A shared latent-noise source for a run (a cache; results are the same without it)."""
    if mode != "diffusion":
        return None
    from ..tiling import LatentNoise

    return LatentNoise(seed, model.config.diffusion.embed_dim)


def infer_tile(model, arr: np.ndarray, tile, plan, *, mode: str, seed: int, noise=None
               ) -> np.ndarray:
    """Run every triplet of ``arr`` ``(h, w, 3·g)`` through the engine; ``(H, W, 3·g)`` float32."""
    from ..tiling import process_tile

    kw = {"noise": noise} if noise is not None else {}
    outs = []
    for g in range(arr.shape[-1] // 3):
        part = np.ascontiguousarray(arr[..., 3 * g : 3 * g + 3])
        outs.append(np.asarray(process_tile(model, part, tile, plan, mode=mode, seed=seed, **kw),
                               dtype=np.float32))
    return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)


class LocalRunner:
    """Runs tiles in this process, one after another."""

    def __init__(self, model):
        self.model = model

    def map(self, jobs: Iterable[tuple[Any, np.ndarray | None]], plan, *, mode: str, seed: int
            ) -> Iterator[tuple[Any, np.ndarray | None]]:
        noise = make_noise(self.model, mode, seed)
        for tile, arr in jobs:
            yield tile, (None if arr is None else infer_tile(self.model, arr, tile, plan,
                                                             mode=mode, seed=seed, noise=noise))

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class RasterSink:
    """The ``RowMerger`` sink: float rows → original units/dtype, mask restored → block writer."""

    def __init__(self, reader: SceneReader, writer: rio_io.BlockRowWriter, out_shape):
        self.reader = reader
        self.writer = writer
        self.H, self.W = out_shape
        self.h, self.w = reader.src.height, reader.src.width
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
        n = rows_hwc.shape[0]
        unit = r.plan.scatter(rows_hwc)  # (colour bands, n, W) float32
        vals = r.stretch.from_unit(unit, self.colour)
        out = np.empty((r.src.count, n, self.W), r.dtype)
        out[self.colour] = vals
        mask_out = None
        if r.may_have_invalid:
            rows = rad.nearest_index(self.h, self.H, y0, n)
            lo, hi = int(rows.min()), int(rows.max()) + 1
            data, valid = r.read(lo, 0, hi - lo, self.w)
            ri, ci = rows - lo, self.cols
            up_valid = rad.upsample_nearest(valid, ri, ci)
            for k, b in enumerate(self.colour):
                rad.restore_nodata(out[b], up_valid[b], r.nodata, r.dtype)
            for b in self.alpha:
                out[b] = rad.upsample_nearest(data[b], ri, ci)
            if r.use_dataset_mask:
                dmask = r.src.dataset_mask(window=_window(lo, 0, hi - lo, self.w))
                mask_out = rad.upsample_nearest(dmask, ri, ci).astype(np.uint8)
        self.writer.push(y0, out, mask_out)


def _window(y0, x0, h, w):
    from rasterio.windows import Window

    return Window(x0, y0, w, h)


# ---------------------------------------------------------------------------------------------
# The file-level entry point
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

    @property
    def megapixels_per_s(self) -> float:
        return self.out_shape[0] * self.out_shape[1] / 1e6 / max(self.seconds, 1e-9)


def plan_output(info: rio_io.RasterInfo, *, scale=None, target_resolution=None, out_shape=None
                ) -> tuple[tuple[int, int], tuple[float, float]]:
    """Output shape and exact per-axis scale ``(H/h, W/w)`` from exactly one request."""
    given = [x is not None for x in (scale, target_resolution, out_shape)]
    if sum(given) != 1:
        raise InputError("give exactly one of scale, target_resolution or out_shape")
    h, w = info.height, info.width
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
        "TIFFTAG_SOFTWARE": software_version(),
    }
    if tile is not None:
        tags["LDCSR_TILE"] = str(tile)
    if reader is not None:
        tags["LDCSR_BANDS"] = json.dumps([[b + 1 for b in g] for g in reader.plan.groups])
        tags["LDCSR_STRETCH"] = json.dumps(reader.stretch.to_dict())
    return tags


def is_complete_output(dst: str | Path, *, out_shape, model, mode: str, seed: int) -> bool:
    """Whether ``dst`` is a finished output of this very request (same size, weights, mode, seed).

    Outputs are renamed into place only when complete, so this is what a resumed batch skips.
    """
    import rasterio

    p = Path(dst)
    if not p.is_file():
        return False
    try:
        with rasterio.open(p) as ds:
            t = ds.tags()
            return (
                (ds.height, ds.width) == tuple(out_shape)
                and t.get("LDCSR_NOTICE") == rio_io.AI_NOTICE
                and t.get("LDCSR_WEIGHTS_SHA256")
                == str(getattr(model, "weights_sha256", None) or "unknown")
                and t.get("LDCSR_MODE") == mode
                and t.get("LDCSR_SEED") == str(int(seed))
            )
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
    mode: str = "diffusion",
    seed: int = 0,
    tile: int | None = None,
    bands: BandSpec = None,
    stretch: str = "auto",
    overwrite: bool = False,
    skip_complete: bool = False,
    runner=None,
    callback: ProgressCallback | None = None,
    block: int = 512,
    compress: str = "deflate",
    gdal_cache_mb: int = 256,
) -> RasterResult:
    """Super-resolve one raster file into a tiled, compressed, georeferenced GeoTIFF.

    Parameters
    ----------
    src_path, dst_path : input raster (anything rasterio reads) and output GeoTIFF path. The input
        is opened read-only; the output is written to a temporary file in its folder and renamed
        into place when complete.
    model : a loaded engine model (:func:`ldcsr_core.load_model`).
    scale, target_resolution, out_shape : exactly one. ``scale`` is ``s`` or ``(sy, sx)``;
        ``target_resolution`` is metres per pixel, ``t`` or ``(tx, ty)`` (projected CRS only);
        ``out_shape`` is ``(H, W)``.
    mode, seed, tile : passed to the engine (``"diffusion"`` or ``"fast"``; tile side in input px).
    bands : 1-based band numbers of the model/display triplet, e.g. ``"3,2,1"``.
    stretch : ``"auto"``, ``"percentile"`` or ``"dtype"`` (see :func:`radiometry.compute_stretch`).
    overwrite : replace an existing output. Without it an existing output is an error, unless
        ``skip_complete`` and it is a complete output of the same request (then it is skipped).
    runner : where tiles run: :class:`LocalRunner` (default) or a ``DaskRunner``.
    block, compress : output block side and compression. gdal_cache_mb : GDAL block cache size.
    callback : ``callback(TileProgress)`` before the first tile and after each one; raising
        :class:`~ldcsr_core.Cancelled` in it stops the run and leaves no output behind.

    Returns
    -------
    RasterResult
    """
    src_path, dst_path = Path(src_path), Path(dst_path)
    if rio_io.same_file(src_path, dst_path):
        raise InputError(f"output path is the input file: {dst_path}")
    check_mode(mode)
    if not dst_path.parent.is_dir():
        raise InputError(f"output folder does not exist: {dst_path.parent}")
    import rasterio

    from ..tileplan import plan_tiles
    from ..tiling import run_plan

    t0 = time.perf_counter()
    # A bounded GDAL block cache (its default is 5 % of RAM) keeps peak memory flat.
    with rasterio.Env(GDAL_CACHEMAX=int(gdal_cache_mb), GDAL_TIFF_INTERNAL_MASK=True), \
            rio_io.open_raster(src_path) as src:
        info = rio_io.raster_info(src)
        shape, exact = plan_output(info, scale=scale, target_resolution=target_resolution,
                                   out_shape=out_shape)
        result = RasterResult(str(src_path), str(dst_path), (info.height, info.width), shape, exact)
        if dst_path.exists() and not overwrite:
            if skip_complete and is_complete_output(dst_path, out_shape=shape, model=model,
                                                    mode=mode, seed=seed):
                result.status = "skipped"
                return result
            raise InputError(f"output exists: {dst_path} (use --overwrite to replace it)")

        reader = SceneReader(src, bands, stretch)
        plan = plan_tiles((info.height, info.width), shape, tile)
        tiles = list(plan.tiles)
        total = len(tiles)
        result.tiles = total
        request = {"scale": scale, "target_resolution": target_resolution,
                   "out_shape": out_shape}
        request = {k: v for k, v in request.items() if v is not None}
        tags = provenance_tags(model, scale=exact, requested=request, mode=mode, seed=seed,
                               src_name=src_path.name, reader=reader, tile=tile)
        profile = rio_io.output_profile(src, shape, block=block, compress=compress)
        runner = runner or LocalRunner(model)
        channels = reader.plan.channels

        def jobs():
            for t in tiles:
                y0, x0, h, w = window_tuple(t.read)
                arr = reader.tile(y0, x0, h, w)
                if arr is None:
                    result.skipped_tiles += 1
                yield t, arr

        def outputs():
            for t, out in runner.map(jobs(), plan, mode=mode, seed=seed):
                if out is None:  # an all-invalid tile: nodata is restored over it by the sink
                    _, _, oh, ow = window_tuple(t.write)
                    out = np.zeros((oh, ow, channels), np.float32)
                yield t, out

        with rio_io.GeoTiffWriter(dst_path, profile, src=src, tags=tags,
                                  overwrite=overwrite) as gw:
            writer = rio_io.BlockRowWriter(gw)
            run_plan(model, plan, None, RasterSink(reader, writer, shape), mode=mode, seed=seed,
                     callback=callback, channels=channels, tiles=outputs())
            writer.close()
        result.tags = tags
    result.seconds = time.perf_counter() - t0
    return result
