"""A Run of a shipped model outside what it was trained on runs and warns that the result is untested there,
in napari's words (Check quality here measures it): below ×1.25 (before, nothing was said), and on a layer whose
pixels make, at the scale asked, ones outside the 0.1–2 m of its training imagery (a 10 m Sentinel-2 scene at ×2;
before, nothing).
A model of the user's (its training not known) says only that its training scales are not known, so the result
below ×1.25 may be untested, and nothing of the ground. The real shipped model, fast mode, small layers."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

GROUND = ("At ×2 the scene's {} on the ground, outside the 0.1–2 m of the imagery the shipped models were trained "
          "to make (docs/MODEL_CARD.md), so the result is untested there; Check quality here measures it on this layer.")


@pytest.fixture
def shipped(make_napari_viewer, qtbot):
    """(viewer, widget): napari with the LDCSR widget docked, loading its models as a user's napari does."""
    from napari_ldcsr._widget import LdcsrWidget

    viewer = make_napari_viewer(show=True)
    widget = LdcsrWidget(viewer)
    viewer.window.add_dock_widget(widget, name="LDCSR super-resolution")
    widget.set_mode("fast")
    yield viewer, widget
    if widget.running:
        widget.cancel()
        qtbot.waitUntil(lambda: not widget.running, timeout=60_000)


def _trained_notes(widget, qtbot, notes, layer, scale):
    assert widget.run(layer=layer, scale=scale)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert widget.last.result in widget.viewer.layers
    return [t for s, t in notes if s == "warning" and "were trained" in t]


def _geotiff(path, res):
    data = np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=from_origin(600000.0, 5340000.0, res, res), photometric="RGB") as ds:
        ds.write(data)
    return str(path)


@pytest.mark.parametrize("scale, warned", [(1.1, True), (1.25, False)])
def test_a_run_below_the_trained_scales_warns(shipped, qtbot, notes, scale, warned):
    viewer, widget = shipped
    src = viewer.add_image(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8), name="scene")
    assert _trained_notes(widget, qtbot, notes, src, scale) == (
        [f"×{scale:g} is below the scales the shipped models were trained on (×1.25–×8), so the result is untested "
         "there (docs/MODEL_CARD.md); Check quality here measures it on this layer."] if warned else [])


@pytest.mark.parametrize("res, said", [(10.0, "10 m pixels make ones of 5 m"),
                                       (0.05, "0.05 m pixels make ones of 0.025 m"), (1.0, None)])
def test_a_run_on_pixels_unlike_the_training_imagery_warns(shipped, qtbot, notes, tmp_path, res, said):
    viewer, widget = shipped
    (src,) = viewer.open(_geotiff(tmp_path / "scene.tif", res), plugin="napari-ldcsr")
    assert _trained_notes(widget, qtbot, notes, src, 2.0) == ([GROUND.format(said)] if said else [])


def test_a_model_of_the_users_says_its_training_is_not_known(shipped, qtbot, notes, tmp_path):
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    viewer, widget = shipped
    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    path = str(ldcsr_core.save_model(model, tmp_path / "mine.safetensors", name="mine"))
    (src,) = viewer.open(_geotiff(tmp_path / "scene.tif", 10.0), plugin="napari-ldcsr")
    assert widget.form.add_checkpoint(path) and widget.model_source == path
    assert _trained_notes(widget, qtbot, notes, src, 1.1) == [
        "×1.1 is below the scales the shipped models were trained on (×1.25–×8); the scales mine.safetensors was "
        "trained on are not known here, so the result may be untested there (docs/MODEL_CARD.md); Check quality here "
        "measures it on this layer."]
