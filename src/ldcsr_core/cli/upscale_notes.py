"""``ldcsr upscale``'s cost notes (the --tile note of diffusion mode, the K-times cost of --samples K), said only
when an input runs: before the model loads where an output will surely be made
(:func:`~ldcsr_core.geo.resume.surely_made`), else as the first input that runs begins (none may: every output
already there, without --overwrite, is skipped, as this request's complete result, or refused, as another's; a
spread file there alone is refused, another request's; an output another command is making is waited for, then
skipped)."""

from __future__ import annotations

import click

__all__ = ["cost_notes", "inputs_all_nodata"]


def cost_notes(jobs, options, overwrite: bool, *, tile=None, spread_out=None, no_model=()):
    """Say the cost notes of ``options`` (an :class:`~ldcsr_core.geo.job.UpscaleOptions`) and ``tile`` (the --tile
    asked, which diffusion mode's options drop) now, where an input of ``jobs`` (``(src, dst, shape, error)``) will be
    run (:func:`~ldcsr_core.geo.resume.surely_made` of its output and its spread file: ``spread_out``, else
    ``NAME_spread.tif`` beside it, with ``options.samples`` > 1). Else returns what says them, once, as an input
    starts its first tile (the progress :class:`~.batch_report.Bar`'s ``first``: the fingerprint, which needs the model,
    tells whether a spread file alone there is this request's, made again), or None where there are none, or no input
    runs the model (each one failed its checks or is of ``no_model``: all nodata, its output made without it)."""
    from ..geo.resume import surely_made
    from ..geo.sampling import spread_path_of

    notes = []
    if tile is not None and options.mode == "diffusion":
        notes.append(f"--tile {tile} applies to fast mode; diffusion mode runs on its fixed windows, so that a seed "
                     "gives one picture")
    if options.samples > 1:  # K whole runs, as QGIS says it
        from ..uncertainty import samples_cost

        notes.append(samples_cost(options.samples))
    said = []

    def say() -> None:
        if not said:
            said.append(True)
            for note in notes:
                click.echo(f"note: {note}", err=True)

    jobs = [(src, dst) for src, dst, _, err in jobs if not err and src not in no_model]
    if not notes or not jobs:
        return None
    if any(surely_made(dst, spread_path_of(dst, spread_out, options.samples), overwrite=overwrite)
           for _, dst in jobs):
        return say()
    return say



def inputs_all_nodata(jobs, nodata, bands, overwrite: bool) -> list:
    """The inputs of ``jobs`` (``(src, dst, shape, error)``) to be written (their output not there, or
    ``overwrite``) whose every pixel, read with ``nodata`` and ``bands`` as the run reads it, is nodata
    (:func:`~ldcsr_core.geo.empty_input.input_all_nodata`), in order, each with why: said before the model loads, and no note that
    their results are untested (none of their pixels is the model's). An input whose output is there (without
    ``overwrite``: skipped, or refused as another request's) is not read again: it is one where that output says it
    is all nodata (its ``LDCSR_NOTICE``, :data:`~ldcsr_core.geo.raster_io.NODATA_NOTICE`), with why "" (nothing said
    again: its rerun is skipped, as the first run said)."""
    import os

    from ..geo.empty_input import input_all_nodata

    found = ((src, input_all_nodata(src, nodata=nodata, bands=bands) if overwrite or not os.path.lexists(dst)
              else "" if _all_nodata_output(dst) else None) for src, dst, _, err in jobs if not err)
    return [(src, why) for src, why in found if why is not None]


def _all_nodata_output(dst) -> bool:
    """Whether the output ``dst`` there says no pixel of it was synthesised (its input all nodata): its tag alone."""
    from ..geo.job import notice_of
    from ..geo.raster_io import NODATA_NOTICE

    return notice_of(dst) == NODATA_NOTICE
