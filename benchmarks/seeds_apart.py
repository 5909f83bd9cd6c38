"""How far apart two seeds' diffusion pictures are: PSNR between seed 0's and seed 1's output.

For the first validation image of each RSSCN7 class (a091 … g091), its central ``--crop`` px are
the input (the image as a user has it, not degraded), upscaled ×``--scale`` in diffusion mode with
seed 0 and with seed 1; the line per image is the PSNR between the two outputs (255 peak, all
pixels, RGB). The further apart, the more detail the seed chooses (fast mode is one picture).

    python benchmarks/seeds_apart.py [--scale 4] [--crop 128] [--model PATH] [--threads 2]

The float type the model computes in (``LDCSR_DTYPE``; auto: bfloat16 on a CPU with native
bfloat16) moves the figures a little; the first line says which.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rsscn7" / "val"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="RSSCN7 val: one folder per class")
    ap.add_argument("--model", default=None, help="model path or name (default: the shipped model)")
    ap.add_argument("--scale", type=float, default=4.0)
    ap.add_argument("--crop", type=int, default=128, help="central crop of each image taken as the input (px)")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    import torch
    from PIL import Image

    import ldcsr_core
    from ldcsr_core.precision import model_dtype

    if a.threads:
        torch.set_num_threads(a.threads)
    model = ldcsr_core.load_model(a.model)
    print(f"{model.name} {model.version}, {model_dtype(model)}, x{a.scale:g}, {a.crop}² px input, seed 0 vs seed 1")
    apart = []
    for folder in sorted(p for p in a.data.iterdir() if p.is_dir()):
        first = sorted(folder.iterdir())[0]
        img = np.asarray(Image.open(first).convert("RGB"))
        y, x = (img.shape[0] - a.crop) // 2, (img.shape[1] - a.crop) // 2
        lr = img[y:y + a.crop, x:x + a.crop]
        one, two = (ldcsr_core.upscale(lr, a.scale, model=model, mode="diffusion", seed=s).astype(np.float64)
                    for s in (0, 1))
        apart.append(10 * np.log10(255.0 ** 2 / np.mean((one - two) ** 2)))
        print(f"{first.name}  {one.shape[1]}×{one.shape[0]} output  {apart[-1]:.1f} dB", flush=True)
    print(f"range {min(apart):.1f}–{max(apart):.1f} dB, median {np.median(apart):.1f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
