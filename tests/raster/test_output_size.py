"""The size a write is said to need, and the free-space refusal made of it, for a compressed output."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin

from ldcsr_core.geo.arrays import GeoArray
from ldcsr_core.geo.raster_io import write_raster


def test_a_compressed_output_that_fits_is_not_refused_for_its_tiles_padding(tmp_path, monkeypatch, caplog):
    """A deflated 520 x 2000 output in 512-px tiles (two rows of blocks: padded to 1024 x 2048, twice its
    pixels) written where 1.2 MB is free: the refusal 'even at 4:1 compression' counts its pixels, not the
    padding, which compression all but removes (the file is a few kB). Before (32671a6): 'not enough
    space ... needs about 6.0 MB uncompressed (at least 1.5 MB even at 4:1 compression)', exit 5 for the
    CLI, of a file that fits; an uncompressed output still counts its padding (what it writes)."""
    from ldcsr_core.geo import geotiff_writer

    free = 1_200_000
    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: free)
    geo = GeoArray(np.full((3, 520, 2000), 7, np.uint8), from_origin(600000, 5340000, 10, 10), "EPSG:32633")
    out = write_raster(tmp_path / "o.tif", geo)
    with rasterio.open(out) as ds:
        assert ds.block_shapes[0] == (512, 512) and ds.compression is not None and ds.read(1)[-1, -1] == 7
    assert out.stat().st_size < free
    assert "needs about 3.0 MiB uncompressed" in caplog.text  # its pixels: 520 x 2000 x 3
    profile = dict(height=520, width=2000, count=3, dtype="uint8", tiled=True, blockxsize=512, blockysize=512)
    assert geotiff_writer.output_nbytes(profile) == 1024 * 2048 * 3  # uncompressed: the padded tiles written
    assert geotiff_writer.output_nbytes(dict(profile, compress="deflate")) == 520 * 2000 * 3
