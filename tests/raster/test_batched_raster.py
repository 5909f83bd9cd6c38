"""The raster path as it runs on a GPU (checked on the CPU by asking for batches): the triplets of a
tile and consecutive tiles of one geometry go through the model together while a background
thread reads the next tiles (and the sink reads nodata masks from the same file) — the file equals
the one computed tile by tile."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import rasterio

from ldcsr_core import tiling
from ldcsr_core.geo import pipeline
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

PROCESS_TILES = tiling.process_tiles


@pytest.mark.parametrize("mode", ["fast", "diffusion"])
def test_batched_and_read_ahead_equals_tile_by_tile(rasters, tiny_model, tmp_path, monkeypatch, mode):
    src = rasters["uint16_nodata"]  # 4 bands (two triplets per tile), nodata: the sink reads masks
    monkeypatch.setattr(tiny_model, "tile_max", 64)  # several diffusion windows
    opts = UpscaleOptions(mode=mode, seed=5, tile=32 if mode == "fast" else None)
    sizes, threads = [], []

    def counted(*a, **k):
        sizes.append(len(a[2]))
        threads.extend(t.name for t in threading.enumerate())
        return PROCESS_TILES(*a, **k)

    monkeypatch.setattr(tiling, "process_tiles", counted)
    one = upscale_raster(src, tmp_path / "one.tif", model=tiny_model, scale=2.0, options=opts,
                         output=OutputOptions())
    assert max(sizes) == 1
    sizes.clear()
    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 4)  # as on a card
    monkeypatch.setattr(pipeline, "_on_card", lambda model: True)  # rows written by a thread of their own
    many = upscale_raster(src, tmp_path / "many.tif", model=tiny_model, scale=2.0, options=opts,
                          output=OutputOptions())
    assert max(sizes) > 1 and sum(sizes) == 2 * many.tiles == 2 * one.tiles > 2
    assert "ldcsr-read-ahead" in threads and "ldcsr-sink" in threads
    assert not [t for t in threading.enumerate() if t.name in ("ldcsr-read-ahead", "ldcsr-sink")]
    with rasterio.open(tmp_path / "one.tif") as a, rasterio.open(tmp_path / "many.tif") as b:
        x, y = a.read().astype(np.int64), b.read().astype(np.int64)
        assert a.nodata == b.nodata and ((x == a.nodata) == (y == b.nodata)).all()
        assert np.abs(x - y).max() <= 1  # uint16 rounding of float-rounding differences


def test_cancel_with_read_ahead_leaves_no_file_and_no_thread(rasters, tiny_model, tmp_path, monkeypatch):
    from ldcsr_core.errors import Cancelled
    from ldcsr_core.progress import polling

    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 2)
    monkeypatch.setattr(pipeline, "_on_card", lambda model: True)
    seen = []
    with pytest.raises(Cancelled):
        upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif", model=tiny_model, scale=2.0,
                       options=UpscaleOptions(mode="fast", tile=32), output=OutputOptions(),
                       callback=polling(lambda: len(seen) >= 2, lambda p: seen.append(p.done)))
    assert max(seen) <= 2 + 2  # within one batch
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name in ("ldcsr-read-ahead", "ldcsr-sink")]


def test_a_write_error_in_the_writing_thread_fails_the_run_and_leaves_nothing(rasters, tiny_model, tmp_path,
                                                                             monkeypatch):
    """On a card the rows are written by a thread of their own: a full disk there still fails the run
    with the write error, reports nothing written and leaves no file (nor the thread) behind."""
    import errno

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 2)
    monkeypatch.setattr(pipeline, "_on_card", lambda model: True)
    real, calls, where = GeoTiffWriter.write, [], []

    def full_disk(self, arr, window):
        calls.append(1)
        where.append(threading.current_thread().name)
        if len(calls) >= 2:  # what GDAL's write reports on a full disk, through the writer's guard
            def write(*a, **k):
                raise OSError(errno.ENOSPC, "No space left on device")
            return self._guard(write, arr, window=window)
        return real(self, arr, window)

    monkeypatch.setattr(GeoTiffWriter, "write", full_disk)
    with pytest.raises(RasterIOError) as err:
        upscale_raster(rasters["uint16_nodata"], tmp_path / "o.tif",
                       model=tiny_model, scale=4.0, options=UpscaleOptions(mode="fast", tile=32),
                       output=OutputOptions(block=64))
    assert err.value.errno == errno.ENOSPC and set(where) == {"ldcsr-sink"}
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name in ("ldcsr-read-ahead", "ldcsr-sink")]
