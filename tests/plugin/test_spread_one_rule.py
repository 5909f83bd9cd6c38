"""The live lens refuses a spread map (a spread file opened, a Run's spread layer) as the Run does, by the engine's
one rule (``geo.job.is_spread_map``) and with the Run's words; before, it super-resolved the uncertainty as a
picture. Real napari viewer (Xvfb), real Run, real spread GeoTIFF of ``ldcsr upscale --samples 2``."""

from __future__ import annotations

import numpy as np
from napari_ldcsr.lens._lens import LiveLens

from tests.spread_files import make_spread


def _lens_refuses(viewer, widget, notes, tiny_model, layer) -> None:
    """The Run's refusal of ``layer``, then the lens's: the same words, the lens left off."""
    assert not widget.run(layer=layer, scale=2.0)
    said = notes[-1][1]
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model)
    n = len(viewer.layers)
    assert lens.set_layer(layer) is False  # before: True, the lens super-resolved the spread as a picture
    assert notes[-1] == ("warning", f"Live lens: {said}")
    assert not lens.enabled and len(viewer.layers) == n


def test_the_lens_refuses_a_spread_file_as_the_run_does(ldcsr, notes, tiny_model, tmp_path):
    viewer, widget = ldcsr
    _, spread = make_spread(tmp_path)
    layer = viewer.open(str(spread), plugin="napari-ldcsr")[0]  # its bands, one layer each
    _lens_refuses(viewer, widget, notes, tiny_model, layer)
    assert " is an LDCSR spread map: " in notes[-1][1]


def test_the_lens_refuses_a_runs_spread_layer_as_the_run_does(ldcsr, qtbot, notes, tiny_model):
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(3).integers(40, 200, (40, 48, 3), dtype=np.uint8), name="scene")
    widget.set_mode("diffusion")
    widget.form.samples.value = 2
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=300_000)
    widget.form.samples.value = 1
    _lens_refuses(viewer, widget, notes, tiny_model, widget.last.spread)
    assert notes[-1][1].endswith(" is an LDCSR spread map: its values are the uncertainty of an output (how much its "
                                 "diffusion samples disagreed), not a picture, so it is not upscaled; upscale its "
                                 "source (scene) instead.")
