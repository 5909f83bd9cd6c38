"""Fixtures for the plugin tests: a tiny random-weight engine model and a docked widget."""

from __future__ import annotations

import gc
import os
import shutil

import numpy as np
import pytest

# pytest-xvfb provides the display (DISPLAY may be unset). Without an Xvfb binary and
# without a display, fall back to Qt's offscreen platform so widget tests still run.
if not os.environ.get("DISPLAY") and shutil.which("Xvfb") is None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "viewer_hidden: the ldcsr fixture's napari window is not shown (for tests that do not depend on "
        "it being on screen: canvas size, screenshots, visibility, events on the canvas, dock geometry)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After each test with a napari viewer is torn down (its viewer closed, napari's leak check
    done), collect its garbage and freeze what is left alive (the Qt application, napari's plugin
    and action registries, vispy's caches, modules imported on the way) out of the cyclic garbage
    collector's reach, as tests/conftest.py does with what the collection imported. napari runs a
    full collection on every layer removed and at each viewer's close; each walked them all again.
    The next tests' own objects are collected as before."""
    yield
    if "make_napari_viewer" in getattr(item, "fixturenames", ()):
        gc.collect()
        gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def plugins_discovered_once():
    """napari's viewer fixture clears napari's plugin set-up before each test, which then searched
    every installed distribution's metadata for plugins again (npe2's ``discover``: a quarter of the
    viewer's making, for plugins all registered at the first test: nothing installs one into this
    environment during the run). A search like one done before is skipped while every plugin that
    one found is still registered (a test that unregistered one gets a real search)."""
    from npe2 import PluginManager

    pm = PluginManager.instance()
    real, found = pm.discover, {}

    def discover(paths=(), clear=False, include_npe1=False):
        key = (tuple(paths), bool(include_npe1))
        registered = {m.name for m in pm.iter_manifests()}
        if not clear and key in found and found[key] <= registered:
            return 0  # what a real search registers: plugins not registered yet
        count = real(paths, clear, include_npe1)
        found[key] = {m.name for m in pm.iter_manifests()}
        return count

    pm.discover = discover
    yield
    del pm.discover


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
def ldcsr(request, make_napari_viewer, qtbot, tiny_model):
    """(viewer, widget): napari with the LDCSR widget docked, using the tiny model; its window shown
    unless the test (or its module) is marked ``viewer_hidden``."""
    from napari_ldcsr._widget import LdcsrWidget

    viewer = make_napari_viewer(show=request.node.get_closest_marker("viewer_hidden") is None)
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
    """Swap the engine's per-tile model call (``ldcsr_core.tiling.process_tile``) for the exact
    windowed bicubic of the tile, with the same contract (the tile's write window, H×W×3 float32
    in [0, 1]). Everything else (tile plan, blending, radiometry, progress, placement) is the real
    code; the network would only cost CPU time on whole scenes. Returns the tiles it ran."""
    import torch

    from ldcsr_core import tiling
    from ldcsr_core.models.resample import resize

    calls = []

    def process_tile(model, lr_tile, tile, plan, *, mode="diffusion", seed=0, noise=None):
        calls.append({"tile": tile, "plan": plan, "mode": mode, "model": model})
        x = torch.from_numpy(np.ascontiguousarray(lr_tile, dtype=np.float32)).permute(2, 0, 1)[None]
        out = resize(x, tiling.tile_window(plan, tile), "bicubic")
        return out[0].permute(1, 2, 0).numpy()

    monkeypatch.setattr(tiling, "process_tile", process_tile)
    return calls


@pytest.fixture
def digests(monkeypatch):
    """The arrays digested (each a call of the engine's ``pixel_digest``)."""
    import ldcsr_core.pixel_digest as pd

    real, seen = pd.pixel_digest, []

    def counted(data, *args, **kwargs):
        seen.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(pd, "pixel_digest", counted)
    return seen


def scene_with_lens(ldcsr, qtbot, *, run: bool = True):
    """The 200x200 RGB layer 'scene' (test_lens._scene) chosen in the widget, the camera on its centre
    at zoom 2; ``run``: a Run at x2 done first; then the live lens on and its view shown. ``(src, lens)``."""
    from napari_ldcsr._viewer import camera

    from .lens_wait import wait_for_view
    from .test_lens import _scene
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    camera(viewer).center, camera(viewer).zoom = (100.0, 100.0), 2.0
    widget.set_layer(src)
    if run:
        assert widget.run(layer=src, scale=2.0)
        _wait_done(qtbot, widget)
    lens = widget.live.lens
    assert widget.live.set_live(True)
    wait_for_view(qtbot, lens)
    return src, lens


@pytest.fixture
def engine_held_at_second_tile(monkeypatch):
    """The engine's per-tile call waits before its second tile until released (a "mid-run" to
    cancel in). Yields ``(second_started, release, ran)``; ``unpatch()`` restores the engine."""
    import threading
    from types import SimpleNamespace

    from ldcsr_core import tiling

    second, release, ran = threading.Event(), threading.Event(), []
    real = tiling.process_tile

    def held(*args, **kwargs):
        ran.append(args[2])
        if len(ran) == 2:
            second.set()
            release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiling, "process_tile", held)
    gate = SimpleNamespace(second_started=second, release=release, ran=ran,
                           unpatch=lambda: monkeypatch.setattr(tiling, "process_tile", real))
    yield gate
    release.set()


@pytest.fixture
def run_held_with_lens(ldcsr, qtbot, engine_held_at_second_tile):
    """A Run of a 96x96 RGB layer 'scene' at x2 (32-px tiles) with the live lens on, held before
    its second tile (:func:`engine_held_at_second_tile`'s gate, returned)."""
    import numpy as np

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="scene")
    widget.set_layer(src)
    assert widget.live.set_live(True)
    widget.tile = 32
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    return gate


@pytest.fixture
def job_held_after_engine(monkeypatch):
    """The job runner's ``run_job`` waits, once the engine has finished (a streamed file is complete
    and in place), until released: a Cancel pressed then comes too late to stop the engine. Yields
    ``(engine_done, release)`` events."""
    from napari_ldcsr.run import _runner

    done, release = hold_after(monkeypatch, _runner, "run_job")
    yield done, release
    release.set()


def hold_after(monkeypatch, module, name: str):
    """Make ``module.name`` wait, once it has returned, until released (a Cancel pressed then comes
    after the work is done); returns ``(done, release)`` events."""
    import threading

    done, release, real = threading.Event(), threading.Event(), getattr(module, name)

    def held(*args, **kwargs):
        result = real(*args, **kwargs)
        done.set()
        release.wait(30)
        return result

    monkeypatch.setattr(module, name, held)
    return done, release
