"""Training/evaluation data: HR images from any folder, LR made by antialiased PIL bicubic."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError

__all__ = ["IMAGE_SUFFIXES", "list_images", "load_rgb", "degrade", "MultiScaleCrops"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


def list_images(folder: str | Path) -> list[Path]:
    """All images below ``folder`` (recursive, sorted)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    return files


def load_rgb(path: str | Path) -> np.ndarray:
    """H×W×3 uint8. GeoTIFFs and other rasters with ≠3 bands go through rasterio (first 3 bands,
    stretched to 8 bit if needed)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.mode in ("RGB", "L", "RGBA", "P"):
                return np.asarray(im.convert("RGB"))
    except Exception:
        pass
    import rasterio
    with rasterio.open(path) as src:
        a = src.read(list(range(1, min(3, src.count) + 1))).astype(np.float32)
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    lo, hi = np.percentile(a, 0.5), np.percentile(a, 99.5)
    a = np.clip((a - lo) / max(hi - lo, 1e-6) * 255.0 + 0.5, 0, 255)
    return a.astype(np.uint8).transpose(1, 2, 0)


def degrade(hr: np.ndarray, lr_hw: tuple[int, int]) -> np.ndarray:
    """The paper's degradation: PIL (antialiased) bicubic resize of the uint8 HR image."""
    return np.asarray(Image.fromarray(hr).resize((lr_hw[1], lr_hw[0]), Image.BICUBIC))


class MultiScaleCrops:
    """Random HR/LR training pairs with one continuous scale per batch (as the official loader).

    LR patches are ``lr_size`` px; the HR crop is ``int(lr_size · s)`` px, so the effective ratio is
    HR/LR. Augmentation: flips and 90° rotations.
    """

    def __init__(self, files, lr_size: int = 32, scale_range=(1.2, 8.0), seed: int = 0):
        self.images = [load_rgb(f) for f in files]
        self.lr_size = lr_size
        self.scale_range = scale_range
        self.rng = random.Random(seed)
        self._sides = [min(im.shape[:2]) for im in self.images]
        need = int(lr_size * max(scale_range))
        if not self.images or max(self._sides) < need:
            raise InputError(
                f"no training image is at least {need} px on each side (the HR crop for LR patches of "
                f"{lr_size} px at scale {max(scale_range):g}; the largest image has "
                f"{max(self._sides, default=0)} px): use a smaller lr_size or scale range, or larger images")

    def batch(self, batch_size: int):
        """Returns (lr uint8 B×h×w×3, hr uint8 B×H×W×3); crops come only from images large enough."""
        s = self.rng.uniform(*self.scale_range)
        hr_size = int(self.lr_size * s)
        fits = [i for i, side in enumerate(self._sides) if side >= hr_size]
        lrs, hrs = [], []
        while len(hrs) < batch_size:
            img = self.images[fits[self.rng.randrange(len(fits))]]
            H, W = img.shape[:2]
            y, x = self.rng.randrange(H - hr_size + 1), self.rng.randrange(W - hr_size + 1)
            crop = img[y:y + hr_size, x:x + hr_size]
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            if self.rng.random() < 0.5:
                crop = crop[::-1]
            if self.rng.random() < 0.5:
                crop = crop.transpose(1, 0, 2)
            crop = np.ascontiguousarray(crop)
            hrs.append(crop)
            lrs.append(degrade(crop, (self.lr_size, self.lr_size)))
        return np.stack(lrs), np.stack(hrs)
