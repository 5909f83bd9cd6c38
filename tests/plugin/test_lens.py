"""The live lens in a real napari viewer (tiny random-weight model)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import ldcsr_core
from ldcsr_core.rules import DEFAULT_TILE_OUT
from napari_ldcsr.lens._lens import LiveLens
from napari_ldcsr.lens._lens_cache import global_out_shape


class CountingModel:
    """Wraps an engine model and counts (and optionally slows) its tile calls."""

    def __init__(self, model, delay: float = 0.0):
        self._model, self.delay, self.calls = model, delay, 0
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._model, name)

    def run_window(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self._model.run_window(*args, **kwargs)


def _upscale_as_lens(model, image, out_shape, **kw):
    """``upscale`` with its own (default) plan for ``model`` capped at ``DEFAULT_TILE_OUT``-px
    windows, as the official weights are: the plan the live lens uses for every model."""
    saved = model.tile_max
    model.tile_max = DEFAULT_TILE_OUT
    try:
        return ldcsr_core.upscale(image, out_shape=out_shape, model=model, **kw)
    finally:
        model.tile_max = saved

def _whole_as_lens(model, data, rgb, out_shape, run=None, **kw):
    """The whole layer as the lens makes it: the layer through its stretch (a Run's: ``LayerPixels``),
    ``run`` (default: ``upscale`` on the lens's fast plan, :func:`_upscale_as_lens`), back to the
    layer's units with what lies beyond the stretch added back."""
    from napari_ldcsr.lens._lens_cache import LayerPixels

    px = LayerPixels(data, rgb)
    unit = (run or _upscale_as_lens)(model, px.read(0, 0, *px.shape), out_shape, **kw)
    _, add = px.under(0, 0, *out_shape, out_shape)
    return px.display(unit, add)


def small_viewer(make_napari_viewer, qtbot, size=(520, 400)):
    """A shown viewer with a small canvas (fewer tiles per view keeps the tests fast)."""
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(*size)
    qtbot.wait(100)
    return viewer


def _scene(h=200, w=200, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(yy / 7.0), np.cos(xx / 5.0), np.sin((yy + xx) / 11.0)], -1)
    img = (base * 90 + 128 + rng.normal(0, 12, (h, w, 3))).clip(0, 255)
    return img.astype(np.uint8)


def _look(viewer, layer, data_center, ratio):
    """Point the camera at data pixel ``data_center`` with ``ratio`` screen px per layer pixel."""
    viewer.camera.center = tuple(layer.data_to_world(data_center))
    viewer.camera.zoom = ratio / float(layer.scale[-1])


def _lens_setup(make_napari_viewer, qtbot, tiny_model, side):
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(side, side), rgb=True, name="scene", scale=(0.5, 0.5), translate=(10.0, 20.0))
    model = CountingModel(tiny_model)
    lens = LiveLens(viewer, model_provider=lambda source: model, debounce_ms=30)
    lens.set_layer(src)
    qtbot.wait(50)
    yield viewer, src, lens, model
    lens.close()
    qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)


@pytest.fixture
def lens_setup(make_napari_viewer, qtbot, tiny_model):
    yield from _lens_setup(make_napari_viewer, qtbot, tiny_model, 200)


@pytest.fixture
def whole_lens_setup(make_napari_viewer, qtbot, tiny_model):
    """:func:`lens_setup` on a 160×160 px scene, for the tests that run the whole layer to compare
    with: at ×4 a view of its middle is still a part of it (some of the grid's tiles, about 80
    output px in from its top and bottom edges), and that run has 36 % fewer pixels than the
    200 px scene's."""
    yield from _lens_setup(make_napari_viewer, qtbot, tiny_model, 160)


def _wait_done(qtbot, lens, after=None, timeout=120_000):
    """Wait until a view (other than ``after``) is complete."""
    qtbot.waitUntil(lambda: lens.view is not None and lens.view is not after
                    and lens.view.composer.complete and not lens.busy, timeout=timeout)


