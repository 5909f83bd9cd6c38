"""Side-by-side ×4 crops for the model card: bicubic | fast | diffusion | HR.

    python scripts/crop_comparison.py ../shared/data/rsscn7/val docs/v2_x4_crops.png \
        --images e091 f191 c291 --model ldcsr-compact-rsscn7

Each row is one validation image: the HR image is downsampled ×4 with PIL bicubic (the official
protocol), super-resolved, and a ``--crop``-px window from its centre is shown at ``--zoom``×
(nearest neighbour, so the pixels stay visible).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import ldcsr_core


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--images", nargs="+", default=["e091", "f191", "c291"])
    p.add_argument("--model", default=None)
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--zoom", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    model = ldcsr_core.load_model(a.model)
    cols = ["bicubic", "fast", "diffusion", "HR"]
    rows = []
    for name in a.images:
        path = next(a.data.rglob(f"{name}.*"))
        hr = np.asarray(Image.open(path).convert("RGB"))
        h, w = (hr.shape[0] // a.scale) * a.scale, (hr.shape[1] // a.scale) * a.scale
        hr = hr[:h, :w]
        lr = np.asarray(Image.fromarray(hr).resize((w // a.scale, h // a.scale), Image.BICUBIC))
        pics = [np.asarray(Image.fromarray(lr).resize((w, h), Image.BICUBIC)),
                ldcsr_core.upscale(lr, out_shape=(h, w), model=model, mode="fast"),
                ldcsr_core.upscale(lr, out_shape=(h, w), model=model, mode="diffusion", seed=a.seed), hr]
        y0, x0 = (h - a.crop) // 2, (w - a.crop) // 2
        crops = [Image.fromarray(np.ascontiguousarray(x[y0:y0 + a.crop, x0:x0 + a.crop])).resize(
            (a.crop * a.zoom,) * 2, Image.NEAREST) for x in pics]
        rows.append((name, crops))
    side, pad, top = a.crop * a.zoom, 4, 18
    sheet = Image.new("RGB", (len(cols) * (side + pad) + pad, top + len(rows) * (side + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for j, c in enumerate(cols):
        draw.text((pad + j * (side + pad) + 4, 3), f"{c} (x{a.scale})" if j < 3 else c, fill="black")
    for i, (name, crops) in enumerate(rows):
        for j, im in enumerate(crops):
            sheet.paste(im, (pad + j * (side + pad), top + i * (side + pad)))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".part.png")
    sheet.save(tmp)
    tmp.replace(a.out)
    print(f"wrote {a.out} ({model.name} v{model.version})")


if __name__ == "__main__":
    main()
