"""The dock widget while a run is under way, in a real napari viewer (Xvfb): Cancel mid-run or once the
engine is done, the source removed or renamed meanwhile; the GUI keeps turning and only a finished result is added."""

from __future__ import annotations

import time

import numpy as np
from qtpy.QtCore import QTimer, Qt

from .test_widget import _errors, _wait_done
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def test_cancel_mid_run_adds_nothing_and_gui_keeps_turning(ldcsr, qtbot, notes, engine_held_at_second_tile):
    viewer, widget = ldcsr
    rng = np.random.default_rng(0)
    layer = viewer.add_image(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8), name="noise")
    widget.tile = 32  # several tiles, so that there is a "mid-run"
    gate = engine_held_at_second_tile
    first_tile, release, ran = gate.second_started, gate.release, gate.ran
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    try:
        widget.set_scale(2.5)
        assert widget.run()
        qtbot.waitUntil(first_tile.is_set, timeout=60_000)
        # the engine is inside a run (blocked before tile 2): the event loop still turns
        n0 = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) - n0 >= 5, timeout=500)  # as before, without waiting all of it
        assert widget.running and not release.is_set()
        qtbot.waitUntil(lambda: widget.progress[0] == 1, timeout=5_000)  # progress reached the GUI
        total = widget.progress[1]
        assert total >= 4 and widget.progress_bar.text() == f"1 / {total} tiles"
        assert widget.status.startswith(f"1 / {total} tiles · about ") and widget.status.endswith(" left")
        qtbot.mouseClick(widget.cancel_button, Qt.MouseButton.LeftButton)
        assert widget.status == "Cancelling…" and not widget.cancel_button.isEnabled()
        release.set()
        _wait_done(qtbot, widget)
    finally:
        release.set()
        timer.stop()
    gate.unpatch()
    assert len(ran) == 2  # stopped within one tile
    assert [lyr.name for lyr in viewer.layers] == ["noise"]  # the partial layer went away again
    assert any("cancelled" in t for _, t in notes) and not _errors(notes)
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
    assert widget.status == "Cancelled; nothing was added."
    # and a new run after a cancel works
    widget.tile = None
    small = viewer.add_image(np.asarray(layer.data[:24, :20]), name="patch", rgb=True)
    assert widget.run(layer=small), notes
    _wait_done(qtbot, widget)
    assert viewer.layers[-1].name == "patch ×2.50 (LDCSR fast)" and viewer.layers[-1].data.shape == (60, 50, 3)


def test_source_removed_during_run_cancels_it(ldcsr, qtbot, notes, engine_held_at_second_tile):
    """Deleting the source layer while the engine works cancels the run at once, as Cancel does:
    the half-filled result goes, no more tiles are computed, the status and a warning say why."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(2).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="gone")
    widget.tile = 32  # 16 tiles
    gate = engine_held_at_second_tile
    finished = []
    widget.runFinished.connect(finished.append)
    assert widget.run(layer=src, scale=2.0)
    try:
        qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
        qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)  # the partial result, with tile 1
        viewer.layers.remove(src)
        qtbot.waitUntil(lambda: len(viewer.layers) == 0, timeout=1_000)  # the partial result went with its
        # source, at once (at the next turn of the event loop: napari may be removing more layers)
        assert widget.status == "'gone' was removed during the run; nothing was added."
        assert not widget.cancel_button.isEnabled()
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert len(gate.ran) == 2  # stopped within one tile (of 16)
    assert len(viewer.layers) == 0 and widget.last_result is None and finished == ["cancelled"]
    assert widget.status == "'gone' was removed during the run; nothing was added."
    assert _errors(notes) == ["'gone' was removed during the run; the result was not added."]
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()


def test_source_renamed_during_run(ldcsr, qtbot, notes, engine_held_at_second_tile):
    """The result is named after the source as it is called when the result is added, as its
    ``metadata["ldcsr"]["source_layer"]`` says."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(2).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="old")
    widget.tile = 32
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)
    try:
        qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
        qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)
        assert viewer.layers[-1].name == "old ×2.00 (LDCSR fast)"  # the partial result
        src.name = "new"
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    out = widget.last_result
    assert out.name == "new ×2.00 (LDCSR fast)" and out.metadata["ldcsr"]["source_layer"] == "new"
    assert not _errors(notes)


def test_cancel_after_the_engine_finished_adds_nothing(ldcsr, qtbot, notes, job_held_after_engine):
    """Cancel pressed once the engine is done (superqt then drops the worker's ``returned``): the
    run ends cancelled, its partial layer goes and the status says so."""
    viewer, widget = ldcsr
    layer = viewer.add_image(np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8), name="late")
    done, release = job_held_after_engine
    finished = []
    widget.runFinished.connect(finished.append)
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(done.is_set, timeout=60_000)
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)  # the partial result, filled
    widget.cancel()
    assert widget.status == "Cancelling…"
    release.set()
    _wait_done(qtbot, widget)
    assert [lyr.name for lyr in viewer.layers] == ["late"] and widget.last_result is None
    assert finished == ["cancelled"] and widget.status == "Cancelled; nothing was added."
    assert widget.run_button.isEnabled() and not _errors(notes)
