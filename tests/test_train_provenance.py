"""What `ldcsr train` writes and where, and what a model's training data says later: the built-in
models' folder, a resume on other images, `ldcsr evaluate` on images the model was trained on."""

import json
import shutil

import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from suite_helpers import evaluate_says_first

import ldcsr_core
from ldcsr_core import builtin_models
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from tests.train_pictures import picture, picture_folder

TRAIN = ["--lr-size", "16", "--scale-range", "2", "3", "--batch", "2", "--device", "cpu", "--warmup-steps", "1"]


def _picture(side=96, seed=0):
    return picture(side, seed, period=3 + seed)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    return picture_folder(tmp_path_factory.mktemp("imgs"), [_picture(seed=i) for i in range(2)])


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "cfg.json"
    p.write_text(tiny_test_config(with_encoder=True).to_json())
    return p


def test_a_run_never_writes_in_the_built_in_models_folder(image_dir, cfg, tmp_path, monkeypatch):
    """`--out` naming a built-in model with --overwrite replaced the shipped file (it then loaded as
    damaged) and left OUT.ckpt and OUT-after-fast there (listed as built-in models): refused, exit 2,
    before any work, --overwrite or not. The built-in folder is a copy here (main wrote into it)."""
    shipped = builtin_models.default_model_path()
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(shipped.parent / builtin_models.BUILTIN_SUMS, weights)
    copy = weights / shipped.name
    copy.write_bytes(b"stands for the shipped model")
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: copy)
    before = sorted(p.name for p in weights.iterdir())
    for extra, hint in ((["--out", str(copy), "--overwrite"], "'--out'"),
                        (["--out", str(weights / "mine.safetensors")], "'--out'"),
                        (["--out", str(tmp_path / "m.safetensors"), "--checkpoint", str(weights / "m.ckpt")],
                         "'--checkpoint'"),
                        (["--out", str(tmp_path / "m.safetensors"), "--log", str(weights / "m.jsonl")], "'--log'")):
        r = CliRunner().invoke(main, ["train", str(image_dir), *extra, "--config", str(cfg), "--steps", "1", "0", "0",
                                      *TRAIN])
        assert r.exit_code == 2 and "folder of the built-in models" in r.output and hint in r.output, r.output
    assert copy.read_bytes() == b"stands for the shipped model"
    assert sorted(p.name for p in weights.iterdir()) == before and not (tmp_path / "m.ckpt").exists()


def test_a_resume_on_other_training_images_is_said_and_the_notes_name_the_folder(image_dir, cfg, tmp_path,
                                                                                 monkeypatch):
    """`--resume` with another DATA (an image added, removed or edited) continued silently, and the
    model's notes then named that folder alone, as given ("data": a relative "imgs"). Now the images'
    identity is a setting: other images are said and logged as a change; the same images moved
    are not; the notes name the folder resolved."""
    from ldcsr_core.training.runlog import read_jsonl

    moved, other = tmp_path / "moved", tmp_path / "other"
    shutil.copytree(image_dir, moved)
    shutil.copytree(image_dir, other)
    Image.fromarray(_picture(seed=5)).save(other / "img1.png")  # one image edited
    monkeypatch.chdir(tmp_path)
    out, log = tmp_path / "r.safetensors", tmp_path / "r.jsonl"
    args = ["--out", str(out), "--config", str(cfg), "--log", str(log), "--steps", "3", "0", "0", *TRAIN]
    r = CliRunner().invoke(main, ["train", str(image_dir), *args, "--stop-after-steps", "1"])
    assert r.exit_code == 0, r.output
    resume = ["--resume", str(out.with_suffix(".ckpt")), "--stop-after-steps", "1"]
    r = CliRunner().invoke(main, ["train", "moved", *args, *resume])  # the same images elsewhere
    assert r.exit_code == 0 and "other settings" not in r.output, r.output
    assert [e for e in read_jsonl(log) if e["event"] == "resume"][-1]["changed"] == {}
    r = CliRunner().invoke(main, ["train", "other", *args, *resume])
    assert r.exit_code == 0 and "other settings" in r.output and "data 2 images, pixels" in r.output, r.output
    assert list([e for e in read_jsonl(log) if e["event"] == "resume"][-1]["changed"]) == ["data"]
    notes = json.loads(ldcsr_core.load_model(out, device="cpu").notes)
    assert notes["data"] == str(other.resolve()) and notes["settings"]["data"].startswith("2 images, pixels ")


