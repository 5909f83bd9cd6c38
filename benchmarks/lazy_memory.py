"""Resident memory while panning a big, lazily opened GeoTIFF with the live lens on.

Makes (once, under ``--workdir``, default ``/tmp``) a ``--size``² RGB uint8 GeoTIFF (the sample
scene tiled, 512-px deflate blocks, 2×..64× overviews: what ``bench_live.py`` uses), opens it with
the plugin's reader in a real napari viewer (needs a display: run under ``xvfb-run``; the reader
opens it as a lazy multiscale layer), docks the plugin widget, turns the live lens on (fast mode,
the shipped default model) and moves the camera over ``--moves`` distinct places at zooms where
the lens works (×1.5 … ×4 screen px per pixel) and where it does not (×0.05 … ×1), waiting for
each view to settle. Every ``--every`` moves it prints the process's RSS and what the caches it
can see hold:

* ``lens``: the live lens's tile cache (bytes, tiles);
* ``dask``: napari's opportunistic dask cache (``napari.utils._dask_utils._DASK_CACHE``, a
  ``cachey.Cache``: bytes held / its bound, entries);
* ``gdal``: GDAL's block cache (``GDALGetCacheUsed64`` / ``GDALGetCacheMax64`` of the libgdal
  rasterio loaded);
* ``heap``: glibc's ``mallinfo2`` (bytes in use by malloc / free bytes kept in its heaps, all
  arenas; mmapped blocks counted as in use).

At the end: the medians of the view times (camera stopped → view settled: for lens views, the
whole LDCSR view on screen; for the others, the level's blocks drawn).

    LDCSR_THREADS=1 xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python benchmarks/lazy_memory.py
    ... --moves 300 --dask-cache-mb 0          # napari's dask cache off
    ... --gdal-cachemax-mb 64                  # GDAL's block cache bounded to 64 MB
    ... --napari-default-caches                # what napari/GDAL do without the plugin's bounds
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import statistics
import sys
import time
from pathlib import Path

from _qt_pump import draw, pump  # the module next to this script


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _libgdal():
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "libgdal" in os.path.basename(p) and ".so" in p:
                lib = ctypes.CDLL(p)
                lib.GDALGetCacheUsed64.restype = ctypes.c_int64
                lib.GDALGetCacheMax64.restype = ctypes.c_int64
                return lib
    return None


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                 "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_mb() -> tuple[float, float]:
    """(in use, free but kept) MB of glibc's heaps (NaN elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return float("nan"), float("nan")
    return (m.uordblks + m.hblkhd) / 2**20, m.fordblks / 2**20


