"""Compare's grid and the linked panels already open when their layers change, in a real napari viewer
(Xvfb): a source given other pixels (``layer.data = …``) or edited in place, a layer renamed. The network
is the bicubic stand-in (``bicubic_engine``): the tests are of what the panels show."""

from __future__ import annotations

import pytest

from .test_lens import _scene
from .test_source_edited import _edit
from .test_widget import _wait_done

CHANGED = "'scene' {} since its run: its result is of the pixels it held then, so "


def _change(src, how):
    if how == "was given other pixels":
        src.data = _scene(seed=5)[::-1].copy()
    else:
        _edit(src)


def _run(viewer, widget, qtbot):
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    widget.set_layer(src)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    return src


def _panel_layers(dock):
    return {name: list(m.layers) for name, m in dock.models.items()}


@pytest.mark.parametrize("how", ["was given other pixels", "had its pixels edited"])
def test_open_panels_leave_out_a_result_once_its_source_changes(ldcsr, qtbot, notes, bicubic_engine, how):
    """Before: the panels went on showing the old pixels (a mirror keeps the array it was made with; an
    edit in place was not redrawn there) beside, or under, the old pixels' result, saying nothing."""
    viewer, widget = ldcsr
    src = _run(viewer, widget, qtbot)
    widget.live.compare_button.setChecked(True)
    assert widget.live.compare_dock.result is widget.last_result
    _change(src, how)
    qtbot.waitUntil(lambda: widget.live.compare_dock is not None and widget.live.compare_dock.result is None,
                    timeout=5_000)
    dock = widget.live.compare_dock
    assert dock.source is src and dock.bicubic is None and widget.live.compare_button.isChecked()
    for layers in _panel_layers(dock).values():  # the source's pixels as they are now, in every panel
        assert [lyr.data is src.data for lyr in layers] == [True]
    assert notes[-1] == ("info", CHANGED.format(how) + "the LDCSR panel leaves it out. Run LDCSR again to see it there.")
    widget.live.compare_button.setChecked(False)


def test_open_panels_show_a_source_s_new_pixels(ldcsr, qtbot, notes):
    """No run to leave out: each panel's mirror takes the new array (and an edit in place is redrawn)."""
    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    src.data = _scene(seed=5)
    qtbot.wait(50)
    assert widget.live.compare_dock is dock
    for layers in _panel_layers(dock).values():
        assert [lyr.data is src.data for lyr in layers] == [True]
    mirror = dock.models["source"].layers[0]
    drawn = []
    mirror.events.set_data.connect(lambda *_: drawn.append(1))
    _edit(src)
    assert drawn  # redrawn with the edit
    widget.live.compare_button.setChecked(False)


def test_open_panels_follow_a_rename(ldcsr, qtbot, bicubic_engine):
    """Before: the mirrors kept the names the layers had when the panels opened."""
    viewer, widget = ldcsr
    widget.set_bicubic(True)
    src = _run(viewer, widget, qtbot)
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    widget.last_result.name = "sharp"
    widget.last.bicubic.name = "soft"
    src.name = "before"
    names = {panel: [lyr.name for lyr in layers] for panel, layers in _panel_layers(dock).items()}
    assert names == {"source": ["before"], "bicubic": ["before", "soft"], "LDCSR": ["before", "sharp"]}
    widget.live.compare_button.setChecked(False)


@pytest.mark.parametrize("how", ["was given other pixels", "had its pixels edited"])
def test_the_grid_ends_once_its_source_changes(ldcsr, qtbot, notes, bicubic_engine, how):
    """Before: the grid went on setting the edited (or new) source beside the old pixels' result and
    baseline, saying nothing."""
    viewer, widget = ldcsr
    src = _run(viewer, widget, qtbot)
    order = [lyr.name for lyr in viewer.layers]
    widget.set_compare(True)
    assert widget.comparing
    _change(src, how)
    qtbot.waitUntil(lambda: not widget.comparing, timeout=5_000)
    assert not widget.compare.compare_button.isChecked() and not viewer.grid.enabled
    assert [lyr.name for lyr in viewer.layers if lyr.visible] == order[:1] + order[1:2]  # as before the grid
    back = ", or put its pixels back," if how == "had its pixels edited" else ""  # (which undoes an edit)
    assert notes[-1] == ("warning", CHANGED.format(how) + "Compare would set it beside the new ones. The "
                                    f"side-by-side grid was closed; run LDCSR again{back} to compare.")
