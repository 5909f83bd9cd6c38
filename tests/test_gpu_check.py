"""The one-call device script (scripts/gpu_check.py) runs its steps and writes what the device tool
brings back: checked here on the CPU with tiny sizes, so that a lent GPU's minutes are not spent
finding its bugs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# The device machine's Python: no rasterio, and this package not installed (the scripts find it in
# the checkout's src/). A Python that runs its program (a script, -c or -m, as gpu_check's steps call
# it) with importing rasterio failing (each attempt logged) and ldcsr_core found only through a
# sys.path entry that is the checkout's src/, and that is itself the sys.executable its children are
# started with (gpu_check sets their PYTHONPATH, so a sitecustomize would not reach them).
DEVICE_PYTHON = """
import os, runpy, sys, traceback
from importlib.machinery import PathFinder
from pathlib import Path
SRC = Path(os.environ["DEVICE_PYTHON_SRC"]).resolve()
class _AsOnTheDevice:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "rasterio":
            with open(os.environ["NO_RASTERIO_LOG"], "a") as log:
                log.write(f"{sys.argv}\\n{''.join(traceback.format_stack())}\\n")
            raise ImportError(f"{name} is blocked: the device machine has no rasterio")
        if name == "ldcsr_core":
            spec = PathFinder.find_spec(name, [p for p in sys.path if p and Path(p).resolve() == SRC])
            if spec is None:
                raise ImportError("No module named 'ldcsr_core' (not installed on the device machine)")
            return spec
        return None
sys.meta_path.insert(0, _AsOnTheDevice())
sys.executable = os.environ["NO_RASTERIO_PYTHON"]
args = sys.argv[1:]
with open(os.environ["NO_RASTERIO_LOG"] + ".runs", "a") as runs:
    runs.write(" ".join(args[:2])[:200].replace("\\n", " ") + "\\n")
if args[0] == "-c":
    sys.argv = ["-c"] + args[2:]
    exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
elif args[0] == "-m":
    sys.argv = [args[1]] + args[2:]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
"""


def device_like_python(folder: Path) -> tuple[Path, dict]:
    """An executable standing for the device's ``python3`` (no rasterio, ldcsr_core not installed), in
    the process and in every process it starts with ``sys.executable``; and the environment it needs
    (no PYTHONPATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    runner = folder / "device_python.py"
    runner.write_text(DEVICE_PYTHON)
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{runner}" "$@"\n')
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return python, {**env, "NO_RASTERIO_PYTHON": str(python), "NO_RASTERIO_LOG": str(folder / "attempts.log"),
                    "DEVICE_PYTHON_SRC": str(ROOT / "src")}


def test_gpu_check_runs_its_steps_without_rasterio_and_writes_summary_and_tables(tmp_path):
    """All four steps, in processes where importing rasterio fails and ldcsr_core is not installed (as
    on the device machine): none of them tries rasterio (tests/gpu collected and skipped without CUDA)."""
    out = tmp_path / "out"
    python, env = device_like_python(tmp_path / "py")
    # The steps' own limits are a card's (env: 30 s); a cold `import torch` on a loaded 2-core runner
    # took 15 s of that here (the whole call up to 4 min), so on a CPU each step gets 300 s: a hung
    # step is still stopped (and fails). The device's pytest has no plugins (napari's take seconds).
    res = subprocess.run([str(python), str(ROOT / "scripts" / "gpu_check.py"), "--out", str(out), "--device", "cpu",
                          "--quick", "--limit", "300"], capture_output=True, text=True, timeout=1200,
                         env={**env, "LDCSR_THREADS": "2", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert not Path(env["NO_RASTERIO_LOG"]).exists(), Path(env["NO_RASTERIO_LOG"]).read_text()[-3000:]
    runs = Path(env["NO_RASTERIO_LOG"] + ".runs").read_text().splitlines()  # every step ran under the blocker:
    assert [r.split()[0].rsplit("/", 1)[-1] for r in runs] == ["gpu_check.py", "-c", "-m", "bench_gpu.py",
                                                               "bench_gpu.py"], runs
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["steps"]) == ["env", "tests", "bench", "big"]
    assert all(step["rc"] == 0 for step in summary["steps"].values())
    assert "torch" in (out / "env.txt").read_text()
    tests = (out / "tests.txt").read_text()
    assert re.search(r"collected (\d+) items.*=+ \1 skipped in ", tests, re.S), tests[-2000:]  # all, none failed
    bench = json.loads((out / "gpu.json").read_text())
    assert {(r["mode"], r["plan"]) for r in bench["rows"]} == {("fast", "default"), ("fast", "one window"),
                                                              ("diffusion", "default")}
    assert all(r["launches"] == r["windows"] >= 1 and r["seconds"] > 0 for r in bench["rows"])  # a CPU: one by one
    big = json.loads((out / "big.json").read_text())["rows"][0]
    assert big["out_shape"] == [256, 256, 3] and big["gpu_utilisation"] is None


def test_gpu_check_reports_a_failing_step(tmp_path):
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--out", str(out), "--device",
                          "no-such-device", "--quick", "--steps", "bench"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert json.loads((out / "summary.json").read_text())["steps"]["bench"]["rc"] != 0


def test_a_step_past_its_time_limit_is_stopped_and_reported(tmp_path):
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--out", str(out), "--device", "cpu",
                          "--quick", "--steps", "bench,env", "--limit", "1"], capture_output=True, text=True,
                         timeout=300)
    steps = json.loads((out / "summary.json").read_text())["steps"]
    assert res.returncode == 1 and steps["bench"]["rc"] != 0 and steps["bench"]["seconds"] < 30
    assert "stopped at its limit of 1 s" in (out / "bench.txt").read_text()
    assert list(steps) == ["bench", "env"]  # the next steps still run


