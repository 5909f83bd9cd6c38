"""Window sizing: how large the engine's windows are and how many run as one batch.

The windows' side comes from the model and the scale alone (:func:`engine_window`), so that a seed
gives one picture on every device; a device's memory (:func:`memory_budget_mb`) sets only how many
of them a card runs at once (:func:`batch_size`).  :func:`plan_for_model` is the tile plan
``upscale``, the raster pipeline and the plugins use.  The tile loop itself is :mod:`ldcsr_core.tiling`.
"""

from __future__ import annotations

import torch

from .errors import InputError
from .models.ldcsr import LDCSR
from .rules import LATENT, MIN_WINDOW, check_mode, check_number, check_shape, check_tile, output_shape
from .tileplan import TilePlan, plan_tiles

__all__ = ["plan_for_model", "plan_scale", "model_window", "engine_window", "memory_budget_mb", "batch_size"]

# Memory a run may use for one window's activations (MiB), unless the caller says otherwise.
DEFAULT_BUDGET_MB = 1024
# Share of a CUDA card's free memory a batch of windows' activations may use (the rest: cuDNN
# workspaces, the allocator's fragmentation, other processes).
GPU_BUDGET_SHARE = 0.5


def bytes_per_output_pixel(model: LDCSR, scale: float) -> float:
    """Peak activation bytes per output pixel of one window (fitted to measured peak RSS).

    The condition encoder holds a few full-resolution tensors of its width; the decoder's pyramid
    holds its 4·LR level and the finest level's conv output, whose size per output pixel grows
    as the scale shrinks (the pyramid always ends at 8·LR).
    """
    c = model.config
    n, ce = c.decoder.ch, c.cond_encoder.ch
    pyr = (4.0 / max(scale, 1.0)) ** 2
    floats = max(6 * ce, 4 * (c.decoder.ch * 4) + 8) + n * pyr * 6
    return 4.0 * floats


def memory_budget_mb(device) -> float:
    """The activation budget on ``device`` (MiB): :data:`DEFAULT_BUDGET_MB` of host
    RAM on a CPU (or MPS); on CUDA :data:`GPU_BUDGET_SHARE` of the card's free memory now
    (``torch.cuda.mem_get_info``): how many of the engine's windows a card runs as one batch
    (:func:`batch_size`)."""
    if getattr(device, "type", str(device)) != "cuda":
        return float(DEFAULT_BUDGET_MB)
    free, _total = torch.cuda.mem_get_info(device)
    return max(float(DEFAULT_BUDGET_MB) / 4, GPU_BUDGET_SHARE * free / 2 ** 20)


def _bytes_per_pixel_on(model: LDCSR, scale: float, device) -> float:
    """:func:`bytes_per_output_pixel` on ``device``: half of it for half-precision models on CUDA."""
    per_px = bytes_per_output_pixel(model, scale)
    if getattr(device, "type", "") == "cuda":
        from .precision import model_dtype

        per_px *= 0.5 if model_dtype(model) in ("float16", "bfloat16") else 1.0
    return per_px


def model_window(model: LDCSR, scale: float, budget_mb: float | None = None, *, device=None) -> int:
    """Largest output window side (px) for ``model`` at ``scale`` within ``budget_mb`` of activations
    (default: :func:`memory_budget_mb` of the model's device), capped by the model's own maximum
    (``model.tile_max``; 256 for the official weights). Half-precision models on CUDA need half the
    bytes per pixel.  ``device``: plan as if the model were there (default: where it is)."""
    device = device if device is not None else getattr(model, "device", torch.device("cpu"))
    budget = (memory_budget_mb(device) if budget_mb is None else budget_mb) * 2 ** 20
    side = int((budget / _bytes_per_pixel_on(model, scale, device)) ** 0.5)
    cap = getattr(model, "tile_max", None)
    if cap:
        side = min(side, int(cap))
    return max(MIN_WINDOW + LATENT, (side // LATENT) * LATENT)


def plan_scale(in_shape, out_shape) -> float:
    """The scale windows are sized for: the smaller of the two axes' ratios."""
    return min(out_shape[0] / in_shape[0], out_shape[1] / in_shape[1])


def engine_window(model: LDCSR, scale: float) -> int:
    """The window side (output px) ``upscale`` plans for ``model`` at ``scale`` in both modes: the
    float32 host-RAM window of :data:`DEFAULT_BUDGET_MB`, whatever the device, its memory or the
    float type.

    The picture depends on the windows (the UNet and v4's detail decoder see window-wide statistics
    in diffusion mode; fast mode's GroupNorms and channel attention see the window's), so they are
    fixed by the model and the scale alone: a seed gives the same picture on a CPU, on a GPU, in the
    raster path, Dask and QGIS. A card's memory goes into batches of these windows
    (:func:`batch_size`), not into larger windows."""
    return model_window(model, scale, DEFAULT_BUDGET_MB, device=torch.device("cpu"))


def plan_for_model(model: LDCSR, in_shape, out_shape, tile: int | None = None, *,
                   budget_mb: float | None = None, mode: str = "fast") -> TilePlan:
    """The tile plan :func:`~ldcsr_core.upscale` uses.

    The balanced windows of :func:`engine_window`, fixed by the model and the scale, on every device
    and in both modes, so a seed gives one picture whatever the device or front end.  Fast mode
    only: ``tile`` (input pixels) gives exactly :func:`~ldcsr_core.tileplan.plan_tiles`' windows,
    and ``budget_mb`` the largest balanced windows within that many MiB of activations (both another
    window plan, so a slightly different picture: fast mode is close to, not exactly, independent of
    its windows).  Diffusion mode uses neither.  Windows overlap by the model's measured receptive
    field (``model.tile_overlap`` output pixels; see ``benchmarks/receptive_field.py``)."""
    from .api import resolve_model  # (api imports this module)

    check_mode(mode)  # a typo ("Diffusion") planned fast mode's windows: another picture for a seed
    tile = check_tile(tile)  # in diffusion mode too, where it is not used: 'a' was taken without a word
    model = resolve_model(model)  # a name or anything else is an InputError, as every model= is
    in_shape = check_shape(in_shape, "in_shape")
    out_shape = output_shape(in_shape, out_shape=out_shape)  # upscale's one scale rule
    if budget_mb is not None and not 0 < check_number(budget_mb, "budget_mb") < float("inf"):
        raise InputError(f"budget_mb must be a positive number of megabytes, got {budget_mb!r}")
    scale = plan_scale(in_shape, out_shape)
    if mode == "fast" and tile is not None:
        return plan_tiles(in_shape, out_shape, tile)
    if mode == "fast" and budget_mb is not None:
        window = model_window(model, scale, budget_mb)
    else:
        window = engine_window(model, scale)
    return plan_tiles(in_shape, out_shape, window=window, overlap_out=getattr(model, "tile_overlap", None))


def batch_size(model: LDCSR, plan: TilePlan) -> int:
    """How many of ``plan``'s windows go through the model at once: 1 on a CPU (a batch is no faster
    there and needs more memory); on a GPU as many as the device's activation budget holds (small
    windows one by one leave a card launch-bound; :func:`engine_window`'s are CPU-sized)."""
    device = getattr(model, "device", torch.device("cpu"))
    if device.type == "cpu" or not plan.tiles:
        return 1
    window = plan.tile_out[0] * plan.tile_out[1] * _bytes_per_pixel_on(model, min(plan.scale), device)
    return max(1, min(64, int(memory_budget_mb(device) * 2 ** 20 // window)))
