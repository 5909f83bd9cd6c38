"""``ldcsr upscale``'s cost notes (the --tile note of diffusion mode, the K-times cost of --samples K), said
before the model loads, and only when an input will run: not when every output is already there (without
--overwrite each is then skipped, as this request's complete result, or refused, as another's: none runs)."""

from __future__ import annotations

import os

import click

__all__ = ["cost_notes"]


def cost_notes(jobs, options, overwrite: bool, *, tile=None) -> None:
    """Say the cost notes of ``options`` (an :class:`~ldcsr_core.geo.job.UpscaleOptions`) and ``tile`` (the --tile
    asked, which diffusion mode's options drop) when an input of ``jobs`` (``(src, dst, shape, error)``) will run:
    with ``overwrite``, or where its output is not there yet (:func:`~ldcsr_core.geo.pipeline.upscale_raster` runs
    no input whose output is there without ``overwrite``: it skips it or refuses it)."""
    todo = [dst for _, dst, _, err in jobs if not err]
    if not (overwrite and todo or any(not os.path.lexists(dst) for dst in todo)):  # (a broken link: there)
        return
    if tile is not None and options.mode == "diffusion":
        click.echo(f"note: --tile {tile} applies to fast mode; diffusion mode runs on its fixed windows, "
                   "so that a seed gives one picture", err=True)
    if options.samples > 1:  # K whole runs, as QGIS says it
        from ..uncertainty import samples_cost

        click.echo(f"note: {samples_cost(options.samples)}", err=True)
