"""The one-call device script (scripts/gpu_check.py) runs its steps and writes what the device tool
brings back: checked here on the CPU with tiny sizes, so that a lent GPU's minutes are not spent
finding its bugs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_its_steps_and_writes_summary_and_tables(tmp_path):
    out = tmp_path / "out"
    # The steps' own limits are a card's (env: 30 s); a cold `import torch` on a loaded 2-core runner
    # took 15 s of that here (the whole call up to 4 min), so on a CPU each step gets 300 s: a hung
    # step is still stopped (and fails).
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--out", str(out), "--device", "cpu",
                          "--quick", "--steps", "env,bench,big", "--limit", "300"], capture_output=True, text=True,
                         timeout=1200, env={**os.environ, "LDCSR_THREADS": "2"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["steps"]) == ["env", "bench", "big"]
    assert all(step["rc"] == 0 for step in summary["steps"].values())
    assert "torch" in (out / "env.txt").read_text()
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
