"""Evaluation on a folder of HR images, following the official test protocol.

Each HR image is downsampled by PIL bicubic to ``(int(H/s), int(W/s))``, super-resolved back to
``H×W``, and scored with PSNR/SSIM on RGB uint8 with a border crop of ``ceil(s)`` — for the model
and for PIL bicubic.  LR-consistency = PSNR between the output downsampled again (PIL bicubic) and
the LR input.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

from .data import degrade, list_images, load_rgb
from .metrics import border_crop, psnr, ssim

__all__ = ["evaluate", "evaluate_command", "format_table"]


def _bicubic(img: np.ndarray, hw) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize((hw[1], hw[0]), Image.BICUBIC))


def evaluate(model, files, scales, *, mode="fast", seed=0, tile=None, progress=None) -> dict:
    """Mean PSNR/SSIM/LR-consistency per scale for ``model`` and for bicubic."""
    from ..api import upscale
    images = [(Path(f).name, load_rgb(f)) for f in files]
    table = {}
    for s in scales:
        acc = {k: [] for k in ("psnr", "ssim", "lr_psnr", "bicubic_psnr", "bicubic_ssim", "bicubic_lr_psnr")}
        t0 = time.time()
        for i, (_, hr) in enumerate(images):
            H, W = hr.shape[:2]
            lr_hw = (int(H / s), int(W / s))
            lr = degrade(hr, lr_hw)
            sr = upscale(lr, out_shape=(H, W), model=model, mode=mode, seed=seed, tile=tile)
            bic = _bicubic(lr, (H, W))
            for name, out in (("", sr), ("bicubic_", bic)):
                acc[name + "psnr"].append(psnr(border_crop(out, s), border_crop(hr, s)))
                acc[name + "ssim"].append(ssim(border_crop(out, s), border_crop(hr, s)))
                acc[name + "lr_psnr"].append(psnr(_bicubic(out, lr_hw), lr))
            if progress:
                progress(s, i + 1, len(images))
        row = {k: float(np.mean(v)) for k, v in acc.items()}
        row["gain_db"] = row["psnr"] - row["bicubic_psnr"]
        row["seconds_per_image"] = (time.time() - t0) / len(images)
        table[str(s)] = row
    return {"mode": mode, "seed": seed, "images": len(images), "model": getattr(model, "name", "?"),
            "weights_sha256": getattr(model, "weights_sha256", ""), "scales": table}


def format_table(result: dict) -> str:
    lines = [f"model {result['model']} · mode {result['mode']} · {result['images']} images",
             f"{'scale':>6} {'PSNR':>7} {'bicubic':>8} {'gain':>6} {'SSIM':>7} {'bic SSIM':>8} {'LR-cons':>8} {'bic LR-c':>8}"]
    for s, r in result["scales"].items():
        lines.append(f"{float(s):>6.2f} {r['psnr']:>7.2f} {r['bicubic_psnr']:>8.2f} {r['gain_db']:>+6.2f} "
                     f"{r['ssim']:>7.4f} {r['bicubic_ssim']:>8.4f} {r['lr_psnr']:>8.2f} {r['bicubic_lr_psnr']:>8.2f}")
    return "\n".join(lines)


@click.command("evaluate")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--scales", default="2,2.5,3,4,6,8", show_default=True, help="Comma-separated scale factors.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Checkpoint (.ckpt or .safetensors); default: the shipped model.")
@click.option("--mode", type=click.Choice(["diffusion", "fast"]), default="fast", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tile", type=int, default=None, help="Tile side in input pixels.")
@click.option("--limit", type=int, default=None, help="Use only every k-th image so that at most N remain.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write results as JSON.")
@click.option("--device", default="auto", show_default=True)
def evaluate_command(directory, scales, model_path, mode, seed, tile, limit, json_out, device):
    """Score the model against bicubic on the HR images in DIRECTORY (PSNR, SSIM, LR-consistency)."""
    from ..checkpoints import load_model
    try:
        scale_list = [float(s) for s in scales.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"not a list of numbers: {scales!r}", param_hint="--scales") from None
    if not scale_list or any(s <= 1 for s in scale_list):
        raise click.BadParameter("scales must be > 1", param_hint="--scales")
    files = list_images(directory)
    if limit and len(files) > limit:
        files = files[:: -(-len(files) // limit)]
    model = load_model(model_path, device=device)
    result = evaluate(model, files, scale_list, mode=mode, seed=seed, tile=tile)
    click.echo(format_table(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
