"""The uncertainty map of an array or window: :func:`upscale_window_spread` returns the mean of K
diffusion samples and their per-pixel spread, both as ``GeoArray`` s on one grid.

It builds on the pipeline (:mod:`.pipeline`); the K-sample machinery the pipeline itself uses for
files (the sampled runner, the sinks, the spread GeoTIFF) lives below both, in :mod:`.sampling`,
and is re-exported here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError
from . import pipeline as pl
from . import raster_io as rio_io
from .crs_override import with_crs
from .nodata_override import with_nodata
from .sampling import (
    SPREAD_NOTICE, SampledRunner, SplitSink, SpreadSink, check_spread_path, default_spread_path, spread_band_names,
    sampled, spread_band_values, spread_domains, spread_file, spread_profile, spread_tags,
)

__all__ = ["SampledRunner", "SpreadSink", "SplitSink", "SpreadResult", "default_spread_path", "SPREAD_NOTICE",
           "spread_profile", "spread_tags", "sampled", "upscale_window_spread", "check_spread_path", "spread_file"]


class SpreadResult(NamedTuple):
    """:func:`upscale_window_spread`'s result: the mean and the spread as ``GeoArray`` s on one grid."""

    mean: Any
    spread: Any


def upscale_window_spread(src, *, model, scale=None, target_resolution=None, out_shape=None, window=None,
                          options=None, callback=None, runner=None, source_name=None,
                          on_rows=None) -> SpreadResult:
    """:func:`~ldcsr_core.geo.pipeline.upscale_window` with ``options.samples`` = K > 1: the mean of
    the K samples (a ``GeoArray`` as ``upscale_window`` returns) and their spread (a ``GeoArray``
    ``(colour bands, H, W)`` float32 in source units, NaN where the source is invalid, same
    transform and CRS). ``on_rows`` sees the mean's finished rows."""
    from ..rules import check_callable

    from .job import checked_options
    from .local_runner import check_runner

    check_callable(callback), check_callable(on_rows, "on_rows")  # before the scene is read
    options = checked_options(options, pl.UpscaleOptions, "options", pl.UpscaleOptions(samples=2))
    runner = check_runner(runner)
    if (path := pl.source_path(src)) is not None:
        with rio_io.open_raster(path) as ds:
            return upscale_window_spread(ds, model=model, scale=scale, target_resolution=target_resolution,
                                         out_shape=out_shape, window=window, options=options,
                                         callback=callback, runner=runner, source_name=source_name,
                                         on_rows=on_rows)
    src = with_crs(with_nodata(pl.check_source(src), options.nodata), options.crs)
    if options.samples < 2:
        raise ConfigError(f"upscale_window_spread needs options.samples >= 2, not {options.samples} "
                          "(use upscale_window for one picture)")
    rio_io.check_dataset(src)
    model = pl._resolve_model(model)
    job = pl._prepare(src, model, pl._request(scale, target_resolution, out_shape), options, window=window,
                      src_name=pl._source_name(src, source_name), runner=runner)
    writer = pl.ArrayWriter(src.count, job.shape, job.reader.dtype, on_rows)
    colour = list(job.reader.plan.colour)
    spread_w = pl.ArrayWriter(len(colour), job.shape, np.float32)
    pl._execute(job, model, writer, runner=runner, callback=callback, spread_writer=spread_w)
    mean = pl._geo_array(src, job, writer)
    spread = rio_io.GeoArray(spread_w.data, job.transform, src.crs, float("nan"),
                             spread_tags(job, options.samples), ("undefined",) * len(colour),
                             tuple(spread_band_names(src, colour)), None, job.gcps,
                             *spread_band_values(src, colour), rpcs=job.rpcs, domains=spread_domains(job))
    return SpreadResult(mean, spread)


