"""Separable resampling on a global pixel grid.

PyTorch's ``interpolate`` (bicubic, bilinear, legacy nearest; ``align_corners=False``) maps output
pixel ``j`` to input coordinate ``(j + 0.5) * in/out - 0.5``.  The functions here compute the same
taps and weights, but for a *window* of a larger virtual image: the output window starts at
``out_start`` of an ``out_full``-long axis and the input data we hold starts at ``in_start`` of an
``in_full``-long axis.  For the whole image they reproduce ``interpolate`` (up to float rounding);
for a tile they reproduce the whole-image result wherever the tile holds the needed input pixels.
That is what makes tiled inference exact in geometry (no drift at non-integer scales).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["AxisWindow", "Window2d", "resize", "bilinear_taps", "upload"]

_CUBIC_A = -0.75  # PyTorch's bicubic convolution constant
_FLOAT32_GRID_LIMIT = 8192


@dataclass(frozen=True)
class AxisWindow:
    """One axis of a resampling problem: which part of the full input/output we hold."""

    in_full: int
    out_full: int
    in_start: int
    in_len: int
    out_start: int
    out_len: int

    @staticmethod
    def whole(in_len: int, out_len: int) -> "AxisWindow":
        return AxisWindow(in_len, out_len, 0, in_len, 0, out_len)

    def coarse(self, factor: int = 8) -> "AxisWindow":
        """The same output window on a grid ``factor`` times coarser (latent grid)."""
        # a window reaching past the image end (tiny images are run on a padded window) extends
        # the latent grid instead of shrinking it
        full = max(self.out_full // factor, (self.out_start + self.out_len) // factor)
        return AxisWindow(self.in_full, full, self.in_start, self.in_len,
                          self.out_start // factor, self.out_len // factor)


@dataclass(frozen=True)
class Window2d:
    y: AxisWindow
    x: AxisWindow

    @staticmethod
    def whole(in_hw, out_hw) -> "Window2d":
        return Window2d(AxisWindow.whole(in_hw[0], out_hw[0]), AxisWindow.whole(in_hw[1], out_hw[1]))

    def coarse(self, factor: int = 8) -> "Window2d":
        return Window2d(self.y.coarse(factor), self.x.coarse(factor))

    @property
    def in_shape(self):
        return (self.y.in_len, self.x.in_len)

    @property
    def out_shape(self):
        return (self.y.out_len, self.x.out_len)


@functools.lru_cache(maxsize=512)
def _taps(mode: str, src_full: int, dst_full: int, src_start: int, src_len: int, dst_start: int, dst_len: int):
    """(idx, weight) arrays (dst_len × taps) of one axis, local to the data held; cached (read-only)."""
    idx, w = _compute_taps(mode, src_full, dst_full, src_start, src_len, dst_start, dst_len)
    return idx, w


def bilinear_taps(src_full: int, dst_full: int, src_start: int, src_len: int, dst_start: int, dst_len: int):
    """Bilinear taps of one axis window (cached; see :func:`resize`)."""
    return _taps("bilinear", src_full, dst_full, src_start, src_len, dst_start, dst_len)


def _compute_taps(mode: str, src_full: int, dst_full: int, src_start: int, src_len: int,
                  dst_start: int, dst_len: int):
    j = np.arange(dst_start, dst_start + dst_len)
    if mode == "nearest":
        # legacy nearest: floor(j * scale) computed in float32 as PyTorch does
        scale = np.float32(src_full) / np.float32(dst_full)
        idx = np.floor(j.astype(np.float32) * scale).astype(np.int64)
        idx = np.minimum(idx, src_full - 1)[:, None]
        w = np.ones_like(idx, dtype=np.float32)
    else:
        # PyTorch computes coordinates and weights in float32; we do the same (bit-level parity on
        # ordinary sizes) except on huge grids, where float32 coordinates would lose sub-pixel accuracy
        ft = np.float32 if max(src_full, dst_full) <= _FLOAT32_GRID_LIMIT else np.float64
        scale = ft(src_full) / ft(dst_full)
        real = scale * (j.astype(ft) + ft(0.5)) - ft(0.5)
        if mode == "bilinear":
            real = np.maximum(real, ft(0))
            i0 = np.minimum(np.floor(real).astype(np.int64), src_full - 1)
            t = np.clip(real - i0.astype(ft), ft(0), ft(1))
            idx = np.stack([i0, np.minimum(i0 + 1, src_full - 1)], 1)
            w = np.stack([ft(1) - t, t], 1)
        elif mode == "bicubic":
            i0 = np.minimum(np.floor(real).astype(np.int64), src_full - 1)
            t = np.clip(real - i0.astype(ft), ft(0), ft(1))
            a = ft(_CUBIC_A)
            def near(x):  # |x| <= 1
                return ((a + ft(2)) * x - (a + ft(3))) * x * x + ft(1)
            def far(x):  # 1 < |x| < 2
                return ((a * x - ft(5) * a) * x + ft(8) * a) * x - ft(4) * a
            w = np.stack([far(t + ft(1)), near(t), near(ft(1) - t), far((ft(1) - t) + ft(1))], 1)
            idx = np.clip(np.stack([i0 - 1, i0, i0 + 1, i0 + 2], 1), 0, src_full - 1)
        else:
            raise ValueError(f"unknown resampling mode {mode!r}")
        if src_full == dst_full:  # PyTorch short-cuts equal sizes to a copy
            idx, w = j[:, None].copy(), np.ones((len(j), 1), dtype=ft)
    # global -> local indices; clamp to the data we hold (tile margins make this exact inside)
    idx = np.clip(idx - src_start, 0, src_len - 1)
    return idx, w


def upload(a: np.ndarray | torch.Tensor, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``a`` (an array or a host tensor) on ``device`` (in ``dtype``).  To a CUDA card it goes from
    pinned memory without waiting: a plain copy from pageable memory would wait for all the card's
    queued work."""
    t = torch.from_numpy(a) if isinstance(a, np.ndarray) else a
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    else:
        t = t.to(device)
    return t if dtype is None else t.to(dtype)


