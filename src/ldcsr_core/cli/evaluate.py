"""``ldcsr evaluate``: the click front of :func:`ldcsr_core.training.evaluate.evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import options as opt

__all__ = ["evaluate_command"]


@click.command("evaluate")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scales", default="2,2.5,3,4,6,8", show_default=True,
              help="Comma-separated scale factors.")
@opt.model_opt
@click.option("--mode", type=click.Choice(list(opt.MODES)), default="fast", show_default=True,
              help="'fast': one deterministic decode; 'diffusion': the seeded 4-step sampler.")
@opt.seed_opt
@opt.tile_opt
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use only every k-th image so that at most N remain.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write results as JSON.")
@opt.device_opt
def evaluate_command(directory, scales, model_path, mode, seed, tile, limit, json_out, device):
    """Score the model against bicubic on the HR images in DIRECTORY (PSNR, SSIM, LR-consistency)."""
    from ..checkpoints import load_model
    from ..rules import MAX_SCALE
    from ..training.data import list_images
    from ..training.evaluate import evaluate, format_table

    try:
        scale_list = [float(s) for s in scales.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"not a list of numbers: {scales!r}", param_hint="--scales") from None
    if not scale_list or any(not 1 < s <= MAX_SCALE for s in scale_list):
        raise click.BadParameter(f"scales must be > 1 and <= {MAX_SCALE:g}", param_hint="--scales")
    files = list_images(directory)
    if limit and len(files) > limit:
        files = files[:: -(-len(files) // limit)]
    model = load_model(model_path, device=device)
    result = evaluate(model, files, scale_list, mode=mode, seed=seed, tile=tile)
    click.echo(format_table(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
