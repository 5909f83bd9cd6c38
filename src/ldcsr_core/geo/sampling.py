"""The uncertainty map of a raster run: K diffusion samples → the mean raster and a spread raster.

With ``UpscaleOptions(samples=K)`` (K > 1) the pipeline runs every tile K times (seeds ``seed …
seed+K-1``, through the same runner, local or Dask: :class:`SampledRunner`), blends them in the
engine's one tile loop as :class:`~ldcsr_core.uncertainty.SampleLayout` lays them out (per-pixel
moments, or the K outputs where windows overlap) and splits the finished rows (:class:`SplitSink`):
the mean goes to the usual sink (source units and dtype, nodata restored), the spread to a
:class:`SpreadSink`.

The spread raster lies exactly on the output grid (same size, transform and CRS): one float32 band
per colour band of the source (alpha bands are masks, not model output, and have no spread), the
standard deviation over the K samples in the **source units** (the unit spread times the band's
stretch span), NaN (the nodata value) where the source is invalid. A band with a GDAL scale (raw ×
scale + offset = physical value) keeps its ``|scale|`` and unit, and no offset, so the spread reads
in physical units as the mean does (:func:`spread_band_values`).
"""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from . import radiometry as rad
from . import raster_io as rio_io
from .georef import carried_domains, carried_tags, write_domains
from ..uncertainty import SPREAD_LIMITS, SampleLayout
from ..rules import check_path
from ..words import path_said

__all__ = ["SampledRunner", "SpreadSink", "SplitSink", "default_spread_path", "spread_path_of", "spread_profile",
           "spread_tags", "spread_domains", "sampled", "check_spread_path", "spread_file", "spread_band_values", "SPREAD_NOTICE",
           "spread_band_names", "spread_mean_name"]


SPREAD_NOTICE = ("Per-pixel spread (standard deviation, source units) of {k} diffusion samples "
                 "(seeds {s0}..{s1}) of the LDCSR output: high where the samples disagree (detail the input "
                 f"does not pin down, invented); {SPREAD_LIMITS}.")


def default_spread_path(dst: str | Path) -> Path:
    """Where ``ldcsr upscale --samples K`` writes the spread of output ``dst``: ``NAME_spread.tif``."""
    dst = Path(dst)
    return dst.with_name(f"{dst.stem}_spread.tif")


def spread_path_of(dst: str | Path, spread_path=None, samples: int = 1) -> Path | None:
    """The spread file a run of ``samples`` writes beside output ``dst``: ``spread_path`` (``--spread-out``), else
    :func:`default_spread_path`; None for one sample (none written)."""
    if samples < 2:
        return None
    return Path(spread_path) if spread_path is not None else default_spread_path(dst)


class SampledRunner:
    """Wraps a tile runner (``LocalRunner``/``DaskRunner``): each tile is run for ``samples`` seeds
    (one ``map`` stream per seed, consumed in lockstep) and yields what ``layout``
    (:class:`~ldcsr_core.uncertainty.SampleLayout`) makes of its K outputs: their moments
    ``(h, w, 2·C)``, or, where the windows overlap, the K outputs side by side. The layout's
    ``picture`` (:meth:`BandPlan.band_pictures`) makes a replicated band's spread the spread of its K
    pictures."""

    def __init__(self, runner, samples: int, layout: SampleLayout):
        self.runner, self.samples, self.layout = runner, int(samples), layout

    def map(self, jobs: Iterable[tuple[Any, np.ndarray | None]], plan, *, mode: str, seed: int
            ) -> Iterator[tuple[Any, np.ndarray | None]]:
        streams = itertools.tee(jobs, self.samples)
        outs = [self.runner.map(st, plan, mode=mode, seed=seed + k) for k, st in enumerate(streams)]
        for items in zip(*outs):
            arrs = [a for _, a in items]
            yield items[0][0], (None if arrs[0] is None else self.layout.tile(arrs))

    def close(self) -> None:
        self.runner.close()


