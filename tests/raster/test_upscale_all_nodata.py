"""``ldcsr upscale`` of an input whose every pixel is nodata: written (an output all nodata, as a batch of a mosaic's
tiles needs it), and its line says so in the engine's words (``geo.job.empty_note``, as napari's Run says it)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif


def test_an_input_all_nodata_is_said_to_make_an_output_all_nodata(tmp_path, tiny_model_file):
    """Before: 'written  s.tif -> o.tif: 64x64 -> 128x128, 1 tile (1 empty), …', which read as one tile of
    several; now '1 tile (empty: nodata everywhere)'; a partly empty input keeps '(N empty)'."""
    src = write_tif(tmp_path / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--mode", "fast",
                                  "-m", str(tiny_model_file)])
    assert r.exit_code == 0, r.output
    assert f"{src} -> {tmp_path / 'o.tif'}: 64x64 -> 128x128, 1 tile (empty: nodata everywhere), " in r.stderr
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.shape == (128, 128) and out.read(masked=True).mask.all()
    data = np.random.default_rng(0).integers(1, 255, (3, 96, 96))
    data[:, :, 48:] = 0
    part = write_tif(tmp_path / "p.tif", data, dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["upscale", str(part), "-o", str(tmp_path / "po.tif"), "-s", "2", "--mode", "fast",
                                  "-m", str(tiny_model_file), "--tile", "32"])
    assert r.exit_code == 0, r.output
    tiles, empty = map(int, re.search(r"96x96 -> 192x192, (\d+) tiles \((\d+) empty\)", r.stderr).groups())
    assert 0 < empty < tiles, r.stderr


NOTE = ("note: every pixel of {} is nodata, so its output will be all nodata, none of it made by the model (is the "
        "nodata right? --nodata VALUE, or none: every value is data)\n")
# (review36b) a mask's words: --nodata does not change it; NaN's: nodata whatever --nodata says
WORDS = {"mask of zeros": NOTE.replace("is the nodata right? --nodata VALUE, or none: every value is data",
                                       "is its mask right? its mask or alpha band marks every pixel as nodata"),
         "NaN": NOTE.replace("every value is data)", "every value is data; NaN, not a number, is nodata always)")}


@pytest.mark.parametrize("case", ["nodata value", "mask of zeros", "NaN", "--nodata given"])
def test_an_input_all_nodata_is_said_before_the_model_loads(tmp_path, stopped_where_the_model_loads, case):
    """Before: nothing said before the model loaded (seconds), then only the run's line; now a note before it, by the
    run's own rule (``SceneReader.all_nodata``: every tile empty)."""
    from .test_selfcheck_plan import _all_nodata

    src, extra = _all_nodata(tmp_path, case)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--mode", "fast",
                                  *extra])
    assert r.exit_code == 1 and r.stderr == WORDS.get(case, NOTE).format(src) + stopped_where_the_model_loads, r.stderr
    r = CliRunner().invoke(main, ["-q", "upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", *extra])
    assert r.stderr == stopped_where_the_model_loads, r.stderr  # -q: errors and untested results alone


@pytest.mark.parametrize("at", [(750, 752), (0, 0)])
def test_one_pixel_of_data_a_decimated_read_misses_is_no_input_all_nodata(tmp_path, stopped_where_the_model_loads, at):
    """One pixel of data in a 1500×1500 px scene, off the decimated read's grid: found by the scene's read in strips,
    so no note (its tile is run)."""
    data = np.zeros((3, 1500, 1500))
    data[:, at[0], at[1]] = 50
    src = write_tif(tmp_path / "s.tif", data, dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--mode", "fast"])
    assert r.exit_code == 1 and r.stderr.endswith(stopped_where_the_model_loads) and "nodata" not in r.stderr, r.stderr


COST = "this run takes about 2 times as long as one sample would"


def test_the_cost_notes_are_said_only_where_the_model_runs(tmp_path, tiny_model_file):
    """Before: '--samples 2' of an input all nodata said 'note: 2 samples … this run takes about 2 times as long as one
    sample would', though no model runs on it; now no cost note, and a batch with an input of data says it once, as
    that input runs (the empty one first)."""
    empty = write_tif(tmp_path / "a.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    args = ["-s", "2", "--samples", "2", "-m", str(tiny_model_file)]
    r = CliRunner().invoke(main, ["upscale", str(empty), "-o", str(tmp_path / "o.tif"), *args])
    assert r.exit_code == 0, r.output
    assert "1 tile (empty: nodata everywhere)" in r.stderr and COST not in r.stderr, r.stderr
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir(), out.mkdir()
    write_tif(inp / "a.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    write_tif(inp / "b.tif", np.random.default_rng(0).integers(1, 255, (3, 32, 32)), dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["upscale", str(inp), "-o", str(out), *args])
    assert r.exit_code == 0, r.output
    assert r.stderr.count(COST) == 1, r.stderr


def test_a_rerun_over_the_output_of_an_input_all_nodata_says_no_untested_note(tmp_path, tiny_model_file):
    """Before: the first run of an input all nodata at ×1.2 said its output would be all nodata and no note that it was
    untested, but a rerun (its complete output there: skipped) said 'note: ×1.2 is below the scales … untested …
    ldcsr selfcheck …'; now the rerun adds nothing to its 'skipped' line (its output's notice read, not the input). An
    input of data keeps the note on a rerun."""
    empty = write_tif(tmp_path / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    data = write_tif(tmp_path / "d.tif", np.random.default_rng(0).integers(1, 255, (3, 64, 64)), dtype="uint8",
                     nodata=0)
    for src, untested in ((empty, False), (data, True)):
        args = ["upscale", str(src), "-o", str(tmp_path / f"o_{src.name}"), "-s", "1.2", "--mode", "fast",
                "-m", str(tiny_model_file)]
        first, rerun = CliRunner().invoke(main, args), CliRunner().invoke(main, args)
        assert first.exit_code == 0 and rerun.exit_code == 0, (first.output, rerun.output)
        assert "skipped " in rerun.stderr and ("untested" in first.stderr) is untested, first.stderr
        assert ("untested" in rerun.stderr) is untested and "nodata" not in rerun.stderr, rerun.stderr


@pytest.mark.parametrize("data_in", ["last row block", "none"])
def test_the_look_for_an_input_all_nodata_reads_a_tiled_scene_once_at_most(tmp_path, monkeypatch, data_in):
    """A 4000×4000 px scene in 512 px tiles, nodata but for its last row block (or wholly): before, its look read the
    scene whole twice where all nodata (the decimated read of a tiled file reads every block row, then the strips),
    2.0 scenes of pixels; now the centre, then the strips to the first with data: 1.0 scene at most."""
    from rasterio.io import DatasetReader

    from ldcsr_core.geo.empty_input import input_all_nodata

    n, data = 4000, np.zeros((3, 4000, 4000), np.uint8)
    if data_in != "none":
        data[:, 3584:] = 50
    src = tmp_path / "s.tif"
    with rasterio.open(src, "w", driver="GTiff", width=n, height=n, count=3, dtype="uint8", nodata=0, tiled=True,
                       blockxsize=512, blockysize=512, compress="deflate") as ds:
        ds.write(data)
    read, pixels = DatasetReader.read, []

    def counted(self, *args, **kwargs):
        out = read(self, *args, **kwargs)
        pixels.append(out.shape[-2] * out.shape[-1])
        return out

    monkeypatch.setattr(DatasetReader, "read", counted)
    assert input_all_nodata(src) == (None if data_in != "none" else "nodata")
    assert sum(pixels) <= n * n + 256 * 256, sum(pixels) / n / n  # the strips', and the centre's look
