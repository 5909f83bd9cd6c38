"""The QGIS tests' input rasters (no QGIS needed to write them): a projected GeoTIFF writer and a
smooth random field. Shared by ``conftest.py`` (the ``scene`` fixture) and the test modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

UTM33 = CRS.from_epsg(32633)
TRANSFORM = from_origin(600000.0, 5340000.0, 10.0, 10.0)


def _write(path, data, *, dtype, nodata=None, descriptions=None, tags=None):
    count, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=count, dtype=dtype,
                       crs=UTM33, transform=TRANSFORM, nodata=nodata) as ds:
        ds.write(data.astype(dtype))
        for i, d in enumerate(descriptions or [], start=1):
            ds.set_band_description(i, d)
        if tags:
            ds.update_tags(**tags)
    return Path(path)


def _field(rng, bands, h, w, lo, hi):
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    out = np.empty((bands, h, w))
    for b in range(bands):
        fx, fy = rng.uniform(0.05, 0.2, 2)
        f = 0.5 + 0.25 * np.sin(fx * xx + b) + 0.2 * np.cos(fy * yy) + 0.05 * rng.standard_normal((h, w))
        out[b] = lo + (hi - lo) * np.clip(f, 0, 1)
    return out.round()
