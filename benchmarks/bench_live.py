"""Interactive timings of the live lens and of big scenes, in a real napari viewer.

Drives napari (needs a display: run under ``xvfb-run``) with the shipped default model on
``--threads`` CPU threads, a 1000×700 canvas, fast mode, and prints (median of ``--repeat`` fresh,
uncached views each, at different places of the scene):

* camera stopped → first LDCSR tile on screen (includes the lens's debounce; cache cleared);
* camera stopped → the whole view done, at ×4;
* camera back on a view seen before → the whole view shown again (from the tile cache);
* the sample tiled up to ``--big``² as a GeoTIFF (with overviews): open → first frame drawn,
  and the resident-memory growth for the layer; then the lens on it (first tile, whole view);
* the cache's memory at its default bound (and what it held at the end).

    xvfb-run -a -s "-screen 0 1600x1200x24" .venv/bin/python benchmarks/bench_live.py
    ... --threads 2 --repeat 3 --big 8000 --mode fast --workdir /tmp/ldcsr-bench

``--busy`` keeps one core busy (a ``while True: pass`` process) for the whole run; ``--big 0``
skips the big scene.  Every view also reports the UI's longest stall while the lens computed (a
20 ms timer in the GUI thread: the most it fired late).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _qt_pump import draw, pump  # the module next to this script


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def make_big_scene(src_path: str, path: Path, size: int) -> Path:
    """The sample scene tiled (mirrored, so seams are continuous) up to ``size``², georeferenced
    like the sample, written in 512-px blocks with deflate and 2×..64× overviews."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    if path.exists():
        return path
    with rasterio.open(src_path) as s:
        tile = s.read()
        profile = s.profile
        transform = s.transform
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[:, :, ::-1]], axis=2)  # 800×800, mirror-continuous
    t = tile.shape[1]
    strip = np.concatenate([tile] * (-(-size // t)), axis=2)[:, :, :size]  # 3 × 800 × size
    profile.update(height=size, width=size, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                   transform=transform, photometric="RGB", BIGTIFF="IF_SAFER")
    tmp = path.with_suffix(".part.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            h = min(512, size - r0)
            band = strip[:, np.arange(r0, r0 + h) % t]
            dst.write(band, window=Window(0, r0, size, h))
        dst.build_overviews([2, 4, 8, 16, 32, 64], Resampling.average)
    os.replace(tmp, path)
    return path


class Bench:
    def __init__(self, args):
        import napari
        import torch
        from qtpy.QtWidgets import QApplication

        torch.set_num_threads(args.threads)
        self.args = args
        self.stalls = []
        self.viewer = napari.Viewer(show=True)
        self.app = QApplication.instance()
        self._fit_canvas(1000, 700)
        from napari_ldcsr.run._job import ModelCache

        self.models = ModelCache()
        t0 = time.perf_counter()
        self.models.get(None)  # the model stays loaded for the whole session
        self.model_load_s = time.perf_counter() - t0

    def _fit_canvas(self, w, h):
        win = self.viewer.window
        win.resize(w + 300, h + 200)
        self.pump(0.3)
        for _ in range(4):
            ch, cw = self.viewer.canvas.size
            qw = win._qt_window
            win.resize(qw.width() + (w - cw), qw.height() + (h - ch))
            self.pump(0.3)
        print(f"canvas (h, w) = {tuple(self.viewer.canvas.size)}")

    def pump(self, seconds=0.0):
        pump(self.app, seconds)

    def draw(self):
        """Process events and make the canvas paint a frame now (what 'on screen' means here)."""
        draw(self.app, self.viewer)

    def lens_on(self, layer):
        from napari_ldcsr.lens._lens import LiveLens

        lens = LiveLens(self.viewer, model_provider=self.models.get, mode=self.args.mode,
                        debounce_ms=self.args.debounce_ms)
        if self.args.redraw_ms is not None:
            lens.REDRAW_MS = self.args.redraw_ms
        lens.set_layer(layer)
        return lens

    def view(self, lens, layer, centre, ratio, timeout=600):
        """Move the camera; return (s to first tile on screen, s to whole view, n tiles, computed)."""
        first = {}

        def on_tile(_):
            if "t" not in first:
                self.draw()
                first["t"] = time.perf_counter()

        cam = self.viewer.camera
        if ratio < 1.25:  # the lens is idle below ×1.25: just move there
            cam.center = tuple(layer.data_to_world(centre))
            cam.zoom = ratio / float(abs(layer.scale[-1]))
            self.pump(self.args.debounce_ms / 1000 + 0.1)
            return None
        from qtpy.QtCore import QEventLoop, QTimer

        loop = QEventLoop()

        def finished():
            v = lens.view
            return v is not None and v is not old and v.composer.complete

        def on_done(_gen):
            if finished():
                loop.quit()

        ticks = []
        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        lens.tile_shown.connect(on_tile)
        lens.view_done.connect(on_done)
        old = lens.view  # (a fully cached view is shown synchronously by the camera change)
        t0 = time.perf_counter()  # the camera's last move (a zoom, then a pan) starts here
        cam.zoom = ratio / float(abs(layer.scale[-1]))
        cam.center = tuple(layer.data_to_world(centre))
        ticks.append(time.perf_counter())
        timer.start()
        if not finished():  # wait in Qt's event loop, as the application does (no polling)
            QTimer.singleShot(int(timeout * 1000), loop.quit)
            loop.exec()
        timer.stop()
        self.stalls.append(max([b - a - 0.02 for a, b in itertools.pairwise(ticks)] or [0.0]))
        lens.view_done.disconnect(on_done)
        self.draw()
        t_done = time.perf_counter() - t0
        lens.tile_shown.disconnect(on_tile)
        v = lens.view
        return (first.get("t", time.perf_counter()) - t0, t_done, len(v.composer.keys), v.computed)


def spin():
    while True:
        pass


def report(name, values, target=None, unit="s"):
    med = statistics.median(values)
    tgt = f"  (target ≤ {target:g} {unit}: {'met' if med <= target else 'NOT met'})" if target is not None else ""
    print(f"{name:58s} median {med:7.2f} {unit}  runs {', '.join(f'{v:.2f}' for v in values)}{tgt}")
    return med


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--mode", default="fast", choices=("fast", "diffusion"))
    p.add_argument("--scale", type=float, default=4.0, help="screen px per source px of the views")
    p.add_argument("--big", type=int, default=8000, help="side of the big synthetic scene")
    p.add_argument("--debounce-ms", type=int, default=150)
    p.add_argument("--redraw-ms", type=int, default=None,
                   help="LiveLens.REDRAW_MS (least time between redraws while tiles arrive); default: the lens's")
    p.add_argument("--busy", action="store_true", help="keep one core busy (another process) meanwhile")
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "ldcsr-bench-live"))
    args = p.parse_args(argv)

    from napari_ldcsr.io._lazy import lazy_layer_data
    from napari_ldcsr.lens._lens_cache import DEFAULT_CACHE_BYTES
    from napari_ldcsr.io._sample import neon_osbs_sample, sample_path

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    big_path = make_big_scene(sample_path(), work / f"neon_tiled_{args.big}.tif", args.big) if args.big else None
    if args.busy:
        import multiprocessing as mp

        spinner = mp.Process(target=spin, daemon=True)
        spinner.start()
        print("one core kept busy by another process")

    b = Bench(args)
    try:
        from ldcsr_core.threads import describe
        policy = describe(spin=True)
    except ImportError:  # an older checkout
        policy = "torch's"
    import ldcsr_core
    print(f"engine {ldcsr_core.__file__}; thread policy: {policy}")
    print(f"model load {b.model_load_s:.2f} s; torch threads {args.threads}; mode {args.mode}; "
          f"×{args.scale:g} views; debounce {args.debounce_ms} ms")
    # ---- the sample scene
    (data, kw, _), = neon_osbs_sample()
    sample = b.viewer.add_image(data, **kw)
    b.pump(0.2)
    lens = b.lens_on(sample)
    lens.set_enabled(True)
    b.pump(0.1)
    centres = [(130, 150), (270, 260), (200, 120), (120, 280), (280, 130)][:args.repeat]
    runs = []
    for c in centres:
        lens.cache.clear()  # a fresh view each time (the 400² scene is too small for disjoint views)
        runs.append(b.view(lens, sample, c, args.scale))
    print(f"sample 400² (views of {runs[0][2]} tiles of the global grid; computed {[r[3] for r in runs]})")
    report("sample: camera stopped → first LDCSR tile on screen", [r[0] for r in runs], 1.0)
    report(f"sample: camera stopped → whole 1000×700 view at ×{args.scale:g}", [r[1] for r in runs], 4.0)
    again = []
    b.view(lens, sample, centres[0], args.scale)
    for c in centres[:1] * len(centres):
        b.view(lens, sample, (200, 200), 1.0)  # look elsewhere (×1: lens idle) …
        again.append(b.view(lens, sample, c, args.scale)[1])  # … and back
    report("sample: previously seen view shown again (cache)", again, 0.2)
    report("sample: the UI's longest stall during a view", b.stalls[:len(runs)], 0.1)
    lens.close()
    b.viewer.layers.remove(sample)
    b.pump(0.2)
    if not args.big:
        b.viewer.close()
        return 0

    # ---- the big scene
    opens, grows = [], []
    for _ in range(args.repeat):
        import gc

        gc.collect()
        m0 = rss_mb()
        t0 = time.perf_counter()
        (levels, kw, _), = lazy_layer_data(big_path)
        big = b.viewer.add_image(levels, **kw)
        b.viewer.reset_view()
        b.draw()
        opens.append(time.perf_counter() - t0)
        b.pump(0.2)
        grows.append(rss_mb() - m0)
        b.viewer.layers.remove(big)
        b.pump(0.1)
    report(f"big {args.big}²: open → first frame drawn", opens, 2.0)
    report(f"big {args.big}²: resident memory growth for the layer", grows, 300, "MB")
    (levels, kw, _), = lazy_layer_data(big_path)
    big = b.viewer.add_image(levels, **kw)
    b.draw()
    lens = b.lens_on(big)
    lens.set_enabled(True)
    n = args.big
    centres = [(n * 0.3, n * 0.4), (n * 0.7, n * 0.2), (n * 0.5, n * 0.8), (n * 0.2, n * 0.6), (n * 0.9, n * 0.9)]
    runs = []
    for c in centres[:args.repeat]:
        lens.cache.clear()
        runs.append(b.view(lens, big, c, args.scale))
    report("big: camera stopped → first LDCSR tile on screen", [r[0] for r in runs], 1.0)
    report(f"big: camera stopped → whole 1000×700 view at ×{args.scale:g}", [r[1] for r in runs], 4.0)
    tile_mb = 256 * 256 * 3 * 4 / 2**20
    print(f"tile cache: default bound {DEFAULT_CACHE_BYTES / 2**20:.0f} MB (≈{DEFAULT_CACHE_BYTES / 2**20 / tile_mb:.0f} "
          f"tiles of 256² float32); held at the end {lens.cache.nbytes / 2**20:.1f} MB in {len(lens.cache)} tiles")
    lens.close()
    b.viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
