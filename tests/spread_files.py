"""A real spread map for the tests of its refusal: ``ldcsr upscale --samples 2`` of a small RGB GeoTIFF
with the tiny random model (a second or two on a CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_spread(folder: Path) -> tuple[Path, Path]:
    """(the source GeoTIFF, the spread map ``ldcsr upscale --samples 2`` wrote of it) in ``folder``."""
    import rasterio
    from click.testing import CliRunner
    from rasterio.transform import from_origin

    from ldcsr_core import build_model, save_model
    from ldcsr_core.cli import main
    from ldcsr_core.config import tiny_test_config

    src, out = folder / "scene.tif", folder / "scene_x2.tif"
    pixels = np.random.default_rng(1).integers(0, 255, (3, 40, 48), dtype=np.uint8)
    with rasterio.open(src, "w", driver="GTiff", height=40, width=48, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=from_origin(500000, 4000000, 10, 10)) as ds:
        ds.write(pixels)
    model = save_model(build_model(config=tiny_test_config(), seed=0), folder / "tiny.safetensors", name="tiny-test",
                       version="0", notes="random weights")
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "--scale", "2", "--samples", "2",
                                  "--mode", "diffusion", "--model", str(model), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    return src, folder / "scene_x2_spread.tif"
