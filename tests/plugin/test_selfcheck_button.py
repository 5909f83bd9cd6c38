"""*Check quality here*: the engine's self-check on the view, its figure in the status line and its
error map as a layer exactly over the checked pixels of the source."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from napari_ldcsr import _geometry as geo
from napari_ldcsr.run import _selfcheck


def scene(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [128 + 60 * np.sin(xx / (4 + c) + c) + 30 * np.cos(yy / (3 + c)) for c in range(3)]
    return np.clip(np.stack(chans, -1) + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def _bounds(layer):
    return geo.world_bounds(layer.data_to_world, layer.data.shape[:2])


@pytest.mark.viewer_hidden
def test_button_on_a_small_layer_checks_it_whole(ldcsr, qtbot, notes, tiny_model):
    import ldcsr_core

    viewer, widget = ldcsr
    data = scene(60, 72)
    src = viewer.add_image(data, name="scene", scale=(0.5, 2.0), translate=(100.0, -20.0))
    widget.set_scale(2.5)
    assert widget.check_button.toolTip().count("bicubic-like sensor blur") == 1
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        widget.check_button.click()
    result = sig.args[0]
    ref = ldcsr_core.selfcheck(data, 2.5, model=tiny_model, mode="fast")
    assert result.psnr_model == pytest.approx(ref.psnr_model, rel=1e-12)
    # the gain as the command line and QGIS say it (it said '+0.0 dB' for their '+0.03 dB'), its sign in
    # words: the random model loses to bicubic (before: 'LDCSR -7.91 dB over bicubic')
    assert ref.gain_db < 0
    assert widget.status == f"LDCSR worse than bicubic ({ref.gain_db:+.2f} dB) at ×2.5 on the whole layer (fast)"
    assert f"({ref.gain_text()})" in ref.line() and ref.gain_text().endswith(" dB: worse than bicubic")
    assert not [t for s, t in notes if s in ("error", "warning")]
    err = viewer.layers["scene self-check error ×2.50 (LDCSR fast)"]
    bic = viewer.layers["scene self-check error ×2.50 (bicubic)"]
    assert viewer.layers.index(err) == viewer.layers.index(src) + 2 and err.visible and not bic.visible
    np.testing.assert_array_equal(err.data, ref.error_model, strict=False)
    assert err.data.shape == data.shape[:2] and np.isnan(err.data[:3]).all()
    for layer in (err, bic):
        np.testing.assert_allclose(layer.scale, src.scale)
        np.testing.assert_allclose(layer.translate, src.translate)
        np.testing.assert_allclose(_bounds(layer), _bounds(src), atol=1e-9)
    assert err.contrast_limits == bic.contrast_limits and err.colormap.name == "magma"
    assert err.metadata["ldcsr"]["gain_db"] == pytest.approx(ref.gain_db)


def test_button_on_a_large_layer_checks_the_view(ldcsr, qtbot, monkeypatch, tiny_model):
    import ldcsr_core

    viewer, widget = ldcsr
    monkeypatch.setattr(_selfcheck, "SMALL", 100)  # this layer counts as large: the view is checked
    data = scene(120, 160, seed=1)
    src = viewer.add_image(data, name="big", scale=(2.0, 2.0), translate=(10.0, 30.0))
    from napari_ldcsr._viewer import camera

    cam = camera(viewer)
    cam.center = (10 + 2 * 60, 30 + 2 * 80)
    cam.zoom = 8.0  # a window in the middle of the layer
    found = _selfcheck.check_region(viewer, src)
    region, where = found
    assert where == "this view" and region.rows < 120 and region.row0 > 0 and region.col0 > 0
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        assert widget.check_quality()
    result = sig.args[0]
    assert result.sampling == "window" and result.windows[0].box == region.window
    assert re.fullmatch(r"LDCSR (better|worse|no better) than bicubic \([+-]\d+\.\d\d dB\) at ×2 on this view \(fast\)",
                        widget.status)
    ref = ldcsr_core.selfcheck(data[region.slices], 2.0, model=tiny_model, mode="fast")
    assert result.psnr_bicubic == pytest.approx(ref.psnr_bicubic, rel=1e-12)
    err = viewer.layers["big self-check error ×2.00 (LDCSR fast)"]
    assert err.data.shape == region.shape
    np.testing.assert_allclose(err.scale, src.scale)
    np.testing.assert_allclose(err.translate, np.add(src.translate, np.multiply(region.offset, src.scale)))
    # pixel (r, c) of the map is pixel (row0 + r, col0 + c) of the source
    np.testing.assert_allclose(err.data_to_world((3, 5)), src.data_to_world((region.row0 + 3, region.col0 + 5)))


@pytest.mark.viewer_hidden
def test_a_diffusion_check_short_of_a_gain_points_at_fast_mode(ldcsr, qtbot):
    """A check in diffusion mode (the form's default) that loses to bicubic says so in words and that
    fast mode is the faithful one; before: 'LDCSR -8.04 dB over bicubic at ×2 on the whole layer (diffusion)'."""
    viewer, widget = ldcsr
    viewer.add_image(scene(40, 48), name="scene", rgb=True)
    widget.set_mode("diffusion")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        assert widget.check_quality()
    assert sig.args[0].gain_db < 0
    assert widget.status == (f"LDCSR worse than bicubic ({sig.args[0].gain_db:+.2f} dB) at ×2 on the whole layer "
                             "(diffusion); in diffusion mode invented detail costs PSNR: check fast mode too, the faithful one")


@pytest.mark.parametrize("mode, k", [("fast", 1), ("diffusion", 2)])
@pytest.mark.viewer_hidden
def test_too_small_for_the_scale_is_refused_before_the_check_starts(ldcsr, notes, mode, k):
    """A 16×16 px layer at ×4 (which needs 19 px): before, the check started, its model loaded, a check of
    "Uncertainty: samples" 2 said that it takes about 2 times as long as one sample, then it failed ('Check failed:
    … needs at least 19×19 px'); now it is refused at once, in the engine's words (``quality.selfcheck_windows``), no
    check started, nothing said of its cost."""
    viewer, widget = ldcsr
    viewer.add_image(scene(16, 16), name="tiny", rgb=True)
    widget.set_scale(4.0)
    widget.set_mode(mode)
    widget.form.samples.value = k
    assert not widget.check_quality()
    assert notes == [("error", "the window is 16×16 px; a self-check at ×4 needs at least 19×19 px (the scene is "
                               "degraded by the scale, then scored inside a 4-px border): the whole layer is checked; "
                               "choose a smaller scale")]
    assert not widget.busy and not widget.checker.running and len(viewer.layers) == 1


def test_a_view_too_small_for_the_scale_says_to_zoom_out(ldcsr, notes, monkeypatch):
    """A view under 19 px across of a large layer (scaled ×3 in the world) at ×4 (19 px needed), refused at once: it says
    what to do in napari (review35h: zoom out, or a smaller scale; before, only that the window is too small)."""
    from napari_ldcsr._viewer import camera

    viewer, widget = ldcsr
    monkeypatch.setattr(_selfcheck, "SMALL", 100)  # this layer counts as large: the view is checked
    src = viewer.add_image(scene(120, 160, seed=1), name="big", rgb=True, scale=(3.0, 3.0), translate=(10.0, 30.0))
    cam = camera(viewer)
    cam.center = (10 + 3 * 60, 30 + 3 * 80)
    for zoom in np.geomspace(0.5, 200, 400):  # zoomed in until the view is under 19 data px across
        cam.zoom = zoom
        region, where = _selfcheck.check_region(viewer, src)
        if min(region.shape) < 19:
            break
    widget.set_scale(4.0)
    assert where == "this view" and min(region.shape) < 19
    assert not widget.check_quality()
    assert notes == [("error", f"the window is {region.cols}×{region.rows} px; a self-check at ×4 needs at least 19×19 px (the "
                               "scene is degraded by the scale, then scored inside a 4-px border): zoom out to check "
                               "more of the layer (Check quality checks the view), or choose a smaller scale")]
    assert not widget.busy and len(viewer.layers) == 1


@pytest.mark.viewer_hidden
def test_a_size_the_scale_cannot_restore_is_said_in_napari_words(ldcsr, qtbot, notes):
    """Before: '... use a size that is a multiple of 8 px (--window; window= in Python) or a smaller
    scale', an option napari's check has not: it takes a small layer whole."""
    viewer, widget = ldcsr
    viewer.add_image(scene(70, 70), name="odd", rgb=True)  # ×8: restored from 8×8 px, 64 px
    widget.set_scale(8.0)
    assert not widget.check_quality()  # refused before the check starts (before: 'Check failed: …' once it ran)
    assert notes == [("error", "at ×8 the 70×70 px scene would be restored from its 8×8 px copy, "
                               "more than ×8: use a size that is a multiple of 8 px (Check quality takes a layer "
                               "of at most 1,048,576 px whole, a larger one's view) or a smaller scale")]
    assert _selfcheck.SMALL == 1_048_576 and len(viewer.layers) == 1


@pytest.mark.viewer_hidden
def test_error_map_saves_with_nan_nodata(ldcsr, qtbot, tmp_path):
    """An error map of a layer whose file has nodata 0 is saved with nodata NaN (the border left
    out), not 0 (a perfect pixel), under its own band name. The file is an earlier LDCSR result:
    the map keeps its other tags but none of its LDCSR_* provenance (before, the saved map said it
    was AI-generated pixels of that ×3 diffusion run), and carries its own (LDCSR_PROVENANCE)."""
    import rasterio
    from napari.plugins.io import save_layers
    from rasterio.transform import from_origin

    path = tmp_path / "scene.tif"
    with rasterio.open(path, "w", driver="GTiff", height=60, width=72, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(4e5, 33e5, 0.5, 0.5), nodata=0, photometric="RGB") as dst:
        dst.write(np.moveaxis(scene(60, 72), -1, 0))
        dst.update_tags(LDCSR_NOTICE="AI-generated: ...", LDCSR_SCALE_X="3.0", LDCSR_MODE="diffusion", SENSOR="x")
    viewer, widget = ldcsr
    (src,) = viewer.open(str(path), plugin="napari-ldcsr")
    assert src.metadata["tags"]["LDCSR_MODE"] == "diffusion"
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000):
        assert widget.check_quality(layer=src)
    err = viewer.layers["scene self-check error ×2.00 (LDCSR fast)"]
    out = tmp_path / "error.tif"
    save_layers(str(out), [err], plugin="napari-ldcsr")
    with rasterio.open(out) as dst:
        assert np.isnan(dst.nodata) and dst.descriptions == ("self-check error (LDCSR)",)
        tags = dst.tags()
        assert tags["SENSOR"] == "x" and not {"LDCSR_NOTICE", "LDCSR_SCALE_X", "LDCSR_MODE"} & set(tags)
        assert json.loads(tags["LDCSR_PROVENANCE"])["kind"] == "selfcheck-error-model"
        assert np.ma.count_masked(dst.read(1, masked=True)) == np.isnan(err.data).sum() > 0


@pytest.mark.viewer_hidden
def test_nodata_of_the_file_is_left_out_and_the_status_says_how_much(ldcsr, qtbot, tmp_path, tiny_model):
    """A layer whose file is half nodata: the figures are those of its data (the fill lifted them),
    the status line says how much was left out and the error map is NaN there."""
    import ldcsr_core
    import rasterio
    from rasterio.transform import from_origin

    data = np.moveaxis(scene(60, 96), -1, 0).copy()
    data[data == 0] = 1
    data[:, :, 48:] = 0
    path = tmp_path / "edge.tif"
    with rasterio.open(path, "w", driver="GTiff", height=60, width=96, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(4e5, 33e5, 0.5, 0.5), nodata=0, photometric="RGB") as dst:
        dst.write(data)
    viewer, widget = ldcsr
    (src,) = viewer.open(str(path), plugin="napari-ldcsr")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        assert widget.check_quality(layer=src)
    result = sig.args[0]
    ref = ldcsr_core.selfcheck(path, 2.0, model=tiny_model, mode="fast")
    assert result.psnr_model == pytest.approx(ref.psnr_model, rel=1e-9) and ref.nodata == 60 * 48
    assert widget.status.endswith("at ×2 on the whole layer (fast; 50 % nodata, not scored)"), widget.status
    err = viewer.layers["edge self-check error ×2.00 (LDCSR fast)"]
    assert np.isnan(err.data[:, 48:]).all() and np.isfinite(err.data[2:-2, 2:46]).all()


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.viewer_hidden
def test_a_flat_layer_says_there_is_no_gain_to_measure(ldcsr, qtbot, notes, dtype):
    """One value everywhere: bicubic restores it exactly (an infinite PSNR), so the gain was shown
    as "LDCSR -inf dB" (8-bit) or "LDCSR +nan dB" (float, where both are exact)."""
    viewer, widget = ldcsr
    viewer.add_image(np.full((40, 41), 7, dtype), name="flat")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        widget.check_button.click()
    result = sig.args[0]
    assert result.psnr_bicubic == np.inf
    picture = "" if dtype == np.uint8 else "; float32 stretched to 0–255 from 7 (one value), stretch auto"
    assert widget.status.startswith(f"No gain to measure at ×2 on the whole layer (fast{picture}): the pixels are flat, ")
    if result.psnr_model == np.inf:
        assert widget.status.endswith("LDCSR and bicubic both restore them exactly")
    else:
        assert widget.status.endswith(f"bicubic restores them exactly (LDCSR: {result.psnr_model:.1f} dB PSNR)")
    assert not re.search(r"\b(nan|inf)\b", widget.status)


def test_a_check_done_as_the_widget_is_removed_shows_nothing(ldcsr, qtbot, notes, monkeypatch):
    """The widget removed from its dock (its teardown cancels and waits for its workers) once the
    check has its result, before the result is handed on: no error map is added, no qualityChecked.
    Before, the teardown's wait forgot the cancel and the maps came afterwards, from a widget gone."""
    import threading

    from .conftest import hold_after

    viewer, widget = ldcsr
    done, release = hold_after(monkeypatch, _selfcheck, "run_check")
    viewer.add_image(scene(60, 72), name="scene")
    widget.set_scale(2.0)
    checked = []
    widget.qualityChecked.connect(checked.append)
    assert widget.check_quality()
    qtbot.waitUntil(done.is_set, timeout=120_000)
    threading.Timer(0.5, release.set).start()  # the teardown waits for the worker meanwhile
    with qtbot.waitSignal(widget.checker.finished, timeout=60_000):  # delivered later: the widget lives on
        viewer.window.remove_dock_widget(widget)
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and checked == []
    assert not [t for s, t in notes if s in ("error", "warning")]


def test_the_status_says_the_stretch_of_a_16_bit_layer(tiny_model, tmp_path):
    """The figures are on the 8-bit picture the stretch makes (its 255 is PSNR's peak): the status
    line says which, as the command line's does; it said only '(fast)'."""
    import ldcsr_core
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "u.tif"
    with rasterio.open(path, "w", driver="GTiff", height=48, width=48, count=3, dtype="uint16", crs="EPSG:32617",
                       transform=from_origin(4e5, 33e5, 0.5, 0.5)) as dst:
        dst.write(np.moveaxis(scene(48, 48), -1, 0).astype(np.uint16) * 200)
    r = ldcsr_core.selfcheck(path, 2.0, model=tiny_model, mode="fast", stretch="dtype")
    assert _selfcheck.status_text(r, "the whole layer").endswith(
        "on the whole layer (fast; uint16 stretched to 0–255 from 0–65535, stretch dtype)")
    from napari.layers import Image  # the error map's units say it too (they said '0..255' over a uint16 layer)

    md = _selfcheck.error_kwargs(Image(np.zeros((48, 48), np.uint16)), geo.Region.whole((48, 48)), r, "model")["metadata"]
    assert md["values"] == ("|restored - source| averaged over RGB, 0..255 of uint16 stretched to 0–255 from "
                            "0–65535, stretch dtype (NaN: the border and nodata, not scored)")


@pytest.mark.viewer_hidden
def test_the_error_maps_show_over_a_run_result_covering_the_source(ldcsr, qtbot, notes, bicubic_engine):
    """Check quality after a Run: the error maps go on top, over the result that covers the source.
    Before, they were inserted just above the source, under the result: ticked 'error map layer',
    the check added them, and the screen did not change."""
    viewer, widget = ldcsr
    src = viewer.add_image(scene(40, 48), name="scene")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run(layer=src)
    result = widget.last_result
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000):
        assert widget.check_quality(layer=src)
    err = viewer.layers["scene self-check error ×2.00 (LDCSR fast)"]
    bic = viewer.layers["scene self-check error ×2.00 (bicubic)"]
    assert [lyr.name for lyr in viewer.layers][-2:] == [bic.name, err.name] and err.visible
    assert viewer.layers.index(err) > viewer.layers.index(result) and result.visible
    assert _bounds(err) == pytest.approx(_bounds(src)) and _bounds(result) == pytest.approx(_bounds(src))
    assert not [t for s, t in notes if s in ("error", "warning")]


@pytest.mark.viewer_hidden
def test_a_check_with_k_samples_scores_the_mean_a_run_gives(ldcsr, qtbot, notes, tiny_model):
    """"Uncertainty: samples" 3 in diffusion mode: a Run's result is the mean of 3 samples, and the check now scores
    that mean (ldcsr_core.selfcheck(mean_of=3), as QGIS's quality report) and says so in the engine's words; before,
    it scored one sample (seed 0) and said '(diffusion)'. In fast mode the box is refused, as a Run refuses it."""
    import ldcsr_core

    viewer, widget = ldcsr
    data = scene(40, 48)
    viewer.add_image(data, name="scene", rgb=True)
    widget.set_mode("diffusion")
    widget.set_scale(2.0)
    widget.form.samples.value = 3
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        assert widget.check_quality()
        started = widget.status  # while it runs, in the engine's words (before: '(diffusion, mean of 3 samples)')
    assert started == "Checking ×2.00 (diffusion, mean of 3 samples (seeds 0..2)) on the whole layer…", started
    result = sig.args[0]
    mean, one = (ldcsr_core.selfcheck(data, 2.0, model=tiny_model, mode="diffusion", mean_of=k) for k in (3, 1))
    assert result.mean_of == 3 and abs(mean.psnr_model - one.psnr_model) > 1e-3
    assert result.psnr_model == pytest.approx(mean.psnr_model, rel=1e-12)
    assert f" at ×2 on the whole layer (diffusion, mean of 3 samples (seeds 0..2)){'; ' if mean.mode_note() else ''}" \
        in widget.status, widget.status
    assert not [t for s, t in notes if s in ("error", "warning")]
    widget.set_mode("fast")
    assert not widget.check_quality()
    assert [t for s, t in notes if s == "error"][-1].startswith("Uncertainty: samples 3 needs mode 'diffusion'")


@pytest.mark.viewer_hidden
def test_a_check_of_k_samples_can_be_cancelled(ldcsr, qtbot, notes, engine_held_at_second_tile):
    """A check scores the mean of "Uncertainty: samples" K (up to 32 diffusion runs, as long as a Run of them):
    before, Cancel stayed off while it ran and the widget was busy until it ended; now Cancel stops it within one
    tile, nothing measured or added, and the status says so."""
    viewer, widget = ldcsr
    viewer.add_image(scene(96, 96), name="scene", rgb=True)
    widget.set_mode("diffusion")
    widget.set_scale(2.0)
    widget.form.samples.value = 3
    gate = engine_held_at_second_tile
    checked = []
    widget.qualityChecked.connect(checked.append)
    assert widget.check_quality()
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    assert widget.cancel_button.isEnabled()
    widget.cancel_button.click()
    assert not widget.cancel_button.isEnabled() and widget.status == "Cancelling…"
    gate.release.set()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    qtbot.wait(50)
    assert widget.status == "Check cancelled; nothing was measured." and checked == []
    assert [layer.name for layer in viewer.layers] == ["scene"] and widget.check_button.isEnabled()
    assert not [t for s, t in notes if s in ("error", "warning")]


@pytest.mark.viewer_hidden
def test_two_checks_error_maps_say_their_mode_and_k_and_a_check_of_k_says_its_cost(ldcsr, qtbot, notes):
    """A fast check and a check of "Uncertainty: samples" 2 in diffusion mode of one layer at one scale: their error
    maps side by side are named as a Run's result layers are (mode, seed, K); before, both were 'scene self-check
    error ×2 (LDCSR)'. The check of K says what K costs before it starts, in the engine's words, as a Run of K says
    it (``uncertainty.samples_cost``); before, it said nothing (and took K times as long)."""
    viewer, widget = ldcsr
    viewer.add_image(scene(40, 48), name="scene", rgb=True)
    widget.set_scale(2.0)
    for mode, k in (("fast", 1), ("diffusion", 2)):
        widget.set_mode(mode)
        widget.form.samples.value = k
        with qtbot.waitSignal(widget.qualityChecked, timeout=120_000):
            assert widget.check_quality()
        qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    assert [layer.name for layer in viewer.layers] == [
        "scene",
        "scene self-check error ×2.00 (bicubic)", "scene self-check error ×2.00 (LDCSR fast)",
        "scene self-check error ×2.00 (bicubic) [1]", "scene self-check error ×2.00 (LDCSR diffusion, seed 0, 2 samples)"]
    assert [t for s, t in notes if s == "info"] == [
        "2 samples for the mean the check scores: each is a whole run of the diffusion sampler, so this check takes "
        "about 2 times as long as one sample would."]


@pytest.mark.parametrize("new_shape", [(50, 40, 3), (64, 64, 3)])
@pytest.mark.viewer_hidden
def test_a_layer_given_other_pixels_during_the_check_is_said_not_checked(ldcsr, qtbot, notes, monkeypatch, new_shape):
    """``layer.data = …`` while the check's model loads (review35h): the check reads the pixels the button was pressed
    on, as a Run does, and says the layer was given others, nothing shown over it; before, it read the new array with
    the region of the old one ('Check failed: the window of rows 0–64 and columns 0–64 is not inside the scene of 50
    rows × 40 columns'), or of the same size scored the new pixels and showed error maps of a view asked of others."""
    from .test_source_changed_during_run import _held_model_load

    viewer, widget = ldcsr
    src = viewer.add_image(scene(64, 64), name="scene", rgb=True)
    asked, go = _held_model_load(widget, monkeypatch)
    widget.set_scale(2.0)
    checked = []
    widget.qualityChecked.connect(checked.append)
    with qtbot.waitSignal(widget.checker.finished, timeout=60_000):
        assert widget.check_quality()
        qtbot.waitUntil(asked.is_set, timeout=10_000)
        src.data = np.zeros(new_shape, np.uint8)
        go.set()
    said = "'scene' was given other pixels during the check; nothing was shown: check it again."
    assert widget.status == f"Check dropped: {said}" and notes == [("warning", said)]
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and not checked and not widget.busy
