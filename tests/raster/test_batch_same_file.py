"""``ldcsr upscale in/ -o out/`` where two inputs are one file (hard links, symlinks): the model runs
once and the second output is the first's pixels, written under its own name with its own
provenance (``LDCSR_SOURCE``, ``LDCSR_JOB``). Before, the model ran twice.

Names of one file whose sidecars differ (``b.tif.aux.xml`` declaring a nodata) are read differently
by GDAL, so each is computed."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core import tiling
from ldcsr_core.cli import main

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")

FAST = ("-s", 2, "--mode", "fast", "--device", "cpu")
SAMPLED = ("-s", 2, "--mode", "diffusion", "--samples", 2, "--device", "cpu")


@pytest.fixture
def tiles_run(monkeypatch):
    """The tiles the model runs (``tiling.process_tiles``, which every run's tile loop calls)."""
    seen = []
    real = tiling.process_tiles

    def counted(model, lr_tiles, *a, **k):
        seen.extend(np.asarray(t).copy() for t in lr_tiles)
        return real(model, lr_tiles, *a, **k)

    monkeypatch.setattr(tiling, "process_tiles", counted)
    return seen


def _masked(path):
    """A uint8 RGB GeoTIFF with an internal mask band (no nodata, no alpha): the output has one too."""
    from .conftest import write_tif

    rng = np.random.default_rng(3)
    write_tif(path, rng.integers(20, 230, (3, 40, 48)), dtype="uint8")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "r+") as ds:
        mask = np.full((40, 48), 255, np.uint8)
        mask[:, :10] = 0
        ds.write_mask(mask)
    return path


def _upscale(*args):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.dataset_mask(), ds.tags(), ds.profile, ds.mask_flag_enums


@pytest.mark.parametrize("scene, how, opts", [("uint16_nodata", "hard link", FAST), ("rgba", "symlink", FAST),
                                              ("masked", "hard link", FAST), ("gray", "hard link", SAMPLED)])
def test_two_names_of_one_file_run_the_model_once(rasters, tiny_model_file, tmp_path, tiles_run, scene, how, opts):
    one, inp, out, alone = (tmp_path / d for d in ("one", "in", "out", "alone"))
    for d in (one, inp, out, alone):
        d.mkdir()
    src = _masked(one / "m.tif") if scene == "masked" else shutil.copy(rasters[scene], one / "x.tif")
    link = os.link if how == "hard link" else os.symlink
    link(src, inp / "a.tif")
    link(src, inp / "b.tif")
    said = _upscale("upscale", inp, "-o", out, *opts, "--model", tiny_model_file)
    batch, tiles_run[:] = len(tiles_run), []
    _upscale("upscale", src, "-o", alone / "x_sr.tif", *opts, "--model", tiny_model_file)
    assert batch == len(tiles_run) > 0  # the batch ran the model as often as one input does (was twice)
    assert f"the same file as an earlier input: {out / 'a_sr.tif'} copied" in said, said
    assert "2 inputs: 2 written, 0 skipped, 0 failed" in said

    a, b, ref = _read(out / "a_sr.tif"), _read(out / "b_sr.tif"), _read(alone / "x_sr.tif")
    if "--samples" in opts:  # and its spread file, its own too
        sa, sb, sref = (_read(p) for p in (out / "a_sr_spread.tif", out / "b_sr_spread.tif", alone / "x_sr_spread.tif"))
        for got in (sa, sb):
            np.testing.assert_array_equal(got[0], sref[0])
        assert sb[2]["LDCSR_SPREAD_OF"] != sa[2]["LDCSR_SPREAD_OF"]
    for got in (a, b):
        np.testing.assert_array_equal(got[0], ref[0])  # the pixels one run makes, mask included
        np.testing.assert_array_equal(got[1], ref[1])
        assert got[3] == ref[3] and got[4] == ref[4]  # dtype, nodata, grid, blocks, mask kind
    if scene == "masked":
        assert (b[1][:, :20] == 0).all() and (b[1][:, 20:] == 255).all()
    assert (a[2]["LDCSR_SOURCE"], b[2]["LDCSR_SOURCE"]) == ("a.tif", "b.tif")  # each names its own input
    assert a[2]["LDCSR_JOB"] != b[2]["LDCSR_JOB"] or how == "symlink"  # (a symlink's: its file's path)
    same = ("LDCSR_SOURCE", "LDCSR_JOB")
    assert {k: v for k, v in b[2].items() if k not in same} == {k: v for k, v in a[2].items() if k not in same}
    # each output is a complete output of its own input's request: a second run skips both
    tiles_run.clear()
    said = _upscale("upscale", inp, "-o", out, *opts, "--model", tiny_model_file)
    assert "2 inputs: 0 written, 2 skipped, 0 failed" in said and not tiles_run


def test_a_name_with_its_own_sidecar_is_computed(rasters, tiny_model_file, tmp_path, tiles_run):
    """b.tif, a hard link of a.tif, has a b.tif.aux.xml declaring nodata 0: GDAL reads another
    raster, so b's output is computed, not copied."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir(), out.mkdir()
    shutil.copy(rasters["gray"], inp / "a.tif")
    os.link(inp / "a.tif", inp / "b.tif")
    (inp / "b.tif.aux.xml").write_text('<PAMDataset><PAMRasterBand band="1"><NoDataValue>0</NoDataValue>'
                                       '</PAMRasterBand></PAMDataset>')
    said = _upscale("upscale", inp / "a.tif", inp / "b.tif", "-o", out, *FAST, "--model", tiny_model_file)
    assert "copied" not in said and len(tiles_run) % 2 == 0 and tiles_run
    half = len(tiles_run) // 2
    assert all(np.array_equal(x, y) for x, y in zip(tiles_run[:half], tiles_run[half:]))  # each ran
    with rasterio.open(out / "a_sr.tif") as a, rasterio.open(out / "b_sr.tif") as b:
        assert a.nodata is None and b.nodata == 0
