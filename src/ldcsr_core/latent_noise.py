"""The diffusion sampler's noise, defined on the global latent grid (:class:`LatentNoise`), so any
window of it is the same whatever the tiling, process or machine."""

from __future__ import annotations

import hashlib

import torch

from .rules import check_seed

__all__ = ["LatentNoise"]


class LatentNoise:
    """Gaussian noise defined on the global latent grid: chunk (k, cy, cx) comes from its own seeded
    generator, so any window of it is the same whatever the tiling, process or machine."""

    CHUNK = 64

    def __init__(self, seed: int, channels: int = 4):
        self.seed, self.channels = check_seed(seed), channels
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
