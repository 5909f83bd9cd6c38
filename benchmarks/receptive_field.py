"""Measure how much overlap tiles need: tiled vs untiled output as a function of the overlap.

The decoder's channel attention (CCA) uses statistics of the whole window and the UNet attends over
the whole latent, so no finite receptive field makes tiling exact; what matters is how far inside
a window its border still changes the output.  Two measurements, on a real RSSCN7 image:

* impulse: change one LR pixel in the middle, run one window (fast mode), and report the radius
  (output px) beyond which the output moves by less than 1/255 and by less than 1e-3;
* overlap sweep: tile the output with windows of ``--window`` output px overlapping by ``ov``
  (raised-cosine blend) and report PSNR (0–1 scale) against one window, fast and diffusion;
* margin sweep: butt-joined windows (overlap 0) reading ``--margins`` LR px of context, PSNR as
  above and the time of the fast run (what ``rules.MAX_TILE_MARGIN`` rests on).

Usage: python benchmarks/receptive_field.py [--model PATH] [--threads 2] [--image FOLDER]
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from functools import partial

import numpy as np
import torch

from ldcsr_core.training import metrics

psnr = partial(metrics.psnr, data_range=1.0)  # engine images in [0, 1]


def run(model, img, out_shape, mode, plan):
    from ldcsr_core.tiling import run_plan
    out = np.empty(out_shape + (3,), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    run_plan(model, plan, lambda y0, x0, h, w: img[y0:y0 + h, x0:x0 + w], sink, mode=mode, seed=0)
    return np.clip(out, 0, 1)


def main():
    import ldcsr_core
    from ldcsr_core.tileplan import plan_tiles
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--image", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                   "rsscn7", "val"))
    p.add_argument("--window", type=int, default=256)
    p.add_argument("--scales", default="2.5,4")
    p.add_argument("--overlaps", default="0,8,16,24,32,48,64")
    p.add_argument("--margins", default="4,8,16")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = ldcsr_core.load_model(a.model, device="cpu")
    files = sorted(glob.glob(os.path.join(a.image, "**", "*.jpg"), recursive=True))
    if files:
        from PIL import Image
        img = np.asarray(Image.open(files[len(files) // 2]).convert("RGB"), np.float32) / 255.0
    else:  # no data: a synthetic texture
        yy, xx = np.mgrid[:400, :400]
        img = (0.5 + 0.25 * np.sin(xx / 5.0) * np.cos(yy / 9.0))[..., None].repeat(3, 2).astype(np.float32)
    print(f"model {model.name}, image {files[len(files) // 2] if files else 'synthetic'}")
    for s in (float(v) for v in a.scales.split(",")):
        h = w = int(round(a.window * 2 / s))  # the output is two windows wide before overlap
        lr = np.ascontiguousarray(img[:h, :w])
        H, W = round(h * s), round(w * s)
        whole = plan_tiles((h, w), (H, W), window=max(H, W) + 8)
        # impulse response: one LR pixel changed by +0.25
        bumped = lr.copy()
        cy, cx = h // 2, w // 2
        bumped[cy, cx] = np.clip(bumped[cy, cx] + 0.25, 0, 1)
        ref = run(model, lr, (H, W), "fast", whole)
        d = np.abs(run(model, bumped, (H, W), "fast", whole) - ref).max(-1)
        yy, xx = np.mgrid[:H, :W]
        r = np.hypot(yy - (cy + 0.5) * s, xx - (cx + 0.5) * s)
        rad = {thr: float(r[d > thr].max()) if (d > thr).any() else 0.0 for thr in (1 / 255, 1e-3)}
        print(f"×{s:g} {h}×{w}→{H}×{W}: impulse radius (output px) |Δ|>1/255: {rad[1 / 255]:.0f}, "
              f"|Δ|>1e-3: {rad[1e-3]:.0f}")
        refs = {m: run(model, lr, (H, W), m, whole) for m in ("fast", "diffusion")}
        for ov in (int(v) for v in a.overlaps.split(",")):
            plan = plan_tiles((h, w), (H, W), window=a.window, overlap_out=ov)
            row = [f"  overlap {ov:>3} px ({len(plan)} tiles, margin default):"]
            for m in ("fast", "diffusion"):
                row.append(f"{m} {psnr(run(model, lr, (H, W), m, plan), refs[m]):6.2f} dB")
            print(" ".join(row), flush=True)
        for mg in (int(v) for v in a.margins.split(",")):
            plan = plan_tiles((h, w), (H, W), window=a.window, overlap_out=0, margin=mg)
            t0 = time.perf_counter()
            fast = run(model, lr, (H, W), "fast", plan)
            dt = time.perf_counter() - t0
            diff = psnr(run(model, lr, (H, W), "diffusion", plan), refs["diffusion"])
            print(f"  overlap   0 px, margin {mg:>2} LR px ({len(plan)} tiles): fast {psnr(fast, refs['fast']):6.2f} dB "
                  f"({dt:.2f} s) diffusion {diff:6.2f} dB", flush=True)


if __name__ == "__main__":
    main()
