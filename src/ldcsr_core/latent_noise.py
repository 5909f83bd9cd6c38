"""The diffusion sampler's noise, defined on the global latent grid (:class:`LatentNoise`), so any
window of it is the same whatever the tiling, process or machine."""

from __future__ import annotations

import hashlib

import torch

from .errors import InputError
from .rules import check_count, check_seed, check_shape

__all__ = ["LatentNoise", "check_noise"]


class LatentNoise:
    """Gaussian noise defined on the global latent grid: chunk (k, cy, cx) comes from its own seeded
    generator, so any window of it is the same whatever the tiling, process or machine."""

    CHUNK = 64

    def __init__(self, seed: int, channels: int = 4):
        self.seed, self.channels = check_seed(seed), check_count(channels, "channels")
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
        k, (y0, x0) = check_count(k, "k (the noise's number)", 0), check_shape((y0, x0), "(y0, x0)")
        h, w = check_count(h, "h (latent rows)"), check_count(w, "w (latent columns)")
        out = torch.empty((1, self.channels, h, w))
        c = self.CHUNK
        for cy in range(y0 // c, (y0 + h - 1) // c + 1):
            for cx in range(x0 // c, (x0 + w - 1) // c + 1):
                ys, ye = max(y0, cy * c), min(y0 + h, (cy + 1) * c)
                xs, xe = max(x0, cx * c), min(x0 + w, (cx + 1) * c)
                out[0, :, ys - y0:ye - y0, xs - x0:xe - x0] = \
                    self._chunk(k, cy, cx)[:, ys - cy * c:ye - cy * c, xs - cx * c:xe - cx * c]
        return out


def check_noise(noise) -> LatentNoise | None:
    """``noise`` if it is a :class:`LatentNoise` or None (the run's own, from its seed), else
    :class:`InputError` naming it (a seed or a tensor given as noise= failed with "'int' object has
    no attribute 'window'" at the first diffusion tile, or was ignored in fast mode)."""
    if noise is None or isinstance(noise, LatentNoise):
        return noise
    raise InputError(f"noise must be a LatentNoise or None, got {type(noise).__name__} {noise!r:.60}")