def test_lens_shows_the_whole_layer_run_in_place_tile_by_tile(whole_lens_setup, qtbot, tiny_model):
    viewer, src, lens, model = whole_lens_setup
    shown = []
    lens.tile_shown.connect(shown.append)
    _look(viewer, src, (80, 88), 4.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    view = lens.view
    assert view.step == 4.0
    H, W = global_out_shape(src.data.shape, 4.0)
    win = view.win
    assert 0 < win.h < H and 0 < win.w < W  # only the visible part was computed
    assert model.calls == len(view.composer.keys) < len(view.grid)
    # tiles arrive one by one, in plan order, all of this view
    assert [g for g, _ in shown] == [view.gen] * len(shown)
    assert view.shown == sorted(view.shown) and len(view.shown) == len(set(view.shown)) >= 4
    # pixels: exactly those of a whole-layer upscale at the same scale, mode and seed
    # (the lens's grid is upscale's own plan for a model whose largest window is 256 px)
    whole = _whole_as_lens(tiny_model, src.data, True, (H, W), mode="fast")
    live = lens.live_layer
    np.testing.assert_array_equal(live.data[..., :3], whole[win.slices])
    assert (live.data[..., 3] == 255).all()
    # placement: the live window's pixel edges land where the source's do (1e-6)
    h, w = src.data.shape[:2]
    for r, c in ((-0.5, -0.5), (win.h - 0.5, win.w - 0.5), (-0.5, win.w - 0.5)):
        src_pt = ((win.y0 + r + 0.5) * h / H - 0.5, (win.x0 + c + 0.5) * w / W - 0.5)
        np.testing.assert_allclose(live.data_to_world((r, c)), src.data_to_world(src_pt), atol=1e-6)


def test_on_a_card_the_lens_batches_its_windows(lens_setup, qtbot, tiny_model, monkeypatch):
    """On a card (simulated: batches of 4) the view's windows of one geometry go through the model
    together: fewer model calls, every cell still shown, the pixels of a whole-layer run."""
    from ldcsr_core import tiling

    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 4)
    viewer, src, lens, model = lens_setup
    _look(viewer, src, (120, 110), 4.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    view = lens.view
    keys = len(view.composer.keys)
    assert keys >= 4 and model.calls < keys
    assert sorted(view.shown) == sorted(view.grid.tile(*k).index for k in view.composer.keys)
    H, W = global_out_shape(src.data.shape, 4.0)
    whole = _upscale_as_lens(tiny_model, src.data, (H, W), mode="fast")
    np.testing.assert_allclose(lens.live_layer.data[..., :3].astype(float), whole[view.win.slices], atol=1)


def test_lens_plans_with_the_models_overlap(whole_lens_setup, qtbot, tiny_model, monkeypatch):
    """A model whose measured overlap is 0 (the shipped ones) gets butt-joined windows in the
    lens as in ``upscale``; the pixels still equal ``upscale``'s."""
    monkeypatch.setattr(tiny_model, "tile_overlap", 0)
    viewer, src, lens, model = whole_lens_setup
    _look(viewer, src, (80, 88), 4.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    view = lens.view
    assert view.grid.overlap_out == (0, 0)
    H, W = global_out_shape(src.data.shape, 4.0)
    whole = _whole_as_lens(tiny_model, src.data, True, (H, W), mode="fast")
    np.testing.assert_array_equal(lens.live_layer.data[..., :3], whole[view.win.slices])


def test_redraws_are_throttled_but_every_tile_is_shown(lens_setup, qtbot, monkeypatch, bicubic_engine):
    """(The tiles are the bicubic stand-in's: the redraws are tested, not the network.)"""
    viewer, src, lens, model = lens_setup
    monkeypatch.setattr(type(lens), "REDRAW_MS", 60_000)  # only the first and the last tile redraw
    shown = []
    lens.tile_shown.connect(shown.append)
    _look(viewer, src, (120, 110), 4.0)
    lens.set_enabled(True)
    qtbot.waitUntil(lambda: lens.live_layer is not None, timeout=60_000)
    redraws = []
    live = lens.live_layer
    original = live.refresh
    monkeypatch.setattr(live, "refresh", lambda *a, **k: (redraws.append(len(shown)), original(*a, **k))[1])
    _wait_done(qtbot, lens)
    view = lens.view
    assert len(view.composer.keys) >= 4
    assert len(redraws) <= 2 < len(view.composer.keys)  # not one redraw per tile
    assert sorted(view.shown) == view.shown and len(view.shown) == len(shown) >= 4
    # what is on screen is the finished view
    assert (live.data[..., 3] == 255).all()
    np.testing.assert_array_equal(live.data[..., :3], view.values)


def test_diffusion_seed_gives_the_pixels_of_a_full_run(make_napari_viewer, qtbot, tiny_model, monkeypatch):
    """In diffusion mode the lens plans ``upscale``'s own diffusion windows (here 64 px: several
    per view), so a seed shows exactly the picture of a whole-layer run."""
    monkeypatch.setattr(tiny_model, "tile_max", 64)
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(64, 90, seed=2), rgb=True, name="small")
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, mode="diffusion", seed=7, debounce_ms=30)
    lens.set_layer(src)
    _look(viewer, src, (32, 45), 2.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    view = lens.view
    assert view.step == 2.0 and max(view.grid.tile_out) <= 64 and len(view.composer.keys) >= 4
    whole = _whole_as_lens(tiny_model, src.data, True, view.grid.out_shape, mode="diffusion", seed=7,
                           run=lambda m, image, shape, **kw: ldcsr_core.upscale(image, out_shape=shape, model=m, **kw))
    np.testing.assert_array_equal(lens.live_layer.data[..., :3], whole[view.win.slices])
    lens.close()


def test_camera_move_cancels_old_view_within_one_tile(lens_setup, qtbot):
    viewer, src, lens, model = lens_setup
    model.delay = 0.15
    events = []
    lens.tile_shown.connect(lambda e: events.append((time.perf_counter(), e)))
    _look(viewer, src, (30, 30), 4.0)
    lens.set_enabled(True)
    first = lens.view
    qtbot.waitUntil(lambda: len(first.shown) >= 1, timeout=60_000)
    calls_at_move = model.calls
    t_move = time.perf_counter()
    _look(viewer, src, (160, 170), 4.0)  # pan to another part of the layer
    assert not lens.busy  # cancelled at once, before the debounce fires
    qtbot.waitUntil(lambda: lens.view is not first and lens.view is not None, timeout=10_000)
    second = lens.view
    _wait_done(qtbot, lens)
    old_after = [e for t, e in events if t > t_move and e[0] == first.gen]
    assert old_after == []  # no tile of the old view was ever added after the move
    assert len(first.shown) < len(first.composer.keys)  # the old view did not complete
    # the old worker finished at most the tile it was computing
    new_calls = sum(1 for k in second.composer.keys if k not in first.composer.outputs)
    assert model.calls - calls_at_move <= len(second.composer.keys) + 1
    assert model.calls - calls_at_move >= new_calls - 1
    # and the live layer holds the new view only
    assert lens.live_layer.data.shape[:2] == (second.win.h, second.win.w)
    assert (lens.live_layer.data[..., 3] == 255).all()
    # both views' workers gave their retained heap back (glibc thresholds restored)
    from ldcsr_core import heap
    qtbot.waitUntil(lambda: heap._depth == 0, timeout=10_000)


def test_pan_back_is_served_from_the_cache(lens_setup, qtbot, bicubic_engine):
    """(The tiles are the bicubic stand-in's, each engine call one of ``bicubic_engine``: the cache
    is tested, not the network.)"""
    viewer, src, lens, _ = lens_setup
    _look(viewer, src, (170, 170), 4.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    first_pixels = lens.live_layer.data.copy()
    first_win = lens.view.win
    calls = len(bicubic_engine)
    assert calls >= len(lens.view.composer.keys)
    before = lens.view
    _look(viewer, src, (30, 30), 4.0)  # far enough that it shares no tile with the first view
    _wait_done(qtbot, lens, after=before)
    assert len(bicubic_engine) > calls
    calls = len(bicubic_engine)
    t0 = time.perf_counter()
    _look(viewer, src, (170, 170), 4.0)
    lens.refresh()  # no need to wait for the debounce: everything is cached
    elapsed = time.perf_counter() - t0
    assert lens.view.composer.complete and not lens.busy
    assert len(bicubic_engine) == calls  # no engine call
    assert lens.view.win == first_win
    np.testing.assert_array_equal(lens.live_layer.data, first_pixels)
    assert lens.cache.hits >= len(lens.view.composer.keys)
    assert elapsed < 2.0
    # toggling off and on is served from the cache as well
    lens.set_enabled(False)
    assert lens.live_layer is None
    lens.set_enabled(True)
    assert lens.view.composer.complete and len(bicubic_engine) == calls


def test_zoom_out_below_1x_does_nothing_and_keep_adds_a_result(lens_setup, qtbot, bicubic_engine):
    """(The tiles are the bicubic stand-in's, each engine call one of ``bicubic_engine``: the kept
    layer and the zoom-out are tested, not the network.)"""
    viewer, src, lens, _ = lens_setup
    _look(viewer, src, (100, 80), 2.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    kept = lens.keep()
    assert kept is not None and kept is not lens.live_layer
    assert kept.name == "scene ×2 (LDCSR fast, kept)"
    md = kept.metadata["ldcsr"]
    assert md["via"] == "live lens" and md["scale"] == 2.0 and md["mode"] == "fast"
    np.testing.assert_array_equal(kept.data, lens.live_layer.data[..., :3])
    np.testing.assert_allclose(kept.data_to_world((0, 0)), lens.live_layer.data_to_world((0, 0)), atol=1e-9)
    assert lens.live_layer.name == "scene (live LDCSR)"
    src.name = "band 4"  # the live layer follows (it kept 'scene (live LDCSR)' over 'band 4')
    assert lens.live_layer.name == "band 4 (live LDCSR)" and kept.name == "scene ×2 (LDCSR fast, kept)"
    calls = len(bicubic_engine)
    _look(viewer, src, (100, 80), 1.0)
    lens.refresh()
    assert len(bicubic_engine) == calls and not lens.live_layer.visible


def test_live_and_kept_layers_keep_the_sources_units(make_napari_viewer, qtbot, tiny_model, notes, bicubic_engine):
    """A layer in metres: the live layer and a kept view are in metres too (else napari warns
    'Inconsistent units across layers' and drops the units of every layer). (The tiles are the
    bicubic stand-in's: the layers' units are tested, not the network.)"""
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(64, 64), rgb=True, name="scene", scale=(0.5, 0.5), units=("m", "m"),
                           axis_labels=("north", "east"))
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    _look(viewer, src, (32, 32), 2.0)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    kept = lens.keep()
    for layer in (lens.live_layer, kept):
        assert tuple(str(u) for u in layer.units) == ("meter", "meter")
        assert tuple(layer.axis_labels) == ("north", "east")
    assert not [t for sev, t in notes if sev in ("warning", "error")]
    lens.close()
    qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)


def test_unsupported_layers_only_notify(make_napari_viewer, notes, tiny_model):
    viewer = make_napari_viewer(show=True)
    labels = viewer.add_labels(np.zeros((50, 50), np.int32))
    stack = viewer.add_image(np.zeros((4, 50, 50), np.float32))
    mask = viewer.add_image(np.zeros((50, 50), bool), name="mask")
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model)
    n_layers = len(viewer.layers)
    assert lens.set_layer(labels) is False
    assert lens.set_layer(stack) is False
    assert lens.set_layer(mask) is False  # as the Run button: a mask would come out all False
    assert lens.set_enabled(True) is False
    assert len(viewer.layers) == n_layers and lens.live_layer is None
    texts = [t for _, t in notes]
    assert any("Labels" in t for t in texts) and any("is a stack of 4 grey pictures of 50×50 px" in t for t in texts)
    assert any("'mask' is a boolean (mask) layer" in t for t in texts)


