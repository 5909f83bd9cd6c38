"""Engine speed and memory benchmark (prints figures; not a test).

For each case a fresh subprocess builds the model, warms up once and times ``--repeat`` runs;
peak RSS is that process's ru_maxrss.  Cases:
  * the official default architecture (random weights) at ×2, ×2.5, ×4 on a 512×512 output,
    untiled ``super_resolve`` — the official SR path (cond encode + 4 UNet steps + 1 decode);
  * ``--model PATH`` (or the shipped default) the same way, plus ``upscale`` (tiled);
  * a 2048×2048 output through ``upscale`` (tiled) for peak memory;
  * a seam figure: mean |step| between adjacent output pixels across tile borders vs elsewhere.

Usage: python benchmarks/bench_engine.py [--model PATH] [--threads 2] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _case(spec: dict) -> dict:
    import numpy as np
    import torch

    import ldcsr_core
    from ldcsr_core.config import official_default_config
    torch.set_num_threads(spec["threads"])
    if spec["model"] == "official-default":
        model = ldcsr_core.build_model(official_default_config(), seed=0)
        if not spec.get("channels_last", True):  # op-for-op the official layout (NCHW everywhere)
            model.use_channels_last(False)
    else:
        model = ldcsr_core.load_model(spec["model"] or None, device="cpu")
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    H = W = spec["out"]
    h, w = round(H / spec["scale"]), round(W / spec["scale"])
    rng = np.random.default_rng(0)
    times = []
    if spec["kind"] == "super_resolve":
        lr = torch.from_numpy(rng.random((1, 3, h, w), dtype=np.float32) * 2 - 1)
        run = lambda: model.super_resolve(lr, (H, W), mode=spec["mode"], generator=torch.Generator().manual_seed(0))  # noqa: E731
    else:
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        run = lambda: ldcsr_core.upscale(img, out_shape=(H, W), model=model, mode=spec["mode"], tile=spec.get("tile"))  # noqa: E731
    for i in range(spec["repeat"] + 1):
        t = time.perf_counter()
        run()
        if i:  # first run is the warm-up
            times.append(time.perf_counter() - t)
    med = sorted(times)[len(times) // 2]
    return {"seconds": round(med, 3), "runs": [round(t, 3) for t in times], "in": [h, w], "out": [H, W],
            "mpix_per_s": round(H * W / 1e6 / med, 4), "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_after_model_mib": round(rss_model, 1)}


def _seams(spec: dict) -> dict:
    import numpy as np

    import ldcsr_core
    from ldcsr_core.training.data import list_images, load_rgb
    from ldcsr_core.tiling import plan_tiles
    model = ldcsr_core.load_model(spec["model"] or None, device="cpu")
    if spec.get("image"):
        img = load_rgb(list_images(spec["image"])[0])[:160, :160]
    else:
        yy, xx = np.mgrid[:160, :160]
        img = (127 + 60 * np.sin(xx / 7.0) * np.cos(yy / 11.0))[..., None].repeat(3, 2).astype(np.uint8)
    out = {}
    for mode in ("fast", "diffusion"):
        full = ldcsr_core.upscale(img, 2.5, model=model, mode=mode, tile=10_000).astype(np.float64)
        tiled = ldcsr_core.upscale(img, 2.5, model=model, mode=mode, tile=48).astype(np.float64)
        plan = plan_tiles(img.shape[:2], full.shape[:2], 48)
        borders = sorted({t.write_x.start for t in plan.tiles if t.write_x.start > 0})
        step = np.abs(np.diff(tiled, axis=1)).mean(axis=(0, 2))  # step between columns x and x+1
        at = np.mean([step[b - 1] for b in borders])
        # the overlap zone is where blending happens: look at the whole overlap band too
        mse = np.mean((tiled - full) ** 2)
        out[mode] = {"mean_step_at_tile_starts": round(float(at), 3), "mean_step_elsewhere": round(float(step.mean()), 3),
                     "psnr_tiled_vs_untiled_db": round(float(10 * np.log10(255 ** 2 / max(mse, 1e-12))), 2)}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="checkpoint to benchmark besides the official architecture (default: shipped model)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="skip the official-architecture cases")
    p.add_argument("--image", help="folder with a real image for the seam figure")
    p.add_argument("--_case", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._case:
        spec = json.loads(a._case)
        print(json.dumps(_seams(spec) if spec["kind"] == "seams" else _case(spec)))
        return

    def run(spec):
        r = subprocess.run([sys.executable, __file__, "--_case", json.dumps(spec)], capture_output=True, text=True)
        if r.returncode:
            return {"error": r.stderr.strip().splitlines()[-1]}
        return json.loads(r.stdout.strip().splitlines()[-1])

    base = {"threads": a.threads, "repeat": a.repeat, "mode": "diffusion"}
    rows = []
    if not a.quick:
        for s in (2.0, 2.5, 4.0):
            rows.append(("official-default", "super_resolve", s, 512, run({**base, "model": "official-default", "kind": "super_resolve", "scale": s, "out": 512})))
        # the same work in the official memory layout, measured in the same session, for the ratio
        rows.append(("official-default NCHW", "super_resolve", 4.0, 512, run({**base, "model": "official-default", "kind": "super_resolve", "scale": 4.0, "out": 512, "channels_last": False})))
    for s in (2.0, 2.5, 4.0):
        for mode in ("diffusion", "fast"):
            rows.append((a.model or "shipped", f"upscale/{mode}", s, 512, run({**base, "mode": mode, "model": a.model, "kind": "upscale", "scale": s, "out": 512})))
    rows.append((a.model or "shipped", "upscale/diffusion", 4.0, 2048, run({**base, "repeat": 1, "model": a.model, "kind": "upscale", "scale": 4.0, "out": 2048})))
    print(f"{'model':<22}{'path':<20}{'scale':>6}{'out':>6}{'sec':>9}{'MP/s':>9}{'peakRSS MiB':>13}")
    for model, kind, s, out, r in rows:
        if "error" in r:
            print(f"{model:<22}{kind:<20}{s:>6}{out:>6}  ERROR {r['error']}")
        else:
            print(f"{model:<22}{kind:<20}{s:>6}{out:>6}{r['seconds']:>9}{r['mpix_per_s']:>9}{r['peak_rss_mib']:>13}")
    seams = run({"kind": "seams", "model": a.model, "image": a.image, "threads": a.threads})
    print("seams (×2.5, 48-px input tiles):", json.dumps(seams))


if __name__ == "__main__":
    main()
