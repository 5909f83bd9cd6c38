"""`ldcsr train` writes only where it may: never over its inputs, never two of its files to one, never at a
name too long or at a pipe; each refused before any work."""

import os
from pathlib import Path

import pytest

import ldcsr_core
from ldcsr_core.config import tiny_test_config
from tests import test_training

image_dir = test_training.image_dir  # the fixture its tests train on: three 96×96 pictures


def test_train_never_writes_over_its_inputs(image_dir, tmp_path):
    """--init m --out m trained over the model it started from (and --checkpoint/--log could name
    an input too): refused before any work, whatever the option that would write there."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    init, cfg, o = tmp_path / "m.safetensors", tmp_path / "cfg.json", tmp_path / "o.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(with_encoder=True), seed=0), init, name="m")
    cfg.write_text(tiny_test_config(with_encoder=True).to_json())
    before = {p: p.read_bytes() for p in (init, cfg)}
    for extra, hint in ((["--init", init, "--out", init], "'--out'"),
                        (["--init", init, "--out", tmp_path / "n.safetensors", "--checkpoint", init], "'--checkpoint'"),
                        (["--init", init, "--out", o, "--log", init], "'--log'"),
                        (["--out", o, "--config", cfg, "--log", cfg], "'--log'"),
                        (["--init", tmp_path / "n-after-fast.safetensors", "--out", tmp_path / "n.safetensors"], "'--out'")):
        if not Path(extra[1]).exists():
            Path(extra[1]).write_bytes(init.read_bytes())
            before[Path(extra[1])] = init.read_bytes()
        r = CliRunner().invoke(main, ["train", str(image_dir), *map(str, extra), "--steps", "1", "0", "0",
                                      "--device", "cpu"])
        assert r.exit_code == 2 and "inputs are never overwritten" in r.output and hint in r.output, r.output
    assert all(p.read_bytes() == b for p, b in before.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in before)


def test_train_never_writes_two_of_its_files_to_one(image_dir, tmp_path):
    """--log naming OUT, its -after-<phase> copy or the checkpoint: the run ended with exit 0 and
    'checkpoint written', its JSON lines appended to that file (OUT unreadable: 'not a readable
    safetensors file'). Now refused before any work, by the CLI and the API alike (refused_write)."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    from ldcsr_core.training.errors import TrainingError
    from ldcsr_core.training.trainer import train

    o, c = tmp_path / "o.safetensors", tmp_path / "c.ckpt"
    for extra, says in ((["--log", o], "the log would be OUT itself: "),
                        (["--log", tmp_path / "o-after-fast.safetensors"], "the log would be OUT's copy after the fast phase: "),
                        (["--log", tmp_path / "o.ckpt"], "the log would be the checkpoint itself: "),
                        (["--checkpoint", c, "--log", tmp_path / "." / "c.ckpt"], "the log would be the checkpoint itself: "),
                        (["--checkpoint", o], "the checkpoint would be OUT itself: "),
                        (["--checkpoint", tmp_path / "o-after-fast.safetensors"], "the checkpoint would be OUT's copy after the fast phase: ")):
        r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(o), *map(str, extra), "--steps", "1", "0", "0",
                                      "--device", "cpu"])
        assert r.exit_code == 2 and says in r.output and f"'{extra[-2]}'" in r.output, r.output
    with pytest.raises(TrainingError, match="--log: the log would be OUT itself"):
        train(image_dir, o, log_path=o, steps=(1, 0, 0), batch_size=2, lr_size=16, scale_range=(2.0, 3.0), device="cpu")
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_an_out_whose_phase_copy_name_is_too_long_before_any_work(image_dir, tmp_path):
    """OUT of 248 bytes: its -after-fast copy's name is 259. Before: exit 5 in errno's words, '[Errno
    36] File name too long: ...-after-fast.safetensors', naming no option. Now the option and the
    file (the CLI and train() alike), as upscale says an output name too long."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    from ldcsr_core.training.errors import TrainingError
    from ldcsr_core.training.trainer import train

    o = tmp_path / ("o" * 236 + ".safetensors")
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(o), "--steps", "1", "0", "0", "--device", "cpu"])
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--out': OUT's copy name too long: " in r.output and "(259 bytes; the file " in r.output
    with pytest.raises(TrainingError, match="--out: OUT's copy name too long"):
        train(image_dir, o, steps=(1, 0, 0), batch_size=2, lr_size=16, scale_range=(2.0, 3.0), device="cpu")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_train_refuses_a_pipe_where_it_writes_a_model_or_checkpoint_before_any_work(image_dir, tmp_path):
    """OUT a named pipe with --overwrite: the run trained every step, wrote its checkpoint, then
    failed writing OUT (exit 3, 'the output path is not a regular file'); a pipe at --checkpoint was
    'an earlier run's checkpoint is there'. Now exit 2 before any work, as upscale, adapt and
    convert refuse one; the log, appended to, may be a pipe."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    from ldcsr_core.training.resumable import refused_write

    o = tmp_path / "o.safetensors"
    for name, extra, says in (("o.safetensors", ["--overwrite"], "'--out': OUT path is not a regular file"),
                              ("o-after-fast.safetensors", ["--overwrite"], "'--out': OUT's copy path is not a regular file"),
                              ("c.ckpt", ["--checkpoint", tmp_path / "c.ckpt"], "'--checkpoint': the checkpoint path is not a regular file")):
        os.mkfifo(tmp_path / name)
        r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(o), *map(str, extra), "--steps", "1", "0", "0",
                                      "--device", "cpu"])
        assert r.exit_code == 2 and says in r.output and "(a device, a pipe or a socket)" in r.output, r.output
        (tmp_path / name).unlink()
    os.mkfifo(tmp_path / "l.jsonl")
    assert refused_write(o, log_path=tmp_path / "l.jsonl") == ("", "")
    assert [p.name for p in tmp_path.iterdir()] == ["l.jsonl"]


