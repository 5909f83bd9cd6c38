"""*Check quality here* of a layer (or view) whose every pixel is nodata: refused at once, in the engine's words
(``quality.check_has_data``, as ``ldcsr selfcheck`` and QGIS's quality report say it), before the model loads and
before a check of K samples says its cost; a layer with some data is checked."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from napari_ldcsr.io import _lazy
from napari_ldcsr.run import _selfcheck

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

NO_DATA = "every checked pixel is nodata: nothing to measure"


def _tif(path, data, **profile):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=data.shape[0],
                       dtype=data.dtype, crs="EPSG:32633", transform=from_origin(6e5, 534e4, 10, 10),
                       **profile) as ds:
        ds.write(data)
        if profile.get("nodata") is None and profile.get("mask"):
            ds.write_mask(np.zeros(data.shape[1:], np.uint8))
    return path


def _layer(viewer, widget, tmp_path, monkeypatch, case):
    if case == "the form's nodata":  # an array layer, all 0, and 0 typed in the Nodata field
        widget.form.nodata.value = "0"
        return viewer.add_image(np.zeros((48, 48, 3), np.uint8), name="black", rgb=True)
    if case == "a view of a large layer":  # data on the right: the view checked (its left) holds none
        monkeypatch.setattr(_selfcheck, "SMALL", 100)
        data = np.zeros((3, 48, 96), np.uint8)
        data[:, :, 72:] = 90
        monkeypatch.setattr(_selfcheck, "check_region", lambda v, lyr: (_selfcheck.geo.Region(0, 0, 48, 48), "this view"))
        (layer,) = viewer.open(str(_tif(tmp_path / "s.tif", data, nodata=0)), plugin="napari-ldcsr")
        return layer
    if case == "a big lazy layer with a mask of zeros":
        monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 16 * 16)
        monkeypatch.setattr(_lazy, "TOP_LEVEL_SIDE", 16)
        (layer,) = viewer.open(str(_tif(tmp_path / "s.tif", np.full((3, 48, 48), 90, np.uint8), photometric="RGB",
                                        mask=True)), plugin="napari-ldcsr")
        assert layer.multiscale  # read from its file
        return layer
    (layer,) = viewer.open(str(_tif(tmp_path / "s.tif", np.zeros((3, 48, 48), np.uint8), nodata=0)),
                           plugin="napari-ldcsr")
    return layer


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("case", ["the file's nodata", "the form's nodata", "a view of a large layer",
                                  "a big lazy layer with a mask of zeros"])
def test_a_layer_all_nodata_is_refused_before_the_model_loads(ldcsr, notes, tmp_path, monkeypatch, case, k):
    """Before: the check started, "Uncertainty: samples" 2 said it takes about 2 times as long as one sample, the
    model loaded (seconds), then 'Check failed: every checked pixel is nodata: nothing to measure'; now that refusal
    at once, no model asked for, no check started, nothing said of its cost."""
    viewer, widget = ldcsr
    layer = _layer(viewer, widget, tmp_path, monkeypatch, case)
    widget.set_scale(2.0)
    widget.set_mode("diffusion" if k > 1 else "fast")
    widget.form.samples.value = k
    assert not widget.check_quality(layer=layer)
    assert notes == [("error", NO_DATA)]
    assert widget.provider_calls == [] and not widget.busy and not widget.checker.running


def test_a_layer_with_some_data_is_checked(ldcsr, qtbot, notes):
    """Nodata typed in the form over most of an array layer: the block of data left is checked, the rest counted."""
    viewer, widget = ldcsr
    data = np.zeros((48, 48, 3), np.uint8)
    data[:, :24] = np.random.default_rng(0).integers(1, 255, (48, 24, 3))
    layer = viewer.add_image(data, name="half", rgb=True)
    widget.form.nodata.value = "0"
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000):
        assert widget.check_quality(layer=layer)
    assert widget.status.endswith("at ×2 on the whole layer (fast; 50 % nodata, not scored)"), widget.status
