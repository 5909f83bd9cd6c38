"""A 64-bit GeoTIFF whose nodata float64 cannot hold, read as 32-bit bands
(``geo.wide_nodata.read_narrowed``, napari's reader) a strip of rows at a time: the same bands,
refusals and metadata as read whole, in about the result's memory plus one strip."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import rasterio
import rasterio.shutil

from ldcsr_core.errors import InputError
from ldcsr_core.geo import wide_nodata
from ldcsr_core.geo.wide_nodata import read_narrowed

from .conftest import exact_nodata_vrt

FILL = 2**64 - 1


def _scene(tmp_path, data):
    """``data`` (uint64 bands) as a GeoTIFF declaring nodata 2^64 - 1 exactly (copied from a VRT:
    rasterio's writer takes no such nodata)."""
    rasterio.shutil.copy(exact_nodata_vrt(tmp_path, data, FILL), tmp_path / "w.tif", driver="GTiff")
    return tmp_path / "w.tif"


def _data(h=400, w=400):
    data = np.random.default_rng(3).integers(0, 2**32 - 1, (3, h, w), dtype=np.uint64)
    data[:, :7] = FILL
    data[1, 100:150, 30:90] = FILL  # one band's own nodata
    return data


def test_read_a_strip_at_a_time_gives_the_same_bands_in_the_results_memory(tmp_path, monkeypatch):
    """Before: the 64-bit bands were read whole, then copied (valid values, np.where, astype): a
    peak of ~3.5 times the 64-bit data (a 2000x2000 3-band file: 332 MiB for a 46 MiB result).
    Now strips of 20 rows here: the result and one strip."""
    data = _data()
    path = _scene(tmp_path, data)
    monkeypatch.setattr(wide_nodata, "BLOCK_BYTES", 8 * 3 * 400 * 20, raising=False)
    tracemalloc.start()
    try:
        geo, georef, note = read_narrowed(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    want = np.where(data == FILL, np.uint64(4294967295), data).astype(np.uint32)
    assert geo.data.dtype == np.uint32 and np.array_equal(geo.data, want)
    assert geo.nodata == 4294967295.0 and georef == "transform" and geo.crs == "EPSG:32633"
    assert "opened as UInt32 bands with nodata 4294967295" in note
    # the result and about two strips (384 kB); was the 64-bit data ~3.5 times (14.3 MB for 1.9 MB)
    assert peak < geo.data.nbytes + data.nbytes, (peak, geo.data.nbytes)


@pytest.mark.parametrize("where, value, says", [((2, 399, 399), 2**40, r"its values \(\d+\.\.1099511627776\) do not fit"),
                                                ((0, 200, 5), 4294967295, r"its values \(\d+\.\.4294967295\) do not fit")])
def test_a_value_in_a_later_strip_that_does_not_fit_is_refused(tmp_path, monkeypatch, where, value, says):
    """A valid value beyond UInt32, or its new nodata value, in any strip: refused as read whole."""
    data = _data()
    data[where] = value
    monkeypatch.setattr(wide_nodata, "BLOCK_BYTES", 8 * 3 * 400 * 20, raising=False)
    with pytest.raises(InputError, match=r"w.tif: its nodata 18446744073709551615 \(uint64 bands\) cannot be read .*"
                                         + says + " in UInt32 bands with nodata 4294967295"):
        read_narrowed(_scene(tmp_path, data))
