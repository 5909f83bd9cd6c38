"""``ldcsr upscale``'s cost notes (the --tile note of diffusion mode, the K-times cost of --samples K), said
only when an input will run: not before a run that skips every output as a complete result of its request."""

from __future__ import annotations

import os

import click

__all__ = ["cost_notes"]


def cost_notes(jobs, options, overwrite: bool, model=None, *, tile=None, **where) -> bool:
    """Say the cost notes of ``options`` (an :class:`~ldcsr_core.geo.job.UpscaleOptions`) and ``tile`` (the --tile
    asked, which diffusion mode's options drop) when an input of ``jobs`` (``(src, dst, shape, error)``) will run;
    True once that is told (said or not). Without ``model`` only an output not there yet (or ``overwrite``) tells,
    so the notes come before the model loads; else False. With ``model`` each output there is looked at as the run
    will (:func:`~ldcsr_core.geo.resume.already_done`; ``where``: its ``spread_path`` and request)."""
    tile_note = tile is not None and options.mode == "diffusion"
    if not (tile_note or options.samples > 1):
        return True
    todo = [(src, dst) for src, dst, _, err in jobs if not err]
    if overwrite or any(not os.path.lexists(dst) for _, dst in todo):
        runs = bool(todo)
    elif model is None:
        return False
    else:
        from ..geo.resume import already_done

        runs = any(not already_done(src, dst, model=model, options=options, **where) for src, dst in todo)
    if runs and tile_note:
        click.echo(f"note: --tile {tile} applies to fast mode; diffusion mode runs on its fixed windows, "
                   "so that a seed gives one picture", err=True)
    if runs and options.samples > 1:  # K whole runs, as QGIS says it
        from ..uncertainty import samples_cost

        click.echo(f"note: {samples_cost(options.samples)}", err=True)
    return True