def test_evaluate_says_which_images_the_model_was_trained_on(image_dir, cfg, tmp_path):
    """`ldcsr evaluate` on the folder a model was trained on (or its --init model was) printed its
    figures as any set's: now a caution on the table and in the JSON (`images_trained_on`,
    `caution`), from the folders the model's notes record; an unseen set has none."""
    unseen = tmp_path / "unseen"
    unseen.mkdir()
    Image.fromarray(_picture(seed=3)).save(unseen / "u.png")
    shutil.copy(image_dir / "img0.png", unseen / "copy.png")  # a copy elsewhere: the notes cannot tell
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    for data, out, init in ((image_dir, first, []), (unseen, second, ["--init", str(first)])):
        r = CliRunner().invoke(main, ["train", str(data), "--out", str(out), "--config", str(cfg), *init,
                                      "--steps", "1", "0", "0", *TRAIN])
        assert r.exit_code == 0, r.output
    for model, folder, seen in ((first, image_dir, 2), (second, image_dir, 2), (second, unseen, 2), (first, unseen, 0)):
        j = tmp_path / f"{model.stem}-{folder.name}.json"
        r = CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(model), "--scales", "2", "--device", "cpu",
                                      "--json", str(j)])
        assert r.exit_code == 0, r.output
        res = json.loads(j.read_text())
        assert res["images_trained_on"] == seen, (model, folder, r.output)
        if seen:
            assert f"caution: {seen} of the 2 images are among those model ldcsr-custom was trained on" in r.output
            assert str(image_dir.resolve() if folder == image_dir else unseen.resolve()) in res["caution"]
        else:
            assert res["caution"] is None and "caution" not in r.output


def test_evaluate_says_its_caution_before_it_scores(image_dir, cfg, tmp_path, monkeypatch):
    """The caution about images the model was trained on comes before the first image is scored (as
    the note of an adapted model's other scales), on stderr, and under the table as before, so a user
    can stop a long evaluation there. Before: only under the table, after all the scoring; a run
    stopped with Ctrl-C never said it."""
    model = tmp_path / "m.safetensors"
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(model), "--config", str(cfg),
                                  "--steps", "1", "0", "0", *TRAIN])
    assert r.exit_code == 0, r.output
    args = ["evaluate", str(image_dir), "--model", str(model), "--scales", "2,3", "--device", "cpu"]
    r, stopped = evaluate_says_first(monkeypatch, args)
    said = r.stderr.splitlines()
    caution = "caution: 2 of the 2 images are among those model ldcsr-custom was trained on"
    assert said[0].startswith(caution) and str(image_dir.resolve()) in said[0], said
    assert said[1:] == ["scoring an image"] * 4, said  # two images, two scales; the caution once
    assert stopped.stderr.startswith(said[0] + "\n"), stopped.stderr
    assert r.stdout.splitlines()[-1] == said[0], r.stdout  # and under the table, as before


def test_a_model_written_part_way_through_a_phase_says_its_steps_so_far(image_dir, cfg, tmp_path):
    """OUT written where a run stopped (--stop-after, Ctrl-C, a periodic checkpoint) said only the
    phases it had finished: `last training run: no steps` for a model trained 2 steps (and, stopped
    in the prior phase, the fast phase alone). Now the phase in progress is in its notes, unfinished,
    until a resume ends it; the checkpoint's history is unchanged (the resumed run ends as one never stopped)."""
    out = tmp_path / "m.safetensors"
    args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--steps", "1", "2", "0", *TRAIN]
    for extra, said in ((["--stop-after-steps", "2"], "fast 1 step (0 min), prior 1 step (0 min, unfinished)"),
                        (["--resume", str(out.with_suffix(".ckpt"))], "fast 1 step (0 min), prior 2 steps (0 min)")):
        r = CliRunner().invoke(main, [*args, *extra])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(main, ["models", str(out)])
        assert f"notes:   last training run: {said} (ldcsr models --notes: all)" in r.output, r.output
    from ldcsr_core.training.checkpoint import read_checkpoint

    assert "unfinished" not in json.dumps(read_checkpoint(out.with_suffix(".ckpt"))["state"]["history"])


