"""ldcsr_core.model_names: the models a front end offers by name (QGIS's Model parameter, napari's
Model list), as ``ldcsr upscale --model NAME`` and ``ldcsr models`` know them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import ldcsr_core
from ldcsr_core.builtin_models import model_path
from ldcsr_core.errors import CheckpointError, InputError
from ldcsr_core.model_names import adapted_models, default_model_name, model_named, named_models
from tests import test_model_files

V1, V4 = test_model_files.V1, test_model_files.V4
weights = test_model_files.weights  # the fixture: a built-in models' folder of v1 and v4 with the checksum list
tiny = test_model_files.tiny


def test_the_named_models_are_the_built_in_ones_then_the_adapted_ones(weights, tiny, tmp_path, monkeypatch):
    """model_names: one list for QGIS's Model parameter and napari's (its adapted models): the
    built-in models by the name ldcsr upscale --model takes, the default first, then the user's
    adapted models by file name, newest first, without a copy of a built-in one; a name not there
    is one line naming those there are."""
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(weights / f"{V1}.safetensors", mine / "copy-of-v1.safetensors")
    for i, name in enumerate(("old", "new")):
        ldcsr_core.save_model(tiny, mine / f"{name}.safetensors", name=name)
        os.utime(mine / f"{name}.safetensors", (1e9 + i, 1e9 + i))
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    assert adapted_models() == [mine / "new.safetensors", mine / "old.safetensors"]
    assert named_models() == {V4: weights / f"{V4}.safetensors", V1: weights / f"{V1}.safetensors",
                              "new.safetensors": mine / "new.safetensors", "old.safetensors": mine / "old.safetensors"}
    assert default_model_name() == V4 and model_path(V1) == model_named(V1)  # as --model NAME reads it
    assert model_named("ldcsr-compact-rsscn7") == model_path("ldcsr-compact-rsscn7")  # the default's older name
    with pytest.raises(InputError) as e:
        model_named("copy-of-v1.safetensors")
    assert str(e.value) == (f"no model is named 'copy-of-v1.safetensors': the models are {V4}, {V1}, new.safetensors, "
                            "old.safetensors; give one of them, or a checkpoint file")


def test_load_model_takes_every_name_the_models_are_listed_by(weights, tiny, tmp_path, monkeypatch):
    """The API's rule is the CLI's, QGIS's and napari's (builtin_models.model_path, which --model calls):
    an adapted model of the user's model folder by its file name, from any folder, gives the pixels
    of its path; a file of that name in the working folder wins; an unknown name is one InputError (bad
    input, as model_named, QGIS and --model's exit 2 say it) naming the models, in --model's words. Before:
    load_model('mine.safetensors') from another folder was CheckpointError 'checkpoint not found:
    mine.safetensors', naming no model; then an unknown name was a CheckpointError, model_named's
    InputError of the same words converted."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.config import tiny_test_config

    folder, work = tmp_path / "models", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    mine = ldcsr_core.save_model(tiny, folder / "mine.safetensors", name="mine")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
    monkeypatch.chdir(work)
    image = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)

    def pixels(model):
        return ldcsr_core.upscale(image, 2.0, model=model, mode="fast")

    by_name = ldcsr_core.load_model("mine.safetensors", device="cpu", dtype="float32")
    assert model_path("mine.safetensors") == mine and by_name.name == "mine"
    assert np.array_equal(pixels(by_name), pixels(ldcsr_core.load_model(mine, device="cpu", dtype="float32")))

    with pytest.raises(InputError) as e:  # in --model's words
        ldcsr_core.load_model("mine", device="cpu")
    assert not isinstance(e.value, CheckpointError)
    said = f"no model is named 'mine': the models are {V4}, {V1}, mine.safetensors; give one of them, or a checkpoint file"
    assert str(e.value) == said
    r = CliRunner().invoke(main, ["info", "--model", "mine"])
    assert r.exit_code == 2 and said in " ".join(r.output.split()), r.output  # click wraps the line

    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(), seed=1), work / "mine.safetensors", name="here")
    here = ldcsr_core.load_model("mine.safetensors", device="cpu", dtype="float32")  # the file here is read
    assert model_path("mine.safetensors") == Path("mine.safetensors") and here.name == "here"
    assert not np.array_equal(pixels(here), pixels(by_name))


