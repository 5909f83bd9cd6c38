"""The linked panels and the LDCSR widget's own dock: two widgets in one window."""

from __future__ import annotations

import numpy as np
import pytest


def _open_panels(viewer, widget, qtbot):
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 48, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    qtbot.wait(100)
    return src


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
    qtbot.wait(100)
    assert one.live.compare_dock is not None and two.live.compare_dock is not None
    closing = (two, one) if first == "second closes first" else (one, two)
    closing[0].live.compare_button.setChecked(False)
    qtbot.wait(100)
    assert window.corner(corner) == Qt.DockWidgetArea.RightDockWidgetArea  # the other's panels are open
    closing[1].live.compare_button.setChecked(False)
    qtbot.wait(100)
    assert window.corner(corner) == before
    viewer.window.remove_dock_widget(two)
