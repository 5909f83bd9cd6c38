"""Long sessions: what a view, a Run or a save leaves behind once it is over (memory, workers)."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from napari_ldcsr.lens._lens import LiveLens

from .test_lens import CountingModel, _look, _scene, _wait_done, small_viewer


def _workers_alive() -> int:
    from superqt.utils._qthreading import WorkerBase

    gc.collect()
    return sum(isinstance(o, WorkerBase) for o in gc.get_objects())


def test_finished_lens_views_and_their_workers_are_freed(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    """Each view's worker (and with it the view: its tiles, its values) goes once it is over; napari's
    ``create_worker`` would keep every one in the window's task list for the viewer's lifetime. (Its
    tiles are the bicubic stand-in's: what is freed is tested, not the network.)"""
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    lens = LiveLens(viewer, model_provider=lambda s: CountingModel(tiny_model), debounce_ms=30)
    lens.set_layer(src)
    lens.set_enabled(True)
    views = []
    for center in ((40, 40), (160, 160), (40, 160), (160, 40), (100, 100)):
        before = lens.view
        _look(viewer, src, center, 4.0)
        _wait_done(qtbot, lens, after=before)
        views.append(weakref.ref(lens.view))
    del before
    # once their threads have ended, only the view on screen is left
    qtbot.waitUntil(lambda: _workers_alive() == 0 and [r() is not None for r in views] == [False] * 4 + [True],
                    timeout=10_000)
    lens.close()


def test_runs_and_saves_leave_no_results_behind(ldcsr, qtbot, tmp_path, bicubic_engine):
    """Only the last run's result is kept (``widget.last``); earlier results and the workers that
    computed or saved them are freed."""
    viewer, widget = ldcsr
    rng = np.random.default_rng(0)
    src = viewer.add_image(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), name="noise")
    widget.set_layer(src)
    widget.set_scale(2.0)
    results = []
    widget.runner.succeeded.connect(lambda result: results.append(weakref.ref(result)))
    for i in range(4):
        with qtbot.waitSignal(widget.runFinished, timeout=60_000):
            assert widget.run()
        viewer.layers[-1].visible = False
        viewer.layers.selection.active = viewer.layers[-1]
        assert widget.saves.save(str(tmp_path / f"out{i}.tif"))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=30_000)
    qtbot.waitUntil(lambda: _workers_alive() == 0 and [r() is not None for r in results] == [False] * 3 + [True],
                    timeout=10_000)
    assert results[-1]() is widget.last.job


def test_a_finished_run_keeps_no_second_copy_of_its_pixels(ldcsr, qtbot, bicubic_engine, monkeypatch):
    """The result layers hold a Run's pixels; its record (``widget.last.job``) keeps its spec and path,
    not the engine's arrays (before, a second full copy of an in-memory result lived until the next Run)."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8), name="noise")
    widget.set_layer(src)
    widget.set_scale(2.0)
    arrays = []
    from napari_ldcsr.run import _outcome

    def run_layers(viewer, layer, spec, partial, result, _run_layers=_outcome.run_layers):
        arrays.append(weakref.ref(result.data))  # the engine's result, as the widget gets it
        return _run_layers(viewer, layer, spec, partial, result)

    monkeypatch.setattr(_outcome, "run_layers", run_layers)
    with qtbot.waitSignal(widget.runFinished, timeout=60_000):
        assert widget.run()
    gc.collect()
    assert len(arrays) == 1 and arrays[0]() is None
    result = widget.last.result
    assert result.data.shape == (128, 128, 3) and result.data.any()  # the layer still has the pixels
    assert widget.last.job.spec.out_shape == (128, 128)
