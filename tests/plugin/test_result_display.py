"""A Run's result is shown as its source is shown (contrast limits, their range, gamma), in a real napari
viewer (Xvfb), whether it is filled tile by tile in memory or streamed to a file; the network is the
bicubic stand-in (``bicubic_engine``)."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin

from .test_widget import _errors, _wait_done
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _dark_first(h=64, w=64):
    """A float scene whose first tile is water (dark), the rest bright land."""
    a = np.full((h, w), 0.8, np.float32) + np.random.default_rng(0).random((h, w), dtype=np.float32) * 0.1
    a[:32, :32] = 0.02
    return a


def _held_run(viewer, widget, qtbot, gate):
    """A Run of :func:`_dark_first` at ×2 (32-px tiles), held before its second tile, its partial result shown."""
    src = viewer.add_image(_dark_first(), name="scene")
    widget.tile = 32
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)  # the partial result, with tile 1
    return src


def _display(layer):
    return ([float(v) for v in layer.contrast_limits], [float(v) for v in layer.contrast_limits_range], layer.gamma,
            layer.colormap.name)


def test_a_result_filled_tile_by_tile_shows_as_its_source_shows_when_the_run_ends(
        ldcsr, qtbot, notes, bicubic_engine, engine_held_at_second_tile):
    """The source restretched while its first tiles show (to see the dark water, say). Before: the result
    kept the display its source had when its first tile came, and a slider range of those limits alone."""
    viewer, widget = ldcsr
    gate = engine_held_at_second_tile
    src = _held_run(viewer, widget, qtbot, gate)
    try:
        src.contrast_limits, src.gamma = [0.0, 0.3], 0.5
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert not _errors(notes) and _display(widget.last_result) == _display(src)


def test_a_grey_result_takes_the_colormap_its_source_was_given_during_the_run(
        ldcsr, qtbot, notes, bicubic_engine, engine_held_at_second_tile):
    """The source given another colormap while its first tiles show (viridis for a DEM, say), as the baseline
    made at the end takes it. Before: the result kept the source's gray, its baseline beside it viridis."""
    viewer, widget = ldcsr
    gate = engine_held_at_second_tile
    widget.set_bicubic(True)
    src = _held_run(viewer, widget, qtbot, gate)
    try:
        src.colormap, src.gamma = "viridis", 0.5
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert not _errors(notes) and _display(widget.last_result) == _display(src) == _display(widget.last.bicubic)



def test_a_result_the_user_restretched_during_the_run_keeps_their_display(
        ldcsr, qtbot, notes, bicubic_engine, engine_held_at_second_tile):
    viewer, widget = ldcsr
    gate = engine_held_at_second_tile
    src = _held_run(viewer, widget, qtbot, gate)
    part = viewer.layers[-1]
    try:
        part.contrast_limits, src.gamma = [0.1, 0.2], 0.5
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert widget.last_result is part and part.contrast_limits == [0.1, 0.2] and part.gamma == 1.0


def test_a_streamed_result_shows_as_its_source_shows(ldcsr, qtbot, notes, tmp_path, monkeypatch, bicubic_engine):
    """Before: its slider's range was the source's limits alone (napari's range of limits given), not the
    source's range: a result could not be stretched wider than its source was when it opened."""
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", str(10_000 / 2**20))
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", height=96, width=128, count=1, dtype="float32", crs="EPSG:32617",
                       transform=from_origin(400000.0, 3300000.0, 0.5, 0.5)) as dst:
        dst.write(_dark_first(96, 128)[None])
    viewer, widget = ldcsr
    (src,) = viewer.open(str(path), plugin="napari-ldcsr")
    src.contrast_limits, src.gamma = [0.0, 0.3], 0.5
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    assert "saved as" in widget.status and not _errors(notes)
    assert _display(widget.last_result) == _display(src)
