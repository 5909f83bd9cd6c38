"""Scene adaptation judged against the truth: the scene is ``HR↓s``, adaptation sees only the scene,
quality is measured against ``HR`` (never seen by anything).

For each HR image (RSSCN7 ``val``, none of them used in training) and scale, the scene is the HR
image degraded by the protocol's PIL bicubic to ``(int(H/s), int(W/s))``. :func:`ldcsr_core.adapt`
fine-tunes the model on the scene alone (its guard holds back a strip of the scene), and the fast
mode of the base, of the fine-tuned candidate (kept or not) and of what the user ends up with (the
candidate if the guard kept it, else the base) is scored against HR with ``ldcsr evaluate``'s
metric (PSNR, RGB uint8, border crop ``ceil(s)``)::

    python benchmarks/adapt_scenes.py ../shared/data/rsscn7/val --threads 2 --json adapt.json
    python benchmarks/adapt_scenes.py ../shared/data/rsscn7/val --scenes eForest/e091 --scales 2 --lr 1e-4

Prints one row per scene and scale, then the means, and a Markdown table for the model card.

``--ceiling`` measures what no scene adaptation can beat with a recipe: the model is fine-tuned
(same recipe, ``--steps`` or the recipe's step cap, no guard) on pairs made from the *true* HR image
(``HR↓s → HR``, the very mapping it is scored on) instead of the scene (``scene↓s → scene``, one
octave coarser). It uses the answer, so it is a bound, never a result.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_SCENES = ("eForest/e091", "eForest/e294", "eForest/e392", "aGrass/a193", "bField/b091",
                  "cIndustry/c191", "dRiverLake/d291", "fResident/f091", "gParking/g193")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", type=Path, help="folder of HR images in class folders (RSSCN7 val)")
    p.add_argument("--scenes", default=",".join(DEFAULT_SCENES), help="class/stem list, comma-separated")
    p.add_argument("--scales", default="2,4")
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="base model (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--ceiling", action="store_true", help="fine-tune on the true HR pairs instead (a bound)")
    for f in dataclasses.fields(__import__("ldcsr_core.adaptation", fromlist=["Recipe"]).Recipe):
        p.add_argument("--" + f.name.replace("_", "-"), dest="r_" + f.name, default=None,
                       type=(str if f.name == "params" else int if f.type in ("int", "int | None") else float))
    a = p.parse_args(argv)

    import torch

    import ldcsr_core
    from ldcsr_core.adaptation import Recipe
    from ldcsr_core.training.data import degrade, load_rgb
    from ldcsr_core.training.evaluate import _bicubic
    from ldcsr_core.training.metrics import border_crop, psnr

    torch.set_num_threads(a.threads)
    recipe = Recipe(**{k[2:]: v for k, v in vars(a).items() if k.startswith("r_") and v is not None})
    base = ldcsr_core.load_model(a.model, device="cpu", dtype="float32")
    rows = []
    print(f"recipe {recipe}; budget {a.minutes} min, steps {a.steps}, {a.threads} threads", flush=True)
    for name in a.scenes.split(","):
        hr = load_rgb(next(a.data.glob(f"{name}.*")))  # RSSCN7's .jpg, or e.g. a .png of another sensor
        H, W = hr.shape[:2]
        for s in (float(v) for v in a.scales.split(",")):
            scene = degrade(hr, (int(H / s), int(W / s)))

            def score(model):
                sr = ldcsr_core.upscale(scene, out_shape=(H, W), model=model, mode="fast")
                return psnr(border_crop(sr, s), border_crop(hr, s))

            p_bic = psnr(border_crop(_bicubic(scene, (H, W)), s), border_crop(hr, s))
            p_base = score(base)
            t0 = time.perf_counter()
            if a.ceiling:
                p_ceil, n = ceiling(base, hr, s, recipe, a.steps or recipe.max_steps, a.seed, score)
                rows.append({"scene": name, "scale": s, "base_gain": p_base - p_bic, "ceiling_delta": p_ceil - p_base,
                             "steps": n, "wall_s": time.perf_counter() - t0})
                print(f"{name:18s} ×{s:g}: base {p_base - p_bic:+.2f} dB over bicubic; fine-tuned on the true pairs "
                      f"{p_ceil - p_base:+.3f} dB vs base; {n} steps, {time.perf_counter() - t0:.0f} s", flush=True)
                continue
            res = ldcsr_core.adapt(scene, s, base, minutes=a.minutes, steps=a.steps, seed=a.seed, recipe=recipe)
            wall = time.perf_counter() - t0
            p_cand = score(res.candidate)
            p_final = p_cand if res.kept else p_base
            row = {"scene": name, "scale": s, "scene_px": list(scene.shape[:2]), "psnr_bicubic": p_bic,
                   "base_gain": p_base - p_bic, "candidate_delta": p_cand - p_base,
                   "guard_delta": res.gain_db, "octave_delta": res.octave_gain_db, "kept": res.kept, "delta": p_final - p_base,
                   "steps": res.steps, "train_s": res.seconds, "wall_s": wall}
            rows.append(row)
            print(f"{name:18s} ×{s:g} {scene.shape[1]}×{scene.shape[0]}: base {row['base_gain']:+.2f} dB over bicubic; "
                  f"fine-tuned {row['candidate_delta']:+.3f} dB vs base (guard saw {res.gain_db:+.3f}, octave "
                  f"check {res.octave_gain_db:+.3f}: "
                  f"{'kept' if res.kept else 'rejected'}) -> {row['delta']:+.3f} dB; {res.steps} steps, "
                  f"{wall:.0f} s", flush=True)
    print()
    if a.ceiling:
        for s in sorted({r["scale"] for r in rows}):
            d = [r["ceiling_delta"] for r in rows if r["scale"] == s]
            print(f"×{s:g}: fine-tuned on the true pairs {np.mean(d):+.3f} dB vs base on average "
                  f"(min {min(d):+.3f}, max {max(d):+.3f}), {len(d)} scenes")
        _dump(a, recipe, rows)
        return 0
    for s in sorted({r["scale"] for r in rows}):
        rs = [r for r in rows if r["scale"] == s]
        print(f"×{s:g}: mean {np.mean([r['delta'] for r in rs]):+.3f} dB (worst {min(r['delta'] for r in rs):+.3f}); "
              f"unguarded {np.mean([r['candidate_delta'] for r in rs]):+.3f} (worst "
              f"{min(r['candidate_delta'] for r in rs):+.3f}); kept {sum(r['kept'] for r in rs)}/{len(rs)}")
    print(f"all: mean {np.mean([r['delta'] for r in rows]):+.3f} dB")
    print("\n| scene | scale | base over bicubic | fine-tuned vs base | held-back strip | octave check | result vs base |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scene'].split('/')[-1]} | ×{r['scale']:g} | {r['base_gain']:+.2f} | {r['candidate_delta']:+.3f} | "
              f"{r['guard_delta']:+.3f} | {r['octave_delta']:+.3f} | {'kept' if r['kept'] else 'rejected'}: "
              f"**{r['delta']:+.3f}** |")
    _dump(a, recipe, rows)
    return 0


def _dump(a, recipe, rows) -> None:
    if a.json:
        a.json.write_text(json.dumps({"recipe": dataclasses.asdict(recipe), "minutes": a.minutes,
                                      "steps": a.steps, "threads": a.threads, "argv": sys.argv[1:],
                                      "rows": rows}, indent=2))


def ceiling(base, hr, scale, recipe, steps, seed, score):
    """Fine-tune a copy of ``base`` on pairs cut from ``hr`` itself (the truth); its score."""
    from ldcsr_core.finetune import PairSampler, fine_tune, like_base, training_copy

    model = training_copy(base)
    n = fine_tune(model, PairSampler([hr], scale, recipe, seed), recipe, budget=float("inf"), steps=steps,
                  callback=None)
    return score(like_base(model, base)), n


if __name__ == "__main__":
    sys.exit(main())
