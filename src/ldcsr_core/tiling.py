"""Tiled inference, the model side: one tile through the model, the tile loop.

Tile geometry, blending and row merging are torch-free and live in :mod:`ldcsr_core.tileplan`; the
global latent noise in :mod:`ldcsr_core.latent_noise`; the windows' size and batch size in
:mod:`ldcsr_core.window_sizing` (its public names importable from here too, as the docs write them).
:func:`run_plan` is the one tile loop of the engine (``upscale``, the raster pipeline, Dask and
the plugins all go through it) and reports through the one progress protocol
(:mod:`ldcsr_core.progress`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from .errors import InputError, is_out_of_memory
from .heap import bounded_retained_heap
from .latent_noise import LatentNoise, check_noise
from .models.ldcsr import LDCSR, padded_window, unet_scale
from .models.resample import AxisWindow, Window2d, upload
from .prefetch import BackgroundSink, batches, pipelined
from .progress import ProgressCallback, TileProgress
from .rules import (
    LATENT, MIN_WINDOW, TILE_OVERLAP_OUT, beyond_unit, check_callable, check_count, check_flag, check_list, check_mode,
    check_seed,
)
from .image_rules import unit_advice
from .threads import tile_threads
from .words import counted
from .tileplan import RowMerger, Span, Tile, TilePlan, blend_weights, check_plan, window_signature
from .window_sizing import (  # the public ones stay importable from here (docs/ENGINE_API.md: tiling.engine_window)
    DEFAULT_BUDGET_MB, batch_size, engine_window, memory_budget_mb, model_window, plan_for_model, plan_scale,
)

__all__ = ["tile_window", "process_tile", "process_tiles", "HostOutputs", "TileProcessor", "run_plan",
           "plan_for_model", "plan_scale", "model_window", "engine_window", "memory_budget_mb", "batch_size",
           "is_out_of_memory"]

log = logging.getLogger(__name__)

# Freed memory a run keeps for its next windows (MiB above its resident size at the start): a
# window's working set is about the activation budget; beyond this the heap is trimmed.
RETAINED_HEAP_MB = DEFAULT_BUDGET_MB
# A card groups the windows of one geometry among this many batches' worth of consecutive windows
# (the interior windows of several tile rows share a launch; their outputs wait at most that long).
BATCH_SPAN = 2


def _model(model) -> LDCSR:
    """``model`` by :func:`ldcsr_core.api.resolve_model`'s rule (the one for every ``model=``): a
    name or anything else is an :class:`InputError` ('str' object has no attribute 'config')."""
    from .api import resolve_model  # (api imports this module)

    return resolve_model(model)


def tile_window(plan: TilePlan, tile: Tile) -> Window2d:
    """The resampling window of ``tile`` in the global input/output grids of ``plan``."""
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    return Window2d(
        AxisWindow(h, H, tile.read_y.start, tile.read_y.size, tile.write_y.start, tile.write_y.size),
        AxisWindow(w, W, tile.read_x.start, tile.read_x.size, tile.write_x.start, tile.write_x.size))


@torch.inference_mode()
def process_tile(model: LDCSR, lr_tile: np.ndarray, tile: Tile, plan: TilePlan, *, mode: str = "diffusion",
                 seed: int = 0, noise: LatentNoise | None = None) -> np.ndarray:
    """Run the model on one tile: ``lr_tile`` (h×w×3 float32 in [0,1], the tile's ``read`` window)
    → (H×W×3 float32 of the tile's ``write`` window, nominally in [0,1] but unclamped). Pure in its inputs."""
    return process_tiles(model, [lr_tile], [tile], plan, mode=mode, seed=seed, noise=noise)[0]


class HostOutputs:
    """The outputs of one batch on their way to the host: :meth:`result` waits for them.

    On a CUDA card the batch's outputs are copied into pinned host memory asynchronously (queued
    right after the batch's kernels), so the host can launch the next batch and blend this one
    while the card computes; everywhere else they are already host arrays."""

    def __init__(self, arrays: list[np.ndarray] | None = None, *, wait: Callable[[], list] | None = None):
        self._arrays, self._wait = arrays, wait

    def result(self) -> list[np.ndarray]:
        """The outputs (H×W×3 float32 in [0,1], one per tile), once they are on the host."""
        if self._arrays is None:
            self._arrays, self._wait = self._wait(), None
        return self._arrays


def _to_host(out: torch.Tensor) -> HostOutputs:
    if out.device.type != "cuda":
        host = out.cpu().numpy()
        return HostOutputs([host[i] for i in range(host.shape[0])])
    pinned = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
    pinned.copy_(out, non_blocking=True)
    event = torch.cuda.Event()
    event.record()

    def wait():
        event.synchronize()
        host = pinned.numpy()
        return [host[i] for i in range(host.shape[0])]
    return HostOutputs(wait=wait)


def _to_device(arrays: list[np.ndarray], dev: torch.device) -> torch.Tensor:
    return upload(np.stack([np.ascontiguousarray(a, dtype=np.float32) for a in arrays]), dev)


@torch.inference_mode()
def process_tiles(model: LDCSR, lr_tiles, tiles, plan: TilePlan, *, mode: str = "diffusion", seed: int = 0,
                  noise: LatentNoise | None = None, deferred: bool = False):
    """:func:`process_tile` for several tiles at once, as one batch through the model.  The tiles
    must share their window geometry up to a translation (the same
    :func:`~ldcsr_core.tileplan.window_signature`; batch the triplets of one tile, or the
    interior tiles of a row); each result equals its :func:`process_tile` to float rounding.
    Returns the list of outputs, or with ``deferred`` a :class:`HostOutputs` (on a card the batch
    is then still computing when this returns)."""
    model, deferred, noise = _model(model), check_flag(deferred, "deferred"), check_noise(noise)
    lr_tiles, tiles = check_list(lr_tiles, "lr_tiles", "read windows"), check_list(tiles, "tiles", "Tiles of the plan")
    if not tiles or len(lr_tiles) != len(tiles):  # zip() cut the longer list short: outputs went missing
        raise InputError(f"give one read window per tile, at least one: got {counted(len(lr_tiles), 'window')} "
                         f"for {counted(len(tiles), 'tile')}")
    check_plan(plan, tiles)
    if len({window_signature(plan, t) for t in tiles}) > 1:
        raise InputError("tiles batched together must have the same window_signature (tileplan.window_signature)")
    for arr, t in zip(lr_tiles, tiles):
        want = (t.read_y.size, t.read_x.size, 3)
        if not isinstance(arr, np.ndarray) or arr.shape != want or arr.dtype.kind != "f":
            got = (f"shape {arr.shape} of {arr.dtype}" if isinstance(arr, np.ndarray)
                   else f"a {type(arr).__name__} (a NumPy array is needed)")
            raise InputError(f"tile {t.index} needs its read window as {want[0]}×{want[1]}×3 floats in [0, 1], "
                             f"got {got}")
        problem = beyond_unit(arr)  # NaN ran through the model as NaN, 0-255 values as a white picture
        if problem:  # (check_image's advice: 1 + 1e-12 of a sum was told to divide by 255)
            todo = ": fill them first" if problem.startswith("NaN") else unit_advice(arr, "window")
            raise InputError(f"tile {t.index}'s read window must hold values in [0, 1] (the model's input "
                             f"range), got {problem}{todo}")
    wins = [tile_window(plan, t) for t in tiles]
    run_wins = [padded_window(w) for w in wins]
    dev = model.device
    dtype = next(model.parameters()).dtype
    lr = (_to_device(lr_tiles, dev).permute(0, 3, 1, 2) * 2.0 - 1.0).to(dtype)
    noise_fn = None
    if mode == "diffusion":
        src = noise or LatentNoise(seed, model.config.diffusion.embed_dim)
        spots = [(w.y.out_start // LATENT, w.x.out_start // LATENT, w.y.out_len // LATENT, w.x.out_len // LATENT)
                 for w in run_wins]
        noise_fn = lambda k: torch.cat([src.window(k, *spot) for spot in spots])  # noqa: E731
        if dev.type == "cuda":  # every draw up front: no upload between the sampler's steps waits for the card
            draws = [upload(noise_fn(k), dev) for k in range(model.schedule.timesteps)]
            noise_fn = draws.__getitem__
    h, H = plan.in_shape[0], plan.out_shape[0]
    run_win = run_wins[0]  # the first tile's window: the others are its translates (same taps)
    out = model.run_window(lr, run_win, mode=mode, noise=noise_fn, scale=H / h, scale_int=unet_scale(H, h),
                           osize=run_win.y.out_len)
    out = out[:, :, :wins[0].y.out_len, :wins[0].x.out_len].float().permute(0, 2, 3, 1) * 0.5 + 0.5
    host = _to_host(out)
    return host if deferred else host.result()


def _sub_tiles(tile: Tile, plan: TilePlan, parts: int) -> list[Tile]:
    """``tile``'s output window split into about ``parts``×``parts`` overlapping windows, each
    reading (within the tile's own read window) the LR pixels it needs."""
    from .tileplan import _balanced_spans, _read_span
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    ov = max(plan.overlap_out + (LATENT,)) if plan.overlap_out else (TILE_OVERLAP_OUT or 2 * LATENT)
    axes = []
    for span, n_in, n_out, rd in ((tile.write_y, h, H, tile.read_y), (tile.write_x, w, W, tile.read_x)):
        size = max(MIN_WINDOW + LATENT, -(-span.size // parts // LATENT) * LATENT + ov)
        subs = [Span(span.start + s.start, span.start + s.stop)
                for s in _balanced_spans(span.size, size, min(ov, size // 2 - LATENT))]
        margin = 8 + int(size * n_in / n_out) // 8
        axes.append([(sub, _read_span(sub, n_in, n_out, margin)) for sub in subs])
    out = []
    for wy, ry in axes[0]:
        for wx, rx in axes[1]:
            ry2 = Span(max(ry.start, tile.read_y.start), min(ry.stop, tile.read_y.stop))
            rx2 = Span(max(rx.start, tile.read_x.start), min(rx.stop, tile.read_x.stop))
            out.append(Tile(len(out), ry2, rx2, wy, wx))
    return out


def process_tile_split(model: LDCSR, lr_tile: np.ndarray, tile: Tile, plan: TilePlan, parts: int, *,
                       mode: str = "diffusion", seed: int = 0, noise: LatentNoise | None = None) -> np.ndarray:
    """:func:`process_tile` computed as ``parts``×``parts`` smaller blended windows (less memory)."""
    th, tw = tile.write_y.size, tile.write_x.size
    acc = np.zeros((th, tw, 3), np.float32)
    wsum = np.zeros((th, tw), np.float32)
    ov = plan.overlap_out
    for sub in _sub_tiles(tile, plan, parts):
        y0, x0 = sub.read_y.start - tile.read_y.start, sub.read_x.start - tile.read_x.start
        part = lr_tile[y0:y0 + sub.read_y.size, x0:x0 + sub.read_x.size]
        res = process_tile(model, part, sub, plan, mode=mode, seed=seed, noise=noise)
        ry = Span(sub.write_y.start - tile.write_y.start, sub.write_y.stop - tile.write_y.start)
        rx = Span(sub.write_x.start - tile.write_x.start, sub.write_x.stop - tile.write_x.start)
        wgt = blend_weights(ry, th, max(ov[0], 2 * LATENT))[:, None] * blend_weights(rx, tw, max(ov[1], 2 * LATENT))[None]
        acc[ry.start:ry.stop, rx.start:rx.stop] += res * wgt[..., None]
        wsum[ry.start:ry.stop, rx.start:rx.stop] += wgt
    return acc / wsum[..., None]


class TileProcessor:
    """:func:`process_tile` for the tiles of one run, with the out-of-memory fallback: a window that
    runs out of memory (GPU or CPU) is recomputed as 2×2, then 4×4 … smaller blended windows, and
    the run's later tiles keep the smaller size.  :meth:`many` runs windows of one geometry as one
    batch (``batch``: at most that many; default :func:`batch_size`); a batch that runs out of
    memory is split in halves, down to one window.  On the CPU each tile runs on the thread count of
    :func:`ldcsr_core.threads.tile_threads` (the one thread rule).  Every tile loop (``run_plan``, the raster
    pipeline, Dask workers) computes its tiles through one of these."""

    def __init__(self, model: LDCSR, plan: TilePlan, *, mode: str = "diffusion", seed: int = 0,
                 noise: LatentNoise | None = None, batch: int | None = None):
        self.model, self.plan, self.mode, self.seed = _model(model), plan, check_mode(mode), check_seed(seed)
        check_plan(plan)
        model = self.model
        noise = check_noise(noise)
        self.noise = noise if noise is not None else LatentNoise(seed, model.config.diffusion.embed_dim)
        self.parts = 1
        self.batch = batch_size(model, plan) if batch is None else check_count(batch, "batch")

    def _threads(self):
        return tile_threads() if self.model.device.type == "cpu" else contextlib.nullcontext()

    def __call__(self, lr: np.ndarray, tile: Tile) -> np.ndarray:
        model, plan = self.model, self.plan
        while True:
            try:
                with self._threads():
                    if self.parts == 1:
                        return process_tile(model, lr, tile, plan, mode=self.mode, seed=self.seed,
                                            noise=self.noise)
                    return process_tile_split(model, lr, tile, plan, self.parts, mode=self.mode,
                                              seed=self.seed, noise=self.noise)
            except Exception as err:  # noqa: BLE001 - only allocation failures are retried
                self._split_after(err, tile)

    def _split_after(self, err: Exception, tile: Tile) -> None:
        """After ``err`` on ``tile``: smaller windows from now on if it ran out of memory and the
        windows can still shrink; otherwise ``err`` is raised."""
        side = max(tile.write_y.size, tile.write_x.size) / (2 * self.parts)
        if not is_out_of_memory(err) or side < MIN_WINDOW + LATENT:
            raise err
        _release_memory(self.model)
        self.parts *= 2
        log.warning("out of memory on a %d×%d window: retrying as %d×%d smaller windows",
                    tile.write_y.size, tile.write_x.size, self.parts, self.parts)

    def signature(self, tile: Tile) -> tuple:
        """Windows with equal signatures may share a batch (:func:`~ldcsr_core.tileplan.window_signature`)."""
        return window_signature(self.plan, tile)

    def groups(self, items: Iterable, signature: Callable | None = None) -> Iterator[list]:
        """``items`` in the groups that run as one batch each (:func:`batches`): one at a time, in
        order, on a CPU; on a card up to :attr:`batch` items of one ``signature`` (default
        :meth:`signature`, for tiles) among the next :data:`BATCH_SPAN` batches' worth of items."""
        span = BATCH_SPAN * self.batch if self.batch > 1 else 1
        return batches(items, signature or self.signature, self.batch, span=span)

    def many(self, items: list[tuple[np.ndarray, Tile]]) -> list[np.ndarray]:
        """``[self(lr, tile) for lr, tile in items]``, computed as batches of at most ``batch``
        windows; the items must share one :meth:`signature`."""
        return self.submit(items).result()

    def submit(self, items: list[tuple[np.ndarray, Tile]]) -> HostOutputs:
        """:meth:`many`, launched: on a card the batches are queued and their outputs come back
        while the host goes on (``.result()`` waits for them); elsewhere they are computed now."""
        items = check_list(items, "items", "(read window, tile) pairs")
        for item in items:  # was "cannot unpack non-iterable ..." in the first batch
            if isinstance(item, (str, bytes)) or not isinstance(item, (tuple, list)) or len(item) != 2:
                raise InputError(f"items must hold (read window, tile) pairs, got {type(item).__name__} {item!r:.60}")
        parts: list = []
        k = 0
        while k < len(items):
            n = min(self.batch, len(items) - k)
            group = items[k:k + n]
            if self.parts > 1 or self.batch == 1:  # split windows after running out of memory, or a
                parts.append(HostOutputs([self(lr, t) for lr, t in group]))  # CPU: one by one, now
            else:
                try:
                    with self._threads():
                        parts.append(process_tiles(self.model, [lr for lr, _ in group], [t for _, t in group],
                                                   self.plan, mode=self.mode, seed=self.seed, noise=self.noise,
                                                   deferred=True))
                except Exception as err:  # noqa: BLE001 - only allocation failures are retried
                    if n == 1:  # one window too large: smaller windows from now on
                        self._split_after(err, group[0][1])
                        continue
                    if not is_out_of_memory(err):
                        raise
                    _release_memory(self.model)
                    self.batch = max(1, n // 2)
                    log.warning("out of memory on a batch of %d windows: batches of %d from now on", n, self.batch)
                    continue
            k += n
        if len(parts) == 1:
            return parts[0]
        return HostOutputs(wait=lambda: [o for part in parts for o in part.result()])


def run_plan(model: LDCSR, plan: TilePlan, read_window: Callable[[int, int, int, int], np.ndarray],
             sink: Callable[[int, np.ndarray], None], *, mode: str = "diffusion", seed: int = 0,
             callback: ProgressCallback | None = None, channels: int = 3,
             tiles: Iterator[tuple[Tile, np.ndarray]] | None = None, sink_thread: bool = False) -> None:
    """Run every tile of ``plan`` and stream blended rows to ``sink(y0, rows)``.

    ``read_window(y0, x0, h, w)`` returns LR pixels (h×w×3 float32 in [0,1]). ``tiles`` may supply
    (tile, output) pairs computed elsewhere (e.g. on a Dask cluster), in plan order.
    ``callback(TileProgress)`` is called before the first tile and after each one; it may raise
    :class:`~ldcsr_core.Cancelled` to stop the run.  A tile that runs out of memory (GPU or CPU) is
    recomputed as 2×2, then 4×4 … smaller windows, and the rest of the run keeps the smaller size.
    ``sink_thread``: ``sink`` runs in a background thread (:class:`~ldcsr_core.prefetch.BackgroundSink`,
    for a card, whose host thread should only launch, take and blend); its errors are raised here.
    """
    model = _model(model)
    check_plan(plan)
    check_callable(read_window, "read_window", optional=tiles is not None)  # unused with tiles=
    check_callable(sink, "sink", optional=False)
    check_callable(callback)
    sink_thread = check_flag(sink_thread, "sink_thread")
    if tiles is not None:
        tiles = _Pairs(tiles)
    total = len(plan.tiles)
    if callback is not None:
        callback(TileProgress(0, total))
    if tiles is None:
        processor = TileProcessor(model, plan, mode=mode, seed=seed)

        def compute():  # windows of one geometry as one batch on a card; one by one on a CPU
            steps = pipelined(processor, plan.tiles, processor.signature, processor.submit,
                              prepare=lambda group: [(read_window(*t.read), t) for t in group])
            with contextlib.closing(steps):  # a cancel stops it now
                yield from steps
        tiles = compute()
    background = BackgroundSink(sink) if sink_thread else None
    merger = RowMerger(plan, background or sink, channels=channels)
    try:
        with bounded_retained_heap(RETAINED_HEAP_MB << 20) as trim:  # windows reuse each other's memory
            for i, (t, out) in enumerate(tiles, 1):
                merger.aggregate(out, t)
                trim()  # ... up to a bound, so that memory does not grow with the scene
                if callback is not None:
                    callback(TileProgress(i, total, t, out))
        merger.finalize()
        if background is not None:
            background.close()  # every row written (a write error is raised here)
    finally:  # a cancel or an error: stop the producers now (a read-ahead thread), not at collection
        close = getattr(tiles, "close", None)
        if close is not None:
            close()
        if background is not None:
            background.close(abort=True)  # no-op after a normal close; else drops unwritten rows


class _Pairs:
    """run_plan's ``tiles=`` as an iterator of ``(tile, output)`` pairs, each unpacked as it comes
    (the merger checks the tile and its output); :class:`InputError` for what is none (an int was
    "'int' object is not iterable", a bare tile "cannot unpack non-iterable ..."). ``close``
    closes the caller's iterator (a cancel stops its generator now)."""

    def __init__(self, tiles):
        if isinstance(tiles, (str, bytes, np.ndarray, Tile)) or not hasattr(tiles, "__iter__"):
            raise InputError(f"tiles must be an iterable of (tile, output) pairs in plan order, or None, got "
                             f"{type(tiles).__name__} {tiles!r:.60}")
        self._it = iter(tiles)

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._it)
        if isinstance(item, (str, bytes)) or not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InputError(f"tiles must hold (tile, output) pairs, got {type(item).__name__} {item!r:.60}")
        return item[0], item[1]

    def close(self):
        close = getattr(self._it, "close", None)
        if close is not None:
            close()


def _release_memory(model: LDCSR) -> None:
    import gc
    gc.collect()
    if model.device.type == "cuda":
        torch.cuda.empty_cache()
    elif model.device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()
