"""Runs and checks started one after another from the widget's own signals (a script or another
plugin chaining them): ``resultAdded``, ``runFinished``, ``qualityChecked`` (and ``modelAdapted``,
tests/plugin/test_adapt_button.py) come once the task is over, so that a slot of theirs can start
the next (before, the task that had just ended still counted: 'A run is already in progress',
'LDCSR is busy')."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def test_the_next_run_starts_from_the_signals_of_the_last(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8), name="s")
    seen = []

    def on_added(layer):
        seen.append(("added", layer.name, widget.running))

    def on_finished(how):
        seen.append((how, widget.running, widget.run_button.isEnabled()))
        if len(seen) < 4:
            seen.append(("next", widget.run(layer=src, scale=3.0)))

    widget.resultAdded.connect(on_added)
    widget.runFinished.connect(on_finished)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: len(seen) == 5 or (len(seen) == 3 and not widget.running), timeout=60_000)
    assert seen == [("added", "s ×2.00 (LDCSR fast)", False), ("done", False, True), ("next", True),
                    ("added", "s ×3.00 (LDCSR fast)", False), ("done", False, True)]
    assert [lyr.name for lyr in viewer.layers] == ["s", "s ×2.00 (LDCSR fast)", "s ×3.00 (LDCSR fast)"]
    assert widget.last_result is viewer.layers[-1] and widget.status.startswith("Added 's ×3.00 (LDCSR fast)'")
    assert not [t for s, t in notes if s in ("warning", "error")]


def test_a_cancelled_run_is_over_when_it_says_so(ldcsr, qtbot, notes, engine_held_at_second_tile):
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="s")
    widget.tile = 32
    gate = engine_held_at_second_tile
    seen = []
    widget.runFinished.connect(lambda how: seen.append((how, widget.running, widget.run_button.isEnabled())))
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    widget.cancel()
    gate.release.set()
    qtbot.waitUntil(lambda: bool(seen), timeout=60_000)
    assert seen == [("cancelled", False, True)] and list(viewer.layers) == [src]


def test_the_next_check_starts_from_quality_checked(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(2).integers(0, 255, (48, 48, 3), dtype=np.uint8), name="s")
    seen = []

    def on_checked(result):
        seen.append((widget.busy, widget.check_button.isEnabled()))
        if len(seen) == 1:
            seen.append(widget.check_quality(src))

    widget.qualityChecked.connect(on_checked)
    assert widget.check_quality(src)
    qtbot.waitUntil(lambda: len(seen) == 3 or (len(seen) == 2 and not widget.busy), timeout=60_000)
    assert seen == [(False, True), True, (False, True)]
    assert not [t for s, t in notes if s in ("warning", "error")]
