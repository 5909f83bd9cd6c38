"""Engine speed and memory: the figures of issue 9, side by side with a baseline checkout.

Every measurement runs in a fresh subprocess (``--threads`` torch threads), which builds the model,
warms up once and times one run; peak RSS is that process's ``ru_maxrss``.  Comparisons alternate
the variants (A B A B …, ``--repeat`` times) and report medians, because absolute times on shared
machines drift by 2× between runs while ratios measured this way do not.

The baseline is another checkout of this repository (e.g. ``git worktree add ../wt-base 92e6a73``),
run with ``PYTHONPATH=<baseline>/src``; ``--baseline none`` skips the side-by-side rows.

Rows (``shipped`` = the default model of each checkout, random LR images, 2 threads):
  1. shipped, fast and diffusion, 512² ×4: one window (``super_resolve``) vs default ``upscale``;
  2. shipped, fast and diffusion, 1000×700 ×4 and 512² ×2.5 through ``upscale``, baseline vs now;
  3. shipped, fast, 2048² ×4: ``upscale`` vs one window, PSNR between them, peak RSS of ``upscale``;
  4. official architecture (random weights), ``super_resolve`` 128→512 ×4, baseline vs now;
  5. ``load_model()`` + first call vs a warm call (fast, 512² ×2.5); the import of numpy + torch
     before it (paid once per Python process, whatever the model) is reported apart.

Usage: python benchmarks/bench_engine.py [--baseline ../wt-base] [--threads 2] [--repeat 3]
       [--only 1,2,3,4,5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
NOW = HERE.parents[1]


# -- the measuring child ------------------------------------------------------------------------
def _child(spec: dict) -> dict:
    t_start = time.perf_counter()
    import numpy as np
    import torch

    torch.set_num_threads(spec["threads"])
    import ldcsr_core
    t_imported = time.perf_counter()
    from ldcsr_core.config import official_default_config
    if spec["model"] == "official-default":
        model = ldcsr_core.build_model(official_default_config(), seed=0)
    else:  # the engine, not the weights, is compared: the v1 model on both sides where v1 is named
        try:
            from ldcsr_core.builtin_models import default_model_path
        except ImportError:  # a baseline before e807fc1, where the rule was in checkpoints
            from ldcsr_core.checkpoints import default_model_path
        v1 = default_model_path().parent / "ldcsr-compact-rsscn7-v1.safetensors"
        model = ldcsr_core.load_model(str(v1) if v1.is_file() else None, device="cpu")
    t_loaded = time.perf_counter()
    H, W = spec["out"]
    h, w = round(H / spec["scale"]), round(W / spec["scale"])
    rng = np.random.default_rng(0)
    img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    lr = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1

    def window():  # one model window over the whole output, as upscale(tile=huge) in the old engine
        with torch.no_grad():
            out = model.super_resolve(lr, (H, W), mode=spec["mode"], generator=torch.Generator().manual_seed(0))
        return (out[0].clamp(-1, 1).permute(1, 2, 0).numpy() * 0.5 + 0.5)

    def tiled():
        return ldcsr_core.upscale(img, out_shape=(H, W), model=model, mode=spec["mode"]).astype(np.float32) / 255

    run = window if spec["kind"] == "window" else tiled
    res = {}
    t = time.perf_counter()
    out = run()
    first = time.perf_counter() - t
    if spec.get("startup"):
        res["import_s"] = round(t_imported - t_start, 3)  # numpy + torch: once per Python process
        res["load_s"] = round(t_loaded - t_imported, 3)
        res["first_call_s"] = round(first, 3)
    times, cpu = [], []
    for _ in range(spec.get("n", 1)):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    res["seconds"] = round(statistics.median(times), 3)
    res["cpu_s"] = round(statistics.median(cpu), 3)  # process CPU time: robust to a busy machine
    res["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if spec.get("compare"):  # PSNR of this run against one window (computed after the RSS reading)
        ref = window()
        mse = float(np.mean((out.astype(np.float64) - ref) ** 2))
        res["psnr_vs_window_db"] = round(10 * np.log10(1.0 / max(mse, 1e-20)), 2)
    return res


# -- the driver ----------------------------------------------------------------------------------
class Runner:
    def __init__(self, trees: dict[str, Path], threads: int, repeat: int):
        self.trees, self.threads, self.repeat = trees, threads, repeat

    def one(self, tree: str, spec: dict) -> dict:
        root = self.trees[tree]
        env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}",
               "OMP_NUM_THREADS": str(self.threads)}
        spec = {**spec, "threads": self.threads}
        r = subprocess.run([sys.executable, str(HERE), "--_child", json.dumps(spec)], env=env,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"{tree} {spec}: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def alternate(self, variants: list[tuple[str, dict]]) -> list[list[dict]]:
        """Run every (tree, spec) variant ``repeat`` times, interleaved; results per variant."""
        out = [[] for _ in variants]
        for _ in range(self.repeat):
            for i, (tree, spec) in enumerate(variants):
                out[i].append(self.one(tree, spec))
        return out


def med(results: list[dict], key: str = "seconds") -> float:
    return statistics.median(r.get(key, float("nan")) for r in results)


def cpu_note(a: list[dict], b: list[dict]) -> str:
    """The same comparison in process CPU time (less sensitive to other jobs on the machine)."""
    ca, cb = med(a, "cpu_s"), med(b, "cpu_s")
    return f"; CPU time {ca:.2f} vs {cb:.2f} s = {ca / cb:.2f}×"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default=str(NOW.parent / "wt-base"),
                   help="checkout to compare with (default ../wt-base), or 'none'")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--row3-modes", default="fast", help="modes of row 3 (comma-separated)")
    p.add_argument("--only", default="1,2,3,4,5", help="rows to run (see the module docstring)")
    p.add_argument("--row2", default="fast:1000x700:4,diffusion:1000x700:4,fast:512x512:2.5,diffusion:512x512:2.5",
                   help="row-2 cases MODE:WxH:SCALE,...")
    p.add_argument("--json", help="also write every measurement to this file")
    p.add_argument("--_child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._child:
        print(json.dumps(_child(json.loads(a._child))))
        return
    trees = {"now": NOW}
    if a.baseline != "none":
        trees["base"] = Path(a.baseline).resolve()
    rows, raw = [], {}
    R = Runner(trees, a.threads, a.repeat)
    only = [int(v) for v in a.only.split(",")]
    row2_cases = [(m, [int(v) for v in size.split("x")][::-1], float(sc))
                  for m, size, sc in (c.split(":") for c in a.row2.split(","))]
    sides = [t for t in ("base", "now") if t in trees]

    def add(row):  # printed as soon as measured: a long run stopped early keeps its finished rows
        rows.append(row)
        print(f"| {row[0]} | {row[1]} |", flush=True)

    def fmt(xs):
        return "/".join(f"{x:.2f}" for x in xs)

    def row1():
        for mode in ("fast", "diffusion"):
            spec = {"model": "shipped", "mode": mode, "scale": 4.0, "out": [512, 512]}
            variants = [(t, {**spec, "kind": k}) for t in sides for k in ("window", "upscale")]
            res = R.alternate(variants)
            raw[f"row1-{mode}"] = res
            cells = []
            for j, t in enumerate(sides):
                win, up = med(res[2 * j]), med(res[2 * j + 1])
                cells.append(f"{t}: {win:.2f} / {up:.2f} s ({up / win:.2f}×)")
            add((f"shipped, {mode}, 512² ×4, one window / default upscale", " | ".join(cells)))
    def row2():
        if "base" not in trees:
            return
        for mode, out, s in row2_cases:
            spec = {"model": "shipped", "mode": mode, "scale": s, "out": out, "kind": "upscale"}
            res = R.alternate([("base", spec), ("now", spec)])
            raw[f"row2-{mode}-{out[1]}x{out[0]}-{s}"] = res
            b, n = med(res[0]), med(res[1])
            add((f"shipped, {mode}, {out[1]}×{out[0]} ×{s:g} (upscale), base vs now",
                         f"{b:.2f} vs {n:.2f} s = {b / n:.2f}× (runs {fmt(r['seconds'] for r in res[0])} vs "
                         f"{fmt(r['seconds'] for r in res[1])}){cpu_note(res[0], res[1])}"))

    def row3():
        for mode in a.row3_modes.split(","):
            spec = {"model": "shipped", "mode": mode, "scale": 4.0, "out": [2048, 2048]}
            res = R.alternate([("now", {**spec, "kind": "window"}), ("now", {**spec, "kind": "upscale", "compare": True})])
            raw[f"row3-{mode}"] = res
            win, up = med(res[0]), med(res[1])
            add((f"shipped, {mode}, 2048² ×4, one window / upscale (now)",
                         f"{win:.2f} / {up:.2f} s ({up / win:.2f}×), PSNR tiled vs window "
                         f"{med(res[1], 'psnr_vs_window_db'):.1f} dB, peak RSS upscale "
                         f"{med(res[1], 'peak_rss_mib'):.0f} MiB (one window {med(res[0], 'peak_rss_mib'):.0f} MiB)"))

    def row4():
        if "base" not in trees:
            return
        spec = {"model": "official-default", "mode": "diffusion", "scale": 4.0, "out": [512, 512], "kind": "window"}
        res = R.alternate([("base", spec), ("now", spec)])
        raw["row4"] = res
        b, n = med(res[0]), med(res[1])
        add(("official arch SR path 128→512 ×4, base vs now",
                     f"{b:.2f} vs {n:.2f} s = {b / n:.2f}× (runs {fmt(r['seconds'] for r in res[0])} vs "
                     f"{fmt(r['seconds'] for r in res[1])}){cpu_note(res[0], res[1])}"))
    def row5():
        spec = {"model": "shipped", "mode": "fast", "scale": 2.5, "out": [512, 512], "kind": "upscale",
                "startup": True}
        res = R.alternate([(t, spec) for t in sides])
        raw["row5"] = res
        for j, t in enumerate(sides):
            extra = med(res[j], 'load_s') + med(res[j], 'first_call_s') - med(res[j])
            add((f"load_model + first call vs warm call ({t}, fast 512² ×2.5)",
                         f"load_model {med(res[j], 'load_s'):.2f} s + first call {med(res[j], 'first_call_s'):.2f} s"
                         f" vs warm {med(res[j]):.2f} s: +{extra:.2f} s over a warm call (before that, "
                         f"importing numpy + torch {med(res[j], 'import_s'):.2f} s)"))
    for k in only:
        {1: row1, 2: row2, 3: row3, 4: row4, 5: row5}[k]()
    print(f"threads {a.threads}, repeat {a.repeat}, trees {', '.join(f'{k}={v}' for k, v in trees.items())}")
    print("| case | figures |\n|---|---|")
    for case, fig in rows:
        print(f"| {case} | {fig} |")
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
