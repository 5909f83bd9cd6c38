"""``ldcsr evaluate`` of a folder holding an image with nodata (all of it, or some): refused by the image's own words
before the model loads (``training.evaluate.read_set``), as ``ldcsr selfcheck`` refuses a scene all nodata."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif
from .test_selfcheck_plan import _all_nodata


@pytest.mark.parametrize("case, said", [
    ("nodata value", "4096 of its 4096 pixels are nodata (the value 0 it declares, in every band)"),
    ("mask of zeros", "4096 of its 4096 pixels are masked out (alpha 0 or its mask band)"),
    ("NaN", "4096 of its 4096 pixels are NaN or infinite (nodata?)"),
    ("some nodata", "2048 of its 4096 pixels are nodata (the value 0 it declares, in every band)"),
])
def test_an_image_with_nodata_is_refused_before_the_model_loads(tmp_path, monkeypatch, case, said):
    """Before: the model loaded (seconds: the shipped one, or a large checkpoint), then 'Error: set/s.tif: 4096 of
    its 4096 pixels are nodata …'; now that refusal first, exit 3, no model loaded."""
    import ldcsr_core.checkpoints

    monkeypatch.setattr(ldcsr_core.checkpoints, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    folder = tmp_path / "set"
    folder.mkdir()
    if case == "some nodata":
        data = np.random.default_rng(0).integers(1, 255, (3, 64, 64))
        data[:, :, 32:] = 0
        src = write_tif(folder / "s.tif", data, dtype="uint8", nodata=0)
    else:
        src, _ = _all_nodata(folder, case)
    write_tif(folder / "a.tif", np.random.default_rng(1).integers(1, 255, (3, 64, 64)), dtype="uint8")
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--scales", "2"])
    assert r.exit_code == 3, r.output
    assert r.stderr.startswith(f"Error: {src}: {said}") and r.stdout == "", r.stderr


def test_a_set_without_nodata_is_scored(tmp_path, tiny_model_file):
    """The images read before the model loads are the ones scored, each once."""
    import json

    folder = tmp_path / "set"
    folder.mkdir()
    for i in range(2):
        write_tif(folder / f"{i}.tif", np.random.default_rng(i).integers(1, 255, (3, 64, 64)), dtype="uint8")
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--scales", "2", "-m", str(tiny_model_file),
                                  "--json", str(tmp_path / "e.json")])
    assert r.exit_code == 0, r.output
    got = json.loads((tmp_path / "e.json").read_text())
    assert got["images"] == 2 and sorted(got["files"]) == [str(folder / "0.tif"), str(folder / "1.tif")]
    assert list(got["scales"]) == ["2.0"] and got["scales"]["2.0"]["bicubic_psnr"] > 0


def test_a_model_file_that_is_none_is_said_before_the_set_is_read(tmp_path, monkeypatch):
    """Before (since nodata36): every image of the set read and checked first (a large set: minutes), so a set with an
    image all nodata said that, exit 3, and only a rerun said the model file is none; now the model file's header is
    checked first, as before nodata36 (exit 6), no image read."""
    import ldcsr_core.training.evaluate

    monkeypatch.setattr(ldcsr_core.training.evaluate, "_load", lambda *a: pytest.fail("an image was read"))
    folder = tmp_path / "set"
    folder.mkdir()
    write_tif(folder / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x07" * 1000)
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--scales", "2", "--model", str(bad)])
    assert r.exit_code == 6 and "is not a safetensors file" in r.stderr, r.stderr
