"""High-level entry point: ``upscale`` a NumPy image at any scale, tiled, in bounded memory."""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np

from .errors import InputError
from .tiling import plan_tiles, run_plan

__all__ = ["upscale", "output_shape", "MAX_SCALE", "MIN_INPUT_SIDE"]

MAX_SCALE = 16.0
MIN_INPUT_SIDE = 4


@functools.lru_cache(maxsize=2)
def _default_model(device: str = "auto"):
    from .checkpoints import load_model
    return load_model(None, device=device)


def _check_scale(scale) -> tuple[float, float]:
    pair = (scale, scale) if np.isscalar(scale) else tuple(scale)
    if len(pair) != 2:
        raise InputError(f"scale must be a number or a (y, x) pair, got {scale!r}")
    out = []
    for s in pair:
        try:
            s = float(s)
        except (TypeError, ValueError):
            raise InputError(f"scale must be a number, got {s!r}") from None
        if not math.isfinite(s) or s <= 1.0 or s > MAX_SCALE:
            raise InputError(f"scale must be in (1, {MAX_SCALE:g}], got {s!r}")
        out.append(s)
    return out[0], out[1]


def output_shape(in_shape: Sequence[int], scale=None, out_shape=None) -> tuple[int, int]:
    """Output (H, W): ``round(h·s) × round(w·s)`` from a scale, or a checked explicit ``out_shape``."""
    h, w = int(in_shape[0]), int(in_shape[1])
    if (scale is None) == (out_shape is None):
        raise InputError("give exactly one of scale and out_shape")
    if scale is not None:
        sy, sx = _check_scale(scale)
        return int(round(h * sy)), int(round(w * sx))
    try:
        H, W = (int(v) for v in out_shape)
    except (TypeError, ValueError):
        raise InputError(f"out_shape must be a (height, width) pair, got {out_shape!r}") from None
    if H < h or W < w or (H, W) == (h, w):
        raise InputError(f"out_shape {(H, W)} must be larger than the input {(h, w)} (this is an upscaler)")
    if H > h * MAX_SCALE or W > w * MAX_SCALE:
        raise InputError(f"out_shape {(H, W)} exceeds the maximum scale {MAX_SCALE:g} for input {(h, w)}")
    return H, W


def _as_unit_float(image) -> tuple[np.ndarray, np.dtype]:
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a NumPy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image must be H×W×3 (RGB), got shape {image.shape}")
    h, w = image.shape[:2]
    if min(h, w) < MIN_INPUT_SIDE:
        raise InputError(f"image is {h}×{w}; at least {MIN_INPUT_SIDE}×{MIN_INPUT_SIDE} pixels are needed")
    if image.dtype == np.uint8:
        return image, image.dtype
    if image.dtype.kind != "f":
        raise InputError(f"image dtype must be uint8 or float in [0, 1], got {image.dtype}")
    if not np.isfinite(image).all():
        raise InputError("image contains NaN or infinite values; fill or mask them first")
    lo, hi = float(image.min()), float(image.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"float images must lie in [0, 1], got values in [{lo:g}, {hi:g}]")
    return image, image.dtype


def upscale(image: np.ndarray, scale: float | Sequence[float] | None = None, *,
            out_shape: Sequence[int] | None = None, model=None, mode: str = "diffusion", seed: int = 0,
            tile: int | None = None, progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Super-resolve an RGB image with LDCSR at any scale.

    Parameters
    ----------
    image : H×W×3 uint8, or float in [0, 1].
    scale : factor > 1 (one number or a (y, x) pair); or give ``out_shape`` = (H, W) instead.
    model : an ``LDCSR`` from ``load_model``; None uses the shipped default model.
    mode : "diffusion" (seeded 4-step sampler) or "fast" (deterministic one-shot decode).
    seed : noise seed; the noise is tied to latent positions, so the result does not depend on tiling.
    tile : tile side in input pixels (>= 32); None picks 256-px output tiles.
    progress : ``progress(done, total)`` after each tile.
    cancel : ``cancel() -> bool`` polled between tiles; True raises :class:`ldcsr_core.Cancelled`.

    Returns
    -------
    The super-resolved image, (H, W, 3), same dtype as ``image``.
    """
    if mode not in ("diffusion", "fast"):
        raise InputError(f"mode must be 'diffusion' or 'fast', got {mode!r}")
    img, dtype = _as_unit_float(image)
    H, W = output_shape(img.shape[:2], scale, out_shape)
    if model is None:
        model = _default_model()
    plan = plan_tiles(img.shape[:2], (H, W), tile)
    out = np.empty((H, W, 3), dtype=np.float32)
    scale_in = 1.0 / 255.0 if dtype == np.uint8 else 1.0

    def read(y0, x0, h, w):
        return img[y0:y0 + h, x0:x0 + w].astype(np.float32) * scale_in

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    run_plan(model, plan, read, sink, mode=mode, seed=seed, progress=progress, cancel=cancel)
    np.clip(out, 0.0, 1.0, out=out)
    if dtype == np.uint8:
        return np.rint(out * 255.0).astype(np.uint8)
    return out.astype(dtype, copy=False)
