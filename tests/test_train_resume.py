"""`ldcsr train --resume` and Ctrl-C: a foreign or damaged --resume file, an earlier model kept unless told,
other settings on resume said, and an interrupted run checkpointed where it stopped and resumed the same."""

from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

import ldcsr_core
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from ldcsr_core.training.checkpoint import read_checkpoint
from tests import test_train_faults
from tests.test_train_faults import TRAIN, _tiny_cfg

image_dir = test_train_faults.image_dir  # the fixture its tests train on: two 96×96 pictures


def test_resume_from_a_foreign_or_damaged_file_is_a_checkpoint_error(image_dir, tmp_path, monkeypatch):
    """These were exit 1 with 'KeyError: 'model'' or 'RuntimeError: Error(s) in loading state_dict'.
    A file that is not this trainer's checkpoint or is cut short is said before DATA's images load
    (its index read, tensors mapped); before, only once they had loaded."""
    from ldcsr_core.training import trainer
    from ldcsr_core.training.trainer import Trainer
    cfg = _tiny_cfg(tmp_path)
    run = tmp_path / "run.safetensors"
    Trainer(image_dir, run, config=tiny_test_config(with_encoder=True), device="cpu", lr_size=16,
            scale_range=(2.0, 3.0)).checkpoint()
    tc = tiny_test_config(with_encoder=True)
    other = tmp_path / "other.json"  # another architecture: two IMD modules per decoder unit
    other.write_text(replace(tc, decoder=replace(tc.decoder, num_sr_modules=(2, 2, 2, 2))).to_json())
    model = tmp_path / "m.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tc, seed=0), model, name="m")
    torch.save({"a": torch.zeros(2)}, tmp_path / "dict.ckpt")
    data = run.with_suffix(".ckpt").read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 3])
    loading = trainer.load_named_images
    for resume, config, says in ((model, cfg, "not a training checkpoint"),
                                 (tmp_path / "dict.ckpt", cfg, "not a training checkpoint"),
                                 (tmp_path / "cut.ckpt", cfg, "cannot read checkpoint"),
                                 (run.with_suffix(".ckpt"), other, "a checkpoint of another model")):
        early = "another model" not in says  # the model's configuration is compared once it is built
        monkeypatch.setattr(trainer, "load_named_images",
                            (lambda *a, **k: pytest.fail("images loaded")) if early else loading)
        out = tmp_path / f"o-{resume.stem}.safetensors"
        r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--config", str(config),
                                      "--resume", str(resume), "--steps", "1", "0", "1", *TRAIN])
        assert r.exit_code == 6 and says in r.output and "Traceback" not in r.output, (resume, r.output)
        assert not out.exists()


def test_ctrl_c_names_the_checkpoint_to_resume_from_and_it_resumes(image_dir, tmp_path, monkeypatch):
    """Ctrl-C said 'no partial output was left' while OUT and its checkpoint were there."""
    from ldcsr_core.training.trainer import Trainer
    cfg, out = _tiny_cfg(tmp_path), tmp_path / "c.safetensors"
    real, calls = Trainer.loss_fast, []

    def loss_then_ctrl_c(self, lr, hr):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, lr, hr)

    monkeypatch.setattr(Trainer, "loss_fast", loss_then_ctrl_c)
    args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--steps", "3", "0", "0",
            "--checkpoint-every", "0", *TRAIN]
    r = CliRunner().invoke(main, args)
    ckpt = out.with_suffix(".ckpt")
    assert r.exit_code == 130, r.output
    assert "interrupted in fast at step 1; the last checkpoint (fast, step 1)" in r.output
    assert f"--resume {ckpt}" in r.output and "no partial output" not in r.output
    assert read_checkpoint(ckpt)["state"]["phase_step"] == 1
    r = CliRunner().invoke(main, args + ["--resume", str(ckpt)])
    assert r.exit_code == 0, r.output
    assert read_checkpoint(ckpt)["state"]["history"]["phases"]["fast"]["steps"] == 3


