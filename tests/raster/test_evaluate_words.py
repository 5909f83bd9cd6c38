"""``ldcsr evaluate`` of a folder holding a damaged image, and the rasters upscale reads (a ``.vrt``, ``.jp2``)."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main


def _images(folder, n=2):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(folder / f"i{i}.png")


def _evaluate(folder, model):
    return CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(model), "--scales", "2", "--device", "cpu"])


def test_an_unreadable_image_says_to_take_it_out(tmp_path, tiny_model_file):
    """Before: 'cannot read set/bad.png as a raster (...)', exit 5, and nothing on how to score the rest."""
    _images(tmp_path / "set")
    (tmp_path / "set" / "bad.png").write_text("junk")
    r = _evaluate(tmp_path / "set", tiny_model_file)
    assert r.exit_code == 5, r.output
    said = " ".join(r.output.split())
    assert f"cannot read {tmp_path / 'set' / 'bad.png'}" in said, r.output
    assert said.endswith("(move it out of the folder, or remove it, to score the other images)"), r.output


def test_every_raster_upscale_reads_is_scored(tmp_path, tiny_model_file):
    """One rule for the formats read: a .jp2, .vrt, .img and .gtiff are read as upscale reads them (the same
    reader scores a .tif). Before: they were 'note: not read: ... (only .bmp, .jpeg, .jpg, .png, .tif, .tiff, .webp
    images are; convert them to GeoTIFF to include them, e.g. gdal_translate b.gtiff b.tif)', a GeoTIFF told to
    become a GeoTIFF, and a folder of them alone was exit 5, 'no images'. A hidden name (macOS's ._i0.png beside
    i0.png on a stick) is no image, as for upscale: before, 'cannot read set/._i0.png', exit 5."""
    import rasterio
    from rasterio.shutil import copy

    _images(tmp_path / "set", n=1)
    (tmp_path / "set" / "._i0.png").write_bytes(b"\0\5\26\7junk")  # AppleDouble
    src = tmp_path / "t.tif"  # outside the set: the VRT's source
    with rasterio.open(src, "w", driver="GTiff", width=48, height=48, count=3, dtype="uint8") as ds:
        ds.write(np.random.default_rng(1).integers(0, 255, (3, 48, 48), dtype=np.uint8))
    for driver, name in (("JP2OpenJPEG", "b.jp2"), ("VRT", "c.vrt"), ("HFA", "d.img"), ("GTiff", "e.gtiff")):
        copy(src, tmp_path / "set" / name, driver=driver)
    r = _evaluate(tmp_path / "set", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert "· 5 images" in r.output and "not read" not in r.output, r.output
    (tmp_path / "set" / "i0.png").unlink()
    r = _evaluate(tmp_path / "set", tiny_model_file)
    assert r.exit_code == 0 and "· 4 images" in r.output, r.output
