"""GDAL's block cache is one per process (the host application's too): a run bounds it for its own
duration, in bytes that mean what they say, and puts back what it found, also when runs overlap."""

from __future__ import annotations

import threading

import pytest
from rasterio.env import get_gdal_config, set_gdal_config

from ldcsr_core.geo.gdal_cache import bounded_gdal_cache, lower_gdal_cache
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

MB = 2**20


@pytest.fixture
def cache(monkeypatch):
    """GDAL's bound as this process's host left it (1 GB here), put back after the test."""
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    saved = int(get_gdal_config("GDAL_CACHEMAX"))
    set_gdal_config("GDAL_CACHEMAX", 1024 * MB)
    yield lambda: int(get_gdal_config("GDAL_CACHEMAX"))
    set_gdal_config("GDAL_CACHEMAX", saved)


def _run(model, src, dst, seen, wait=None, started=None):
    def callback(progress):
        seen.append(int(get_gdal_config("GDAL_CACHEMAX")))
        if started is not None:
            started.set()
        if wait is not None:
            assert wait.wait(120)  # ends after the other run has ended (events: not a race on speed)

    upscale_raster(src, dst, model=model, scale=2, options=UpscaleOptions(mode="fast"),
                   output=OutputOptions(gdal_cache_mb=64), callback=callback)


def test_two_overlapping_runs_bound_the_cache_to_its_megabytes_and_put_it_back(rasters, tiny_model, tmp_path,
                                                                            cache):
    """Before, ``rasterio.Env(GDAL_CACHEMAX=256)``: 256 *bytes* (rasterio's int is bytes), no cache at
    all for the whole process (a host's readers too) during every run; and the second of two
    overlapping runs (threads: napari, QGIS tasks) put back the 256 bytes it found, for good."""
    src = rasters["gray"]
    a_seen, b_seen = [], []
    b_started, a_done = threading.Event(), threading.Event()
    b = threading.Thread(target=_run, args=(tiny_model, src, tmp_path / "b.tif", b_seen, a_done, b_started))
    b.start()  # B holds its run open until A has ended
    try:
        assert b_started.wait(120)
        _run(tiny_model, src, tmp_path / "a.tif", a_seen)
    finally:
        a_done.set()
        b.join(120)
    assert set(a_seen) == set(b_seen) == {64 * MB}, (a_seen, b_seen)
    assert cache() == 1024 * MB  # as the host left it


def test_a_bound_lowered_for_good_during_a_run_is_the_one_put_back(cache, monkeypatch):
    """napari's big-scene bound (lower_gdal_cache) set while a run holds its own: kept after it."""
    with bounded_gdal_cache(512 * MB):
        assert cache() == 512 * MB
        assert lower_gdal_cache(256 * MB) == 256 * MB
        with bounded_gdal_cache(64 * MB):  # nested / overlapping: the first one's bound stays
            assert cache() == 256 * MB
    assert cache() == 256 * MB
    with bounded_gdal_cache(512 * MB):  # never raised
        assert cache() == 256 * MB
    set_gdal_config("GDAL_CACHEMAX", 1024 * MB)
    monkeypatch.setenv("GDAL_CACHEMAX", "2048")  # the user's choice is left alone
    with bounded_gdal_cache(64 * MB):
        assert cache() == 1024 * MB


def test_a_whole_read_keeps_no_blocks_and_a_window_read_keeps_the_cache(cache, rasters):
    """A file read whole runs in a cache of WHOLE_READ_CACHE_BYTES (before: the host's bound, GDAL kept the
    decoded blocks next to the pixels read, twice them at the peak; tests/plugin/test_raster_formats.py
    measures it), then the bound found is put back; a window is read with the cache as it is."""
    import rasterio

    from ldcsr_core.geo.gdal_cache import WHOLE_READ_CACHE_BYTES, read_bands

    seen = []
    with rasterio.open(rasters["gray"]) as src:
        class Recorded:
            driver = src.driver

            def read(self, window=None):
                seen.append(cache())
                return src.read(window=window)

        whole = read_bands(Recorded())
        part = read_bands(Recorded(), rasterio.windows.Window(0, 0, 8, 8))
        assert (whole[:, :8, :8] == part).all() and whole.shape[1:] == (src.height, src.width)
    assert seen == [WHOLE_READ_CACHE_BYTES, 1024 * MB] and cache() == 1024 * MB
