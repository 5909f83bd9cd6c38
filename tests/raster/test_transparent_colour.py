"""A picture whose transparent colour GDAL reads as ``NODATA_VALUES`` (a PNG's tRNS chunk, ``10 20 30``: nodata where
every band holds its value): its output declares its own nodata, written on every band's nodata pixels, and does not
carry the source's ``NODATA_VALUES`` (``georef.FILE_OWN_TAGS``), so GDAL's mask of the output is the input's, scaled."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from PIL import Image

from .conftest import cli_here, smooth_field

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def test_a_pngs_transparent_colour_stays_transparent_in_the_output(tmp_path, tiny_model_file):
    """Before: the output carried the source's NODATA_VALUES=10 20 30 while its nodata pixels held 10, 10, 10, so
    GDAL's mask (and QGIS's transparency) took every one of them for data: the transparent border showed as dark."""
    rgb = smooth_field(np.random.default_rng(0), 48, 48, 3, 40, 220).round().astype("uint8").transpose(1, 2, 0)
    rgb[:8] = (10, 20, 30)  # the transparent colour: the top 8 rows
    Image.fromarray(rgb).save(tmp_path / "t.png", transparency=(10, 20, 30))
    with rasterio.open(tmp_path / "t.png") as src:
        assert src.tags().get("NODATA_VALUES") == "10 20 30" and (src.dataset_mask()[:8] == 0).all()
    r = cli_here(["upscale", tmp_path / "t.png", "-o", tmp_path / "o.tif", "-s", "2", "--mode", "fast",
                  "-m", tiny_model_file])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as out:
        assert "NODATA_VALUES" not in out.tags()
        mask = out.dataset_mask()
        assert (mask[:16] == 0).all() and (mask[16:] == 255).all()
        assert all((out.read_masks(b)[:16] == 0).all() for b in (1, 2, 3))
