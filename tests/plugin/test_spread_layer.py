"""Advanced ▸ "Uncertainty: samples": the spread of K diffusion samples as a layer exactly over the result."""

from __future__ import annotations

import numpy as np

from napari_ldcsr import _geometry as geo


def _bounds(layer):
    return geo.world_bounds(layer.data_to_world, layer.data.shape[:2])


def test_spread_layer_lies_exactly_over_the_result(ldcsr, qtbot, notes, tiny_model):
    viewer, widget = ldcsr
    rng = np.random.default_rng(3)
    data = rng.integers(40, 200, (40, 48, 3), dtype=np.uint8)
    src = viewer.add_image(data, name="scene", scale=(0.5, 0.5), translate=(100.0, -20.0))
    widget.set_mode("diffusion")
    widget.set_scale(2.0)
    widget.form.samples.value = 3
    assert widget.settings().samples == 3
    assert widget.run(layer=src)
    qtbot.waitUntil(lambda: not widget.running, timeout=300_000)
    assert not [t for s, t in notes if s in ("error", "warning")]
    result, spread = widget.last.result, widget.last.spread
    assert spread is not None and spread in viewer.layers and result in viewer.layers
    assert viewer.layers.index(spread) == viewer.layers.index(result) + 1  # just above the result
    assert spread.name == "scene ×2.00 (LDCSR spread, diffusion, seed 0, 3 samples)"
    assert spread.colormap.name == "magma" and not spread.rgb and spread.blending == "additive"
    # exactly over the result: same grid, same placement
    assert spread.data.shape == result.data.shape[:2] == (80, 96)
    np.testing.assert_allclose(spread.scale, result.scale)
    np.testing.assert_allclose(spread.translate, result.translate)
    np.testing.assert_allclose(spread.affine.affine_matrix, result.affine.affine_matrix)
    np.testing.assert_allclose(_bounds(spread), _bounds(result), atol=1e-9)
    np.testing.assert_allclose(_bounds(spread), _bounds(src), atol=1e-9)
    # the pixels: the engine's spread (grey levels), and the result is the mean of the samples
    from ldcsr_core.geo.pipeline import UpscaleOptions
    from ldcsr_core.geo.spread import upscale_window_spread

    from napari_ldcsr.run._job import layer_source

    with layer_source(viewer, src).dataset() as ds:
        ref = upscale_window_spread(ds, model=tiny_model, scale=2.0, options=UpscaleOptions(samples=3))
    np.testing.assert_allclose(spread.data, ref.spread.data.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.moveaxis(result.data, -1, 0), ref.mean.data)
    assert spread.data.mean() > 0.05 and spread.contrast_limits[1] > 0
    md = spread.metadata["ldcsr"]
    assert md["kind"] == "spread" and md["samples"] == 3 and md["mode"] == "diffusion"
    assert spread.metadata["tags"]["LDCSR_SAMPLES"] == "3"


def test_samples_need_diffusion_mode(ldcsr, notes):
    viewer, widget = ldcsr  # the fixture picks "fast"
    src = viewer.add_image(np.zeros((16, 16), np.uint8), name="flat")
    widget.form.samples.value = 2
    assert widget.run(layer=src) is False
    assert any("needs mode 'diffusion'" in t for s, t in notes if s == "error")
    assert len(viewer.layers) == 1
