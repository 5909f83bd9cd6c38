"""Qt-free lens pieces: scale steps, view windows, the global grid, exact composition, the cache."""

from __future__ import annotations

import numpy as np
import pytest

from ldcsr_core.tileplan import plan_tiles
from napari_ldcsr.lens._lens_cache import (
    LayerPixels, LensGrid, OutWindow, TileCache, WindowComposer, global_out_shape, output_window,
    scale_step, window_transform,
)


def test_scale_step_follows_zoom_and_cap():
    assert scale_step(1.0) is None and scale_step(1.2) is None
    assert scale_step(1.4) == 1.5
    assert scale_step(2.2) == 2.0
    assert scale_step(3.6) == 4.0
    assert scale_step(50.0) == 8.0
    assert scale_step(50.0, cap=2.5) == 2.5
    assert scale_step(3.6, cap=3.0) == 3.0
    assert scale_step(float("nan")) is None


def test_output_window_rounds_out_and_clips():
    # data box covering pixels 10..19 (centres) rows and 0..4 cols at x2 on a 100x50 layer
    win = output_window(np.array([[9.0, -3.0], [19.0, 4.0]]), (100, 50), (200, 100))
    assert win == OutWindow(19, 0, 20, 9)  # edges 9.5..19.5 x2, -2.5..4.5 x2 clipped
    assert output_window(np.array([[200.0, 0], [300.0, 10]]), (100, 50), (200, 100)) is None


@pytest.mark.parametrize("in_shape,step", [((100, 70), 2.0), ((333, 517), 3.0), ((64, 90), 8.0), ((41, 300), 1.5),
                                           ((400, 400), 4.0), ((1001, 63), 2.5)])
