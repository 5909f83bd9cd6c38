"""The screenshot script: docked widget + a result over the sample scene, saved as a PNG."""

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot_plugin.py"


def test_screenshot_shows_widget_and_result(make_napari_viewer, qtbot, tiny_model, tmp_path):
    spec = importlib.util.spec_from_file_location("screenshot_plugin", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    make_napari_viewer  # noqa: B018 - the fixture sets napari's test settings and closes leftovers
    out = tmp_path / "shot.png"
    roi = [[-3285126.0, 404226.0], [-3285120.0, 404226.0], [-3285120.0, 404232.0], [-3285126.0, 404232.0]]
    shot = mod.make_screenshot(str(out), model_provider=lambda source: tiny_model, size=(1100, 700), roi=roi,
                               qtbot=qtbot)  # a 60x60 px region: one engine tile
    img = np.asarray(Image.open(out).convert("RGB"))
    np.testing.assert_array_equal(img, shot[..., :3])  # the PNG is what the viewer showed
    assert img.shape[0] >= 500 and img.shape[1] >= 900
    assert img.std() > 20 and len(np.unique(img.reshape(-1, 3), axis=0)) > 1000  # not blank
    # the scene (green/brown vegetation) is on the canvas, left of the docked widget
    left = img[:, : img.shape[1] // 2].reshape(-1, 3).astype(int)
    assert ((left[:, 1] > left[:, 2] + 15) & (left[:, 1] > 60)).mean() > 0.05
