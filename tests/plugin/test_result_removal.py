"""Deleting a Run's partial result layers the ways a user does in the viewer: the one being filled
in, one band of a band group, several selected at once (napari's Delete button removes its
selection one layer after the other), and with a finished tile's preview still queued for the GUI
thread when the run stops; and an engine error's own removal of them, which is not the user's."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ldcsr_core import tiling

from .test_widget import _errors, _wait_done


def _bands(viewer, tmp_path):
    import rasterio
    from rasterio.transform import Affine

    path = tmp_path / "bands.tif"
    data = np.random.default_rng(4).integers(100, 4000, (4, 64, 64)).astype(np.uint16)
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=4, dtype="uint16", crs="EPSG:32633",
                       transform=Affine(10, 0, 500000, 0, -10, 4100000)) as dst:
        dst.write(data)
    return viewer.open(str(path), plugin="napari-ldcsr")


def _hold_second_tile(monkeypatch):
    """The engine waits before the second tile's first band group until ``release`` is set:
    ``(second started, release, the tile indices run)``."""
    second, release, tiles, real = threading.Event(), threading.Event(), [], tiling.process_tile

    def held(*args, **kwargs):
        tiles.append(args[2].index)
        if args[2].index == 1 and not second.is_set():
            second.set()
            release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiling, "process_tile", held)
    return second, release, tiles


def _band_run_held(viewer, widget, qtbot, tmp_path, monkeypatch):
    """A 4-band file's run (4 tiles, each for bands 1-3 and for band 4) held at its second tile,
    once every band's partial result is shown: ``(bands, release, tiles run, runFinished values)``."""
    bands = _bands(viewer, tmp_path)
    widget.tile = 32
    second, release, tiles = _hold_second_tile(monkeypatch)
    finished = []
    widget.runFinished.connect(finished.append)
    assert widget.run(layer=bands[0], scale=2.0)
    qtbot.waitUntil(second.is_set, timeout=60_000)
    qtbot.waitUntil(lambda: len(viewer.layers) == 8, timeout=5_000)  # a partial result per band
    return bands, release, tiles, finished


def test_deleting_the_streamed_result_stops_the_run(ldcsr, qtbot, notes, engine_held_at_second_tile):
    """Deleting the result layer that a run is filling in means "stop, I do not want it": the run
    is cancelled at once (as Cancel does), nothing is added again at the end, the status says why
    and the dock is ready for another Run."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(2).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="scene")
    widget.tile = 32  # 16 tiles
    gate = engine_held_at_second_tile
    finished, added = [], []
    widget.runFinished.connect(finished.append)
    viewer.layers.events.inserted.connect(lambda e: added.append(e.value.name))
    assert widget.run(layer=src, scale=2.0)
    try:
        qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
        qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)  # the partial result, with tile 1
        viewer.layers.remove(viewer.layers[-1])
        expected = "Stopped: its result layer 'scene ×2.00 (LDCSR fast)' was removed; nothing was added."
        assert widget.status == expected and not widget.cancel_button.isEnabled()
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert len(gate.ran) == 2  # stopped within one tile (of 16)
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and added == ["scene ×2.00 (LDCSR fast)"]
    assert widget.last_result is None and finished == ["cancelled"] and widget.status == expected
    stopped = "LDCSR run stopped: its result layer 'scene ×2.00 (LDCSR fast)' was removed; no layer was added."
    assert ("info", stopped) in notes and not _errors(notes)
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
    gate.unpatch()
    widget.tile = None  # (one window: 16 tiles, each shown, only cost time)
    assert widget.run(layer=src, scale=2.0)  # and the next Run goes through
    _wait_done(qtbot, widget)
    assert finished[-1] == "done" and widget.last_result is viewer.layers[-1]


@pytest.mark.viewer_hidden
def test_deleting_one_band_of_a_streamed_result_stops_the_whole_run(ldcsr, qtbot, notes, tmp_path, monkeypatch):
    """The band layers of a multi-band file are one run: deleting one band's partial result stops it
    and takes the other bands' partial results away too (no band is added half-done)."""
    viewer, widget = ldcsr
    bands, release, tiles, finished = _band_run_held(viewer, widget, qtbot, tmp_path, monkeypatch)
    try:
        viewer.layers.remove(viewer.layers[-2])
        qtbot.waitUntil(lambda: [lyr.name for lyr in viewer.layers] == [b.name for b in bands],
                        timeout=5_000)  # the other 3 went too (next turn of the event loop)
    finally:
        release.set()
    _wait_done(qtbot, widget)
    assert tiles == [0, 0, 1, 1] and finished == ["cancelled"]  # stopped within one tile (of 4)
    assert [lyr.name for lyr in viewer.layers] == [b.name for b in bands]
    assert widget.status == "Stopped: its result layer 'bands [band 3] ×2.00 (LDCSR fast)' was removed; nothing was added."
    assert not _errors(notes) and widget.run_button.isEnabled()


