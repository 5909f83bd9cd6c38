"""The host side of the raster path at an "infinitely fast card": ``upscale_raster`` with the model
replaced by nearest-neighbour resampling, so what is timed is reading, blending, converting back to
the source's units, compressing and writing (what must keep up with a GPU)::

    python benchmarks/host_path.py --side 2000 --scale 4 --compress deflate --repeats 3

``--sink-thread`` writes as on a card (rows converted, compressed and written by a thread of their
own); ``--compare`` alternates without and with it and prints both medians.  The input is a
synthetic ``--side``² 3-band uint8 GeoTIFF made once in ``--workdir``; the output's pixels are hashed
so that variants can be checked to write the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np


class NearestRunner:
    """A stand-in for the model: each window's output is its LR pixels, nearest-neighbour upsampled."""

    def map(self, jobs, plan, *, mode, seed):
        (h, w), (H, W) = plan.in_shape, plan.out_shape
        for tile, arr in jobs:
            ys = np.arange(tile.write_y.start, tile.write_y.stop) * h // H - tile.read_y.start
            xs = np.arange(tile.write_x.start, tile.write_x.stop) * w // W - tile.read_x.start
            yield tile, arr[ys][:, xs].astype(np.float32)

    def close(self):
        pass


def make_input(path: Path, side: int) -> None:
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:side, 0:side]
    img = np.stack([128 + 60 * np.sin(xx / (9 + c)) * np.cos(yy / 13) for c in range(3)])
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(500000, 4000000, 0.3, 0.3), tiled=True,
                       blockxsize=512, blockysize=512, compress="deflate") as dst:
        dst.write(img)


def run(src: Path, out: Path, model, scale: float, compress: str, sink_thread: bool) -> tuple[float, str]:
    import rasterio

    from ldcsr_core.geo import pipeline

    pipeline_on_card = getattr(pipeline, "_on_card", None)  # (absent before 2026-12-05)
    pipeline._on_card = lambda m: sink_thread  # where the engine decides it: a card writes in a thread
    try:
        t0 = time.perf_counter()
        pipeline.upscale_raster(src, out, model=model, scale=scale, options=pipeline.UpscaleOptions(mode="fast"),
                                output=pipeline.OutputOptions(overwrite=True, compress=compress),
                                runner=NearestRunner())
        t = time.perf_counter() - t0
    finally:
        pipeline._on_card = pipeline_on_card
    with rasterio.open(out) as ds:
        digest = hashlib.sha256(ds.read().tobytes()).hexdigest()[:16]
    return t, digest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=2000)
    p.add_argument("--scale", type=float, default=4.0)
    p.add_argument("--compress", default="deflate", choices=["deflate", "zstd", "lzw", "none"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sink-thread", action="store_true")
    p.add_argument("--compare", action="store_true", help="alternate without and with the writing thread")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/ldcsr-host-path"))
    a = p.parse_args(argv)

    import ldcsr_core

    a.workdir.mkdir(parents=True, exist_ok=True)
    src = a.workdir / f"in_{a.side}.tif"
    if not src.exists():
        make_input(src, a.side)
    model = ldcsr_core.load_model(device="cpu")  # plans the windows; never called
    variants = [False, True] if a.compare else [a.sink_thread]
    times: dict[bool, list[float]] = {v: [] for v in variants}
    digests = set()
    mp = (a.side * a.scale) ** 2 / 1e6
    for _ in range(a.repeats):
        for v in variants:
            t, digest = run(src, a.workdir / "out.tif", model, a.scale, a.compress, v)
            times[v].append(t)
            digests.add(digest)
            print(f"{'writing thread' if v else 'one thread':14s} {t:6.2f} s  {mp / t:6.1f} MP/s  pixels {digest}",
                  flush=True)
    for v in variants:
        t = statistics.median(times[v])
        print(f"median {'writing thread' if v else 'one thread':14s}: {t:.2f} s, {mp / t:.1f} MP/s "
              f"({a.side}² ×{a.scale:g} → {mp:.0f} MP, {a.compress})")
    print("same pixels in every run" if len(digests) == 1 else f"PIXELS DIFFER: {sorted(digests)}")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