def test_source_deleted_while_working(lens_setup, qtbot, notes, monkeypatch):
    from tests.plugin.lens_wait import quiet, record_workers

    viewer, src, lens, model = lens_setup
    model.delay = 0.1
    started = record_workers(monkeypatch)
    _look(viewer, src, (100, 80), 4.0)
    lens.set_enabled(True)
    qtbot.waitUntil(lambda: model.calls >= 1, timeout=30_000)
    viewer.layers.remove(src)
    qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)
    # every worker finished: a last yielded tile has arrived (before its worker's finished), dropped quietly
    qtbot.waitUntil(lambda: started and quiet(lens, started), timeout=30_000)
    assert lens.live_layer is None and not lens.enabled
    assert [l for l in viewer.layers if "live" in l.name] == []
    assert not [t for sev, t in notes if sev == "error"]


def _lens_on(viewer, qtbot, src, model, center, ratio):
    """A lens on ``src`` showing a complete view at ``center`` (data px), ``ratio`` screen px per px."""
    lens = LiveLens(viewer, model_provider=lambda s: model, debounce_ms=30)
    lens.set_layer(src)
    _look(viewer, src, center, ratio)
    lens.set_enabled(True)
    _wait_done(qtbot, lens)
    return lens


def test_grey_16bit_layer_keeps_its_dtype_and_one_stretch(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    """(The tiles are the bicubic stand-in's, in the lens and in the whole-layer run alike: the
    layer's dtype and stretch are tested, not the network.)"""
    viewer = small_viewer(make_napari_viewer, qtbot)
    grey = (_scene(96, 96)[..., 1].astype(np.uint16) * 40 + 500).astype(np.uint16)
    src = viewer.add_image(grey, name="grey16", colormap="viridis")
    lens = _lens_on(viewer, qtbot, src, tiny_model, (60, 50), 2.0)
    view = lens.view
    live = lens.live_layer.data
    assert live.dtype == np.float32 and live.shape[-1] == 4 and (live[..., 3] == 1).all()
    kept = lens.keep()
    assert kept.data.dtype == np.uint16 and kept.data.ndim == 2 and kept.colormap.name == "viridis"
    whole = _whole_as_lens(tiny_model, grey, False, view.grid.out_shape, mode="fast")  # the layer's one stretch
    np.testing.assert_array_equal(kept.data, whole[view.win.slices])
    lens.close()


@pytest.mark.parametrize("dtype, offset", [(np.int32, 2_000_000_000), (np.float64, 1e8)])
def test_a_layer_far_from_zero_keeps_its_levels_under_the_lens(make_napari_viewer, qtbot, tiny_model,
                                                                bicubic_engine, dtype, offset):
    """int32 near 2e9 and float64 near 1e8 go through the engine's ``Stretch`` (offset in float64):
    the kept view has the layer's dtype and levels, and the live layer's colours too. Before, a
    float32 cast gave them steps of 128 (int32) or 8 (float64) there: the view of a band of ~230
    levels had 3 (int32) or ~30 (float64) of them, and a float64 view was float32 values. (The tiles
    are the bicubic stand-in's, in the lens and in the whole-layer run alike: the levels are tested,
    not the network.)"""
    viewer = small_viewer(make_napari_viewer, qtbot)
    grey = _scene(48, 48)[..., 1].astype(dtype) + dtype(offset)
    src = viewer.add_image(grey, name="far", colormap="gray")
    lens = _lens_on(viewer, qtbot, src, tiny_model, (24, 24), 4.0)
    view, live = lens.view, lens.live_layer.data
    kept = lens.keep()
    assert kept.data.dtype == dtype
    whole = _whole_as_lens(tiny_model, grey, False, view.grid.out_shape, mode="fast")
    np.testing.assert_array_equal(kept.data, whole[view.win.slices])
    assert len(np.unique(kept.data)) > 150 and len(np.unique(live[..., 0])) > 150
    lens.close()


def test_a_value_beyond_the_overviews_stretch_is_added_back(make_napari_viewer, qtbot, tiny_model):
    """A multiscale layer's stretch is fitted on its coarsest level; what the base level has beyond
    it is added back (the engine's ``Stretch.excess``, nearest neighbour), as a Run adds back what
    its stretch clipped. Before, a 2×2 px ship (3000) on water (300 ± 5) that the overview missed
    was clipped to the overview's top (312) in the live and the kept view: gone."""
    viewer = small_viewer(make_napari_viewer, qtbot)
    base = (300 + np.random.default_rng(0).normal(0, 5, (64, 64))).astype(np.uint16)
    base[29:31, 29:31] = 3000
    coarse = base[::4, ::4].copy()
    assert coarse.max() < 400
    src = viewer.add_image([base, base[::2, ::2], coarse], multiscale=True, name="sea")
    lens = _lens_on(viewer, qtbot, src, tiny_model, (30, 30), 4.0)
    win, live = lens.view.win, lens.live_layer.data
    kept = lens.keep().data
    rows = ((np.arange(win.y0, win.y0 + win.h) + 0.5) / 4).astype(int)
    cols = ((np.arange(win.x0, win.x0 + win.w) + 0.5) / 4).astype(int)
    ship = (base == 3000)[rows][:, cols]
    assert ship.sum() == 64
    lo, hi = int(coarse.min()), int(coarse.max())
    assert (kept[ship] >= 3000 - (hi - lo)).all() and (kept[ship] <= 3000).all()  # the model's top + the excess
    assert kept[~ship].max() <= base[base < 3000].max()  # the water's own values beyond the overview's too
    assert (live[..., 0][ship] == 1).all()  # shown as bright as the source shows it
    lens.close()


def test_rgb_8bit_live_view_is_shown_with_the_sources_contrast_and_gamma(make_napari_viewer, qtbot, tiny_model,
                                                                          bicubic_engine):
    """(The tiles are the bicubic stand-in's: the display is tested, not the network.)"""
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(96, 96), rgb=True, name="dim", contrast_limits=(0, 120), gamma=0.7)
    lens = _lens_on(viewer, qtbot, src, tiny_model, (48, 48), 3.0)
    live = lens.live_layer
    assert live.data.dtype == np.uint8  # the model's values as they are, displayed like the source
    np.testing.assert_allclose(live.contrast_limits, (0, 120))
    assert live.gamma == pytest.approx(0.7)
    src.contrast_limits, src.gamma = (10, 200), 1.3  # the user adjusts the source: the lens follows
    np.testing.assert_allclose(live.contrast_limits, (10, 200))
    assert live.gamma == pytest.approx(1.3)
    kept = lens.keep()
    np.testing.assert_allclose(kept.contrast_limits, live.contrast_limits)
    lens.close()


