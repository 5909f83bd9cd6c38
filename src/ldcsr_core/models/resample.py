"""Separable resampling of tensors on a global pixel grid, with the taps of :mod:`ldcsr_core.grids`
(windows of a larger virtual image).  For the whole image they reproduce PyTorch's ``interpolate``
(up to float rounding); for a tile they reproduce the whole-image result wherever the tile holds
the needed input pixels.  That is what makes tiled inference exact in geometry (no drift at
non-integer scales).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..grids import AxisWindow, Window2d, bilinear_taps, taps

__all__ = ["AxisWindow", "Window2d", "resize", "bilinear_taps", "upload"]


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
            idx, w = taps(mode, ax.out_full, ax.in_full, ax.out_start, ax.out_len, ax.in_start, ax.in_len)
        else:
            idx, w = taps(mode, ax.in_full, ax.out_full, ax.in_start, ax.in_len, ax.out_start, ax.out_len)
        out = _resize_axis(out, dim, idx, w)
    return out