class SpreadSink:
    """Blended variance rows ``(n, W, C)`` → spread ``(colour bands, n, W)`` float32 in source units,
    NaN on invalid pixels → ``writer.push`` (a block writer or an ``ArrayWriter``)."""

    def __init__(self, reader, writer, out_shape):
        self.reader, self.writer = reader, writer
        self.H, self.W = out_shape
        colour = list(reader.plan.colour)
        self.colour = colour
        self.span = np.asarray([reader.stretch.hi[b] - reader.stretch.lo[b] for b in colour],
                               np.float32)[:, None, None]
        self.cols = rad.nearest_index(reader.width, self.W, 0, self.W)

    def __call__(self, y0: int, var_hwc: np.ndarray) -> None:
        r = self.reader
        spread = np.sqrt(np.maximum(r.plan.scatter(var_hwc), 0.0)) * self.span  # (colour, n, W)
        spread = spread.astype(np.float32, copy=False)
        if r.may_have_invalid:
            rows = rad.nearest_index(r.height, self.H, y0, var_hwc.shape[0])
            lo, hi = int(rows.min()), int(rows.max()) + 1
            _, valid = r.read(lo, 0, hi - lo, r.width)
            if valid is not None:
                up = rad.upsample_nearest(valid[self.colour], rows - lo, self.cols)
                spread[~up] = np.nan
        self.writer.push(y0, spread, None)


class SplitSink:
    """Blended rows (``layout``'s channels) → the mean of the K pictures to ``mean_sink``, their
    variance to ``spread_sink``."""

    def __init__(self, mean_sink, spread_sink, layout: SampleLayout):
        self.mean_sink, self.spread_sink, self.layout = mean_sink, spread_sink, layout

    def __call__(self, y0: int, rows: np.ndarray) -> None:
        mean, var = self.layout.rows(rows)
        self.mean_sink(y0, mean)
        self.spread_sink(y0, var)


def sampled(runner, sink, spread_writer, job, samples: int):
    """(runner, sink, channels) of a K-sample run of ``job`` (see :func:`pipeline._execute`)."""
    if spread_writer is None:
        raise ValueError("a run with samples > 1 needs a writer for the spread")
    layout = SampleLayout.of(job.plan, job.reader.plan.channels, samples, job.reader.plan.band_pictures)
    split = SplitSink(sink, SpreadSink(job.reader, spread_writer, job.shape), layout)
    return SampledRunner(runner, samples, layout), split, layout.width


def spread_tags(job, samples: int, of: dict | None = None) -> dict[str, str]:
    """Dataset tags of the spread raster: the scene's, as the mean carries them (it shows the same
    scene on the same grid: :func:`~.georef.carried_tags`), the run's provenance and what the values
    are; ``of``: a spread file's ``LDCSR_SPREAD_OF`` tag, the output it describes. Its domains are the mean's too (:func:`spread_domains`); not the source bands' names, tags,
    offsets or colours, which describe the bands' values, not their spread (:func:`spread_band_values`)."""
    seed = int(job.options.seed)
    return {**carried_tags(job.src.tags(), job.scale), **job.tags,
            "LDCSR_SPREAD": SPREAD_NOTICE.format(k=samples, s0=seed, s1=seed + samples - 1),
            "LDCSR_SAMPLES": str(samples), **(of or {})}


def spread_domains(job) -> dict[str, dict]:
    """The spread raster's metadata in other GDAL domains: the mean's (:func:`~.georef.carried_domains`,
    e.g. ``IMAGERY``: when and by which satellite the scene was taken)."""
    return carried_domains(job.src)


def spread_band_values(src, colour) -> tuple[tuple, tuple, tuple]:
    """``(scales, offsets, units)`` of the spread bands of ``src``'s ``colour`` bands (each ``()``
    when all are the default): a spread of raw values is one of physical values times ``|scale|``;
    an offset does not move a spread, so there is none."""
    scales, _, units = rio_io.band_values(src)
    return (tuple(abs(float(scales[b])) for b in colour) if scales else (), (),
            tuple(units[b] for b in colour) if units else ())


