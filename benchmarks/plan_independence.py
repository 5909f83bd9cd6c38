"""Does a seed give the same picture whatever the window plan? (issue 22 part 4)

For each image and scale, super-resolves the same LR crop with the same model and seed under the
plans the engine makes by itself on different machines and front ends — ``upscale`` on this CPU
(1 GiB budget), on a 141 GB card (the planner with half its memory as the device's budget), the
live lens's grid — and under the plans ``upscale``/``ldcsr upscale --tile`` make for a tile of 40,
64 and 100 input px (``plan_for_model(..., tile)``), and
prints the PSNR (0–1 scale, clipped outputs) between pairs: the worst pair among the engine's own
plans, and the worst pair with a ``--tile`` plan.  LR crops are centre crops of real RSSCN7
validation images (``--crop`` LR px).  Runs against older commits too (``PYTHONPATH=<worktree>/src``).

Usage: python benchmarks/plan_independence.py [--model PATH] [--modes fast,diffusion] [--scales 2.5,4]
       [--images 4] [--crop 256] [--tiles 40,64,100] [--threads 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import sys
from functools import partial

import numpy as np
import torch

from ldcsr_core.training import metrics

ENGINE = ("CPU", "141 GB card", "lens")
TILES = {"tile 40": 40, "tile 64": 64, "tile 100": 100}


def plans(model, in_shape, out_shape, mode, tiles=TILES):
    """name -> TilePlan: the engine's own plans (ENGINE) and ``--tile`` plans (TILES)."""
    from ldcsr_core import tiling
    from ldcsr_core.rules import DEFAULT_TILE_OUT
    from ldcsr_core.tileplan import plan_tiles

    def own(budget_mb=None, tile=None):
        try:
            return tiling.plan_for_model(model, in_shape, out_shape, tile, budget_mb=budget_mb, mode=mode)
        except TypeError:  # commits before diffusion mode's fixed windows
            return tiling.plan_for_model(model, in_shape, out_shape, tile, budget_mb=budget_mb)

    def on_card():  # what the planner makes on a 141 GB card: its memory budget as a card's
        planner = sys.modules[tiling.plan_for_model.__module__]  # window_sizing (tiling in older commits)
        real = planner.memory_budget_mb
        planner.memory_budget_mb = lambda device: 0.5 * 141e9 / 2 ** 20
        try:
            return own()
        finally:
            planner.memory_budget_mb = real

    window = getattr(tiling, "engine_window", None) or getattr(tiling, "diffusion_window", None)  # older commits
    if mode == "diffusion" and window:  # the lens's rule (napari_ldcsr.lens._plan)
        lens_side = window(model, tiling.plan_scale(in_shape, out_shape))
    else:
        lens_side = DEFAULT_TILE_OUT
    out = {"CPU": own(), "141 GB card": on_card(),
           "lens": plan_tiles(in_shape, out_shape, window=lens_side, overlap_out=model.tile_overlap)}
    out.update({k: own(tile=t) for k, t in tiles.items()})  # what `ldcsr upscale --tile` makes
    return out


def run(model, plan, lr, mode, seed):
    from ldcsr_core.tiling import run_plan
    out = np.empty(plan.out_shape + (3,), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    run_plan(model, plan, lambda y0, x0, h, w: lr[y0:y0 + h, x0:x0 + w], sink, mode=mode, seed=seed)
    return np.clip(out, 0, 1)


psnr = partial(metrics.psnr, data_range=1.0)  # engine images in [0, 1]


def centre_crop(path, side):
    from PIL import Image
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    h, w = img.shape[:2]
    y, x = (h - side) // 2, (w - side) // 2
    return np.ascontiguousarray(img[y:y + side, x:x + side])


def main():
    import ldcsr_core
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model")
    p.add_argument("--modes", default="fast,diffusion")
    p.add_argument("--scales", default="2.5,4")
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiles", default=",".join(str(t) for t in TILES.values()),
                   help="the --tile values (input px) to compare with, comma-separated")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                  "rsscn7", "val"))
    p.add_argument("--json")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = ldcsr_core.load_model(a.model, device="cpu")
    files = sorted(glob.glob(os.path.join(a.data, "**", "*.jpg"), recursive=True))
    step = max(1, len(files) // a.images)
    files = files[::step][:a.images]
    rows = []
    for mode in a.modes.split(","):
        for scale in (float(s) for s in a.scales.split(",")):
            worst_own, worst_tile = [], []
            for f in files:
                lr = centre_crop(f, a.crop)
                out_shape = (int(round(lr.shape[0] * scale)), int(round(lr.shape[1] * scale)))
                ps = plans(model, lr.shape[:2], out_shape, mode,
                           {f"tile {t}": int(t) for t in a.tiles.split(",")})
                outs = {k: run(model, p_, lr, mode, a.seed) for k, p_ in ps.items()}
                pairs = {f"{x} | {y}": psnr(outs[x], outs[y]) for x, y in itertools.combinations(ps, 2)}
                own = {k: v for k, v in pairs.items() if all(n in ENGINE for n in k.split(" | "))}
                tiled = {k: v for k, v in pairs.items() if k not in own}
                lo_own, lo_tile = min(own, key=own.get), min(tiled, key=tiled.get)
                worst_own.append(own[lo_own])
                worst_tile.append(tiled[lo_tile])
                windows = {k: len(p_.tiles) for k, p_ in ps.items()}
                rows.append({"image": os.path.basename(f), "mode": mode, "scale": scale, "out_shape": list(out_shape),
                             "windows": windows,  # pairs_db: null = identical outputs
                             "pairs_db": {k: (None if np.isinf(v) else v) for k, v in pairs.items()}})
                print(f"{mode:9s} x{scale:<4g} {os.path.basename(f):10s} windows {windows}; engine's plans: worst "
                      f"{own[lo_own]:.2f} dB ({lo_own}); with --tile: worst {tiled[lo_tile]:.2f} dB ({lo_tile})",
                      flush=True)
            print(f"== {mode} x{scale:g}, {len(files)} images: engine's own plans worst {min(worst_own):.2f} dB; "
                  f"--tile plans worst {min(worst_tile):.2f} dB (median of per-image worst "
                  f"{float(np.median(worst_tile)):.2f})", flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"model": a.model or "default", "seed": a.seed, "crop": a.crop, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
