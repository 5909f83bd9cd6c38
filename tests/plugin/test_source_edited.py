"""A source layer's pixels edited in place (``layer.data[…] = …; layer.refresh()``: the same array) or
given other ones, in a real napari viewer (Xvfb): what a Run's outcome, Compare and the live lens make of
it. The network is the bicubic stand-in (``bicubic_engine``) where the test is of what is shown."""

from __future__ import annotations

from .test_widget import _errors, _wait_done


def _edit(layer):
    """What a console user does: a block set to 0 in the layer's own array, then a redraw."""
    layer.data[10:20, 10:20] = 0
    layer.refresh()


def test_compare_refuses_a_result_of_pixels_its_source_was_edited_away_from(ldcsr, qtbot, notes, bicubic_engine):
    """Before: the grid came up saying nothing, the old pixels' result beside the edited source and a
    baseline of the edited pixels (the edit is the same array: the run's record saw no change)."""
    from .test_lens import _scene

    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    res = widget.last_result
    _edit(src)
    widget.set_compare(True)
    assert not widget.comparing and not widget.compare.compare_button.isChecked()
    assert notes[-1] == ("warning", "'scene' had its pixels edited since its run: its result is of the pixels it "
                                    "held then, so Compare would set it beside the new ones. Run LDCSR again to compare.")
    assert [lyr.name for lyr in viewer.layers] == ["scene", res.name]  # no baseline of the edited pixels
    widget.set_layer(src)  # the linked panels leave that result out, as for pixels given
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    assert dock.source is src and dock.result is None and dock.bicubic is None
    assert notes[-1][0] == "info" and notes[-1][1].startswith("'scene' had its pixels edited since its run:")
    widget.live.compare_button.setChecked(False)
    assert widget.run(layer=src, scale=2.0)  # a Run of the edited pixels compares again
    _wait_done(qtbot, widget)
    widget.set_compare(True)
    assert widget.comparing
    widget.set_compare(False)


def test_a_source_edited_in_place_during_the_run_adds_nothing(ldcsr, qtbot, notes, bicubic_engine,
                                                               engine_held_at_second_tile):
    """As one given other pixels. Before: the result, partly of the old pixels, was added as the edited
    layer's ('Added …'), saying nothing."""
    from .test_source_changed_during_run import _held_run

    viewer, widget = ldcsr
    gate = engine_held_at_second_tile
    src = _held_run(viewer, widget, qtbot, gate)
    try:
        _edit(src)
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    said = "'scene' had its pixels edited during the run"
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and widget.last_result is None
    assert widget.status == f"{said}; nothing was added." and _errors(notes) == [f"{said}; the result was not added."]
