"""Compare after a band group's run when the user deleted or renamed some of its layers: each band
keeps one bicubic baseline (a missing one is made again, one still there is reused), the baselines
lie as a block below the results, stacked as their sources, and the grid shows source | bicubic |
LDCSR for the picked band."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt

from napari_ldcsr._viewer import grid, grid_position

from .test_result_removal import _bands
from .test_widget import _errors, _wait_done


def _baselines(viewer) -> list:
    """The bicubic baseline layers in the viewer, bottom to top."""
    return [lyr for lyr in viewer.layers if (lyr.metadata.get("ldcsr") or {}).get("kind") == "bicubic"]


def _press_compare(qtbot, widget) -> None:
    qtbot.mouseClick(widget.compare_button, Qt.MouseButton.LeftButton)


def _grid_shows(viewer, widget) -> list:
    """What the grid's three cells show, left to right (asserting the rest is hidden)."""
    last = widget.last
    assert widget.comparing and grid(viewer).enabled
    trio = [last.source, last.bicubic, last.result]
    cells = [grid_position(viewer, viewer.layers.index(lyr)) for lyr in trio]
    assert cells == [(0, 0), (0, 1), (0, 2)]
    assert [lyr for lyr in viewer.layers if lyr.visible] == trio
    return trio


def _compare_and_back(qtbot, viewer, widget) -> list:
    """Press Compare, note what the grid shows, press it again: the layers are back in order."""
    _press_compare(qtbot, widget)
    shown = _grid_shows(viewer, widget)
    _press_compare(qtbot, widget)
    assert not widget.comparing and not grid(viewer).enabled
    return shown


def _compared_band_run(viewer, widget, qtbot, tmp_path, *, by_run: bool = False):
    """A 4-band file run as a band group (band 2 picked), compared once (which makes the four
    baselines, or the run did: ``by_run``) and back: (band layers, the run's record, its
    baselines, their blendings)."""
    bands = _bands(viewer, tmp_path)
    widget.set_bicubic(by_run)
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_done(qtbot, widget)
    last = widget.last
    shown = _compare_and_back(qtbot, viewer, widget)
    bics = _baselines(viewer)
    assert shown == [bands[1], bics[1], last.results[1]]
    assert list(viewer.layers) == [*bands, *bics, *last.results]
    return bands, last, bics, [b.blending for b in bics]


@pytest.mark.parametrize("gone, by_run", [(1, False), (3, False), (0, True)],
                         ids=["picked band", "other band", "lowest band, made by the run"])
def test_compare_after_one_baseline_was_deleted_makes_only_that_one(ldcsr, qtbot, notes, bicubic_engine, tmp_path,
                                                                   gone, by_run):
    """One band's baseline deleted, then Compare: that baseline is made again in its place in the
    block (the lowest one covering again); the other three are the same layers (the whole group's
    used to be added again: the other bands then had two baselines each; another band's was not
    made again)."""
    viewer, widget = ldcsr
    bands, last, bics, blendings = _compared_band_run(viewer, widget, qtbot, tmp_path, by_run=by_run)
    viewer.layers.remove(bics[gone])
    shown = _compare_and_back(qtbot, viewer, widget)
    now = _baselines(viewer)
    assert len(now) == 4 and [b.name for b in now] == [b.name for b in bics]
    assert [b is old for b, old in zip(now, bics)] == [i != gone for i in range(4)]  # the others kept
    assert shown == [bands[1], now[1], last.results[1]]
    assert list(viewer.layers) == [*bands, *now, *last.results]  # below the results, stacked as the bands
    assert [b.blending for b in now] == blendings
    assert not _errors(notes)


def test_compare_after_all_baselines_were_deleted_makes_each_once(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    viewer, widget = ldcsr
    bands, last, bics, blendings = _compared_band_run(viewer, widget, qtbot, tmp_path)
    viewer.layers.selection.clear()
    viewer.layers.selection.update(bics)
    viewer.layers.remove_selected()
    shown = _compare_and_back(qtbot, viewer, widget)
    now = _baselines(viewer)
    assert [b.name for b in now] == [b.name for b in bics] and not set(map(id, now)) & set(map(id, bics))
    assert shown == [bands[1], now[1], last.results[1]]
    assert list(viewer.layers) == [*bands, *now, *last.results] and [b.blending for b in now] == blendings
    _compare_and_back(qtbot, viewer, widget)  # and again: nothing more
    assert list(viewer.layers) == [*bands, *now, *last.results]
    assert not _errors(notes)


def test_a_renamed_baseline_is_still_the_bands_baseline(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    viewer, widget = ldcsr
    bands, last, bics, _ = _compared_band_run(viewer, widget, qtbot, tmp_path)
    bics[1].name = "my baseline"
    bics[2].name = "another"
    assert _compare_and_back(qtbot, viewer, widget) == [bands[1], bics[1], last.results[1]]
    assert list(viewer.layers) == [*bands, *bics, *last.results]
    assert not _errors(notes)


def test_compare_after_another_bands_result_was_deleted(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """A band's result deleted: Compare still shows the picked band's trio and makes no baseline
    (they were all made before) and none for a band without its result."""
    viewer, widget = ldcsr
    bands, last, bics, _ = _compared_band_run(viewer, widget, qtbot, tmp_path)
    viewer.layers.remove(last.results[3])
    viewer.layers.remove(bics[1])
    shown = _compare_and_back(qtbot, viewer, widget)
    now = _baselines(viewer)
    assert len(now) == 4 and [b is old for b, old in zip(now, bics)] == [True, False, True, True]
    assert shown == [bands[1], now[1], last.results[1]]
    assert list(viewer.layers) == [*bands, *now, *last.results[:3]]
    assert not _errors(notes)


def test_compare_after_a_bands_result_was_deleted_makes_baselines_for_the_others(ldcsr, qtbot, notes,
                                                                                bicubic_engine, tmp_path):
    """No baselines yet and the lowest band's result deleted: Compare makes one for each band whose
    result is still shown (none for the deleted one), as a block below the results whose lowest
    covers what is beneath it."""
    viewer, widget = ldcsr
    bands = _bands(viewer, tmp_path)
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_done(qtbot, widget)
    last = widget.last
    viewer.layers.remove(last.results[0])
    shown = _compare_and_back(qtbot, viewer, widget)
    now = _baselines(viewer)
    assert [b.name for b in now] == [f"bands [band {k}] ×2.00 (bicubic)" for k in (2, 3, 4)]
    assert last.bicubics == [None, *now] and shown == [bands[1], now[0], last.results[1]]
    assert list(viewer.layers) == [*bands, *now, *last.results[1:]]
    assert [b.blending for b in now] == ["translucent_no_depth", "additive", "additive"]
    assert not _errors(notes)
