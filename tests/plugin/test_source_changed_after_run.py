"""The source layer of the last Run changed after it, in a real napari viewer (Xvfb): given other pixels
(``layer.data = …``), then Compare; deleted while the live lens is on it. The network is the bicubic
stand-in (``bicubic_engine``): the tests are of what is compared and lensed."""

from __future__ import annotations

import gc
import weakref

import pytest

from .lens_wait import wait_for_view
from .test_lens import _look, _scene


@pytest.mark.parametrize("new", ["smaller", "same size"])
def test_compare_refuses_a_result_of_pixels_its_source_no_longer_holds(ldcsr, qtbot, notes, bicubic_engine, new):
    """Before: smaller pixels gave 'Could not compute the bicubic baseline: the window of rows 0–200 and
    columns 0–200 is not inside the raster of 20 rows × 30 columns'; pixels of the same size gave no
    word, and the grid set the old pixels' result beside the new pixels' baseline."""
    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    res = widget.last_result
    src.data = _scene()[:20, :30].copy() if new == "smaller" else _scene(seed=5)[::-1].copy()
    widget.set_compare(True)
    assert not widget.comparing and not widget.compare.compare_button.isChecked()
    assert notes[-1] == ("warning", "'scene' was given other pixels since its run: its result is of the pixels it "
                                    "held then, so Compare would set it beside the new ones. Run LDCSR again to compare.")
    assert [lyr.name for lyr in viewer.layers] == ["scene", res.name]  # no baseline of the new pixels added
    assert not [t for s, t in notes if s == "error"]
    # a Run of the new pixels compares again
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    widget.set_compare(True)
    assert widget.comparing and widget.last.bicubic.data.shape[:2] == tuple(2 * n for n in src.data.shape[:2])
    widget.set_compare(False)


def test_pixels_a_source_was_given_other_ones_in_place_of_are_not_kept_in_memory_by_its_run(ldcsr, qtbot, notes,
                                                                                          bicubic_engine):
    """A scene replaced by the user is freed, not held until the next Run by the record of what the
    run read; Compare still knows the result is of other pixels. Before: that record kept the old array
    (a 1 GB scene replaced stayed in memory)."""
    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    old = weakref.ref(src.data)
    src.data = _scene(seed=5)
    qtbot.wait(50)
    gc.collect()
    assert old() is None
    widget.set_compare(True)
    assert not widget.comparing and notes[-1] == (
        "warning", "'scene' was given other pixels since its run: its result is of the pixels it held then, so "
                   "Compare would set it beside the new ones. Run LDCSR again to compare.")


def test_the_linked_panels_leave_out_a_result_of_pixels_its_source_no_longer_holds(ldcsr, qtbot, notes,
                                                                                   bicubic_engine):
    """As Compare refuses it. Before: they opened as source (the new pixels) | bicubic (of the new pixels) |
    LDCSR (the old pixels' result over the new ones), saying nothing."""
    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    widget.set_layer(src)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    res = widget.last_result
    src.data = _scene(seed=5)[::-1].copy()
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    assert dock.source is src and dock.result is None and dock.bicubic is None
    assert [lyr.data is res.data for lyr in dock.models["LDCSR"].layers] == [False]  # the source's mirror only
    assert notes[-1] == ("info", "'scene' was given other pixels since its run: its result is of the pixels it held "
                                 "then, so the LDCSR panel leaves it out. Run LDCSR again to see it there.")
    assert widget.run(layer=src, scale=2.0)  # a Run of the new pixels: the panels show its result
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    dock = widget.live.compare_dock
    assert dock.result is widget.last_result and dock.result is not res
    widget.live.compare_button.setChecked(False)


def test_the_live_lens_turns_off_when_its_source_is_deleted_not_onto_the_run_s_result(ldcsr, qtbot, notes,
                                                                                      bicubic_engine):
    """Before: the layer picker moved to the next image layer, the run's result, and the lens followed
    it: it went on super-resolving the LDCSR result ('scene ×2.00 (LDCSR fast) (live LDCSR)'), saying
    nothing."""
    viewer, widget = ldcsr
    panel = widget.live
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    widget.set_layer(src)
    viewer.window.resize(520, 400)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    res = widget.last_result
    _look(viewer, src, (100, 100), 2.0)
    panel.live_box.setChecked(True)
    wait_for_view(qtbot, panel.lens)
    viewer.layers.remove(src)
    qtbot.waitUntil(lambda: ("info", "Live lens off: 'scene' was removed.") in notes, timeout=5_000)
    qtbot.wait(100)
    assert not panel.lens.enabled and not panel.live_box.isChecked() and panel.lens.live_layer is None
    assert [lyr.name for lyr in viewer.layers] == [res.name]
