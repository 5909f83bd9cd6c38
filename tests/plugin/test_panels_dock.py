"""The linked panels and the LDCSR widget's own dock: the dock hidden, two widgets in one window."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest


def _open_panels(viewer, widget, qtbot):
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 48, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    qtbot.wait(100)
    return src


def _full_collections(action) -> int:
    """How many full garbage collections ``action()`` runs (Python's own, unasked, held off meanwhile)."""
    fulls = []

    def seen(phase, info):
        if phase == "start" and info["generation"] == 2:
            fulls.append(info)

    gc.callbacks.append(seen)
    gc.disable()
    try:
        action()
    finally:
        gc.enable()
        gc.callbacks.remove(seen)
    return len(fulls)


def test_closing_the_panels_runs_no_full_garbage_collection(ldcsr, qtbot, qtlog):
    """Closing the panels (their button, their 'x', a Run while they are open: it reopens them) runs no
    full garbage collection, and the panels' canvases still let go of what they drew (each layer's
    visual; napari's leak check at the viewer's close sees their QtViewers gone). Before: each panel's
    layers were cleared while its canvas listened, and napari's canvas runs ``gc.collect()`` at the end
    of each batch of removals (a Windows OpenGL workaround): three full collections at each close, each
    walking every live object of the session (about 0.9 s with a loaded model and a million objects on
    this machine: the window froze for 2-3 s at each Run with the panels open)."""
    viewer, widget = ldcsr
    src = _open_panels(viewer, widget, qtbot)
    live, first = widget.live, widget.live.compare_dock
    visuals = [weakref.ref(v) for qtv in first.qt_viewers.values() for v in qtv.canvas.layer_to_visual.values()]
    assert len(visuals) == 3  # each panel draws one mirror of the source
    assert _full_collections(lambda: live.open_compare(src)) == 0  # as a Run's result does: close, reopen
    dock = live.compare_dock
    assert dock is not first and dock.link is not None and first.link is None and first.qt_viewers == {}
    assert [[lyr.data is src.data for lyr in m.layers] for m in dock.models.values()] == [[True]] * 3
    assert [len(m.layers) for m in first.models.values()] == [0, 0, 0]  # the old panels' layers dropped
    qtbot.wait(100)
    gc.collect()
    assert [r() for r in visuals] == [None] * 3
    assert _full_collections(lambda: live.compare_button.setChecked(False)) == 0
    assert live.compare_dock is None and dock.qt_viewers == {}
    qtbot.wait(100)
    assert not [r.message for r in qtlog.records if r.type_name != "QtDebugMsg"]


def test_hiding_the_widgets_dock_closes_its_linked_panels(ldcsr, qtbot):
    """The LDCSR dock's title-bar hide button (napari's; the Plugins menu and Window menu hide it the
    same way) closes the linked panels as closing the widget does: their cameras unlinked, their dock
    gone, the window's bottom-right corner back, the button off. Shown again, the dock is as after the
    panels' own 'x': one click opens them. Before: the panels stayed open and linked to a widget out
    of sight, the right-hand dock area kept the corner."""
    from qtpy.QtCore import Qt

    from napari_ldcsr._viewer import camera

    viewer, widget = ldcsr
    window = viewer.window._qt_window
    corner = Qt.Corner.BottomRightCorner
    before = window.corner(corner)
    _open_panels(viewer, widget, qtbot)
    panels, button = widget.live.compare_dock, widget.live.compare_button
    assert panels is not None and window.corner(corner) == Qt.DockWidgetArea.RightDockWidgetArea
    dock = widget.parent()
    dock.titleBarWidget().hide_button.click()  # napari's hide button on the LDCSR dock
    qtbot.waitUntil(lambda: not widget.isVisible() and widget.live.compare_dock is None)
    assert not button.isChecked()
    assert panels.link is None and panels.qt_viewers == {}  # unlinked, canvases closed
    assert "LDCSR linked compare" not in viewer.window._wrapped_dock_widgets
    assert window.corner(corner) == before
    camera(viewer).zoom = 3.0  # the main camera moves alone
    assert all(camera(m).zoom != 3.0 for m in panels.models.values())

    dock.setVisible(True)  # shown again (the Plugins or Window menu)
    qtbot.wait(100)
    assert widget.isVisible() and not button.isChecked() and widget.live.compare_dock is None
    button.click()
    qtbot.waitUntil(lambda: widget.live.compare_dock is not None and widget.live._dock.isVisible())
    assert window.corner(corner) == Qt.DockWidgetArea.RightDockWidgetArea


def test_a_minimized_window_keeps_the_panels(ldcsr, qtbot):
    """Only the dock's own hiding closes them: the window minimized and shown again keeps them open."""
    viewer, widget = ldcsr
    _open_panels(viewer, widget, qtbot)
    panels = widget.live.compare_dock
    window = viewer.window._qt_window
    window.showMinimized()
    qtbot.wait(200)
    window.showNormal()
    qtbot.wait(200)
    assert widget.live.compare_dock is panels and panels.link is not None
    assert widget.live.compare_button.isChecked()


def test_floating_the_widgets_dock_keeps_its_linked_panels(ldcsr, qtbot):
    """napari's float button beside the hide button (or a double click on the title bar) floats the
    LDCSR dock and docks it again: Qt hides the dock for a moment while it changes its window, which
    is not the dock hidden, so the panels stay open and linked. Before: floating it closed them."""
    viewer, widget = ldcsr
    _open_panels(viewer, widget, qtbot)
    panels, dock = widget.live.compare_dock, widget.parent()
    for floating in (True, False):
        dock.titleBarWidget().float_button.click()
        qtbot.wait(100)
        assert dock.isFloating() is floating and widget.isVisible()
        assert widget.live.compare_dock is panels and panels.link is not None
        assert widget.live.compare_button.isChecked()


@pytest.mark.parametrize("first", ["second closes first", "first closes first"])
def test_two_widgets_in_one_window_give_the_corner_back_once_both_panels_close(ldcsr, qtbot, tiny_model, first):
    """A script docks the LDCSR widget twice and both open their linked panels: the right-hand docks
    hold the window's bottom-right corner until the last panels close, then the window has its own
    setting again, whichever closes first. Before: the second widget recorded the corner the first had
    taken as the window's own and put it back when it closed: the right-hand docks kept the corner
    for good (or the first's closing took it from the second's open panels)."""
    from qtpy.QtCore import Qt

    from napari_ldcsr._widget import LdcsrWidget

    viewer, one = ldcsr
    window = viewer.window._qt_window
    corner = Qt.Corner.BottomRightCorner
    before = window.corner(corner)
    two = LdcsrWidget(viewer, model_provider=lambda source: tiny_model)
    viewer.window.add_dock_widget(two, name="LDCSR super-resolution (2)")
    src = _open_panels(viewer, one, qtbot)
    two.set_layer(src)
    two.live.compare_button.setChecked(True)
    qtbot.waitUntil(lambda: one.live.compare_dock is not None and two.live.compare_dock is not None)
    closing = (two, one) if first == "second closes first" else (one, two)
    closing[0].live.compare_button.setChecked(False)
    qtbot.wait(100)
    assert window.corner(corner) == Qt.DockWidgetArea.RightDockWidgetArea  # the other's panels are open
    closing[1].live.compare_button.setChecked(False)
    qtbot.waitUntil(lambda: window.corner(corner) == before)
    viewer.window.remove_dock_widget(two)


@pytest.mark.parametrize("how", ["button", "reopen", "x"])
def test_closed_panels_are_freed_without_a_garbage_collection(ldcsr, qtbot, how):
    """Closed panels (their button, a Run reopening them, their dock's 'x') go as soon as they close: the
    CompareDock, its three canvases and what they drew are freed by their last reference, with Python's
    garbage collector held off. Before: the last panels closed stayed alive, with their QtViewers and
    layers, until a full collection (napari's at the window's close): each panel's model kept a lambda
    of ours that held the dock, and napari's dock wrapper and the dock held each other (its ``setWidget``
    sets itself as the widget's ``_parent``; Qt's wrapper keeps the widget it holds)."""
    viewer, widget = ldcsr
    src = _open_panels(viewer, widget, qtbot)
    live = widget.live
    dock = weakref.ref(live.compare_dock)
    canvases = [weakref.ref(q) for q in live.compare_dock.qt_viewers.values()]
    close = {"button": lambda: live.compare_button.setChecked(False), "reopen": lambda: live.open_compare(src),
             "x": lambda: live._dock.destroyOnClose()}[how]  # napari's title bar 'x' calls destroyOnClose
    gc.disable()
    try:
        close()
        # Qt deletes napari's dock (deleteLater): the panels go with it, no collection run
        qtbot.waitUntil(lambda: dock() is None and [c() for c in canvases] == [None] * 3)
    finally:
        gc.enable()
    assert (live.compare_dock is not None) == (how == "reopen")
