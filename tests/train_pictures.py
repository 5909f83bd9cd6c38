"""Small synthetic pictures and a folder of them, for the tests of `ldcsr train` and `ldcsr evaluate`."""

import numpy as np
from PIL import Image


def picture(side=96, seed=0, period=4.0):
    """A ``side``² RGB uint8 picture: a sine pattern (``period`` px across) with the seed's noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    base = 127 + 80 * np.sin(xx / period) * np.cos(yy / 6)
    return np.clip(base[..., None] + rng.normal(0, 5, (side, side, 3)), 0, 255).astype(np.uint8)


def picture_folder(folder, pictures):
    """``folder`` holding ``img0.png``, ``img1.png``, … of ``pictures``; returns ``folder``."""
    for i, rgb in enumerate(pictures):
        Image.fromarray(rgb).save(folder / f"img{i}.png")
    return folder
