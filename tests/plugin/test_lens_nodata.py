"""Invalid pixels under the live lens — NaN, the file's nodata value, alpha 0 — follow a Run's rules:
left out of the stretch, filled for the model, and put back on the output grid, so the live view
and a kept view never show made-up values there (before, NaN was filled with the layer's minimum
and shown and kept as data, nodata was stretched and super-resolved as data, and a kept RGBA view
lost its alpha band)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view


def _live_view(viewer, widget, qtbot, centre=(30.0, 30.0)):
    camera(viewer).center, camera(viewer).zoom = centre, 4.0
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    return lens


def _run(widget, qtbot, src):
    assert widget.run(layer=src, scale=4.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    return widget.last_result


@pytest.mark.parametrize("kind", ["float NaN", "uint16 nodata 0", "RGB nodata 0 in red"])
def test_nodata_under_the_lens_is_a_runs_nodata(ldcsr, qtbot, notes, kind):
    viewer, widget = ldcsr
    rng = np.random.default_rng(0)
    if kind == "float NaN":
        data = (rng.random((64, 64), dtype=np.float32) * 10 + 100).astype(np.float32)
        data[20:40, 10:30] = np.nan
        src = viewer.add_image(data, name="x")
    elif kind == "uint16 nodata 0":
        data = rng.integers(1000, 3000, (64, 64)).astype(np.uint16)
        data[20:40, 10:30] = 0
        src = viewer.add_image(data, name="x", metadata={"nodata": 0})
    else:  # GDAL's nodata is per band: only the red band is invalid there, as in a Run
        data = rng.integers(100, 200, (64, 64, 3)).astype(np.uint8)
        data[20:40, 10:30, 0] = 0
        src = viewer.add_image(data, name="x", rgb=True, metadata={"nodata": 0})
    lens = _live_view(viewer, widget, qtbot)
    view, live = lens.view, lens.live_layer
    kept = lens.keep()
    # shown transparent where the kept view holds nodata in every band (the source shows through)
    nodata = np.isnan(kept.data) if kind == "float NaN" else kept.data == 0
    np.testing.assert_array_equal(live.data[..., 3] == 0, nodata.all(axis=-1) if src.rgb else nodata)
    widget.live.set_live(False)
    run = _run(widget, qtbot, src)
    assert run.data.shape[:2] == view.grid.out_shape  # the lens's global grid at ×4
    expected = np.isnan(run.data) if kind == "float NaN" else run.data == 0
    got = np.isnan(kept.data) if kind == "float NaN" else kept.data == 0
    np.testing.assert_array_equal(got, expected[view.win.slices])
    assert got.any() and not got.all()
    floor = {"float NaN": 100, "uint16 nodata 0": 1000, "RGB nodata 0 in red": 1}[kind]
    assert kept.data[~got].min() >= floor  # nodata is neither stretched in nor left on a valid value
    assert not [t for s, t in notes if s in ("warning", "error")]


def test_the_live_layer_is_transparent_on_nodata_and_a_kept_rgba_view_keeps_its_alpha(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    data = np.random.default_rng(1).integers(0, 255, (64, 64, 4), dtype=np.uint8)
    data[..., 3] = 255
    data[10:30, 20:40, 3] = 0
    viewer.add_image(data, name="rgba", rgb=True)
    lens = _live_view(viewer, widget, qtbot)
    win, live = lens.view.win, lens.live_layer
    rows = (np.arange(win.y0, win.y0 + win.h) + 0.5) / 4
    cols = (np.arange(win.x0, win.x0 + win.w) + 0.5) / 4
    hidden = (data[..., 3] == 0)[rows.astype(int)][:, cols.astype(int)]
    assert hidden.any() and not hidden.all()
    np.testing.assert_array_equal(live.data[..., 3] == 0, hidden)
    kept = lens.keep()
    assert kept.data.shape == (win.h, win.w, 4)
    np.testing.assert_array_equal(kept.data[..., 3], np.where(hidden, 0, 255))
    widget.live.set_live(False)
    assert not [t for s, t in notes if s in ("warning", "error")]
