"""Where fast mode's (small) dependence on the window plan comes from, measured by freezing the
window-wide statistics of the model::

    python benchmarks/plan_dependence_sources.py --image c091 --scale 4 --crop 160

Runs one RSSCN7 validation crop under two plans the engine makes (a card's one window and the
live lens's 256-px windows) and prints their PSNR as they are, then with the statistics of every
contrast-aware channel attention (CCA) and/or GroupNorm call replaced by those of the one-window
run (the whole image's): what is left is the windows' borders.  An experiment on the shipped
model's inference path (it patches ``models.autoencoder``), not something the engine does.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from plan_independence import centre_crop, psnr, run  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", default="c091")
    p.add_argument("--scale", type=float, default=4.0)
    p.add_argument("--crop", type=int, default=160)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                  "rsscn7", "val"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    import ldcsr_core
    from ldcsr_core import tiling
    from ldcsr_core.models import autoencoder as ae
    from ldcsr_core.tileplan import plan_tiles

    model = ldcsr_core.load_model(None, device="cpu", dtype="float32")
    lr = centre_crop(glob.glob(os.path.join(a.data, "*", f"{a.image}.jpg"))[0], a.crop)
    out_shape = (round(a.crop * a.scale),) * 2
    one = tiling.plan_for_model(model, lr.shape[:2], out_shape, None, budget_mb=0.5 * 141e9 / 2 ** 20, mode="fast")
    lens = plan_tiles(lr.shape[:2], out_shape, window=256, overlap_out=model.tile_overlap)
    cca, gn = ae.contrast_stats, ae.norm_swish
    records: dict[str, list] = {"cca": [], "gn": []}

    def gn_apply(norm, x, mean, var):
        n, c, h, w = x.shape
        xr = x.float().reshape(n, norm.num_groups, -1)
        y = ((xr - mean[..., None]) / torch.sqrt(var[..., None] + norm.eps)).reshape(n, c, h, w)
        return F.silu(y * norm.weight.view(1, c, 1, 1) + norm.bias.view(1, c, 1, 1)).to(x.dtype)

    def cca_record(x):
        records["cca"].append(cca(x))
        return records["cca"][-1]

    def gn_record(norm, x):
        xr = x.float().reshape(x.shape[0], norm.num_groups, -1)
        records["gn"].append((xr.mean(-1), xr.var(-1, unbiased=False)))
        return gn_apply(norm, x, *records["gn"][-1])

    def replay(kind):
        calls = iter(range(10 ** 9))
        if kind == "cca":
            return lambda x: records["cca"][next(calls) % len(records["cca"])].to(x.dtype)
        return lambda norm, x: gn_apply(norm, x, *records["gn"][next(calls) % len(records["gn"])])

    print(f"{a.image} ×{a.scale:g}, {a.crop}² LR: {len(one.tiles)} window vs {len(lens.tiles)} (lens)")
    for frozen in ((), ("cca",), ("gn",), ("cca", "gn")):
        records["cca"].clear()
        records["gn"].clear()
        ae.contrast_stats, ae.norm_swish = cca_record, gn_record  # the one-window run, recorded
        try:
            ref = run(model, one, lr, "fast", 0)
            ae.contrast_stats = replay("cca") if "cca" in frozen else cca
            ae.norm_swish = replay("gn") if "gn" in frozen else gn
            tiled = run(model, lens, lr, "fast", 0)
        finally:
            ae.contrast_stats, ae.norm_swish = cca, gn
        label = " + ".join(k.upper() for k in frozen) or "nothing"
        print(f"  statistics frozen: {label:10s} one window vs lens: {psnr(ref, tiled):6.2f} dB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
