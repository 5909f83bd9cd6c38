"""What a resumed run skips: an output (and its spread file) that is a complete result of this very
request (:func:`~.pipeline.upscale_raster`'s rule); and, before the model is loaded, whether an output will be
made (:func:`surely_made`: what a front end's cost notes are said for)."""

from __future__ import annotations

import os

from .job import is_complete_output

__all__ = ["request_complete", "surely_made"]


def request_complete(dst_path, spread_path, *, out_shape, job) -> bool:
    """Whether ``dst_path`` (and ``spread_path``, its spread file, unless None) is a complete output of the
    request whose fingerprints are ``job`` (:func:`~.job.request_fingerprints`): what a resumed run skips."""
    return is_complete_output(dst_path, out_shape=out_shape, job=job) and (
        spread_path is None or is_complete_output(spread_path, out_shape=out_shape, job=job, spread_for=dst_path))


def surely_made(dst_path, spread_path, *, overwrite: bool) -> bool:
    """Whether :func:`~.pipeline.upscale_raster` makes ``dst_path`` (and ``spread_path``, its spread file, unless None),
    as told before the model is loaded (this request's fingerprint needs its weights): no other live run is making
    either (:meth:`~ldcsr_core.output_claims.OutputClaim.busy`: waited for, then kept where it completed them), and
    with ``overwrite``, or neither is there (an output there is skipped, as this request's complete result, or
    refused, as another's; a spread file there alone is refused as another request's, or made again where it is this
    request's, left by a run stopped between its two renames, which only the fingerprint tells)."""
    from ..output_claims import OutputClaim

    paths = [p for p in (dst_path, spread_path) if p is not None]
    if any(OutputClaim.busy(p) for p in paths):
        return False
    return overwrite or not any(os.path.lexists(p) for p in paths)  # (a broken link: there)
