"""Training losses: pixel, gradient and spectral losses, the pair losses of two independent
diffusion chains, the deployable fast path they are applied to, and the small conditional
PatchGAN of the adversarial loss."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..models.ldcsr import LDCSR
from ..models.resample import Window2d

__all__ = ["grad_l1", "fft_l1", "hf_band_l1", "energy_score_l1", "spread_calibration_l1", "fast_path",
           "PatchDiscriminator"]


def grad_l1(a, b):
    dx = lambda x: x[..., :, 1:] - x[..., :, :-1]  # noqa: E731
    dy = lambda x: x[..., 1:, :] - x[..., :-1, :]  # noqa: E731
    return F.l1_loss(dx(a), dx(b)) + F.l1_loss(dy(a), dy(b))


def fft_l1(a, b):
    """L1 distance of the (orthonormal) 2-D FFT amplitude spectra: rewards the right amount of
    high-frequency energy regardless of its exact phase (faithfulness comes from the pixel loss)."""
    fa = torch.fft.rfft2(a.float(), norm="ortho").abs()
    fb = torch.fft.rfft2(b.float(), norm="ortho").abs()
    return F.l1_loss(fa, fb)


def hf_band_l1(a, b, lr_hw, bands: int = 3):
    """Per image, the L1 distance of the RMS spectral amplitudes of ``a`` and ``b`` in ``bands``
    log-spaced bands above the Nyquist frequency of the ``lr_hw`` input (Hann-windowed, as the HF
    ratio metric). It asks for the right amount of detail per band but, unlike :func:`fft_l1`, not
    per frequency, so next to a pixel loss the cheapest way to meet it is to strengthen the
    structure the model is sure of rather than to add noise where it is not."""
    B, C, H, W = a.shape
    win = torch.hann_window(H, periodic=False, device=a.device)[:, None] * \
        torch.hann_window(W, periodic=False, device=a.device)[None, :]
    def power(x):
        x = x.float()
        return torch.fft.rfft2((x - x.mean(dim=(-2, -1), keepdim=True)) * win, norm="ortho").abs().square().sum(1)
    fy = torch.fft.fftfreq(H, device=a.device).abs()[:, None] * H / lr_hw[0]
    fx = torch.fft.rfftfreq(W, device=a.device)[None, :] * W / lr_hw[1]
    q = torch.maximum(fy, fx)  # 0.5 = the LR Nyquist frequency, H/(2h) the HR one
    edges = 0.5 * max(H / lr_hw[0], W / lr_hw[1]) ** (torch.arange(bands + 1, device=a.device) / bands)
    pa, pb = power(a), power(b)
    loss = a.new_zeros(())
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (q > lo) & (q <= hi)
        n = max(int(m.sum()) * C, 1)
        ea, eb = pa[:, m].sum(-1), pb[:, m].sum(-1)
        loss = loss + ((ea / n + 1e-12).sqrt() - (eb / n + 1e-12).sqrt()).abs().mean()
    return loss / bands


def energy_score_l1(y1, y2, target):
    """The energy score (a proper scoring rule, CRPS per pixel) of two independent samples:
    ``½(|y₁−x| + |y₂−x|) − ½|y₁−y₂|``, averaged over pixels. Its expectation is lowest when the
    samples are drawn from the true conditional distribution, so unlike an L1 per sample it rewards
    samples that disagree where the target is uncertain (and only there)."""
    return 0.5 * (F.l1_loss(y1, target) + F.l1_loss(y2, target)) - 0.5 * F.l1_loss(y1, y2)


def spread_calibration_l1(y1, y2, target, ratio: float, window: int = 5):
    """Teach two independent samples to disagree where their mean is wrong: the L1 distance between
    their local disagreement ``|y₁−y₂|`` and ``ratio`` × the local error of their mean ``|ȳ−x|``
    (both averaged over channels and a ``window``² neighbourhood; the error is a fixed target, so
    the gradient moves only the disagreement). ``ratio`` < 1 keeps the samples under-dispersed: the
    map ranks pixels by their error without the cost of fully calibrated samples to the PSNR."""
    local = lambda v: F.avg_pool2d(v.mean(1, keepdim=True), window, 1, window // 2,  # noqa: E731
                                   count_include_pad=False)
    with torch.no_grad():
        err = local((0.5 * (y1 + y2) - target).abs())
    return F.l1_loss(local((y1 - y2).abs()), ratio * err)


def fast_path(model: LDCSR, lr, hr_hw):
    """The deployable one-shot path: decode(cond(bicubic(lr)) / scale_factor)."""
    win = Window2d.whole(lr.shape[-2:], hr_hw)
    return model.decode(model.condition(lr, win), lr, win, hr_hw[0] / lr.shape[-2])


class PatchDiscriminator(nn.Module):
    """A small conditional PatchGAN (pix2pix-style): input = [bicubic(lr), image], output = a map
    of real/fake logits over ~22-px patches.  Spectral norm keeps it tame without tuning."""

    def __init__(self, width: int = 32):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.net = nn.Sequential(
            sn(nn.Conv2d(6, width, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * width, 4 * width, 4, 1, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(4 * width, 1, 4, 1, 1)))

    def forward(self, img, bic):
        return self.net(torch.cat([bic, img], dim=1))
