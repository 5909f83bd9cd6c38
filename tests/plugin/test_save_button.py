"""*Save layer as GeoTIFF…*: the selected layer written georeferenced by the plugin's writer, in a
worker thread (napari's File ▸ Save lists its own plain-TIFF writer first)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _scene(path, h=40, w=52, descriptions=None):
    """A uint16 GeoTIFF at 10 m in UTM 33N with nodata 0: one band, or one per description."""
    count = len(descriptions) if descriptions else 1
    data = (100 + 3000 * np.random.default_rng(3).random((count, h, w))).astype(np.uint16)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=count, dtype="uint16",
                       crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4000000), nodata=0) as ds:
        ds.write(data)
        if descriptions:
            ds.descriptions = descriptions
    return path



def _run_and_save_both(viewer, widget, qtbot, layer, folder):
    """A Run of ``layer`` at x2, then Save of the layer as ``folder/same.tif`` and of its result as
    ``folder/sr.tif``."""
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run(layer=layer)
    for name, pick in (("same.tif", layer), ("sr.tif", widget.last_result)):
        viewer.layers.selection.active = pick
        assert widget.saves.save(str(folder / name))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)

def test_the_result_saves_georeferenced_with_its_finer_pixels(ldcsr, qtbot, tmp_path, notes):
    viewer, widget = ldcsr
    src = _scene(tmp_path / "scene.tif")
    viewer.open(str(src), plugin="napari-ldcsr")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run()
    result = widget.last_result
    viewer.layers.selection.active = result
    assert widget.saves.button.isEnabled()
    out = tmp_path / "saved" / "sr"  # no extension typed, folder not there yet
    assert widget.saves.save(str(out))
    assert not widget.saves.button.isEnabled()  # one save at a time
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    path = tmp_path / "saved" / "sr.tif"
    assert widget.status == f"Saved '{result.name}' as {path}."
    with rasterio.open(path) as dst, rasterio.open(src) as s:
        assert dst.crs == s.crs and dst.res == pytest.approx((5.0, 5.0))
        np.testing.assert_allclose(tuple(dst.bounds), tuple(s.bounds), atol=1e-6)
        assert dst.nodata == 0 and "LDCSR_PROVENANCE" in dst.tags()
        np.testing.assert_array_equal(dst.read(1), np.asarray(result.data))
    assert sorted(p.name for p in path.parent.iterdir()) == ["sr.tif"]
    assert widget.saves.button.isEnabled() and not [t for s, t in notes if s == "error"]


def test_saving_over_the_source_is_refused_and_the_file_kept(ldcsr, qtbot, tmp_path, notes):
    viewer, widget = ldcsr
    src = _scene(tmp_path / "scene.tif")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    layer = viewer.open(str(src), plugin="napari-ldcsr")[0]
    viewer.layers.selection.active = layer
    assert widget.saves.save(str(src))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    assert widget.status.startswith(f"'{layer.name}' was not saved: {src} is the source file")
    assert [t for s, t in notes if s == "error"] == [widget.status]
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]


def test_only_an_image_layer_can_be_saved(ldcsr, tmp_path, notes):
    viewer, widget = ldcsr
    viewer.add_image(np.zeros((8, 8), np.uint8), name="img")
    assert widget.saves.button.isEnabled()
    viewer.add_shapes([[[0, 0], [4, 4]]], shape_type="rectangle", name="box")
    assert viewer.layers.selection.active.name == "box" and not widget.saves.button.isEnabled()
    assert not widget.saves.save(str(tmp_path / "x.tif"))
    assert ("warning", "Select an image layer to save.") in notes and list(tmp_path.iterdir()) == []


def test_the_button_asks_for_a_name_next_to_the_source(ldcsr, qtbot, tmp_path, monkeypatch):
    from napari_ldcsr.io import _save_controls

    viewer, widget = ldcsr
    src = _scene(tmp_path / "scene.tif")
    viewer.open(str(src), plugin="napari-ldcsr")
    asked = []

    def dialog(parent, caption, name, filters):
        asked.append((name, filters))
        return (str(tmp_path / "copy.TIFF"), filters)

    monkeypatch.setattr(_save_controls.QFileDialog, "getSaveFileName", staticmethod(dialog))
    widget.saves.button.click()
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    assert asked == [(str(tmp_path / "scene_copy.tif"), "GeoTIFF (*.tif *.tiff)")]  # not the source
    with rasterio.open(tmp_path / "copy.TIFF") as dst, rasterio.open(src) as s:
        assert dst.crs == s.crs and dst.transform == s.transform
        np.testing.assert_array_equal(dst.read(), s.read())


def _four_bands(path):
    return _scene(path, 30, 36, descriptions=("B4 red", "B3 green", "B2 blue", "B8 nir"))


def test_a_multiband_result_saves_as_one_file_of_bands(ldcsr, qtbot, tmp_path, notes):
    """A 4-band file opens as four band layers and runs as four result layers; selecting them
    saves one 4-band GeoTIFF (button, and napari's File ▸ Save, which picks this plugin's writer
    for several layers), bands in the file's order whatever the selection order."""
    viewer, widget = ldcsr
    src = _four_bands(tmp_path / "s2.tif")
    viewer.open(str(src), plugin="napari-ldcsr")
    widget.set_layer(viewer.layers["s2 [B4 red]"])
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run()
    results = widget.last.results
    assert len(results) == 4
    viewer.layers.selection.clear()
    viewer.layers.selection.update(results[::-1])
    assert widget.saves.button.text() == "Save 4 layers as one GeoTIFF…"
    assert widget.saves.save(str(tmp_path / "sr4.tif"))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    assert widget.status == f"Saved 4 layers as {tmp_path / 'sr4.tif'}."
    assert viewer.layers.save(str(tmp_path / "menu.tif"), selected=True) == [str(tmp_path / "menu.tif")]
    for out in ("sr4.tif", "menu.tif"):
        with rasterio.open(tmp_path / out) as dst, rasterio.open(src) as s:
            assert dst.count == 4 and dst.descriptions == s.descriptions and dst.crs == s.crs
            assert dst.res == pytest.approx((5.0, 5.0)) and dst.nodata == 0
            np.testing.assert_allclose(tuple(dst.bounds), tuple(s.bounds), atol=1e-6)
            for b, layer in enumerate(results, start=1):
                np.testing.assert_array_equal(dst.read(b), np.asarray(layer.data))
    assert not [t for s, t in notes if s == "error"]