@pytest.mark.parametrize("kw", [{}, {"window": 256, "overlap_out": 16}], ids=["fixed", "balanced"])
def test_grid_is_the_whole_layer_plan(in_shape, step, kw):
    out = global_out_shape(in_shape, step)
    plan = plan_tiles(in_shape, out, **kw)
    grid = LensGrid(in_shape, out, **kw)
    assert len(grid) == len(plan.tiles)
    ny, nx = grid.shape
    assert [grid.tile(i // nx, i % nx) for i in range(len(grid))] == list(plan.tiles)
    assert grid.overlap_out == plan.overlap_out and grid.tile_out == plan.tile_out


def test_grid_of_a_huge_layer_is_cheap():
    """Only the tiles on screen are planned: a 40000² layer at ×8 (6.25 million tiles) costs ~0.02 s
    of CPU; planning them all (plan_tiles) takes ~7 s. CPU time, not wall: a busy runner is no failure."""
    import time
    t0 = time.process_time()
    grid = LensGrid((40000, 40000), (320000, 320000))
    keys = grid.tiles_for(OutWindow(30000, 30000, 700, 1000))
    assert time.process_time() - t0 < 1.0
    assert 4 <= len(keys) <= 40 and keys == sorted(keys)


def _fake_outputs(grid, keys, rng):
    return {k: rng.random((grid.tile(*k).write_y.size, grid.tile(*k).write_x.size, 3), dtype=np.float32)
            for k in keys}


def test_composer_is_bit_identical_to_row_merger_in_any_arrival_order():
    from ldcsr_core.tileplan import RowMerger

    in_shape, out_shape = (150, 130), (600, 520)
    grid = LensGrid(in_shape, out_shape, window=256, overlap_out=16)  # the lens's default grid
    plan = plan_tiles(in_shape, out_shape, window=256, overlap_out=16)
    rng = np.random.default_rng(0)
    ny, nx = grid.shape
    outs = _fake_outputs(grid, [(i, j) for i in range(ny) for j in range(nx)], rng)
    whole = np.zeros(out_shape + (3,), np.float32)
    merger = RowMerger(plan, lambda y0, rows: whole.__setitem__(slice(y0, y0 + len(rows)), rows))
    for t in plan.tiles:
        merger.aggregate(outs[(t.index // nx, t.index % nx)], t)
    merger.finalize()
    win = OutWindow(170, 90, 300, 333)
    comp = WindowComposer(grid, win)
    got = np.full((win.h, win.w, 3), np.nan, np.float32)
    order = list(comp.keys)
    rng.shuffle(order)
    for k in order:
        for cell, px in comp.add(k, outs[k]):
            got[cell.y0 - win.y0:cell.y0 - win.y0 + cell.h, cell.x0 - win.x0:cell.x0 - win.x0 + cell.w] = px
    assert comp.complete and not comp.missing
    np.testing.assert_array_equal(got, whole[win.slices])


def test_composer_shows_nothing_before_its_tiles():
    grid = LensGrid((150, 130), (600, 520))
    comp = WindowComposer(grid, OutWindow(0, 0, 600, 520))
    first = comp.keys[0]
    cells = comp.add(first, np.zeros((grid.tile(*first).write_y.size, grid.tile(*first).write_x.size, 3), np.float32))
    t = grid.tile(*first)
    for c, _ in cells:  # only the part of tile 0 that no other tile touches is final
        assert c.y0 + c.h <= t.write_y.stop and c.x0 + c.w <= t.write_x.stop
    assert not comp.complete


def test_cache_is_lru_and_bounded():
    cache = TileCache(max_bytes=3 * 400)
    for i in range(3):
        cache.put(i, np.zeros(100, np.float32))
    assert cache.get(0) is not None  # 0 is now the most recent
    cache.put(3, np.zeros(100, np.float32))
    assert 1 not in cache and 0 in cache and 3 in cache
    assert cache.nbytes == 1200 and len(cache) == 3
    cache.set_max_bytes(800)
    assert len(cache) == 2 and 2 not in cache
    cache.put("big", np.zeros(1000, np.float32))  # larger than the bound: not kept
    assert "big" not in cache and cache.nbytes <= 800


def test_layer_pixels_stretch_is_global_and_round_trips():
    data = np.linspace(100, 4100, 64 * 48, dtype=np.float32).reshape(64, 48).astype(np.uint16)
    px = LayerPixels(data, rgb=False)
    win = px.read(10, 5, 8, 9)
    assert win.shape == (8, 9, 3) and win.dtype == np.float32
    lo, hi = np.percentile(data.astype(float), (0.05, 99.95))  # a Run's stretch (ldcsr upscale's)
    assert px.stretch.lo == (lo,) and px.stretch.hi == (hi,)
    back = px.display(win)
    assert back.dtype == np.uint16
    np.testing.assert_allclose(back.astype(int), data[10:18, 5:14].astype(int), atol=1)
    rgb = (np.arange(20 * 20 * 3) % 256).astype(np.uint8).reshape(20, 20, 3)
    p8 = LayerPixels(rgb, rgb=True)
    np.testing.assert_array_equal(p8.display(p8.read(0, 0, 20, 20)), rgb)


def test_window_transform_shifts_the_global_result_transform():
    t = (0.5, 0.0, 1000.0, 0.0, -0.5, 2000.0)
    a, b, c, d, e, f = window_transform(t, (100, 100), (400, 400), OutWindow(40, 80, 10, 10))
    assert (a, e) == (0.125, -0.125) and c == 1000.0 + 80 * 0.125 and f == 2000.0 - 40 * 0.125


@pytest.mark.parametrize("dtype, offset", [(np.int32, 2_000_000_000), (np.float64, 1e8)])
def test_layer_pixels_keep_the_levels_of_a_band_far_from_zero(dtype, offset):
    """The lens maps with the engine's ``Stretch``: a band far from 0 is offset in float64. Before,
    its values were cast to float32 first: int32 near 2e9 (steps of 128 there) reached the model as
    3 of 234 levels, float64 near 1e8 (steps of 8) as 30, and float64 came back as float32."""
    data = (np.arange(234 * 10) % 234).reshape(36, 65).astype(dtype) + dtype(offset)
    px = LayerPixels(data, rgb=False)
    unit = px.read(0, 0, 36, 65)
    assert len(np.unique(unit[..., 0])) == 234
    back = px.display(unit)
    assert back.dtype == dtype
    np.testing.assert_allclose(back, data, rtol=0, atol=1e-4)  # integers: exact (rounded)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_layer_pixels_of_a_64bit_layer_reaching_its_top_do_not_wrap(dtype):
    """White maps back below the type's top, as ``Stretch.from_unit`` clips: before, float rounded
    the top up to 2**63 / 2**64 and the cast wrapped it to the type's minimum (int64 -2**63, uint64 0)."""
    top = np.iinfo(dtype).max
    data = np.array([[top - 5 * 10**15] * 10 + [top] * 10], dtype)  # the percentiles are its ends
    px = LayerPixels(data, rgb=False)
    white = px.display(np.ones((1, 1, 3), np.float32))
    assert white.dtype == dtype and white[0, 0] > top - 10**4
    black = px.display(np.zeros((1, 1, 3), np.float32))
    assert abs(int(black[0, 0]) - int(data[0, 0])) <= 2048  # lo within float64's step there (float32: 3e10)


@pytest.mark.parametrize("value, dtype", [(1234, np.uint16), (0.0, np.float32), (5e-9, np.float32)])
def test_layer_pixels_of_a_constant_layer_map_back_to_its_value(value, dtype):
    """A constant layer's stretch has lo == hi (the engine's rule): whatever the model makes of it,
    it comes back as its value. Before, its span was 1: 0.6 from the model came back as 1235, 0.6,
    and 5e-9 + 0.6."""
    px = LayerPixels(np.full((8, 8), value, dtype), rgb=False)
    back = px.display(np.full((2, 2, 3), 0.6, np.float32))
    assert back.dtype == dtype and (back == dtype(value)).all()
