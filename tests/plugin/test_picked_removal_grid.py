"""A band group's picked band deleted while Compare's grid or the linked panels show it: they go on
at once with the band that takes its place (its baseline made if needed), or close, restoring the
viewer, when no band is left; several layers deleted at once are named together."""

from __future__ import annotations

import pytest

from napari_ldcsr._viewer import camera, grid

from .test_compare_baselines import _baselines, _grid_shows, _press_compare
from .test_picked_removal import NONE_LEFT, _band_run, _delete
from .test_widget import _errors

USE = "Compare, Show source / result and Result opacity now use"


def _comparing_band_run(viewer, widget, qtbot, tmp_path, picked: int = 1):
    """A band group's run (band ``picked``) with Compare's grid on: (bands, record, the layers as
    they were before Compare: order and visibility)."""
    bands, last = _band_run(viewer, widget, qtbot, tmp_path, picked)
    bands[3].visible = False  # a layer the user had hidden stays hidden when Compare ends
    before = [(lyr, lyr.visible) for lyr in viewer.layers]
    _press_compare(qtbot, widget)
    assert _grid_shows(viewer, widget) == [bands[picked], last.bicubic, last.results[picked]]
    assert _cells_drawn(viewer) == [True, True, True]
    return bands, last, before


def _settled(qtbot, viewer, widget, trio) -> None:
    """Wait until the grid shows ``trio`` (asserted by ``_grid_shows``)."""
    def shows():
        return widget.comparing and [widget.last.source, widget.last.bicubic, widget.last.result] == trio \
            and _grid_shows(viewer, widget) == trio

    qtbot.waitUntil(shows, timeout=5_000)