def test_a_model_resumed_with_other_settings_records_each_part_of_its_run(image_dir, cfg, tmp_path):
    """A run resumed with other settings wrote the last process's settings alone in its model's
    notes: 2 prior steps at batch 2 and 1 at batch 3 said batch 3 throughout. Now each resume that
    changed settings is in the history, where it continued and what changed (a resume with the same
    settings adds nothing), and `ldcsr models` says it in one phrase."""
    out = tmp_path / "m.safetensors"
    args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--steps", "1", "3", "0", *TRAIN]
    resume = ["--resume", str(out.with_suffix(".ckpt"))]
    for extra in (["--stop-after-steps", "2"], [*resume, "--stop-after-steps", "1"]):
        r = CliRunner().invoke(main, [*args, *extra])
        assert r.exit_code == 0 and "other settings" not in r.output, r.output
        assert "resumed" not in json.loads(ldcsr_core.load_model(out, device="cpu").notes)["history"]
    r = CliRunner().invoke(main, [*args, *resume, "--batch", "3"])
    assert r.exit_code == 0 and "batch_size 2 -> 3" in r.output, r.output
    notes = json.loads(ldcsr_core.load_model(out, device="cpu").notes)
    assert notes["settings"]["batch_size"] == 3 and notes["history"]["phases"]["prior"]["steps"] == 3
    assert notes["history"]["resumed"] == [{"phase": "prior", "step": 2, "total_steps": 3,
                                            "changed": {"batch_size": [2, 3]}}]
    r = CliRunner().invoke(main, ["models", str(out)])
    assert ("notes:   last training run: fast 1 step (0 min), prior 3 steps (0 min), resumed 1× with other "
            "settings (batch_size) (ldcsr models --notes: all)") in r.output, r.output


@pytest.mark.parametrize("lack, says, code", [("space", "not enough space for the checkpoint and the model", 5),
                                              ("ulimit", "the checkpoint and the model cannot be written: the file size limit (ulimit -f) "
                                                         "is 1.0 MiB, each needs more than", 5)])
def test_a_checkpoint_that_cannot_be_written_is_said_before_any_step(image_dir, cfg, tmp_path, monkeypatch,
                                                                     lack, says, code):
    """On a full disk (or under `ulimit -f`) train computed every step up to its first checkpoint
    (--checkpoint-every, 10 minutes by default, or the whole phase) and lost them at it: now exit 5
    before any step, naming what lacks (the checkpoint and OUT hold at least the float32 weights)."""
    from ldcsr_core import files
    from ldcsr_core.training.runlog import read_jsonl

    if lack == "space":
        monkeypatch.setattr(files, "free_bytes", lambda folder: 2 ** 20)
    else:
        monkeypatch.setattr(files, "file_size_limit", lambda: 2 ** 20)
    out, log = tmp_path / "m.safetensors", tmp_path / "m.jsonl"
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--log", str(log),
                                  "--steps", "2", "0", "0", *TRAIN])
    assert r.exit_code == code and says in r.output and "more than" in r.output, r.output
    assert not out.exists() and not out.with_suffix(".ckpt").exists()
    assert not log.exists() or not [e for e in read_jsonl(log) if e["event"] == "step"]


