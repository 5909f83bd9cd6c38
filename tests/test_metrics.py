"""The protocol's metrics against independent computations from their definitions."""

import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from ldcsr_core.training.metrics import hf_energy, psnr, ssim, ssim_map


def _wang_ssim_map(a, b):
    """Wang et al. 2004 (ssim_index.m): 11×11 Gaussian window σ 1.5 normalised to sum 1, 'valid'
    filtering per channel, C1 = (0.01·255)², C2 = (0.03·255)², biased (window-weighted) moments."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    x = np.arange(11) - 5
    g = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    maps = []
    for c in range(a.shape[2]):
        pa, pb = sliding_window_view(a[..., c], (11, 11)), sliding_window_view(b[..., c], (11, 11))
        mean = lambda p: (p * w).sum(axis=(-2, -1))  # noqa: E731
        ma, mb = mean(pa), mean(pb)
        va, vb, cov = mean(pa * pa) - ma ** 2, mean(pb * pb) - mb ** 2, mean(pa * pb) - ma * mb
        maps.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return np.stack(maps, axis=-1)


def _pairs():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:37, :53]
    base = (127 + 90 * np.sin(xx / 3.0) * np.cos(yy / 5.0))[..., None] + rng.normal(0, 8, (37, 53, 3))
    a = np.clip(base, 0, 255).astype(np.uint8)
    b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    yield a, b
    yield a, a[:, ::-1].copy()
    yield np.full((12, 11, 3), 7, np.uint8), np.full((12, 11, 3), 9, np.uint8)  # constant, smallest size
    yield a, a.copy()


@pytest.mark.parametrize("k", range(4))
def test_psnr_and_ssim_match_their_definitions(k):
    a, b = list(_pairs())[k]
    d = a.astype(np.float64) - b.astype(np.float64)
    m = float(np.mean(d * d))
    assert psnr(a, b) == (math.inf if m == 0 else pytest.approx(10 * math.log10(255 ** 2 / m), abs=1e-9))
    ref = _wang_ssim_map(a, b)
    got = ssim_map(a, b)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
    assert ssim(a, b) == pytest.approx(float(ref.mean()), abs=1e-12)
    # the same values as floats on the 0..255 range give the same figures
    assert psnr(a.astype(np.float32), b.astype(np.float32)) == psnr(a, b)
    # and the engine's [0, 1] images give them with data_range=1
    assert psnr(a / 255.0, b / 255.0, data_range=1.0) == pytest.approx(psnr(a, b), abs=1e-9)


def _hf_energy_by_definition(img, lr_hw):
    """Power of the Hann-windowed, mean-removed DFT summed over the bins with |f_y| > h/(2H) or
    |f_x| > w/(2W), the frequencies compared as exact fractions (|f| = min(k, n-k)/n)."""
    a = img.astype(np.float64)[..., None] if img.ndim == 2 else img.astype(np.float64)
    H, W = a.shape[:2]
    a = a - a.mean(axis=(0, 1), keepdims=True)
    win = np.outer(np.hanning(H), np.hanning(W))[..., None]
    p = (np.abs(np.fft.fft2(a * win, axes=(0, 1))) ** 2).sum(axis=2)
    above_y = [Fraction(min(k, H - k), H) > Fraction(lr_hw[0], 2 * H) for k in range(H)]
    above_x = [Fraction(min(k, W - k), W) > Fraction(lr_hw[1], 2 * W) for k in range(W)]
    return float(sum(p[i, j] for i in range(H) for j in range(W) if above_y[i] or above_x[j]))


@pytest.mark.parametrize("hw,scale", [((117, 125), 2), ((117, 125), 2.5), ((117, 117), 8), ((128, 100), 4),
                                      ((121, 128), 2.5), ((400, 400), 4)])
def test_hf_energy_counts_exactly_the_bins_above_the_lr_nyquist_frequency(hw, scale):
    # 117 px at ×2 (58 px) or ×2.5 (46 px), 117 px at ×8 (14 px): the LR Nyquist frequency is a DFT
    # bin; a floating-point comparison used to count it (+1 % HF energy on noise), 400 px did not.
    rng = np.random.default_rng(2)
    img = rng.normal(128, 40, hw + (3,))
    lr_hw = (int(hw[0] / scale), int(hw[1] / scale))
    assert hf_energy(img, lr_hw) == pytest.approx(_hf_energy_by_definition(img, lr_hw), rel=1e-12)

