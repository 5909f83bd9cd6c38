"""Time to read a lazy layer's coarser levels (what napari reads per displayed tile when zoomed out).

Makes (once, under ``--workdir``, default ``/tmp``) a ``--size``² single-band GeoTIFF of
``--dtype`` with a nodata border and nodata speckles (512-px deflate blocks), with and without
2×..8× overviews, opens each with the plugin's lazy reader and times, ``--repeat`` times: opening
it as napari would (the reader, then the coarsest level's range if the reader gave no contrast
limits: napari's own read of it) and reading every ``CHUNK``-sized tile of each coarser level.
Prints the medians (s); ``--gdal-average`` also times GDAL's average of the same full-resolution
windows to each tile's size (what the reader did before 2026-12-06), read after the layer's own, on
GDAL's warm cache. Run it with the checkout to measure first on ``PYTHONPATH``:

    PYTHONPATH=src:. .venv/bin/python benchmarks/lazy_levels.py --size 8192 --dtype int16
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def make(path: Path, size: int, dtype: str, overviews: bool) -> Path:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.transform import from_origin

    if path.exists():
        return path
    nodata = {"uint8": 0, "uint16": 0}.get(dtype, -9999)
    rng = np.random.default_rng(0)
    prof = dict(driver="GTiff", width=size, height=size, count=1, dtype=dtype, nodata=nodata, crs="EPSG:32633",
                transform=from_origin(600000, 5340000, 1, 1), tiled=True, blockxsize=512, blockysize=512,
                compress="deflate")
    tmp = path.with_suffix(".part.tif")
    with rasterio.open(tmp, "w", **prof) as dst:
        for y in range(0, size, 1024):
            h = min(1024, size - y)
            yy, xx = np.mgrid[y:y + h, 0:size]
            a = ((yy // 7 + xx // 5) % 200 + 50 + rng.integers(0, 20, (h, size))).astype(dtype)
            a[:, : size // 10] = nodata  # a nodata border
            a[rng.random((h, size)) < 0.02] = nodata
            dst.write(a[None], window=((y, y + h), (0, size)))
        if overviews:
            dst.build_overviews([2, 4, 8], Resampling.average)
    tmp.rename(path)
    return path


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench(path: Path, repeat: int, gdal_average: bool = False) -> dict:
    import rasterio
    from napari_ldcsr.io import _lazy
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    def open_layer():
        (levels, kw, _), = _lazy.lazy_layer_data(path)
        if "contrast_limits" not in kw:  # napari reads the coarsest level for its range
            np.nanmin(np.asarray(levels[-1])), np.nanmax(np.asarray(levels[-1]))
        return levels

    levels = open_layer()
    out = {"open": statistics.median(timed(open_layer) for _ in range(repeat))}
    for lv in levels[1:]:
        lvl = _lazy.window_reader(lv)
        c = _lazy.CHUNK

        def tiles(lvl=lvl):
            for r in range(0, lvl.shape[0], c):
                for q in range(0, lvl.shape[1], c):
                    lvl[r:r + c, q:q + c]
        key = f"x{lvl.factor} ({lvl.shape[0]}², {(-(-lvl.shape[0] // c)) ** 2} tiles)"
        out[key] = statistics.median(timed(tiles) for _ in range(repeat))
        if gdal_average:
            with rasterio.open(path) as ds:
                def averaged(f=lvl.factor, n=lvl.shape[0]):
                    for r in range(0, n, c):
                        for q in range(0, n, c):
                            h, w = min(c, n - r), min(c, n - q)
                            ds.read(1, window=Window(q * f, r * f, min(w * f, ds.width - q * f),
                                                     min(h * f, ds.height - r * f)),
                                    out_shape=(h, w), resampling=Resampling.average)
                out[key + " GDAL's average"] = statistics.median(timed(averaged) for _ in range(repeat))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--dtype", default="int16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--gdal-average", action="store_true", help="also time GDAL's average of the same windows")
    args = ap.parse_args()
    for ovr in (False, True):
        name = f"ldcsr_lazy_levels_{args.size}_{args.dtype}{'_ovr' if ovr else ''}.tif"
        path = make(Path(args.workdir) / name, args.size, args.dtype, ovr)
        for key, t in bench(path, args.repeat, args.gdal_average).items():
            print(f"{name}  {key:40s} {t:.3f} s")


if __name__ == "__main__":
    main()
