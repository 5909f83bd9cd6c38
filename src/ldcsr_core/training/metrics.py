"""Image-quality metrics of the official test protocol (RGB, uint8, border crop ceil(scale))."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "ssim", "border_crop", "crop_width", "mse", "psnr_from_mse", "ssim_map",
           "hf_ratio", "hf_energy"]


def crop_width(shape, scale: float) -> int:
    """Border (px) that :func:`border_crop` removes from an image of ``shape`` at ``scale``:
    ``ceil(scale)``, or 0 when the image is not larger than twice that."""
    b = int(math.ceil(scale))
    return b if b > 0 and shape[0] > 2 * b and shape[1] > 2 * b else 0


def border_crop(img: np.ndarray, scale: float) -> np.ndarray:
    b = crop_width(img.shape, scale)
    return img[b:-b, b:-b] if b else img


def mse(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error of two images (float64); with ``mask`` (H×W bool) over its pixels only
    (all channels), NaN when it has none."""
    if mask is not None:
        if not mask.any():
            return float("nan")
        a, b = a[mask], b[mask]
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def psnr_from_mse(m: float, data_range: float = 255.0) -> float:
    """PSNR in dB for a mean squared error on values spanning ``data_range`` (uint8: 255); inf for 0."""
    return float("inf") if m == 0 else 10 * math.log10(data_range ** 2 / m)


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """PSNR in dB of two images whose values span ``data_range``: 255 for uint8 (the protocol's),
    1 for the engine's float images in [0, 1]; inf for identical images."""
    return psnr_from_mse(mse(a, b), data_range)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Gaussian-window SSIM (11, σ 1.5) averaged over the RGB array (Wang et al. 2004)."""
    return float(ssim_map(a, b).mean())


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The per-pixel, per-channel SSIM map that :func:`ssim` averages (5-px margin removed)."""
    from scipy.ndimage import gaussian_filter
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    f = lambda x: gaussian_filter(x, sigma=(1.5, 1.5, 0), truncate=3.5)  # noqa: E731  (11-px window)
    mu_a, mu_b = f(a), f(b)
    va, vb, cov = f(a * a) - mu_a ** 2, f(b * b) - mu_b ** 2, f(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
    return m[5:-5, 5:-5]


def hf_energy(img: np.ndarray, lr_hw) -> float:
    """Spectral energy of ``img`` (H×W or H×W×C) above the Nyquist frequency of an LR grid of
    ``lr_hw`` = (h, w) pixels covering the same extent: the power of the Hann-windowed,
    mean-removed 2-D DFT (summed over channels) at frequencies with |f_y| > h/(2H) or |f_x| > w/(2W)
    (cycles per pixel of ``img``)."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        a = a[..., None]
    H, W = a.shape[:2]
    a = a - a.mean(axis=(0, 1), keepdims=True)
    win = np.hanning(H)[:, None, None] * np.hanning(W)[None, :, None]
    p = np.abs(np.fft.fft2(a * win, axes=(0, 1))) ** 2
    # |f| = |k|/n for the DFT index k (|k| <= n/2), so |f_y| > h/(2H) is 2|k_y| > h: compared in
    # integers, the bin exactly at the LR Nyquist frequency (h even) is never counted; in floats
    # (fftfreq's k·(1/n) against 0.5·h/H) rounding put it on either side (e.g. H 117, h 58: counted).
    ky, kx = np.minimum(np.arange(H), H - np.arange(H)), np.minimum(np.arange(W), W - np.arange(W))
    mask = (2 * ky[:, None] > lr_hw[0]) | (2 * kx[None, :] > lr_hw[1])
    return float(p.sum(axis=2)[mask].sum())


def hf_ratio(out: np.ndarray, ref: np.ndarray, lr_hw) -> float:
    """HF ratio: ``hf_energy(out) / hf_energy(ref)`` above the LR Nyquist frequency. Bicubic
    upsampling and regression-to-the-mean models are far below 1; a sharp model is near 1
    (above 1: more high-frequency energy than the reference, e.g. noise or ringing)."""
    e_ref = hf_energy(ref, lr_hw)
    return float("nan") if e_ref == 0 else hf_energy(out, lr_hw) / e_ref