def test_a_step_killed_at_its_limit_fails_the_call_even_when_the_next_step_passes():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert gpu_check.exit_status({"bench": {"rc": -9}, "env": {"rc": 0}}) == 1
    assert gpu_check.exit_status({"env": {"rc": 0}, "bench": {"rc": 0}}) == 0


def test_tests_gpu_load_the_cards_default_float_type(tmp_path):
    """tests/gpu run under the suite's conftest (LDCSR_DTYPE=float32 for the CPU's references):
    there ``load_model(device="cuda")`` must still be the card's default, float16, or the
    half-precision test fails on the card and the others time float32 (checked in a copy of the
    two conftests, with a probe test in place of the card's)."""
    import shutil

    gpu = tmp_path / "tests" / "gpu"
    gpu.mkdir(parents=True)
    for name in ("conftest.py", "suite_helpers.py"):
        shutil.copy(ROOT / "tests" / name, tmp_path / "tests" / name)
    for name in ("__init__.py", "conftest.py"):
        if (ROOT / "tests" / "gpu" / name).exists():
            shutil.copy(ROOT / "tests" / "gpu" / name, gpu / name)
    (gpu / "test_probe.py").write_text(
        "import torch\nfrom ldcsr_core.precision import resolve_dtype\n\n"
        "def test_probe():\n    assert resolve_dtype(None, torch.device('cuda')) is torch.float16\n")
    env = {k: v for k, v in os.environ.items() if k != "LDCSR_DTYPE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the probe needs none (napari's would take seconds to load)
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(gpu)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "1 passed" in res.stdout


def _script(folder, name):
    sys.path.insert(0, str(ROOT / folder))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(ROOT / folder))


def test_the_steps_limits_fit_a_training_call_in_the_sessions_device_time():
    """15 minutes of device time hold the start (1-2 min), this call and scripts/gpu_train.py's
    (--minutes 6): the steps' limits add up to 300 s, and --budget scales them."""
    gpu_check = _script("scripts", "gpu_check")
    limits = gpu_check.step_limits(gpu_check.STEPS)
    assert sum(limits.values()) == 300 and all(v > 0 for v in limits.values())
    assert sum(gpu_check.step_limits(gpu_check.STEPS, budget=540).values()) == pytest.approx(540)
    assert gpu_check.step_limits(["env", "bench"], limit=300) == {"env": 300, "bench": 300}


def test_bench_records_a_failing_case_goes_on_and_fills_in_the_agreement_with_float32(tmp_path, monkeypatch):
    """A case that fails (a card out of memory) is a row saying so, and the next cases run; the
    float type measured first (CUDA's float16 by default) gets its PSNR against float32 once
    float32's output exists."""
    import torch

    import ldcsr_core

    bench = _script("benchmarks", "bench_gpu")
    real = ldcsr_core.upscale

    def upscale(img, *a, tile=None, **k):
        if tile is not None:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(img, *a, tile=tile, **k)

    monkeypatch.setattr(ldcsr_core, "upscale", upscale)
    out = tmp_path / "gpu.json"
    assert bench.main(["--device", "cpu", "--sizes", "128", "--modes", "fast", "--dtypes", "bfloat16,float32",
                       "--repeats", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["dtype"], r["plan"]) for r in rows] == [("bfloat16", "default"), ("bfloat16", "one window"),
                                                      ("float32", "default"), ("float32", "one window")]
    assert "OutOfMemoryError: CUDA out of memory" in rows[1]["error"] and "error" in rows[3]
    assert rows[0]["psnr_vs_float32"] > 30 and rows[2]["psnr_vs_float32"] is None


def test_the_big_scene_saves_its_progress_while_it_runs(tmp_path):
    """The big scene's row is reported while it runs (windows done, seconds so far), so a run
    stopped at its limit still gives a speed; then the final row."""
    from types import SimpleNamespace

    import torch

    bench = _script("benchmarks", "bench_gpu")
    reports = []
    row = bench.big_scene(SimpleNamespace(big=96, scale=4.0), torch.device("cpu"), lambda: None,
                          lambda r: reports.append(dict(r)), every=0.0)
    assert reports[0]["partial"] and reports[0]["windows_done"] >= 1 and reports[0]["mp_per_s"] > 0
    assert reports[-1] == row and not row["partial"] and row["windows_done"] == row["windows"]
    assert row["out_shape"] == [384, 384, 3]


def test_bench_gpu_runs_as_the_readme_calls_it_on_a_machine_without_the_package_installed(tmp_path):
    """README's ``python benchmarks/bench_gpu.py --device cuda ...`` on the device machine, where
    ldcsr_core is not installed: it finds the engine in the checkout's src/ (before: exit 1,
    ``ModuleNotFoundError: No module named 'ldcsr_core'``)."""
    python, env = device_like_python(tmp_path / "py")
    out = tmp_path / "gpu.json"
    res = subprocess.run([str(python), str(ROOT / "benchmarks" / "bench_gpu.py"), "--device", "cpu", "--sizes", "128",
                          "--modes", "fast", "--dtypes", "float32", "--repeats", "1", "--json", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**env, "LDCSR_THREADS": "1"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert [r["seconds"] > 0 for r in json.loads(out.read_text())["rows"]] == [True, True]
    assert not Path(env["NO_RASTERIO_LOG"]).exists()