def test_a_broken_link_named_like_a_model_is_refused_naming_the_link(weights, tiny, tmp_path, monkeypatch):
    """One rule for a link to a file moved away (or a loop) that bears a model's name: it wins as a
    file there does, and its loading says what it is (exit 6), by whichever name. Before: one in the
    working folder named like a built-in model was passed over (builtin_named asked exists(), the
    adapted-name branch lexists()): load_model and --model read the built-in model without a word;
    one in the model folder was the unknown model 'no model is named 'mine.safetensors'' (exit 2)."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    folder, work = tmp_path / "models", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    ldcsr_core.save_model(tiny, folder / "kept.safetensors", name="kept")
    (folder / "mine.safetensors").symlink_to(tmp_path / "moved.safetensors")
    (work / V1).symlink_to(tmp_path / "gone.safetensors")
    (work / "loop.safetensors").symlink_to(work / "loop.safetensors")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
    monkeypatch.chdir(work)
    for name, said in ((V1, f"{V1} is a link to {tmp_path / 'gone.safetensors'}, which is missing"),
                       ("mine.safetensors", f"{folder / 'mine.safetensors'} is a link to "
                                            f"{tmp_path / 'moved.safetensors'}, which is missing"),
                       ("loop.safetensors", "loop.safetensors is a link loop")):
        with pytest.raises(CheckpointError) as e:
            ldcsr_core.load_model(name, device="cpu")
        assert str(e.value) == f"{said}: no checkpoint to read"
        r = CliRunner().invoke(main, ["info", "--model", name])
        assert r.exit_code == 6 and said in " ".join(r.output.split()), r.output
    assert model_named("mine.safetensors") == folder / "mine.safetensors"
    assert list(named_models())[2:] == ["kept.safetensors"]  # the lists offer no link to pick
    with pytest.raises(InputError, match="no model is named 'moved.safetensors'"):
        model_named("moved.safetensors")


def test_a_model_folder_that_is_a_file_is_said_not_passed_over(weights, tiny, tmp_path, monkeypatch):
    """LDCSR_MODELS_DIR set to a model's file (not its folder): `ldcsr models` warns of it, and a name
    only that folder could hold says why it holds none (load_model, --model, QGIS's Model). Before:
    the built-in models alone were listed without a word, and --model mine.safetensors was 'no model
    is named ...' naming no cause."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    mine = ldcsr_core.save_model(tiny, tmp_path / "mine.safetensors", name="mine")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    monkeypatch.chdir(tmp_path / "weights")
    why = (f"LDCSR_MODELS_DIR={mine} is a file, not a folder, so no adapted model is listed: set it to the "
           "folder of your adapted models")
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0 and r.stderr == f"warning: {why}\n", r.output
    assert [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(" ")] == [
        f"{V1}.safetensors  [built-in]", f"{V4}.safetensors  [built-in, default]"], r.stdout
    assert adapted_models() == [] and list(named_models()) == [V4, V1]  # napari's and QGIS's lists
    said = (f"no model is named 'mine.safetensors': the models are {V4}, {V1}; give one of them, or a checkpoint "
            f"file ({why})")
    with pytest.raises(InputError) as e:
        ldcsr_core.load_model("mine.safetensors", device="cpu")
    assert str(e.value) == said
    r = CliRunner().invoke(main, ["info", "--model", "mine.safetensors"])
    assert r.exit_code == 2 and said in " ".join(r.output.split()), r.output
    assert model_path(V1) == weights / f"{V1}.safetensors"  # a built-in model's name needs no folder
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "not-yet"))  # a folder not made yet: nothing to say
    assert CliRunner().invoke(main, ["models"]).stderr == ""


def test_a_model_folder_that_cannot_be_looked_at_is_said_not_a_traceback(weights, tmp_path, monkeypatch):
    """LDCSR_MODELS_DIR naming a folder that cannot be looked at (a name too long here; a folder above it
    that cannot be searched, EACCES, on a share): `ldcsr models` lists the built-in models and says why
    none of the folder's is, a name only that folder could hold is the InputError of a name of no model.
    Before: model_folder_problem's exists() raised the OSError: `ldcsr models` failed ('Error: [Errno 36]
    File name too long'), load_model('mine.safetensors') and --model raised it, and napari's Model list
    and QGIS's Model parameter, which ask it as they are made, with it."""
    from click.testing import CliRunner

    from ldcsr_core.adaptation import model_folder_problem
    from ldcsr_core.cli import main

    folder = tmp_path / ("m" * 300)  # longer than a file name can be (255 bytes)
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
    monkeypatch.chdir(tmp_path / "weights")
    why = f"LDCSR_MODELS_DIR={folder} cannot be looked at ({os.strerror(36)}), so no adapted model is listed"
    assert model_folder_problem() == why
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0 and r.stderr == f"warning: {why}\n", r.output
    assert [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(" ")] == [
        f"{V1}.safetensors  [built-in]", f"{V4}.safetensors  [built-in, default]"], r.stdout
    with pytest.raises(InputError) as e:
        ldcsr_core.load_model("mine.safetensors", device="cpu")
    assert str(e.value).startswith("no model is named 'mine.safetensors'") and str(e.value).endswith(f"({why})")
    r = CliRunner().invoke(main, ["info", "--model", "mine.safetensors"])
    assert r.exit_code == 2 and "no model is named 'mine.safetensors'" in r.output, r.output
