"""What an output GeoTIFF carries of its source's metadata beyond the default domain: the scene's
IMAGERY (acquisition time, satellite) stays true after super-resolution; TIFF's DateTime is the
source file's own date and is not copied."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster, upscale_window
from ldcsr_core.geo.raster_io import read_raster, write_raster

from .conftest import sha256, smooth_field, write_tif

IMAGERY = {"ACQUISITIONDATETIME": "2019-05-01T10:03:11Z", "SATELLITEID": "S2A", "CLOUDCOVER": "3.5"}
FAST = UpscaleOptions(mode="fast")


@pytest.fixture
def scene(tmp_path):
    data = smooth_field(np.random.default_rng(3), 24, 28, 3, 0, 255).astype(np.uint8)
    p = write_tif(tmp_path / "scene.tif", data, dtype="uint8",
                  tags={"TIFFTAG_DATETIME": "2019:05:01 10:03:11", "CAPTION": "Vienna"})
    with rasterio.open(p, "r+") as ds:
        ds.update_tags(ns="IMAGERY", **IMAGERY)
    return p


def _check(out):
    with rasterio.open(out) as d:
        assert d.tags(ns="IMAGERY") == IMAGERY
        t = d.tags()
        assert t["CAPTION"] == "Vienna"  # the default domain is still carried
        assert "TIFFTAG_DATETIME" not in t  # the source file's date is not this file's


def test_upscale_raster_carries_imagery_not_file_date(scene, tiny_model, tmp_path):
    before = sha256(scene)
    res = upscale_raster(scene, tmp_path / "o.tif", model=tiny_model, scale=2, options=FAST,
                         output=OutputOptions())
    assert res.status == "written"
    _check(tmp_path / "o.tif")
    assert sha256(scene) == before


def test_cli_upscale_carries_imagery(scene, tiny_model_file, tmp_path):
    r = CliRunner().invoke(main, ["upscale", str(scene), "-o", str(tmp_path / "c.tif"), "--scale", "2",
                                  "--mode", "fast", "--model", str(tiny_model_file)])
    assert r.exit_code == 0, r.output
    _check(tmp_path / "c.tif")


def test_upscale_window_and_write_raster_carry_imagery(scene, tiny_model, tmp_path):
    with rasterio.open(scene) as s:
        geo = upscale_window(s, model=tiny_model, scale=2, options=FAST)
    assert geo.domains == {"IMAGERY": IMAGERY} and "TIFFTAG_DATETIME" not in geo.tags
    _check(write_raster(tmp_path / "w.tif", geo))
    again = read_raster(tmp_path / "w.tif")  # read and written again: still carried
    assert again.domains == {"IMAGERY": IMAGERY}
    with rasterio.open(write_raster(tmp_path / "w2.tif", again)) as d:
        assert d.tags(ns="IMAGERY") == IMAGERY


def test_a_copy_of_a_file_does_not_take_its_date(scene, tmp_path):
    """write_raster of read_raster (the same pixels, as napari's Save of an opened layer) is a new file:
    the scene's IMAGERY and tags go with it, the source file's TIFF DateTime does not (before: kept,
    a file written today claimed its source's date)."""
    geo = read_raster(scene)
    assert geo.tags["TIFFTAG_DATETIME"] == "2019:05:01 10:03:11"  # what the file says of itself, as read
    _check(write_raster(tmp_path / "copy.tif", geo))


def _check_spread(path):
    """The spread file shows the mean's scene: its tags and IMAGERY, not the file's date; its bands are
    its own (names, no band tags: a source band's tags describe that band's values, not their spread)."""
    _check(path)
    with rasterio.open(path) as d:
        assert d.descriptions == ("spread of red", "spread of green", "spread of blue")  # (a band's name, else colour)
        assert d.tags(1) == {} and "LDCSR_SPREAD" in d.tags()


def test_the_spread_file_carries_the_scene_as_the_mean(scene, tiny_model_file, tmp_path):
    """Before: the spread file of --samples (same scene, same grid, same time as the mean) carried none
    of its source's tags or IMAGERY domain (no acquisition time, no satellite)."""
    with rasterio.open(scene, "r+") as ds:
        ds.set_band_description(1, "red")
        ds.update_tags(1, WAVELENGTH="0.665")
    r = CliRunner().invoke(main, ["upscale", str(scene), "-o", str(tmp_path / "m.tif"), "--scale", "2",
                                  "--samples", "2", "--model", str(tiny_model_file)])
    assert r.exit_code == 0, r.output
    _check(tmp_path / "m.tif")
    _check_spread(tmp_path / "m_spread.tif")


def test_upscale_window_spread_carries_the_scene_as_the_mean(scene, tiny_model, tmp_path):
    from ldcsr_core.geo.spread import upscale_window_spread

    with rasterio.open(scene) as s:
        res = upscale_window_spread(s, model=tiny_model, scale=2, options=UpscaleOptions(samples=2))
    for geo in res:
        assert geo.domains == {"IMAGERY": IMAGERY} and geo.tags["CAPTION"] == "Vienna"
        assert "TIFFTAG_DATETIME" not in geo.tags
    _check(write_raster(tmp_path / "s.tif", res.spread))
