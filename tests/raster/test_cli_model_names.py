"""``--model NAME`` takes every name ``ldcsr models`` lists (:func:`ldcsr_core.model_names.model_named`,
the rule of QGIS's Model parameter and napari's Model list): an adapted model of the user's model folder
by its file name, from any folder; a file of that name in the working folder wins."""

from __future__ import annotations

import pytest
import rasterio

import ldcsr_core
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from ldcsr_core.model_names import named_models

from .test_ldcsr_cli import assert_clean_error, run


@pytest.fixture
def mine(tiny_model, tmp_path, monkeypatch):
    """An adapted model in the user's model folder (LDCSR_MODELS_DIR), the tests run from another folder."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return ldcsr_core.save_model(tiny_model, folder / "mine.safetensors", name="mine")


def _upscaled(src, out, model):
    r = run("upscale", src, "-o", out, "-s", 2, "--mode", "fast", "--device", "cpu", "--model", model)
    assert r.exit_code == 0, r.output
    with rasterio.open(out) as d:
        return d.read()


def test_an_adapted_model_by_its_name_is_its_file_and_a_file_here_of_that_name_wins(rasters, mine, tmp_path):
    """Before: `ldcsr upscale --model mine.safetensors` from another folder than the model folder was
    exit 2 "checkpoint file 'mine.safetensors' does not exist", though `ldcsr models` listed it."""
    src = rasters["gray"]
    by_name = _upscaled(src, tmp_path / "by_name.tif", "mine.safetensors")
    assert (by_name == _upscaled(src, tmp_path / "by_path.tif", mine)).all()
    r = run("models")
    assert r.exit_code == 0 and "mine.safetensors\n  load:    --model mine.safetensors\n" in r.output, r.output

    other = ldcsr_core.build_model(config=tiny_test_config(), seed=1)
    ldcsr_core.save_model(other, "mine.safetensors", name="here")  # in the working folder: read instead
    here = _upscaled(src, tmp_path / "here.tif", "mine.safetensors")
    assert (here != by_name).any()
    with rasterio.open(tmp_path / "here.tif") as d:
        assert "here" in d.tags()["LDCSR_MODEL"]
    r = run("models")  # the name would read the file here: the adapted model is given by its path
    assert f"mine.safetensors\n  load:    --model {mine}\n" in r.output, r.output


@pytest.mark.parametrize("command, args, key", [
    ("upscale", ["in.tif", "-o", "o.tif", "-s", "2"], "model_path"),
    ("info", ["in.tif"], "model_path"),
    ("selfcheck", ["in.tif", "-s", "2"], "model_path"),
    ("adapt", ["in.tif", "-s", "2", "-o", "a.safetensors"], "model_path"),
    ("evaluate", ["."], "model_name"),
    ("train", [".", "--out", "t.safetensors"], "init"),
])
def test_every_command_taking_a_model_takes_an_adapted_ones_name(mine, rasters, command, args, key):
    import shutil

    shutil.copy(rasters["gray"], "in.tif")
    cmd = main.get_command(None, command)
    ctx = cmd.make_context(command, [*args, "--init" if key == "init" else "--model", "mine.safetensors"])
    assert ctx.params[key] == mine


def test_an_unknown_models_name_is_one_usage_error_naming_the_models(mine, rasters, tmp_path):
    """The words QGIS's Model parameter says it with (model_names.model_named). Before: "'mine' is
    neither a checkpoint file nor a built-in model (`ldcsr models` lists them)", naming none."""
    there = ", ".join(named_models())
    assert there.endswith(", mine.safetensors") and "ldcsr-compact-rsscn7-v4" in there
    for argv in (["upscale", rasters["gray"], "-o", tmp_path / "o.tif", "-s", 2, "--model", "mine"],
                 ["evaluate", ".", "--model", "mine"], ["train", ".", "--out", "t.safetensors", "--init", "mine"]):
        r = run(*argv)
        assert_clean_error(r, f"no model is named 'mine': the models are {there}; give one of them, or a "
                              "checkpoint file", code=2)
    r = run("upscale", rasters["gray"], "-o", tmp_path / "o.tif", "-s", 2, "--model", "sub/mine.safetensors")
    assert_clean_error(r, "checkpoint file 'sub/mine.safetensors' does not exist", code=2)  # a path: no name


def test_a_built_in_models_name_reads_none_of_the_users_models(mine, monkeypatch):
    """A built-in name wins over the user's models: they are not listed, nor hashed, to take it. For a
    while on 2026-12-07 (ab9497d) each one of a built-in model's size (a copy is no adapted model) was
    hashed at every `--model NAME` (30 such files in the folder: 1.35 s, 1 ms without), the others opened."""
    from ldcsr_core import builtin_models
    from ldcsr_core.cli.options import ModelType

    default = builtin_models.default_model_path()
    same_size = bytearray(default.read_bytes())
    same_size[-1] ^= 1  # the size of a built-in model, other bytes: told apart by its SHA-256 alone
    (mine.parent / "other.safetensors").write_bytes(same_size)
    hashed = []
    monkeypatch.setattr(builtin_models, "sha256_file", lambda p, *a, **k: hashed.append(p) or "0" * 64)
    assert ModelType().convert(default.stem, None, None) == default.stem  # a name still: Dask workers read theirs
    assert hashed == []
    assert ModelType().convert("mine.safetensors", None, None) == mine  # an adapted model's name: its file
