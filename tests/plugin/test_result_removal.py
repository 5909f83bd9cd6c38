"""Deleting a Run's partial result layers the ways a user does in the viewer: several selected at
once (napari's Delete button removes its selection one layer after the other), and with a finished
tile's preview still queued for the GUI thread when the run stops."""

from __future__ import annotations

import threading

import numpy as np

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


def test_deleting_all_the_selected_band_results_stops_the_run(ldcsr, qtbot, notes, tmp_path, monkeypatch):
    """Select a band group's four partial results and press Delete: napari removes them one after
    the other; the first removal stops the run, and the plugin must not remove the others under
    napari's feet (ValueError: '... is not in list' out of the Delete button)."""
    viewer, widget = ldcsr
    bands = _bands(viewer, tmp_path)
    widget.tile = 32
    second, release, real = threading.Event(), threading.Event(), tiling.process_tile

    def held(*args, **kwargs):
        if args[2].index == 1 and not second.is_set():
            second.set()
            release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiling, "process_tile", held)
    finished = []
    widget.runFinished.connect(finished.append)
    assert widget.run(layer=bands[0], scale=2.0)
    try:
        qtbot.waitUntil(second.is_set, timeout=60_000)
        qtbot.waitUntil(lambda: len(viewer.layers) == 8, timeout=5_000)
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
