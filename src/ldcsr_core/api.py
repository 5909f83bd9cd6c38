"""High-level entry point: ``upscale`` a NumPy image at any scale, tiled, in bounded memory."""

from __future__ import annotations

import functools
import os
import threading
from typing import Sequence

import numpy as np

from .errors import InputError
from .geo.stretch import UINT8_RGB
from .progress import ProgressCallback
from .rules import check_callable, check_image, check_input_side, check_mode, check_seed, check_tile, output_shape
from .tiling import run_plan
from .window_sizing import plan_for_model

__all__ = ["upscale", "output_shape"]


_DEFAULT_MODEL_LOCK = threading.Lock()


def _default_model(device: str = "auto"):
    from .devices import resolve_device
    from .precision import dtype_name, resolve_dtype

    # the float type LDCSR_DTYPE asks for now (a notebook may set it between calls) is part of the key
    dtype = dtype_name(resolve_dtype(None, resolve_device(device)))
    with _DEFAULT_MODEL_LOCK:  # threads that start together load it once
        return _load_default_model(device, dtype)


@functools.lru_cache(maxsize=2)
def _load_default_model(device: str, dtype: str = "auto"):
    from .checkpoints import load_model
    return load_model(None, device=device, dtype=dtype)


def _as_unit_float(image) -> tuple[np.ndarray, np.dtype]:
    check_image(image)
    check_input_side(image.shape)
    return image, image.dtype


def output_array(shape: tuple[int, ...], dtype, count: int = 1) -> np.ndarray | list[np.ndarray]:
    """``np.empty(shape, dtype)`` for a result held in memory (``count`` > 1: a list of that many),
    or an :class:`InputError` that says what to do when they cannot be held: numpy's MemoryError came
    after the model had loaded, and an array larger than the free memory (Linux overcommits) was
    allocated and the process killed once the run had filled it (:mod:`.host_memory`)."""
    from .files import human_bytes
    from .host_memory import available_bytes

    need = float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize * count
    free = available_bytes()
    what = f"the result, {'×'.join(map(str, shape))} {np.dtype(dtype)}{f' ×{count}' if count > 1 else ''}"
    todo = ("upscale a part of the image at a time, or have `ldcsr upscale` (or "
            "ldcsr_core.geo.pipeline.upscale_raster) write it to a GeoTIFF in strips")
    if free is not None and need > free:
        raise InputError(f"{what} ({human_bytes(need)}), does not fit in memory ({human_bytes(free)} free "
                         f"on this machine): {todo}")
    try:
        arrays = [np.empty(shape, dtype) for _ in range(count)]
    except MemoryError:
        raise InputError(f"{what} ({human_bytes(need)}), does not fit in memory: {todo}") from None
    return arrays[0] if count == 1 else arrays


def resolve_model(model, what: str = "model"):
    """The one rule for a ``model=`` argument: a loaded model as it is, None for the shipped
    default (loaded once); a name or path, or anything else, is an :class:`InputError`."""
    if model is None:
        return _default_model()
    if isinstance(model, (str, bytes, os.PathLike)):
        raise InputError(f"{what} must be a loaded model, got the name {model!r}: pass "
                         f"{what}=ldcsr_core.load_model({str(model)!r})")
    if not hasattr(model, "config"):
        raise InputError(f"{what} must be a model from ldcsr_core.load_model, got {type(model).__name__}")
    return model


def upscale(image: np.ndarray, scale: float | Sequence[float] | None = None, *,
            out_shape: Sequence[int] | None = None, model=None, mode: str = "diffusion", seed: int = 0,
            tile: int | None = None, callback: ProgressCallback | None = None,
            samples: int | None = None):
    """Super-resolve an RGB image with LDCSR at any scale.

    Parameters
    ----------
    image : H×W×3 uint8, or float in [0, 1].
    scale : factor > 1 (one number or a (y, x) pair); or give ``out_shape`` = (H, W) instead.
    model : an ``LDCSR`` from ``load_model``; None uses the shipped default model.
    mode : "diffusion" (seeded 4-step sampler) or "fast" (deterministic one-shot decode).
    seed : noise seed; the noise is tied to latent positions, so the result does not depend on tiling.
    tile : fast mode's tile side in input pixels (>= 32); None picks the engine's windows, fixed by
        the model and the scale on every device (:func:`ldcsr_core.tiling.engine_window`: the
        largest the model allows within the CPU's 1 GiB activation budget; 256-px output windows for
        the official weights), overlapping by the model's measured receptive field. Diffusion mode
        always runs on those windows (its picture depends on them), so ``tile`` is not used there.
    callback : ``callback(TileProgress)`` before the first tile and after each one; raise
        :class:`ldcsr_core.Cancelled` in it to stop (see :mod:`ldcsr_core.progress`).
    samples : None (default) returns the image. An int K >= 1 runs the diffusion sampler with seeds
        ``seed … seed+K-1`` and returns :class:`~ldcsr_core.uncertainty.UpscaleSamples` ``(mean,
        spread)``: the mean of the K samples and their per-pixel standard deviation (float32, in the
        image's units; exactly 0 for K=1). K > 1 needs ``mode="diffusion"``. Costs K runs.

    Returns
    -------
    The super-resolved image, (H, W, 3), same dtype as ``image``; or ``(mean, spread)`` with ``samples``.
    """
    check_mode(mode)
    seed, tile, callback = check_seed(seed), check_tile(tile), check_callable(callback)
    if model is not None:
        resolve_model(model)  # a name is refused before the image is checked
    if samples is not None:
        from .rules import check_samples
        samples = check_samples(samples, mode)
    img, dtype = _as_unit_float(image)
    H, W = output_shape(img.shape[:2], scale, out_shape)
    if samples is None:  # the result's memory before the model loads
        out = output_array((H, W, 3), dtype)
    else:
        from .uncertainty import sample_arrays, upscale_samples
        arrays = sample_arrays((H, W))
    model = resolve_model(model)
    plan = plan_for_model(model, img.shape[:2], (H, W), tile, mode=mode)
    u8 = dtype == np.uint8  # 8 bits go through the raster path's stretch: the same pixels as `ldcsr upscale`

    def read(y0, x0, h, w):
        win = img[y0:y0 + h, x0:x0 + w]
        return UINT8_RGB.to_unit(win.transpose(2, 0, 1)).transpose(1, 2, 0) if u8 else win.astype(np.float32)

    if samples is not None:  # uncertainty map: K samples, their mean and spread (ldcsr_core.uncertainty)
        return upscale_samples(model, plan, read, dtype, samples=samples, mode=mode, seed=seed, callback=callback,
                               arrays=arrays)

    def sink(y0, rows):  # finished rows, clipped and converted to the image's dtype band by band
        rows = np.clip(rows, 0.0, 1.0)
        if u8:
            UINT8_RGB.from_unit(rows.transpose(2, 0, 1), out=out[y0:y0 + rows.shape[0]].transpose(2, 0, 1))
        else:
            out[y0:y0 + rows.shape[0]] = rows

    run_plan(model, plan, read, sink, mode=mode, seed=seed, callback=callback)
    return out
