"""A georeferenced scene whose pixels, at the scale asked, make ones outside the 0.1-2 m of the shipped models'
training imagery (RSSCN7, docs/MODEL_CARD.md: a 10 m Sentinel-2 scene at ×2, 0.05 m drone imagery) runs and is
said to be untested there, by the shipped models only (another model's training imagery is not known); before, nothing
at run time said it. Real GeoTIFFs through ``ldcsr upscale`` with the shipped model, fast mode."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ldcsr_core.cli import main

from .conftest import write_tif

# What the runs say of the model's training ground, not its loading: each model loaded once for the module (its runs
# do not change it; no test here loads one itself).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")

TAIL = ("on the ground, outside the 0.1–2 m of the imagery the shipped models were trained to make (docs/MODEL_CARD.md), "
        "so the result is untested there; ldcsr selfcheck {} -s {} --mode fast --device cpu measures it on the scene")  # (before: SCENE -s SCALE)
PIXELS = np.random.default_rng(0).integers(0, 255, (3, 40, 40))


def _scene(path, res, crs="EPSG:32633", origin=(600000.0, 5340000.0)):
    return write_tif(path, PIXELS, dtype="uint8", crs=None if crs is None else CRS.from_user_input(crs),
                     transform=from_origin(*origin, *((res, res) if np.isscalar(res) else res)))


def _notes(inputs, out, *model, scale="2"):
    r = CliRunner().invoke(main, ["upscale", *map(str, inputs), "-o", str(out), "-s", scale, "--mode", "fast",
                                  "--device", "cpu", *model])
    assert r.exit_code == 0, r.output
    return [line for line in r.output.splitlines() if line.startswith("note:")]


@pytest.mark.parametrize("res, crs, origin, said", [
    (10.0, "EPSG:32633", (600000.0, 5340000.0), "10 m pixels make ones of 5 m"),  # Sentinel-2
    (0.05, "EPSG:32633", (600000.0, 5340000.0), "0.05 m pixels make ones of 0.025 m"),  # a drone
    # degrees: 0.0001° at 45° N is 7.88 m east, 11.1 m north
    (1e-4, "EPSG:4326", (12.0, 45.0), "7.88 × 11.1 m pixels make ones of 3.94 × 5.56 m"),
    (30.0, "EPSG:2263", (900000.0, 200000.0), "9.14 m pixels make ones of 4.57 m"),  # New York, US survey feet
    (0.5, "EPSG:3857", (1113194.9, 6800000.0), None),  # Web Mercator at 52° N: 0.5 m on the map is 0.31 m
    (6.0, "EPSG:3857", (1113194.9, 6800000.0), None),  # ... and 6 m is 3.7 m, making 1.85 m: inside
    (1.0, "EPSG:32633", (600000.0, 5340000.0), None), (0.2, "EPSG:32633", (600000.0, 5340000.0), None),
    (4.0, "EPSG:32633", (600000.0, 5340000.0), None),  # the range's ends, made (its UTM scale: 2.0008 m)
    (0.1, "EPSG:32633", (600000.0, 5340000.0), "0.1 m pixels make ones of 0.05 m"),  # finer than it learnt to make
    (10.0, None, (600000.0, 5340000.0), None),  # no CRS: its pixels' size is not known
    # a picture given EPSG:4326 and its pixels as degrees: said in km (before, '9.65e+04 × 1.11e+05 m')
    (1.0, "EPSG:4326", (10.0, 50.0), "96.5 × 111 km pixels make ones of 48.2 × 55.4 km"),
])
def test_a_shipped_model_says_when_the_pixels_are_outside_its_training_ground_resolutions(tmp_path, res, crs, origin,
                                                                                          said):
    notes = _notes([_scene(tmp_path / "in.tif", res, crs, origin)], tmp_path / "o.tif")
    assert notes == ([f"note: at ×2 the scene's {said} {TAIL.format(tmp_path / 'in.tif', 2)}"] if said else []), notes


@pytest.mark.parametrize("res, scale, said", [
    (10.0, "8", None),  # 10 m at ×8 makes 1.25 m pixels: RSSCN7's 1.25 m scenes, 8 times coarser, were trained on
    (10.0, "4", "at ×4 the scene's 10 m pixels make ones of 2.5 m"),
    (0.15, "4", "at ×4 the scene's 0.15 m pixels make ones of 0.0375 m"),  # drone imagery: finer than ever made
    (0.15, "1.25", None),
])
def test_what_is_compared_is_the_pixel_the_scale_makes_as_in_training(tmp_path, res, scale, said):
    """Training made RSSCN7's 0.1-2 m pixels from inputs 1.25-8 times coarser. Before, the scene's own pixel was
    compared with 0.1-2 m whatever the scale: a 10 m scene at ×8 (made 1.25 m, as trained) was said untested, and
    0.15 m drone imagery at ×4 (0.0375 m, finer than any pixel made in training) said nothing."""
    notes = _notes([_scene(tmp_path / "in.tif", res)], tmp_path / "o.tif", scale=scale)
    assert notes == ([f"note: {said} {TAIL.format(tmp_path / 'in.tif', scale)}"] if said else []), notes


def test_another_model_says_nothing_of_the_shipped_models_training(tiny_model_file, tmp_path):
    """A user's model (an official checkpoint alike): what it was trained on is not known here."""
    assert _notes([_scene(tmp_path / "in.tif", 10.0)], tmp_path / "o.tif", "--model", str(tiny_model_file)) == []


