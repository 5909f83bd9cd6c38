"""Tile planning, merging and tiled-vs-untiled equivalence (MONAI-style exact predictors)."""

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.models.resample import AxisWindow, Window2d, resize
from ldcsr_core.tileplan import RowMerger, blend_weights, plan_tiles
from ldcsr_core.latent_noise import LatentNoise
from ldcsr_core.tiling import run_plan
from ldcsr_core.training import metrics


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


psnr = partial(metrics.psnr, data_range=1.0)  # engine images in [0, 1]


@settings(max_examples=60, deadline=None)
@given(h=st.integers(4, 300), w=st.integers(4, 300), s=st.floats(1.05, 8.0), tile=st.one_of(st.none(), st.integers(32, 200)))
def test_plan_covers_output_exactly(h, w, s, tile):
    H, W = round(h * s), round(w * s)
    if H <= h or W <= w:
        return
    plan = plan_tiles((h, w), (H, W), tile)
    cover = np.zeros((H, W), np.int32)
    for t in plan.tiles:
        y0, x0, hh, ww = t.write
        assert y0 % 8 == 0 and x0 % 8 == 0, "windows must start on the latent grid"
        assert 0 <= t.read_y.start < t.read_y.stop <= h and 0 <= t.read_x.start < t.read_x.stop <= w
        # the read window holds every input pixel the output window maps onto
        assert t.read_y.start <= np.floor(y0 * h / H) and t.read_y.stop >= min(h, np.ceil((y0 + hh) * h / H))
        cover[y0:y0 + hh, x0:x0 + ww] += 1
    assert cover.min() >= 1 and cover[-1, -1] >= 1 and cover.shape == (H, W)


