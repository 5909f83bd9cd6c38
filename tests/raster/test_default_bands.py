"""The model's default RGB triplet is one rule for the command line, napari and QGIS
(``radiometry.default_triplet``). Before, a file whose colour interpretation says blue, green, red
was fed to the model in file order, and a Sentinel-2 stack got bands 4,3,2 in QGIS but 1,2,3
(aerosol, blue, green) from ``ldcsr upscale`` and napari: one scene, two different results."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.enums import ColorInterp as CI

from ldcsr_core.geo import radiometry as rad

from .conftest import smooth_field, write_tif


@pytest.mark.parametrize("count, ci, names, want, rule", [
    (3, ["red", "green", "blue"], (), (0, 1, 2), "colour interpretation"),
    (3, ["blue", "green", "red"], (), (2, 1, 0), "colour interpretation"),
    (4, ["blue", "green", "red", "undefined"], (), (2, 1, 0), "colour interpretation"),
    (4, ["red", "green", "blue", "alpha"], (), (0, 1, 2), "colour interpretation"),
    (4, ["alpha", "blue", "green", "red"], (), (3, 2, 1), "colour interpretation"),
    (12, ["gray"] + ["undefined"] * 11, (), (3, 2, 1), "Sentinel-2 rule"),
    (13, ["red", "green", "blue"] + ["undefined"] * 10, (), (3, 2, 1), "Sentinel-2 rule"),  # GDAL's RGB marks
    (4, ["gray", "undefined", "undefined", "undefined"], ("B8", "B2", "B3", "B4"), (3, 2, 1), "Sentinel-2 rule"),
    (4, ["gray", "undefined", "undefined", "undefined"], (), (0, 1, 2), "the first three"),
    (2, ["gray", "alpha"], (), (0,), "the first three"),
    (3, ["red", "red", "blue"], (), (0, 1, 2), "the first three"),  # not one of each: file order
])
def test_default_triplet(count, ci, names, want, rule):
    assert rad.default_triplet(count, ci, names) == (want, rule)
    assert rad.is_fallback(rule) == (rule == "the first three")  # nothing to go on: a front end's own default
    first = rad.plan_bands(count, ci, None, names).groups[0]
    assert first == (want + (want[-1],) * 3)[:3]


def _run(*args):
    from ldcsr_core.cli import main

    return CliRunner().invoke(main, ["upscale", *map(str, args), "-s", "2", "--mode", "fast"])


def test_a_bgr_file_and_a_sentinel_2_stack_default_to_their_natural_colours(tmp_path, tiny_model_file):
    rng = np.random.default_rng(5)
    bgr = write_tif(tmp_path / "bgr.tif", smooth_field(rng, 40, 40, 3, 10, 240).round().astype(np.uint8),
                    dtype="uint8", colorinterp=[CI.blue, CI.green, CI.red])
    s2 = write_tif(tmp_path / "s2.tif", smooth_field(rng, 40, 40, 12, 100, 4000).round().astype(np.uint16),
                   dtype="uint16")
    for src, explicit in ((bgr, "3,2,1"), (s2, "4,3,2")):
        auto, chosen = tmp_path / f"{src.stem}_auto.tif", tmp_path / f"{src.stem}_chosen.tif"
        for out, extra in ((auto, []), (chosen, ["--bands", explicit])):
            r = _run(src, "-o", out, "--model", tiny_model_file, *extra)
            assert r.exit_code == 0, r.output
        with rasterio.open(auto) as a, rasterio.open(chosen) as c:
            assert np.array_equal(a.read(), c.read())
            assert a.tags()["LDCSR_BANDS"].startswith(f"[[{explicit.replace(',', ', ')}]")
    from ldcsr_core.cli import main

    r = CliRunner().invoke(main, ["info", str(s2)])
    assert "triplets (4,3,2)" in r.output, r.output