def test_a_batch_says_it_once_naming_its_inputs(tmp_path):
    inputs = [_scene(tmp_path / "s2.tif", 10.0), _scene(tmp_path / "ok.tif", 1.0), _scene(tmp_path / "uav.tif", 0.05),
              _scene(tmp_path / "plain.tif", 10.0, crs=None)]
    (tmp_path / "out").mkdir()
    assert _notes(inputs, tmp_path / "out") == [
        "note: 2 of 4 inputs (s2.tif, uav.tif) make pixels of 5 m (of 10 m at ×2), 0.025 m (of 0.05 m at ×2) on the "
        "ground, outside the 0.1–2 m of the imagery the shipped models were trained to make (docs/MODEL_CARD.md), so "
        "their results are untested there; "
        f"e.g. ldcsr selfcheck {tmp_path / 's2.tif'} -s 2 --mode fast --device cpu measures it on that input"]  # the first input it names


def test_the_rule_and_the_ground_pixel_size():
    from ldcsr_core.geo.ground import ground_pixel_metres
    from ldcsr_core.rules import untrained_ground_note

    assert untrained_ground_note((0.0999, 0.1), scale=1) is None and untrained_ground_note((4.08, 4.0), scale=2) is None
    assert untrained_ground_note((0.188, 0.2), scale=(2, 2)).startswith(  # 2 digits; (sy, sx)
        "at ×2 the scene's 0.188 × 0.2 m pixels make ones of 0.094 × 0.1 m on the ground")
    assert untrained_ground_note((4.0, 8.0), scale=(4, 2)) is None and untrained_ground_note((4.0, 8.0), scale=(2, 4))
    assert untrained_ground_note((105e3, 111e3), scale=2).startswith(  # degrees as pixels: km, not 1.05e+05 m
        "at ×2 the scene's 105 × 111 km pixels make ones of 52.5 × 55.5 km on the ground")
    assert untrained_ground_note(None, scale=2) is None
    assert untrained_ground_note((10.0, 10.0), model=False, scale=2) is None
    assert untrained_ground_note((10.0, 10.0), model="ldcsr-compact-rsscn7-v2", scale=2).endswith(
        "measures it on the scene")
    assert untrained_ground_note({f"{i}.tif": (30.0, 30.0 + i) for i in range(5)}, scale=1.5).startswith(
        "5 of 5 inputs (0.tif, 1.tif, 2.tif and 2 more) make pixels of 20–22.7 m on the ground")
    # a rotated grid, measured along its own edges; a singular one and no placement: not known
    rotated = ground_pixel_metres("EPSG:32633", (0.6, 0.8, 6e5, 0.8, -0.6, 5.34e6), (10, 10))
    assert rotated == pytest.approx((0.9996, 0.9996), rel=1e-3)
    assert ground_pixel_metres("EPSG:32633", (0, 0, 6e5, 0, 0, 5.34e6), (10, 10)) is None
    assert ground_pixel_metres("EPSG:32633", None, (10, 10)) is None
    # a degree at 60° N: 55.80 km along the parallel, 111.41 km along the meridian (WGS 84)
    assert ground_pixel_metres("EPSG:4326", (1e-4, 0, 0.0, 0, -1e-4, 60.0), (2, 2)) == pytest.approx((5.580, 11.141),
                                                                                                      rel=1e-3)


