"""The LDCSR dock widget in a real napari viewer (Xvfb), with a tiny random-weight model.

Tests drive the widget's public surface: its methods and properties, its buttons and the
magicgui form (``widget.form``), as a user or another plugin would.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from ldcsr_core import tiling
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog

from napari_ldcsr import _geometry as geo
from napari_ldcsr.run._results import nearest_preview
from napari_ldcsr._viewer import camera, canvas_size, grid, grid_position

SAMPLE = ("napari-ldcsr", "neon_osbs")


def _bounds(layer):
    return geo.world_bounds(layer.data_to_world, layer.data.shape[:2])


def _wait_done(qtbot, widget, timeout=120_000):
    qtbot.waitUntil(lambda: not widget.running, timeout=timeout)


def _errors(notes):
    return [text for sev, text in notes if sev in ("error", "warning")]


@pytest.mark.viewer_hidden
def test_sample_whole_layer_x2_5_overlays_exactly(ldcsr, qtbot, notes, bicubic_engine):
    """Whole 400x400 scene at x2.5 -> 1000x1000 (the network is a bicubic stand-in here: the
    real engine runs in the region, cancel and compare tests below)."""
    viewer, widget = ldcsr
    (src,) = viewer.open_sample(*SAMPLE)
    widget.tile = 128
    assert widget.layer == src
    widget.set_scale(2.5)
    assert widget.output_pixel_size == pytest.approx(0.04)  # 0.1 m / 2.5
    assert widget.run() is True
    assert widget.running and not widget.run_button.isEnabled() and widget.cancel_button.isEnabled()
    _wait_done(qtbot, widget)
    assert not _errors(notes)
    out = viewer.layers[-1]
    assert out is widget.last_result
    assert out.name == "NEON OSBS_029 ×2.50 (LDCSR fast)"
    assert out.data.shape == (1000, 1000, 3) and out.data.dtype == np.uint8 and out.rgb
    np.testing.assert_allclose(_bounds(out), _bounds(src), atol=1e-6)
    assert out.scale[-2:] == pytest.approx((0.04, 0.04))
    np.testing.assert_allclose(out.contrast_limits, src.contrast_limits)
    md = out.metadata
    assert md["crs"] == src.metadata["crs"] and md["pixel_size"] == pytest.approx((0.04, 0.04))
    assert md["transform"][2] == pytest.approx(src.metadata["transform"][2])  # same origin
    assert md["ldcsr"]["out_shape"] == [1000, 1000] and md["ldcsr"]["mode"] == "fast"
    assert "NEON" in md["credit"]
    done, total = widget.progress
    assert done == total > 1  # tiles were reported
    assert widget.device.startswith("Device: cpu")
    plans = {id(c["plan"]) for c in bicubic_engine}
    assert len(plans) == 1 and len(bicubic_engine) == total
    plan = bicubic_engine[0]["plan"]
    assert plan.in_shape == (400, 400) and plan.out_shape == (1000, 1000)
    assert {c["mode"] for c in bicubic_engine} == {"fast"}
    from napari_ldcsr.run._job import JobSpec, bicubic_job, layer_source

    # the stand-in is the exact windowed bicubic: the blended tiles give the whole-image bicubic
    spec = JobSpec(scale=2.5, region=geo.Region.whole((400, 400)), mode="fast")
    baseline = np.moveaxis(bicubic_job(layer_source(viewer, src), spec).data, 0, -1)
    diff = np.abs(out.data.astype(int) - baseline.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01


@pytest.mark.viewer_hidden
def test_result_appears_progressively(ldcsr, qtbot, notes, bicubic_engine, tiny_model, monkeypatch):
    """The result layer exists while the run is still going and shows each tile as it finishes
    (finished rows get their final pixels); its final pixels are those of the same job run
    without progressive display."""
    viewer, widget = ldcsr
    rng = np.random.default_rng(3)
    src = viewer.add_image(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8), name="noise")
    widget.set_mode("fast")  # (diffusion mode runs on its own fixed windows, whatever the tile)
    widget.tile = 32  # 96 -> 192 px in 4 x 4 tiles of 64 output px
    inserted = []
    viewer.layers.events.inserted.connect(lambda e: inserted.append(widget.progress))
    gate = threading.Event()
    stand_in, n = tiling.process_tile, []

    def held(*args, **kwargs):  # tile 6 waits until the test has looked at the first row of tiles
        n.append(1)
        if len(n) == 6:
            gate.wait(30)
        return stand_in(*args, **kwargs)

    monkeypatch.setattr(tiling, "process_tile", held)
    widget.set_scale(2.0)
    assert widget.run()
    try:
        qtbot.waitUntil(lambda: widget.progress[0] >= 5, timeout=60_000)
        partial = viewer.layers[-1]
        assert partial.name == "noise ×2.00 (LDCSR fast)" and widget.running
        snapshot = partial.data.copy()
    finally:
        gate.set()
    _wait_done(qtbot, widget)
    final = widget.last_result
    assert final is partial and viewer.layers[-1] is final  # the same layer, made final
    total = widget.progress[1]
    assert total == 16 and inserted[0][0] <= 1  # created with the first tile
    # the first row of tiles already had final pixels, tile 5 (next row) its own pixels, and the
    # last tiles still showed the source (nearest neighbour)
    t5 = bicubic_engine[4]["tile"]
    done_rows = t5.write_y.start
    assert done_rows >= 32
    np.testing.assert_array_equal(snapshot[:done_rows], final.data[:done_rows])
    y0, x0, h, w = t5.write
    inner = (slice(y0 + 16, y0 + h - 16), slice(x0, x0 + w - 16))  # away from the blended overlaps
    np.testing.assert_array_equal(snapshot[inner], final.data[inner])
    preview = nearest_preview(np.asarray(src.data), (192, 192))
    assert not np.array_equal(snapshot[inner], preview[inner])
    np.testing.assert_array_equal(snapshot[-40:, -40:], preview[-40:, -40:])
    assert not np.array_equal(snapshot, final.data)
    # final pixels = the same job without progressive display
    from napari_ldcsr.run._job import JobSpec, layer_source, run_job

    spec = JobSpec(scale=2.0, region=geo.Region.whole((96, 96)), mode="fast", tile=32)
    plain = run_job(layer_source(viewer, src), spec, tiny_model)
    np.testing.assert_array_equal(final.data, np.moveaxis(plain.data.data, 0, -1))
    assert not _errors(notes)


@pytest.mark.viewer_hidden
def test_the_first_look_of_a_progressive_result_is_made_off_the_gui_thread(ldcsr, qtbot, notes, monkeypatch):
    """The placeholder a progressive result shows until its tiles arrive (the source enlarged,
    nearest neighbour) is made in the run's worker thread and handed to the GUI with the first
    tile. Before, it was made on the GUI thread as the first tile arrived: an 8000×8000×3 result
    froze the viewer 7.6 s (measured, Xvfb on 2 loaded cores)."""
    from napari_ldcsr.run import _placeholders

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(4).integers(0, 255, (48, 48, 3), dtype=np.uint8), name="s")
    made = []
    real = _placeholders.nearest_preview
    monkeypatch.setattr(_placeholders, "nearest_preview", lambda *a: made.append(threading.current_thread()) or real(*a))
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    assert len(made) == 1 and made[0] is not threading.main_thread()
    assert widget.last_result.data.shape == (96, 96, 3) and not _errors(notes)


def test_current_view_region_and_model_cached(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    viewer.window.resize(1200, 800)  # napari < 0.9 opens at 744 px wide: the docked widget left a 4 px canvas
    (src,) = viewer.open_sample(*SAMPLE)
    # zoom onto a small patch left of centre: about 60 x 80 source pixels are on screen
    h, w = canvas_size(viewer)
    camera(viewer).zoom = h / 6.0  # 6 m (60 px at 0.1 m) of canvas height
    y0, x0 = src.data_to_world((150, 120))
    camera(viewer).center = (y0, x0)
    widget.set_region("view")
    widget.set_scale(2.5)
    assert widget.run()
    _wait_done(qtbot, widget)
    out = viewer.layers[-1]
    # expected region, computed independently from the camera
    half = np.array([h, w]) / (2 * camera(viewer).zoom)
    lo = np.asarray(src.world_to_data(np.array([y0, x0]) - half)) + 0.5
    hi = np.asarray(src.world_to_data(np.array([y0, x0]) + half)) + 0.5
    r0, c0 = np.floor(lo + 1e-6).astype(int)
    r1, c1 = np.ceil(hi - 1e-6).astype(int)
    region = geo.Region(r0, c0, r1 - r0, c1 - c0)
    assert 40 <= region.rows <= 80 and region.cols < 400
    assert out.metadata["ldcsr"]["region"] == {"row0": r0, "col0": c0, "rows": region.rows, "cols": region.cols}
    assert out.data.shape[:2] == (round(region.rows * 2.5), round(region.cols * 2.5))
    np.testing.assert_allclose(_bounds(out), geo.world_bounds(src.data_to_world, (400, 400), region), atol=1e-6)
    # georeferencing of the crop: origin moved by the region offset, pixel size / 2.5
    a, b, c, d, e, f = out.metadata["transform"]
    a0, _, c_0, _, e0, f_0 = src.metadata["transform"]
    assert (a, e) == pytest.approx((a0 * region.cols / out.data.shape[1], e0 * region.rows / out.data.shape[0]))
    assert (c, f) == pytest.approx((c_0 + a0 * c0, f_0 + e0 * r0))
    # second run (whole layer would be slow; use a Shapes rectangle) reuses the loaded model
    shapes = viewer.add_shapes([[[-3285140.0, 404215.0], [-3285136.0, 404215.0], [-3285136.0, 404221.0],
                                 [-3285140.0, 404221.0]]], shape_type="rectangle", name="roi")
    widget.set_region("shapes", shapes)
    widget.set_scale(3.0)
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    roi = viewer.layers[-1]
    assert roi.metadata["ldcsr"]["region"] == {"row0": 29, "col0": 31, "rows": 40, "cols": 60}
    np.testing.assert_allclose(_bounds(roi), [[-3285140.0, 404215.0], [-3285136.0, 404221.0]], atol=1e-6)
    assert widget.provider_calls == [None] and not _errors(notes)


@pytest.mark.viewer_hidden
def test_bad_inputs_become_notifications(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    labels = viewer.add_labels(np.zeros((32, 32), dtype=np.uint8), name="mask")
    assert widget.run(layer=labels) is False
    assert "Labels layer" in _errors(notes)[-1]
    tiny = viewer.add_image(np.zeros((1, 1), dtype=np.float32), name="dot")
    widget.set_layer(tiny)
    assert widget.run() is False
    assert "1×1 px" in _errors(notes)[-1]
    with pytest.raises(ValueError, match="not an image layer"):
        widget.set_layer(labels)
    # an out-of-range scale typed in the box: reported, then clamped to the maximum
    n = len(notes)
    line = widget.form.scale.native.lineEdit()
    line.selectAll()
    qtbot.keyClicks(line, "9.5")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert widget.scale == 8.0
    assert any("out of range" in t for t in _errors(notes)[n:])
    ok = viewer.add_image(np.zeros((8, 8), dtype=np.float32), name="ok")
    assert widget.run(layer=ok, scale=9.5) is False and "out of range" in _errors(notes)[-1]
    assert widget.run(layer=ok, scale=1.0) is False and "above 1.00" in _errors(notes)[-1]
    shapes_free = viewer.add_image(np.zeros((16, 16), dtype=np.float32), name="img")
    widget.set_region("shapes")
    assert widget.run(layer=shapes_free, scale=2.0) is False and "Shapes layer" in _errors(notes)[-1]
    assert len(viewer.layers) == 4 and not widget.running


def test_engine_errors_are_plain_notifications(make_napari_viewer, qtbot, notes, tmp_path, monkeypatch):
    from napari_ldcsr._widget import LdcsrWidget

    viewer = make_napari_viewer()
    widget = LdcsrWidget(viewer)  # real engine loader
    viewer.window.add_dock_widget(widget)
    # the shipped model is loaded in the background as the widget opens (a warm first Run)
    qtbot.waitUntil(lambda: widget.models.cached(None) is not None, timeout=60_000)
    assert widget.models.loads == 1
    viewer.add_image(np.zeros((16, 16), dtype=np.float32), name="img")
    bogus = tmp_path / "broken.safetensors"
    bogus.write_bytes(b"not a checkpoint")
    # "Load checkpoint…" opens a file dialog (answered here) and selects the file
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bogus), "")))
    combo = widget.form.model
    combo.native.setCurrentIndex(combo.native.findText("Load checkpoint…"))  # as a click in the list
    assert widget.model_source == str(bogus) and combo.native.currentText() == "broken.safetensors"
    assert widget.run()
    _wait_done(qtbot, widget)
    err = _errors(notes)[-1]
    assert err.startswith("LDCSR could not super-resolve 'img':") and "Traceback" not in err
    assert len(viewer.layers) == 1 and widget.run_button.isEnabled()
    assert widget.add_checkpoint(str(tmp_path / "weights.txt")) is False
    assert "not a .ckpt or .safetensors" in _errors(notes)[-1]
    assert widget.model_source == str(bogus)  # the picker keeps the previous choice
    # a cancelled dialog goes back to the previous choice too
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    combo.native.setCurrentIndex(combo.native.findText("Built-in default"))
    combo.native.setCurrentIndex(combo.native.findText("Load checkpoint…"))
    assert widget.model_source is None and combo.native.currentText() == "Built-in default"


def test_pickers_follow_layers_and_pixel_size_both_ways(ldcsr, qtbot):
    viewer, widget = ldcsr
    assert widget.layer is None and not widget.form.pixel.enabled
    plain = viewer.add_image(np.zeros((8, 8), np.float32), name="plain")
    assert widget.layer == plain and widget.output_pixel_size is None
    (src,) = viewer.open_sample(*SAMPLE)
    widget.set_layer(src)
    widget.set_scale(2.0)
    assert widget.output_pixel_size == pytest.approx(0.05)
    assert widget.form.pixel.native.suffix().strip() == "m"
    widget.set_output_pixel_size(0.025)
    assert widget.scale == pytest.approx(4.0)
    src.name = "scene"
    assert "scene" in [widget.form.layer.native.itemText(i) for i in range(widget.form.layer.native.count())]
    viewer.layers.remove(plain)
    assert widget.form.layer.choices == (src,)
    assert [widget.form.layer.native.itemText(i) for i in range(widget.form.layer.native.count())] == ["scene"]
    roi = viewer.add_shapes(name="roi")
    assert widget.form.shapes.value is roi
    assert widget.settings().layer is src and widget.settings().scale == pytest.approx(4.0)
    # another tool can add its controls as a section of the dock widget
    from qtpy.QtWidgets import QLabel

    section = widget.add_section("Live lens", QLabel("lens controls"))
    assert section.isExpanded() and section.parent() is widget


def test_compare_grid_and_toggle(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    rng = np.random.default_rng(1)
    src = viewer.add_image(rng.random((40, 48), dtype=np.float32) * 1000, name="band", scale=(2.0, 2.0),
                           translate=(100.0, -50.0), colormap="viridis")
    other = viewer.add_points([[0, 0]], name="pts")
    widget.set_compare(True)  # nothing to compare yet
    assert not widget.comparing and "Run LDCSR first" in _errors(notes)[-1]
    notes.clear()
    widget.set_scale(2.5)
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    out = widget.last_result
    assert out.name == "band ×2.50 (LDCSR fast)" and out.colormap.name == "viridis"
    assert out.data.dtype == np.float32 and out.data.shape == (100, 120)
    assert np.isfinite(out.data).all() and 300 < float(np.median(out.data)) < 700  # same units as the source
    np.testing.assert_allclose(_bounds(out), _bounds(src), atol=1e-6)
    cam = camera(viewer)
    center0, zoom0 = cam.center, cam.zoom
    qtbot.mouseClick(widget.compare_button, Qt.MouseButton.LeftButton)
    assert widget.comparing and grid(viewer).enabled and tuple(grid(viewer).shape) == (1, 3)
    bic = viewer.layers["band ×2.50 (bicubic)"]
    assert {lyr.name for lyr in viewer.layers if lyr.visible} == {src.name, bic.name, out.name}
    np.testing.assert_allclose(_bounds(bic), _bounds(src), atol=1e-6)
    cells = [grid_position(viewer, viewer.layers.index(lyr)) for lyr in (src, bic, out)]
    assert cells == [(0, 0), (0, 1), (0, 2)]  # source | bicubic | LDCSR, one shared camera
    np.testing.assert_allclose(cam.center[-2:], _bounds(out).mean(axis=0))  # every cell shows the result's area
    qtbot.mouseClick(widget.compare_button, Qt.MouseButton.LeftButton)
    assert not widget.comparing and not grid(viewer).enabled
    assert cam.center == center0 and cam.zoom == zoom0  # camera restored
    assert other.visible and viewer.layers.index(other) == 1
    widget.toggle_result()
    assert not out.visible and src.visible
    qtbot.mouseClick(widget.blink_button, Qt.MouseButton.LeftButton)
    assert out.visible
    widget.set_result_opacity(40)
    assert out.opacity == pytest.approx(0.4)
    assert not _errors(notes)


def test_main_job_docks_widget_with_sample(make_napari_viewer, qtbot, tiny_model, notes, tmp_path, bicubic_engine):
    """What `make run` (python -m napari_ldcsr) sets up, on a test viewer; napari hands the
    widget a public-only proxy of the viewer, so this also runs a job through that proxy."""
    from napari_ldcsr.__main__ import setup_viewer
    from napari_ldcsr.run._job import ModelCache
    from napari_ldcsr._widget import LdcsrWidget

    viewer = make_napari_viewer()
    widget = setup_viewer(viewer)
    assert isinstance(widget, LdcsrWidget)
    (src,) = viewer.layers
    assert src.name == "NEON OSBS_029" and widget.layer == src
    assert widget.output_pixel_size == pytest.approx(0.05)
    widget.models = ModelCache(lambda source: tiny_model)
    widget.set_mode("fast")
    widget.set_scale(1.5)
    widget.tile = 128
    assert widget.run()
    _wait_done(qtbot, widget)
    assert not _errors(notes)
    out = viewer.layers[-1]
    assert out.name == "NEON OSBS_029 ×1.50 (LDCSR fast)" and out.data.shape == (600, 600, 3)
    np.testing.assert_allclose(_bounds(out), _bounds(src), atol=1e-6)
    widget.set_compare(True)
    assert grid(viewer).enabled and sum(lyr.visible for lyr in viewer.layers) == 3
    widget.set_compare(False)
    assert not grid(viewer).enabled and [lyr.name for lyr in viewer.layers][0] == src.name
    # the writer contribution saves the result as a GeoTIFF through napari's save API
    path = str(tmp_path / "sr.tif")
    viewer.layers.selection = {out}
    assert viewer.layers.save(path, selected=True, plugin="napari-ldcsr") == [path]
    (back,) = viewer.open(path, plugin="napari-ldcsr")
    np.testing.assert_array_equal(back.data, out.data)
    np.testing.assert_allclose(_bounds(back), _bounds(src), atol=1e-6)
    assert back.metadata["pixel_size"] == pytest.approx((0.1 / 1.5, 0.1 / 1.5))


@pytest.mark.viewer_hidden
def test_nan_pixels_stay_nan_as_on_the_cli(ldcsr, qtbot, notes):
    """NaN is invalid data (masked, filled for the model, restored), not the image minimum."""
    viewer, widget = ldcsr
    rng = np.random.default_rng(5)
    data = (rng.random((24, 28), dtype=np.float32) * 50 + 100).astype(np.float32)
    data[4:10, 6:12] = np.nan
    src = viewer.add_image(data, name="temp")
    widget.set_scale(2.0)
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    out = widget.last_result.data
    assert out.shape == (48, 56) and out.dtype == np.float32
    nan = np.isnan(out)
    np.testing.assert_array_equal(nan, np.repeat(np.repeat(np.isnan(data), 2, 0), 2, 1))
    assert 80 < float(np.nanmedian(out)) < 170  # no NaN-as-minimum pulling values down
    assert not _errors(notes)


@pytest.mark.viewer_hidden
def test_result_names_say_mode_and_seed(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(6).integers(0, 255, (24, 20, 3), dtype=np.uint8), name="small",
                           rgb=True)
    widget.set_bicubic(True)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    fast = widget.last_result
    widget.set_mode("diffusion")
    widget.set_seed(7)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    diffusion = widget.last_result
    assert fast.name == "small ×2.00 (LDCSR fast)"
    assert diffusion.name == "small ×2.00 (LDCSR diffusion, seed 7)"
    assert widget.last.bicubic.name.startswith("small ×2.00 (bicubic)")  # the baseline has no mode or seed
    assert not _errors(notes)
