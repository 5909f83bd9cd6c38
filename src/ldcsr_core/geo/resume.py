"""What a resumed run skips: an output (and its spread file) that is a complete result of this very
request, decided by one rule for :func:`~.pipeline.upscale_raster` and for a front end that asks before
any work (``ldcsr upscale`` says its cost notes only when something will run)."""

from __future__ import annotations

from . import raster_io as rio_io
from .job import is_complete_output, plan_output, request_fingerprints

__all__ = ["request_complete", "already_done"]


def request_complete(dst_path, spread_path, *, out_shape, job) -> bool:
    """Whether ``dst_path`` (and ``spread_path``, its spread file, unless None) is a complete output of the
    request whose fingerprints are ``job`` (:func:`~.job.request_fingerprints`): what a resumed run skips."""
    return is_complete_output(dst_path, out_shape=out_shape, job=job) and (
        spread_path is None or is_complete_output(spread_path, out_shape=out_shape, job=job, spread_for=dst_path))


def already_done(src_path, dst_path, *, model, options, spread_path=None, scale=None, target_resolution=None,
                 out_shape=None) -> bool:
    """Whether :func:`~.pipeline.upscale_raster` of these arguments (``skip_complete``, no ``overwrite``)
    would skip ``dst_path`` now, as a complete output of this request with its spread file (``options.samples``
    > 1: ``spread_path``, or the name made from the output's). False when that cannot be told (an input
    unreadable now: the run says why)."""
    from .sampling import check_spread_path
    from .tile_run import _request

    try:
        spread = check_spread_path(src_path, dst_path, spread_path) if options.samples > 1 else None
        with rio_io.open_raster(src_path, nodata=options.nodata, crs=options.crs) as src:
            info, reads = rio_io.raster_info(src), [f for f, _ in rio_io.files_read(src)]
    except Exception:
        return False
    request = _request(scale, target_resolution, out_shape)
    shape, _ = plan_output(info, **request)
    jobs = request_fingerprints(src_path, model=model, options=options, request=request, out_shape=shape,
                                reads=reads, as_given=_request(scale, target_resolution, out_shape, as_given=True))
    return request_complete(dst_path, spread, out_shape=shape, job=jobs)