def test_the_selfcheck_command_is_one_to_paste(tmp_path):
    """Before, every note ended 'ldcsr selfcheck SCENE -s SCALE measures it on the scene', placeholders to fill in;
    now the scene's path, shell-quoted, the scale as given, and the run's options that selfcheck takes (the model,
    mode, device, bands, stretch), so that it measures what was run."""
    import shlex

    scene = _scene(tmp_path / "my scene.tif", 10.0)
    notes = _notes([scene], tmp_path / "o.tif", "--bands", "3,2,1", "--stretch", "percentile", scale="1.5")
    assert len(notes) == 1 and notes[0].endswith(
        f"; ldcsr selfcheck {shlex.quote(str(scene))} -s 1.5 --mode fast --device cpu --bands 3,2,1 --stretch "
        "percentile measures it on the scene"), notes
    assert shlex.split(notes[0].rsplit("; ", 1)[1])[:5] == ["ldcsr", "selfcheck", str(scene), "-s", "1.5"]


def test_a_per_axis_run_offers_no_selfcheck_command_that_measures_another_scale(tmp_path):
    """'-s 2,1.5' (×2 across, ×1.5 down): before, the note ended 'ldcsr selfcheck ... -s 2 -s 1.5 ...', which
    selfcheck reads as two checks, at ×2 and at ×1.5 on both axes, neither the run's; selfcheck scores one scale on
    both axes alike, so the note now says it cannot measure this one."""
    scene = _scene(tmp_path / "s2.tif", 10.0)
    notes = _notes([scene], tmp_path / "o.tif", scale="2,1.5")
    assert len(notes) == 1 and notes[0].endswith(
        "so the result is untested there; ldcsr selfcheck cannot measure it: it scores one scale on both axes alike, "
        "not ×2 x, ×1.5 y"), notes
    assert "-s 2 -s 1.5" not in notes[0]


def test_a_batch_pastes_the_command_of_an_input_selfcheck_can_measure(tmp_path):
    """'-r 3' of a batch whose first input has 10 × 12 m pixels (×3.33 across, ×4 down: no one scale selfcheck scores)
    and whose second has 10 m ones (×3.33): before, the example was the first, 'ldcsr selfcheck cannot measure it of
    that input (a.tif)', no command to paste while b.tif has one; now b.tif's, which pasted measures it."""
    import shlex

    inputs = [_scene(tmp_path / "a.tif", (10.0, 12.0)), _scene(tmp_path / "b.tif", 10.0)]
    (tmp_path / "out").mkdir()
    r = CliRunner().invoke(main, ["upscale", *map(str, inputs), "-o", str(tmp_path / "out"), "-r", "3", "--mode", "fast",
                                  "--device", "cpu"])
    notes = [line for line in r.output.splitlines() if line.startswith("note:")]
    assert r.exit_code == 0 and len(notes) == 1 and notes[0].startswith("note: 2 of 2 inputs (a.tif, b.tif)"), r.output
    assert notes[0].endswith(f"; e.g. ldcsr selfcheck {inputs[1]} -s 3.33 --mode fast --device cpu measures it on "
                             "that input"), notes
    pasted = shlex.split(notes[0].rsplit("; e.g. ", 1)[1].removesuffix(" measures it on that input"))
    r = CliRunner().invoke(main, pasted[1:])
    assert r.exit_code == 0 and r.output.startswith("×3.33: LDCSR "), r.output
    # every input of per-axis scales: the note says selfcheck cannot measure the first
    assert _notes(inputs, tmp_path / "out", "--overwrite", scale="2,1.5")[0].endswith(
        f"; ldcsr selfcheck cannot measure it of that input ({inputs[0]}): it scores one scale on both axes alike, "
        "not ×2 x, ×1.5 y")


