"""The bicubic baseline: a raster through the same reader, stretch, band triplets, nodata handling
and sink as an LDCSR run (:mod:`.tile_run`), with a plain bicubic resize instead of the model.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import raster_io as rio_io
from .job import UpscaleOptions
from .crs_override import with_crs
from .nodata_override import with_nodata
from .scene_io import ArrayWriter, RasterSink
from .tile_run import _geo_array, _prepare, _request, _source_name, source_path

__all__ = ["BICUBIC_NOTICE", "bicubic_window"]


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
    from ..rules import check_callable

    from .job import checked_options

    check_callable(on_rows, "on_rows")  # before the scene is read
    options = checked_options(options, UpscaleOptions, "options")
    if (path := source_path(src)) is not None:
        with rio_io.open_raster(path) as ds:
            return bicubic_window(ds, scale=scale, target_resolution=target_resolution,
                                  out_shape=out_shape, window=window, options=options,
                                  source_name=source_name, on_rows=on_rows)
    src = with_crs(with_nodata(src, options.nodata), options.crs)
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
