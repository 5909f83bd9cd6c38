"""``ldcsr upscale``: rasters in, tiled, compressed, georeferenced GeoTIFFs out.

The command checks everything it can before the model is loaded (parameters, output paths, every
input readable, the request possible, outputs that exist), then runs each input through
:func:`ldcsr_core.geo.pipeline.upscale_raster` (locally or on Dask) with a progress bar, and ends
with a summary; errors become one line through the group in :mod:`.commands`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from ..words import counted
from . import options as opt
from .batch_report import KEEP_OR_OVERWRITE, Bar, stopped_advice, summary, unreached_failures
from .upscale_notes import cost_notes, inputs_all_nodata
from .upscale_plan import (_check_geotiff_name, _check_not_an_input_folder, _expand_inputs, _made_name_refusal,
                           _output_arg, _plan_outputs)

__all__ = ["upscale"]

log = logging.getLogger("ldcsr_core")


class _UpscaleCommand(click.Command):
    """``upscale``, whose unknown ``--resume`` (``train``'s option; power users try it after a stop)
    says how a run resumes: by running the same command again."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as e:
            if e.option_name != "--resume":
                raise
            raise click.NoSuchOption(e.option_name, f"{e.message} ldcsr upscale resumes without it: run the same "
                                     "command again (complete outputs are skipped)", ctx=e.ctx) from None


@click.command(cls=_UpscaleCommand)
@click.argument("inputs", nargs=-1, required=True, metavar="IN...", type=opt.InputPathType())
@click.option("-o", "--output", "output_arg", required=True, metavar="OUT",
              help="Output GeoTIFF (.tif/.tiff; one input) or existing folder (several inputs or a folder).")
@opt.scale_opt
@opt.target_resolution_opt
@opt.model_run_opts
@opt.nodata_opt
@opt.compress_opt
@opt.dtype_opt
@opt.overwrite_opt
@opt.dask_opt
@opt.samples_opt
@opt.spread_out_opt
@click.pass_context
def upscale(ctx, inputs, output_arg, scale, target_resolution, model_path, mode, seed, tile, device,
            bands, stretch, nodata, compress, dtype, overwrite, dask_address, samples=1, spread_out=None):
    """Super-resolve rasters IN... (files or folders) into tiled, compressed GeoTIFFs.

    \b
    Examples:
      ldcsr upscale scene.tif -o scene_x2.tif --scale 2
      ldcsr upscale tiles/ -o out/ --target-resolution 0.5 --mode fast
      ldcsr upscale s2.tif -o s2_sr.tif --scale 2.5 --bands 4,3,2 --dask local:4
      ldcsr upscale scene.tif -o scene_x4.tif --scale 4 --samples 4   # + scene_x4_spread.tif

    Outputs in a folder are named NAME_sr.tif. A batch is resumable: outputs that exist and are
    complete results of the same request are skipped. Inputs are never modified.
    """
    from ..errors import InputError, OutputExistsError, OutputNameError, RasterIOError, one_line
    from ..files import check_name_length, check_not_folder, file_id
    from ..geo.pipeline import OutputOptions, UpscaleOptions, has_provenance, refuse_read
    from ..geo.job import check_not_spread_map
    from ..geo.raster_io import open_raster, raster_info, read_keys
    from ..geo.radiometry import band_holder, parse_bands

    quiet = ctx.obj.get("quiet", False)
    if (scale is None) == (target_resolution is None):
        raise click.UsageError("give exactly one of --scale or --target-resolution")
    try:
        band_sel = parse_bands(bands)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'--bands'") from None
    if dask_address:
        from ..geo.distributed import parse_dask_address

        try:
            parse_dask_address(dask_address)
        except InputError as e:
            raise click.BadParameter(str(e), param_hint="'--dask'") from None
    folders = [p for p in inputs if p.is_dir()]
    if output_arg.strip():  # before the folders are listed: an empty output folder has no rasters
        _check_not_an_input_folder(folders, Path(output_arg))
    files, batch = _expand_inputs(inputs)
    output = _output_arg(output_arg, single=not batch)
    if spread_out is not None:
        _check_geotiff_name(spread_out, "'--spread-out'", folder_ok=False)
    opt.check_samples_mode("--samples", samples, mode)
    if spread_out is not None and samples < 2:
        raise click.BadParameter("needs --samples K > 1 (the spread of one sample is 0)",
                                 param_hint="'--spread-out'")
    if spread_out is not None and batch:
        raise click.BadParameter("names one file, so it needs a single input (in a batch each output "
                                 "NAME_sr.tif gets NAME_sr_spread.tif)", param_hint="'--spread-out'")

    pairs = _plan_outputs(files, batch, output, folders, spread=samples > 1,
                          spread_out=spread_out, quiet=quiet, overwrite=overwrite)
    # Validate every input (readable, non-empty, scale sensible) before loading the model.
    from ..geo.pipeline import check_room, plan_output, request_of
    from ..geo.sampling import check_spread_path, default_spread_path, spread_path_of

    # the engine's one rule for a request (napari's and QGIS's too); CLI is X,Y, engine is (sy, sx)
    req = request_of(scale=(scale[1], scale[0]) if scale else None, target_resolution=target_resolution)
    from ..adapted_use import reading_of
    from ..geo.ground import ground_pixel_of  # (None: not known, no note)

    # uses: (input, its scales, how it is read) for the adapted model's notes; grounds: its pixels in metres
    jobs, uses, read, grounds, ground_scales, measured = [], [], [], {}, {}, {}
    made = batch or output.is_dir()  # the output names are made from the inputs' (NAME_sr.tif)
    foreign = []  # outputs there that are no readable results of this tool: never replaced unasked
    for src, dst in pairs:
        try:
            try:
                check_name_length(dst)  # NAME_sr.tif of a long NAME: that input fails, not the batch
                check_not_folder(dst)  # as upscale_raster says it: --overwrite does not replace a folder
                if samples > 1 and made and spread_out is None:  # NAME_sr_spread.tif, made from the input's name
                    check_spread_path(src, dst, None)  # a name the file system takes, not a folder (upscale_raster's)
            except OutputNameError as e:
                raise _made_name_refusal(e, src, dst, batch) if made else e from None
            if samples > 1 and not (made and spread_out is None):  # --spread-out's name, or OUT_spread.tif of -o's
                try:
                    check_spread_path(src, dst, spread_out)
                except OutputNameError as e:
                    if spread_out is not None:
                        raise
                    remedy = "choose a shorter -o name, or name the spread file with --spread-out"
                    raise type(e)(e.errno, e.worded(remedy), kind=e.kind, remedy=remedy) from None
            with open_raster(src, nodata=nodata) as ds:
                info = raster_info(ds)
                check_not_spread_map(info.tags, Path(src).name)  # not a picture: its source is
                holder = band_holder(ds)  # (a paletted file: its palette's bands)
                keys = read_keys(ds)  # listed once: (a VRT's sources) for its own outputs, then the run's
                spread = spread_path_of(dst, spread_out, samples)
                spread_hint = "'--spread-out'" if spread_out else "'-o'"  # (a made name: -o's)
                for path, what, hint in ((dst, "output", "'-o'"), (spread, "spread output", spread_hint)):
                    try:  # a source of a VRT, a mask sidecar: written over, the input changes
                        refuse_read(keys, [path], overwrite, what=what)
                    except InputError as e:
                        raise click.BadParameter(str(e), param_hint=hint) from None
                shape, _ = plan_output(info, **req)
                if overwrite or not os.path.lexists(dst):  # what will be written must fit (else: skipped or refused)
                    check_room(ds, shape, dst, spread, OutputOptions(compress=compress))
            try:  # bands checked
                reading = reading_of(info.count, info.colorinterp, band_sel, stretch, info.dtype, info.descriptions,
                                     holder)
            except InputError as e:
                raise _bands_advice(e, band_sel, info.count, info.colorinterp, batch, holder) from None
            uses.append((src, _nominal_scales(info, scale, target_resolution), reading))
            named = Path(src).name if Path(src).name not in grounds else str(src)
            grounds[named] = ground_pixel_of(info)  # and the scale that makes the result's pixels, (sy, sx):
            ground_scales[named] = (scale[1], scale[0]) if scale else tuple(uses[-1][1])  # (-r's: sy, sx)
            measured[named] = _measured_scale((info.height, info.width), shape, scale, ground_scales[named])  # its -s
        except (InputError, RasterIOError) as e:
            if batch:
                jobs.append((src, dst, None, one_line(e)))
                continue
            raise
        if os.path.lexists(dst) and not overwrite and not has_provenance(dst):  # a broken link too
            foreign.append(dst)
        jobs.append((src, dst, shape, None))
        read += [k for k in keys if k[1] != "the input"]  # (of an input done; the inputs themselves: _plan_outputs)

    if foreign:
        raise OutputExistsError(_foreign_outputs(foreign, batch))
    try:  # nor another input's (in/b.tif in/v.vrt -o out, b_sr.tif): those written (one there is not, w/o --overwrite)
        refuse_read(read, [p for _, dst, _, err in jobs if not err and len(jobs) > 1 for p in (dst, default_spread_path(
            dst) if samples > 1 else None) if p and (overwrite or not os.path.lexists(p))], overwrite)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'-o'") from None
    if all(err for *_, err in jobs):  # (a batch: a single input raised) the summary, as for any batch
        summary([(src, dst, "failed", err, None) for src, dst, _, err in jobs], quiet)
        raise click.ClickException(f"{len(jobs)} of {counted(len(jobs), 'input')} failed")

    up_opts = UpscaleOptions(mode=mode, seed=seed, tile=tile, bands=band_sel, stretch=stretch,
                             samples=samples, nodata=nodata)
    # a batch does the inputs another command is making (same outputs) last, a single input waits
    out_opts = OutputOptions(overwrite=overwrite, skip_complete=True, compress=compress, wait_for_others=not batch)

    # (-q keeps only notes that a result is untested); before the model loads, if an input will run, else as one does
    empty = inputs_all_nodata(jobs, nodata, band_sel, overwrite)  # said before the model loads (not -q)
    later = None if quiet else cost_notes(jobs, up_opts, overwrite, tile=tile, spread_out=spread_out,
                                          no_model=dict(empty))
    from ..geo.empty_input import all_nodata_note  # not at import: `ldcsr --help` imports no ldcsr_core.geo

    for src, why in [] if quiet else filter(lambda e: e[1], empty):  # (why "": its output there, all nodata)
        click.echo(f"note: {all_nodata_note(src, why)}", err=True)
    model = _load_model(model_path, device, dtype)
    for note in _adapted_notes(model, uses, measured, mode, batch):  # an adapted model used beyond its guard's check
        click.echo(f"note: {note}", err=True)
    from ..adapted_use import scale_note
    from ..rules import untrained_ground_note

    if empty:  # none of an input all nodata's pixels is the model's: not untested, no selfcheck of it suggested
        kept = [i for i, use in enumerate(uses) if use[0] not in dict(empty)]
        uses, names = [uses[i] for i in kept], [list(grounds)[i] for i in kept]
        grounds, ground_scales, measured = ({n: d[n] for n in names} for d in (grounds, ground_scales, measured))

    # below ×1.25 (of a model not shipped: its training scales not known), or a shipped model on pixels outside
    # the ground resolutions of its training imagery: untested
    same = _selfcheck_options(model_path, mode, seed, tile, device, bands, stretch, dtype, nodata, samples)
    # each run's scale said as its pasted command's -s (measured: a -r run's ×3.33, not ×3.33333 beside '-s 3.33')
    scale_measure, ground_measure = _selfcheck_measures(uses, grounds, ground_scales, measured, model, batch,
                                                        same)
    def first(named):  # a batch: by the inputs' names; one input: its own
        return named if batch else next(iter(named.values()), None)

    # the pixels made are the run's (-r 0.07's ×4.2857: 0.07 m), the scale said as its pasted command's (×4.28)
    for note in (scale_note(model, _scales_said(measured.values()), scale_measure),
                 untrained_ground_note(first(grounds), ground_measure, model=model, scale=first(ground_scales) or 1.0,
                                       said=first(measured) or 1.0)):
        if note:
            click.echo(f"note: {note}", err=True)
    results = []
    runner_cm = _runner(dask_address, model_path, device, model)
    # --overwrite replaces what is there now, not an output a second command of this request makes meanwhile
    found = {dst: file_id(dst) for _, dst, _, err in jobs if not err}
    from ..errors import ClusterError

    try:
        _run_jobs(jobs, results, runner_cm, model, up_opts, out_opts, spread_out, req, batch, quiet, found, later,
                  no_model=dict(empty))
    except (KeyboardInterrupt, ClusterError) as e:  # the run stops: the inputs left are not tried
        if results:  # what is done stays done: say so, and how to go on (-q: what failed); inputs whose checks
            # failed are failed, reached or not
            summary(results + unreached_failures(results, jobs), quiet, total=len(jobs))
        if batch and results:  # (-q too: how to go on is no progress chatter)
            why = "interrupted" if isinstance(e, KeyboardInterrupt) else "the Dask cluster failed"
            click.echo(stopped_advice(why, results, jobs, overwrite), err=True)
        raise
    summary(results, quiet)
    failed = [r for r in results if r[2] == "failed"]
    if failed:
        raise click.ClickException(f"{len(failed)} of {counted(len(results), 'input')} failed")


def _run_jobs(jobs, results, runner_cm, model, up_opts, out_opts, spread_out, req, batch, quiet,
              found=None, notes=None, no_model=()) -> None:
    """Run the checked ``jobs`` in order, appending ``(src, dst, status, error, result)`` to ``results``;
    the inputs whose output another live command is making (``output_claims.OutputClaim``) go last, and are
    then waited for and skipped if that command completed them (else made here). ``found``: each
    output's :func:`~ldcsr_core.files.file_id` before the run (what ``--overwrite`` replaces); ``notes``: says the
    cost notes not said yet (:func:`~.upscale_notes.cost_notes`), as the first input that runs the model begins
    (not one of ``no_model``, the inputs all nodata).

    In a batch any error of one input (a damaged block, out of memory on the largest scene, an
    unexpected one) is that input's line in the summary, and the others go on; a Dask cluster that
    can run no tile any more (:class:`ClusterError`) stops the batch (each input left failed in turn)."""
    from dataclasses import replace

    from ..files import file_id
    from ..errors import ClusterError, OutputBusy, SettingError
    from ..folder_removed import outputs_gone
    from ..geo.same_source import path_identity
    from ..geo.sampling import spread_path_of
    from .commands import reader_gone

    pending, later = list(jobs), []  # later: inputs another command was making, done after the others
    made = {}  # an input's file -> its result: another name of it (a hard link) may be copied
    with runner_cm as runner:
        while pending or later:
            if not pending:  # the others are done: wait for the other command's, then look again
                pending, later = later, []
                out_opts = replace(out_opts, wait_for_others=True)
            src, dst, shape, err = pending.pop(0)
            if err:
                results.append((src, dst, "failed", err, None))
                continue
            bar = Bar(src.name, quiet, first=None if src in no_model else notes)  # (no model runs on it)
            before, n = file_id(dst), len(results)
            try:
                from ..geo.pipeline import upscale_raster

                key = path_identity(src)  # the same file (a hard link, a symlink): maybe copied
                res = upscale_raster(src, dst, model=model, options=up_opts, output=out_opts,
                                     runner=runner, callback=bar, spread_path=spread_out,
                                     found=(found or {}).get(dst, file_id(dst)), same_as=made.get(key), **req)
                if key is not None:
                    made.setdefault(key, res)
                results.append((src, dst, res.status, "", res))
            except OutputBusy:  # (only when not waiting) another command on these outputs is making it
                later.append((src, dst, shape, err))
            except Exception as e:  # in a batch: that input failed, the others go on
                bar.failed()
                spread = spread_path_of(dst, spread_out, up_opts.samples)
                # there when checked: the user's doing, none of the inputs' (no traceback); both, if both went
                gone = outputs_gone(dst, spread)
                if gone:
                    raise _folder_removed(e, dst, spread, results, len(pending) + len(later), gone) from e
                if not batch or reader_gone(e) or isinstance(e, (SettingError, ClusterError)):  # not the
                    raise  # input's fault: our output's reader or the cluster is gone, LDCSR_THREADS wrong
                results.append((src, dst, "failed", _failure_line(e), None))
            except KeyboardInterrupt:
                if len(results) == n and file_id(dst) not in (before, None):  # renamed just before it
                    results.append((src, dst, "written", "written just before the interrupt", None))
                raise
            finally:
                bar.close()


def _folder_removed(error: Exception, dst: Path, spread: Path | None, results, left: int, gone: list[Path]):
    """The run stopped as the folders of ``gone`` (the output ``dst``'s, its --spread-out file's, or both), there when
    the run was checked, are gone (the engine's rule, :func:`~ldcsr_core.folder_removed.stopped_by_folders`, each folder
    and its file named), with the outputs of ``results`` they took with them, the ``left`` inputs not tried and ``dst``
    (a spread file's folder alone gone) not written."""
    from ..folder_removed import stopped_by_folders

    took = sum(1 for _, out, status, _, _ in results if status in ("written", "skipped")
               and out.parent == gone[0].parent and not os.path.lexists(out))
    nor = ", nor that of the input after it" if left == 1 else f", nor those of the {left} inputs after it" if left else ""
    return stopped_by_folders(error, dst, spread, took=took, nor=nor)


def _failure_line(e: Exception) -> str:
    """The one line of an input's error, as the CLI would end with it (out of memory in words, an
    unexpected error with its type; its traceback with -v); an output it may not replace, with what to
    do in a batch (:data:`~.batch_report.KEEP_OR_OVERWRITE`)."""
    from ..errors import OutputExistsError
    from .commands import as_click_error

    if isinstance(e, OutputExistsError) and e.overwrite:
        return e.worded(advice=KEEP_OR_OVERWRITE)
    ctx = click.get_current_context(silent=True)
    return as_click_error(e, verbose=((ctx.obj or {}).get("verbose", 0) if ctx else 0)).message


def _foreign_outputs(paths, batch: bool) -> str:
    """The refusal of outputs that are no readable results of this tool (:func:`~ldcsr_core.geo.job.not_ours`
    says what each is; one cut short may be its own, its tags lost with its end), before any work; in a batch,
    how to keep its complete outputs: --overwrite would make them all again."""
    from ..geo.job import not_ours

    what = [not_ours(p) or "a raster ldcsr did not write" for p in paths]
    if not batch:
        return f"output exists: {paths[0]} ({what[0]}; use --overwrite to replace it)"
    them = "it" if len(paths) == 1 else "them"
    head = "output exists" if len(paths) == 1 else f"{len(paths)} outputs exist"
    said = ", ".join(f"{p} ({w})" for p, w in zip(paths, what))
    return (f"{head} that {'is no readable result' if len(paths) == 1 else 'are no readable results'} of this "
            f"tool: {said}; move {them} away (or remove {them}) and run again to "
            "keep the batch's complete outputs (they are skipped), or use --overwrite, which replaces "
            f"{them} and makes every output of the batch again")


def _bands_advice(e, band_sel, count: int, colorinterp, batch: bool, holder: str = "the file"):
    """``e``, an input's refusal of its ``--bands`` (a band it lacks, an alpha band), with what to do: the
    bands it may give are its colour bands (:func:`~ldcsr_core.geo.band_plan.plan_bands`: not its alpha). In a
    batch, the files to run apart are those of its band count, or (``holder`` :data:`~.band_plan.PALETTE`) the
    files of colour indices, one band on disk, read through their palette as ``count`` bands."""
    from ..errors import InputError, one_line
    from ..geo.band_plan import PALETTE, plan_bands

    if band_sel is None or count < 1:
        return e
    colour = [b + 1 for b in range(count) if b not in plan_bands(count, colorinterp).alpha]
    span = (f"{colour[0]}..{colour[-1]}" if colour == list(range(colour[0], colour[-1] + 1))
            else ", ".join(map(str, colour)))
    which = f"{colour[0]}" if len(colour) == 1 else f"among {span}"
    files = (f"the files of colour indices, whose palettes give {counted(count, 'band')},"
             if holder == PALETTE else f"the files of {counted(count, 'band')}")
    what = (f"--bands applies to every input: run {files} in a command of their own, "
            f"with {'band' if len(colour) == 1 else 'bands'} {which} or without --bands" if batch
            else f"give --bands {which}, or leave it out")
    return InputError(f"{one_line(e)} ({what})")


def _nominal_scales(info, scale, target_resolution) -> tuple[float, float]:
    """The scales asked for an input: ``--scale`` (X,Y), or its target resolution's per axis."""
    if scale:
        return float(scale[0]), float(scale[1])
    from ..geo.georef import scale_for_resolution

    return tuple(float(s) for s in scale_for_resolution(info, target_resolution))


def _measured_scale(in_shape, out_shape, scale, asked):
    """The scale of a run as its notes say it and ``ldcsr selfcheck -s`` takes it
    (:func:`~ldcsr_core.selfcheck_command.selfcheck_measure`): ``--scale`` as given; a target resolution's (``asked``: its ``(sy, sx)``), the shortest decimal that makes the run's ``out_shape``
    (not ×3.33333) and that selfcheck checks as at the run's scale; the run's ``(sy, sx)`` where its axes' differ (selfcheck scores one scale on both), each so."""
    from ..selfcheck_command import shortest_scale
    from ..words import scale_typed

    if scale:  # (X, Y), as typed back exactly (1.2345678, not :g's 1.23457)
        return scale_typed(scale[0]) if scale[0] == scale[1] else (scale_typed(scale[1]), scale_typed(scale[0]))
    return (shortest_scale(in_shape, out_shape, sum(asked) / 2, checked=True)
            or tuple(shortest_scale((n, n), (m, m), s) for n, m, s in zip(in_shape, out_shape, asked)))


def _selfcheck_options(model_path, mode, seed, tile, device, bands, stretch, dtype, nodata, samples=1) -> list:
    """The run's options that ``ldcsr selfcheck`` takes too, where given (not their defaults), as typed: the model,
    mode, diffusion seed, fast tile, device, bands, stretch, float type and nodata, and its samples as ``--mean-of``
    (the output is their mean), so that its pasted command measures what was run (a scene's fill scored or not, its
    sample or mean, its precision, where it runs)."""
    from ..geo.nodata_words import nodata_syntax

    given = {"-m": model_path, "--mode": mode if mode != "diffusion" else None,
             "--seed": seed if seed and mode == "diffusion" else None, "--tile": tile if mode == "fast" else None,
             "--device": device if device != "auto" else None,
             "--bands": bands or None, "--stretch": stretch if stretch != "auto" else None, "--dtype": dtype,
             "--nodata": None if nodata is None else nodata_syntax(nodata), "--mean-of": samples if samples > 1 else None}
    return [part for name, value in given.items() if value is not None for part in (name, value)]


def _scales_said(measured) -> list[str]:
    """The scales of runs as their notes say them: :func:`_measured_scale`'s (its text, or ``(sy, sx)``), each
    axis's."""
    return [v for m in measured for v in (m if isinstance(m, tuple) else (m,))]


def _selfcheck_measures(uses, grounds, ground_scales, measured, model, batch: bool, options=()) -> tuple[str, str]:
    """The selfcheck commands that end the notes of a scale below the trained ones and of pixels outside the
    trained ground resolutions (:func:`~ldcsr_core.selfcheck_command.selfcheck_measure`): of the first input each
    concerns that selfcheck can measure (a batch: an example; one of per-axis scales only where every one is), at its
    run's scale (``measured``: :func:`_measured_scale`'s, by the inputs' names as ``grounds``; ``ground_scales``: the
    ``(sy, sx)`` that makes their pixels), with the run's
    ``options`` that selfcheck takes (:func:`_selfcheck_options`); "" where no input is concerned."""
    from ..rules import untrained_ground_note, untrained_scale_note
    from ..selfcheck_command import selfcheck_measure

    def example(concerned):  # one scale on both axes first: its command measures it
        return next((c for c in concerned if not isinstance(c[1], tuple)), concerned[0]) if concerned else None

    low = example([(src, measured[name]) for (src, _, _), name in zip(uses, measured)
                   if untrained_scale_note(_scales_said([measured[name]]))])
    ground = example([(src, measured[name]) for (src, _, _), (name, pixel) in zip(uses, grounds.items())
                      if untrained_ground_note(pixel, model=model, scale=ground_scales[name], said=measured[name])])
    return (selfcheck_measure(*low, options, batch=batch) if low else "",
            selfcheck_measure(*ground, options, batch=batch, on_scene=True) if ground else "")


def _adapted_notes(model, uses, measured, mode: str, batch: bool) -> list[str]:
    """The notes for an adapted ``model`` used beyond what its guard checked
    (:func:`~ldcsr_core.adapted_use.outside_use`): one per distinct note, not per input; in a
    batch each names its inputs. Each run's scale is said as its other notes say it (``measured``:
    :func:`_measured_scale`'s: a ``-r`` run's ×3.33, not ×3.33333), and is outside the guard's only where the
    scale asked is too."""
    from ..adapted_use import adapted_check, outside_use

    checked = adapted_check(model)
    notes: dict[str, list] = {}
    for (src, scales, reading), name in zip(uses, measured):
        note = outside_use(checked, scales, mode, reading) and outside_use(
            checked, _scales_said([measured[name]]), mode, reading)
        if note:
            notes.setdefault(note, []).append(Path(src).name)
    if not batch:
        return list(notes)
    return [f"{note} ({', '.join(names[:3])}{f' and {len(names) - 3} more' if len(names) > 3 else ''})"
            for note, names in notes.items()]


def _load_model(model_path, device, dtype=None):
    from .. import load_model
    from ..precision import model_dtype

    model = load_model(model_path, device=device, dtype=dtype)
    log.info("model %s (sha256 %s) on %s in %s", getattr(model, "name", "?"),
             getattr(model, "weights_sha256", "?"), getattr(model, "device", device), model_dtype(model))
    return model


def _runner(dask_address, model_path, device, model=None):
    import contextlib

    if not dask_address:
        return contextlib.nullcontext(None)
    from ..geo.distributed import ModelSource, dask_runner

    from ..precision import model_dtype

    # Workers run on their own machines: the device 'auto' is resolved there; the float type is
    # the client's, so that every tile is computed alike.
    if model_path and Path(model_path).is_file():  # a file: the workers may run in another folder
        model_path = Path(model_path).resolve()
    src = ModelSource(path=str(model_path) if model_path else None, device=device,
                      dtype=model_dtype(model) if model is not None else None,
                      weights_sha256=getattr(model, "weights_sha256", None) or None)
    return dask_runner(dask_address, src)
