"""A GeoTIFF with a per-dataset mask band (a COG's, a JPEG orthophoto's internal mask) in napari:
its masked pixels stay invalid through the layer, a Run and a Save, as ``ldcsr upscale`` keeps them."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.transform import from_origin

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

H, W = 24, 32


def _masked(path, *, dtype="uint8", photometric="RGB", driver="GTiff"):
    """A 3-band scene whose top-left 8×8 pixels are masked by an internal mask band."""
    yy, xx = np.mgrid[0:H, 0:W]
    data = np.stack([(xx * 5) % 256, (yy * 6) % 256, ((xx + yy) * 3) % 256]).astype(dtype)
    mask = np.full((H, W), 255, np.uint8)
    mask[:8, :8] = 0
    tmp = path.with_name("tmp_" + path.name)
    with rasterio.open(tmp, "w", driver="GTiff", width=W, height=H, count=3, dtype=dtype,
                       crs=CRS.from_epsg(32633), transform=from_origin(600000, 5340000, 10, 10),
                       **({"photometric": photometric} if photometric else {})) as ds:
        ds.write(data)
        ds.write_mask(mask)
    if driver == "COG":  # a cloud-optimised GeoTIFF with overviews, as gdal_translate -of COG writes
        with rasterio.open(tmp) as s:
            rasterio.shutil.copy(s, path, driver="COG", blocksize=16, overview_count=1)
    else:
        tmp.rename(path)
    return path, mask == 0


@pytest.mark.parametrize("driver", ["GTiff", "COG"])
def test_an_rgb_scene_with_a_mask_band_keeps_it_through_a_run_and_a_save(ldcsr, qtbot, tmp_path, notes, driver):
    """Before: the layer was plain RGB, the masked pixels shown and computed as data, and the result
    and its Save had no mask (``ldcsr upscale`` of the same file keeps it)."""
    from napari_ldcsr._writer import write_geotiff

    viewer, widget = ldcsr
    src, masked = _masked(tmp_path / "ortho.tif", driver=driver)
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert layer.rgb and layer.data.shape == (H, W, 4)
    assert (layer.data[..., 3] == 0).sum() == masked.sum() and (layer.data[..., 3][masked] == 0).all()
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    res = widget.last_result
    want = np.repeat(np.repeat(masked, 2, 0), 2, 1)
    assert res.data.shape == (2 * H, 2 * W, 4)
    assert np.array_equal(np.asarray(res.data)[..., 3] == 0, want)
    (saved,) = write_geotiff(str(tmp_path / "saved.tif"), np.asarray(res.data), res._get_state())
    with rasterio.open(saved) as o:
        assert np.array_equal(o.dataset_mask() == 0, want)
    assert not [m for s, m in notes if "mask" in m]


def test_a_mask_band_a_layer_cannot_hold_is_said(make_napari_viewer, tmp_path, notes):
    """Three uint16 bands that are not red, green, blue open as band layers, which hold no mask:
    a warning says so (before: nothing, the masked pixels shown and run as data)."""
    viewer = make_napari_viewer()
    src, masked = _masked(tmp_path / "bands.tif", dtype="uint16", photometric=None)
    layers = viewer.open(str(src), plugin="napari-ldcsr")
    assert len(layers) == 3
    said = [m for s, m in notes if s == "warning" and "mask band" in m]
    assert said == [f"bands.tif has a mask band ({masked.sum()} pixels masked) that its layers cannot hold: "
                    "they show, and a Run computes, those pixels as data; super-resolve it with ldcsr "
                    "upscale, which keeps the mask"]


def test_two_bytes_bands_and_a_mask_are_not_shown_as_red_green_blue(make_napari_viewer, tmp_path, notes):
    """Two uint8 bands and a mask band: the mask as a third band made "any 3 uint8 bands", one RGB
    layer whose blue was the mask (0 or 255). They open as two band layers with the warning."""
    src = tmp_path / "two.tif"
    data = (np.arange(2 * H * W).reshape(2, H, W) % 200 + 20).astype(np.uint8)
    mask = np.full((H, W), 255, np.uint8)
    mask[:8, :8] = 0
    with rasterio.open(src, "w", driver="GTiff", width=W, height=H, count=2, dtype="uint8",
                       crs=CRS.from_epsg(32633), transform=from_origin(600000, 5340000, 10, 10)) as ds:
        ds.write(data)
        ds.write_mask(mask)
    layers = make_napari_viewer().open(str(src), plugin="napari-ldcsr")
    assert [np.shape(lyr.data) for lyr in layers] == [(H, W), (H, W)] and not any(lyr.rgb for lyr in layers)
    assert [m for s, m in notes if s == "warning" and m.startswith("two.tif has a mask band (64 pixels masked)")]


def test_a_whole_run_too_big_for_memory_streams_from_the_masked_file(ldcsr, qtbot, tmp_path, notes, monkeypatch,
                                                                     tiny_model):
    """Over the in-memory limit, the RGBA layer (its alpha the file's mask) streams from its file as
    any file-backed layer does, the mask kept as ldcsr upscale keeps it. Before: refused, 'its source
    file has 3 bands and only 4 of them are open as layers'."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", "0.01")  # 48 x 64 x 4 = 12 kB: streamed
    viewer, widget = ldcsr
    src, masked = _masked(tmp_path / "ortho.tif")
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert layer.data.shape == (H, W, 4)
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert not [m for s, m in notes if s in ("warning", "error")], notes
    out = tmp_path / "ortho_x2.00_ldcsr.tif"
    expected = upscale_window(str(src), model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast"))
    with rasterio.open(out) as o:
        assert np.array_equal(o.read(), expected.data)
        assert np.array_equal(o.dataset_mask() == 0, np.repeat(np.repeat(masked, 2, 0), 2, 1))


def test_big_lazy_band_layers_say_they_do_not_hold_the_mask(make_napari_viewer, tmp_path, notes, monkeypatch):
    """A file over the lazy size whose bands open as band layers says that they do not hold its mask
    band, as the eager reader says it; an RGB one holds it as its alpha (test_mask_lazy) and says
    nothing, nor does a copy without the mask."""
    import napari_ldcsr.io._lazy as lazy

    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 16 * 16)
    src, _ = _masked(tmp_path / "big.tif", dtype="uint16", photometric=None)
    viewer = make_napari_viewer()
    assert len(viewer.open(str(src), plugin="napari-ldcsr")) == 3
    said = [m for s, m in notes if s == "warning" and "mask band" in m]
    assert said == ["big.tif has a mask band that its big (lazy) layers cannot hold: they show its masked "
                    "pixels as data"]
    notes.clear()
    rgb, _ = _masked(tmp_path / "rgb.tif")
    (layer,) = viewer.open(str(rgb), plugin="napari-ldcsr")
    assert layer.multiscale and layer.data[0].shape == (H, W, 4)
    plain = tmp_path / "plain.tif"
    with rasterio.open(rgb) as s, rasterio.open(plain, "w", **s.profile) as d:
        d.write(s.read())
    viewer.open(str(plain), plugin="napari-ldcsr")
    assert not [m for s, m in notes if "mask band" in m]


@pytest.mark.parametrize("lazy", [False, True])
def test_the_save_of_a_masked_result_is_what_ldcsr_upscale_writes(ldcsr, qtbot, tmp_path, notes, monkeypatch,
                                                                 tiny_model, lazy):
    """The Save of a Run's RGBA result whose alpha is the file's mask band writes three bands and that
    mask, as ``ldcsr upscale`` writes the same input (the engine's write_raster), opened in memory or
    lazily. Before: four bands, the fourth an alpha band."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from napari_ldcsr._writer import write_geotiff
    from napari_ldcsr.io import _lazy

    if lazy:
        monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 16 * 16)
    viewer, widget = ldcsr
    src, masked = _masked(tmp_path / "ortho.tif")
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert layer.multiscale == lazy
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    res = widget.last_result
    (saved,) = write_geotiff(str(tmp_path / "saved.tif"), res.data, res._get_state())
    cli = upscale_raster(src, tmp_path / "cli.tif", model=tiny_model, scale=2.0,
                         options=UpscaleOptions(mode="fast")).dst
    with rasterio.open(saved) as s, rasterio.open(cli) as c:
        assert s.count == c.count == 3 and s.colorinterp == c.colorinterp
        assert [f for f in s.mask_flag_enums] == [f for f in c.mask_flag_enums]
        assert np.array_equal(s.dataset_mask(), c.dataset_mask())
        assert np.array_equal(s.dataset_mask() == 0, np.repeat(np.repeat(masked, 2, 0), 2, 1))
        assert np.array_equal(s.read(), c.read())
    assert not [m for s, m in notes if s in ("warning", "error")], notes


@pytest.mark.parametrize("lazy", [False, True], ids=["whole", "lazy"])
def test_the_save_of_a_masked_layer_keeps_its_band_names(make_napari_viewer, tmp_path, monkeypatch, tiny_model, lazy):
    """The Save of an RGBA layer whose alpha is its file's mask band names its three bands as the file
    does, as ``ldcsr upscale`` names them. Before (b42a28e): no band names (the layer's four, the alpha's
    too, were not taken for three bands)."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from napari_ldcsr._writer import write_geotiff
    from napari_ldcsr.io import _lazy

    if lazy:
        monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 16 * 16)
    src, _ = _masked(tmp_path / "ortho.tif")
    names = ("B4 red", "B3 green", "B2 blue")
    with rasterio.open(src, "r+") as ds:
        ds.descriptions = names
    (layer,) = make_napari_viewer().open(str(src), plugin="napari-ldcsr")
    assert layer.multiscale == lazy and layer.metadata["alpha_is_mask"]
    (saved,) = write_geotiff(str(tmp_path / "saved.tif"), layer.data, layer._get_state())
    cli = upscale_raster(src, tmp_path / "cli.tif", model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast"))
    with rasterio.open(saved) as s, rasterio.open(cli.dst) as c:
        assert s.count == 3 and s.mask_flag_enums[0] == [rasterio.enums.MaskFlags.per_dataset]
        assert s.descriptions == c.descriptions == names


def test_a_painted_semi_transparent_alpha_is_saved_as_ldcsr_upscale_reads_it(make_napari_viewer, tmp_path, tiny_model):
    """An RGBA layer whose alpha is its file's mask band, the alpha painted 1, 128, 254 and 0 on some pixels
    (semi-transparent between 0 and 255): Save writes valid (mask 255) the pixels ``ldcsr upscale`` computes
    as valid from the same pixels (an RGBA GeoTIFF of them: alpha above 0, the engine's one rule,
    ``nodata_masks.alpha_valid``), masked the others, and ``ldcsr upscale`` of the saved file writes the
    colours and validity it writes from that RGBA file."""
    from ldcsr_core.geo.nodata_masks import valid_mask
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from napari_ldcsr._writer import write_geotiff

    src, masked = _masked(tmp_path / "ortho.tif")
    (layer,) = make_napari_viewer().open(str(src), plugin="napari-ldcsr")
    assert layer.metadata["alpha_is_mask"]
    data = np.array(layer.data)
    for rows, alpha in ((slice(8, 10), 128), (slice(10, 12), 1), (slice(12, 14), 254), (slice(14, 16), 0)):
        data[rows, :8, 3] = alpha  # painted: semi-transparent, and masked
    layer.data = data
    (saved,) = write_geotiff(str(tmp_path / "saved.tif"), layer.data, layer._get_state())
    rgba = tmp_path / "rgba.tif"
    with rasterio.open(src) as s:
        profile = dict(s.profile, count=4, photometric="RGB", alpha="YES")
    with rasterio.open(rgba, "w", **profile) as ds:
        ds.write(np.moveaxis(data, -1, 0))
    with rasterio.open(saved) as s, rasterio.open(rgba) as a:
        valid = valid_mask(a.read(), alpha=[3])[0]  # as ldcsr upscale reads the RGBA file (SceneReader)
        assert s.count == 3 and set(np.unique(s.dataset_mask())) == {0, 255}
        assert np.array_equal(s.dataset_mask() > 0, valid) and np.array_equal(~valid, masked | (data[..., 3] == 0))
        assert valid[8:14, :8].all() and np.array_equal(s.read(), a.read()[:3])
    options = UpscaleOptions(mode="fast")
    out = upscale_raster(saved, tmp_path / "out.tif", model=tiny_model, scale=2.0, options=options).dst
    out_rgba = upscale_raster(rgba, tmp_path / "out_rgba.tif", model=tiny_model, scale=2.0, options=options).dst
    with rasterio.open(out) as o, rasterio.open(out_rgba) as r:
        assert np.array_equal(o.dataset_mask() > 0, r.read(4) > 0)
        assert np.array_equal(o.read(), r.read()[:3])