def test_grey_live_view_follows_the_sources_contrast(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    """(The tiles are the bicubic stand-in's: the display is tested, not the network.)"""
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(96, 96)[..., 0].astype(np.float32), name="grey", colormap="gray")
    lens = _lens_on(viewer, qtbot, src, tiny_model, (48, 48), 3.0)
    live, values = lens.live_layer, lens.view.values
    lo, hi = np.percentile(values, [20, 80])
    src.contrast_limits = (float(lo), float(hi))
    shown = live.data[..., 0]  # display colours, recomputed with the new limits
    np.testing.assert_allclose(shown, np.clip((values - lo) / (hi - lo), 0, 1), atol=1e-5)
    assert (live.data[..., 3] == 1).all()
    lens.close()


def test_a_model_file_replaced_at_its_path_is_not_served_from_the_cache(make_napari_viewer, qtbot, tmp_path):
    """Before: the lens's tiles were cached under the model's path, so after a checkpoint was
    retrained or copied over there, the same view showed the old model's tiles. Now the file's
    identity is part of the cache key, and the model cache loads the new file."""
    import shutil

    from ldcsr_core.config import tiny_test_config
    from napari_ldcsr.run._job import ModelCache

    path = tmp_path / "m.safetensors"
    for seed, name in ((0, "m"), (1, "n")):
        ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(), seed=seed), tmp_path / f"{name}.safetensors",
                              name=name)
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(96, 96), rgb=True, name="scene")
    lens = LiveLens(viewer, model_provider=ModelCache().get, model_source=str(path), debounce_ms=30)
    try:
        lens.set_layer(src)
        _look(viewer, src, (48, 48), 4.0)
        lens.set_enabled(True)
        _wait_done(qtbot, lens)
        first = lens.live_layer.data.copy()
        shutil.copy2(tmp_path / "n.safetensors", path)
        before = lens.view
        lens.refresh()
        _wait_done(qtbot, lens, after=before, timeout=30_000)  # before: the cached view stayed
        assert lens.view.win == before.win
        assert not np.array_equal(lens.live_layer.data, first)
        other = _whole_as_lens(ldcsr_core.load_model(str(path)), src.data, True,
                               global_out_shape(src.data.shape, 4.0), mode="fast")
        np.testing.assert_array_equal(lens.live_layer.data[..., :3], other[lens.view.win.slices])  # the new model's
    finally:
        lens.close()
        qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)
