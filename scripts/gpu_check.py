#!/usr/bin/env python
"""Everything issue 22 needs measured on a lent CUDA machine, in one device call::

    PYTHONUNBUFFERED=1 python3 scripts/gpu_check.py --out "$OUT"        # on the device (carry artifacts/wheels)
    python scripts/gpu_check.py --out /tmp/gpu-check --device cpu --quick  # here: the same steps, small

(``python3`` there: the device machine's Python with torch is documented as ``python3``; its steps
run under the same interpreter, ``sys.executable``.)  The session's calls, the artifacts to make first
and their sizes: docs/training-gpu.md, "A lent session, call by call".

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
each step's exit status, duration and time limit.  Prints as it goes; each step's figures are in
``--out`` as soon as measured (the bench saves after every row, the big scene every 2 s).

**Time.** The steps' limits add up to 300 s (``LIMITS``), and time a step leaves unused goes to the
next ones (each step ends by the start plus the limits of the steps up to it), so the call ends
within 300 s whatever hangs. A session's 15 minutes of device time hold the machine's start (about
a minute, sometimes two), this call, and a training call right after it on the still-warm machine
(``scripts/gpu_train.py run --minutes 6``: docs/training-gpu.md). ``--budget SECONDS`` scales every
limit to another total (e.g. 540 when no other call follows).
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
sys.path.insert(0, str(ROOT / "src"))  # the engine's atomic writer (files imports neither torch nor numpy)
WHEELS = ROOT / "artifacts" / "wheels"
# each step's time limit (s), 300 in all: a training call must fit after this one in the session's
# 15 minutes of device time (module docstring); unused time goes to the next steps
LIMITS = {"env": 20, "tests": 90, "bench": 130, "big": 60}
STEPS = tuple(LIMITS)


def step_limits(steps, limit: int = 0, budget: float = 0) -> dict:
    """Each step's own limit (``limit`` for all when given), scaled to ``budget`` in all when given."""
    own = {step: float(limit or LIMITS.get(step, 120)) for step in steps}
    scale = budget / sum(own.values()) if budget else 1.0
    return {step: round(seconds * scale, 1) for step, seconds in own.items()}


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
        # -v: each test's outcome is in the log as it ends (a step stopped at its limit keeps them)
        return [[py, "-m", "pytest", "-v", "-ra", "--durations=10", "-p", "no:cacheprovider", "-m", "gpu",
                 str(ROOT / "tests" / "gpu")]]
    if step == "bench":
        sizes, extra = ("128", ["--dtypes", "float32", "--repeats", "1"]) if quick else ("512,2048", [])
        return [bench + ["--sizes", sizes, "--json", str(out / "gpu.json")] + extra]
    if step == "big":
        side = "64" if quick else "8000"
        return [bench + ["--big", side, "--json", str(out / "big.json")]]
    raise ValueError(step)


def exit_status(steps: dict) -> int:
    """1 if any step failed: a step killed at its limit has rc -9, so not ``max`` of the rcs."""
    return int(any(step["rc"] != 0 for step in steps.values()))


def main(argv=None) -> int:
    from ldcsr_core.files import atomic_write_bytes

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", default=",".join(STEPS))
    p.add_argument("--quick", action="store_true", help="tiny sizes: check the script itself (on a CPU)")
    p.add_argument("--limit", type=int, default=0, help="seconds each step may run (0: its own limit)")
    p.add_argument("--budget", type=float, default=0, help="seconds for all the steps (0: their limits' sum)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT / "src")}
    # the suite's conftest runs the CPU side of tests/gpu (the CPU's picture to compare with the
    # card's) on 2 threads unless told: the card's machine has 16 cores and this step 90 s
    env.setdefault("LDCSR_THREADS", str(max(1, min(8, len(os.sched_getaffinity(0)) - 2))))
    summary = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "steps": {}}
    steps = a.steps.split(",")
    limits = step_limits(steps, a.limit, a.budget)
    start, deadline = time.perf_counter(), 0.0
    for step in steps:
        t0 = time.perf_counter()
        deadline += limits[step]  # this step ends by the start plus the limits up to it
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
                limit = int(start + deadline - t0 + 0.5)  # what this step had, with time left before it
                timer = threading.Timer(max(1.0, start + deadline - time.perf_counter()), proc.kill)
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
        summary["steps"][step] = {"rc": rc, "seconds": round(time.perf_counter() - t0, 1),
                                  "limit_s": int(start + deadline - t0 + 0.5)}
        print(f"== {step}: rc {rc} in {summary['steps'][step]['seconds']} s", flush=True)
        # whole or not there: the device's limit may kill this call at any moment
        atomic_write_bytes(a.out / "summary.json", json.dumps(summary, indent=2).encode())
    return exit_status(summary["steps"])


if __name__ == "__main__":
    sys.exit(main())
