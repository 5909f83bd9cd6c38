"""The one geo pipeline: a NumPy array (a napari layer) and a file give the same pixels and grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from ldcsr_core.errors import InputError
from ldcsr_core.geo import radiometry as rad
from ldcsr_core.geo import raster_io as rio
from ldcsr_core.geo.pipeline import (OutputOptions, UpscaleOptions, bicubic_window,
                                     upscale_raster, upscale_window)

OPTS = UpscaleOptions(mode="diffusion", seed=3, tile=48)


def _same_grid(a_transform, a_crs, b_transform, b_crs):
    assert a_crs == b_crs
    assert np.allclose(tuple(a_transform)[:6], tuple(b_transform)[:6], rtol=0, atol=1e-9)


def test_array_path_equals_file_path(rasters, tiny_model, tmp_path, monkeypatch):
    """uint16, 4 bands, nodata: CLI/QGIS (file) and plugin (array) give equal arrays and georef."""
    src = rasters["uint16_nodata"]
    monkeypatch.setattr(tiny_model, "tile_max", 64)  # diffusion windows of 64 px: several tiles
    res = upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2.5, options=OPTS,
                         output=OutputOptions())
    assert res.tiles > 1
    layer = rio.read_raster(src)  # what the napari reader hands the widget
    assert layer.data.shape == (4, 45, 61) and layer.nodata == 0
    with rio.dataset_from_array(layer.data, transform=layer.transform, crs=layer.crs,
                                nodata=layer.nodata, colorinterp=layer.colorinterp) as mem:
        geo = upscale_window(mem, model=tiny_model, scale=2.5, options=OPTS)
    with rasterio.open(tmp_path / "o.tif") as d:
        out = d.read()
        assert np.array_equal(geo.data, out)
        assert geo.data.dtype == np.uint16 and geo.nodata == d.nodata == 0
        _same_grid(geo.transform, geo.crs, d.transform, d.crs)
        assert geo.bounds == pytest.approx(tuple(d.bounds), abs=1e-6)
        for k in ("LDCSR_STRETCH", "LDCSR_BANDS", "LDCSR_SCALE_X", "LDCSR_SCALE_Y", "LDCSR_MODE",
                  "LDCSR_SEED", "LDCSR_NOTICE", "LDCSR_WEIGHTS_SHA256"):
            assert geo.tags[k] == d.tags()[k], k
    assert geo.tags["LDCSR_SOURCE"] == "array"
    assert (out == 0).any()  # nodata really restored, so the equality covers it


def test_window_uses_whole_scene_stretch_and_exact_bounds(rasters, tiny_model):
    src = rasters["uint16_nodata"]
    with rasterio.open(src) as ds:
        whole = upscale_window(ds, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
        win = (10, 20, 24, 30)
        part = upscale_window(ds, model=tiny_model, scale=2, window=win,
                              options=UpscaleOptions(mode="fast"))
        wb = rasterio.windows.bounds(rasterio.windows.Window(20, 10, 30, 24), ds.transform)
    assert part.data.shape == (4, 48, 60)
    assert part.bounds == pytest.approx(wb, abs=1e-6)
    assert part.res == pytest.approx((5.0, 5.0))
    assert part.tags["LDCSR_STRETCH"] == whole.tags["LDCSR_STRETCH"]
    assert json.loads(part.tags["LDCSR_WINDOW"]) == list(win)
    # Nodata of the window is exactly the upsampled nodata of the source window.
    a = rio.read_raster(src, win).data
    up = rad.upsample_nearest(a == 0, rad.nearest_index(24, 48, 0, 48),
                              rad.nearest_index(30, 60, 0, 60))
    assert np.array_equal(part.data == 0, up)
    with pytest.raises(InputError, match="not inside"):
        upscale_window(src, model=tiny_model, scale=2, window=(40, 0, 10, 10))


def test_on_rows_delivers_the_final_pixels_in_order(rasters, tiny_model):
    got = []
    geo = upscale_window(rasters["int16_nodata"], model=tiny_model, scale=2,
                         options=UpscaleOptions(mode="fast", tile=32),
                         on_rows=lambda y0, rows: got.append((y0, rows.copy())))
    assert len(got) > 1 and got[0][0] == 0
    y = 0
    for y0, rows in got:
        assert y0 == y and rows.dtype == np.int16
        assert np.array_equal(rows, geo.data[:, y0 : y0 + rows.shape[1]])
        y += rows.shape[1]
    assert y == geo.data.shape[1]


def test_bicubic_baseline_shares_radiometry(rasters, tiny_model):
    src = rasters["uint16_nodata"]
    b = bicubic_window(src, scale=2)
    m = upscale_window(src, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
    assert b.data.shape == m.data.shape and b.data.dtype == np.uint16
    assert np.array_equal(b.data == 0, m.data == 0)  # same nodata restore
    assert b.tags["LDCSR_STRETCH"] == m.tags["LDCSR_STRETCH"]
    assert b.tags["LDCSR_MODEL"] == "bicubic" and "LDCSR_NOTICE" not in b.tags
    valid = b.data[b.data != 0]
    assert 3000 < np.median(valid) < 10000  # source units, not 0..1
    _same_grid(b.transform, b.crs, m.transform, m.crs)


def test_read_write_raster_round_trip(rasters, tmp_path):
    g = rio.read_raster(rasters["uint16_nodata"])
    assert g.descriptions[3] == "B8 nir" and g.tags["SENSOR"] == "S2A"
    out = rio.write_raster(tmp_path / "rt.tif", g)
    back = rio.read_raster(out)
    assert np.array_equal(back.data, g.data) and back.nodata == g.nodata
    _same_grid(back.transform, back.crs, g.transform, g.crs)
    assert back.descriptions == g.descriptions and back.tags["SENSOR"] == "S2A"
    assert back.colorinterp == g.colorinterp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rt.tif"]
    with pytest.raises(FileExistsError):
        rio.write_raster(out, g)


def test_dataset_from_array_layouts():
    rgb = np.zeros((20, 30, 3), np.uint8)
    with rio.dataset_from_array(rgb) as ds:  # napari RGB layer: bands last
        assert (ds.count, ds.height, ds.width) == (3, 20, 30) and ds.crs is None
    with rio.dataset_from_array(np.zeros((3, 20, 30), np.float32), crs="EPSG:32633",
                                transform=(10, 0, 5e5, 0, -10, 5e6), nodata=-1) as ds:
        assert ds.count == 3 and ds.crs.to_epsg() == 32633 and ds.nodata == -1
        assert ds.transform.a == 10
    with rio.dataset_from_array(np.zeros((20, 30), np.int16)) as ds:
        assert ds.count == 1 and ds.dtypes[0] == "int16"
    with pytest.raises(InputError):
        rio.dataset_from_array(np.zeros((2, 3, 4, 5)))
    with pytest.raises(InputError):
        rio.dataset_from_array(np.zeros((5, 5), np.complex64))


def test_float_results_stay_in_the_stretch_range(rasters, tiny_model):
    """Model output is clipped to [0, 1] before unstretching, as ``ldcsr_core.upscale`` clips, so a
    float raster's result never leaves the range of its source (random weights overshoot): within
    the stretch's range, but for the values beyond it, whose excess is added back (a value above
    the stretch's ``hi`` gives at most itself)."""
    src = rasters["float32_nan"]
    with rasterio.open(src) as ds:
        geo = upscale_window(ds, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
        data = ds.read()
    lo, hi = (json.loads(geo.tags["LDCSR_STRETCH"])[k] for k in ("lo", "hi"))
    for b in range(geo.count):
        vals = geo.data[b][np.isfinite(geo.data[b])]
        assert vals.size and vals.min() >= min(lo[b], np.nanmin(data[b])) - 1e-4
        assert vals.max() <= max(hi[b], np.nanmax(data[b])) + 1e-4
        assert vals.min() >= np.nanmin(data[b]) - 1e-4 and vals.max() <= np.nanmax(data[b]) + 1e-4


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_mask_as_alpha_holds_the_mask_without_a_wide_copy(dtype):
    """The mask becomes an alpha band of the bands' type (0 masked, the type's maximum elsewhere),
    built at that type: the peak is the result and that band. Before: an int64 alpha first (8 bytes a
    pixel; a uint8 scene's peak 1.8x its result, fails on main for uint8)."""
    import tracemalloc

    from rasterio.transform import from_origin

    from ldcsr_core.geo.arrays import GeoArray, mask_as_alpha

    n = 1500
    mask = np.full((n, n), 255, np.uint8)
    mask[:10, :20] = 0
    geo = GeoArray(np.ones((3, n, n), dtype), from_origin(0, 0, 1, 1), colorinterp=("red", "green", "blue"),
                   mask=mask)
    tracemalloc.start()
    try:
        out = mask_as_alpha(geo)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.colorinterp[-1] == "alpha" and out.mask is None and out.data.dtype == np.dtype(dtype)
    assert np.array_equal(out.data[3] == 0, mask == 0) and out.data[3].max() == np.iinfo(dtype).max
    assert peak < out.data.nbytes + out.data[3].nbytes + mask.nbytes // 2, (peak, out.data.nbytes)


def test_upscale_raster_writes_only_to_a_geotiff_name(rasters, tiny_model, tmp_path):
    """Its outputs are GeoTIFFs, so a script's 'out.png' (or a spread file's 'spread.jpg') is refused before any
    work in ldcsr upscale -o's words. Before: a TIFF was written under the name out.png (its spread file under
    spread.jpg) and reported written."""
    for dst, spread, bad in ((tmp_path / "out.png", None, "out.png"),
                             (tmp_path / "o.tif", tmp_path / "spread.jpg", "spread.jpg")):
        opts = UpscaleOptions(mode="diffusion", samples=2) if spread else UpscaleOptions(mode="fast")
        with pytest.raises(InputError, match=rf"^{tmp_path / bad} is not a GeoTIFF name: outputs are GeoTIFFs, so "
                                             r"give a name ending in \.tif or \.tiff$"):
            upscale_raster(rasters["gray"], dst, model=tiny_model, scale=2, options=opts, spread_path=spread)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    res = upscale_raster(rasters["gray"], tmp_path / "OUT.TIFF", model=tiny_model, scale=2,
                         options=UpscaleOptions(mode="fast"))
    assert res.status == "written" and (tmp_path / "OUT.TIFF").is_file()
