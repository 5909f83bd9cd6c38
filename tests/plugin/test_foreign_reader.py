"""A GeoTIFF opened by napari's own reader (the other choice of File ▸ Open's reader dialog, or a
remembered one) holds no georeferencing: Run and Save say so, since what they make lies over
nothing in a GIS."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import Affine
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _tif(path, georeferenced=True):
    data = np.random.default_rng(5).integers(0, 255, (3, 40, 44), dtype=np.uint8)
    geo = {"crs": "EPSG:32633", "transform": Affine(0.5, 0, 500000, 0, -0.5, 4100000)} if georeferenced else {}
    with rasterio.open(path, "w", driver="GTiff", height=40, width=44, count=3, dtype="uint8",
                       photometric="rgb", **geo) as dst:
        dst.write(data)
    return path


def _run_and_save(viewer, widget, qtbot, layer, out):
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run(layer=layer)
    viewer.layers.selection.active = widget.last_result
    assert widget.saves.save(str(out))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)


def test_a_geotiff_read_by_napari_builtins_is_said_at_run_and_save(ldcsr, qtbot, notes, tmp_path):
    viewer, widget = ldcsr
    src = _tif(tmp_path / "scene.tif")
    layer, = viewer.open(str(src), plugin="napari")  # napari's own reader: pixels only
    _run_and_save(viewer, widget, qtbot, layer, tmp_path / "sr.tif")
    warned = [t for s, t in notes if s == "warning"]
    assert len(warned) == 2, notes  # at Run (the source) and at Save (its result)
    assert warned[0].startswith("'scene' has no georeferencing: scene.tif was opened by the 'napari builtins' "
                                "reader, which leaves its CRS and pixel grid out")
    assert "pick 'LDCSR super-resolution' in File ▸ Open's reader dialog" in warned[0]
    assert warned[1].startswith(f"'{widget.last_result.name}' has no georeferencing: scene.tif was opened by "
                                "another reader than LDCSR's")
    with rasterio.open(tmp_path / "sr.tif") as out:  # what the warning says: it lies over nothing
        assert out.crs is None and out.transform.is_identity


def test_no_word_when_nothing_is_lost(ldcsr, qtbot, notes, tmp_path):
    viewer, widget = ldcsr
    layer, = viewer.open(str(_tif(tmp_path / "scene.tif")), plugin="napari-ldcsr")
    _run_and_save(viewer, widget, qtbot, layer, tmp_path / "sr.tif")
    with rasterio.open(tmp_path / "sr.tif") as out:
        assert out.crs == "EPSG:32633"
    plain, = viewer.open(str(_tif(tmp_path / "plain.tif", georeferenced=False)), plugin="napari")
    _run_and_save(viewer, widget, qtbot, plain, tmp_path / "plain_sr.tif")  # a picture: no georeferencing to lose
    assert not [t for s, t in notes if s in ("warning", "error")], notes


def test_a_jpeg_placed_by_a_world_file_read_by_napari_builtins_is_said_at_run(ldcsr, qtbot, notes, tmp_path):
    """A JPEG with a world file (.wld) and its CRS in .aux.xml, as gdal_translate -co WORLDFILE=YES
    writes it: napari's own reader keeps its pixels only (this plugin's, picked instead, places it).
    Before: no word, the result and its Save lay over nothing in a GIS."""
    import rasterio.shutil

    viewer, widget = ldcsr
    with rasterio.open(_tif(tmp_path / "scene.tif")) as s:
        rasterio.shutil.copy(s, tmp_path / "photo.jpg", driver="JPEG", WORLDFILE="YES")
    with rasterio.open(tmp_path / "photo.jpg") as placed:  # GDAL places it (what is lost)
        assert placed.crs == "EPSG:32633" and not placed.transform.is_identity
    ours, = viewer.open(str(tmp_path / "photo.jpg"), plugin="napari-ldcsr")  # what the warning offers
    assert ours.metadata["crs"] and tuple(ours.scale) == (0.5, 0.5)
    viewer.layers.remove(ours)
    layer, = viewer.open(str(tmp_path / "photo.jpg"), plugin="napari")
    _run_and_save(viewer, widget, qtbot, layer, tmp_path / "sr.tif")
    warned = [t for s, t in notes if s == "warning"]
    assert len(warned) == 2, notes
    assert warned[0] == ("'photo' has no georeferencing: photo.jpg was opened by the 'napari builtins' reader, "
                         "which leaves its CRS and pixel grid out, so a result or a saved file will not lie over "
                         "photo.jpg in a GIS. Open photo.jpg again and pick 'LDCSR super-resolution' in File ▸ "
                         "Open's reader dialog.")
    assert warned[1].startswith(f"'{widget.last_result.name}' has no georeferencing: photo.jpg was opened by "
                                "another reader than LDCSR's")
