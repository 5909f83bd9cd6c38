"""A float file whose declared nodata is infinite (``-inf`` or ``inf``, a product's fill): its output declares it and
holds it on the nodata pixels, so GDAL's mask of the output is the input's, scaled (``nodata_masks.nodata_as``)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from .conftest import cli_here, smooth_field, write_tif


@pytest.mark.parametrize("fill", [float("-inf"), float("inf")])
def test_an_infinite_nodata_is_written_on_the_outputs_nodata_pixels(tmp_path, tiny_model_file, fill):
    """Before: the output declared the file's -inf but wrote NaN on its nodata pixels, which GDAL's mask
    (``read_masks``, rasterio's ``masked=True``) then took for valid data: every nodata pixel became data."""
    data = smooth_field(np.random.default_rng(0), 48, 48, 3, 0.0, 1.0)
    data[:, :8, :] = fill
    src = write_tif(tmp_path / "s.tif", data, dtype="float32", nodata=fill)
    r = cli_here(["upscale", src, "-o", tmp_path / "o.tif", "-s", "2", "--mode", "fast", "-m", tiny_model_file])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.nodata == fill
        values, masks = out.read(), out.read_masks()
    assert (values[:, :16, :] == fill).all() and not np.isnan(values).any()
    assert (masks[:, :16, :] == 0).all() and (masks[:, 16:, :] == 255).all()