def test_the_room_checked_before_any_step_holds_every_rewrite_and_copy(image_dir, cfg, tmp_path, monkeypatch):
    """The check counted the checkpoint and OUT once each: on a disk with room for two models the
    run started, wrote its first checkpoint, and failed at the second ('cannot write o.safetensors:
    no space left on device'), as each rewrite is a new file beside the old one, and the fast
    phase's -after-fast copy is one more. Now, with room for three, exit 5 before any step; with
    OUT and the copy there already (--overwrite), the checkpoint and the rewrite's file are enough."""
    from ldcsr_core import files

    size = sum(t.numel() * t.element_size()
               for t in ldcsr_core.build_model(config=tiny_test_config(with_encoder=True)).state_dict().values())
    out, log = tmp_path / "m.safetensors", tmp_path / "m.jsonl"
    args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--log", str(log), "--steps", "2", "0", "0", *TRAIN]
    monkeypatch.setattr(files, "free_bytes", lambda folder: 3 * size + size // 2)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 5, r.output
    assert f"they need more than {files.human_bytes(4 * size)}" in r.output
    assert not out.exists() and not log.exists()
    for name in ("m.safetensors", "m-after-fast.safetensors"):
        (tmp_path / name).write_bytes(b"")  # what the run replaces takes no more room: the checkpoint + 1
    monkeypatch.setattr(files, "free_bytes", lambda folder: 2 * size + size // 2)
    r = CliRunner().invoke(main, [*args, "--overwrite"])
    assert r.exit_code == 0 and out.stat().st_size > size, r.output


@pytest.mark.parametrize("log_name", ["l.jsonl", "sub/l.jsonl"])
def test_a_log_in_a_folder_that_cannot_be_written_is_refused_before_any_work(image_dir, cfg, tmp_path, monkeypatch,
                                                                            log_name):
    """--log in a read-only folder: exit 5 after the model and the data were loaded, in errno's words
    ("[Errno 30] Read-only file system: 'rom/l.jsonl'"). Now the rule and words of OUT and the
    checkpoint, before anything is loaded. Root may write anywhere, so the folder is made unwritable
    for os.access, as it is for a user without the right (a read-only disk too)."""
    import os

    from ldcsr_core.training import trainer

    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(ro) else real(p, mode, **kw))
    monkeypatch.setattr(trainer, "load_named_images", lambda *a, **k: pytest.fail("the data was loaded"))
    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--config", str(cfg),
                                  "--log", str(ro / log_name), "--steps", "1", "0", "0", *TRAIN])
    assert r.exit_code == 5 and r.output.strip().splitlines()[-1] == \
        f"Error: the training's output folder is not writable: {ro}", r.output
    assert list(ro.iterdir()) == [] and not out.exists()


def test_a_log_that_exists_is_appended_to_in_a_folder_the_run_cannot_write(image_dir, cfg, tmp_path, monkeypatch):
    """The log is appended to, so only the file must be writable: --log /dev/stdout, or a log kept
    in a shared folder, was refused for its folder ('the training's output folder is not writable:
    /dev', for a user). Now the run appends to it; a log file that cannot be written is refused
    before any work, naming it. Root may write anywhere: os.access says what a user would meet."""
    import os

    from ldcsr_core.training import trainer
    from ldcsr_core.training.runlog import read_jsonl

    ro = tmp_path / "ro"
    ro.mkdir()
    log = ro / "l.jsonl"
    log.write_text('{"event": "earlier"}\n')
    unwritable = {str(ro)}
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) in unwritable and mode & os.W_OK
                        else real(p, mode, **kw))
    out = tmp_path / "m.safetensors"
    args = ["train", str(image_dir), "--out", str(out), "--config", str(cfg), "--log", str(log), "--steps", "1", "0", "0",
            *TRAIN]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert [e["event"] for e in read_jsonl(log)][:2] == ["earlier", "start"] and [p.name for p in ro.iterdir()] == ["l.jsonl"]
    unwritable.add(str(log))
    monkeypatch.setattr(trainer, "load_named_images", lambda *a, **k: pytest.fail("the data was loaded"))
    r = CliRunner().invoke(main, [*args, "--overwrite", "--checkpoint", str(tmp_path / "other.ckpt")])
    assert r.exit_code == 5 and r.output.strip().splitlines()[-1] == f"Error: the training's log is not writable: {log}", r.output