def test_a_target_resolution_run_pastes_the_shortest_scale_that_makes_its_size(tmp_path, monkeypatch):
    """'-r 3' of a 10 m scene of 40 px is ×3.33333: before, the pasted command said '-s 3.33333'; now '-s 3.33', the
    shortest scale that makes the run's 133 px, which pasted runs and measures at ×3.33; the note says the run's scale
    so too (before: 'at ×3.33333 the scene's 10 m pixels ...' beside '-s 3.33')."""
    import shlex

    import rasterio

    from ldcsr_core.rules import output_shape

    monkeypatch.chdir(tmp_path)
    _scene(tmp_path / "s2.tif", 10.0)
    r = CliRunner().invoke(main, ["upscale", "s2.tif", "-o", "o.tif", "-r", "3", "--mode", "fast", "--device", "CPU"])
    notes = [line for line in r.output.splitlines() if line.startswith("note:")]
    assert r.exit_code == 0 and len(notes) == 1 and notes[0].endswith(
        "; ldcsr selfcheck s2.tif -s 3.33 --mode fast --device cpu measures it on the scene"), r.output
    assert notes[0].startswith("note: at ×3.33 the scene's 10 m pixels make ones of 3 m on the ground"), notes
    with rasterio.open("o.tif") as ds:
        assert output_shape((40, 40), 3.33) == ds.shape == (133, 133)  # the run's size, at the scale pasted
    pasted = shlex.split(notes[0].rsplit("; ", 1)[1].removesuffix(" measures it on the scene"))
    r = CliRunner().invoke(main, pasted[1:])
    assert r.exit_code == 0 and r.output.startswith("×3.33: LDCSR ") and "fast · " in r.output, r.output


def test_the_selfcheck_command_repeats_the_device_given_only(tmp_path, monkeypatch):
    """Before, a run's --device was left out of the command to paste (which then ran on 'auto': another card, or
    the GPU of a run kept on the CPU); now it is repeated when given, and not when it was not."""
    monkeypatch.chdir(tmp_path)
    _scene(tmp_path / "s2.tif", 10.0)
    for device, said in ((["--device", "cpu"], " --device cpu"), ([], "")):
        r = CliRunner().invoke(main, ["upscale", "s2.tif", "-o", "o.tif", "-s", "2", "--mode", "fast", "--overwrite",
                                      *device])
        assert r.exit_code == 0 and r.output.splitlines()[0].endswith(
            f"; ldcsr selfcheck s2.tif -s 2 --mode fast{said} measures it on the scene"), r.output


def test_the_selfcheck_command_of_a_scene_named_with_a_dash_runs_when_pasted(tmp_path, monkeypatch):
    """A scene named '-s2.tif' (given as ./-s2.tif, or after --): before, the note ended 'ldcsr selfcheck -s2.tif -s 2
    ...', which pasted was refused ('-s2.tif' would be read as options, exit 2); now './-s2.tif', which runs."""
    import shlex

    monkeypatch.chdir(tmp_path)
    _scene(tmp_path / "-s2.tif", 10.0)
    notes = _notes(["./-s2.tif"], "o.tif")
    assert len(notes) == 1 and notes[0].endswith("; ldcsr selfcheck ./-s2.tif -s 2 --mode fast --device cpu measures it on the scene")
    pasted = shlex.split(notes[0].rsplit("; ", 1)[1].removesuffix(" measures it on the scene"))
    r = CliRunner().invoke(main, [*pasted[1:], "--device", "cpu"])
    assert r.exit_code == 0 and r.output.startswith("×2: LDCSR "), r.output


