"""A source edited in place since its run, then put back: what Compare says is true (a real napari viewer
under Xvfb; the network is the bicubic stand-in, ``bicubic_engine``)."""

from __future__ import annotations

from .test_compare_follows_source import _run

EDITED = ("'scene' had its pixels edited since its run: its result is of the pixels it held then, so Compare would "
          "set it beside the new ones. ")


def test_an_edit_undone_compares_again_as_the_message_says(ldcsr, qtbot, notes, bicubic_engine):
    """Before: the grid closed at an edit in place saying 'run LDCSR again to compare', and Compare refused
    saying 'Run LDCSR again to compare.', yet with the pixels put back Compare worked with no Run. Now both
    say that putting the pixels back does it too, which it does."""
    viewer, widget = ldcsr
    src = _run(viewer, widget, qtbot)
    widget.set_compare(True)
    assert widget.comparing
    held = src.data[10:20, 10:20].copy()
    src.data[10:20, 10:20] = 0
    src.refresh()
    qtbot.waitUntil(lambda: not widget.comparing, timeout=5_000)
    assert notes[-1] == ("warning", EDITED + "The side-by-side grid was closed; run LDCSR again, or put its "
                                             "pixels back, to compare.")
    widget.set_compare(True)
    assert not widget.comparing
    assert notes[-1] == ("warning", EDITED + "Run LDCSR again, or put its pixels back, to compare.")
    src.data[10:20, 10:20] = held  # the edit undone
    src.refresh()
    widget.set_compare(True)
    assert widget.comparing and viewer.grid.enabled
    widget.set_compare(False)
