"""A source layer moved, scaled, rotated or sheared while it is shown super-resolved (napari's
transform mode edits the layer's ``affine`` as the user drags): the live lens's layer and the
linked panels' mirrors go with it, so that they keep lying exactly over the source. What is tested is
where the layers lie, not their pixels: the lens's tiles are the bicubic stand-in's (``bicubic_engine``)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr._viewer import camera
from napari_ldcsr.lens._lens import LiveLens
from tests.plugin.test_lens import _scene, _wait_done, small_viewer

MOVES = {
    "transform mode": lambda src: setattr(src, "affine", np.array([[0.94, -0.34, 7.0], [0.34, 0.94, -4.0], [0, 0, 1]])),
    "rotate": lambda src: setattr(src, "rotate", 20.0),
    "translate and scale": lambda src: (setattr(src, "translate", (6.0, -9.0)), setattr(src, "scale", (1.2, 0.8))),
}


def _assert_over(live, src, view):
    """The live window's pixel corners land on the source's (1e-6 world units)."""
    (h, w), (H, W), win = src.data.shape[:2], view.grid.out_shape, view.win
    for r, c in ((-0.5, -0.5), (win.h - 0.5, win.w - 0.5), (-0.5, win.w - 0.5), (win.h - 0.5, -0.5)):
        at = ((win.y0 + r + 0.5) * h / H - 0.5, (win.x0 + c + 0.5) * w / W - 0.5)
        np.testing.assert_allclose(live.data_to_world((r, c)), src.data_to_world(at), atol=1e-6)


@pytest.mark.parametrize("move", MOVES)
def test_the_live_layer_follows_its_moved_source(make_napari_viewer, qtbot, tiny_model, bicubic_engine, move):
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    camera(viewer).center, camera(viewer).zoom = (100.0, 100.0), 4.0
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    first = lens.view
    MOVES[move](src)
    _assert_over(lens.live_layer, src, lens.view)  # at once, before anything is computed again
    _wait_done(qtbot, lens, after=first)  # the camera looks elsewhere on the moved layer now
    _assert_over(lens.live_layer, src, lens.view)
    lens.close()
    qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)
    MOVES[move](src)  # a lens that let go of its layer no longer follows it


def test_the_linked_panels_follow_moved_layers(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    from napari_ldcsr.compare._compare import CompareDock

    viewer = small_viewer(make_napari_viewer, qtbot, size=(700, 500))
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    res = viewer.add_image(np.zeros((400, 400, 3), np.uint8), rgb=True, scale=(0.5, 0.5), translate=(-0.25, -0.25))
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    dock = CompareDock(viewer, src, result=res, lens=lens)
    viewer.window.add_dock_widget(dock, area="bottom", name="Compare")
    camera(viewer).center, camera(viewer).zoom = (100.0, 100.0), 4.0
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    MOVES["transform mode"](src)
    MOVES["transform mode"](res)
    _wait_done(qtbot, lens, after=None)
    qtbot.wait(50)
    live = lens.live_layer
    for panel, model in dock.models.items():
        for mirror in model.layers:
            of = live if mirror is dock._live_mirror else res if mirror.data is res.data else src
            np.testing.assert_allclose(mirror.data_to_world((3, 5)), of.data_to_world((3, 5)), atol=1e-9,
                                       err_msg=f"{panel}: {mirror.name}")
    dock.close_panels()
    lens.close()
    qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)
    MOVES["rotate"](src)  # closed panels follow nothing
