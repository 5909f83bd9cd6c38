"""What the CLI says of counts: words in agreement with their numbers."""

from __future__ import annotations


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
