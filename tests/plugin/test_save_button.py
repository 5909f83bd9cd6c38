"""*Save layer as GeoTIFF…*: the selected layer written georeferenced by the plugin's writer, in a
worker thread (napari's File ▸ Save lists its own plain-TIFF writer first)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine


def _scene(path, h=40, w=52):
    rng = np.random.default_rng(3)
    data = (1000 + 800 * rng.random((1, h, w))).astype(np.uint16)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=1, dtype="uint16",
                       crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4000000), nodata=0) as ds:
        ds.write(data)
    return path


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
