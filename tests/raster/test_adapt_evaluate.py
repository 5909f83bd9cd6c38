"""`ldcsr evaluate` of an adapted model: its caution counts the images the model has seen (its
base's training images, the scene it was adapted on), as the model records them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from suite_helpers import evaluate_says_first

import ldcsr_core
from ldcsr_core import adaptation as adapt_mod
from ldcsr_core.adaptation import Recipe, adapt
from ldcsr_core.cli import main

from .test_adapt import scene

FAST = Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12)


@pytest.fixture
def kept(monkeypatch):
    """The guard keeps the model (what is tested is what the kept model records)."""
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})


def _evaluate(folder, model, tmp_path):
    j = tmp_path / "e.json"
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(model), "--scales", "2", "--device", "cpu",
                                  "--json", str(j), "--overwrite"])
    assert r.exit_code == 0, r.output
    return r.output, json.loads(j.read_text())


def _adapted(model_file, tmp_path):
    """A scene, the model adapted on it at ×2 (saved) and an empty folder of images to evaluate."""
    png = tmp_path / "scene.png"
    Image.fromarray(scene()).save(png)
    base = ldcsr_core.load_model(model_file, device="cpu", dtype="float32")
    model = adapt(png, 2.0, base, steps=1, recipe=FAST).save(tmp_path / "adapted.safetensors")
    folder = tmp_path / "eval"
    folder.mkdir()
    return png, model, folder


def test_an_adapted_model_keeps_the_folders_its_base_was_trained_on(tiny_model, tmp_path, kept):
    """The base's notes name its training folder (as the shipped model's name
    /work/shared/data/rsscn7/train): evaluate of the base on it gave a caution, of a model adapted
    from it none, its notes being the adaptation's; the adapted model's figures on the base's training
    images were given as on unseen images (the shipped model's adapted copy on RSSCN7 train alike)."""
    data = tmp_path / "train"
    data.mkdir()
    for i in range(2):
        Image.fromarray(scene(64, 64, seed=i)).save(data / f"t{i}.png")
    base_file = ldcsr_core.save_model(tiny_model, tmp_path / "base.safetensors", name="tiny-trained",
                                      notes=json.dumps({"data": str(data.resolve())}))
    base = ldcsr_core.load_model(base_file, device="cpu", dtype="float32")
    png = tmp_path / "scene.png"
    Image.fromarray(scene()).save(png)
    res = adapt(png, 2.0, base, steps=1, recipe=FAST)
    assert res.kept
    said, report = _evaluate(data, base_file, tmp_path)
    assert report["images_trained_on"] == 2, said  # the base: its notes say so
    adapted = res.save(tmp_path / "adapted.safetensors")
    for model in (adapted, res.model):  # the file, and the model in memory once saved
        from ldcsr_core.training.evaluate import evaluate

        report = evaluate(model, sorted(data.iterdir()), [2.0]) if model is res.model else _evaluate(data, model, tmp_path)[1]
        assert report["images_trained_on"] == 2 and str(data.resolve()) in report["caution"], report
    # a model adapted from it again keeps them too, and `ldcsr train --init` of it
    from ldcsr_core.training.evaluate import trained_folders

    again = adapt(png, 2.0, ldcsr_core.load_model(adapted, device="cpu", dtype="float32"), steps=1, recipe=FAST)
    assert trained_folders(ldcsr_core.load_model(again.save(tmp_path / "again.safetensors"))) == [str(data.resolve())]


def test_a_copy_of_the_scene_adapted_on_is_recognised_by_its_checksum(tiny_model_file, tmp_path, kept):
    """The adapted model records its scene's SHA-256: the scene copied into a folder of images
    to evaluate was scored as unseen (only its own path was recognised)."""
    png, model, folder = _adapted(tiny_model_file, tmp_path)
    shutil.copy(png, folder / "copy.png")
    Image.fromarray(np.ascontiguousarray(scene(seed=3)[::-1])).save(folder / "other.png")
    said, report = _evaluate(folder, model, tmp_path)
    assert report["images_trained_on"] == 1, said
    assert f"{(folder / 'copy.png').resolve()}, the scene it was adapted on" in report["caution"]
    assert "caution: 1 of the 2 images is among those model" in said


def test_evaluate_of_an_adapted_model_at_other_scales_says_what_upscale_says(tiny_model_file, tmp_path, kept):
    """Before: `ldcsr evaluate` of a model adapted at ×2 scored it at ×2.5 and ×4 without a word,
    where `ldcsr upscale` says the model is untested there (adapted_use.outside_use)."""
    from ldcsr_core.adapted_use import adapted_check, outside_use

    _, model, folder = _adapted(tiny_model_file, tmp_path)
    Image.fromarray(scene(64, 64, seed=4)).save(folder / "a.png")
    j = tmp_path / "e.json"
    runs = {}
    for scales in ("2", "2,2.5,4"):
        r = CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(model), "--scales", scales,
                                      "--device", "cpu", "--json", str(j), "--overwrite"])
        assert r.exit_code == 0, r.output
        runs[scales] = r.stderr, json.loads(j.read_text())["note"]
    note = outside_use(adapted_check(model), [2.0, 2.5, 4.0], "fast")
    assert note and "at ×2.5, ×4 it is untested" in note
    assert runs["2,2.5,4"] == (f"note: {note}\n", note)
    assert runs["2"] == ("", None)  # at the scale it was adapted at: nothing to say
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(tiny_model_file), "--scales", "2,4",
                                  "--device", "cpu"])
    assert r.exit_code == 0 and r.stderr == "", r.output  # not an adapted model


