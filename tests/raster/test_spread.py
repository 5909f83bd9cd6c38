"""Uncertainty map of a raster run: --samples K writes the mean and a spread GeoTIFF on the same grid."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.errors import Cancelled, ConfigError, InputError
from ldcsr_core.geo import pipeline as pl
from ldcsr_core.geo.spread import default_spread_path, upscale_window_spread

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def test_cli_writes_spread_on_the_output_grid(rasters, tiny_model_file, tmp_path):
    src, out = rasters["uint16_nodata"], tmp_path / "s2_x2.tif"
    r = run("upscale", src, "-o", out, "--scale", 2.5, "--samples", 3,
            "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 0, r.output
    spread = tmp_path / "s2_x2_spread.tif"
    assert spread == default_spread_path(out) and f"spread -> {spread}" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s2_x2.tif", "s2_x2_spread.tif"]  # no part files
    with rasterio.open(out) as o, rasterio.open(spread) as s:
        assert (s.height, s.width) == (o.height, o.width)
        assert s.transform == o.transform and s.crs == o.crs and s.crs.to_epsg() == 32633
        assert s.count == 4 and set(s.dtypes) == {"float32"} and np.isnan(s.nodata)
        assert s.descriptions[0] == "spread of B4 red"
        assert o.tags()["LDCSR_SAMPLES"] == s.tags()["LDCSR_SAMPLES"] == "3"
        assert "seeds 0..2" in s.tags()["LDCSR_SPREAD"]
        # what it does not cover (it said only 'where it is high the detail is invented')
        assert "a low spread does not mean the pixels are right" in s.tags()["LDCSR_SPREAD"]
        sp, ov = s.read(), o.read()
    invalid = ov[0] == 0  # the nodata block of the source
    assert invalid.any() and np.isnan(sp[0][invalid]).all()
    valid = ~np.isnan(sp)
    assert valid.mean() > 0.8 and (sp[valid] >= 0).all()
    assert np.nanmean(sp) > 0.5  # uint16 units: the samples of the tiny model do differ
    # resumable: the same request is skipped, both files kept
    mt = spread.stat().st_mtime_ns
    r = run("upscale", src, "-o", out, "--scale", 2.5, "--samples", 3,
            "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 0 and "1 skipped" in r.output, r.output
    assert spread.stat().st_mtime_ns == mt
    # ldcsr info says what each file is (it said nothing: an output read as any raster)
    said = {p: [ln for ln in run("info", p).output.splitlines() if ln.startswith("provenance:")]
            for p in (src, out, spread)}
    assert said[src] == [] and len(said[out]) == len(said[spread]) == 1, said
    assert said[out][0].startswith("provenance:  AI-generated: the pixels of this image were synthesised")
    assert "×2.4918 x, ×2.48889 y" in said[out][0] and "diffusion seed 0, from" in said[out][0] and "mean of 3 samples" in said[out][0]
    assert said[spread][0].startswith("provenance:  Per-pixel spread (standard deviation, source units) of 3")


def test_mean_and_spread_match_the_window_api(rasters, tiny_model, tmp_path):
    src = rasters["rgba"]
    opts = pl.UpscaleOptions(samples=2, tile=32, seed=4)
    res = pl.upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2, options=opts,
                            spread_path=tmp_path / "sd.tif")
    assert res.spread == str(tmp_path / "sd.tif")
    geo = upscale_window_spread(src, model=tiny_model, scale=2, options=opts)
    with rasterio.open(tmp_path / "o.tif") as o, rasterio.open(tmp_path / "sd.tif") as s:
        np.testing.assert_array_equal(o.read(), geo.mean.data)
        np.testing.assert_array_equal(s.read(), geo.spread.data)
        assert geo.spread.transform == s.transform == o.transform
        assert s.count == 3  # colour bands only: alpha is a mask, not model output
    assert np.isnan(geo.spread.data[:, :, :24]).all()  # transparent strip of the source


def test_each_window_api_says_which_one_a_sample_count_needs(rasters, tiny_model):
    # One picture or a mean and its spread: asking the wrong function says which one to call,
    # before any work (it used to fail deep in the run with "needs a writer for the spread").
    src = rasters["gray"]
    with pytest.raises(ConfigError, match="upscale_window_spread"):
        pl.upscale_window(src, model=tiny_model, scale=2, options=pl.UpscaleOptions(samples=3))
    with pytest.raises(ConfigError, match="use upscale_window for one picture"):
        upscale_window_spread(src, model=tiny_model, scale=2, options=pl.UpscaleOptions(samples=1))


def test_cancel_leaves_neither_file(rasters, tiny_model, tmp_path):
    def stop(info):
        if info.done >= 1:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", model=tiny_model, scale=2,
                          options=pl.UpscaleOptions(samples=2, tile=32), callback=stop)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_output_leaves_no_spread_file_and_the_rerun_writes_both(rasters, tiny_model, tmp_path,
                                                                        monkeypatch):
    """The output failing at its last step (a full disk or the file size limit when GDAL writes its
    last blocks on close) left the finished spread file: the resumed run then refused it (exit 4)."""
    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo import geotiff_writer as gw

    finish = gw.GeoTiffWriter._finish

    def full_disk_on_the_output(self):
        if self.path.name == "o.tif":
            raise gw.write_error(self.path, OSError(28, "No space left on device"))
        return finish(self)

    kw = dict(model=tiny_model, scale=2, options=pl.UpscaleOptions(samples=2),
              output=pl.OutputOptions(skip_complete=True))
    monkeypatch.setattr(gw.GeoTiffWriter, "_finish", full_disk_on_the_output)
    with pytest.raises(RasterIOError, match="no space left"):
        pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", **kw)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(gw.GeoTiffWriter, "_finish", finish)
    res = pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", **kw)
    assert res.status == "written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif", "o_spread.tif"]
    # A run stopped between the two renames leaves this request's spread file alone: it is redone
    # (the output is renamed last, so it alone says the run is complete).
    (tmp_path / "o.tif").unlink()
    res = pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", **kw)
    assert res.status == "written" and (tmp_path / "o.tif").exists()
    assert pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", **kw).status == "skipped"
    (tmp_path / "o_spread.tif").unlink()  # an output without its spread file is not complete
    with pytest.raises(pl.OutputExistsError, match="spread file .* is missing"):
        pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", **kw)


def test_a_spread_file_is_its_outputs_and_not_another_runs_of_the_same_request(rasters, tiny_model_file, tmp_path):
    """Two runs of one request to two outputs with one --spread-out: the second took the first's
    spread file (same fingerprint) for an interrupted run of its own and rewrote it without
    --overwrite. The spread file records its output (LDCSR_SPREAD_OF), so it is refused as any
    existing file; a run of the same output still resumes and skips."""
    spread = tmp_path / "s.tif"

    def up(name):
        return run("upscale", rasters["gray"], "-o", tmp_path / name, "-s", 2, "--samples", 2,
                   "--spread-out", spread, "--model", tiny_model_file)

    assert up("a.tif").exit_code == 0
    first = spread.stat().st_ino, spread.read_bytes()
    r = up("b.tif")
    assert r.exit_code == 4 and f"output exists: {spread} (use --overwrite to replace it)" in r.output
    assert (spread.stat().st_ino, spread.read_bytes()) == first and not (tmp_path / "b.tif").exists()
    with rasterio.open(spread) as ds:
        assert ds.tags()["LDCSR_SPREAD_OF"] == "a.tif"
    r = up("a.tif")
    assert r.exit_code == 0 and "skipped" in r.output and spread.stat().st_ino == first[0]
    (tmp_path / "a.tif").unlink()  # stopped between the two renames: the same output's run redoes it
    r = up("a.tif")
    assert r.exit_code == 0 and "written" in r.output and (tmp_path / "a.tif").exists()
    r = run("info", spread)
    assert "(of output a.tif: model tiny-test" in r.output


def test_clear_errors(rasters, tiny_model_file, tiny_model, tmp_path):
    src = rasters["gray"]
    r = run("upscale", src, "-o", tmp_path / "o.tif", "-s", 2, "--samples", 2, "--mode", "fast",
            "--model", tiny_model_file)
    assert r.exit_code == 2 and ("Invalid value for '--samples': --samples 2 needs --mode diffusion: 'fast' is "
                                 "deterministic, so every sample is the same image") in " ".join(r.output.split())
    r = run("upscale", src, "-o", tmp_path / "o.tif", "-s", 2, "--spread-out", tmp_path / "x.tif",
            "--model", tiny_model_file)
    assert r.exit_code == 2 and "needs --samples K > 1" in r.output
    with pytest.raises(InputError, match="needs mode 'diffusion'"):
        pl.UpscaleOptions(mode="fast", samples=3)
    with pytest.raises(InputError, match="spread path is the input"):
        pl.upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2,
                          options=pl.UpscaleOptions(samples=2), spread_path=src)
    (tmp_path / "o_spread.tif").write_text("somebody's file")
    r = run("upscale", src, "-o", tmp_path / "o.tif", "-s", 2, "--samples", 2,
            "--model", tiny_model_file)
    assert r.exit_code != 0 and "o_spread.tif" in r.output and "--overwrite" in r.output
    assert (tmp_path / "o_spread.tif").read_text() == "somebody's file"
    assert not (tmp_path / "o.tif").exists()



@pytest.mark.parametrize("overwrite", [False, True])
def test_a_spread_file_name_that_is_a_folder_is_refused_before_the_model_loads(rasters, tiny_model_file,
                                                                               tiny_model, tmp_path, monkeypatch,
                                                                               overwrite):
    """o_spread.tif is a folder, as -o o.tif would be (exit 5 'output path is a folder'). Before: 'output
    exists: o_spread.tif (use --overwrite to replace it)', exit 4, and with --overwrite the model
    loaded and then 'output path is a folder' (a folder is never replaced)."""
    from ldcsr_core.cli import upscale_cmd
    from ldcsr_core.errors import RasterIOError

    folder = tmp_path / "o_spread.tif"
    (folder / "kept").mkdir(parents=True)
    monkeypatch.setattr(upscale_cmd, "_load_model", lambda *a: pytest.fail("the model was loaded"))
    r = run("upscale", rasters["gray"], "-o", tmp_path / "o.tif", "-s", 2, "--samples", 2,
            *(["--overwrite"] if overwrite else []), "--model", tiny_model_file)
    assert r.exit_code == 5 and f"Error: spread output path is a folder: {folder}" in r.output, r.output
    with pytest.raises(RasterIOError, match="spread output path is a folder"):
        pl.upscale_raster(rasters["gray"], tmp_path / "o.tif", model=tiny_model, scale=2,
                          options=pl.UpscaleOptions(samples=2),
                          output=pl.OutputOptions(overwrite=overwrite))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o_spread.tif"] and list(folder.iterdir()) == [folder / "kept"]

@pytest.mark.slow
def test_a_batch_never_writes_a_spread_file_over_one_of_its_inputs(rasters, tiny_model_file, tmp_path):
    import hashlib
    import shutil
    ins, out = tmp_path / "in", tmp_path / "out"
    ins.mkdir()
    out.mkdir()
    shutil.copy(rasters["rgba"], ins / "a.tif")
    victim = out / "a_sr_spread.tif"  # another input, where a.tif's spread would go
    shutil.copy(rasters["uint16_nodata"], victim)
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    r = run("upscale", ins / "a.tif", victim, "-o", out, "--scale", 2, "--samples", 2, "--overwrite",
            "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2 and "spread output path is an input file" in r.output, r.output
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in out.iterdir()) == ["a_sr_spread.tif"]  # nothing written


@pytest.mark.parametrize("spread", ["input", "stream"])
def test_a_spread_out_refused_names_the_option(rasters, tiny_model_file, tmp_path, spread):
    """--spread-out naming the input (or a link to a process's stream) was refused as "Invalid value
    for '-o'", an option the user gave right. Now the hint is '--spread-out', the option to fix."""
    import shutil

    src = shutil.copy(rasters["rgba"], tmp_path / "s.tif")
    path = src if spread == "input" else tmp_path / "link.tif"
    if spread == "stream":
        path.symlink_to("/proc/self/fd/1")
    r = run("upscale", src, "-o", tmp_path / "o.tif", "--scale", 2, "--samples", 2, "--spread-out", path,
            "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2 and "Invalid value for '--spread-out': spread output path is" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["s.tif", *(["link.tif"] if spread == "stream" else [])])


def test_spread_out_naming_the_output_is_said_so(rasters, tiny_model_file, tmp_path):
    """--spread-out the -o path (here spelt another way): before, 'Invalid value for 'IN': s.tif and
    s.tif would both be written to o.tif', the one input named twice as if two inputs collided."""
    r = run("upscale", rasters["rgba"], "-o", tmp_path / "o.tif", "--scale", 2, "--samples", 2,
            "--spread-out", tmp_path / "." / "o.tif", "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2, r.output
    assert "'--spread-out': the spread file would be written over the output" in r.output, r.output
    assert "would both be written" not in r.output and list(tmp_path.iterdir()) == []


def test_spread_out_with_several_inputs_says_it_needs_a_single_one(rasters, tiny_model_file, tmp_path):
    """Two inputs and --spread-out: before, "a.tif and b.tif would both be written to s.tif" (true,
    but not what to do); now the rule for --spread-out itself: one file, so one input."""
    out = tmp_path / "out"
    out.mkdir()
    r = run("upscale", rasters["rgba"], rasters["gray"], "-o", out, "--scale", 2, "--samples", 2,
            "--spread-out", tmp_path / "s.tif", "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2, r.output
    assert "'--spread-out': names one file, so it needs a single input" in r.output, r.output
    assert "would both be written" not in r.output and list(out.iterdir()) == []


def test_spread_out_must_be_a_file_name(rasters, tiny_model_file, tmp_path):
    r = run("upscale", rasters["rgba"], "-o", tmp_path / "o.tif", "--scale", 2, "--samples", 2,
            "--spread-out", tmp_path / "s.png", "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2 and "ending in .tif or .tiff" in r.output and "folder" not in r.output, r.output


def test_spread_reads_in_physical_units_as_the_mean_does(tiny_model, tmp_path):
    """A reflectance scene (raw × 1e-4 − 0.1): the spread keeps |scale| and unit, and no offset (an
    offset does not move a standard deviation). Before: the spread file had neither (raw units next
    to a mean read as reflectance), and napari's spread layer saved the source's offset."""
    from .conftest import TRANSFORM, UTM33, smooth_field

    src = tmp_path / "refl.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=32, count=3, dtype="uint16",
                       crs=UTM33, transform=TRANSFORM) as ds:
        ds.write(smooth_field(np.random.default_rng(5), 32, 40, 3, 300, 9000).round().astype("uint16"))
        ds.scales, ds.offsets, ds.units = (1e-4, 1e-4, -2e-4), (-0.1, -0.1, 0.0), ("refl", "refl", "W")
    pl.upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2,
                      options=pl.UpscaleOptions(samples=2), output=pl.OutputOptions())
    with rasterio.open(tmp_path / "o_spread.tif") as s, rasterio.open(tmp_path / "o.tif") as o:
        assert o.offsets == (-0.1, -0.1, 0.0)  # the mean keeps the source's
        assert (s.scales, s.offsets, s.units) == ((1e-4, 1e-4, 2e-4), (0.0, 0.0, 0.0), ("refl", "refl", "W"))
    r = upscale_window_spread(src, model=tiny_model, scale=2, options=pl.UpscaleOptions(samples=2))
    assert (r.spread.scales, r.spread.offsets, r.spread.units) == ((1e-4, 1e-4, 2e-4), (), ("refl", "refl", "W"))


@pytest.mark.parametrize("bands", [1, 4])
def test_a_replicated_band_has_the_spread_of_its_k_pictures(tiny_model, tmp_path, bands):
    """A grey band (fed to the model as three channels) and a short last group (band 4 as 4,4,4):
    the band's picture is the mean of its channels, so its spread is the standard deviation of the
    K single runs' pictures. Before, the sink averaged the channels' variances: up to 4x the
    band's typical spread off with the tiny model (0.14 grey levels with the shipped one on an
    RSSCN7 crop at x4)."""
    from .conftest import smooth_field, write_tif

    g = smooth_field(np.random.default_rng(3), 24, 32, bands, 0.0, 1.0).astype(np.float32)
    src = write_tif(tmp_path / "g.tif", g, dtype="float32")  # float: the pictures are not rounded
    k = 3
    res = upscale_window_spread(src, model=tiny_model, scale=2, options=pl.UpscaleOptions(samples=k, seed=5))
    pictures = np.stack([pl.upscale_window(src, model=tiny_model, scale=2,
                                           options=pl.UpscaleOptions(seed=5 + i)).data for i in range(k)])
    assert res.spread.data.shape == pictures.shape[1:]
    np.testing.assert_allclose(res.mean.data, pictures.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(res.spread.data, pictures.astype(np.float64).std(axis=0), atol=1e-6)
    assert res.spread.data[-1].max() > 1e-4  # the samples do differ there


def test_overlapping_windows_give_the_spread_of_the_k_blended_pictures(tiny_model, tmp_path, monkeypatch):
    """The raster path (file and window API, Dask alike: one SampledRunner) where the diffusion
    windows overlap (a model without tile_overlap metadata: 25 %): the spread file is the standard
    deviation of the K single runs' blended pictures. Before, the windows' variances were blended."""
    from ldcsr_core.tiling import plan_for_model

    from .conftest import smooth_field, write_tif

    monkeypatch.setattr(tiny_model, "tile_max", 64)
    assert len(plan_for_model(tiny_model, (32, 40), (80, 100), mode="diffusion").tiles) >= 4
    g = smooth_field(np.random.default_rng(4), 32, 40, 2, 0.0, 1.0).astype(np.float32)  # band 2 as 2,2
    src = write_tif(tmp_path / "s.tif", g, dtype="float32")
    k = 3  # (more than the 2 values kept where windows do not overlap: k=2 would not tell them apart)
    pl.upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2.5,
                      options=pl.UpscaleOptions(samples=k, seed=1))
    pictures = np.stack([pl.upscale_window(src, model=tiny_model, scale=2.5,
                                           options=pl.UpscaleOptions(seed=1 + i)).data for i in range(k)])
    with rasterio.open(tmp_path / "o.tif") as o, rasterio.open(tmp_path / "o_spread.tif") as s:
        np.testing.assert_allclose(o.read(), pictures.mean(axis=0), atol=1e-6)
        np.testing.assert_allclose(s.read(), pictures.astype(np.float64).std(axis=0), atol=1e-6)


def test_a_spread_folder_that_does_not_exist_is_a_usage_error(rasters, tiny_model_file, tmp_path, monkeypatch):
    """--spread-out into a folder that is not there is exit 2, as -o's (docs/cli.md: 'a missing folder
    is exit 2'), before the model loads. Before: exit 5 'Error: spread folder does not exist: …'."""
    from ldcsr_core.cli import upscale_cmd

    monkeypatch.setattr(upscale_cmd, "_load_model", lambda *a: pytest.fail("the model was loaded"))
    missing = tmp_path / "missing"
    r = run("upscale", rasters["gray"], "-o", tmp_path / "o.tif", "-s", 2, "--samples", 2, "--mode", "diffusion",
            "--spread-out", missing / "s.tif", "--model", tiny_model_file)
    assert r.exit_code == 2, r.output
    assert f"Invalid value for '--spread-out': spread folder does not exist: {missing}" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_cost_of_k_samples_is_said_before_the_model_loads(rasters, tiny_model_file, tmp_path,
                                                             stopped_where_the_model_loads):
    """`ldcsr upscale --samples 3`: before, nothing said that the run takes about 3 times as long as one sample (QGIS
    said it: uncertainty.samples_cost); now a note on stderr says it, in those words, before the model loads; -q,
    which keeps only the notes that a result is untested, leaves it out, as it does one sample."""
    from ldcsr_core.uncertainty import samples_cost

    said = f"note: {samples_cost(3)}"
    assert said == ("note: 3 samples for the uncertainty map: each is a whole run of the diffusion sampler, so this "
                    "run takes about 3 times as long as one sample would")
    for quiet, samples, expected in (([], 3, [said]), (["-q"], 3, []), ([], 1, [])):
        r = CliRunner().invoke(main, [*quiet, "upscale", str(rasters["rgba"]), "-o", str(tmp_path / "o.tif"), "-s", "2",
                                      "--samples", str(samples), "--model", str(tiny_model_file), "--device", "cpu"])
        assert r.exit_code == 1 and r.stderr.endswith(stopped_where_the_model_loads), r.output
        assert [ln for ln in r.stderr.splitlines() if "samples for the uncertainty map" in ln] == expected, r.stderr
        assert r.stdout == "" and not (tmp_path / "o.tif").exists()


def test_the_cost_notes_are_not_said_before_a_run_that_skips(rasters, tiny_model_file, tmp_path):
    """`ldcsr upscale s.tif -o o.tif -s 2 --samples 2 --tile 32` run again without --overwrite: before, it said the
    K-times cost note and the --tile note, then `skipped … complete output already there`; now it says neither when
    every output is this request's complete result (the model tells: said after it loads), and both again when
    something runs (--overwrite, or its spread file missing; an output not there: before the model loads, as before)."""
    out = tmp_path / "o.tif"
    args = ["upscale", str(rasters["rgba"]), "-o", str(out), "-s", "2", "--samples", "2", "--mode", "diffusion",
            "--tile", "32", "--model", str(tiny_model_file), "--device", "cpu"]

    def notes(r):
        return [ln for ln in r.stderr.splitlines() if "samples for the uncertainty map" in ln or "--tile 32 applies" in ln]

    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0 and len(notes(first)) == 2, first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "complete output already there" in again.output, again.output
    assert notes(again) == [], again.stderr
    replaced = CliRunner().invoke(main, [*args, "--overwrite"])
    assert replaced.exit_code == 0 and len(notes(replaced)) == 2, replaced.output
    (tmp_path / "o_spread.tif").unlink()  # its spread file gone: the output there is refused, nothing runs
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 4 and "but its spread file" in refused.output and notes(refused) == [], refused.output


def test_no_cost_notes_before_a_run_that_refuses_every_output(rasters, tiny_model_file, tmp_path):
    """A batch whose outputs are all there, of another request (another --seed) or without their spread file, run
    without --overwrite: before, the K-times cost note and the --tile note were said (after the model loaded), then
    every input failed 'output exists …'; now neither is said (nothing runs), and both are when one output is missing."""
    (folder := tmp_path / "in").mkdir(), (out := tmp_path / "out").mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.tif").write_bytes(rasters["rgba"].read_bytes())
    args = ["upscale", str(folder), "-o", str(out), "-s", "2", "--samples", "2", "--tile", "32",
            "--model", str(tiny_model_file), "--device", "cpu"]

    def notes(r):
        return [ln for ln in r.stderr.splitlines() if "samples for the uncertainty map" in ln or "--tile 32 applies" in ln]

    assert CliRunner().invoke(main, args).exit_code == 0
    (out / "b_sr_spread.tif").unlink()
    other = CliRunner().invoke(main, [*args, "--seed", "1"])
    assert other.exit_code == 1 and other.output.count("output exists") == 2 and notes(other) == [], other.output
    (out / "a_sr.tif").unlink()  # one output to make: said, before the model loads
    again = CliRunner().invoke(main, args)
    assert "written" in again.output and len(notes(again)) == 2, again.output
