"""What the CLI says of counts, of a folder given as the input and of a model file named twice:
true words, in agreement with their numbers."""

from __future__ import annotations

import os
import shutil

import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.words import counted

FAST = ("-s", 2, "--mode", "fast", "--device", "cpu")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


@pytest.mark.parametrize("n, says", [(0, "0 tiles"), (1, "1 tile"), (2, "2 tiles")])
def test_counted(n, says):
    assert counted(n, "tile") == says
    assert counted(1, "pass", "passes") == "1 pass" and counted(3, "pass", "passes") == "3 passes"


def test_one_input_of_one_tile_is_said_in_the_singular(rasters, tiny_model_file, tmp_path):
    """Before: 'written  a.tif -> x.tif: 61x45 -> 122x90, 1 tiles, ...' and '1 inputs: 1 written'."""
    r = run("upscale", rasters["gray"], "-o", tmp_path / "x.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert "61x45 -> 122x90, 1 tile, " in r.output, r.output
    assert "1 input: 1 written, 0 skipped, 0 failed" in r.output, r.output


def test_a_folder_of_one_failing_file(rasters, tiny_model_file, tmp_path):
    """A folder holding one raster is a batch of one input: its error is in the singular, and an
    output that is not a folder is refused for the folder, not for 'several inputs' (before:
    'output folder does not exist: x.tif (several inputs need an existing folder)')."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["gray"], inp / "a.tif")
    r = run("upscale", inp, "-o", tmp_path / "x.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2, r.output
    assert (f"output folder does not exist: {tmp_path / 'x.tif'} (the input {inp} is a folder: its "
            "rasters' outputs go to an existing folder)") in r.output, r.output
    assert "several inputs" not in r.output
    r = run("upscale", inp, "-o", out, *FAST, "--bands", "4,3,2", "--model", tiny_model_file)
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-2:] == ["1 input: 0 written, 0 skipped, 1 failed",
                                                  "Error: 1 of 1 input failed"], r.output


def test_several_files_still_need_a_folder(rasters, tiny_model_file, tmp_path):
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    shutil.copy(rasters["gray"], a)
    shutil.copy(rasters["gray"], b)
    r = run("upscale", a, b, "-o", tmp_path / "x.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2 and "(several inputs need an existing folder)" in r.output, r.output


def test_a_model_file_named_twice_is_listed_once(tiny_model_file, tmp_path):
    """Before: `ldcsr models A ./A LINK_TO_A BUILT_IN` listed A three times and the built-in twice."""
    from ldcsr_core.checkpoints import default_model_path

    link = tmp_path / "link.safetensors"
    os.symlink(tiny_model_file, link)
    builtin = default_model_path()
    r = run("models", tiny_model_file, tiny_model_file, link, builtin)
    assert r.exit_code == 0, r.output
    assert r.output.count("name:    tiny-test 0") == 1, r.output
    assert r.output.count(f"path:    {tiny_model_file}") == 1, r.output
    assert r.output.count(f"{builtin.name}  [built-in, default]") == 1, r.output
    assert f"\n{builtin.name}\n" not in r.output  # not again as a file given
