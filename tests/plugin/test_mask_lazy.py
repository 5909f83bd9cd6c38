"""A big GeoTIFF with a mask band (a COG's, an orthophoto's internal mask) opened lazily: the mask is
the RGBA layer's alpha at every level, as the eager reader makes it, and a Run of a part of the layer
keeps it out, as ``ldcsr upscale`` does. The lazy size is lowered for the test."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from napari_ldcsr.io import _lazy

H, W = 24, 32


@pytest.fixture
def lazily(monkeypatch):
    """Files over 16 × 16 pixels open lazily, in two levels (the coarse one half the size)."""
    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 16 * 16)
    monkeypatch.setattr(_lazy, "TOP_LEVEL_SIDE", 16)
    return monkeypatch


def _scene(path, *, alpha_band=False):
    """A 3-band uint8 scene whose mask (rasterio's ``write_mask``: an internal mask band) leaves out
    rows 0:7 × columns 0:9 (across the coarse level's 2 × 2 blocks) and one lone pixel; with
    ``alpha_band`` the same mask written as a 4th band, alpha, instead."""
    yy, xx = np.mgrid[0:H, 0:W]
    data = np.stack([(xx * 7 + 3) % 256, (yy * 9 + 1) % 256, ((xx + yy) * 5) % 256]).astype(np.uint8)
    mask = np.full((H, W), 255, np.uint8)
    mask[:7, :9] = 0
    mask[15, 20] = 0
    profile = dict(driver="GTiff", width=W, height=H, dtype="uint8", crs=CRS.from_epsg(32633),
                   transform=from_origin(600000, 5340000, 10, 10))
    if alpha_band:
        with rasterio.open(path, "w", count=4, photometric="RGB", alpha="YES", **profile) as ds:
            ds.write(np.concatenate([data, mask[None]]))
    else:
        with rasterio.open(path, "w", count=3, photometric="RGB", **profile) as ds:
            ds.write(data)
            ds.write_mask(mask)
    return path, mask == 0


def test_a_big_layer_holds_its_mask_as_alpha_at_every_level(make_napari_viewer, tmp_path, notes, lazily):
    """Before: a lazy RGB layer without the mask (the masked pixels shown as data, at every level),
    with a warning that it does not hold it."""
    from ldcsr_core.geo.nodata_masks import valid_block_mean, valid_mask

    viewer = make_napari_viewer()
    src, masked = _scene(tmp_path / "big.tif")
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert layer.multiscale and layer.rgb and len(layer.data) == 2
    full, coarse = (np.asarray(level) for level in layer.data)
    assert full.shape == (H, W, 4) and np.array_equal(full[..., 3] == 0, masked)
    assert layer.metadata["colorinterp"] == ["red", "green", "blue", "alpha"]
    assert not [m for s, m in notes if "mask" in m], notes
    # one rule with the eager reader (the engine's mask_as_alpha): the same pixels
    lazily.setattr(_lazy, "LAZY_MIN_PIXELS", H * W)
    (eager,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert not eager.multiscale and np.array_equal(full, eager.data)
    # the coarse level averages the valid pixels under each of its pixels (valid_block_mean), the mask's
    # alpha as a file's alpha band: 0 only where all its block is masked
    bands = np.moveaxis(full, -1, 0)
    mean, _ = valid_block_mean(bands, valid_mask(bands, alpha=[3]), 2)
    assert np.array_equal(coarse, np.moveaxis(mean, 0, -1))
    all_masked = masked.reshape(H // 2, 2, W // 2, 2).all(axis=(1, 3))
    assert all_masked.any() and np.array_equal(coarse[..., 3] == 0, all_masked)
    lazily.setattr(_lazy, "LAZY_MIN_PIXELS", 16 * 16)
    alpha_file, _ = _scene(tmp_path / "alpha.tif", alpha_band=True)
    (with_alpha,) = viewer.open(str(alpha_file), plugin="napari-ldcsr")
    assert with_alpha.multiscale and all(np.array_equal(np.asarray(a), np.asarray(b))
                                         for a, b in zip(layer.data, with_alpha.data))
    assert layer.contrast_limits == with_alpha.contrast_limits


def test_a_run_of_a_part_of_a_big_masked_layer_keeps_its_mask(ldcsr, qtbot, tmp_path, notes, lazily, tiny_model):
    """A Shapes rectangle of the lazy layer: the masked pixels are left out as ``ldcsr upscale`` leaves
    them out (its colours), the result and its bicubic baseline hold the mask as their alpha, as the
    placeholder does. Before: the result was RGB, its masked pixels shown as data."""
    from ldcsr_core.geo.bicubic import bicubic_window
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    from napari_ldcsr import _geometry as geo
    from napari_ldcsr.run._job import JobSpec, layer_source
    from napari_ldcsr.run._results import placeholders

    viewer, widget = ldcsr
    src, masked = _scene(tmp_path / "big.tif")
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    corners = [layer.data_to_world(p) for p in ((1.5, 3.5), (1.5, 27.5), (17.5, 27.5), (17.5, 3.5))]
    shapes = viewer.add_shapes([np.array(corners)], shape_type="rectangle", name="roi")
    widget.set_region("shapes", shapes)
    widget.set_bicubic(True)
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert not [m for s, m in notes if s in ("warning", "error")], notes
    res = widget.last_result
    region = geo.Region(**res.metadata["ldcsr"]["region"])
    assert (region.rows, region.cols) == (16, 24) and region.offset == (2, 4)
    expected = upscale_window(str(src), model=tiny_model, scale=2.0, window=region.window,
                              options=UpscaleOptions(mode="fast"))
    out = np.asarray(res.data)
    assert out.shape == (32, 48, 4) and expected.mask is not None
    assert np.array_equal(out[..., :3], np.moveaxis(expected.data, 0, -1))
    want = np.repeat(np.repeat(masked[2:18, 4:28], 2, 0), 2, 1)
    assert np.array_equal(expected.mask == 0, want) and np.array_equal(out[..., 3] == 0, want)
    assert set(np.unique(out[..., 3])) == {0, 255}
    base = next(lyr for lyr in viewer.layers if "(bicubic)" in lyr.name)
    cubic = bicubic_window(str(src), scale=2.0, window=region.window, options=UpscaleOptions(mode="fast"))
    assert np.array_equal(np.asarray(base.data)[..., :3], np.moveaxis(cubic.data, 0, -1))
    assert np.array_equal(np.asarray(base.data)[..., 3] == 0, want)
    (first,) = placeholders(layer_source(viewer, layer), JobSpec(scale=2.0, region=region))
    assert first.shape == (32, 48, 4) and np.array_equal(first[..., 3] == 0, want)


@pytest.mark.viewer_hidden
def test_a_streamed_run_of_a_big_masked_layer_opens_with_its_mask_as_alpha(ldcsr, qtbot, tmp_path, notes, lazily,
                                                                          tiny_model):
    """A whole-layer Run over the in-memory limit streams to a file that keeps the mask band (the CLI's
    raster path); the result opens lazily with that mask as its alpha, as its source. Before: an RGB
    result layer, its masked pixels shown as data."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    lazily.setenv("NAPARI_LDCSR_STREAM_MB", "0.01")  # 48 × 64 × 4 = 12 kB: streamed
    viewer, widget = ldcsr
    src, masked = _scene(tmp_path / "big.tif")
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert not [m for s, m in notes if s in ("warning", "error")], notes
    res = widget.last_result
    assert res.multiscale and res.metadata["lazy"] and res.data[0].shape == (2 * H, 2 * W, 4)
    out = np.asarray(res.data[0])
    assert np.array_equal(out[..., 3] == 0, np.repeat(np.repeat(masked, 2, 0), 2, 1))
    cli = upscale_raster(src, tmp_path / "cli.tif", model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast"))
    with rasterio.open(cli.dst) as c:
        assert np.array_equal(out[..., :3], np.moveaxis(c.read(), 0, -1))



def test_the_live_lens_on_a_big_masked_layer_shows_what_a_run_makes(ldcsr, qtbot, notes, tiny_model, lazily, tmp_path):
    """The lens's kept view of the lazy layer is the Run's pixels there: the masked pixels left out
    and the mask as its alpha. Before: the lens computed the masked pixels as data."""
    from ldcsr_core.rules import DEFAULT_TILE_OUT

    from tests.plugin.test_lens_bands import _kept_and_run

    viewer, widget = ldcsr
    lazily.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)  # a Run plans the lens's windows
    yy, xx = np.mgrid[0:64, 0:64]
    data = np.stack([(xx * 7 + 3) % 256, (yy * 9 + 1) % 256, ((xx + yy) * 5) % 256]).astype(np.uint8)
    mask = np.full((64, 64), 255, np.uint8)
    mask[20:40, 20:40] = 0
    path = tmp_path / "pixels.tif"  # placed by nothing: the lens's view (_kept_and_run's camera) is in pixels
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=3, dtype="uint8", photometric="RGB") as ds:
        ds.write(data)
        ds.write_mask(mask)
    (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
    assert layer.multiscale
    kept, run, view = _kept_and_run(qtbot, widget, layer)
    assert kept.data.shape[-1] == 4 and (np.asarray(kept.data)[..., 3] == 0).any()
    np.testing.assert_array_equal(kept.data, run.data[view.win.slices])
    assert not [t for s, t in notes if s in ("warning", "error")], notes


def test_a_window_of_a_big_masked_layer_reads_its_mask_once(tmp_path, lazily):
    """A window of a lazy masked layer reads the file's mask once, for its alpha and for which of its
    pixels are valid (a coarser level's average, the contrast's pixels), its pixels those of the mask as
    alpha. Before: twice a window (the alpha's read, then the validity's)."""
    import rasterio.io
    from ldcsr_core.geo.nodata_masks import valid_block_mean, valid_mask

    src, masked = _scene(tmp_path / "big.tif")
    ((levels, _, _),) = _lazy.lazy_layer_data(src)
    full, coarse = (_lazy.window_reader(level) for level in levels)
    with rasterio.open(src) as ds:
        bands = np.concatenate([ds.read(), np.where(ds.dataset_mask() > 0, 255, 0).astype(np.uint8)[None]])
    mean, mean_valid = valid_block_mean(bands, valid_mask(bands, alpha=[3]), 2)
    reads, real = [], rasterio.io.DatasetReader.read_masks

    def counted(self, *args, **kwargs):
        reads.append(kwargs.get("window"))
        return real(self, *args, **kwargs)

    lazily.setattr(rasterio.io.DatasetReader, "read_masks", counted)
    assert np.array_equal(coarse[2:10, 3:14], np.moveaxis(mean[:, 2:10, 3:14], 0, -1))
    assert len(reads) == 1, reads  # the coarse level's window: its alpha and its validity
    reads.clear()
    arr, valid = coarse._read(0, 0, *coarse.shape[:2], with_valid=True)
    assert len(reads) == 1 and np.array_equal(arr, mean) and np.array_equal(valid, mean_valid)
    reads.clear()
    arr, valid = full._read(4, 5, 12, 20, with_valid=True)
    assert len(reads) == 1 and np.array_equal(arr, bands[:, 4:16, 5:25])
    assert np.array_equal(valid, valid_mask(arr, alpha=[3])) and np.array_equal(~valid[0], masked[4:16, 5:25])
    reads.clear()
    assert np.array_equal(full[4:16, 5:25], np.moveaxis(bands[:, 4:16, 5:25], 0, -1)) and len(reads) == 1


def test_the_spread_of_a_big_masked_layer_shows_its_masked_pixels_as_no_data(ldcsr, qtbot, tmp_path, notes, lazily):
    """Uncertainty samples of a lazy masked layer: the spread layer is NaN (its nodata) exactly where the
    result's alpha (the mask) is 0, the result layer's rule, and those pixels show as no data on screen
    (transparent, not as a spread of 0), for a Run of the whole layer and of a part of it."""
    from napari_ldcsr import _geometry as geo

    viewer, widget = ldcsr
    src, masked = _scene(tmp_path / "big.tif")
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert layer.multiscale
    widget.set_mode("diffusion")
    widget.form.samples.value = 2
    corners = [layer.data_to_world(p) for p in ((1.5, 3.5), (1.5, 27.5), (17.5, 27.5), (17.5, 3.5))]
    for part in (None, viewer.add_shapes([np.array(corners)], shape_type="rectangle", name="roi")):
        if part is not None:
            widget.set_region("shapes", part)
        assert widget.run(layer=layer, scale=2.0)
        qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
        assert not [m for s, m in notes if s in ("warning", "error")], notes
        result, spread = widget.last.result, widget.last.spread
        r = geo.Region(**result.metadata["ldcsr"]["region"])
        want = np.repeat(np.repeat(masked[r.offset[0]:r.offset[0] + r.rows, r.offset[1]:r.offset[1] + r.cols], 2, 0), 2, 1)
        assert want.any() and not want.all() and np.array_equal(np.asarray(result.data)[..., 3] == 0, want)
        assert np.array_equal(np.isnan(spread.data), want) and np.isnan(spread.metadata["nodata"])
    # on screen, the spread alone over white: its NaN pixels let the white through (transparent), the others
    # are magma's colours (none is white)
    for other in list(viewer.layers):
        other.visible = other is spread
    base = viewer.add_image(np.ones(spread.data.shape, np.float32), colormap="gray", contrast_limits=(0, 1),
                            scale=spread.scale, translate=spread.translate, affine=spread.affine)
    viewer.layers.move(viewer.layers.index(base), 0)
    spread.blending = "translucent"
    viewer.reset_view()
    qtbot.wait(100)
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    image = shot.max(axis=-1) > 0  # the canvas's background is black
    white = (shot >= 250).all(axis=-1)
    assert abs(white.sum() / image.sum() - want.mean()) < 0.02, (white.sum(), image.sum(), want.mean())