def test_the_selfcheck_command_repeats_the_runs_nodata_seed_tile_and_float_type(tmp_path, monkeypatch):
    """A 10 m scene with a black fill its file does not declare, run with '--nodata 0': before, the pasted command
    left --nodata out and scored the fill as picture (its line '<1 % nodata'), as it left out --seed, --tile and
    --dtype; now it repeats them, as typed, and scores the scene as the run read it."""
    import shlex

    monkeypatch.chdir(tmp_path)
    pixels = PIXELS.copy()
    pixels[:, :, :20] = 0  # half the scene: fill
    write_tif(tmp_path / "fill.tif", pixels, dtype="uint8", crs=CRS.from_user_input("EPSG:32633"),
              transform=from_origin(600000.0, 5340000.0, 10.0, 10.0))
    notes = _notes(["fill.tif"], "o.tif", "--nodata", "0", "--tile", "32", "--dtype", "float32")
    assert len(notes) == 1 and notes[0].endswith(
        "; ldcsr selfcheck fill.tif -s 2 --mode fast --tile 32 --device cpu --dtype float32 --nodata 0 measures it on the "
        "scene"), notes
    pasted = shlex.split(notes[0].rsplit("; ", 1)[1].removesuffix(" measures it on the scene"))
    r = CliRunner().invoke(main, [*pasted[1:], "--device", "cpu"])
    assert r.exit_code == 0 and "(51 % nodata, not scored)" in r.output, r.output
    r = CliRunner().invoke(main, ["upscale", "fill.tif", "-o", "d.tif", "-s", "2", "--seed", "7", "--device", "cpu",
                                  "--tile", "32"])
    notes = [line for line in r.output.splitlines() if line.startswith("note: at ×2")]  # (diffusion: no tile)
    assert r.exit_code == 0 and notes[0].endswith("; ldcsr selfcheck fill.tif -s 2 --seed 7 --device cpu measures it on the scene"), \
        r.output


def test_the_selfcheck_command_of_a_run_with_samples_scores_their_mean(tmp_path, monkeypatch):
    """A run with --samples 2 writes the mean of 2 diffusion samples: before, its pasted command scored one sample
    (selfcheck had no way to score the mean; its --samples is the number of windows), not what was run; now it
    repeats them as --mean-of 2, and pasted it runs and scores the mean (its line says so)."""
    import shlex

    monkeypatch.chdir(tmp_path)
    _scene(tmp_path / "s2.tif", 10.0)
    r = CliRunner().invoke(main, ["upscale", "s2.tif", "-o", "o.tif", "-s", "2", "--samples", "2", "--device", "cpu"])
    notes = [line for line in r.output.splitlines() if line.startswith("note: at ×2")]
    assert r.exit_code == 0 and notes[0].endswith(
        "; ldcsr selfcheck s2.tif -s 2 --device cpu --mean-of 2 measures it on the scene"), r.output
    pasted = shlex.split(notes[0].rsplit("; ", 1)[1].removesuffix(" measures it on the scene"))
    r = CliRunner().invoke(main, pasted[1:])
    assert r.exit_code == 0 and "· diffusion, mean of 2 samples (seeds 0..1) ·" in r.output, r.output
    r = CliRunner().invoke(main, ["selfcheck", "s2.tif", "-s", "2", "--mode", "fast", "--mean-of", "2"])
    assert r.exit_code == 2 and ("Invalid value for '--mean-of': --mean-of 2 needs --mode diffusion: 'fast' is "
                                 "deterministic, so every sample is the same image") in " ".join(r.output.split()), r.output
