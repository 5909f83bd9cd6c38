"""One run, prepared and executed: the reader, tile plan, output grid and provenance fixed before
the first tile (:func:`_prepare`), then every tile through the engine's tile loop into a writer
(:func:`_execute`). The entry points of :mod:`.pipeline` (files and arrays), :mod:`.bicubic` (the
baseline) and :mod:`.spread` (K samples) share them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import raster_io as rio_io
from ..errors import InputError
from ..front_end import say
from ..progress import ProgressCallback
from .job import UpscaleOptions, check_not_spread_map, output_notice, plan_output, provenance_summary, provenance_tags, request_of
from .georef import band_tags, carried_domains, carried_tags
from .nodata_masks import output_nodata
from .local_runner import LocalRunner
from .scene_io import ArrayWriter, RasterSink, SceneReader, _window

# the logger these warnings have always come from (the module this one was split out of)
log = logging.getLogger("ldcsr_core.geo.pipeline")


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
    rpcs: Any = None  # the source's RPCs on the output grid (satellite images)

    @property
    def tiles(self) -> int:
        return len(self.plan.tiles)


def _prepare(src, model, request: dict, options: UpscaleOptions, *, window=None,
             src_name: str | None = None, runner=None) -> _Job:
    from ..tileplan import plan_tiles

    check_not_spread_map(src.tags(), src_name or Path(str(src.name)).name)  # (the front ends: before any work)
    _check_palette(src, src_name)
    note = pages_note(src, src_name)
    if note is not None and model is not None:  # once per run (not again for its bicubic baseline)
        log.warning("%s", note)
    info = rio_io.raster_info(src)
    reader = SceneReader(src, options.bands, options.stretch, window=window, name=src_name)
    in_shape = (reader.height, reader.width)
    shape, exact = plan_output(info, in_shape=in_shape, **request)
    if model is None:  # the bicubic baseline: no model, the fixed windows
        plan = plan_tiles(in_shape, shape, options.tile)
    else:  # the model's own windows (memory budget, measured overlap), as ldcsr_core.upscale plans
        from ..window_sizing import plan_for_model

        plan = plan_for_model(model, in_shape, shape, options.tile, mode=options.mode)
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
    rpcs = rio_io.source_rpcs(src)
    if rpcs is not None:
        rpcs = rio_io.scale_rpcs(rpcs, exact, (reader.oy, reader.ox))
    requested = {k: v for k, v in request.items() if v is not None}
    tags = provenance_tags(model, scale=exact, requested=requested, mode=options.mode,
                           seed=options.seed, src_name=src_name or Path(str(src.name)).name,
                           reader=reader, tile=options.tile)
    if getattr(runner, "threads_tag", None):  # a Dask run: the threads its workers ran, not this process's policy
        tags["LDCSR_THREADS"] = runner.threads_tag
    if options.samples > 1:
        tags["LDCSR_SAMPLES"] = str(options.samples)
    prior = provenance_summary(src.tags(), brief=True)
    if prior is not None:  # an LDCSR output in again: its own LDCSR_* tags are not copied over
        tags["LDCSR_INPUT_PROVENANCE"] = prior
        if model is not None:
            log.warning("%s is %s: its detail is partly invented already and a second pass invents "
                        "more on top (one run at the whole scale does not); the output's "
                        "LDCSR_INPUT_PROVENANCE tag records the first step",
                        src_name or Path(str(src.name)).name, prior)
    expanded = getattr(src, "palette_expanded", None)
    if expanded:
        tags["LDCSR_PALETTE_EXPANDED"] = expanded
        log.warning("%s has a colour table: super-resolving its colours expanded to %s (the output "
                    "is an %s image; its class indices are not kept)",
                    src_name or Path(str(src.name)).name, expanded, expanded)
    return _Job(src, reader, plan, shape, exact, transform, tags, options, gcps=gcps, rpcs=rpcs)


def pages_note(src, name=None) -> str | None:
    """What is left out of a TIFF of several full-size images (pages: a stack ImageJ or a scanner
    wrote, listed by GDAL as subdatasets ``GTIFF_DIR:k:NAME``): GDAL reads the first as the raster,
    so the others are neither read nor written; ``None`` for any other raster."""
    subs = [s for s in (getattr(src, "subdatasets", None) or ()) if str(s).startswith("GTIFF_DIR:")]
    if src.driver != "GTiff" or len(subs) < 2:
        return None
    name = name or Path(str(src.name)).name
    return (f"{name} holds {len(subs)} images (TIFF pages): only the first is read and super-resolved; "
            f"for another, convert it first, e.g. {say('convert page', page=subs[1])}")


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
             spread_writer=None, sink_thread: bool = False) -> None:
    """Run every tile of ``job`` through the engine's tile loop into ``writer`` (via the sink);
    with ``samples`` > 1, the mean into ``writer`` and the spread into ``spread_writer``.
    ``sink_thread``: rows are converted and written by a thread of their own (files, on a card)."""
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
    if opts.samples > 1:  # uncertainty map: K samples per tile, mean and spread (geo.sampling)
        from .sampling import sampled

        runner, sink, channels = sampled(runner, sink, spread_writer, job, opts.samples)
    run_plan(model, job.plan, None, sink, mode=opts.mode, seed=opts.seed, callback=callback,
             channels=channels, tiles=outputs(), sink_thread=sink_thread)
    settle_notice(job)


def settle_notice(job: _Job, writer=None) -> None:
    """The run's ``LDCSR_NOTICE`` once its tiles are known (:func:`~.job.output_notice`: an output all nodata says
    no pixel of it was synthesised), in ``job.tags`` and in those ``writer`` (a ``GeoTiffWriter``) and its fellows
    (the spread file's) write as they close; none where the run has none (a bicubic baseline)."""
    notice = output_notice(job.tiles, job.skipped_tiles)
    for tags in (job.tags, *(w.tags for w in ((writer, *writer.fellows) if writer is not None else ()))):
        if "LDCSR_NOTICE" in tags:
            tags["LDCSR_NOTICE"] = notice



def _request(scale, target_resolution, out_shape, *, as_given: bool = False) -> dict:
    """The request as ``ldcsr upscale`` asks it (:func:`~.job.request_of`: ``scale=2`` is ``(2.0, 2.0)``),
    so the API's outputs carry the CLI's ``LDCSR_REQUEST`` and ``LDCSR_JOB``; ``as_given``: as the caller
    spelt it, as the API recorded it before (commit 1c4cf48 and earlier)."""
    if not as_given:
        asked = request_of(scale=scale, target_resolution=target_resolution)
        scale, target_resolution = asked.get("scale"), asked.get("target_resolution")
    return {"scale": scale, "target_resolution": target_resolution, "out_shape": out_shape}



def _resolve_model(model):
    from ..api import resolve_model  # torch's world: imported when a run starts

    return resolve_model(model)


def source_path(src):
    """``src`` as the path to open when it is one (a str, bytes or os.PathLike: ``rules.check_path``'s
    rule, as upscale_raster's and read_raster's), else None (an open dataset, or what
    :func:`check_source` refuses). upscale_window, upscale_window_spread and bicubic_window open a path
    by it (before, each had its own test: a bytes path was refused, and upscale_window_spread took
    only str and pathlib paths)."""
    import os

    from ..rules import check_path

    return check_path(src) if isinstance(src, (str, bytes, os.PathLike)) else None


def check_source(src):
    """``src`` if it is an open raster dataset, else an :class:`InputError` that says what to pass
    (an array given directly failed with "'numpy.ndarray' object has no attribute 'name'")."""
    if all(hasattr(src, a) for a in ("read", "count", "width", "height")):
        return src
    hint = (": wrap an array with ldcsr_core.geo.raster_io.dataset_from_array(...), or use "
            "ldcsr_core.upscale for an RGB picture" if hasattr(src, "shape") else "")
    raise InputError(f"src must be a raster path or an open rasterio dataset, got {type(src).__name__}{hint}")


def _source_name(src, given: str | None) -> str:
    if given is not None:
        return given
    name = str(src.name)
    return "array" if name.startswith("/vsimem/") else Path(name).name


def _geo_array(src, job: _Job, writer: ArrayWriter) -> rio_io.GeoArray:
    src_tags = carried_tags(src.tags(), job.scale)
    nodata = output_nodata(src.nodata, writer.data.dtype)  # as the output file declares it
    return rio_io.GeoArray(
        writer.data, job.transform, src.crs, nodata, {**src_tags, **job.tags},
        tuple(c.name for c in src.colorinterp), tuple(src.descriptions), writer.mask, job.gcps,
        *rio_io.band_values(src), rpcs=job.rpcs, band_tags=band_tags(src),
        tiles=job.tiles, skipped_tiles=job.skipped_tiles, domains=carried_domains(src))