def test_a_fresh_run_never_replaces_an_earlier_model_unless_told(image_dir, tmp_path):
    """A model already at --out (its checkpoint moved away) was replaced when the fresh run ended:
    now exit 4 before any work, the file untouched; --overwrite lets the run replace it."""
    cfg = _tiny_cfg(tmp_path)
    out = tmp_path / "m.safetensors"
    for earlier in (out, tmp_path / "m-after-fast.safetensors"):
        earlier.write_bytes(b"an earlier run's model")
        args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--steps", "1", "0", "0", *TRAIN]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 4 and "a model is already there" in r.output and "--overwrite" in r.output, r.output
        assert earlier.read_bytes() == b"an earlier run's model" and not out.with_suffix(".ckpt").exists()
        earlier.unlink()
    out.write_bytes(b"an earlier run's model")
    r = CliRunner().invoke(main, args + ["--overwrite"])
    assert r.exit_code == 0, r.output
    assert ldcsr_core.load_model(out, device="cpu").name  # replaced by the new run's model


def test_a_resume_with_other_settings_is_said_and_logged(image_dir, tmp_path):
    """`--resume` with other --steps / --batch than the run that wrote the checkpoint continued
    silently (the docs ask for the same options); now a warning and the run log name each change."""
    from ldcsr_core.training.runlog import read_jsonl

    cfg = _tiny_cfg(tmp_path)
    out, log = tmp_path / "r.safetensors", tmp_path / "r.jsonl"
    args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--log", str(log), *TRAIN]
    r = CliRunner().invoke(main, args + ["--steps", "3", "0", "0", "--stop-after-steps", "1"])
    assert r.exit_code == 0, r.output
    resume = ["--resume", str(out.with_suffix(".ckpt"))]
    r = CliRunner().invoke(main, args + ["--steps", "3", "0", "0", "--stop-after-steps", "1", *resume])
    assert r.exit_code == 0, r.output
    assert [e for e in read_jsonl(log) if e["event"] == "resume"][-1]["changed"] == {}  # the same options
    r = CliRunner().invoke(main, args + ["--batch", "3", "--steps", "4", "0", "0", *resume])  # the last --batch counts
    assert r.exit_code == 0, r.output
    changed = [e for e in read_jsonl(log) if e["event"] == "resume"][-1]["changed"]
    assert changed == {"batch_size": [2, 3], "steps": [[3, 0, 0], [4, 0, 0]]}, changed


def test_ctrl_c_finishes_the_step_checkpoints_there_and_the_resumed_run_is_the_same(image_dir, tmp_path,
                                                                                       monkeypatch):
    """A Ctrl-C lost every step since the last periodic checkpoint (10 minutes by default): now the
    first one lets the step finish, checkpoints there and stops; resumed, the run ends with the
    same weights, bit for bit, as a run never interrupted."""
    import os
    import signal

    from ldcsr_core.training.trainer import Trainer
    cfg = _tiny_cfg(tmp_path)
    real, calls = Trainer.loss_fast, []

    def loss_with_ctrl_c(self, lr, hr):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C arrives while the third step computes
            os.kill(os.getpid(), signal.SIGINT)
        return real(self, lr, hr)

    def args(out):
        return ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--steps", "5", "0", "0",
                "--checkpoint-every", "60", *TRAIN]

    straight = tmp_path / "s.safetensors"
    assert CliRunner().invoke(main, args(straight)).exit_code == 0
    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(Trainer, "loss_fast", loss_with_ctrl_c)
    out = tmp_path / "c.safetensors"
    r = CliRunner().invoke(main, args(out))
    ckpt = out.with_suffix(".ckpt")
    assert r.exit_code == 130, r.output
    assert "interrupted in fast at step 3; the last checkpoint (fast, step 3)" in r.output, r.output
    assert "done again" not in r.output, r.output  # none: it is where the run stopped (before: said all the same)
    assert read_checkpoint(ckpt)["state"]["phase_step"] == 3
    assert signal.getsignal(signal.SIGINT) is before  # the run's handler is gone with the run
    monkeypatch.setattr(Trainer, "loss_fast", real)
    r = CliRunner().invoke(main, args(out) + ["--resume", str(ckpt)])
    assert r.exit_code == 0, r.output
    wa = ldcsr_core.load_model(straight, device="cpu").state_dict()
    wb = ldcsr_core.load_model(out, device="cpu").state_dict()
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_second_ctrl_c_as_a_phase_ends_says_the_steps_after_the_checkpoint_are_done_again(image_dir, tmp_path,
                                                                                              monkeypatch):
    """A second Ctrl-C while a phase ends (its validation, before its checkpoint) stops the run between
    phases with the last checkpoint some steps back: those steps are done again, and it says so (it
    said so only where the run stopped inside a phase)."""
    from ldcsr_core.training.trainer import Trainer
    out = tmp_path / "m.safetensors"
    args = ["train", str(image_dir), "--out", str(out), "--config", str(_tiny_cfg(tmp_path)),
            "--steps", "3", "0", "0", *TRAIN]
    assert CliRunner().invoke(main, args + ["--stop-after-steps", "1"]).exit_code == 0  # checkpoint: fast 1

    def ctrl_c_twice(self, phase):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "run_validation", ctrl_c_twice)  # the phase-end validation, after step 3
    r = CliRunner().invoke(main, args + ["--resume", str(out.with_suffix(".ckpt"))])
    assert r.exit_code == 130, r.output
    assert "interrupted between phases; the last checkpoint (fast, step 1)" in r.output, r.output
    assert "(the steps after it are done again, with the same result)" in r.output, r.output


