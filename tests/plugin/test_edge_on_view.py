"""A 2-D layer beside a stack (a time series, a band stack) with napari's axes rolled so that a stack
axis is on screen: the view shows the layer edge-on, as a line. The *Current view* region and the
live lens say so in words, and the lens's status line says why it shows nothing (edge-on, zoomed
out, or looking beside the layer) instead of always asking to zoom in."""

from __future__ import annotations

import numpy as np

from napari_ldcsr._viewer import camera
from napari_ldcsr.run._region import view_region
from tests.plugin.lens_wait import view_done
from tests.plugin.test_lens import _scene


def _beside_a_stack(viewer):
    viewer.add_image(np.zeros((3, 200, 200), np.float32), name="stack")
    return viewer.add_image(_scene(), rgb=True, name="scene")


def test_the_current_view_of_a_layer_shown_edge_on_is_refused_in_words(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    src = _beside_a_stack(viewer)
    viewer.dims.order = (0, 2, 1)  # the layer's own axes swapped (a transposed view): a rectangle still
    region = view_region(viewer, src)
    assert not isinstance(region, str) and min(region.shape) > 50
    for order in ((1, 0, 2), (2, 1, 0)):  # a stack axis and one of the layer's on screen
        viewer.dims.order = order
        said = view_region(viewer, src)
        assert isinstance(said, str) and "shows 'scene' edge-on" in said and "Roll axes" in said, said
    widget.form.region.value = "view"
    assert widget.run(layer=src, scale=2.0) is False  # before: "The region is only 1×200 px; it needs at least 4×4 px."
    assert notes[-1][0] == "error" and "edge-on" in notes[-1][1], notes


def _status(widget):
    return widget.live.status_label.text()


def test_the_lens_says_why_it_shows_nothing(ldcsr, qtbot, bicubic_engine):
    """(The tiles are the bicubic stand-in's: what the lens says is tested, not the network.)"""
    viewer, widget = ldcsr
    src = _beside_a_stack(viewer)
    cam = camera(viewer)
    cam.center, cam.zoom = (100.0, 100.0), 4.0
    widget.set_layer(src)
    assert widget.live.set_live(True)
    lens = widget.live.lens
    qtbot.waitUntil(lambda: view_done(lens), timeout=60_000)
    live = lens.live_layer

    cam.center = (-900.0, -900.0)  # zoomed in, looking beside the layer; before: "zoom in (×1.25 or more) …"
    qtbot.waitUntil(lambda: lens.view is None, timeout=5_000)
    assert _status(widget) == "Live lens on: the view shows no part of 'scene'; pan to it" and not live.visible
    cam.zoom = 0.5
    qtbot.waitUntil(lambda: _status(widget).startswith("Live lens on: zoom in"), timeout=5_000)

    cam.center, cam.zoom = (100.0, 100.0), 1.5  # at ×1.5 the layer's edge-on line is one output row
    viewer.dims.order = (1, 0, 2)
    qtbot.waitUntil(lambda: "edge-on" in _status(widget), timeout=5_000)
    qtbot.wait(300)  # (before: a one-row strip was computed and shown)
    assert lens.view is None and not live.visible and not lens.busy
    assert _status(widget) == ("Live lens on: paused: the view shows 'scene' edge-on (napari's axis order puts "
                               "another layer's axis on screen); roll the axes back (napari's Roll axes button) "
                               "until its rows and columns are on screen")
    viewer.dims.order = (0, 1, 2)
    cam.center, cam.zoom = (100.0, 100.0), 4.0
    qtbot.waitUntil(lambda: view_done(lens), timeout=60_000)
    assert live.visible and _status(widget).startswith("Live ×4: ")
