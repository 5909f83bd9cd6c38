"""The inputs analysts have besides clean GeoTIFFs, written by GDAL (rasterio's drivers) and given
to ``ldcsr upscale``: each is read as GDAL reads it, its placement carried and its mask kept
(docs/cli.md, *Refusals and what they mean*)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from click.testing import CliRunner
from rasterio.transform import Affine

from ldcsr_core.cli import main

from .conftest import TRANSFORM, UTM33

H, W = 24, 32


def _rgb():
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([200 - yy * 2, 100 + xx, 30 + (xx + yy) % 20]).astype(np.uint8)  # red > green > blue


def _gtiff(path, data, **kw):
    prof = dict(driver="GTiff", width=W, height=H, count=data.shape[0], dtype=data.dtype.name, crs=UTM33,
                transform=TRANSFORM)
    prof.update(kw)
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(data)
    return path


def _copy(tmp_path, name, driver, **kw):
    base = _gtiff(tmp_path / "base.tif", _rgb(), photometric="RGB")
    with rasterio.open(base) as s:
        rasterio.shutil.copy(s, tmp_path / name, driver=driver, **kw)
    return tmp_path / name


def _masked_cog(tmp_path):
    plain = _gtiff(tmp_path / "plain.tif", _rgb(), photometric="RGB")
    with rasterio.open(plain, "r+") as ds:
        mask = np.full((H, W), 255, np.uint8)
        mask[:8, :10] = 0
        ds.write_mask(mask)
    with rasterio.open(plain) as s:
        rasterio.shutil.copy(s, tmp_path / "cog.tif", driver="COG", blocksize=16, overview_count=1)
    return tmp_path / "cog.tif"


def _relative_vrt(tmp_path):
    (tmp_path / "tiles").mkdir()
    _gtiff(tmp_path / "tiles" / "t.tif", _rgb(), photometric="RGB")
    bands = "".join(f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="1">'
                    f"tiles/t.tif</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
                    for b in (1, 2, 3))
    vrt = tmp_path / "mosaic.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="{W}" rasterYSize="{H}"><SRS>EPSG:32633</SRS><GeoTransform>'
                   f"{', '.join(map(str, TRANSFORM.to_gdal()))}</GeoTransform>{bands}</VRTDataset>")
    return vrt


MAKERS = {
    "jpeg-ycbcr-geotiff": lambda t: _copy(t, "y.tif", "GTiff", compress="JPEG", photometric="YCBCR"),
    "bigtiff": lambda t: _copy(t, "big.tif", "GTiff", BIGTIFF="YES"),
    "cog-with-mask": _masked_cog,
    "erdas-img": lambda t: _copy(t, "e.img", "HFA"),
    "envi": lambda t: _copy(t, "e.dat", "ENVI"),
    "jpeg-world-file": lambda t: _copy(t, "w.jpg", "JPEG", WORLDFILE="YES"),
    "vrt-relative-from-another-folder": _relative_vrt,
}


@pytest.mark.parametrize("kind", list(MAKERS))
def test_a_format_is_read_as_gdal_reads_it_and_placed(kind, tmp_path, tiny_model_file, monkeypatch):
    src = MAKERS[kind](tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a relative input path from another folder than the input's
    r = CliRunner().invoke(main, ["upscale", f"../{src.name}", "-o", "out.tif", "-s", "2", "--mode", "fast",
                                  "--model", str(tiny_model_file)])
    assert r.exit_code == 0, r.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(src) as s, rasterio.open(elsewhere / "out.tif") as o:
            assert (o.count, o.height, o.width) == (3, 2 * H, 2 * W)
            assert o.crs == UTM33 and o.transform == s.transform * Affine.scale(0.5)
            means = [float(o.read(b).mean()) for b in (1, 2, 3)]
            assert means[0] > means[1] > means[2]  # red, green, blue as GDAL reads them (not YCbCr)
            want = np.repeat(np.repeat(s.dataset_mask() == 0, 2, 0), 2, 1)
            assert np.array_equal(o.dataset_mask() == 0, want)  # a mask band kept (none: none)
            assert want.any() == (kind == "cog-with-mask")


def test_one_and_twelve_bit_tiffs(tmp_path, tiny_model_file, caplog):
    """1 bit: GDAL's black-and-white colour table, expanded to RGB with its warning; 12 bits: uint16,
    the output without NBITS (the model's output is not cut to 12 bits); a 16-bit PNG: uint16."""
    yy, xx = np.mgrid[0:H, 0:W]
    one = _gtiff(tmp_path / "one.tif", ((xx // 4 + yy // 4) % 2).astype(np.uint8)[None], nbits=1)
    twelve = _gtiff(tmp_path / "twelve.tif", (np.stack([xx * 120, yy * 170, (xx + yy) * 70]) % 4096)
                    .astype(np.uint16), nbits=12)
    with rasterio.open(twelve) as s:  # a 16-bit PNG (no georeferencing): uint16 as well
        rasterio.shutil.copy(s, tmp_path / "sixteen.png", driver="PNG")
    for src in (one, twelve, tmp_path / "sixteen.png"):
        r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / f"{src.stem}_sr.tif"), "-s", "2",
                                      "--mode", "fast", "--model", str(tiny_model_file)])
        assert r.exit_code == 0, r.output
    assert "one.tif has a colour table: super-resolving its colours expanded to RGB" in caplog.text
    with rasterio.open(tmp_path / "one_sr.tif") as o:
        assert o.count == 3 and o.dtypes[0] == "uint8" and o.tags()["LDCSR_PALETTE_EXPANDED"] == "RGB"
    with rasterio.open(tmp_path / "twelve_sr.tif") as o:
        assert o.dtypes[0] == "uint16" and "NBITS" not in o.tags(1, "IMAGE_STRUCTURE")
        assert 0 < o.read().max() < 65535
    with rasterio.open(tmp_path / "sixteen_sr.tif") as o:
        assert o.dtypes[0] == "uint16" and o.count == 3


@pytest.mark.parametrize("swap", ["after the open", "before the open"])
def test_a_damaged_png_renamed_over_one_being_opened_is_still_checked(tmp_path, monkeypatch, swap):
    """A PNG is decoded once per version to find damage. 'after the open': p's version was taken after
    its file was opened, so a damaged PNG renamed over it meanwhile was recorded as checked while the
    good one was decoded, and its next open read garbage without a word. 'before the open': the good
    one's version, checked before, must not pass the damaged one opened in its place."""
    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo.raster_io import open_raster

    good, cut, p = tmp_path / "good.png", tmp_path / "cut.png", tmp_path / "scene.png"
    with rasterio.open(good, "w", driver="PNG", width=W, height=H, count=3, dtype="uint8") as ds:
        ds.write(_rgb())
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    p.write_bytes(good.read_bytes())
    if swap == "before the open":
        with open_raster(p) as ds:  # checked: its version recorded
            np.testing.assert_array_equal(ds.read(), _rgb())
    real_open = rasterio.open

    def open_then_swap(path, *a, **kw):  # another process renames the damaged PNG over p
        monkeypatch.setattr(rasterio, "open", real_open)
        if swap == "before the open":
            os.replace(cut, p)
        ds = real_open(path, *a, **kw)
        if swap == "after the open":
            os.replace(cut, p)
        return ds

    monkeypatch.setattr(rasterio, "open", open_then_swap)
    if swap == "after the open":  # the good one opened and decoded
        with open_raster(p) as ds:
            np.testing.assert_array_equal(ds.read(), _rgb())
    else:  # the damaged one opened: refused
        with pytest.raises(RasterIOError, match="scene.png is truncated or damaged"):
            open_raster(p)
    assert rasterio.open is real_open and not cut.exists()  # the swap happened
    with pytest.raises(RasterIOError, match="scene.png is truncated or damaged"):
        open_raster(p)  # the damaged one now at p
