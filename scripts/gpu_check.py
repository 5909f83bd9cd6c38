#!/usr/bin/env python
"""Everything issue 22 needs measured on a lent CUDA machine, in one device call::

    PYTHONUNBUFFERED=1 python scripts/gpu_check.py --out "$OUT"        # on the device (carry artifacts/wheels)
    python scripts/gpu_check.py --out /tmp/gpu-check --device cpu --quick  # here: the same steps, small

Steps (``--steps``, each a subprocess with its own time limit, its log in ``--out``):

* ``env``   — torch, CUDA and the card (``nvidia-smi``);
* ``tests`` — ``pytest -m gpu tests/gpu`` (pytest is installed from ``artifacts/wheels`` when the
  machine lacks it: ``pip download pytest pluggy iniconfig packaging pygments -d artifacts/wheels``);
  the golden test needs ``LDCSR_SHARED`` (the 16 MB golden checkpoint does not fit the device's
  64 MiB working-tree limit next to the shipped weights, so it is skipped there);
* ``bench`` — ``benchmarks/bench_gpu.py``: ``upscale`` per mode and float type at 512² and 2048² ×4,
  windows and launches, peak memory, agreement with float32, GPU busy (``gpu.json``);
* ``big``   — ``bench_gpu.py --big 8000``: an 8000² scene ×4 in fast mode, in memory (no rasterio
  on the device), with the card's utilisation sampled by ``nvidia-smi`` (``big.json``).

The device tool returns at most 8 files: logs and JSON go to ``--out``, and ``summary.json`` lists
each step's exit status and duration.  Prints as it goes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / "artifacts" / "wheels"
# each step's time limit (s): together under the device tool's 600 s per call
LIMITS = {"env": 30, "tests": 150, "bench": 240, "big": 150}
STEPS = tuple(LIMITS)


def _env_code() -> str:
    return ("import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__, "
            "'cuda', torch.version.cuda, 'available', torch.cuda.is_available());\n"
            "import sys\n"
            "if torch.cuda.is_available():\n"
            "    p = torch.cuda.get_device_properties(0); free, total = torch.cuda.mem_get_info()\n"
            "    print(p.name, f'{total / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free', 'capability', p.major, p.minor)\n")


def _ensure_pytest(log) -> bool:
    try:
        import pytest  # noqa: F401
        return True
    except ImportError:
        pass
    if not WHEELS.is_dir():
        print(f"pytest is missing and {WHEELS} is absent", file=log, flush=True)
        return False
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(WHEELS),
                          "pytest"], capture_output=True, text=True)
    print(res.stdout + res.stderr, file=log, flush=True)
    return res.returncode == 0


def commands(step: str, out: Path, device: str, quick: bool) -> list[list[str]]:
    py = sys.executable
    bench = [py, str(ROOT / "benchmarks" / "bench_gpu.py"), "--device", device]
    if step == "env":
        return [[py, "-c", _env_code()], ["nvidia-smi"]] if device != "cpu" else [[py, "-c", _env_code()]]
    if step == "tests":
        return [[py, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", "-m", "gpu", str(ROOT / "tests" / "gpu")]]
    if step == "bench":
        sizes, extra = ("256", ["--dtypes", "float32", "--repeats", "1"]) if quick else ("512,2048", [])
        return [bench + ["--sizes", sizes, "--json", str(out / "gpu.json")] + extra]
    if step == "big":
        side = "64" if quick else "8000"
        return [bench + ["--big", side, "--json", str(out / "big.json")]]
    raise ValueError(step)


def exit_status(steps: dict) -> int:
    """1 if any step failed: a step killed at its limit has rc -9, so not ``max`` of the rcs."""
    return int(any(step["rc"] != 0 for step in steps.values()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", default=",".join(STEPS))
    p.add_argument("--quick", action="store_true", help="tiny sizes: check the script itself (on a CPU)")
    p.add_argument("--limit", type=int, default=0, help="seconds each step may run (0: its own limit)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT / "src")}
    summary = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "steps": {}}
    for step in a.steps.split(","):
        t0 = time.perf_counter()
        rc = 0
        with open(a.out / f"{step}.txt", "w") as log:
            if step == "tests" and not _ensure_pytest(log):
                rc = 127
            for cmd in (commands(step, a.out, a.device, a.quick) if rc == 0 else []):
                shown = " ".join(c if len(c) < 60 else c[:57] + "..." for c in cmd[:4])
                print(f"== {step}: {shown}", flush=True)
                try:
                    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True)
                except FileNotFoundError as err:
                    print(err, file=log, flush=True)
                    rc = rc or 127
                    continue
                limit = a.limit or LIMITS.get(step, 240)
                timer = threading.Timer(max(1.0, t0 + limit - time.perf_counter()), proc.kill)
                timer.start()
                for line in proc.stdout:  # live, and into the step's log
                    print(line, end="", flush=True)
                    log.write(line)
                timer.cancel()
                code = proc.wait()
                if code == -9:
                    print(f"== {step}: stopped at its limit of {limit} s", file=log, flush=True)
                    print(f"== {step}: stopped at its limit of {limit} s", flush=True)
                rc = rc or code
        summary["steps"][step] = {"rc": rc, "seconds": round(time.perf_counter() - t0, 1)}
        print(f"== {step}: rc {rc} in {summary['steps'][step]['seconds']} s", flush=True)
        (a.out / "summary.json").write_text(json.dumps(summary, indent=2))
    return exit_status(summary["steps"])


if __name__ == "__main__":
    sys.exit(main())
