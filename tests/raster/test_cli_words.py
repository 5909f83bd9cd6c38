"""What the CLI says of counts, of a folder given as the input, of a model file named twice, and
of a batch input that failed: true words, in agreement with their numbers."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.errors import RasterIOError
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
    from ldcsr_core.builtin_models import default_model_path

    link = tmp_path / "link.safetensors"
    os.symlink(tiny_model_file, link)
    builtin = default_model_path()
    r = run("models", tiny_model_file, tiny_model_file, link, builtin)
    assert r.exit_code == 0, r.output
    assert r.output.count("name:    tiny-test 0") == 1, r.output
    assert r.output.count(f"path:    {tiny_model_file}") == 1, r.output
    assert r.output.count(f"{builtin.name}  [built-in, default]") == 1, r.output
    assert f"\n{builtin.name}\n" not in r.output  # not again as a file given


def test_the_bar_of_an_input_that_failed_says_so(rasters, tiny_model_file, tmp_path, monkeypatch):
    """Before: a batch input that failed after 3 of its 4 tiles left its bar at 'b.tif:  75%|…', as if
    it had merely stopped there; now the bar ends 'b.tif (failed):  75%|…'. The other's bar does
    not say so."""
    import ldcsr_core.geo.pipeline as pipeline
    from ldcsr_core.progress import TileProgress

    real = pipeline.upscale_raster

    def fails_after_three_tiles(src, dst, *a, callback=None, **kw):
        if src.name != "b.tif":
            return real(src, dst, *a, callback=callback, **kw)
        for done in range(4):
            callback(TileProgress(done, 4))
        raise RasterIOError(28, f"cannot write {dst}: no space left on device")

    monkeypatch.setattr(pipeline, "upscale_raster", fails_after_three_tiles)
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1 and "2 inputs: 1 written, 0 skipped, 1 failed" in r.output, r.output
    shown = r.stderr.replace("\r", "\n").splitlines()
    a_bar = [ln for ln in shown if ln.startswith("a.tif")]
    b_bar = [ln for ln in shown if ln.startswith("b.tif")]
    assert a_bar and "failed" not in a_bar[-1], r.stderr
    assert b_bar and b_bar[-1].startswith("b.tif (failed):  75%"), r.stderr


def test_the_built_in_models_folder_as_the_user_model_folder_lists_each_once(monkeypatch, tmp_path):
    """LDCSR_MODELS_DIR set to the built-in weights folder (or a link to it): each file once, as built-in."""
    from ldcsr_core.builtin_models import default_model_path

    weights = default_model_path().parent
    link = tmp_path / "models"
    os.symlink(weights, link)
    for folder in (weights, link):
        monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
        r = run("models")
        assert r.exit_code == 0, r.output
        for p in weights.glob("*.safetensors"):
            assert r.output.count(f"\n{p.name}") + r.output.startswith(p.name) == 1, r.output
            assert r.output.count(f"path:    {p}\n") == 1, r.output


def test_counts_said_with_a_number_agree_with_it(rasters, tmp_path, caplog):
    """Before: 'ldcsr info' said '1 band(s)', '4 band(s)' and 'alpha/mask band(s): 4', a run's
    log 'removed 1 stale part file(s) of o.tif'."""
    import logging

    from ldcsr_core.files import clear_stale_parts

    r = run("info", rasters["gray"])
    assert r.exit_code == 0 and " px, 1 band, uint8" in r.output, r.output
    r = run("info", rasters["rgba"])
    assert r.exit_code == 0 and " px, 4 bands, uint8" in r.output, r.output
    assert "; alpha/mask band: 4\n" in r.output, r.output
    for n, says in ((1, "1 stale part file of o.tif"), (2, "2 stale part files of o.tif")):
        parts = [tmp_path / f".o.tif.{c * 8}.ldcsr-part" for c in "ab"[:n]]
        for p in parts:
            p.write_bytes(b"")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ldcsr_core"):
            assert sorted(clear_stale_parts(tmp_path / "o.tif")) == parts
        assert [rec.getMessage().split(" left by")[0] for rec in caplog.records] == [f"removed {says}"]


@pytest.mark.parametrize("scales, says", [
    ("2,,4", "scales must be numbers separated by commas, e.g. 2,2.5,4, got '2,,4'"),
    ("", "scales must be numbers separated by commas, e.g. 2,2.5,4, got ''"),
    ("2,9", "scale must be > 1 and <= 8, got '9'"),
    ("2,nan", "scale must be a finite number, got 'nan'"),
])
def test_evaluate_scales_are_read_as_upscale_reads_a_scale(scales, says, tiny_model_file, tmp_path):
    """evaluate --scales: each entry checked by --scale's rule and words, before any work. Before:
    '2,,4' scored ×2 and ×4 (the empty entry dropped), exit 0; '' and '2,9' both said 'scales
    must be > 1 and <= 8', naming neither the empty list nor the value."""
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48, 3), np.uint8)).save(tmp_path / "a.png")
    r = run("evaluate", tmp_path, "--scales", scales, "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2 and f"Invalid value for '--scales': {says}" in r.output, r.output


@pytest.mark.parametrize("command", ["upscale", "info"])
def test_a_file_whose_name_starts_with_a_dash_is_said_how_to_give(rasters, tiny_model_file, tmp_path,
                                                                  monkeypatch, command):
    """``-scene.tif`` in the current folder is read as options (click's rule, as every Unix tool's):
    the usage error names the file and the two ways to give it, and both work. Before: only
    "No such option '-s'" (of ``upscale``: a -s that is --scale's), no word of the file."""
    shutil.copy(rasters["gray"], tmp_path / "-scene.tif")
    monkeypatch.chdir(tmp_path)
    extra = ("-o", "x.tif", *FAST, "--model", tiny_model_file) if command == "upscale" else ()
    r = run(command, "-scene.tif", *extra)
    assert r.exit_code == 2, r.output
    assert "(-scene.tif is a file: give it as ./-scene.tif, or put -- before it)" in r.output, r.output
    assert run(command, "./-scene.tif", *extra).exit_code == 0
    assert run(command, *extra, "--", "-scene.tif", *(("--overwrite",) if extra else ())).exit_code in (0, 2)


def test_a_dash_file_beside_another_input_is_not_left_out(rasters, tiny_model_file, tmp_path, monkeypatch):
    """``ldcsr upscale a.tif -scene.tif -o out --scale 2``: click reads ``-scene.tif`` as ``-s cene.tif``,
    which the later ``--scale`` replaces, so the file was left out without a word (exit 0, "1 input: 1
    written"). It is refused before any work, naming the file; nothing is written."""
    shutil.copy(rasters["gray"], tmp_path / "a.tif")
    shutil.copy(rasters["gray"], tmp_path / "-scene.tif")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    for order in (("a.tif", "-scene.tif"), ("-scene.tif", "a.tif")):
        r = run("upscale", *order, "-o", "out", *FAST, "--model", tiny_model_file)
        assert r.exit_code == 2, r.output
        assert "(-scene.tif is a file: give it as ./-scene.tif, or put -- before it)" in r.output, r.output
        assert not any((tmp_path / "out").iterdir())


def test_a_dash_file_given_as_an_option_value_is_taken(rasters, tiny_model_file, tmp_path, monkeypatch):
    """``-o -out.tif`` is the output option's value (click takes it so): a rerun over that output with
    --overwrite runs, and another mistake is said alone. Before: refused, "'-out.tif' would be read as
    options ... give it as ./-out.tif", so once the output existed no command naming it ran."""
    shutil.copy(rasters["gray"], tmp_path / "in.tif")
    monkeypatch.chdir(tmp_path)
    args = ("upscale", "in.tif", "-o", "-out.tif", *FAST, "--model", tiny_model_file)
    assert run(*args).exit_code == 0 and (tmp_path / "-out.tif").is_file()
    r = run(*args, "--overwrite")
    assert r.exit_code == 0 and "is a file" not in r.output, r.output
    r = run("upscale", "in.tif", "-o", "-out.tif", "--mode", "bogus")
    assert r.exit_code == 2 and "Invalid value for '--mode'" in r.output and "is a file" not in r.output, r.output


def test_a_file_named_as_an_option_leaves_the_option_alone(rasters, tiny_model_file, tmp_path, monkeypatch):
    """A file named as one of the command's options (``-o``, ``-s``, ``--overwrite``: a shell mistake such
    as ``> -o`` makes one) in the folder: ``-o out.tif`` is still the option, as click reads it, and the
    file is left alone; a ``-scene.tif`` beside it is still refused. Before: every such command was refused,
    "'-o' would be read as options ... (-o is a file: give it as ./-o, or put -- before it)"."""
    shutil.copy(rasters["gray"], tmp_path / "in.tif")
    for name in ("-o", "-s", "--overwrite", "-h"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    r = run("upscale", "in.tif", "-o", "out.tif", *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0 and (tmp_path / "out.tif").is_file(), r.output
    assert all((tmp_path / n).read_bytes() == b"" for n in ("-o", "-s", "--overwrite", "-h"))
    shutil.copy(rasters["gray"], tmp_path / "-scene.tif")
    r = run("upscale", "in.tif", "-scene.tif", "-o", "out", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2 and "(-scene.tif is a file: give it as ./-scene.tif" in r.output, r.output


def test_a_dash_file_beside_a_command_that_does_not_exist_says_the_command(rasters, tmp_path, monkeypatch):
    """``ldcsr upscal -scene.tif``: the command's name is the mistake made first, and click's "No such
    command 'upscal'" says it (as without the file), not the file's refusal, which named no command.
    Before: "'-scene.tif' would be read as options ... (-scene.tif is a file: give it as ./-scene.tif, or
    put -- before it)", and once it was given so, "No such command" only then."""
    shutil.copy(rasters["gray"], tmp_path / "-scene.tif")
    monkeypatch.chdir(tmp_path)
    for args in (("upscal", "-scene.tif", "-s", "2"), ("upscal", "./-scene.tif", "-s", "2")):
        r = run(*args)
        assert r.exit_code == 2 and "No such command 'upscal'" in r.output and "is a file" not in r.output, r.output
    r = run("upscale", "-scene.tif", "-s", "2")  # the command exists: the file is still said
    assert r.exit_code == 2 and "(-scene.tif is a file: give it as ./-scene.tif" in r.output, r.output


def test_verbose_run_logs_the_device_the_model_runs_on(rasters, tiny_model_file, tmp_path, caplog):
    """`ldcsr -v upscale` names the device the model was loaded on, as selfcheck's line and `info`'s
    `compute:` line do. Before: 'model … on auto in bfloat16', the --device asked for. The device is where
    'auto' loads a model on this machine: cpu here, cuda:0 on a CUDA machine (where ' on cpu ' could not pass)."""
    import logging

    from ldcsr_core import load_model

    where = str(load_model(tiny_model_file, device="auto").device)
    with caplog.at_level(logging.INFO, logger="ldcsr_core"):
        r = run("-v", "upscale", rasters["gray"], "-o", tmp_path / "x.tif", "-s", 2, "--mode", "fast",
                "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    said = [m for m in caplog.messages if m.startswith("model ")]
    assert where != "auto" and len(said) == 1 and f" on {where} in " in said[0], caplog.messages
