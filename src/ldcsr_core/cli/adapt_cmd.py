"""``ldcsr adapt``: fine-tune the model on one scene's own pixels, kept only if it helps
(:mod:`ldcsr_core.adaptation`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..rules import MAX_ADAPT_SCALE
from ..words import path_said
from . import options as opt

__all__ = ["adapt_command", "EXIT_NOT_KEPT"]

EXIT_NOT_KEPT = 8  # the adapted model did not beat the base on the held-back strip: nothing written


@click.command("adapt")
@click.argument("scene", type=opt.InputPathType())
@click.option("--scale", "-s", required=True, type=opt.ScaleType(),
              help=f"The factor the model will be used at (> 1; adaptation is offered up to "
                   f"×{MAX_ADAPT_SCALE:g}, larger scales are refused, exit 3).")
@click.option("--out", "-o", "out", required=True, type=opt.OutputFileType("the adapted model"),
              help="Where the adapted model goes (.safetensors; written only if it is kept).")
@click.option("--minutes", type=click.FloatRange(0.0, 24 * 60, min_open=True), default=3.0,
              show_default=True, help="Time budget of the fine-tuning.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Stop after this many steps (reproducible runs; at most the recipe's 150; "
                   "--minutes still bounds it).")
@opt.model_opt
@click.option("--seed", type=opt.TrainingSeedType(), default=0, show_default=True,
              help="Random seed of the training crops and the optimiser (reproducible runs).")
@opt.device_opt
@opt.bands_opt
@opt.stretch_opt
@opt.nodata_opt
@click.option("--window", default=None, metavar="X,Y,W,H",
              help="Adapt to this pixel window only (column, row, width, height).")
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT (otherwise: exit 4).")
@click.pass_context
def adapt_command(ctx, scene, scale, out, minutes, steps, model_path, seed, device, bands, stretch,
                  nodata, window, overwrite):
    """Adapt the model to SCENE: fine-tune its fast path on the scene's own pixels.

    Pairs are made from SCENE alone (its crops as targets, their bicubic copies at the scale as
    inputs, flips and rotations). A strip of the scene is held back: the adapted model is written
    to OUT only if its self-check there beats the base model's; otherwise nothing is written and
    the exit status is 8. Use it with 'ldcsr upscale SCENE --model OUT --mode fast'.

    \b
    Examples:
      ldcsr --threads 2 adapt scene.tif --scale 2 -o scene-x2.safetensors --minutes 3
      ldcsr upscale scene.tif -o scene_x2.tif --scale 2 --mode fast --model scene-x2.safetensors
    """
    from ..adaptation import adapt, check_save_room
    from ..builtin_models import builtin_folder_refusal
    from ..errors import InputError, OutputExistsError, RasterIOError
    from ..files import check_name_length, check_not_special
    from ..geo.job import check_not_spread_map
    from ..geo.radiometry import parse_bands
    from ..geo.raster_io import open_raster
    from .selfcheck_cmd import parse_window
    from .upscale_cmd import _load_model

    try:
        band_sel = parse_bands(bands)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'--bands'") from None
    box = parse_window(window)
    if out.suffix.lower() != ".safetensors":
        raise click.BadParameter(f"must end in .safetensors, got {out.name!r}", param_hint="'--out'")
    try:  # before is_dir() and exists(), which fail in errno's words; else found after the training
        check_name_length(out, "the adapted model's")
    except RasterIOError as e:
        raise click.BadParameter(str(e), param_hint="'--out'") from None
    if not out.parent.is_dir():
        raise click.BadParameter(f"folder does not exist: {path_said(out.parent)}", param_hint="'--out'")
    if opt.missing_input(scene):
        raise click.BadParameter(f"input not found: {path_said(scene)}", param_hint="'SCENE'")
    from ..geo.raster_io import same_file

    if same_file(out, scene):
        raise click.BadParameter("is the scene itself", param_hint="'--out'")
    base_file = opt.model_file(model_path)  # also a built-in model's, given by name or the default
    if base_file is not None and same_file(out, base_file):
        raise click.BadParameter(f"is the model it adapts, {base_file} (inputs are never overwritten; "
                                 "give another name)", param_hint="'--out'")
    refused = builtin_folder_refusal(out)  # --overwrite or not: before a file there is reported as existing
    if refused:
        raise click.BadParameter(refused, param_hint="'--out'")
    try:
        check_not_special(out)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'--out'") from None
    if os.path.lexists(out) and not overwrite:  # a broken link too: the save keeps it (found after training)
        link = "" if out.exists() else f" (a link to {os.readlink(out)}, which is missing)"
        raise OutputExistsError(f"{out} exists{link} (use --overwrite to replace it)")
    with open_raster(scene, nodata=nodata) as ds:  # readable (exit 5 otherwise), nodata fits, before the model loads
        check_not_spread_map(ds.tags(), Path(scene).name, use="adapt")  # upscale's refusal, in adapt's words (exit 3)
    from ..threads import policy

    policy()  # a bad LDCSR_THREADS: exit 2 now, alone, not under the progress bar's first line
    model = _load_model(model_path, device, "float32")  # fine-tuned from the exact weights, as training
    check_save_room(out.parent, model)  # a model that could not be saved is refused before training
    quiet = ctx.obj.get("quiet")
    bar = None if quiet else click.progressbar(length=1000, label=f"adapting ×{scale:g}", file=sys.stderr)

    def progress(info):
        if bar is not None:
            bar.update(int(info.fraction * 1000) - bar.pos)

    try:
        result = adapt(scene, scale, model, minutes=minutes, steps=steps, seed=seed, callback=progress,
                       window=box, bands=band_sel, stretch=stretch, nodata=nodata)
    finally:
        if bar is not None:
            bar.render_finish()
    click.echo(result.line())
    if not result.kept:
        click.echo(f"No model written: keep using {model.name}.", err=True)
        ctx.exit(EXIT_NOT_KEPT)
    try:  # a file that appeared at OUT during the training (another run's) is not replaced
        result.save(out, overwrite=overwrite)
    except OutputExistsError:
        raise OutputExistsError(f"{out} appeared during the adaptation (another run's?) and was kept: "
                                "the adapted model was not written (use --overwrite to replace it)") from None
    click.echo(f"wrote {out}")
