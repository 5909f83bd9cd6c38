"""Tiles on a real dask.distributed LocalCluster (2 worker processes) = the single-process file."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import rasterio

distributed = pytest.importorskip("distributed")

from ldcsr_core.geo.distributed import DaskRunner, ModelSource, parse_dask_address  # noqa: E402
from ldcsr_core.errors import InputError  # noqa: E402
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_parse_dask_address():
    assert parse_dask_address("local:3") == ("local", 3)
    assert parse_dask_address("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    for bad in ("local:x", "local:0", "10.0.0.5", "tcp://"):
        with pytest.raises(InputError):
            parse_dask_address(bad)


@pytest.mark.slow
def test_dask_output_equals_single_process(rasters, tiny_model, tmp_path, client, monkeypatch):
    src = rasters["uint16_nodata"]  # 4 bands (2 model passes per tile) with nodata
    monkeypatch.setattr(tiny_model, "tile_max", 64)  # diffusion windows of 64 px: several tiles
    kw = dict(model=tiny_model, scale=2.0, options=UpscaleOptions(mode="diffusion", seed=7))
    single = upscale_raster(src, tmp_path / "single.tif", **kw)
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    # The same model as the tiny_model fixture, built on each worker (importable by reference).
    source = ModelSource(builder=functools.partial(ldcsr_core.build_model,
                                                   config=tiny_test_config(), seed=0),
                         key="tiny-test-seed0")
    runner = DaskRunner(client, source, in_flight=3)
    try:
        res = upscale_raster(src, tmp_path / "dask.tif", runner=runner, **kw)
        loads = runner.model_loads()
    finally:
        runner.close()
    assert res.tiles == single.tiles >= 2
    assert len(loads) == 2 and all(n == 1 for n in loads.values())  # once per worker
    with rasterio.open(tmp_path / "single.tif") as a, rasterio.open(tmp_path / "dask.tif") as b:
        x, y = a.read(), b.read()
        assert a.profile == b.profile
        ta, tb = a.tags(), b.tags()
    assert x.dtype == np.uint16 and x.std() > 0
    np.testing.assert_array_equal(x, y)
    assert {k: v for k, v in ta.items()} == {k: v for k, v in tb.items()}
