"""The size a write is said to need, and the free-space refusal made of it, for a compressed output."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin

from ldcsr_core.geo.arrays import GeoArray
from ldcsr_core.geo.raster_io import write_raster


def test_a_compressed_output_that_fits_is_not_refused_for_its_tiles_padding(tmp_path, monkeypatch, caplog):
    """A deflated 520 x 2000 output in 512-px tiles (two rows of blocks: padded to 1024 x 2048, twice its
    pixels) written where 1.2 MB is free: the refusal 'even at 4:1 compression' counts its pixels, not the
    padding, which compression all but removes (the file is a few kB). Before (32671a6): 'not enough
    space ... needs about 6.0 MB uncompressed (at least 1.5 MB even at 4:1 compression)', exit 5 for the
    CLI, of a file that fits; an uncompressed output still counts its padding (what it writes)."""
    from ldcsr_core.geo import geotiff_writer

    free = 1_200_000
    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: free)
    geo = GeoArray(np.full((3, 520, 2000), 7, np.uint8), from_origin(600000, 5340000, 10, 10), "EPSG:32633")
    out = write_raster(tmp_path / "o.tif", geo)
    with rasterio.open(out) as ds:
        assert ds.block_shapes[0] == (512, 512) and ds.compression is not None and ds.read(1)[-1, -1] == 7
    assert out.stat().st_size < free
    assert "needs about 3.0 MiB uncompressed" in caplog.text  # its pixels: 520 x 2000 x 3
    profile = dict(height=520, width=2000, count=3, dtype="uint8", tiled=True, blockxsize=512, blockysize=512)
    assert geotiff_writer.output_nbytes(profile) == 1024 * 2048 * 3  # uncompressed: the padded tiles written
    assert geotiff_writer.output_nbytes(dict(profile, compress="deflate")) == 520 * 2000 * 3



def test_an_output_folder_too_full_for_it_is_refused_before_the_model_loads(rasters, tiny_model_file, tmp_path,
                                                                           monkeypatch):
    """ldcsr upscale to a folder with 16 KiB free (a small tmpfs, a full USB stick): the free-space refusal comes
    before the model loads, and in a batch it is that input's line while the others are written. Before: the model
    loaded first (seconds for the shipped one), then 'not enough space'."""
    import shutil

    from click.testing import CliRunner

    from ldcsr_core.cli import main, upscale_cmd
    from ldcsr_core.geo import geotiff_writer

    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 16 * 1024)
    loads, real_load = [], upscale_cmd._load_model
    monkeypatch.setattr(upscale_cmd, "_load_model", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    big = shutil.copy(rasters["uint16_nodata"], tmp_path / "big.tif")  # 4 uint16 bands: ×2 needs 21 KiB at 4:1
    r = CliRunner().invoke(main, ["upscale", str(big), "-o", str(tmp_path / "o.tif"), "-s", "4", "--mode", "fast",
                                  "--model", str(tiny_model_file)])
    assert r.exit_code == 5 and "Error: not enough space for o.tif in" in r.output, r.output
    assert loads == [] and not (tmp_path / "o.tif").exists()
    small = write_raster(tmp_path / "small.tif", GeoArray(np.full((1, 16, 16), 7, np.uint8),
                                                          from_origin(600000, 5340000, 10, 10), "EPSG:32633"))
    out = tmp_path / "out"
    out.mkdir()
    r = CliRunner().invoke(main, ["upscale", str(big), str(small), "-o", str(out), "-s", "2", "--mode", "fast",
                                  "--model", str(tiny_model_file)])
    assert r.exit_code == 1 and "1 written, 0 skipped, 1 failed" in r.output, r.output
    assert "not enough space for big_sr.tif" in r.output and sorted(p.name for p in out.iterdir()) == ["small_sr.tif"]
    assert len(loads) == 1  # once, for the input that fits



def test_upscale_raster_given_no_model_refuses_a_folder_too_full_before_the_default_model_loads(
        rasters, tmp_path, monkeypatch):
    """ldcsr_core's API caller (a script, Dask) leaving model=None for the shipped default. Before: the default
    model loaded first (seconds), then 'not enough space'."""
    import errno

    import pytest

    from ldcsr_core import api
    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo import geotiff_writer
    from ldcsr_core.geo.pipeline import upscale_raster

    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 16 * 1024)
    monkeypatch.setattr(api, "_default_model", lambda *a, **k: pytest.fail("the default model was loaded"))
    with pytest.raises(RasterIOError, match="^not enough space for o.tif in ") as ei:
        upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif", model=None, scale=4)
    assert ei.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []


def test_upscale_raster_checks_the_room_once(rasters, tiny_model, tmp_path, monkeypatch):
    """model=None (the shipped default) checked the output's room twice, before the default loaded and again before
    the compute, nothing changed between (a stat of the folder, a probe file made and removed, each time); now once,
    as with a model given. A full disk is still refused before the default loads (the test above)."""
    from ldcsr_core import api
    from ldcsr_core.geo import pipeline

    checks = []
    check = pipeline._check_room
    monkeypatch.setattr(pipeline, "_check_room", lambda *a, **k: checks.append(a[1]) or check(*a, **k))
    monkeypatch.setattr(api, "_default_model", lambda *a, **k: tiny_model)  # (the default's place; seconds less)
    for model, name in ((None, "default.tif"), (tiny_model, "given.tif")):
        res = pipeline.upscale_raster(rasters["gray"], tmp_path / name, model=model, scale=2,
                                      options=pipeline.UpscaleOptions(mode="fast"))
        assert res.status == "written" and (tmp_path / name).is_file()
    assert checks == [tmp_path / "default.tif", tmp_path / "given.tif"]  # before: default.tif twice
