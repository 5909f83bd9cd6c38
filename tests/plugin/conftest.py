"""Fixtures for the plugin tests: a tiny random-weight engine model and a docked widget."""

from __future__ import annotations

import os
import shutil

import pytest

# pytest-xvfb provides the display (DISPLAY may be unset). Without an Xvfb binary and
# without a display, fall back to Qt's offscreen platform so widget tests still run.
if not os.environ.get("DISPLAY") and shutil.which("Xvfb") is None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def tiny_model():
    """Random-weight tiny LDCSR (fast on CPU); the default weights are not needed for geometry."""
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    return ldcsr_core.build_model(config=tiny_test_config(), seed=0)


@pytest.fixture
def notes():
    """Messages of the napari notifications shown during the test, as (severity, text)."""
    from napari.utils.notifications import notification_manager

    seen: list[tuple[str, str]] = []

    def record(n):
        seen.append((str(getattr(n.severity, "value", n.severity)), str(n.message)))

    notification_manager.notification_ready.connect(record)
    yield seen
    notification_manager.notification_ready.disconnect(record)


@pytest.fixture
def ldcsr(make_napari_viewer, qtbot, tiny_model):
    """(viewer, widget): napari with the LDCSR widget docked, using the tiny model."""
    from napari_ldcsr._widget import LdcsrWidget

    viewer = make_napari_viewer(show=True)
    loads = []

    def provider(source):
        loads.append(source)
        return tiny_model

    widget = LdcsrWidget(viewer, model_provider=provider)
    widget.provider_calls = loads
    viewer.window.add_dock_widget(widget, name="LDCSR super-resolution")
    widget.set_mode("fast")
    yield viewer, widget
    if widget.running:
        widget.cancel()
        qtbot.waitUntil(lambda: not widget.running, timeout=60_000)


@pytest.fixture
def bicubic_engine(monkeypatch):
    """Swap ``ldcsr_core.upscale`` for a bicubic stand-in with the same contract (output shape,
    dtype, a progress ``callback`` per 128-px tile) for widget tests on whole scenes, where the
    network itself would only cost CPU time. Returns the list of calls made."""
    import math

    import ldcsr_core
    from ldcsr_core.progress import TileProgress

    from napari_ldcsr._job import bicubic

    calls = []

    def upscale(image, scale=None, *, out_shape=None, model=None, mode="diffusion", seed=0, tile=None,
                callback=None):
        calls.append({"shape": image.shape, "out_shape": tuple(out_shape), "mode": mode, "model": model})
        t = tile or 128
        total = math.ceil(image.shape[0] / t) * math.ceil(image.shape[1] / t)
        for i in range(total + 1):
            if callback is not None:
                callback(TileProgress(i, total))
        return bicubic(image, tuple(out_shape))

    monkeypatch.setattr(ldcsr_core, "upscale", upscale)
    return calls
