"""Per-pixel speed of model files side by side (the model card's "speed within 1.25× of v1").

    python benchmarks/bench_models.py ldcsr-compact-rsscn7-v1 ldcsr-compact-rsscn7 \
        --scales 2,4 --modes fast,diffusion --size 512 --repeat 3 --threads 2

For every (scale, mode) the models run `upscale` on the same random-textured image of ``--size``²
output pixels in turn, ``--repeat`` rounds (after one warm-up round), so machine load hits them
alike; the table gives each model's median time and its ratio to the first model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import ldcsr_core


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model names or .safetensors paths; the first is the reference")
    p.add_argument("--scales", default="2,4")
    p.add_argument("--modes", default="fast,diffusion")
    p.add_argument("--size", type=int, default=512, help="output side in pixels")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    models = [ldcsr_core.load_model(m, device="cpu") for m in a.models]
    rng = np.random.default_rng(0)
    print(f"{'scale':>5} {'mode':<9} " + " ".join(f"{m[-28:]:>30}" for m in a.models))
    for scale in (float(s) for s in a.scales.split(",")):
        side = int(round(a.size / scale))
        img = (rng.random((side, side, 3)) * 255).astype(np.uint8)
        for mode in a.modes.split(","):
            times = [[] for _ in models]
            for r in range(a.repeat + 1):
                for i, m in enumerate(models):
                    t0 = time.perf_counter()
                    ldcsr_core.upscale(img, out_shape=(a.size, a.size), model=m, mode=mode, seed=0)
                    if r:  # round 0 warms up
                        times[i].append(time.perf_counter() - t0)
            med = [statistics.median(t) for t in times]
            cells = [f"{t:8.3f} s ({t / med[0]:4.2f}×)" for t in med]
            print(f"{scale:5.2f} {mode:<9} " + " ".join(f"{c:>30}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
