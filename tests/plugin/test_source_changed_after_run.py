"""The source layer of the last Run changed after it, in a real napari viewer (Xvfb): given other pixels
(``layer.data = …``), then Compare. The network is the bicubic stand-in (``bicubic_engine``): the tests
are of what is compared."""

from __future__ import annotations

import pytest

from .test_lens import _scene


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

