"""``ldcsr selfcheck``: is the model better than bicubic on this scene? (:mod:`ldcsr_core.quality`)."""

from __future__ import annotations

import click

from ..rules import MAX_SCALE, comma_parts
from ..words import path_said
from . import options as opt

__all__ = ["selfcheck_command", "parse_window"]


def parse_window(text: str | None):
    """``"x,y,w,h"`` (column, row, width, height in pixels) → ``(row_off, col_off, height, width)``."""
    if text is None:
        return None
    try:
        x, y, w, h = (int(v) for v in comma_parts(text.replace(" ", "")))  # ('０，０，６４，６４' too)
    except ValueError:
        raise click.BadParameter(f"must be four whole numbers 'x,y,w,h' (pixels), got {text!r}",
                                 param_hint="'--window'") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise click.BadParameter(f"needs x, y >= 0 and w, h >= 1, got {text!r}", param_hint="'--window'")
    return y, x, h, w


@click.command("selfcheck")
@click.argument("scene", type=opt.InputPathType())
@click.option("--scale", "-s", "scales", multiple=True, required=True,
              type=opt.ScaleType(),
              help=f"Factor to check (> 1, <= {MAX_SCALE:g}); repeat for several.")
@opt.model_run_opts
@opt.dtype_opt
@opt.nodata_opt
@click.option("--window", default=None, metavar="X,Y,W,H",
              help="Check only this pixel window (column, row, width, height).")
@click.option("--max-pixels", type=click.IntRange(min=1), default=1024 * 1024, show_default=True,
              help="Scenes with more pixels (and no --window) are checked on sampled windows.")
@click.option("--samples", type=click.IntRange(min=1), default=4, show_default=True,
              help="How many windows to sample from a large scene (regular grid).")
@click.option("--sample-size", type=click.IntRange(min=16), default=512, show_default=True,
              help="Side of the sampled windows (px).")
@click.option("--mean-of", type=opt.SamplesType(), default=1, show_default=True, metavar="K",
              help="Diffusion mode: score the mean of K samples (seeds SEED..SEED+K-1), the picture 'ldcsr upscale "
                   "--samples K' writes, not one sample. K times slower.")
@click.option("--json", "json_out", type=opt.ReportPathType(), default=None,
              help="Also write the figures as a JSON list, one object per scale (atomically); a .html "
                   "name gets the HTML page instead (as QGIS's quality report).")
@opt.report_overwrite_opt
@click.pass_context
def selfcheck_command(ctx, scene, scales, model_path, mode, seed, tile, device, bands, stretch,
                      dtype, nodata, window, max_pixels, samples, sample_size, mean_of, json_out, overwrite):
    """Is LDCSR better than bicubic on SCENE? Reduced-resolution check (Wald's protocol).

    The scene is its own reference: it is degraded by the scale (PIL bicubic, as 'ldcsr
    evaluate'), restored by the model and by bicubic, and both are compared with the scene (PSNR
    and SSIM on RGB uint8, border crop ceil(scale)). One line per scale.

    \b
    Limits: it measures the restoration one step (the scale) coarser than the real
    use, and assumes a bicubic-like sensor blur. It tells whether the model helps
    on this kind of scene, not how accurate the real upscaled pixels are.

    \b
    Examples:
      ldcsr selfcheck scene.tif --scale 4 --mode fast
      ldcsr selfcheck s2.tif -s 2 -s 4 --bands 4,3,2 --window 0,0,1024,1024 --json q.json
    """
    from pathlib import Path

    from ..errors import InputError
    from ..geo.job import check_not_spread_map
    from ..geo.radiometry import band_holder, parse_bands, plan_bands
    from ..geo.raster_io import files_read, open_raster, raster_info
    from ..quality import check_has_data, selfcheck_windows, selfcheck_scales, write_report
    from .upscale_cmd import _load_model

    try:
        band_sel = parse_bands(bands)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'--bands'") from None
    box = parse_window(window)
    opt.check_samples_mode("--mean-of", mean_of, mode)  # upscale's --samples rule, in its words
    if opt.missing_input(scene):
        raise click.BadParameter(f"input not found: {path_said(scene)}", param_hint="'SCENE'")
    with open_raster(scene, nodata=nodata) as ds:  # readable (exit 5 otherwise), nodata fits, before the model
        check_not_spread_map(ds.tags(), Path(scene).name, use="selfcheck")  # upscale's refusal (exit 3)
        reads = files_read(ds)  # the scene, its sidecars, a VRT's sources
        info = raster_info(ds)  # bands it lacks: the engine's refusal, before its windows' (below), as selfcheck's
        plan_bands(ds.count, info.colorinterp, band_sel, info.descriptions, band_holder(ds))
        shape = ds.height, ds.width
    if json_out is not None:
        opt.check_report(json_out, "'--json'", overwrite=overwrite,
                         inputs=[(scene, "the scene"), (opt.model_file(model_path), "the model file"), *reads])
    # the engine's refusals of the windows (off the scene, over --max-pixels, too small for the scale, every pixel
    # of them nodata) before the cost note and the model (exit 3); before, said after both
    _, boxes = selfcheck_windows(shape, scales, box, max_pixels, samples, sample_size)
    check_has_data(scene, boxes, band_sel, nodata)
    if mean_of > 1 and not ctx.obj.get("quiet"):  # K whole runs a scale, as upscale --samples K says it
        from ..uncertainty import samples_cost

        click.echo(f"note: {samples_cost(mean_of, of='check')}", err=True)
    model = _load_model(model_path, device, dtype)
    results = selfcheck_scales(scene, sorted(set(scales)), model=model, mode=mode, seed=seed,
                               tile=tile, window=box, bands=band_sel, stretch=stretch,
                               max_pixels=max_pixels, samples=samples, sample_size=sample_size,
                               maps=False, nodata=nodata, mean_of=mean_of)
    for r in results:
        click.echo(r.line())
    if json_out is not None:
        write_report(json_out, results, scene=scene, overwrite=overwrite)  # a .html name: the HTML page
    if not ctx.obj.get("quiet"):
        from ..quality import LIMITS

        click.echo(f"Note: {LIMITS}.", err=True)
