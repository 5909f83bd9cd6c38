"""Tiled inference, the model side: global latent noise, one tile through the model, the tile loop.

Tile geometry, blending and row merging are torch-free and live in :mod:`ldcsr_core.tileplan`.
:func:`run_plan` is the one tile loop of the engine (``upscale``, the raster pipeline, Dask and
the plugins all go through it) and reports through the one progress protocol
(:mod:`ldcsr_core.progress`).
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterator

import numpy as np
import torch

from .models.ldcsr import LDCSR, padded_window, unet_scale
from .models.resample import AxisWindow, Window2d
from .progress import ProgressCallback, TileProgress
from .rules import LATENT
from .tileplan import RowMerger, Tile, TilePlan

__all__ = ["LatentNoise", "tile_window", "process_tile", "run_plan"]


def tile_window(plan: TilePlan, tile: Tile) -> Window2d:
    """The resampling window of ``tile`` in the global input/output grids of ``plan``."""
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    return Window2d(
        AxisWindow(h, H, tile.read_y.start, tile.read_y.size, tile.write_y.start, tile.write_y.size),
        AxisWindow(w, W, tile.read_x.start, tile.read_x.size, tile.write_x.start, tile.write_x.size))


class LatentNoise:
    """Gaussian noise defined on the global latent grid: chunk (k, cy, cx) comes from its own seeded
    generator, so any window of it is the same whatever the tiling, process or machine."""

    CHUNK = 64

    def __init__(self, seed: int, channels: int = 4):
        self.seed, self.channels = int(seed), channels
        self._cache: dict = {}

    def _chunk(self, k: int, cy: int, cx: int) -> torch.Tensor:
        key = (k, cy, cx)
        if key not in self._cache:
            digest = hashlib.sha256(f"ldcsr-noise:{self.seed}:{k}:{cy}:{cx}".encode()).digest()
            g = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = torch.randn((self.channels, self.CHUNK, self.CHUNK), generator=g)
        return self._cache[key]

    def window(self, k: int, y0: int, x0: int, h: int, w: int) -> torch.Tensor:
        """(1, C, h, w) noise number ``k`` for latent rows y0.. and columns x0.."""
        out = torch.empty((1, self.channels, h, w))
        c = self.CHUNK
        for cy in range(y0 // c, (y0 + h - 1) // c + 1):
            for cx in range(x0 // c, (x0 + w - 1) // c + 1):
                ys, ye = max(y0, cy * c), min(y0 + h, (cy + 1) * c)
                xs, xe = max(x0, cx * c), min(x0 + w, (cx + 1) * c)
                out[0, :, ys - y0:ye - y0, xs - x0:xe - x0] = \
                    self._chunk(k, cy, cx)[:, ys - cy * c:ye - cy * c, xs - cx * c:xe - cx * c]
        return out


@torch.no_grad()
def process_tile(model: LDCSR, lr_tile: np.ndarray, tile: Tile, plan: TilePlan, *, mode: str = "diffusion",
                 seed: int = 0, noise: LatentNoise | None = None) -> np.ndarray:
    """Run the model on one tile: ``lr_tile`` (h×w×3 float32 in [0,1], the tile's ``read`` window)
    → (H×W×3 float32 in [0,1], the tile's ``write`` window, unclamped). Pure in its inputs."""
    win = tile_window(plan, tile)
    run_win = padded_window(win)
    ext_y, ext_x = run_win.y.out_len, run_win.x.out_len
    dev = model.device
    dtype = next(model.parameters()).dtype
    lr = torch.from_numpy(np.ascontiguousarray(lr_tile, dtype=np.float32)).permute(2, 0, 1)[None]
    lr = (lr.to(dev) * 2.0 - 1.0).to(dtype)
    noise_fn = None
    if mode == "diffusion":
        src = noise or LatentNoise(seed, model.config.diffusion.embed_dim)
        ly, lx = run_win.y.out_start // LATENT, run_win.x.out_start // LATENT
        lh, lw = ext_y // LATENT, ext_x // LATENT
        noise_fn = lambda k: src.window(k, ly, lx, lh, lw)  # noqa: E731
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    out = model.run_window(lr, run_win, mode=mode, noise=noise_fn, scale=H / h, scale_int=unet_scale(H, h),
                           osize=ext_y)
    out = out[0, :, :win.y.out_len, :win.x.out_len].float().permute(1, 2, 0)
    return (out * 0.5 + 0.5).cpu().numpy()


def run_plan(model: LDCSR, plan: TilePlan, read_window: Callable[[int, int, int, int], np.ndarray],
             sink: Callable[[int, np.ndarray], None], *, mode: str = "diffusion", seed: int = 0,
             callback: ProgressCallback | None = None, channels: int = 3,
             tiles: Iterator[tuple[Tile, np.ndarray]] | None = None) -> None:
    """Run every tile of ``plan`` and stream blended rows to ``sink(y0, rows)``.

    ``read_window(y0, x0, h, w)`` returns LR pixels (h×w×3 float32 in [0,1]). ``tiles`` may supply
    (tile, output) pairs computed elsewhere (e.g. on a Dask cluster), in plan order.
    ``callback(TileProgress)`` is called before the first tile and after each one; it may raise
    :class:`~ldcsr_core.Cancelled` to stop the run.
    """
    merger = RowMerger(plan, sink, channels=channels)
    total = len(plan.tiles)
    if callback is not None:
        callback(TileProgress(0, total))
    if tiles is None:
        noise = LatentNoise(seed, model.config.diffusion.embed_dim)

        def compute():
            for t in plan.tiles:
                yield t, process_tile(model, read_window(*t.read), t, plan, mode=mode, seed=seed, noise=noise)
        tiles = compute()
    for i, (t, out) in enumerate(tiles, 1):
        merger.aggregate(out, t)
        if callback is not None:
            callback(TileProgress(i, total, t, out))
    merger.finalize()
