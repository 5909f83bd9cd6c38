"""Validation during training: gain over bicubic and HF ratio on centre crops of a fixed set of
validation images."""

from __future__ import annotations

import numpy as np
import torch

from ..models.ldcsr import LDCSR
from .data import degrade, to_tensor, to_uint8
from .metrics import border_crop, hf_ratio, psnr

__all__ = ["validate", "validation_set", "centre_crop", "VAL_SCALES", "VAL_CROP"]

VAL_SCALES, VAL_CROP = (2.0, 4.0), 192


def centre_crop(img, crop: int = VAL_CROP):
    """The square centre crop of ``img`` that :func:`validate` scores (its shorter side if smaller)."""
    H, W = img.shape[:2]
    c = min(crop, H, W)
    return img[(H - c) // 2:(H - c) // 2 + c, (W - c) // 2:(W - c) // 2 + c]


def validation_set(val_dir, limit) -> list:
    """A fixed subset of the validation images, as (name, image): every k-th, so that at most
    ``limit`` remain. Checked before any training step by evaluate's rule on the centre crops that
    :func:`validate` scores (too small for a scale, restored beyond ×8, one flat colour: InputError)."""
    from pathlib import Path

    from .data import list_images, load_images, load_rgb, split_source
    from .evaluate import check_sizes

    if not val_dir:
        return []
    path = split_source(val_dir)[0]
    if Path(path).is_file():
        named = [(f"{val_dir}[{i}]", a) for i, a in enumerate(load_images(val_dir, split="val"))]
    else:
        named = [(str(f), f) for f in list_images(val_dir)]
    if limit and len(named) > limit:
        named = named[:: -(-len(named) // limit)]
    named = [(n, load_rgb(a) if isinstance(a, Path) else a) for n, a in named]
    check_sizes([(n, centre_crop(a)) for n, a in named], VAL_SCALES,
                advice=f"remove it from the validation images: their centre crops are scored at "
                       f"{' and '.join(f'×{s:g}' for s in VAL_SCALES)}")
    return named


@torch.no_grad()
def validate(model: LDCSR, val_images, scales=VAL_SCALES, mode="fast", crop=VAL_CROP, seed=0):
    """Mean PSNR gain over PIL bicubic (dB) and median HF ratio (model and bicubic) per scale on
    centre crops."""
    from PIL import Image
    was_training = model.training
    model.eval()
    res = {}
    for s in scales:
        g, hf, hf_bic = [], [], []
        for img in val_images:
            hr = centre_crop(img, crop)
            c = hr.shape[0]
            lh = int(c / s)
            lr = degrade(hr, (lh, lh))
            out = model.super_resolve(to_tensor(lr[None], model.device), (c, c), mode=mode,
                                      generator=torch.Generator(model.device).manual_seed(seed))
            sr = to_uint8(out)[0]
            bic = np.asarray(Image.fromarray(lr).resize((c, c), Image.BICUBIC))
            g.append(psnr(border_crop(sr, s), border_crop(hr, s)) - psnr(border_crop(bic, s), border_crop(hr, s)))
            hf.append(hf_ratio(sr, hr, lr.shape[:2]))
            hf_bic.append(hf_ratio(bic, hr, lr.shape[:2]))
        res[s] = {"gain_db": float(np.mean(g)), "hf_ratio": float(np.median(hf)),
                  "bicubic_hf_ratio": float(np.median(hf_bic))}
    model.train(was_training)
    return res
