"""What a resumed run skips: an output (and its spread file) that is a complete result of this very
request (:func:`~.pipeline.upscale_raster`'s rule)."""

from __future__ import annotations

from .job import is_complete_output

__all__ = ["request_complete"]


def request_complete(dst_path, spread_path, *, out_shape, job) -> bool:
    """Whether ``dst_path`` (and ``spread_path``, its spread file, unless None) is a complete output of the
    request whose fingerprints are ``job`` (:func:`~.job.request_fingerprints`): what a resumed run skips."""
    return is_complete_output(dst_path, out_shape=out_shape, job=job) and (
        spread_path is None or is_complete_output(spread_path, out_shape=out_shape, job=job, spread_for=dst_path))

