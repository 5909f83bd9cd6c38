"""A georeferenced scene whose pixels are, on the ground, outside the 0.1-2 m of the shipped models' training
imagery (RSSCN7, docs/MODEL_CARD.md: a 10 m Sentinel-2 scene, 0.05 m drone imagery) runs and is said to be
untested there, by the shipped models only (another model's training imagery is not known); before, nothing
at run time said it. Real GeoTIFFs through ``ldcsr upscale`` with the shipped model, fast mode."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ldcsr_core.cli import main

from .conftest import write_tif

TAIL = ("on the ground, outside the 0.1–2 m of the imagery the shipped models were trained on (docs/MODEL_CARD.md), "
        "so the result is untested there; ldcsr selfcheck SCENE -s SCALE measures it on the scene")
PIXELS = np.random.default_rng(0).integers(0, 255, (3, 40, 40))


def _scene(path, res, crs="EPSG:32633", origin=(600000.0, 5340000.0)):
    return write_tif(path, PIXELS, dtype="uint8", crs=None if crs is None else CRS.from_user_input(crs),
                     transform=from_origin(*origin, *((res, res) if np.isscalar(res) else res)))


def _notes(inputs, out, *model):
    r = CliRunner().invoke(main, ["upscale", *map(str, inputs), "-o", str(out), "-s", "2", "--mode", "fast",
                                  "--device", "cpu", *model])
    assert r.exit_code == 0, r.output
    return [line for line in r.output.splitlines() if line.startswith("note:")]


@pytest.mark.parametrize("res, crs, origin, said", [
    (10.0, "EPSG:32633", (600000.0, 5340000.0), "10 m"),  # Sentinel-2
    (0.05, "EPSG:32633", (600000.0, 5340000.0), "0.05 m"),  # a drone
    (1e-4, "EPSG:4326", (12.0, 45.0), "7.88 × 11.1 m"),  # degrees: 0.0001° at 45° N is 7.88 m east, 11.1 m north
    (30.0, "EPSG:2263", (900000.0, 200000.0), "9.14 m"),  # New York's state plane, in US survey feet
    (0.5, "EPSG:3857", (1113194.9, 6800000.0), None),  # Web Mercator at 52° N: 0.5 m on the map is 0.31 m
    (3.0, "EPSG:3857", (1113194.9, 6800000.0), None),  # ... and 3 m is 1.85 m: inside
    (1.0, "EPSG:32633", (600000.0, 5340000.0), None), (0.1, "EPSG:32633", (600000.0, 5340000.0), None),
    (2.0, "EPSG:32633", (600000.0, 5340000.0), None),  # the range's ends (its UTM scale: 2.0004 m)
    (10.0, None, (600000.0, 5340000.0), None),  # no CRS: its pixels' size is not known
])
def test_a_shipped_model_says_when_the_pixels_are_outside_its_training_ground_resolutions(tmp_path, res, crs, origin,
                                                                                          said):
    notes = _notes([_scene(tmp_path / "in.tif", res, crs, origin)], tmp_path / "o.tif")
    assert notes == ([f"note: the scene's pixels are {said} {TAIL}"] if said else []), notes


def test_another_model_says_nothing_of_the_shipped_models_training(tiny_model_file, tmp_path):
    """A user's model (an official checkpoint alike): what it was trained on is not known here."""
    assert _notes([_scene(tmp_path / "in.tif", 10.0)], tmp_path / "o.tif", "--model", str(tiny_model_file)) == []


def test_a_batch_says_it_once_naming_its_inputs(tmp_path):
    inputs = [_scene(tmp_path / "s2.tif", 10.0), _scene(tmp_path / "ok.tif", 1.0), _scene(tmp_path / "uav.tif", 0.05),
              _scene(tmp_path / "plain.tif", 10.0, crs=None)]
    (tmp_path / "out").mkdir()
    assert _notes(inputs, tmp_path / "out") == [
        "note: 2 of 4 inputs (s2.tif, uav.tif) have pixels of 10 m, 0.05 m on the ground, outside the 0.1–2 m of the "
        "imagery the shipped models were trained on (docs/MODEL_CARD.md), so their results are untested there; "
        "ldcsr selfcheck SCENE -s SCALE measures it on the scene"]


def test_the_rule_and_the_ground_pixel_size():
    from ldcsr_core.geo.ground import ground_pixel_metres
    from ldcsr_core.rules import untrained_ground_note

    assert untrained_ground_note((0.0999, 0.1)) is None and untrained_ground_note((2.04, 2.0)) is None  # 2 digits
    assert untrained_ground_note((0.094, 0.1)).startswith("the scene's pixels are 0.094 × 0.1 m on the ground")
    assert untrained_ground_note(None) is None and untrained_ground_note((10.0, 10.0), model=False) is None
    assert untrained_ground_note((10.0, 10.0), model="ldcsr-compact-rsscn7-v2").endswith("measures it on the scene")
    assert untrained_ground_note({f"{i}.tif": (30.0, 30.0 + i) for i in range(5)}).startswith(
        "5 of 5 inputs (0.tif, 1.tif, 2.tif and 2 more) have pixels of 30–34 m on the ground")
    # a rotated grid, measured along its own edges; a singular one and no placement: not known
    rotated = ground_pixel_metres("EPSG:32633", (0.6, 0.8, 6e5, 0.8, -0.6, 5.34e6), (10, 10))
    assert rotated == pytest.approx((0.9996, 0.9996), rel=1e-3)
    assert ground_pixel_metres("EPSG:32633", (0, 0, 6e5, 0, 0, 5.34e6), (10, 10)) is None
    assert ground_pixel_metres("EPSG:32633", None, (10, 10)) is None
    # a degree at 60° N: 55.80 km along the parallel, 111.41 km along the meridian (WGS 84)
    assert ground_pixel_metres("EPSG:4326", (1e-4, 0, 0.0, 0, -1e-4, 60.0), (2, 2)) == pytest.approx((5.580, 11.141),
                                                                                                      rel=1e-3)
