"""The spread file of ``ldcsr upscale --samples K``: its bands named by what they are the spread of (a red,
green, blue GeoTIFF's colours included; before, `spread of band 1` …), and ``ldcsr info`` of it describes a
spread map (before, it said how the map would be upscaled: the model's input triplets, threads, the output
and its room, as for a picture). Real GeoTIFFs, the tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.enums import ColorInterp

from ldcsr_core.cli import main

from .conftest import write_tif

RGB = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]


@pytest.mark.parametrize("dtype, colorinterp, descriptions, names", [
    ("uint8", RGB, None, ("spread of red", "spread of green", "spread of blue")),
    ("uint8", RGB, ["B4", None, "B2"], ("spread of B4", "spread of green", "spread of B2")),
    ("uint16", None, None, ("spread of band 1", "spread of band 2", "spread of band 3")),  # gray, undefined
])
def test_the_spread_file_names_its_bands_and_info_describes_a_spread_map(tiny_model_file, tmp_path, dtype, colorinterp,
                                                                         descriptions, names):
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 24, 24)), dtype=dtype,
                    colorinterp=colorinterp, descriptions=descriptions)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--samples", "2",
                                  "--model", str(tiny_model_file), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    spread = tmp_path / "o_spread.tif"
    with rasterio.open(spread) as d:
        assert d.descriptions == names
    r = CliRunner().invoke(main, ["info", str(spread)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    keys = [line.split(":")[0] for line in lines]
    assert keys == ["file", "driver", "provenance", "size", "crs", "pixel size", "bounds", "nodata", "colour",
                    "bands", "spread map"], r.output
    assert lines[-1] == ("spread map:  each band the spread of the band it names, in its units (above: what it is); "
                         "values, not a picture to upscale: upscale its output's source (in.tif)")
    assert lines[-3].endswith("(GeoTIFF's defaults: each band is a spread, no colour)")
    assert lines[-2] == f"bands:       {', '.join(names)}"


def test_the_engine_names_the_spread_as_the_file_does(tiny_model, tmp_path):
    from ldcsr_core.geo.pipeline import UpscaleOptions
    from ldcsr_core.geo.sampling import spread_mean_name
    from ldcsr_core.geo.spread import upscale_window_spread

    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 24, 24)), dtype="uint8",
                    colorinterp=RGB)
    got = upscale_window_spread(str(src), model=tiny_model, scale=2.0, options=UpscaleOptions(samples=2)).spread
    assert got.descriptions == ("spread of red", "spread of green", "spread of blue")
    assert spread_mean_name(got.descriptions) == "spread (mean over red, green, blue)"
    assert spread_mean_name(("spread of B4",)) == "spread of B4" and spread_mean_name(()) == "spread"
