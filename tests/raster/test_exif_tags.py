"""A drone photo's EXIF tags (GDAL's ``EXIF_*`` dataset tags of a JPEG) on its output: those that count pixels grow with
them, as the print resolution does (``georef.resampled_tags``), and the file's own date is not carried
(``georef.FILE_OWN_TAGS``); the capture's date, camera and lens stay."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from PIL import Image

from .conftest import cli_here, smooth_field

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def _drone_jpeg(path):
    rgb = smooth_field(np.random.default_rng(0), 48, 64, 3, 20, 230).round().astype("uint8").transpose(1, 2, 0)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "DJI", "FC6310", "2024:05:01 10:00:00"  # Make, Model, DateTime
    exif[0x011A], exif[0x011B], exif[0x0128] = 72.0, 72.0, 2  # X/YResolution, ResolutionUnit (inch)
    sub = exif.get_ifd(0x8769)
    sub[0xA002], sub[0xA003] = 64, 48  # PixelX/YDimension
    sub[0x9003], sub[0x920A] = "2024:05:01 09:59:58", 8.8  # DateTimeOriginal, FocalLength
    sub[0xA20E], sub[0xA20F] = 3000.0, 3000.0  # FocalPlaneX/YResolution
    Image.fromarray(rgb).save(path, exif=exif, quality=95)
    return path


def test_a_drone_photos_exif_tags_tell_the_truth_of_its_output(tmp_path, tiny_model_file):
    """Before: a 128x96 output said EXIF_PixelXDimension=64, EXIF_PixelYDimension=48, EXIF_XResolution=(72) and
    the focal plane's 3000, the source's, and EXIF_DateTime, the source file's date; now 128, 96, (144), 6000,
    and no EXIF_DateTime."""
    src = _drone_jpeg(tmp_path / "d.jpg")
    with rasterio.open(src) as s:
        assert s.tags()["EXIF_PixelXDimension"] == "64" and s.tags()["EXIF_XResolution"] == "(72)"
        assert s.tags()["EXIF_FocalPlaneXResolution"] == "3000"
    r = cli_here(["upscale", src, "-o", tmp_path / "o.tif", "-s", "2", "--mode", "fast", "-m", tiny_model_file])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as out:
        t = out.tags()
        assert (out.width, out.height) == (128, 96)
    assert (t["EXIF_PixelXDimension"], t["EXIF_PixelYDimension"]) == ("128", "96")
    assert (t["EXIF_XResolution"], t["EXIF_YResolution"]) == ("(144)", "(144)")
    assert (t["EXIF_FocalPlaneXResolution"], t["EXIF_FocalPlaneYResolution"]) == ("6000", "6000")
    assert "EXIF_DateTime" not in t
    assert (t["EXIF_DateTimeOriginal"], t["EXIF_Make"], t["EXIF_FocalLength"]) == ("2024:05:01 09:59:58", "DJI", "8.8")
