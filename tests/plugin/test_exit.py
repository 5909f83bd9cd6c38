"""A script that ends with its viewer still open, the LDCSR widget docked and the live lens on
exits cleanly (status 0), as it does once ``viewer.close()`` is called: no Qt abort at interpreter
exit, no thread left running.

Each case runs a real script in a child process on the test display (pytest-xvfb's). Without the
widget's shutdown at interpreter exit, PyQt's exit clean-up deleted the window while napari's Qt views were
half-gone and the widget's teardown (from the window's ``destroyed``) aborted the process about
every second time, and printed napari's tracebacks more often still (the order of that clean-up
is not fixed), so each case runs twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import sys, time
    import numpy as np
    import napari
    from qtpy.QtWidgets import QApplication
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    from napari_ldcsr._widget import LdcsrWidget

    when, how = sys.argv[1], sys.argv[2]
    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)

    class Slow:  # "computing": each window takes a while, so the script ends with one in the model
        def __getattr__(self, name):
            return getattr(model, name)

        def run_window(self, *args, **kwargs):
            time.sleep(0.3)
            return model.run_window(*args, **kwargs)

    viewer = napari.Viewer(show=True)
    widget = LdcsrWidget(viewer, model_provider=lambda source: Slow() if when == "computing" else model)
    viewer.window.add_dock_widget(widget, name="LDCSR")
    # "done" waits for the whole view: a scene smaller than the canvas at zoom 4 (the lens computes
    # all of it, one tile); "computing" needs a view of several tiles, one still computing at the end
    side = 400 if when == "computing" else 48
    scene = (np.random.default_rng(0).random((side, side, 3)) * 255).astype(np.uint8)
    widget.set_layer(viewer.add_image(scene, rgb=True, name="scene"))
    assert widget.live.set_live(True)
    viewer.camera.zoom = 4.0  # the lens computes this view
    lens, app = widget.live.lens, QApplication.instance()
    t0 = time.time()
    while time.time() - t0 < 60:
        app.processEvents()
        view = lens.view
        shown = view is not None and view.first_tile_s is not None and lens.live_layer is not None
        if shown and (lens.busy if when == "computing" else view.done_s is not None):
            break
        time.sleep(0.01)
    else:
        sys.exit("the lens showed no view")
    print("ready", when, "busy" if lens.busy else "done", flush=True)
    if how == "sys.exit":
        sys.exit(0)
    # else: the script just ends
''')


def _run(tmp_path, when: str, how: str) -> subprocess.Popen:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # the test display
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, str(script), when, how], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display (pytest-xvfb)")
@pytest.mark.parametrize("when, how", [("done", "end"), ("computing", "end"), ("computing", "sys.exit")])
def test_script_ending_with_the_viewer_and_lens_open_exits_cleanly(tmp_path, when, how):
    runs = [_run(tmp_path, when, how) for _ in range(2)]  # twice (at once): the order differs run to run
    for proc in runs:
        out, err = proc.communicate(timeout=240)
        assert f"ready {when} {'busy' if when == 'computing' else 'done'}" in out, (out, err)
        assert "Aborted" not in err and "Destroyed while thread" not in err, err
        assert "Traceback" not in err, err
        assert proc.returncode == 0, err


def test_a_failing_teardown_step_still_stops_the_workers(ldcsr, monkeypatch, caplog, run_held_with_lens):
    """The teardown runs in Qt slots (the window's ``destroyed``, ``aboutToQuit``), where PyQt turns an
    exception into an abort of the process: a step that fails (as napari's half-deleted Qt views
    made one fail at exit) is logged, the other steps still run (the Run is cancelled within one
    tile, the lens is turned off), every thread is joined, and nothing is raised."""
    import threading

    viewer, widget = ldcsr
    gate = run_held_with_lens

    def broken():
        raise AttributeError("'NoneType' object has no attribute 'match'")

    monkeypatch.setattr(widget.checker, "cancel", broken)
    threading.Timer(0.5, gate.release.set).start()  # the held tile ends, as a real one would
    widget.shutdown()  # raises nothing
    assert len(gate.ran) == 2 and not widget.live.lens.enabled  # the steps before and after it ran
    assert "LDCSR teardown" in caplog.text and "no attribute 'match'" in caplog.text


def test_a_widget_docked_again_is_shut_down_again(ldcsr, qtbot, engine_held_at_second_tile):
    """Removing the widget from its dock shuts it down; docking the same widget again makes it
    usable again, so its teardown must be armed again: closing the viewer (or the interpreter
    exit, through the open-widget set) stops a Run started after that, within one tile. Before,
    the widget stayed marked as shut: its workers outlived the viewer (a script ending so, with
    the live lens computing, aborted at exit)."""
    import threading

    import numpy as np
    from qtpy.QtCore import QCoreApplication, QEvent

    from napari_ldcsr.run import _teardown

    viewer, widget = ldcsr
    viewer.window.remove_dock_widget(widget)
    assert widget not in _teardown._OPEN
    viewer.window.add_dock_widget(widget, name="LDCSR again")
    assert widget in _teardown._OPEN
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="scene")
    widget.tile = 32
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    threading.Timer(0.5, gate.release.set).start()  # the held tile ends, as a real one would
    viewer.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the window goes
    assert not widget.running and len(gate.ran) == 2  # stopped within one tile, and joined
