"""CPU float32 vs bfloat16, side by side: a screen-sized view (1000×700 output, ×4) of a real image.

Each measurement runs in a fresh process (model load excluded from the time, one warm-up call),
the variants alternate, and the medians of ``--repeats`` are printed with their ratio and the PSNR
between the two outputs (dB, 8-bit)::

    python benchmarks/bench_dtype.py --image ../shared/data/rsscn7/val/aGrass/<file>.jpg --repeats 3
    python benchmarks/bench_dtype.py --image ... --modes fast diffusion --threads 2 --json out.json

``--dtypes`` picks the variants (``float32``, ``bfloat16``, ``auto`` = the engine's default).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import sys, time, numpy as np
from PIL import Image
import ldcsr_core
img, dtype, mode, out, threads = sys.argv[1:6]
if int(threads):
    import torch; torch.set_num_threads(int(threads))
lr = np.asarray(Image.open(img).convert("RGB"))[:175, :250]
model = ldcsr_core.load_model(None, device="cpu", dtype=dtype)
ldcsr_core.upscale(lr[:64, :64], 4, model=model, mode=mode)  # warm-up
t0 = time.perf_counter()
sr = ldcsr_core.upscale(lr, out_shape=(700, 1000), model=model, mode=mode, seed=0)
dt = time.perf_counter() - t0
np.save(out, sr)
print(f"{dt:.4f} {next(model.parameters()).dtype}")
"""


def psnr(a, b) -> float:
    # imported here: the parent process leaves the engine's thread settings to its children
    from ldcsr_core.training.metrics import psnr

    return psnr(a, b)  # uint8 images


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", required=True)
    ap.add_argument("--modes", nargs="+", default=["fast"])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: the engine's default)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in a.modes:
            times = {d: [] for d in a.dtypes}
            used = {}
            for r in range(a.repeats):
                for d in (a.dtypes if r % 2 == 0 else a.dtypes[::-1]):  # alternate the order
                    out = Path(tmp) / f"{mode}_{d}.npy"
                    res = subprocess.run([sys.executable, "-c", CHILD, a.image, d, mode, str(out), str(a.threads)],
                                         capture_output=True, text=True, check=True)
                    t, dt = res.stdout.split()[-2:]
                    times[d].append(float(t))
                    used[d] = dt
            ref = np.load(Path(tmp) / f"{mode}_{a.dtypes[0]}.npy")
            for d in a.dtypes:
                med = statistics.median(times[d])
                base = statistics.median(times[a.dtypes[0]])
                row = {"mode": mode, "dtype": d, "runs_on": used[d], "median_s": med,
                       "times": times[d], "speedup": base / med,
                       "psnr_vs_first_db": psnr(np.load(Path(tmp) / f"{mode}_{d}.npy"), ref)}
                rows.append(row)
                print(f"{mode:9s} {d:9s} ({used[d]:15s}) median {med:.3f} s  "
                      f"x{row['speedup']:.2f} vs {a.dtypes[0]}  {row['psnr_vs_first_db']:.1f} dB apart  "
                      f"runs {', '.join(f'{x:.3f}' for x in times[d])}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
