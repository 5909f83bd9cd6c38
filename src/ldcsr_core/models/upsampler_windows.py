"""The SADN upsampler of the decoder evaluated exactly, window by window and band by band of
output rows (:func:`sadn_upsample`, called by :class:`~.autoencoder.SADNUpsampler`): the per-pixel
MLP as matrix products over cache-sized bands, the level weights folded into its first layer, at
×4 the finest pyramid level as one phase-averaged convolution, at other scales sampled straight
from the convolution output; tiles carry only the LR pixels their output samples need."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .resample import AxisWindow, Window2d, bilinear_taps, resize, upload

if TYPE_CHECKING:
    from .autoencoder import SADNUpsampler

__all__ = ["sadn_upsample", "finer", "BAND_BYTES", "DEVICE_BAND_BYTES"]


def finer(ax: AxisWindow, f: int) -> AxisWindow:
    """The same axis window with the input grid ``f`` times finer (upsampler pyramid levels)."""
    return AxisWindow(ax.in_full * f, ax.out_full, ax.in_start * f, ax.in_len * f, ax.out_start, ax.out_len)


def _bilinear_taps(ax: AxisWindow):
    return bilinear_taps(ax.in_full, ax.out_full, ax.in_start, ax.in_len, ax.out_start, ax.out_len)


# bytes of one MLP layer's activations per band of output rows: small enough to stay in cache
BAND_BYTES = 8 << 20
# ... on a GPU: large bands, so that a window's MLP is a few large matrix products instead of
# hundreds of ~30 µs launches (issue 22's H200 profile: 2 682 small addmm calls for one 512→2048)
DEVICE_BAND_BYTES = 256 << 20


# LR pixels of context the pyramid's three 3×3 convolutions and bilinear taps need (±1.75 px)
_PYRAMID_HALO = 2


def _pixel_shuffle(y: torch.Tensor) -> torch.Tensor:
    """``PixelShuffle(2)`` as one copy into a channels-last result (PyTorch's channels-last kernel
    is several times slower)."""
    b, c4, h, w = y.shape
    c = c4 // 4
    t = y.permute(0, 2, 3, 1).reshape(b, h, w, c, 2, 2).permute(0, 1, 4, 2, 5, 3)
    return t.reshape(b, 2 * h, 2 * w, c).permute(0, 3, 1, 2)


def _is_whole(win: Window2d) -> bool:
    return all(ax.in_start == 0 and ax.out_start == 0 and ax.in_len == ax.in_full and ax.out_len == ax.out_full
               for ax in (win.y, win.x))


def _mean2_taps(ax: AxisWindow):
    """If the bilinear taps of ``ax`` are exact 2×2 means of pairs (2k, 2k+1), the first k, else None."""
    idx, w = _bilinear_taps(ax)
    if w.shape[1] == 2 and (w == 0.5).all() and (idx[:, 0] % 2 == 0).all() and (idx[:, 1] == idx[:, 0] + 1).all():
        k = idx[:, 0] // 2
        if (k == k[0] + np.arange(len(k))).all():
            return int(k[0])
    return None


def _shuffled_bilinear(conv: nn.Conv2d, feats: torch.Tensor, fine: Window2d) -> torch.Tensor:
    """``resize(PixelShuffle(2)(conv(feats)), fine, "bilinear")`` without the shuffled tensor: the
    conv's output channels are reordered (phase-major, exact) so that every shuffled pixel is one
    contiguous row of an NHWC table, and the 2×2 bilinear taps are one weighted ``embedding_bag``."""
    c = conv.out_channels // 4
    perm = torch.arange(4 * c, device=conv.weight.device).view(c, 4).t().reshape(-1)  # o' = p·c + k
    wgt = conv.weight[perm]
    if feats.is_contiguous(memory_format=torch.channels_last):
        wgt = wgt.contiguous(memory_format=torch.channels_last)
    y = F.conv2d(feats, wgt, conv.bias[perm], 1, 1)
    B, _, h2, w2 = y.shape
    table = y.permute(0, 2, 3, 1).reshape(B * h2 * w2 * 4, c)  # a view for NHWC results
    (iy, wy), (ix, wx) = _bilinear_taps(fine.y), _bilinear_taps(fine.x)
    dev = y.device
    iy, ix = upload(iy, dev), upload(ix, dev)
    wy, wx = upload(wy, dev, y.dtype), upload(wx, dev, y.dtype)
    rows = (iy // 2) * (w2 * 4) + (iy % 2) * 2
    cols = (ix // 2) * 4 + (ix % 2)
    H, W, ty, tx = iy.shape[0], ix.shape[0], iy.shape[1], ix.shape[1]
    idx = (rows[:, None, :, None] + cols[None, :, None, :]).reshape(H * W, ty * tx)
    wts = (wy[:, None, :, None] * wx[None, :, None, :]).reshape(H * W, ty * tx)
    outs = [F.embedding_bag(idx + b * (h2 * w2 * 4), table, per_sample_weights=wts, mode="sum")
            for b in range(B)]
    out = torch.stack(outs) if B > 1 else outs[0][None]
    return out.view(B, H, W, c).permute(0, 3, 1, 2)


def _resize_level(feats: torch.Tensor, win: Window2d) -> torch.Tensor:
    """``resize(feats, win, "bilinear")``, but a level already on the output grid (one tap of
    weight 1 at consecutive pixels on both axes, e.g. 4·LR at ×4) is narrowed, not copied."""
    (iy, wy), (ix, wx) = _bilinear_taps(win.y), _bilinear_taps(win.x)
    for idx, w in ((iy, wy), (ix, wx)):
        if w.shape[1] != 1 or (w != 1).any() or (np.diff(idx[:, 0]) != 1).any():
            return resize(feats, win, "bilinear")
    return feats[:, :, int(iy[0, 0]):int(iy[-1, 0]) + 1, int(ix[0, 0]):int(ix[-1, 0]) + 1]


def sadn_upsample(up: SADNUpsampler, x: torch.Tensor, win: Window2d, level_w: torch.Tensor) -> torch.Tensor:
    """SADN upsampling of LR features ``x`` onto ``win``'s output window.

    Exact algebra over :meth:`SADNUpsampler.forward_reference` (equal to float rounding):
    * tiles carry only the LR rows/columns the output window samples (plus the pyramid's
      receptive field) through the pyramid; they read a wider context for the refinement branch;
    * when the finest level's bilinear taps are exact 2×2 means (output ×4 of the LR grid on both
      axes), ``mean2×2(PixelShuffle(conv(f)))`` is one convolution with phase-averaged weights:
      4× fewer multiply-adds, and no 8·LR tensor;
    * the level weights fold into the first 1×1 layer, and the per-pixel MLP runs as matrix
      products over bands of output rows (:data:`BAND_BYTES` of activations per layer on a CPU,
      :data:`DEVICE_BAND_BYTES` on a GPU).
    """
    L = len(up.UPNet_x2_list)
    # 1. tiles: crop the LR features to what every level's taps need, plus the pyramid halo
    if not _is_whole(win):
        crops = []
        for ax, dim in ((win.y, 2), (win.x, 3)):
            lo, hi = ax.in_len, -1
            for i in range(L + 1):
                idx, _ = _bilinear_taps(finer(ax, 2 ** i))
                lo, hi = min(lo, int(idx.min()) >> i), max(hi, int(idx.max()) >> i)
            c0, c1 = max(0, lo - _PYRAMID_HALO), min(ax.in_len, hi + 1 + _PYRAMID_HALO)
            crops.append(AxisWindow(ax.in_full, ax.out_full, ax.in_start + c0, c1 - c0, ax.out_start, ax.out_len))
            x = x.narrow(dim, c0, c1 - c0)
        win = Window2d(*crops)
    # 2. the pyramid, each level resized onto the output window
    resized, feats = [], x
    for i in range(L):
        resized.append(_resize_level(feats, Window2d(*(finer(ax, 2 ** i) for ax in (win.y, win.x)))))
        conv = up.UPNet_x2_list[i][0]
        fine = Window2d(*(finer(ax, 2 ** (i + 1)) for ax in (win.y, win.x)))
        if i == L - 1:
            k0 = (_mean2_taps(fine.y), _mean2_taps(fine.x))
            if None not in k0:  # ×4: mean2×2 ∘ PixelShuffle ∘ conv == conv with phase-averaged weights
                c = conv.out_channels // 4
                w_avg = conv.weight.view(c, 4, *conv.weight.shape[1:]).mean(1)
                if feats.is_contiguous(memory_format=torch.channels_last):
                    w_avg = w_avg.contiguous(memory_format=torch.channels_last)
                y = F.conv2d(feats, w_avg, conv.bias.view(c, 4).mean(1), 1, 1)
                resized.append(y[:, :, k0[0]:k0[0] + win.y.out_len, k0[1]:k0[1] + win.x.out_len])
                break
        if i == L - 1:
            resized.append(_shuffled_bilinear(conv, feats, fine))
            break
        feats = _pixel_shuffle(conv(feats))
    # 3. the per-pixel MLP over bands of output rows, level weights folded into its first layer;
    #    each band gathers its rows of every level (NHWC) into one input block: no full concatenation
    levels = [r.permute(0, 2, 3, 1) for r in resized]  # views for channels-last levels
    B, H, W, c = levels[0].shape
    Cin = c * len(levels)
    fuse = [m for m in up.fuse if isinstance(m, nn.Conv2d)]
    mats = [(m.weight.view(m.out_channels, m.in_channels).t(), m.bias) for m in fuse]
    mats[0] = (mats[0][0] * level_w.repeat_interleave(c)[:, None], mats[0][1])
    out = torch.empty((B, H, W, fuse[-1].out_channels), dtype=x.dtype, device=x.device)
    width = max(wm.shape[1] for wm, _ in mats)
    band_bytes = BAND_BYTES if x.device.type == "cpu" else DEVICE_BAND_BYTES
    band = max(1, band_bytes // (x.element_size() * max(width, Cin) * max(W, 1)))
    # buffers reused for every band: fresh large allocations cost page faults
    inp, *bufs = (torch.empty(band * W * k, dtype=x.dtype, device=x.device) for k in (Cin, width, width))
    for b in range(B):
        for r0 in range(0, H, band):
            r1 = min(H, r0 + band)
            n = (r1 - r0) * W
            block = inp[:n * Cin].view(r1 - r0, W, Cin)
            for i, lv in enumerate(levels):
                block[..., i * c:(i + 1) * c].copy_(lv[b, r0:r1])
            h = block.view(n, Cin)
            for j, (wm, bias) in enumerate(mats):
                if j < len(mats) - 1:
                    h = torch.addmm(bias, h, wm, out=bufs[j % 2][:n * wm.shape[1]].view(n, wm.shape[1])).relu_()
                else:
                    out[b, r0:r1] = torch.addmm(bias, h, wm).view(r1 - r0, W, -1)
    return out.permute(0, 3, 1, 2)