def spread_band_names(src, colour) -> list[str]:
    """The spread bands' descriptions, one per ``colour`` band of ``src``: ``spread of red``, ``spread of B4``,
    ``spread of band 2`` (the band in words: :func:`~.band_plan.band_names`). Written in the spread file
    (``--spread-out``) and given by :func:`~.spread.upscale_window_spread`; napari's spread layer, their mean,
    is named by :func:`spread_mean_name`."""
    names = rad.band_names(src.count, src.colorinterp, src.descriptions)
    return [f"spread of {names[b]}" for b in colour]


def spread_mean_name(descriptions) -> str:
    """The name of the mean of the spread bands named ``descriptions`` (:func:`spread_band_names`), one band:
    ``spread (mean over red, green, blue)``; a single band's own name. napari's spread layer and its Save."""
    names = [str(n or "") for n in descriptions or ()] or ["spread"]
    if len(names) == 1:
        return names[0] or "spread"
    return f"spread (mean over {', '.join(n.removeprefix('spread of ') for n in names)})"


def spread_profile(src, job, *, block: int = 512, compress: str = "deflate") -> dict:
    """GeoTIFF profile of the spread: the output's grid (size, transform, CRS), float32, one band per
    colour band, NaN nodata."""
    prof = rio_io.output_profile(src, job.shape, dtype="float32", block=block, compress=compress)
    for k in ("photometric", "alpha"):
        prof.pop(k, None)
    prof.update(count=len(job.reader.plan.colour), nodata=float("nan"))
    if "transform" in prof:  # the window's grid (none for a raster without a geotransform)
        prof["transform"] = job.transform
    if job.gcps is not None:
        prof["gcps"] = job.gcps[0]
    return prof


def check_spread_path(src_path: Path, dst_path: Path, spread_path: str | Path | None) -> Path:
    """The spread file of a run (``spread_path`` or :func:`default_spread_path`), checked to be
    neither the input nor the output nor a folder (as the output, before any work), named as a GeoTIFF,
    a name the file system takes, in an existing folder."""
    import errno

    from ..errors import InputError, RasterIOError

    p = check_path(spread_path, "spread output") if spread_path is not None else default_spread_path(dst_path)
    if rio_io.same_file(src_path, p):
        raise InputError(f"spread path is the input file: {p}")
    if rio_io.same_file(dst_path, p):
        raise InputError(f"spread path is the output file: {p}")
    from ..file_names import check_geotiff_name
    from ..files import check_name_length, check_not_folder

    check_name_length(p, "spread output")  # before is_dir(), which fails in errno's words
    check_not_folder(p, "spread output")  # else 'output exists … use --overwrite', then refused after the model loads
    check_geotiff_name(p)  # (as --spread-out is: a TIFF named 'spread.png' was written)
    if not p.parent.is_dir():
        raise RasterIOError(errno.ENOENT, f"spread folder does not exist: {path_said(p.parent)}")
    return p


@contextlib.contextmanager
def spread_file(path: Path, src, job, *, output, fellow=None, of: Path | None = None):
    """A block writer for the spread GeoTIFF of ``job`` (atomic: renamed into place on success);
    ``fellow``: the output's :class:`GeoTiffWriter`, whose part file goes if either write fails;
    ``of``: the output's path, recorded as the output the file describes (``LDCSR_SPREAD_OF``,
    :func:`~.job.spread_of`: a run of the same request to another output does not take it as its own)."""
    from .job import spread_of

    colour = list(job.reader.plan.colour)
    prof = spread_profile(src, job, block=output.block, compress=output.compress)
    link = None if of is None else {"LDCSR_SPREAD_OF": spread_of(path, of)}
    with rio_io.GeoTiffWriter(path, prof, tags=spread_tags(job, job.options.samples, link),
                              overwrite=output.overwrite) as gw:
        if fellow is not None:
            gw.fellows.append(fellow)
            fellow.fellows.append(gw)
        write_domains(gw.dataset, spread_domains(job))
        for i, name in enumerate(spread_band_names(src, colour), 1):
            gw.dataset.set_band_description(i, name)
        scales, _, units = spread_band_values(src, colour)
        if scales:
            gw.dataset.scales = scales
        if units:
            gw.dataset.units = tuple(u or "" for u in units)
        writer = rio_io.BlockRowWriter(gw)
        yield writer
        writer.close()