def _resize_axis(x: torch.Tensor, dim: int, idx: np.ndarray, w: np.ndarray) -> torch.Tensor:
    shape = [1] * x.ndim
    shape[dim] = -1
    out = None
    for k in range(idx.shape[1]):
        ik = upload(np.ascontiguousarray(idx[:, k]), x.device)
        wk = upload(np.ascontiguousarray(w[:, k]), x.device, x.dtype).view(shape)
        g = x[..., ik] if dim == x.ndim - 1 else x.index_select(dim, ik)  # index_select is slow on the last dim
        term = g * wk if idx.shape[1] > 1 else g
        out = term if out is None else out + term
    return out


def resize(x: torch.Tensor, win: Window2d, mode: str, *, inverse: bool = False) -> torch.Tensor:
    """Resample ``x`` (B,C,h,w) held for ``win``'s input window onto its output window.

    With ``inverse=True`` the roles swap: ``x`` is held on the output grid and is resampled onto the
    input grid (used to bring latent features down to the LR grid).
    """
    if all(ax.in_start == 0 and ax.out_start == 0 and ax.in_len == ax.in_full and ax.out_len == ax.out_full
           for ax in (win.y, win.x)):
        size = win.in_shape if inverse else win.out_shape
        if mode == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        return F.interpolate(x, size=size, mode=mode, align_corners=False)
    out = x
    for dim, ax in ((3, win.x), (2, win.y)):  # width first, then height, as PyTorch does
        if inverse:
            idx, w = _taps(mode, ax.out_full, ax.in_full, ax.out_start, ax.out_len, ax.in_start, ax.in_len)
        else:
            idx, w = _taps(mode, ax.in_full, ax.out_full, ax.in_start, ax.in_len, ax.out_start, ax.out_len)
        out = _resize_axis(out, dim, idx, w)
    return out