def test_train_refuses_a_folder_where_it_writes_a_copy_or_checkpoint_before_any_work(image_dir, tmp_path):
    """A folder at OUT's -after-<phase> copy: the run trained that phase, wrote its checkpoint, then
    failed (exit 5, 'output path is a folder'); a folder at the default checkpoint (OUT.ckpt) was exit 4,
    'an earlier run's checkpoint is there … continue it with --resume', which refuses a folder. Now
    both are exit 2 before any work, as a folder given to --out or --checkpoint is (click's words)."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main

    o = tmp_path / "o.safetensors"
    for name, extra, says in (("o-after-fast.safetensors", ["--overwrite"], "'--out': OUT's copy path is a folder: "),
                              ("o.ckpt", [], "'--checkpoint': the checkpoint path is a folder: ")):
        (tmp_path / name).mkdir()
        r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(o), *extra, "--steps", "1", "0", "0",
                                      "--device", "cpu"])
        assert r.exit_code == 2 and f"{says}{tmp_path / name} (a folder is never replaced" in r.output, r.output
        assert sorted(p.name for p in tmp_path.iterdir()) == [name], r.output  # nothing written
        (tmp_path / name).rmdir()


def test_train_of_one_phase_is_not_refused_for_the_copies_of_phases_it_does_not_train(image_dir, tmp_path):
    """--steps 1 0 0 trains the fast phase alone, so writes no -after-prior nor -after-diffusion copy:
    it was refused for a folder there (exit 2, 'OUT's copy path is a folder') and, without
    --overwrite, for an earlier run's copy there ('a model is already there … a fresh run would
    replace it'). Now it trains, those left as they are; a phase it trains is still checked."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    from ldcsr_core.training.resumable import refused_write

    o, cfg = tmp_path / "o.safetensors", tmp_path / "cfg.json"
    cfg.write_text(tiny_test_config(with_encoder=True).to_json())
    (tmp_path / "o-after-prior.safetensors").mkdir()
    earlier = tmp_path / "o-after-diffusion.safetensors"
    earlier.write_bytes(b"an earlier run's copy")
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(o), "--config", str(cfg), "--steps", "1", "0", "0",
                                  "--batch", "2", "--lr-size", "16", "--scale-range", "2", "2", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert ldcsr_core.load_model(tmp_path / "o-after-fast.safetensors", device="cpu") is not None
    assert (tmp_path / "o-after-prior.safetensors").is_dir() and earlier.read_bytes() == b"an earlier run's copy"
    assert refused_write(o, phases=("fast",)) == ("", "")
    option, why = refused_write(o, phases=("fast", "prior"))
    assert option == "--out" and f"OUT's copy path is a folder: {tmp_path / 'o-after-prior.safetensors'}" in why