@pytest.mark.parametrize("h,w,s,tile", [(37, 53, 2.5, 32), (100, 61, 3.7, 40), (64, 64, 8.0, 33), (200, 150, 1.3, 64)])
def test_merge_reproduces_a_global_field_exactly(h, w, s, tile):
    """A predictor that returns the global output coordinates of its window: blending must give back
    the exact coordinate grid (no drift, no seams, every pixel weighted to 1)."""
    H, W = round(h * s), round(w * s)
    plan = plan_tiles((h, w), (H, W), tile)
    out = np.full((H, W, 3), np.nan, np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    def fake_tiles():
        for t in plan.tiles:
            y0, x0, hh, ww = t.write
            yy, xx = np.meshgrid(np.arange(y0, y0 + hh), np.arange(x0, x0 + ww), indexing="ij")
            yield t, np.stack([yy, xx, yy * 0 + 1], -1).astype(np.float32)

    run_plan(None, plan, None, sink, tiles=fake_tiles())
    yy, xx = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    np.testing.assert_allclose(out[..., 0], yy, rtol=0, atol=1e-3)
    np.testing.assert_allclose(out[..., 1], xx, rtol=0, atol=1e-3)
    np.testing.assert_allclose(out[..., 2], 1.0, atol=1e-5)


def test_rowmerger_emits_rows_in_order_and_holds_only_a_band():
    plan = plan_tiles((200, 40), (500, 100), 32)
    seen, peak = [], [0]

    def sink(y0, rows):
        seen.append((y0, rows.shape[0]))

    m = RowMerger(plan, sink)
    for t in plan.tiles:
        m.aggregate(np.ones(t.write[2:] + (3,), np.float32), t)
        peak[0] = max(peak[0], m.used)
    m.finalize()
    starts = [y for y, _ in seen]
    assert starts == sorted(starts) and starts[0] == 0
    assert sum(n for _, n in seen) == 500
    assert peak[0] <= 2 * plan.tile_out[0], "the merger must not hold the whole output"


@pytest.mark.parametrize("overlap_out", [0, 16])
def test_rowmerger_blends_to_the_weighted_mean(overlap_out):
    """Each output pixel is the blend-weighted mean of the windows covering it, with ramps and
    without (the merger's unweighted path)."""
    plan = plan_tiles((50, 60), (200, 240), window=64, overlap_out=overlap_out)
    rng = np.random.default_rng(0)
    outs = [rng.random(t.write[2:] + (3,)).astype(np.float32) for t in plan.tiles]
    acc = np.zeros((200, 240, 3))
    wsum = np.zeros((200, 240))
    for t, o in zip(plan.tiles, outs):
        wgt = (blend_weights(t.write_y, 200, plan.overlap_out[0])[:, None]
               * blend_weights(t.write_x, 240, plan.overlap_out[1])[None, :])
        acc[t.write_y.start:t.write_y.stop, t.write_x.start:t.write_x.stop] += o * wgt[..., None]
        wsum[t.write_y.start:t.write_y.stop, t.write_x.start:t.write_x.stop] += wgt
    out = np.zeros((200, 240, 3), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    m = RowMerger(plan, sink)
    for t, o in zip(plan.tiles, outs):
        m.aggregate(o, t)
    m.finalize()
    ramps = [blend_weights(t.write_x, 240, plan.overlap_out[1]).min() < 1 for t in plan.tiles]
    assert any(ramps) == (overlap_out > 0) and wsum.max() > 1  # windows share pixels either way
    np.testing.assert_allclose(out, acc / wsum[..., None], rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["bicubic", "bilinear"])
def test_windowed_resize_equals_crop_of_whole_resize(mode):
    torch.manual_seed(0)
    h, w, H, W = 41, 37, 103, 95
    x = torch.randn(1, 4, h, w)
    whole = F.interpolate(x, size=(H, W), mode=mode, align_corners=False)
    # output window [24, 72) x [16, 80), input rows/cols around it
    win = Window2d(AxisWindow(h, H, 5, 26, 24, 48), AxisWindow(w, W, 2, 33, 16, 64))
    part = resize(x[:, :, 5:31, 2:35], win, mode)
    torch.testing.assert_close(part, whole[:, :, 24:72, 16:80], atol=1e-5, rtol=1e-5)


def test_windowed_nearest_to_lr_grid_equals_whole():
    torch.manual_seed(0)
    z = torch.randn(1, 4, 12, 12)  # latent of a 100x100 output, LR 33x33
    whole = F.interpolate(z, size=(33, 33), mode="nearest")
    # output rows [32, 80) <-> LR rows 11..26 <-> latent rows 4..9
    win = Window2d(AxisWindow(33, 100, 11, 16, 32, 48), AxisWindow(33, 100, 0, 33, 0, 100)).coarse(8)
    part = resize(z[:, :, 4:10, :], win, "nearest", inverse=True)
    torch.testing.assert_close(part, whole[:, :, 11:27, :])


def test_latent_noise_is_independent_of_the_window():
    n = LatentNoise(seed=5)
    big = n.window(1, 0, 0, 150, 140)
    torch.testing.assert_close(n.window(1, 37, 70, 40, 60), big[:, :, 37:77, 70:130])
    assert not torch.allclose(n.window(2, 0, 0, 8, 8), big[:, :, :8, :8])
    assert not torch.allclose(LatentNoise(seed=6).window(1, 0, 0, 8, 8), big[:, :, :8, :8])


def test_tiled_matches_untiled(tiny):
    """Fast mode: any tile gives the one-window picture to ≥ 45 dB.  Diffusion mode does not use
    ``tile`` (its picture depends on its windows): the same pixels whatever the tile."""
    rng = np.random.default_rng(1)
    img = rng.random((60, 80, 3)).astype(np.float32)  # tiles of 32 and 57 px: several of each
    for mode in ("fast", "diffusion"):
        ref = ldcsr_core.upscale(img, 2.5, model=tiny, mode=mode, tile=10_000)
        for tile in (32, 57):
            out = ldcsr_core.upscale(img, 2.5, model=tiny, mode=mode, tile=tile)
            assert out.shape == ref.shape == (150, 200, 3)
            if mode == "fast":
                assert psnr(out, ref) > 45.0
            else:
                np.testing.assert_array_equal(out, ref)


def test_picture_does_not_depend_on_the_memory_budget(tiny, monkeypatch):
    """A seed gives the same picture whatever memory the device has (a large card, a small one), in
    both modes: the windows are fixed by the model and the scale (a card's memory goes into batches).
    Fast mode's picture differs slightly under other windows (a caller's budget_mb)."""
    from ldcsr_core import window_sizing

    rng = np.random.default_rng(4)
    img = rng.random((60, 80, 3)).astype(np.float32)
    monkeypatch.setattr(tiny, "tile_max", None)
    small = 0.25 * window_sizing.bytes_per_output_pixel(tiny, 3.0) * 96 ** 2 / 2 ** 20  # ~96-px windows
    budgets = {"small": small, "default": window_sizing.DEFAULT_BUDGET_MB, "card": 70_000.0}
    for mode in ("fast", "diffusion"):
        outs, plans = {}, {}
        for name, mb in budgets.items():
            monkeypatch.setattr(window_sizing, "memory_budget_mb", lambda device, mb=mb: mb)
            plans[name] = window_sizing.plan_for_model(tiny, img.shape[:2], (180, 240), mode=mode)
            outs[name] = ldcsr_core.upscale(img, out_shape=(180, 240), model=tiny, mode=mode, seed=3)
        for name in budgets:
            assert plans[name] == plans["default"]
            np.testing.assert_array_equal(outs[name], outs["default"])
    one = window_sizing.plan_for_model(tiny, img.shape[:2], (180, 240), budget_mb=70_000.0)
    few = window_sizing.plan_for_model(tiny, img.shape[:2], (180, 240), budget_mb=small)
    assert len(one.tiles) == 1 < len(few.tiles)  # fast mode takes a caller's budget (another plan)


def test_untiled_upscale_is_the_public_super_resolve(tiny):
    rng = np.random.default_rng(2)
    img = rng.random((50, 70, 3)).astype(np.float32)
    out = ldcsr_core.upscale(img, out_shape=(125, 175), model=tiny, mode="fast", tile=10_000)
    lr = torch.from_numpy(img).permute(2, 0, 1)[None] * 2 - 1
    ref = tiny.super_resolve(lr, (125, 175), mode="fast").clamp(-1, 1)[0].permute(1, 2, 0).numpy() * 0.5 + 0.5
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_progress_and_cancel(tiny):
    img = np.zeros((64, 64, 3), np.uint8)
    calls = []
    ldcsr_core.upscale(img, 2, model=tiny, mode="fast", tile=32,
                       callback=lambda i: calls.append((i.done, i.total)))
    total = calls[-1][1]
    assert total > 1 and calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == list(range(total + 1))
    ran = []
    with pytest.raises(ldcsr_core.Cancelled):
        ldcsr_core.upscale(img, 2, model=tiny, mode="fast", tile=32,
                           callback=ldcsr_core.polling(lambda: len(ran) >= 2, lambda i: ran.append(i.done)))
    assert max(ran) <= 2, "cancellation must stop within one tile"
