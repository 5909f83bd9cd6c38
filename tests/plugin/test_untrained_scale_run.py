"""A Run below the shipped models' training scales (×1.25) runs and warns that the result is untested
there, in napari's words (Check quality here measures it); before, it said nothing."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("scale, warned", [(1.1, True), (1.25, False)])
def test_a_run_below_the_trained_scales_warns(ldcsr, qtbot, notes, scale, warned):
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8), name="scene")
    assert widget.run(layer=src, scale=scale)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert widget.last.result in viewer.layers
    said = [t for s, t in notes if s == "warning" and "trained on" in t]
    assert said == ([f"×{scale:g} is below the scales the shipped models were trained on (×1.25–×8), so the result "
                     "is untested there (docs/MODEL_CARD.md); Check quality here measures it on this layer."]
                    if warned else [])