def _cells_drawn(viewer) -> list[bool]:
    """Read back from the screen: whether each third of the canvas (the grid's three cells) shows
    an image at its centre (an empty cell is the canvas's black)."""
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3]
    h, w = shot.shape[:2]
    return [bool(shot[h // 2 - 5:h // 2 + 5, (2 * k + 1) * w // 6 - 5:(2 * k + 1) * w // 6 + 5].max() > 0)
            for k in range(3)]


def _back_as_before(qtbot, viewer, widget, before) -> None:
    """Compare off (if on): the layers still there are in their order and visibility of before."""
    if widget.comparing:
        _press_compare(qtbot, widget)
    assert not widget.comparing and not grid(viewer).enabled and not widget.compare_button.isChecked()
    kept = [(lyr, vis) for lyr, vis in before if lyr in viewer.layers]
    assert [lyr for lyr in viewer.layers if any(lyr is k for k, _ in kept)] == [k for k, _ in kept]
    assert [lyr.visible for lyr, _ in kept] == [vis for _, vis in kept]


@pytest.mark.parametrize("what", ["result", "source"])
def test_grid_goes_on_with_the_next_band(ldcsr, qtbot, notes, bicubic_engine, tmp_path, what):
    """The grid showed band 2's source | bicubic | LDCSR and one of them was deleted: it shows band
    1's at once where the user looked (it used to keep band 2's leftovers, a cell empty on screen),
    band 2's leftovers hidden; Compare off then restores the viewer as it was."""
    viewer, widget = ldcsr
    bands, last, before = _comparing_band_run(viewer, widget, qtbot, tmp_path)
    cam = camera(viewer)
    cam.zoom *= 2  # the user zoomed in the grid: the new band is shown there too
    view = (tuple(cam.center), cam.zoom)
    gone = last.results[1] if what == "result" else bands[1]
    _delete(viewer, gone)
    _settled(qtbot, viewer, widget, [bands[0], last.bicubics[0], last.results[0]])
    assert _cells_drawn(viewer) == [True, True, True] and (tuple(cam.center), cam.zoom) == view
    assert widget.status == f"'{gone.name}' was deleted: {USE} '{last.results[0].name}'."
    assert len(_baselines(viewer)) == 4  # none made again, none lost
    _back_as_before(qtbot, viewer, widget, before)
    assert not _errors(notes)


def test_grid_makes_a_deleted_baseline_again(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """The picked band's baseline deleted in the grid: Compare makes it again in its place, as
    pressing Compare does, and the middle cell shows it (it used to stay empty)."""
    viewer, widget = ldcsr
    bands, last, before = _comparing_band_run(viewer, widget, qtbot, tmp_path)
    old = last.bicubic
    _delete(viewer, old)
    qtbot.waitUntil(lambda: last.bicubic is not old and last.bicubic in viewer.layers, timeout=5_000)
    _settled(qtbot, viewer, widget, [bands[1], last.bicubic, last.results[1]])
    assert last.bicubic.name == old.name and len(_baselines(viewer)) == 4
    assert widget.status == f"'{old.name}' was deleted: the side-by-side grid shows '{old.name}', made again."
    _back_as_before(qtbot, viewer, widget, before)
    assert not _errors(notes)


def test_grid_closes_when_no_band_is_left(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """Every result deleted at once while the grid is on: the grid is left as Compare off leaves
    it (order, visibility, grid off), the button is off and the status says why."""
    viewer, widget = ldcsr
    bands, last, before = _comparing_band_run(viewer, widget, qtbot, tmp_path)
    _delete(viewer, *last.results)
    qtbot.waitUntil(lambda: not widget.comparing, timeout=5_000)
    assert widget.status == f"{NONE_LEFT} The side-by-side grid was closed."
    _back_as_before(qtbot, viewer, widget, before)
    assert not widget.compare_button.isEnabled() and not _errors(notes)


def test_several_deleted_at_once_are_named_together(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """Band 3 picked; its result and band 2's deleted at once (napari removes a selection one by
    one, in no set order): the band nearest band 3 goes on (band 4, whichever went first) and the
    status names both deleted layers, in the layer list's order."""
    viewer, widget = ldcsr
    bands, last, before = _comparing_band_run(viewer, widget, qtbot, tmp_path, picked=2)
    gone = last.results[1:3]
    _delete(viewer, *gone[::-1])
    assert widget.status == f"2 layers were deleted ('{gone[0].name}', '{gone[1].name}'): {USE} " \
                            f"'{last.results[3].name}'."
    _settled(qtbot, viewer, widget, [bands[3], last.bicubics[3], last.results[3]])
    _back_as_before(qtbot, viewer, widget, before)
    assert not _errors(notes)


def _open_panels(widget, band):
    panel = widget.live
    widget.set_layer(band)
    panel.compare_button.setChecked(True)
    return panel


def _panels_show(panel) -> list:
    """The main viewer's layers whose data the panels show: source, bicubic, LDCSR (source, result)."""
    dock = panel.compare_dock
    found = {id(lyr.data): lyr for lyr in panel.viewer.layers}
    return [[found.get(id(lyr.data)) for lyr in dock.models[n].layers] for n in ("source", "bicubic", "LDCSR")]


@pytest.mark.parametrize("what", ["result", "source"])
def test_linked_panels_go_on_with_the_next_band(ldcsr, qtbot, notes, bicubic_engine, tmp_path, what):
    """The linked panels showed band 2 with its result; band 2's result (or source) deleted: they
    show band 1 with its result at once (they used to keep the deleted result, or close their
    canvases and leave an empty dock)."""
    viewer, widget = ldcsr
    bands, last = _band_run(viewer, widget, qtbot, tmp_path)
    panel = _open_panels(widget, bands[1])
    assert _panels_show(panel) == [[bands[1]], [bands[1]], [bands[1], last.results[1]]]
    gone = last.results[1] if what == "result" else bands[1]
    _delete(viewer, gone)
    qtbot.waitUntil(lambda: panel.compare_dock is not None and panel.compare_dock.source is bands[0], timeout=5_000)
    assert _panels_show(panel) == [[bands[0]], [bands[0]], [bands[0], last.results[0]]]
    assert panel.compare_button.isChecked() and panel.compare_dock.qt_viewers
    assert widget.status == f"'{gone.name}' was deleted: {USE} '{last.results[0].name}'."
    panel.compare_button.setChecked(False)
    assert panel.compare_dock is None and not _errors(notes)


def test_linked_panels_close_when_no_band_is_left(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    viewer, widget = ldcsr
    bands, last = _band_run(viewer, widget, qtbot, tmp_path)
    panel = _open_panels(widget, bands[1])
    _delete(viewer, *bands)
    qtbot.waitUntil(lambda: panel.compare_dock is None, timeout=5_000)
    assert not panel.compare_button.isChecked()
    assert widget.status == f"{NONE_LEFT} The linked panels were closed."
    assert not _errors(notes)