@pytest.mark.parametrize("sig", ["SIGINT", "SIGHUP"])
def test_a_terminal_ctrl_c_with_loader_workers_checkpoints_where_it_stopped(image_dir, tmp_path, sig):
    """A terminal's Ctrl-C (or its closing: SIGHUP) reaches the loader's worker processes too: the
    trainer still finishes its step and writes the checkpoint (a hang-up killed the run at once)."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    sig = getattr(signal, sig)
    cfg, out, log = _tiny_cfg(tmp_path), tmp_path / "w.safetensors", tmp_path / "w.jsonl"
    cmd = [sys.executable, "-m", "ldcsr_core.cli", "train", str(image_dir), "--out", str(out), "--config", str(cfg),
           "--steps", "100000", "0", "0", "--checkpoint-every", "60", "--workers", "1", "--threads", "1",
           "--log", str(log), *TRAIN]
    # a terminal's session: a hang-up not ignored, also where the tests run under nohup (which the child would inherit,
    # and which ldcsr keeps: its hang-up ignored, the run went on and this test waited 120 s)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            if log.exists() and '"event": "step"' in log.read_text():
                break
            time.sleep(0.2)
        assert p.poll() is None, p.communicate()[0]
        os.killpg(p.pid, sig)  # as a terminal does: the whole process group
        text = p.communicate(timeout=120)[0]
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, text
    step = read_checkpoint(out.with_suffix(".ckpt"))["state"]["phase_step"]
    assert step >= 10 and f"interrupted in fast at step {step}; the last checkpoint (fast, step {step})" in text, text
    assert "Traceback" not in text
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events[-2:] == ["checkpoint", "interrupted"], events[-4:]


def test_a_phase_is_not_validated_twice_at_its_last_step(image_dir, tmp_path):
    """A phase whose last step --val-every-steps had validated was validated again when it ended (the
    same weights: a `VAL fast step 2` line twice, two `val` events, twice the time); now once."""
    from ldcsr_core.training.runlog import read_jsonl

    log = tmp_path / "l.jsonl"
    r = CliRunner().invoke(main, ["train", str(image_dir), "--val", str(image_dir), "--out", str(tmp_path / "m.safetensors"),
                                  "--config", str(_tiny_cfg(tmp_path)), "--steps", "2", "0", "0", "--val-every-steps", "1",
                                  "--val-limit", "1", "--log", str(log), *TRAIN])
    assert r.exit_code == 0, r.output
    assert [(e["phase"], e["step"]) for e in read_jsonl(log) if e["event"] == "val"] == [("fast", 1), ("fast", 2)]
    assert r.output.count("VAL fast step 2 fast:") == 1, r.output