def test_layers_that_do_not_overlay_are_not_saved_as_bands(ldcsr, qtbot, tmp_path, notes):
    viewer, widget = ldcsr
    a = viewer.add_image(np.zeros((10, 12), np.uint8), name="a")
    b = viewer.add_image(np.ones((10, 12), np.uint8), name="b", translate=(0, 5))
    c = viewer.add_image(np.ones((10, 13), np.uint8), name="c")
    for pick, why in (([a, b], "do not lie over each other"), ([a, c], "have different sizes")):
        viewer.layers.selection.clear()
        viewer.layers.selection.update(pick)
        assert widget.saves.save(str(tmp_path / "x.tif"))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
        assert widget.status.startswith("2 layers were not saved: the layers 'a', ")
        assert why in widget.status and [t for s, t in notes if s == "error"][-1] == widget.status
        assert list(tmp_path.iterdir()) == []


def test_band_scales_offsets_and_units_are_kept(ldcsr, qtbot, tmp_path):
    """Raw values with GDAL scale/offset (e.g. reflectance = DN × 1e-4 − 0.1) save with them: a
    result, one band layer alone, and the bands together; so do the bands' tags (a wavelength),
    but not their statistics (before: every band tag was dropped)."""
    viewer, widget = ldcsr
    src = _four_bands(tmp_path / "s2.tif")
    with rasterio.open(src, "r+") as ds:
        ds.scales, ds.offsets = (1e-4, 1e-4, 2e-4, 1e-4), (-0.1, -0.1, 0.0, -0.2)
        ds.units = ("refl", "refl", "refl", "W")
        ds.update_tags(4, WAVELENGTH="842nm", STATISTICS_MEAN="1234.5")
    layers = viewer.open(str(src), plugin="napari-ldcsr")
    widget.set_layer(layers[0])
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run()
    cases = {"nir.tif": [layers[3]], "res.tif": widget.last.results}
    for name, pick in cases.items():
        viewer.layers.selection.clear()
        viewer.layers.selection.update(pick)
        assert widget.saves.save(str(tmp_path / name))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    with rasterio.open(tmp_path / "nir.tif") as one, rasterio.open(tmp_path / "res.tif") as four:
        assert (one.scales, one.offsets, one.units) == ((1e-4,), (-0.2,), ("W",))
        assert four.scales == (1e-4, 1e-4, 2e-4, 1e-4) and four.offsets == (-0.1, -0.1, 0.0, -0.2)
        assert four.units == ("refl", "refl", "refl", "W")
        assert one.tags(1) == four.tags(4) == {"WAVELENGTH": "842nm"} and not four.tags(1)