def make_scene(path: Path, size: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_live import make_big_scene
    from napari_ldcsr.io._sample import sample_path

    return make_big_scene(sample_path(), path, size)


class Run:
    def __init__(self, args, path: Path):
        import napari
        from qtpy.QtWidgets import QApplication

        from napari_ldcsr._widget import LdcsrWidget

        self.args = args
        self.viewer = napari.Viewer(show=True)
        self.app = QApplication.instance()
        self.viewer.window.resize(args.canvas[0] + 560, args.canvas[1] + 200)
        self.pump(0.5)
        t0 = time.perf_counter()
        layers = self.viewer.open(str(path), plugin="napari-ldcsr")
        self.layer = layers[0]
        assert self.layer.multiscale, "the reader did not open the file lazily"
        self.draw()
        self.open_s = time.perf_counter() - t0
        self.widget = LdcsrWidget(self.viewer)
        self.viewer.window.add_dock_widget(self.widget, name="LDCSR super-resolution")
        self.widget.set_layer(self.layer)
        self.pump(0.5)
        self.widget.models.get(None)  # the model loaded before the first move (as after the first view)
        self.lens = self.widget.live.lens
        self.widget.live.live_box.setChecked(True)
        assert self.lens.enabled and self.lens.layer is self.layer
        self.gdal = _libgdal()
        print(f"canvas (h, w) = {tuple(self.viewer.canvas.size)}; opened in {self.open_s:.2f} s; "
              f"levels {[tuple(d.shape) for d in self.layer.data]}", flush=True)

    def pump(self, seconds=0.0):
        pump(self.app, seconds)

    def draw(self):
        draw(self.app, self.viewer, settle=True)

    def move(self, centre, ratio) -> tuple[str, float]:
        """Move the camera; wait until the view has settled; (kind, seconds from the move)."""
        from napari_ldcsr.lens._lens_cache import MIN_LENS_ZOOM

        layer, lens, cam = self.layer, self.lens, self.viewer.camera
        old = lens.view
        t0 = time.perf_counter()
        cam.zoom = ratio / float(abs(layer.scale[-1]))
        cam.center = tuple(layer.data_to_world(centre))
        self.draw()  # napari loads the level's blocks on screen when it draws
        if ratio < MIN_LENS_ZOOM:
            dt = time.perf_counter() - t0
            self.pump(self.args.debounce_s)  # the lens's debounce passes (it hides its layer)
            return "source", dt
        end = t0 + 300
        while time.perf_counter() < end:
            v = lens.view
            if v is not None and v is not old and v.composer.complete and not lens.busy:
                break
            self.app.processEvents()
            time.sleep(0.005)
        else:
            print("  (a lens view did not finish in 300 s)")
        self.draw()
        return "lens", time.perf_counter() - t0

    def caches(self) -> str:
        from napari.utils._dask_utils import _DASK_CACHE

        c = _DASK_CACHE.cache
        lens = self.lens.cache
        gd = ""
        if self.gdal is not None:
            gd = (f" gdal {self.gdal.GDALGetCacheUsed64() / 2**20:6.0f}/"
                  f"{self.gdal.GDALGetCacheMax64() / 2**20:.0f} MB")
        used, free = heap_mb()
        return (f"lens {lens.nbytes / 2**20:5.0f} MB/{len(lens):3d} tiles  "
                f"dask {c.total_bytes / 2**20:6.0f}/{c.available_bytes / 2**20:.0f} MB/{len(c.data):4d} entries "
                f"{gd}  heap {used:6.0f} used {free:5.0f} free MB")


RATIOS = (4.0, 0.05, 2.0, 0.5, 0.2, 1.0, 1.5, 0.1, 0.7, 0.3)


def places(n: int, size: int, seed: int, ratios=RATIOS):
    """``n`` camera moves: distinct random centres, zooms (screen px per pixel) cycling through
    ``ratios``: by default where the lens works (≥ ×1.25) and where it does not."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for i in range(n):
        r = ratios[i % len(ratios)]
        yield (float(rng.uniform(0.02, 0.98) * size), float(rng.uniform(0.02, 0.98) * size)), r


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=12000, help="side of the scene (px)")
    p.add_argument("--moves", type=int, default=400)
    p.add_argument("--every", type=int, default=25)
    p.add_argument("--ratios", type=float, nargs="+", default=RATIOS,
                   help="zooms the moves cycle through (below 1.25 the lens is idle: only napari draws)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--canvas", type=int, nargs=2, default=(700, 500), metavar=("W", "H"),
                   help="about the canvas size (the dock takes its share of the window)")
    p.add_argument("--debounce-s", type=float, default=0.25,
                   help="time left after a move where the lens is idle (> its 150 ms debounce)")
    p.add_argument("--dask-cache-mb", type=float, default=None,
                   help="resize napari's dask cache to this (0: off) after the viewer is made")
    p.add_argument("--gdal-cachemax-mb", type=int, default=None, help="GDAL_CACHEMAX for this run")
    p.add_argument("--napari-default-caches", action="store_true",
                   help="without the plugin's cache bounds (napari's dask cache on, GDAL's default bound)")
    p.add_argument("--workdir", default="/tmp/ldcsr-lazy-memory")
    args = p.parse_args(argv)

    if args.gdal_cachemax_mb is not None:
        os.environ["GDAL_CACHEMAX"] = str(args.gdal_cachemax_mb)  # MB, read when GDAL loads
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"neon_tiled_{args.size}.tif"
    t0 = time.perf_counter()
    make_scene(path, args.size)
    print(f"scene {path} ({path.stat().st_size / 2**20:.0f} MB on disk; {time.perf_counter() - t0:.0f} s)")

    import psutil

    if args.napari_default_caches:  # the lazy layers as before 2026-12-05: napari's dask cache, GDAL's default
        from napari_ldcsr.io import _lazy

        _lazy.bound_gdal_cache = lambda *a, **k: None
        lazy = _lazy.lazy_layer_data
        _lazy.lazy_layer_data = lambda *a, **k: [(d, dict(kw, cache=True), t) for d, kw, t in lazy(*a, **k)]
    r = Run(args, path)
    if args.dask_cache_mb is not None:
        from napari.utils import resize_dask_cache

        resize_dask_cache(int(args.dask_cache_mb * 2**20))
    print(f"threads: LDCSR_THREADS={os.environ.get('LDCSR_THREADS')}; machine {psutil.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB; GDAL_CACHEMAX={os.environ.get('GDAL_CACHEMAX')}")
    print(f"{'moves':>5} {'RSS MB':>7}  caches", flush=True)
    print(f"{0:5d} {rss_mb():7.0f}  {r.caches()}", flush=True)
    times: dict[str, list[float]] = {"lens": [], "source": []}
    t_start = time.perf_counter()
    for i, (centre, ratio) in enumerate(places(args.moves, args.size, args.seed, args.ratios), 1):
        kind, dt = r.move(centre, ratio)
        times[kind].append(dt)
        if i % args.every == 0:
            gc.collect()
            print(f"{i:5d} {rss_mb():7.0f}  {r.caches()}", flush=True)
    for kind, ts in times.items():
        if ts:
            print(f"view settled ({kind}, {len(ts)} views): median {statistics.median(ts):.3f} s, "
                  f"p90 {sorted(ts)[max(0, -(-9 * len(ts) // 10) - 1)]:.3f} s")  # nearest rank
    print(f"total {time.perf_counter() - t_start:.0f} s for {args.moves} moves")
    r.widget.live.live_box.setChecked(False)
    r.viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
