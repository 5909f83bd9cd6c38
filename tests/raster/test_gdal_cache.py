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


@pytest.mark.parametrize("layout", ["striped", "tiled", "striped-deflate", "tiled-deflate", "one-strip"])
def test_a_whole_read_keeps_no_blocks_and_leaves_the_cache_alone(cache, tmp_path, layout):
    """A GeoTIFF read whole (read_bands: read_raster of a whole file, napari's eager reader) keeps none of its
    blocks in GDAL's block cache and leaves the cache as it is: its bound, and the blocks another dataset
    keeps there (a lazy layer's, panned back to without decoding them again). Before, the read lowered the
    process's bound to 1 MB while it read (and before 2026-12-07 kept every block it decoded, a copy of the
    file next to its pixels): every other dataset's blocks were dropped, a lazy layer's, a Run's streaming
    its output, QGIS's layers' in the same process. The pixels are the file's."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    from ldcsr_core.geo.gdal_cache import gdal_cache_used, read_bands

    if gdal_cache_used() is None:
        pytest.skip("rasterio's libgdal is not a shared library of this process")
    rgb = np.random.default_rng(4).integers(0, 256, (3, 600, 700), dtype=np.uint8)
    rgb[:, :, ::3] = 7  # something for deflate to do
    kw = {"tiled": True, "blockxsize": 128, "blockysize": 128} if layout.startswith("tiled") else {}
    kw.update(compress="deflate") if layout.endswith("deflate") else None
    kw.update(blockysize=600) if layout == "one-strip" else None
    path, lazy = tmp_path / f"{layout}.tif", tmp_path / "lazy.tif"
    for p, extra in ((path, kw), (lazy, {"tiled": True, "blockxsize": 256, "blockysize": 256})):
        with rasterio.open(p, "w", driver="GTiff", height=600, width=700, count=3, dtype="uint8", **extra) as dst:
            dst.write(rgb)
    with rasterio.open(lazy) as lz:
        window = Window(0, 0, 512, 512)
        before = gdal_cache_used()
        lz.read(window=window)
        kept = gdal_cache_used()
        assert kept - before >= 4 * 256 * 256 * 3  # the lazy dataset's 4 blocks (and their headers)
        with rasterio.open(path) as src:
            whole = read_bands(src)
            after = gdal_cache_used()
        assert np.array_equal(whole, rgb)
        assert cache() == 1024 * MB
        assert after == kept, (after - kept) / rgb.nbytes  # none of its blocks; the lazy dataset's kept
        lz.read(window=window)
        assert gdal_cache_used() == after  # its blocks were there: none decoded again


def test_a_process_forked_after_a_whole_read_reads_whole_too(tmp_path):
    """GDAL's pool of threads that decodes a GeoTIFF read whole is not in a process forked after it started
    (a multiprocessing or DataLoader worker started by fork): a whole read there would wait for ever for
    threads that are not there. The fork reads it the cache's way, with the same pixels."""
    import os
    import signal

    import numpy as np
    import rasterio

    from ldcsr_core.geo.gdal_cache import read_bands

    rgb = np.random.default_rng(8).integers(0, 256, (3, 300, 400), dtype=np.uint8)
    path = tmp_path / "tiled.tif"
    with rasterio.open(path, "w", driver="GTiff", height=300, width=400, count=3, dtype="uint8", tiled=True,
                       blockxsize=128, blockysize=128, compress="deflate") as dst:
        dst.write(rgb)
    with rasterio.open(path) as src:
        assert np.array_equal(read_bands(src), rgb)  # GDAL's pool started here
    pid = os.fork()
    if pid == 0:  # the fork: 0 if it read the file's pixels, 1 if not, killed by the alarm if it waited
        signal.alarm(60)
        try:
            with rasterio.open(path) as src:
                os._exit(0 if np.array_equal(read_bands(src), rgb) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
