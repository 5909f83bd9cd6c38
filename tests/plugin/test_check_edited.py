"""A layer edited in place (``layer.data[…] = …``) while *Check quality here* runs is said, as a Run says it, in a
real napari viewer (Xvfb): the check's figure and error maps are of the pixels it read, which the layer no longer
holds; a layer removed stops the check, as it stops a Run."""

from __future__ import annotations

import pytest

from .test_selfcheck_button import scene

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _check_held(ldcsr, qtbot, gate, edit):
    """A check of the 128×128 RGB layer 'scene' at ×2 in 32-px tiles, held before its second tile (``gate``:
    ``engine_held_at_second_tile``) while ``edit(src)`` runs; ``(viewer, widget, src, checked)`` once it ends."""
    viewer, widget = ldcsr
    src = viewer.add_image(scene(128, 128), name="scene", rgb=True)
    widget.set_scale(2.0)
    widget.tile = 32
    checked = []
    widget.qualityChecked.connect(checked.append)
    with qtbot.waitSignal(widget.checker.finished, timeout=120_000):
        assert widget.check_quality()
        qtbot.waitUntil(gate.second_started.is_set, timeout=20_000)
        edit(src)
        gate.release.set()
    return viewer, widget, src, checked


def _invert_a_square(src):
    src.data[10:30, 10:30] = 255 - src.data[10:30, 10:30]
    src.refresh()


def test_a_layer_edited_in_place_during_the_check_is_said_not_shown(ldcsr, qtbot, notes, engine_held_at_second_tile):
    """Before: the check's figure ('LDCSR … than bicubic (… dB) at ×2 on the whole layer …') and its error maps, of
    the pixels it read, were shown over the edited layer, without a word. Now, as a Run's result of pixels edited
    since: nothing shown, said in plain words."""
    viewer, widget, src, checked = _check_held(ldcsr, qtbot, engine_held_at_second_tile, _invert_a_square)
    said = "'scene' had its pixels edited during the check; nothing was shown: check it again."
    assert widget.status == f"Check dropped: {said}" and notes == [("warning", said)]
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and not checked and not widget.busy


@pytest.mark.parametrize("edit", ["none", "put back"])
def test_a_layer_whose_pixels_are_the_checked_ones_is_shown(ldcsr, qtbot, notes, engine_held_at_second_tile, edit):
    """No edit, or an edit put back before the check ends (the same pixels again): its figure and maps are shown."""
    def put_back(src):
        before = src.data.copy()
        _invert_a_square(src)
        src.data[...] = before
        src.refresh()

    viewer, widget, src, checked = _check_held(ldcsr, qtbot, engine_held_at_second_tile,
                                               put_back if edit == "put back" else lambda src: None)
    assert widget.status.startswith("LDCSR ") and "at ×2 on the whole layer" in widget.status, widget.status
    assert len(checked) == 1 and not [n for n in notes if n[0] in ("warning", "error")], notes
    assert [lyr.name for lyr in viewer.layers] == [
        "scene", "scene self-check error ×2.00 (bicubic)", "scene self-check error ×2.00 (LDCSR fast)"]


def test_a_layer_removed_during_the_check_stops_it(ldcsr, qtbot, notes, engine_held_at_second_tile):
    """Deleting the layer being checked stops the check within one tile, as it stops a Run of it. Before: the check
    went on to its end and said its figure ('LDCSR worse than bicubic (… dB) at ×2 on the whole layer (fast)') of a
    layer no longer in the viewer."""
    gate = engine_held_at_second_tile
    viewer, widget, src, checked = _check_held(ldcsr, qtbot, gate, lambda src: ldcsr[0].layers.remove(src))
    assert widget.status == "Stopped: 'scene' was removed during the check; nothing was measured."
    assert len(gate.ran) == 2 and not checked and len(viewer.layers) == 0 and not widget.busy
    assert not [n for n in notes if n[0] in ("warning", "error")], notes
