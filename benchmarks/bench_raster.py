"""Peak memory and throughput of file-to-file super-resolution against scene size.

Writes synthetic uint8 RGB GeoTIFF scenes (streamed, tiled, deflate), super-resolves each one in a
fresh subprocess with :func:`ldcsr_core.geo.pipeline.upscale_raster`, and prints seconds, megapixels/s and
the subprocess's peak RSS. Peak RSS should stay flat as the scene grows: the pipeline holds one tile
row of the output, never the scene.

    python benchmarks/bench_raster.py                       # 512² .. 4096², ×2, tiny model, fast
    python benchmarks/bench_raster.py --sizes 20000 --scale 2 --tile 512   # the 20000² ×2 case
    python benchmarks/bench_raster.py --model weights.safetensors --mode diffusion
    python benchmarks/bench_raster.py --engine null --sizes 1000 4000 20000  # pipeline memory only

Without ``--model`` the model is the tiny random-weight test config (cheap; measures the I/O and
tiling pipeline rather than the network). Scenes are cached in ``--workdir`` between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_scene(path: Path, size: int, block: int = 512) -> Path:
    """A ``size``² × 3 uint8 GeoTIFF with structure at several scales, written window by window."""
    import rasterio
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    if path.exists():
        return path
    tmp = path.with_suffix(".part.tif")
    prof = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8",
                crs=CRS.from_epsg(32633), transform=from_origin(500000, 5400000, 10, 10),
                tiled=True, blockxsize=block, blockysize=block, compress="deflate",
                photometric="RGB", bigtiff="IF_SAFER")
    rng = np.random.default_rng(0)
    with rasterio.open(tmp, "w", **prof) as ds:
        for y0 in range(0, size, block):
            h = min(block, size - y0)
            yy = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
            xx = np.arange(size, dtype=np.float32)[None, :]
            rows = np.empty((3, h, size), np.uint8)
            for b in range(3):
                f = (128 + 60 * np.sin(xx * (0.013 + 0.004 * b)) * np.cos(yy * 0.021)
                     + 30 * np.sin((xx + yy) * 0.11 + b)
                     + rng.normal(0, 8, (h, size)).astype(np.float32))
                rows[b] = np.clip(f, 0, 255).astype(np.uint8)
            ds.write(rows, window=Window(0, y0, size, h))
    os.replace(tmp, path)
    return path


def _nearest_tile(model, lr_tile, tile, plan, *, mode="fast", seed=0, noise=None):
    """Stand-in for ``tiling.process_tile``: nearest-neighbour upsampling of the tile (no network).

    Used by ``--engine null`` to measure the pipeline itself (reading, stretch, merging, writing)
    at scene sizes the CPU network could not finish within a benchmark run.
    """
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    ry, rx, _, _ = tile.read
    wy, wx, wh, ww = tile.write
    ys = ((2 * np.arange(wy, wy + wh) + 1) * h) // (2 * H) - ry
    xs = ((2 * np.arange(wx, wx + ww) + 1) * w) // (2 * W) - rx
    return lr_tile[ys[:, None], xs[None, :]].astype(np.float32)


def _child(args) -> None:
    """Run one file in this (fresh) process and print a JSON line with its numbers."""
    import torch

    import ldcsr_core
    from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

    torch.set_num_threads(args.threads)
    if args.engine == "null":
        import ldcsr_core.tiling as tiling

        tiling.process_tile = _nearest_tile
    if args.model:
        model = ldcsr_core.load_model(args.model, device="cpu")
    else:
        from ldcsr_core.config import tiny_test_config

        model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    out = Path(args.out)
    t0 = time.perf_counter()
    res = upscale_raster(args.src, out, model=model, scale=args.scale,
                         options=UpscaleOptions(mode=args.mode, seed=0, tile=args.tile),
                         output=OutputOptions(overwrite=True))
    dt = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    size = out.stat().st_size
    out.unlink()
    print(json.dumps({"in": res.in_shape, "out": res.out_shape, "tiles": res.tiles,
                      "seconds": dt, "peak_rss_mb": peak_kb / 1024, "out_mb": size / 2**20}))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096],
                    help="scene sides in pixels (square, 3-band uint8)")
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--mode", choices=["fast", "diffusion"], default="fast")
    ap.add_argument("--tile", type=int, default=None, help="tile side in input px (engine default)")
    ap.add_argument("--model", default=None, help="checkpoint (default: tiny random-weight model)")
    ap.add_argument("--engine", choices=["model", "null"], default="model",
                    help="'null' replaces the network by nearest-neighbour upsampling, to measure "
                         "the I/O/tiling/merging pipeline alone on very large scenes")
    ap.add_argument("--threads", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "ldcsr-bench"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"ldcsr raster benchmark: x{args.scale:g}, mode {args.mode}, tile {args.tile or 'auto'}, "
          f"model {args.model or 'tiny (random weights)'}, {args.threads} torch threads"
          + (", engine NULL (nearest-neighbour stand-in, pipeline only)"
             if args.engine == "null" else ""))
    print(f"{'scene':>13} {'output':>13} {'tiles':>6} {'seconds':>8} {'out MP/s':>9} "
          f"{'in MP/s':>8} {'peak RSS MB':>12} {'file MB':>8}")
    for size in args.sizes:
        t0 = time.perf_counter()
        src = make_scene(work / f"scene_{size}.tif", size)
        made = time.perf_counter() - t0
        cmd = [sys.executable, __file__, "--child", "--src", str(src),
               "--out", str(work / f"out_{size}.tif"), "--scale", str(args.scale),
               "--mode", args.mode, "--threads", str(args.threads), "--engine", args.engine]
        if args.tile:
            cmd += ["--tile", str(args.tile)]
        if args.model:
            cmd += ["--model", args.model]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{size}²: failed\n{p.stderr[-2000:]}")
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        (h, w), (H, W) = r["in"], r["out"]
        print(f"{w:>6}x{h:<6} {W:>6}x{H:<6} {r['tiles']:>6} {r['seconds']:>8.1f} "
              f"{H * W / 1e6 / r['seconds']:>9.2f} {h * w / 1e6 / r['seconds']:>8.2f} "
              f"{r['peak_rss_mb']:>12.0f} {r['out_mb']:>8.1f}"
              + (f"   (scene written in {made:.0f} s)" if made > 5 else ""))


if __name__ == "__main__":
    main()
