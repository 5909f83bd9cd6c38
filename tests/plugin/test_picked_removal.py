"""A band group's finished run after the user deleted the picked band's layers: the run stays usable
while a band still has its source and result (that band becomes the picked one: the band before it
in band order, else the one after), and only when none has does the dock say there is no result."""

from __future__ import annotations

import pytest

from napari_ldcsr._viewer import grid

from .test_compare_baselines import _baselines, _compare_and_back
from .test_result_removal import _bands
from .test_widget import _errors, _wait_done

NONE_LEFT = "Nothing to compare: the last run's results or their source layers were deleted; run LDCSR again."


def _band_run(viewer, widget, qtbot, tmp_path, picked: int = 1):
    """A 4-band file run as a band group with band ``picked`` (0-based) picked: (bands, record)."""
    bands = _bands(viewer, tmp_path)
    assert widget.run(layer=bands[picked], scale=2.0)
    _wait_done(qtbot, widget)
    return bands, widget.last


def _delete(viewer, *layers) -> None:
    """Select ``layers`` and press the layer list's Delete button."""
    viewer.layers.selection.clear()
    viewer.layers.selection.update(layers)
    viewer.layers.remove_selected()


def _controls_enabled(widget) -> list[bool]:
    return [w.isEnabled() for w in (widget.compare_button, widget.blink_button, widget.opacity_slider)]


@pytest.mark.parametrize("picked, now", [(1, 0), (0, 1)], ids=["band before", "first band: the one after"])
def test_deleting_the_picked_result_picks_a_remaining_band(ldcsr, qtbot, notes, bicubic_engine, tmp_path,
                                                          picked, now):
    """The picked band's result deleted, the other three still shown: Compare, blink and opacity
    stay on; Compare shows the new picked band's source | bicubic | LDCSR, blink and opacity act on
    the three results left (the dock used to take the whole run for gone)."""
    viewer, widget = ldcsr
    bands, last = _band_run(viewer, widget, qtbot, tmp_path, picked)
    gone = last.results[picked]
    _delete(viewer, gone)
    left = [r for r in last.results if r is not gone]
    assert _controls_enabled(widget) == [True, True, True]
    assert widget.last_result is last.results[now] and last.source is bands[now]
    assert widget.status == (f"'{gone.name}' was deleted: Compare, Show source / result and Result opacity "
                             f"now use '{last.results[now].name}'.")
    shown = _compare_and_back(qtbot, viewer, widget)
    bics = _baselines(viewer)
    assert len(bics) == 3 and shown == [bands[now], last.bicubic, last.results[now]]
    assert last.bicubic in bics and not _errors(notes)
    widget.toggle_result()
    assert [r.visible for r in left] == [False] * 3 and bands[now].visible
    widget.toggle_result()
    assert [r.visible for r in left] == [True] * 3
    widget.set_result_opacity(40)
    assert [r.opacity for r in left] == [0.4] * 3
    assert not _errors(notes)


def test_deleting_every_result_says_there_is_none_left(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """All four results deleted (picked one among them): the controls go off, the status says so,
    and Compare from code says why (not "Run LDCSR first", which a run was)."""
    viewer, widget = ldcsr
    bands, last = _band_run(viewer, widget, qtbot, tmp_path)
    _delete(viewer, last.results[1], last.results[2])
    assert widget.last_result is last.results[0] and _controls_enabled(widget) == [True, True, True]
    _delete(viewer, last.results[0], last.results[3])
    assert widget.last_result is None and _controls_enabled(widget) == [False, False, False]
    assert widget.status == NONE_LEFT
    widget.set_compare(True)
    assert not widget.comparing and not grid(viewer).enabled
    assert _errors(notes) == [NONE_LEFT]
    assert [lyr.name for lyr in viewer.layers] == [b.name for b in bands]


def test_deleting_the_picked_source_picks_a_remaining_band(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """The picked band's source layer deleted: its result has nothing to be compared with (it stays
    in the viewer, blinking and fading with the others); the band before becomes the picked one,
    and Compare makes no baseline for the band without its source."""
    viewer, widget = ldcsr
    bands, last = _band_run(viewer, widget, qtbot, tmp_path)
    _delete(viewer, bands[1])
    assert _controls_enabled(widget) == [True, True, True] and widget.last_result is last.results[0]
    assert widget.status == (f"'{bands[1].name}' was deleted: Compare, Show source / result and Result opacity "
                             f"now use '{last.results[0].name}'.")
    shown = _compare_and_back(qtbot, viewer, widget)
    bics = _baselines(viewer)
    assert [b.name for b in bics] == [f"bands [band {k}] ×2.00 (bicubic)" for k in (1, 3, 4)]
    assert shown == [bands[0], bics[0], last.results[0]]
    assert list(viewer.layers) == [bands[0], *bands[2:], *bics, *last.results]
    widget.set_result_opacity(30)
    assert [r.opacity for r in last.results] == [0.3] * 4
    assert not _errors(notes)


def test_deleting_every_source_says_there_is_none_left(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    viewer, widget = ldcsr
    bands, last = _band_run(viewer, widget, qtbot, tmp_path)
    _delete(viewer, *bands)
    assert widget.last_result is None and _controls_enabled(widget) == [False, False, False]
    assert widget.status == NONE_LEFT
    assert list(viewer.layers) == last.results and not _errors(notes)