def test_evaluate_says_its_note_before_it_scores_as_upscale_does(tiny_model_file, tmp_path, kept, monkeypatch):
    """The note comes before the first image is scored, so a user who reads it can stop a long
    evaluation: said before the scoring's own line, and said by a run interrupted at its first image
    (Ctrl-C, exit 130). Before: said after the scoring, so the interrupted run never said it."""
    _, model, folder = _adapted(tiny_model_file, tmp_path)
    Image.fromarray(scene(64, 64, seed=4)).save(folder / "a.png")
    r, stopped = evaluate_says_first(monkeypatch, ["evaluate", str(folder), "--model", str(model), "--scales", "2,4",
                                                      "--device", "cpu"])
    said = r.stderr.splitlines()
    assert said[0].startswith("note: this model was adapted and checked at ×2") and "at ×4 it is untested" in said[0]
    assert said[1:] == ["scoring an image"] * 2, said  # one image, two scales; the note once
    assert stopped.stderr.startswith(said[0] + "\n"), stopped.stderr


@pytest.fixture(scope="module")
def adapted_twice(tiny_model_file, tmp_path_factory):
    """``(first, second, again, twice)``, made once for the module's tests (which only read them): scenes/first.png
    and scenes/second.png, the tiny model adapted on first (the guard made to keep it), that adapted on second
    (``again``, the Adaptation) and saved as ``twice``."""
    d = tmp_path_factory.mktemp("adapted_twice")
    scenes = d / "scenes"
    scenes.mkdir()
    first, second = scenes / "first.png", scenes / "second.png"
    Image.fromarray(scene(seed=5)).save(first)
    Image.fromarray(scene(seed=6)).save(second)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
            "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})  # as the `kept` fixture
        base = ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float32")
        once = adapt(first, 2.0, base, steps=1, recipe=FAST).save(d / "once.safetensors")
        again = adapt(second, 2.0, ldcsr_core.load_model(once, device="cpu", dtype="float32"), steps=1, recipe=FAST)
    return first, second, again, again.save(d / "twice.safetensors")


