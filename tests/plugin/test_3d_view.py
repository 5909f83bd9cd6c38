"""The viewer in its 3-D display (napari's 2D/3D toggle, ``viewer.dims.ndisplay = 3``) with the
plugin's 2-D tools: the live lens pauses (and says so), and comes back in 2-D."""

from __future__ import annotations

import numpy as np

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import view_done as _done
from tests.plugin.test_lens import _scene


def test_the_live_lens_pauses_in_3d_and_its_status_says_why(ldcsr, qtbot, notes, bicubic_engine):
    """(The tiles are the bicubic stand-in's: when the lens pauses and what it says is tested, not the network.)"""
    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    camera(viewer).center, camera(viewer).zoom = (100.0, 100.0), 4.0
    panel, lens = widget.live, widget.live.lens
    assert panel.set_live(True)
    qtbot.waitUntil(lambda: _done(lens), timeout=60_000)
    assert panel.status_label.text().startswith("Live ×4: ")
    live = lens.live_layer
    pixels = live.data.copy()

    camera(viewer).zoom = 0.5  # below ×1.25: nothing to super-resolve
    qtbot.waitUntil(lambda: lens.view is None, timeout=5_000)
    assert not live.visible
    assert panel.status_label.text() == "Live lens on: zoom in (×1.25 or more) to super-resolve the view"
    camera(viewer).zoom = 4.0
    qtbot.waitUntil(lambda: _done(lens), timeout=60_000)

    viewer.dims.ndisplay = 3
    qtbot.waitUntil(lambda: lens.view is None, timeout=5_000)
    # hidden, not removed: napari 0.9 (Mesa's GL) crashed drawing the next camera move after a
    # layer was removed in 3-D (a segmentation fault, the session lost)
    assert live in viewer.layers and not live.visible
    assert panel.status_label.text() == "Live lens on: paused in the 3-D view (it super-resolves the 2-D view)"
    camera(viewer).zoom = 6.0
    qtbot.wait(300)
    assert lens.view is None and lens.keep() is None and notes[-1] == (
        "warning", "Live lens: nothing to keep (no live view).")

    camera(viewer).zoom = 4.0
    viewer.dims.ndisplay = 2  # the same view again: from the cache, shown in the same layer
    qtbot.waitUntil(lambda: _done(lens), timeout=60_000)
    assert lens.live_layer is live and live.visible
    np.testing.assert_array_equal(live.data, pixels)
    assert panel.status_label.text().startswith("Live ×4: ")
    assert src in viewer.layers and not [t for s, t in notes[:-1] if s in ("warning", "error")]


def test_current_view_in_3d_is_refused_in_words(ldcsr, qtbot, notes):
    """A 3-D view may be turned and in perspective: the camera's center and zoom say nothing about
    which pixels are on screen (before, a turned view ran on a box that was not what it showed)."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.zeros((1100, 1000), np.uint16), name="big")  # checked on its view
    viewer.dims.ndisplay = 3
    camera(viewer).angles = (0.0, 30.0, 60.0)
    said = ("The view is 3-D: switch to the 2-D view (napari's 2D/3D button) to use what is on screen, or pick "
            "the whole layer or a Shapes rectangle.")
    widget.set_region("view")
    assert widget.run(layer=src, scale=2.0) is False and not widget.running
    assert widget.check_quality(src) is False and not widget.checker.running
    assert notes == [("error", said)] * 2 and list(viewer.layers) == [src]
