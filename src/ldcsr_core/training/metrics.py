"""Image-quality metrics of the official test protocol (RGB, uint8, border crop ceil(scale))."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "ssim", "border_crop"]


def border_crop(img: np.ndarray, scale: float) -> np.ndarray:
    b = int(math.ceil(scale))
    return img[b:-b, b:-b] if b > 0 and img.shape[0] > 2 * b and img.shape[1] > 2 * b else img


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (data range 255)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Gaussian-window SSIM (11, σ 1.5) averaged over the RGB array (Wang et al. 2004)."""
    from scipy.ndimage import gaussian_filter
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    f = lambda x: gaussian_filter(x, sigma=(1.5, 1.5, 0), truncate=3.5)  # noqa: E731  (11-px window)
    mu_a, mu_b = f(a), f(b)
    va, vb, cov = f(a * a) - mu_a ** 2, f(b * b) - mu_b ** 2, f(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
    return float(m[5:-5, 5:-5].mean())
