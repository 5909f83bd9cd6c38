"""The self-check's SSIM mask (``quality_scoring._all_valid``): a separable running minimum, the
same pixels as ``binary_erosion`` by the full 11×11 square with ``border_value=0`` it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from ldcsr_core.quality_scoring import _all_valid, _score_masks, score_counts


def _masks():
    rng = np.random.default_rng(7)
    for h, w in ((11, 11), (12, 31), (37, 53), (64, 64), (101, 7), (5, 40), (1, 1)):
        yield np.ones((h, w), bool)  # only the border: outside counts as nodata
        yield np.zeros((h, w), bool)
        yield rng.random((h, w)) > 0.02  # scattered holes
        stripes = np.ones((h, w), bool)
        stripes[:, ::9] = False  # a column every 9 px: windows of 11 always hit one
        yield stripes
        rows = np.ones((h, w), bool)
        rows[::13] = False  # a row every 13 px: some windows fit between
        yield rows
        hole = np.ones((h, w), bool)
        hole[h // 3:h // 2 + 1, w // 4:w // 2 + 1] = False
        yield hole
        framed = np.zeros((h, w), bool)
        framed[3:-3, 2:-4] = True  # nodata borders of unequal widths
        yield framed


@pytest.mark.parametrize("side", [1, 3, 11])
def test_all_valid_is_the_erosion_by_a_full_square(side):
    for mask in _masks():
        want = binary_erosion(mask, np.ones((side, side), bool), border_value=0)
        got = _all_valid(mask, side)
        assert got.dtype == bool and got.shape == mask.shape
        assert np.array_equal(got, want), (mask.shape, side)
    view = np.ones((40, 50), bool)[::2, 3:]  # a strided view, as border_crop's slices give
    assert np.array_equal(_all_valid(view, 11), binary_erosion(view, np.ones((11, 11), bool), border_value=0))


@pytest.mark.parametrize("scale", [2.0, 2.5, 4.0])
def test_the_ssim_mask_keeps_windows_whose_whole_square_is_data(scale):
    rng = np.random.default_rng(1)
    valid = np.ones((97, 130), bool)
    valid[rng.random(valid.shape) < 0.003] = False
    valid[:, :17] = False
    ref, ssim, _ = _score_masks(valid, scale, (int(97 / scale), int(130 / scale)))
    whole = binary_erosion(ref, np.ones((11, 11), bool), border_value=0)[5:-5, 5:-5]
    assert np.array_equal(ssim, np.repeat(whole[..., None], 3, axis=-1))
    assert 0 < score_counts(valid.shape, valid, scale)[1] == whole.sum()


def _reached_one_by_one(valid: np.ndarray, lr_hw) -> np.ndarray:
    """The LR pixels that some nodata pixel weighs in: each nodata pixel degraded alone (float32,
    the self-check's degradation), the union of the pixels each reaches; nothing to cancel."""
    from ldcsr_core.training.data import degrade

    reached = np.zeros(lr_hw, bool)
    for y, x in zip(*np.nonzero(~valid)):
        impulse = np.zeros(valid.shape, np.float32)
        impulse[y, x] = 1.0
        reached |= degrade(impulse, lr_hw) != 0
    return reached


@pytest.mark.parametrize("scale", [2.0, 3.0, 3.7, 8.0])
def test_an_lr_pixel_counts_where_no_nodata_pixel_weighs_in_its_degradation(scale):
    """The LR-consistency compares the restored image degraded again (PIL's antialiased bicubic,
    about ±2·scale px) with the LR copy: an LR pixel whose box footprint alone was data counted the
    fill under nodata beside it through bicubic's wider kernel. Its mask is now the LR pixels that
    no nodata pixel reaches, one by one, and the fill's values never move them in degrade's own
    8-bit arithmetic, where they moved pixels of the old mask (box footprint)."""
    from PIL import Image

    from ldcsr_core.training.data import degrade

    rng = np.random.default_rng(3)
    h, w = 83, 97
    lr_hw = (int(h / scale), int(w / scale))
    valid = np.ones((h, w), bool)
    valid[:, 30:33] = False  # a stripe, a hole, scattered pixels
    valid[50:58, 60:75] = False
    valid[rng.random((h, w)) < 0.002] = False
    kept = _score_masks(valid, scale, lr_hw)[2]
    assert kept.shape == lr_hw and 0 < kept.sum() < kept.size
    assert np.array_equal(kept, ~_reached_one_by_one(valid, lr_hw))
    box = np.asarray(Image.fromarray(valid.astype(np.float32)).resize(lr_hw[::-1], Image.BOX)) > 1 - 1e-6
    assert not (kept & ~box).any() and (box & ~kept).sum() > kept.size // 20  # main's mask: wider
    hr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    lr = degrade(hr, lr_hw).astype(int)
    moved = np.zeros(lr_hw, bool)
    for _ in range(4):  # other fills under nodata
        other = hr.copy()
        other[~valid] = rng.integers(0, 256, (int((~valid).sum()), 3), dtype=np.uint8)
        moved |= (degrade(other, lr_hw) != lr).any(axis=-1)
    assert not (moved & kept).any() and (moved & box).any()
    assert score_counts(valid.shape, valid, scale)[2] == kept.sum()
    assert score_counts(valid.shape, None, scale)[2] == kept.size  # no nodata: every LR pixel



def _reach_one_by_one(n: int, m: int) -> np.ndarray:
    """Which of n scene pixels each of m LR pixels holds along one axis: n impulses, one a row."""
    from ldcsr_core.training.data import degrade

    return (degrade(np.eye(n, dtype=np.float32), (n, m)) != 0).T


@pytest.mark.parametrize("n", [1, 2, 5, 12, 40, 97, 300])
def test_the_reach_of_an_axis_is_each_pixel_degraded_alone(n):
    from ldcsr_core.quality_scoring import _reach

    for m in sorted({1, max(1, n // 8), max(1, n // 3), max(1, int(n / 3.7)), max(1, n // 2), max(1, n - 1)}):
        got = _reach.__wrapped__(n, m)
        assert got.shape == (m, n) and np.array_equal(got.toarray() != 0, _reach_one_by_one(n, m)), (n, m)


def test_a_large_windows_lr_mask_costs_little_time_and_memory(monkeypatch):
    """A 3000×3000 window at ×3 (an explicit --window, adapt's held-back strip of a large scene):
    the reach of an axis degrades a few rows of impulses, not one row per scene pixel (8000 px: 0.01
    for 1.6 s), and the mask is made a strip of scene rows at a time, its memory below a float32
    copy of the window's. Before: 3000 rows of 3000 px degraded per axis size, and two float32
    copies of the window (8000² ×4: 9.5 s, 627 MiB; now 0.6 s, 87 MiB)."""
    import tracemalloc

    import ldcsr_core.training.data as data
    from ldcsr_core.quality_scoring import _lr_clear, _reach

    degraded, degrade = [], data.degrade
    monkeypatch.setattr(data, "degrade", lambda img, hw: degraded.append(img.size) or degrade(img, hw))
    n = 3000
    valid = np.ones((n, n), bool)
    valid[:, 1000:1003] = False
    valid[2000:2002] = False
    _reach.cache_clear()
    tracemalloc.start()
    try:
        clear = _lr_clear(valid, (1000, 1000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        _reach.cache_clear()
    assert 0 < clear.sum() < clear.size and not clear[:, 333:335].any() and not clear[666:668].any()
    assert sum(degraded) < 100 * n, sum(degraded)
    assert peak < 4 * valid.size, peak
