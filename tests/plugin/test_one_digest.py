"""Watchers of one layer's pixels (the live lens, the linked panels, Compare's grid) share one digest of
them per redraw (``napari_ldcsr._redraw_digest``), in a real napari viewer (Xvfb)."""

from __future__ import annotations

from tests.plugin.lens_wait import wait_for_view

from .conftest import scene_with_lens


def test_showing_a_hidden_source_or_another_ndisplay_digests_it_once(ldcsr, qtbot, digests, bicubic_engine):
    """Before: with the lens on and the linked panels open over a Run's result, showing the hidden source
    or switching 2-D/3-D and back digested it once for the lens and once for the panels (every byte read
    twice on the GUI thread, ~0.4 s a GB each); the grid's watch made it three. Now once a redraw; an edit
    in place is still seen by every watcher."""
    viewer, widget = ldcsr
    src, lens = scene_with_lens(ldcsr, qtbot)
    widget.live.set_linked_compare(True)
    assert widget.live.compare_dock is not None and widget.live.compare_dock.result is widget.last_result
    src.visible = False
    qtbot.wait(50)
    del digests[:]
    src.visible = True
    qtbot.wait(50)
    assert [d is src.data for d in digests] == [True]
    del digests[:]
    viewer.dims.ndisplay = 3
    viewer.dims.ndisplay = 2
    qtbot.wait(50)
    assert all(d is src.data for d in digests) and len(digests) == 2  # one a redraw: in 3-D, then in 2-D
    widget.set_compare(True)  # the grid's watch follows its pixels too
    assert widget.comparing
    src.visible = False
    qtbot.wait(50)
    del digests[:]
    src.visible = True
    qtbot.wait(50)
    assert len(digests) == 1
    read = lens._version  # the lens's read of the pixels (new cache keys when they change)
    src.data[60:140, 60:140] = 255 - src.data[60:140, 60:140]  # an edit in place: each watcher sees it
    src.refresh()
    qtbot.wait(100)
    assert not widget.comparing and widget.live.compare_dock.result is None and lens._version > read
    widget.live.set_live(False)


def test_an_edit_before_the_same_redraw_event_is_emitted_again_is_seen(ldcsr, qtbot, digests, bicubic_engine):
    """napari's own redraws make a new event each time (``refresh()``), but its emitters emit an ``Event``
    they are given again (``layer.events.set_data(event)``: how napari chains emitters). Before: the digest
    held for that event was given again after an edit in place, so the lens kept the old pixels' view and
    cache and Compare's grid stayed open beside pixels its result is not of. Now each emission digests anew."""
    viewer, widget = ldcsr
    src, lens = scene_with_lens(ldcsr, qtbot)
    widget.set_compare(True)
    assert widget.comparing
    seen = []
    src.events.set_data.connect(seen.append)
    src.refresh()
    src.refresh()
    assert len(seen) == 2 and seen[0] is not seen[1]  # napari's path: a new event a redraw
    read = lens._version
    del digests[:]
    redraw = src.events.set_data()  # an emission: each watcher asks, one digest shared
    qtbot.wait(50)
    assert len(digests) == 1 and lens._version == read and widget.comparing
    src.data[60:140, 60:140] = 255 - src.data[60:140, 60:140]
    src.events.set_data(redraw)  # the same event again, after an edit in place
    qtbot.wait(100)
    assert lens._version > read and not widget.comparing
    widget.live.set_live(False)


def test_an_edit_in_place_the_lens_sees_digests_the_layer_once(ldcsr, qtbot, digests, bicubic_engine):
    """Before: the lens digested an edited layer twice a redraw, once to see the edit and once more reading the
    edited pixels at once (every byte read twice on the GUI thread: ~1 s for a 1 GB scene); now once."""
    viewer, widget = ldcsr
    src, lens = scene_with_lens(ldcsr, qtbot, run=False)
    read = lens._version
    del digests[:]
    src.data[60:140, 60:140] = 255 - src.data[60:140, 60:140]
    src.refresh()
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    assert lens._version > read and [d is src.data for d in digests] == [True]
    src.data[60:140, 60:140] = 255 - src.data[60:140, 60:140]  # put back: seen too (its digest is the new one's)
    src.refresh()
    qtbot.wait(100)
    assert lens._version > read + 1
    widget.live.set_live(False)
