"""Does the diffusion spread mean something? Rank correlation of per-pixel spread with per-pixel error.

For each validation image and scale: HR → LR (the ``ldcsr evaluate`` protocol: PIL bicubic to
``int(H/s)×int(W/s)``), ``upscale(lr, out_shape=HR, samples=K)`` → mean and spread, then the Spearman
rank correlation between the spread (mean over RGB, grey levels) and the absolute error of the
delivered mean (|mean − HR|, mean over RGB), over the pixels inside the ``ceil(s)`` border crop.

Reported per scale: the median and the interquartile range of the per-image correlations, the
correlation over all pixels pooled, the spread's size (mean, 99th percentile, share of pixels under
0.5 grey level), and as a yardstick the same correlation for a model-free predictor, the gradient
magnitude of the bicubic upscale (errors gather at edges whatever the model); "lift" is spread
minus yardstick. A spread that only repeats "edges are hard" has no lift.

    python benchmarks/uncertainty_eval.py --samples 4 --scales 2,4 --limit 14 [--crop 192] [--model PATH] \
        [--dtype auto|float32|bfloat16|float16] [--json out.json]

The float type the model computes in moves the figures (v4 ×4, 28 crops: median rho 0.208 in float32,
0.190 in bfloat16): it is ``ldcsr evaluate``'s (``precision.measuring_dtype``: ``--dtype``, else
``LDCSR_DTYPE``, else float32), and the table's first line and the JSON say the type computed in.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "rsscn7" / "val"


def _grad_mag(img: np.ndarray) -> np.ndarray:
    g = img.astype(np.float32).mean(-1)
    gy, gx = np.gradient(g)
    return np.hypot(gy, gx)


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    r = spearmanr(a.ravel(), b.ravel()).statistic
    return float(r) if np.isfinite(r) else float("nan")


def _center_crop(img: np.ndarray, size: int | None) -> np.ndarray:
    if not size:
        return img
    H, W = img.shape[:2]
    y, x = max(0, (H - size) // 2), max(0, (W - size) // 2)
    return img[y:y + size, x:x + size]


def evaluate(model, files, scales, *, samples: int, seed: int = 0, pool_pixels: int = 20000,
             crop: int | None = None, progress=None) -> dict:
    from PIL import Image

    from ldcsr_core import upscale
    from ldcsr_core.training.data import degrade, load_rgb

    rng = np.random.default_rng(0)
    out = {}
    for s in scales:
        per, base, pooled_sp, pooled_err, pooled_g = [], [], [], [], []
        sizes, t0 = [], time.time()
        for i, f in enumerate(files):
            hr = _center_crop(load_rgb(f), crop)
            H, W = hr.shape[:2]
            lr = degrade(hr, (int(H / s), int(W / s)))
            res = upscale(lr, out_shape=(H, W), model=model, mode="diffusion", seed=seed, samples=samples)
            b = math.ceil(s)
            inner = (slice(b, H - b), slice(b, W - b))
            spread = res.spread[inner].mean(-1)  # grey levels
            err = np.abs(res.mean[inner].astype(np.float32) - hr[inner].astype(np.float32)).mean(-1)
            bic = np.asarray(Image.fromarray(lr).resize((W, H), Image.BICUBIC))
            grad = _grad_mag(bic)[inner]
            per.append(_rho(spread, err))
            base.append(_rho(grad, err))
            idx = rng.choice(spread.size, min(pool_pixels, spread.size), replace=False)
            pooled_sp.append(spread.ravel()[idx])
            pooled_err.append(err.ravel()[idx])
            pooled_g.append(grad.ravel()[idx])
            sizes.append(spread.ravel())
            if progress:
                progress(s, i + 1, len(files), per[-1])
        allsp = np.concatenate(sizes)
        per_a, base_a = np.asarray(per), np.asarray(base)
        out[str(s)] = {
            "rho_median": float(np.nanmedian(per_a)),
            "rho_q25": float(np.nanpercentile(per_a, 25)),
            "rho_q75": float(np.nanpercentile(per_a, 75)),
            "rho_pooled": _rho(np.concatenate(pooled_sp), np.concatenate(pooled_err)),
            "grad_rho_median": float(np.nanmedian(base_a)),
            "grad_rho_pooled": _rho(np.concatenate(pooled_g), np.concatenate(pooled_err)),
            "lift_median": float(np.nanmedian(per_a - base_a)),
            "spread_mean": float(allsp.mean()),
            "spread_p99": float(np.percentile(allsp, 99)),
            "share_below_half_grey": float((allsp < 0.5).mean()),
            "mean_abs_error": float(np.mean([e.mean() for e in pooled_err])),
            "seconds_per_image": (time.time() - t0) / len(files),
            "per_image": [round(v, 4) for v in per],
        }
    from ldcsr_core.precision import model_dtype

    return {"model": getattr(model, "name", "?"), "version": getattr(model, "version", None),
            "weights_sha256": getattr(model, "weights_sha256", ""), "dtype": model_dtype(model),
            "device": str(getattr(model, "device", "cpu")), "samples": samples, "seed": seed,
            "images": len(files), "crop": crop, "files": [Path(f).name for f in files], "scales": out}


def format_table(r: dict) -> str:
    lines = [f"model {r['model']} {r.get('version') or ''} · diffusion · {r['dtype']} on {r['device']} · "
             f"K={r['samples']} samples · "
             f"{r['images']} images" + (f" ({r['crop']}² centre crops)" if r.get("crop") else "") + " · Spearman rho(spread, |mean - HR|)",
             f"{'scale':>5} {'rho med':>8} {'IQR':>13} {'pooled':>7} {'grad med':>8} {'grad pool':>9} {'lift':>6} "
             f"{'spread':>7} {'p99':>6} {'<0.5gl':>7} {'|err|':>6} {'s/img':>6}"]
    for s, x in r["scales"].items():
        lines.append(
            f"{float(s):>5g} {x['rho_median']:>8.3f} [{x['rho_q25']:>5.2f},{x['rho_q75']:>5.2f}] "
            f"{x['rho_pooled']:>7.3f} {x['grad_rho_median']:>8.3f} {x['grad_rho_pooled']:>9.3f} {x['lift_median']:>+6.3f} "
            f"{x['spread_mean']:>7.3f} {x['spread_p99']:>6.2f} {x['share_below_half_grey']:>7.1%} "
            f"{x['mean_abs_error']:>6.2f} {x['seconds_per_image']:>6.1f}")
    lines.append("spread, p99, |err|: grey levels (0-255), mean over RGB; <0.5gl: share of pixels whose "
                 "spread is under half a grey level; grad: rho of the bicubic gradient magnitude (no model)")
    return "\n".join(lines)


def main(argv=None) -> int:
    from ldcsr_core.precision import DTYPES, measuring_dtype

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of HR images (RSSCN7 val)")
    ap.add_argument("--model", default=None, help="model path or name (default: the shipped model)")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--scales", default="2,4")
    ap.add_argument("--limit", type=int, default=None, help="every k-th image so that at most N remain")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crop", type=int, default=None, help="centre crop of each HR image (px), to save time")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--dtype", choices=DTYPES, default=None,
                    help="float type the model computes in (default: LDCSR_DTYPE, else float32, as ldcsr evaluate)")
    ap.add_argument("--device", default="auto", help="where the model runs (default: auto, as ldcsr evaluate)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    import torch

    from ldcsr_core import load_model
    from ldcsr_core.training.data import list_images
    from ldcsr_core.training.evaluate import select_files

    if a.threads:
        torch.set_num_threads(a.threads)
    files = select_files(sorted(list_images(a.data)), a.limit)
    model = load_model(a.model, device=a.device, dtype=measuring_dtype(a.dtype))  # evaluate's rule: float32 unless asked
    scales = [float(s) for s in a.scales.split(",")]

    def progress(s, i, n, rho):
        print(f"  x{s:g} {i}/{n} rho={rho:.3f}", file=sys.stderr, flush=True)

    res = evaluate(model, files, scales, samples=a.samples, seed=a.seed, crop=a.crop,
                   progress=progress)
    print(format_table(res))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
