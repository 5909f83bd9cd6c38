"""Keys pressed in a linked panel act on the main viewer, as in its canvas, and its mouse wheel zooms
every view alike: the panels stay views of the same spot; opening the panels leaves napari's shortcuts as they were, unannounced."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt


def test_a_transpose_pressed_in_a_panel_transposes_every_view(ldcsr, qtbot):
    """Before: napari's transpose (Ctrl+T) pressed in a panel transposed that panel alone: its camera,
    linked by (row, column) to the others, then looked at (column, row), another spot of the scene."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (60, 100, 3), dtype=np.uint8), rgb=True,
                           name="scene", translate=(5.0, 7.0))
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    canvas = dock.qt_viewers["LDCSR"].canvas.native
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert tuple(viewer.dims.order) == (1, 0)  # the main view transposed, as Ctrl+T in its canvas does
    assert {n: tuple(m.dims.order) for n, m in dock.models.items()} == dict.fromkeys(dock.models, (1, 0))
    dock.models["bicubic"].layers.selection.active = dock.models["bicubic"].layers[-1]  # napari resets its keys
    qtbot.keyClick(dock.qt_viewers["bicubic"].canvas.native, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert {tuple(m.dims.order) for m in (viewer, *dock.models.values())} == {(0, 1)}
    for m in dock.models.values():
        np.testing.assert_allclose(m.camera.center[-2:], viewer.camera.center[-2:])


def test_opening_the_panels_leaves_napari_shortcuts_as_they_were(make_napari_viewer, qtbot):
    """Each panel's canvas binds napari's shortcuts again (the same ones); before, each of the
    hundreds of rebindings was announced and every canvas's welcome screen redrew its shortcut table
    at each (about 0.2 s of the panels' opening each)."""
    from napari.utils.action_manager import action_manager

    from napari_ldcsr.compare._compare import CompareDock

    viewer = make_napari_viewer(show=True)
    src = viewer.add_image(np.zeros((20, 30), dtype=np.uint8), name="scene")
    before = {name: list(keys) for name, keys in action_manager._shortcuts.items()}
    said = []
    action_manager.events.shortcut_changed.connect(said.append)
    try:
        dock = CompareDock(viewer, src)
    finally:
        action_manager.events.shortcut_changed.disconnect(said.append)
    assert said == [] and {n: list(k) for n, k in action_manager._shortcuts.items() if k} == \
        {n: k for n, k in before.items() if k}
    dock.close_panels()


def _wheel(widget, pos, steps: int) -> None:
    from qtpy.QtCore import QPoint, QPointF
    from qtpy.QtGui import QWheelEvent
    from qtpy.QtWidgets import QApplication

    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_100_wheel_zooms_in_a_panel_move_every_view_alike_without_drift(ldcsr, qtbot):
    """Not a bug on main: the mouse wheel in a panel zooms there about the pointer and every view
    follows at once (same center and zoom); 50 steps in and 50 out come back where they started
    (no feedback between the linked cameras), and the views then stay still."""
    from qtpy.QtCore import QPointF

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8), rgb=True,
                           name="scene", scale=(2.5, 2.5), translate=(10.3, -7.1))
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    cams = [viewer.camera] + [m.camera for m in dock.models.values()]
    canvas = dock.qt_viewers["bicubic"].canvas.native
    qtbot.waitUntil(lambda: canvas.isVisible() and min(canvas.width(), canvas.height()) > 100)  # laid out
    start = (np.array(viewer.camera.center[-2:]), viewer.camera.zoom)
    pos = QPointF(canvas.width() * 0.3, canvas.height() * 0.6)  # off the middle: zooming moves the center too
    for i in range(100):
        _wheel(canvas, pos, 1 if i < 50 else -1)
        qtbot.wait(5)  # napari reads the canvas's camera back as it draws
        if i == 49:
            assert viewer.camera.zoom > 4 * start[1]
            assert not np.allclose(viewer.camera.center[-2:], start[0])
        for cam in cams[1:]:
            np.testing.assert_allclose(cam.center[-2:], viewer.camera.center[-2:], rtol=0, atol=1e-9)
            assert cam.zoom == viewer.camera.zoom
    qtbot.wait(200)
    np.testing.assert_allclose(viewer.camera.center[-2:], start[0], rtol=0, atol=1e-3)  # of 2.5-unit pixels
    assert viewer.camera.zoom == pytest.approx(start[1], rel=1e-9)
    still = [(tuple(c.center), c.zoom) for c in cams]
    qtbot.wait(300)
    assert [(tuple(c.center), c.zoom) for c in cams] == still


def test_the_panels_show_the_picture_of_a_stack_the_main_view_shows(ldcsr, qtbot):
    """Before: panels opened on a stack (three dates of a scene) showed its middle picture whatever
    the main view's slider showed, and a panel's own slider moved that panel alone."""
    viewer, widget = ldcsr
    dates = np.stack([np.full((20, 30), 40 * (i + 1), dtype=np.uint8) for i in range(3)])
    stack = viewer.add_image(dates, name="dates", contrast_limits=(0, 255))
    widget.set_layer(stack)
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    for step in (2, 0):
        viewer.dims.set_current_step(0, step)
        assert {n: m.dims.current_step[0] for n, m in dock.models.items()} == dict.fromkeys(dock.models, step)
    dock.models["bicubic"].dims.set_current_step(0, 1)
    assert {m.dims.current_step[0] for m in (viewer, *dock.models.values())} == {1}
    qtbot.wait(200)
    for qtv in dock.qt_viewers.values():  # what each panel draws at its middle: the second date
        shot = qtv.screenshot(flash=False)
        np.testing.assert_allclose(shot[shot.shape[0] // 2, shot.shape[1] // 2, :3], 80, atol=2)  # not 40, 120


def test_the_main_slider_goes_past_the_end_of_a_shorter_stack_in_the_panels(ldcsr, qtbot):
    """The panels' stack (three dates) is shorter than another layer of the main view (six dates): the
    main slider shows the longer one's later dates, the panels their last date. Before: a panel, held at
    its last date, handed it back to the main slider, which could not go past date 3."""
    viewer, widget = ldcsr
    dates = viewer.add_image(np.stack([np.full((20, 30), 40 * (i + 1), dtype=np.uint8) for i in range(3)]),
                             name="dates", contrast_limits=(0, 255))
    viewer.add_image(np.zeros((6, 20, 30), dtype=np.uint8), name="longer")
    widget.set_layer(dates)
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    viewer.dims.set_current_step(0, 5)
    assert viewer.dims.current_step[0] == 5
    assert {n: m.dims.current_step[0] for n, m in dock.models.items()} == dict.fromkeys(dock.models, 2)
    dock.models["LDCSR"].dims.set_current_step(0, 1)  # a panel's own slider still moves every view
    assert {m.dims.current_step[0] for m in (viewer, *dock.models.values())} == {1}