def test_evaluate_says_which_image_an_adapted_model_was_adapted_on(image_dir, tmp_path):
    """An adapted model records the scene it was adapted on (`adapted_on`, as selfcheck's caution
    reads it); evaluate on a folder holding that scene said nothing of it."""
    from ldcsr_core.checkpoints import build_model, save_model

    scene = image_dir / "img1.png"
    model = tmp_path / "adapted.safetensors"
    save_model(build_model(tiny_test_config(), seed=0), model, name="tiny-adapted",
               extra={"adapt_scale": "2", "adapted_on": str(scene.resolve())})
    j = tmp_path / "e.json"
    r = CliRunner().invoke(main, ["evaluate", str(image_dir), "--model", str(model), "--scales", "2", "--device", "cpu",
                                  "--json", str(j)])
    assert r.exit_code == 0, r.output
    res = json.loads(j.read_text())
    assert res["images_trained_on"] == 1 and f"{scene.resolve()}, the scene it was adapted on" in res["caution"]
    assert "caution: 1 of the 2 images is among those model tiny-adapted was trained on" in r.output


def test_a_resume_with_another_model_configuration_of_the_same_shapes_is_refused(image_dir, cfg, tmp_path):
    """--resume with a --config whose weights have the same shapes (attention heads, the diffusion
    schedule) continued silently: the model then trained on as another architecture and its file
    recorded the new configuration over weights trained under the old. Now exit 6 naming the fields."""
    from dataclasses import replace

    tiny = tiny_test_config(with_encoder=True)
    other = tmp_path / "other.json"
    other.write_text(replace(tiny, unet=replace(tiny.unet, num_head_channels=tiny.unet.num_head_channels // 2),
                             diffusion=replace(tiny.diffusion, linear_end=0.5)).to_json())
    out = tmp_path / "m.safetensors"
    args = ["train", str(image_dir), "--out", str(out), "--steps", "1", "0", "2", *TRAIN]
    r = CliRunner().invoke(main, [*args, "--config", str(cfg), "--stop-after-steps", "2"])
    assert r.exit_code == 0, r.output
    before = out.with_suffix(".ckpt").read_bytes()
    r = CliRunner().invoke(main, [*args, "--config", str(other), "--resume", str(out.with_suffix(".ckpt"))])
    assert r.exit_code == 6 and "checkpoint of another model configuration" in r.output, r.output
    assert "diffusion.linear_end 0.99 -> 0.5" in r.output and "unet.num_head_channels" in r.output, r.output
    assert out.with_suffix(".ckpt").read_bytes() == before
    r = CliRunner().invoke(main, [*args, "--config", str(cfg), "--resume", str(out.with_suffix(".ckpt"))])
    assert r.exit_code == 0, r.output  # its own configuration resumes


def test_selfcheck_says_a_scene_is_in_the_folder_the_model_was_trained_on(image_dir, tmp_path):
    """selfcheck on an image of the model's training folder (the shipped model's notes name
    /work/shared/data/rsscn7/train) gave its figures as on any scene; now its caution says so, by
    evaluate's rule, in the line and the JSON."""
    from ldcsr_core.checkpoints import build_model, save_model

    model = tmp_path / "m.safetensors"
    save_model(build_model(tiny_test_config(), seed=0), model, name="tiny", notes=json.dumps({"data": str(image_dir)}))
    Image.fromarray(_picture(seed=4)).save(tmp_path / "unseen.png")
    for scene, trained in ((image_dir / "img0.png", True), (tmp_path / "unseen.png", False)):
        j = tmp_path / f"{scene.stem}.json"
        r = CliRunner().invoke(main, ["selfcheck", str(scene), "--scale", "2", "--mode", "fast", "--model", str(model),
                                      "--device", "cpu", "--json", str(j)])
        assert r.exit_code == 0, r.output
        caution = json.loads(j.read_text())[0]["caution"]
        if trained:
            assert f"the scene is in the folder model tiny was trained on ({image_dir.resolve()}" in caution
            assert "caution: the scene is in the folder" in r.output
        else:
            assert caution is None and "caution" not in r.output, r.output


def test_a_run_of_no_steps_without_init_is_refused_and_with_init_is_its_weights(image_dir, cfg, tmp_path):
    """`--steps 0 0 0` (or `--minutes 0 0 0`) without --init wrote OUT, a model of random weights, exit 0.
    Now exit 2 before any work, nothing written (the API: TrainingError). With --init, OUT is the --init
    model's weights as they are (its notes: no steps; the DATA it never learnt is not among its folders)."""
    from ldcsr_core.checkpoints import build_model, load_model, save_model
    from ldcsr_core.training.errors import TrainingError
    from ldcsr_core.training.evaluate import trained_folders
    from ldcsr_core.training.trainer import train

    out = tmp_path / "m.safetensors"
    before = sorted(p.name for p in tmp_path.iterdir())
    for budget in (["--steps", "0", "0", "0"], ["--minutes", "0", "0", "0"]):
        r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--config", str(cfg), *budget, *TRAIN])
        assert r.exit_code == 2, r.output
        assert f"nothing to train: every phase has a budget of 0 ({' '.join(budget)}) and there is no --init" in r.output
    with pytest.raises(TrainingError, match="nothing to train"):
        train(image_dir, out, config=tiny_test_config(with_encoder=True), steps=(0, 0, 0), device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    init = save_model(build_model(tiny_test_config(with_encoder=True), seed=3), tmp_path / "init.safetensors", name="i")
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--init", str(init), "--steps", "0", "0",
                                  "0", *TRAIN])
    assert r.exit_code == 0, r.output
    a, b = (load_model(p, device="cpu", with_encoder=True, dtype="float32") for p in (init, out))
    b_weights = b.state_dict()  # once: each state_dict() call walks every module
    assert all(torch.equal(v, b_weights[k]) for k, v in a.state_dict().items()) and trained_folders(b) == []
    r = CliRunner().invoke(main, ["models", str(out)])
    assert f"last training run: no steps (the weights of --init {init})" in r.output, r.output