@pytest.mark.viewer_hidden
def test_engine_failing_mid_run_says_failed(ldcsr, qtbot, notes, monkeypatch):
    """An engine error after the partial result is shown: the partial layer goes, and that removal
    (the plugin's own) is not taken for the user stopping the run: the status says it failed."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="scene")
    widget.tile = 32
    real, n = tiling.process_tile, []

    def failing(*args, **kwargs):
        n.append(1)
        if len(n) == 3:
            raise OSError("read error in tile 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(tiling, "process_tile", failing)
    finished, added = [], []
    widget.runFinished.connect(finished.append)
    viewer.layers.events.inserted.connect(lambda e: added.append(e.value.name))
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    assert added == ["scene ×2.00 (LDCSR fast)"] and [lyr.name for lyr in viewer.layers] == ["scene"]
    assert finished == ["failed"] and widget.status == "Failed: read error in tile 3"
    assert [text for _, text in notes] == ["LDCSR could not super-resolve 'scene': read error in tile 3"]
    assert widget.run_button.isEnabled()


@pytest.mark.viewer_hidden
def test_deleting_all_the_selected_band_results_stops_the_run(ldcsr, qtbot, notes, tmp_path, monkeypatch):
    """Select a band group's four partial results and press Delete: napari removes them one after
    the other; the first removal stops the run, and the plugin must not remove the others under
    napari's feet (ValueError: '... is not in list' out of the Delete button)."""
    viewer, widget = ldcsr
    bands, release, _, finished = _band_run_held(viewer, widget, qtbot, tmp_path, monkeypatch)
    try:
        viewer.layers.selection.clear()
        viewer.layers.selection.update(list(viewer.layers)[4:])
        viewer.layers.remove_selected()  # the layer list's Delete button
    finally:
        release.set()
    _wait_done(qtbot, widget)
    assert [lyr.name for lyr in viewer.layers] == [b.name for b in bands] and finished == ["cancelled"]
    assert widget.status.startswith("Stopped: its result layer") and not _errors(notes)
    assert widget.run_button.isEnabled()


def test_a_tile_shown_after_the_result_was_deleted_does_not_bring_it_back(ldcsr, qtbot, notes,
                                                                          engine_held_at_second_tile):
    """Finished tiles and rows reach the GUI thread queued: one queued before the user deleted the
    partial result is delivered after it. It must not create the result layer again (it stayed
    until the Cancelled arrived, or for good if the run was at its end)."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(2).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="scene")
    widget.tile = 32
    gate = engine_held_at_second_tile
    added = []
    viewer.layers.events.inserted.connect(lambda e: added.append(e.value.name))
    assert widget.run(layer=src, scale=2.0)
    try:
        qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
        qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)
        viewer.layers.remove(viewer.layers[-1])
        widget._on_tile((0, 64, 32, 32), [0, 1, 2], np.zeros((3, 32, 32), np.uint8))  # queued before
        widget._on_rows(0, np.zeros((3, 16, 192), np.uint8))
        assert [lyr.name for lyr in viewer.layers] == ["scene"]
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and added == ["scene ×2.00 (LDCSR fast)"]
    assert not _errors(notes)


def test_closing_the_viewer_during_a_run_says_nothing_of_removed_layers(ldcsr, qtbot, notes, run_held_with_lens):
    """napari's viewer.close() removes every layer, then closes the window, in one call. Before: a
    script's viewer.close() during a Run with the live lens on posted "'scene' was removed during
    the run; the result was not added." and "Live lens off: 'scene' was removed." as if the user had
    deleted the layer. Now the run stops (within one tile) and the lens goes off without a word."""
    import threading

    from qtpy.QtCore import QCoreApplication, QEvent, QTimer

    viewer, widget = ldcsr
    gate = run_held_with_lens
    threading.Timer(0.5, gate.release.set).start()  # the held tile ends, as a real one would
    n = len(notes)
    viewer.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the window goes
    assert not widget.running and len(gate.ran) == 2  # stopped within one tile, and joined
    turned = []
    QTimer.singleShot(0, lambda: turned.append(True))  # after any message the removals posted
    qtbot.waitUntil(lambda: bool(turned), timeout=5_000)
    assert notes[n:] == []