def test_a_raster_placed_by_gcps_keeps_them_through_run_and_save(ldcsr, qtbot, tmp_path):
    """A scene georeferenced by ground control points only (a raw satellite scene, say) opens in
    pixels; its ×2 result saves with the GCPs moved onto the finer grid, as `ldcsr upscale` does."""
    from ldcsr_core.geo import georef
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS

    viewer, widget = ldcsr
    src = tmp_path / "raw.tif"
    gcps = [GroundControlPoint(row=r, col=c, x=500000 + 10 * c, y=4000000 - 10 * r, z=0.0)
            for r, c in ((0, 0), (0, 52), (40, 0), (40, 52), (20.5, 26.25))]
    with rasterio.open(src, "w", driver="GTiff", height=40, width=52, count=1, dtype="uint16",
                       gcps=gcps, crs=CRS.from_epsg(32633)) as ds:
        ds.write((100 + 3000 * np.random.default_rng(1).random((1, 40, 52))).astype(np.uint16))
    with rasterio.open(src) as s:
        assert georef.georeferencing(s) == "gcps"
    layer = viewer.open(str(src), plugin="napari-ldcsr")[0]
    assert len(layer.metadata["gcps"]) == 5
    _run_and_save_both(viewer, widget, qtbot, layer, tmp_path)
    with rasterio.open(tmp_path / "same.tif") as same, rasterio.open(tmp_path / "sr.tif") as sr:
        for ds, k in ((same, 1), (sr, 2)):
            got, gcrs = ds.gcps
            assert gcrs == CRS.from_epsg(32633) and ds.transform.is_identity
            assert [(g.row, g.col, g.x, g.y) for g in got] == [(k * g.row, k * g.col, g.x, g.y) for g in gcps]


def test_a_satellite_image_keeps_its_rpcs_through_run_and_save(ldcsr, qtbot, tmp_path):
    """An L1 scene placed by RPCs only: its layer keeps them, and its ×2 result saves them moved onto
    the finer grid, as `ldcsr upscale` does (before: both saved files had none)."""
    from rasterio.rpc import RPC
    from rasterio.transform import RPCTransformer

    viewer, widget = ldcsr
    src = tmp_path / "l1.tif"
    rpcs = RPC(height_off=100.0, height_scale=300.0, lat_off=48.2, lat_scale=0.02, long_off=16.3,
               long_scale=0.03, line_off=19.5, line_scale=20.0, samp_off=25.5, samp_scale=26.0,
               line_num_coeff=[0.0, 0.0, -1.0] + [0.0] * 17, line_den_coeff=[1.0] + [0.0] * 19,
               samp_num_coeff=[0.0, 1.0] + [0.0] * 18, samp_den_coeff=[1.0] + [0.0] * 19)
    with rasterio.open(src, "w", driver="GTiff", height=40, width=52, count=1, dtype="uint16", rpcs=rpcs) as ds:
        ds.write((100 + 3000 * np.random.default_rng(1).random((1, 40, 52))).astype(np.uint16))
    layer = viewer.open(str(src), plugin="napari-ldcsr")[0]
    assert layer.metadata["rpcs"]["line_off"] == 19.5
    _run_and_save_both(viewer, widget, qtbot, layer, tmp_path)
    where = np.array(RPCTransformer(rpcs).rowcol(16.305, 48.195, zs=150.0, op=float))
    for name, k in (("same.tif", 1), ("sr.tif", 2)):
        with rasterio.open(tmp_path / name) as ds:
            assert ds.rpcs is not None, name
            got = np.array(RPCTransformer(ds.rpcs).rowcol(16.305, 48.195, zs=150.0, op=float))
            assert np.allclose(got, where * k, atol=1e-6), name


def test_a_scenes_imagery_metadata_goes_through_run_and_save(ldcsr, qtbot, tmp_path):
    """A satellite scene's IMAGERY domain (acquisition time, satellite) is saved with its ×2 result
    and with a save of the layer itself, as `ldcsr upscale` writes it; neither file takes the source
    file's TIFF DateTime (before: the result saved without IMAGERY, claiming the source's date; then
    the saved layer still claimed it, a file written today dated as its source)."""
    viewer, widget = ldcsr
    src = _scene(tmp_path / "scene.tif")
    imagery = {"ACQUISITIONDATETIME": "2019-05-01T10:03:11Z", "SATELLITEID": "S2A"}
    with rasterio.open(src, "r+") as ds:
        ds.update_tags(TIFFTAG_DATETIME="2019:05:01 10:03:11")
        ds.update_tags(ns="IMAGERY", **imagery)
    layer = viewer.open(str(src), plugin="napari-ldcsr")[0]
    _run_and_save_both(viewer, widget, qtbot, layer, tmp_path)
    for name in ("same.tif", "sr.tif"):
        with rasterio.open(tmp_path / name) as ds:
            assert ds.tags(ns="IMAGERY") == imagery, name
            assert "TIFFTAG_DATETIME" not in ds.tags(), name