def test_a_model_adapted_from_an_adapted_model_keeps_every_scene_it_learnt(tmp_path, kept, adapted_twice):
    """Before: a model adapted from an adapted model recorded only its own scene: evaluate scored the
    scene its base was adapted on (or a copy of it) as unseen (images_trained_on 0, no caution)."""
    first, second, again, twice = adapted_twice
    scenes = first.parent
    third = scenes / "third.png"  # beside the first two: the scenes folder evaluated below holds all three
    Image.fromarray(scene(seed=7)).save(third)
    thrice = adapt(third, 2.0, ldcsr_core.load_model(twice, device="cpu", dtype="float32"), steps=1,
                   recipe=FAST).save(tmp_path / "thrice.safetensors")
    folder = tmp_path / "eval"
    folder.mkdir()
    shutil.copy(first, folder / "copy-of-first.png")
    Image.fromarray(scene(seed=8)).save(folder / "unseen.png")
    for model, seen in ((twice, 1), (thrice, 1)):
        said, report = _evaluate(folder, model, tmp_path)
        assert report["images_trained_on"] == seen, said
        assert f"{(folder / 'copy-of-first.png').resolve()}, a scene its base was adapted on" in report["caution"]
    said, report = _evaluate(scenes, thrice, tmp_path)  # the scenes themselves, by their paths
    assert report["images_trained_on"] == 3, said
    assert f"{third.resolve()}, the scene it was adapted on" in report["caution"]
    assert f"{second.resolve()}, a scene its base was adapted on" in report["caution"]
    assert again.model.adapt_checked.scenes()[0][0] == str(first.resolve())  # the model in memory too
    r = CliRunner().invoke(main, ["models", str(thrice)])
    assert r.exit_code == 0 and f"its base was adapted on {second.resolve()}" in r.output, r.output
    assert f"and before that on {first.resolve()}" in r.output, r.output


def test_a_model_adapted_before_the_folders_were_recorded_knows_its_built_in_bases(tiny_model, tmp_path, kept,
                                                                                    monkeypatch):
    """A model adapted from a built-in model before adapted_from_trained_on was recorded (9c13472)
    still records that base's SHA-256: evaluate of it on the base's training images said none was
    seen (images_trained_on 0, no caution), as for every model adapted from the shipped v4 until
    today. Now the built-in base's folders, known by its shipped checksum."""
    from safetensors.torch import save_file

    from ldcsr_core import builtin_models
    from ldcsr_core.checkpoints import read_state_dict
    from ldcsr_core.files import sha256_file

    data = tmp_path / "train"
    data.mkdir()
    for i in range(2):
        Image.fromarray(scene(64, 64, seed=i)).save(data / f"t{i}.png")
    weights = tmp_path / "weights"
    weights.mkdir()
    shipped = ldcsr_core.save_model(tiny_model, weights / builtin_models.DEFAULT_WEIGHTS, name="ldcsr-compact-rsscn7",
                                    version="4", notes=json.dumps({"data": str(data.resolve())}))
    (weights / builtin_models.BUILTIN_SUMS).write_text(json.dumps({shipped.name: sha256_file(shipped)}))
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: shipped)
    png = tmp_path / "scene.png"
    Image.fromarray(scene()).save(png)
    res = adapt(png, 2.0, ldcsr_core.load_model(None, device="cpu", dtype="float32"), steps=1, recipe=FAST)
    sd, meta = read_state_dict(res.save(tmp_path / "new.safetensors"))
    assert json.loads(meta.pop("adapted_from_trained_on")) == [str(data.resolve())]
    older = tmp_path / "older.safetensors"  # as saved before 9c13472
    save_file(sd, str(older), metadata=meta)
    said, report = _evaluate(data, older, tmp_path)
    assert report["images_trained_on"] == 2 and str(data.resolve()) in report["caution"], said
def test_selfcheck_cautions_on_every_scene_evaluate_counts(tmp_path, kept, adapted_twice):
    """selfcheck of an adapted model on a scene its base was adapted on (adapted_earlier_on), or a copy of
    it, says so as evaluate's caution does: one rule (adapt_scene.is_scene_file). Before: evaluate counted
    it ('…, a scene its base was adapted on') where selfcheck's caution was null (it asked only about the
    model's own scene), its figures given as on an unseen scene."""
    first, second, _, twice = adapted_twice
    shutil.copy(first, tmp_path / "copy-of-first.png")
    Image.fromarray(scene(seed=8)).save(tmp_path / "unseen.png")
    j = tmp_path / "s.json"

    def caution(path):
        r = CliRunner().invoke(main, ["selfcheck", str(path), "--scale", "2", "--model", str(twice),
                                      "--device", "cpu", "--mode", "fast", "--json", str(j), "--overwrite"])
        assert r.exit_code == 0, r.output
        return json.loads(j.read_text())[0]["caution"] or ""

    assert "a scene its base was adapted on" in caution(first)
    assert "a scene its base was adapted on" in caution(tmp_path / "copy-of-first.png")
    assert "adapted to this scene at ×2" in caution(second)  # its own file: the note as before
    assert caution(tmp_path / "unseen.png") == ""
