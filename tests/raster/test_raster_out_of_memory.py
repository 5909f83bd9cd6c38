"""The raster path's out-of-memory fallback (CLI, QGIS, plugin Runs, Dask workers' ``infer_tile``), as
``upscale``'s: a window that runs out of memory is recomputed as smaller windows."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from suite_helpers import small_device

from .test_upscale_raster import _run

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")


def test_out_of_memory_on_the_raster_path_retries_with_smaller_windows(rasters, tiny_model, tmp_path, monkeypatch,
                                                                        caplog):
    """The raster path (CLI, QGIS, plugin Runs, Dask workers' ``infer_tile``) has the same fallback
    as ``upscale``: a window that runs out of memory is recomputed as smaller windows."""
    src = rasters["uint16_nodata"]
    ref = _run(tiny_model, src, tmp_path / "ref.tif", scale=2.5)
    sizes = small_device(monkeypatch, tiny_model, 80 * 80)
    res = _run(tiny_model, src, tmp_path / "o.tif", scale=2.5)
    assert res.status == "written" and ref.status == "written"
    assert sizes[0] > 80 * 80 and max(sizes[1:]) <= 80 * 80
    assert "out of memory" in caplog.text
    with rasterio.open(tmp_path / "ref.tif") as a, rasterio.open(tmp_path / "o.tif") as b:
        x, y = a.read().astype(np.float64), b.read().astype(np.float64)
        assert a.transform == b.transform and x.shape == y.shape
    valid = (x != 0) & (y != 0)
    assert np.array_equal(x == 0, y == 0)
    rel = np.abs(x - y)[valid].mean() / x[valid].mean()
    assert rel < 0.02  # the same picture, blended from smaller windows


def test_infer_tile_of_a_dask_worker_falls_back_too(tiny_model, monkeypatch):
    from ldcsr_core.geo.local_runner import infer_tile
    from ldcsr_core.tileplan import plan_tiles

    arr = np.random.default_rng(3).random((40, 40, 6)).astype(np.float32)  # two band triplets
    plan = plan_tiles((40, 40), (100, 100), window=10_000)
    tile = plan.tiles[0]
    ref = infer_tile(tiny_model, arr, tile, plan, mode="fast", seed=0)
    sizes = small_device(monkeypatch, tiny_model, 60 * 60,
                         RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB"))
    out = infer_tile(tiny_model, arr, tile, plan, mode="fast", seed=0)
    assert out.shape == ref.shape == (100, 100, 6)
    assert sizes[0] == 100 * 100 and max(sizes[1:]) <= 60 * 60
    assert np.abs(out - ref).mean() < 0.02
