"""Resampling geometry on a global pixel grid, torch-free: axis windows and their taps.

PyTorch's ``interpolate`` (bicubic, bilinear, legacy nearest; ``align_corners=False``) maps output
pixel ``j`` to input coordinate ``(j + 0.5) * in/out - 0.5``.  :func:`taps` computes the same taps
and weights, but for a *window* of a larger virtual image: the output window starts at
``out_start`` of an ``out_full``-long axis and the input data we hold starts at ``in_start`` of an
``in_full``-long axis.  :mod:`ldcsr_core.models.resample` applies them to tensors; the tile planner
(:mod:`ldcsr_core.tileplan`) compares them to tell which windows are translates of each other.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["AxisWindow", "Window2d", "taps", "bilinear_taps"]

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
def taps(mode: str, src_full: int, dst_full: int, src_start: int, src_len: int, dst_start: int, dst_len: int):
    """(idx, weight) arrays (dst_len × taps) of one axis, local to the data held; cached (read-only)."""
    idx, w = _compute_taps(mode, src_full, dst_full, src_start, src_len, dst_start, dst_len)
    return idx, w


def bilinear_taps(src_full: int, dst_full: int, src_start: int, src_len: int, dst_start: int, dst_len: int):
    """Bilinear taps of one axis window (cached; see :func:`taps`)."""
    return taps("bilinear", src_full, dst_full, src_start, src_len, dst_start, dst_len)


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
