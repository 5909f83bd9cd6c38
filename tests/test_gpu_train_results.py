"""What scripts/gpu_train.py leaves in $OUT when the device's time limit stops it: each result file
whole or absent (the engine's atomic writer), and on SIGTERM the checkpoint written at the step's
end, not lost in its work folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE, SIGXFSZ")
def test_a_kill_while_the_results_are_written_leaves_no_file_cut_short(tmp_path):
    """write_results stopped in the middle of the checkpoint's write (here by the file size limit,
    RLIMIT_FSIZE, as a kill at the device's limit stops it). Before: shutil.copy2 left OUT/run.ckpt
    cut short under its own name, a checkpoint that looks whole; now every file there is whole or
    absent."""
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    weights = os.urandom(1000)
    ckpt = os.urandom(300_000)
    (work / "ldcsr-gpu.safetensors").write_bytes(weights)
    (work / "run.ckpt").write_bytes(ckpt)
    code = f"""
import resource, sys
from types import SimpleNamespace as NS
sys.path.insert(0, {str(ROOT / 'scripts')!r})
import gpu_train as g
from pathlib import Path
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
t = NS(stopped=True, state=NS(done=["fast"], phase="prior", phase_step=3, total_steps=5, runs=1))
g.write_results(t, Path({str(work)!r}), Path({str(out)!r}), NS(half=False), None, None, None)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode != 0, r.stdout + r.stderr  # stopped at the limit: the checkpoint was not written
    whole = {"ldcsr-gpu.safetensors": weights, "run.ckpt": ckpt}
    seen = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}  # parts are hidden
    assert seen == {k: v for k, v in whole.items() if k in seen}, {k: len(v) for k, v in seen.items()}
    assert "summary.json" not in seen  # written last: there only when every result is


def test_a_sigterm_during_training_brings_back_the_checkpoint_of_the_step_it_ended(tmp_path):
    """SIGTERM (the device's time limit) in the middle of a step: the Trainer finishes the step and
    checkpoints. Before: the script ended on the KeyboardInterrupt, so that checkpoint and the
    weights stayed in its temporary work folder and OUT held only the log; now they are written to
    OUT with summary.json ('interrupted', naming OUT to resume from), exit 130."""
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(data / f"{i}.png")
    out = tmp_path / "out"
    argv = ["run", "--data", str(data), "--out", str(out), "--minutes", "5", "--device", "cpu", "--steps", "3", "0", "0",
            "--batch", "2", "--lr-size", "16", "--scale-range", "2", "3", "--log-every", "1", "--threads", "1"]
    code = ("import os, signal, sys, json; sys.argv = sys.argv[:1]; "
            f"sys.path.insert(0, {str(ROOT / 'scripts')!r}); import gpu_train; "
            "from ldcsr_core.config import tiny_test_config; import ldcsr_core.training.trainer as tr; "
            "orig = tr.Trainer.__init__; "
            "tr.Trainer.__init__ = lambda self, *a, **k: orig(self, *a, **{**k, 'config': tiny_test_config(True)}); "
            "loss = tr.Trainer.loss_fast; "
            "tr.Trainer.loss_fast = lambda self, *a: (os.kill(os.getpid(), signal.SIGTERM), loss(self, *a))[1]; "
            f"sys.exit(gpu_train.main({argv!r}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 130, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_early"] and summary["phase"] == "fast" and summary["phase_step"] == 1, summary
    assert f"continue with --resume {out}" in summary["interrupted"], summary
    assert {"ldcsr-gpu.safetensors", "run.ckpt", "train.jsonl"} <= {p.name for p in out.iterdir()}
    from ldcsr_core.training.checkpoint import read_checkpoint
    assert read_checkpoint(out / "run.ckpt")["state"]["phase_step"] == 1


def test_results_over_64_mib_together_bring_the_half_copy_instead_of_the_full_checkpoint(tmp_path):
    """The device brings back at most 8 files of 16 MiB, 64 MiB together. A checkpoint whose
    parts fit the count but not the bytes (a larger model: weights 20 MiB, checkpoint 44 MiB in
    3 parts) is replaced by its bf16 copy, as when the files are too many. Before: all were kept,
    65 MiB, so some of them did not come back."""
    from types import SimpleNamespace as NS

    import torch

    from ldcsr_core.training.checkpoint import split_file

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gpu_train
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    mib = 2 ** 20
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    (work / "ldcsr-gpu.safetensors").write_bytes(b"\1" * (20 * mib))
    (work / "run.ckpt").write_bytes(b"\2" * (44 * mib))
    (out / "train.jsonl").write_text('{"event": "start"}\n')
    t = NS(stopped=True, state=NS(done=["fast", "prior"], phase="diffusion", phase_step=3, total_steps=9, runs=1))
    half = {"w": torch.ones(11 * mib, dtype=torch.bfloat16)}  # 22 MiB: two parts
    summary = gpu_train.write_results(t, work, out, NS(half=False), lambda p: None, split_file, lambda ck: half)
    back = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(back) <= 8 and sum(p.stat().st_size for p in back) <= 64 * mib, {p.name: p.stat().st_size for p in back}
    assert sorted(p.name for p in back) == sorted(summary["files"] + ["summary.json"])
    assert not any(p.name.startswith("run.ckpt") for p in back)  # the full checkpoint: not half there
    assert {"run-bf16.ckpt.part000", "run-bf16.ckpt.part001", "run-bf16.ckpt.parts.json"} <= set(summary["files"])
