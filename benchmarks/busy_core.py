"""The screen-sized view on an idle machine and with one core kept busy by another process.

Times ``ldcsr_core.upscale`` of a 250×175 crop of the shipped sample scene to 1000×700 (×4, fast
mode, default model and settings), each measurement in a fresh Python process (model load and a
small warm-up call not timed), median of ``--repeat``, the variants alternating within each round.
"Busy" runs a ``while True: pass`` process for the whole state (one core of the machine kept busy).
Before each measurement the script waits (up to a minute) until no other work runs, and flags the
runs where it did not get that; each run reports the cores other processes used while it ran
(the machine's busy time from ``/proc/stat`` less the run's own CPU time; ~1 with the spinner).

Variants: ``name=TREE`` runs checkout TREE (its ``src`` first on ``PYTHONPATH``) with the default
environment; ``name=TREE:VAR=VALUE,VAR=VALUE`` adds environment variables (e.g. ``GOMP_SPINCOUNT=0``,
``LDCSR_THREADS=1``).  The environment of this script is cleaned of OMP_*/GOMP_*/LDCSR_* first.

    python benchmarks/busy_core.py --variant base=../wt-base --variant new=. --repeat 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, os, sys, time
def busy():  # CPU seconds the whole machine has spent so far (/proc/stat)
    with open("/proc/stat") as f:
        p = [int(v) for v in f.readline().split()[1:8]]
    return (sum(p) - p[3] - p[4]) / os.sysconf("SC_CLK_TCK")
t0 = time.perf_counter()
import numpy as np, rasterio
import ldcsr_core
from napari_ldcsr.io._sample import sample_path
with rasterio.open(sample_path()) as s:
    img = np.ascontiguousarray(s.read()[:, :175, :250].transpose(1, 2, 0))
model = ldcsr_core.load_model(None, device="cpu")
ldcsr_core.upscale(img[:48, :48], 4.0, model=model, mode="fast")  # warm-up (not timed)
b1, c1, t1 = busy(), time.process_time(), time.perf_counter()
out = ldcsr_core.upscale(img, out_shape=(700, 1000), model=model, mode="fast")
t2, c2, b2 = time.perf_counter(), time.process_time(), busy()
import torch, ldcsr_core.threads as th
last = getattr(getattr(th, "GOVERNOR", None), "threads", None)  # the adaptive count of the last tile
print(json.dumps({"s": t2 - t1, "start_s": t1 - t0, "threads": last or torch.get_num_threads(), "shape": out.shape,
                  "others": (b2 - b1 - (c2 - c1)) / (t2 - t1)}))
"""


def idle_cores(seconds: float = 0.5) -> float:
    """Idle cores of the machine over the next ``seconds`` (``/proc/stat``)."""
    def idle():
        with open("/proc/stat") as f:
            p = f.readline().split()
        return (int(p[4]) + int(p[5])) / os.sysconf("SC_CLK_TCK")
    i0 = idle()
    time.sleep(seconds)
    return (idle() - i0) / seconds


def wait_quiet(busy: bool, timeout: float = 60.0) -> bool:
    """Wait (up to ``timeout``) until no other work runs: all cores idle, or all but the spinner's."""
    want = (os.cpu_count() or 1) - (1 if busy else 0) - 0.3
    end = time.time() + timeout
    while time.time() < end:
        if idle_cores() >= want:
            return True
    return False


def spin():
    while True:
        pass


def parse_variant(text: str) -> tuple[str, Path, dict]:
    name, _, rest = text.partition("=")
    tree, _, envs = rest.partition(":")
    env = dict(kv.split("=", 1) for kv in envs.split(",") if kv)
    return name, Path(tree).resolve(), env


def measure(tree: Path, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "LDCSR_", "KMP_"))}
    env.update(extra, PYTHONPATH=f"{tree / 'src'}:{tree}")
    r = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=tree, capture_output=True, text=True, check=False)
    if r.returncode:
        raise SystemExit(f"{tree} {extra}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", action="append", required=True, help="name=TREE[:VAR=VALUE,...]")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--states", default="idle,busy")
    a = p.parse_args(argv)
    variants = [parse_variant(v) for v in a.variant]
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs, affinity "
          f"{len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}; {sys.executable}")
    table: dict = {}
    for state in a.states.split(","):
        spinner = None
        if state == "busy":
            spinner = mp.Process(target=spin, daemon=True)
            spinner.start()
            time.sleep(1.0)
        try:
            for _ in range(a.repeat):
                for name, tree, env in variants:
                    quiet = wait_quiet(state == "busy")
                    r = measure(tree, env)
                    table.setdefault(name, {}).setdefault(state, []).append(r["s"])
                    table[name].setdefault("threads", {})[state] = r["threads"]
                    table[name].setdefault("loaded", 0)
                    table[name]["loaded"] += not quiet
                    print(f"  {state:5s} {name:12s} {r['s']:6.2f} s  ({r['threads']} threads at the end; other processes "
                          f"used {r['others']:.2f} cores meanwhile)"
                          + ("" if quiet else "  [other work was running before this run]"), flush=True)
        finally:
            if spinner is not None:
                spinner.terminate()
                spinner.join()
    states = a.states.split(",")
    print(f"\n{'variant':12s} {'threads':>9s} " + " ".join(f"{s:>8s}" for s in states)
          + ("   busy/idle" if {"idle", "busy"} <= set(states) else ""))
    for name, row in table.items():
        meds = {s: statistics.median(row[s]) for s in states}
        ratio = f"   {meds['busy'] / meds['idle']:9.2f}×" if {"idle", "busy"} <= set(states) else ""
        used = "/".join(str(row["threads"][s]) for s in states)
        print(f"{name:12s} {used:>9s} " + " ".join(f"{meds[s]:7.2f}s" for s in states) + ratio
              + (f"   ({row['loaded']} runs with other work)" if row.get("loaded") else ""))
    if "base" in table and "idle" in states:
        b = statistics.median(table["base"]["idle"])
        for name, row in table.items():
            print(f"idle {name} / base: {statistics.median(row['idle']) / b:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
