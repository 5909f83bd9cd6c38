"""Driving a napari viewer's Qt event loop from a benchmark script (bench_live.py, lazy_memory.py)."""

from __future__ import annotations

import time


def pump(app, seconds: float = 0.0) -> None:
    """Process Qt events for ``seconds`` (at least once)."""
    end = time.perf_counter() + seconds
    while True:
        app.processEvents()
        if time.perf_counter() >= end:
            break
        time.sleep(0.005)


def draw(app, viewer, *, settle: bool = False) -> None:
    """Process events and make the canvas paint a frame now (what 'on screen' means here);
    ``settle``: process the events the frame queued too."""
    app.processEvents()
    viewer.window._qt_viewer.canvas._scene_canvas.native.repaint()
    if settle:
        app.processEvents()
