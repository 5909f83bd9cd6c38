"""``UpscaleOptions(crs=...)``: a CRS given instead of the file's (QGIS's layer CRS set in the
project). The output carries it, with the file's geotransform, and records it (``LDCSR_CRS``); the
file is not changed. Before, there was no such option and an output always got the file's CRS
(none for a picture with a world file), so it did not overlay the layer QGIS showed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from .conftest import sha256, smooth_field, write_tif


@pytest.fixture()
def no_crs(tmp_path):
    data = smooth_field(np.random.default_rng(5), 20, 24, 3, 20, 230).round().astype(np.uint8)
    return write_tif(tmp_path / "nocrs.tif", data, dtype="uint8", crs=None,
                     transform=from_origin(600000.0, 5340000.0, 10.0, 10.0))


def test_the_given_crs_is_the_outputs_and_the_file_is_unchanged(no_crs, tmp_path, tiny_model):
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster
    from ldcsr_core.geo.job import request_fingerprint

    before = sha256(no_crs)
    opts = UpscaleOptions(mode="fast", crs="EPSG:32633")
    res = upscale_raster(no_crs, tmp_path / "o.tif", model=tiny_model, target_resolution=5.0, options=opts)
    with rasterio.open(tmp_path / "o.tif") as d:
        assert d.crs == "EPSG:32633" and d.res == (5.0, 5.0) and (d.width, d.height) == (48, 40)
        assert tuple(d.bounds) == (600000.0, 5339800.0, 600240.0, 5340000.0)
        assert json.loads(d.tags()["LDCSR_CRS"]) == {"used": "EPSG:32633", "file": None}
    assert sha256(no_crs) == before
    plain = UpscaleOptions(mode="fast")
    fp = [request_fingerprint(no_crs, model=tiny_model, options=o, request={"scale": 2.0}, out_shape=res.out_shape)
          for o in (opts, plain)]
    assert fp[0] != fp[1]  # another request: not skipped as the same


def test_the_files_own_crs_is_no_override_and_a_bad_one_is_refused(no_crs, tmp_path, tiny_model):
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    with rasterio.open(no_crs, "r+") as d:
        d.crs = "EPSG:32633"
    upscale_raster(no_crs, tmp_path / "o.tif", model=tiny_model, scale=2.0,
                   options=UpscaleOptions(mode="fast", crs="EPSG:32633"))
    with rasterio.open(tmp_path / "o.tif") as d:
        assert d.crs == "EPSG:32633" and "LDCSR_CRS" not in d.tags()
    with pytest.raises(InputError, match="'nonsense' is not a CRS"):
        UpscaleOptions(crs="nonsense")
