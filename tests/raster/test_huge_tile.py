"""A tile past a float's range is a tile past the raster, one window, as any tile past its side: the real CLI on a
real GeoTIFF."""

from __future__ import annotations

import numpy as np
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif


def test_a_tile_past_2_1024_runs_as_a_tile_past_the_raster(tmp_path, tiny_model_file):
    """Before: 'ldcsr upscale --tile 2**1100' (which check_tile takes: any whole number from 16 up) said 'Error:
    OverflowError: int too large to convert to float' (exit 1, plan_grid's tile * scale), and QGIS's TILE alike, while
    --tile 2**62 ran as one tile; now the same file as --tile 2**62."""
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 48)), dtype="uint8")
    pictures = []
    for tile in (2 ** 62, 2 ** 1100):
        out = tmp_path / f"o{len(pictures)}.tif"
        r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "-s", "2", "--mode", "fast", "--device",
                                      "cpu", "--model", str(tiny_model_file), "--tile", str(tile)])
        assert r.exit_code == 0, r.output
        with rasterio.open(out) as ds:
            pictures.append(ds.read())
    np.testing.assert_array_equal(pictures[0], pictures[1])
