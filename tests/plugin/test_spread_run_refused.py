"""napari's Run on a spread map (the uncertainty of K diffusion samples, not a picture) is refused before any
work, by the engine's rule the command line and QGIS use (``geo.job.check_not_spread_map``); a real napari
viewer (Xvfb), a real spread GeoTIFF written by ``ldcsr upscale --samples 2``."""

from __future__ import annotations

import numpy as np

from tests.spread_files import make_spread
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

WHAT = (" is an LDCSR spread map: its values are the uncertainty of an output (how much its diffusion samples "
        "disagreed), not a picture, so it is not upscaled; upscale its source")


def test_run_refuses_a_spread_file_and_a_spread_layer(ldcsr, qtbot, notes, tmp_path):
    """Before: a spread file opened in napari, or a Run's own spread layer, was super-resolved as a picture with
    no word. Now the Run is refused, saying what it is and to upscale its source; the model is not asked for."""
    viewer, widget = ldcsr
    _, spread = make_spread(tmp_path)
    layers = viewer.open(str(spread), plugin="napari-ldcsr")
    asked = len(widget.provider_calls)
    assert not widget.run(layer=layers[0], scale=2.0) and not widget.running
    assert notes[-1] == ("error", f"'{layers[0].name}'{WHAT} (scene.tif) instead.")
    assert len(viewer.layers) == len(layers) and len(widget.provider_calls) == asked
    src = viewer.add_image(np.random.default_rng(3).integers(40, 200, (40, 48, 3), dtype=np.uint8), name="scene")
    widget.set_mode("diffusion")
    widget.form.samples.value = 2
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=300_000)
    made = widget.last.spread
    assert made is not None
    widget.form.samples.value = 1
    assert not widget.run(layer=made, scale=2.0) and not widget.running
    assert notes[-1] == ("error", f"'{made.name}'{WHAT} (scene) instead.")


def test_check_quality_refuses_a_spread_file_in_its_own_words(ldcsr, notes, tmp_path):
    """Before: Check quality on a spread layer was refused in the Run's words ('so it is not upscaled; upscale
    its source'); now the self-check's (geo.job.check_not_spread_map(use="selfcheck")), nothing started."""
    viewer, widget = ldcsr
    _, spread = make_spread(tmp_path)
    layers = viewer.open(str(spread), plugin="napari-ldcsr")
    assert not widget.check_quality(layer=layers[0]) and not widget.checker.running
    assert notes[-1] == ("error", f"'{layers[0].name}' is an LDCSR spread map: its values are the uncertainty of an "
                         "output (how much its diffusion samples disagreed), not a picture, so it is not self-checked; "
                         "self-check its source (scene.tif) instead.")
    assert len(viewer.layers) == len(layers)


def test_adapt_refuses_a_spread_file_in_its_own_words(ldcsr, notes, tmp_path):
    """Before: Adapt to this layer on a spread layer was refused in the Run's words ('so it is not upscaled; upscale
    its source'); now in adapt's (geo.job.check_not_spread_map(use="adapt")), nothing started."""
    viewer, widget = ldcsr
    _, spread = make_spread(tmp_path)
    layers = viewer.open(str(spread), plugin="napari-ldcsr")
    widget.set_scale(2.0)
    assert not widget.adapt_to_layer(layer=layers[0], minutes=0.05) and not widget.adapter.running
    assert notes[-1] == ("error", f"'{layers[0].name}' is an LDCSR spread map: its values are the uncertainty of an "
                         "output (how much its diffusion samples disagreed), not a picture, so it is not adapted to; "
                         "adapt to its source (scene.tif) instead.")
    assert len(viewer.layers) == len(layers)
