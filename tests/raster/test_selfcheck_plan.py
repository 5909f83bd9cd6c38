"""``ldcsr selfcheck``'s refusals of its windows (off the scene, over --max-pixels, too small for the scale) come
before its cost note and before the model loads, by the engine's own rule (``quality.selfcheck_windows``)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif


@pytest.mark.parametrize("report", [None, "q.json", "q.html"])
@pytest.mark.parametrize("side, args, said", [
    (200, ["-s", "2", "--window", "0,0,150,150", "--max-pixels", "1000"],
     "the window is 150×150 px, more than the limit of 1000 px (all of it is held in memory)"),
    (200, ["-s", "8", "--window", "0,0,30,30"], "the window is 30×30 px; a self-check at ×8 needs at least 32×32 px"),
    (200, ["-s", "2", "--window", "190,0,20,20"],
     "the window of rows 0–20 and columns 190–210 is not inside the scene of 200 rows × 200 columns"),
    (28, ["-s", "2", "-s", "8"], "the scene is 28×28 px; a self-check at ×8 needs at least 32×32 px"),
    # no --window given: its sampled windows, not 'the window is 16×16 px' (review35g)
    (200, ["-s", "8", "--max-pixels", "1000", "--sample-size", "16"],
     "the 200×200 px scene is checked on sampled windows, which are 16×16 px; a self-check at ×8 needs at least 32×32"),
])
def test_a_refused_check_says_no_cost_and_loads_no_model(tmp_path, monkeypatch, side, args, said, report):
    """`ldcsr selfcheck s.tif -s 2 --mode diffusion --mean-of 4 --window 0,0,150,150 --max-pixels 1000`: before,
    `note: 4 samples for the mean the check scores … about 4 times as long …`, the model loaded, then `Error: the
    window is 150×150 px, more than the limit of 1000 px …` (docs/cli.md: no note when the check is refused); now
    the refusal alone, exit 3, before the model loads; with --json (a .json or .html report) alike, nothing written."""
    from ldcsr_core.cli import upscale_cmd

    loads = []
    monkeypatch.setattr(upscale_cmd, "_load_model", lambda *a, **k: loads.append(a) or pytest.fail("model loaded"))
    tif = write_tif(tmp_path / "s.tif", np.random.default_rng(0).integers(0, 255, (3, side, side)), dtype="uint8")
    out = [] if report is None else ["--json", str(tmp_path / report)]
    r = CliRunner().invoke(main, ["selfcheck", str(tif), "--mode", "diffusion", "--mean-of", "4", *args, *out])
    assert r.exit_code == 3, r.output
    assert said in r.stderr and "samples for the mean" not in r.stderr, r.stderr
    assert loads == [] and r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]


@pytest.mark.parametrize("scales, said", [
    ([], "scales must be a list of one or more scales, e.g. [2, 4], got []"),
    ("23", "scales must be a list of one or more scales, e.g. [2, 4], got '23'"),
    (2, "scales must be a list of one or more scales, e.g. [2, 4], got 2"),
    ([2, 9], "scale must be in (1, 8], got 9.0"),
])
def test_a_bad_list_of_scales_is_said_as_the_selfcheck_says_it(tmp_path, scales, said):
    """``quality.selfcheck_windows`` (a front end's check before it loads the model) of a GeoTIFF's shape: before, []
    raised a bare ValueError ('max() arg is an empty sequence'), 2 a TypeError ('not iterable'), '23' a TypeError and
    9 the LR copy's words; now the InputError that selfcheck gives such a list (rules.check_scales)."""
    import rasterio

    from ldcsr_core.errors import InputError
    from ldcsr_core.quality import selfcheck_windows

    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 200, 200)), dtype="uint8")
    with rasterio.open(src) as ds:
        shape = ds.shape
    with pytest.raises(InputError) as ei:
        selfcheck_windows(shape, scales)
    assert str(ei.value) == said
    assert selfcheck_windows(shape, [2, 4]) == selfcheck_windows(shape, (2.0, 4))  # a good list as before


def _all_nodata(tmp_path, case):
    """A 64×64 px scene whose every pixel is nodata, as ``case`` makes it; its selfcheck's extra options."""
    import rasterio

    if case == "nodata value":
        return write_tif(tmp_path / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0), []
    if case == "NaN":
        return write_tif(tmp_path / "s.tif", np.full((3, 64, 64), np.nan), dtype="float32"), []
    if case == "--nodata given":
        return write_tif(tmp_path / "s.tif", np.full((4, 64, 64), 7), dtype="uint16"), ["--nodata", "7"]
    tif = write_tif(tmp_path / "s.tif", np.full((3, 64, 64), 90), dtype="uint8")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(tif, "r+") as ds:  # a mask of zeros
        ds.write_mask(np.zeros((64, 64), np.uint8))
    return tif, []


@pytest.mark.parametrize("report", [None, "q.json"])
@pytest.mark.parametrize("case", ["nodata value", "mask of zeros", "NaN", "--nodata given"])
def test_a_scene_all_nodata_is_refused_before_the_note_and_the_model(tmp_path, monkeypatch, case, report):
    """`ldcsr selfcheck s.tif -s 2 --mean-of 4` of a scene all nodata: before, `note: 4 samples for the mean the
    check scores …`, the model loaded (seconds), then `Error: every checked pixel is nodata: nothing to measure`;
    now that refusal alone, exit 3, before the note and the model (``quality.check_has_data``), nothing written."""
    from ldcsr_core.cli import upscale_cmd

    monkeypatch.setattr(upscale_cmd, "_load_model", lambda *a, **k: pytest.fail("model loaded"))
    tif, extra = _all_nodata(tmp_path, case)
    out = [] if report is None else ["--json", str(tmp_path / report)]
    r = CliRunner().invoke(main, ["selfcheck", str(tif), "-s", "2", "--mode", "diffusion", "--mean-of", "4", *extra,
                                  *out])
    assert r.exit_code == 3, r.output
    assert r.stderr == "Error: every checked pixel is nodata: nothing to measure\n" and r.stdout == ""
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".tif" and not p.name.endswith(".msk")]


def test_a_scene_with_one_sampled_window_of_data_is_checked(tmp_path, tiny_model_file):
    """Four sampled windows of 64 px, three of them all nodata: the one with data is checked, the rest counted as
    nodata (not refused as a scene without data)."""
    data = np.random.default_rng(3).integers(1, 255, (3, 200, 200))
    data[:, 64:, :] = data[:, :, 64:] = 0  # of the sampled windows, the top-left one alone keeps its data
    tif = write_tif(tmp_path / "s.tif", data, dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["selfcheck", str(tif), "-s", "2", "--mode", "fast", "-m", str(tiny_model_file),
                                  "--max-pixels", "1000", "--sample-size", "64"])
    assert r.exit_code == 0, r.output
    assert "4 sampled windows of 64×64 px of 200×200, pooled over all their pixels (75 % nodata, not scored)" in r.stdout