def test_the_python_api_never_writes_over_an_input_model(image_dir, tmp_path):
    """`ldcsr train` refused an OUT or checkpoint naming its --init file; the API's train (and
    convert_checkpoint with dst = src) replaced it. Now the engine's rule (training.resumable.refused_write),
    which the CLI says as its usage error: TrainingError / InputError before any work, the file kept."""
    from ldcsr_core.checkpoints import build_model, convert_checkpoint, save_model
    from ldcsr_core.errors import InputError
    from ldcsr_core.training.errors import TrainingError
    from ldcsr_core.training.trainer import train

    init = save_model(build_model(tiny_test_config(with_encoder=True), seed=0), tmp_path / "init.safetensors", name="i")
    before = init.read_bytes()
    for out, ckpt, option in ((init, None, "--out"), (tmp_path / "m.safetensors", init, "--checkpoint")):
        with pytest.raises(TrainingError, match=f"{option}: the run would write {init}, which is its --init file"):
            train(image_dir, out, init=str(init), checkpoint=ckpt, steps=(1, 0, 0), batch_size=2, lr_size=16,
                  scale_range=(2.0, 3.0), device="cpu")
    with pytest.raises(InputError, match="is the checkpoint it converts"):
        convert_checkpoint(init, init)
    assert init.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["init.safetensors"]


def test_one_training_image_reads_1_image_and_a_checkpoint_saying_1_images_resumes(cfg, tmp_path):
    """The images' identity read '1 images, pixels ...' for one image. Now '1 image'; a checkpoint
    written with the old words (the identity is compared on resume) resumes as the same images:
    no 'other settings' said, no change logged."""
    from ldcsr_core.training.runlog import read_jsonl

    (tmp_path / "one").mkdir()
    one = picture_folder(tmp_path / "one", [_picture(seed=0)])
    out, log = tmp_path / "r.safetensors", tmp_path / "r.jsonl"
    args = ["train", str(one), "--out", str(out), "--config", str(cfg), "--log", str(log), "--steps", "3", "0", "0",
            *TRAIN, "--stop-after-steps", "1"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    ckpt = out.with_suffix(".ckpt")
    obj = torch.load(ckpt, weights_only=True)
    assert obj["settings"]["data"].startswith("1 image, pixels "), obj["settings"]["data"]
    obj["settings"]["data"] = obj["settings"]["data"].replace("1 image,", "1 images,")  # as written before
    torch.save(obj, ckpt)
    r = CliRunner().invoke(main, [*args, "--resume", str(ckpt)])
    assert r.exit_code == 0 and "other settings" not in r.output, r.output
    assert [e for e in read_jsonl(log) if e["event"] == "resume"][-1]["changed"] == {}
