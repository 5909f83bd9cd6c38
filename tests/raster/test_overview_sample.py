"""The stretch sample of a file with overviews (``raster_io.decimated_read``): read from them where they
left the nodata read with out, else from full resolution, as a file without overviews."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling

from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window
from ldcsr_core.geo.raster_io import decimated_read, open_raster
from ldcsr_core.geo.scene_io import SceneReader

from .conftest import write_tif

SIDE = 1008  # 1 016 064 pixels: over the sample's million, so it is decimated (every 2nd pixel)


def scene() -> np.ndarray:
    """int16 100…499 with -9999 borders and holes on odd edges: a block of 2 straddles each edge."""
    a = (100 + np.random.default_rng(3).integers(0, 400, (1, SIDE, SIDE))).astype("int16")
    a[:, :, :337] = -9999
    for y, x in ((101, 501), (333, 777), (701, 601)):
        a[:, y:y + 61, x:x + 61] = -9999
    return a


def with_overviews(path, a, built_with, resampling=Resampling.average, declared=-9999):
    """``a`` written with ``built_with`` as nodata, overviews ×2 ×4 built, then ``declared`` set."""
    write_tif(path, a, dtype="int16", nodata=built_with)
    with rasterio.open(path, "r+") as ds:
        ds.build_overviews([2, 4], resampling)
        if declared != built_with:
            ds.nodata = declared
    return path


def overview(path, level=0) -> np.ndarray:
    with rasterio.open(path, overview_level=level) as ovr:
        return ovr.read()


@pytest.mark.parametrize("built_with", [None, 0])
def test_overviews_averaged_before_the_nodata_was_declared_are_not_sampled(tmp_path, tiny_model, built_with):
    """Overviews averaged while the file declared no nodata (or 0), -9999 set after (rasterio's
    build_overviews, then the nodata; gdaladdo, then gdal_edit -a_nodata): the stretch and fill are
    fitted on the full resolution's pixels, as for the same file without overviews, so the outputs are
    that file's. Before: the sample took the overview's pixels beside the nodata (-9999 averaged into
    100s: -2425 …) as data, and the percentile stretch's low end went down to them (-4 800 for 100)."""
    a = scene()
    late = with_overviews(tmp_path / "late.tif", a, built_with)
    two = overview(late)
    assert ((two > -9999) & (two < 100)).any()  # the overview mixed the nodata into the data
    plain = write_tif(tmp_path / "plain.tif", a, dtype="int16", nodata=-9999)
    readers = [SceneReader(open_raster(p), stretch="percentile") for p in (late, plain)]
    assert readers[0].stretch == readers[1].stretch and readers[0].fill == readers[1].fill
    assert readers[0].stretch.lo[0] >= 100
    opts = UpscaleOptions(mode="fast", stretch="percentile")
    late_out, plain_out = (upscale_window(p, model=tiny_model, scale=2, window=(96, 480, 40, 48), options=opts)
                           for p in (late, plain))
    np.testing.assert_array_equal(late_out.data, plain_out.data)
    assert late_out.tags["LDCSR_STRETCH"] == plain_out.tags["LDCSR_STRETCH"]


def test_the_users_nodata_skips_overviews_that_mixed_it_in(tmp_path):
    """A file that declares no nodata, its overviews averaged so, read with the user's nodata (--nodata
    -9999, QGIS's layer nodata): its sample is the full resolution's, as without overviews; with the
    nodata the overviews left out (a file built with -9999, --nodata -9999) they are sampled."""
    a = scene()
    none = with_overviews(tmp_path / "none.tif", a, None, declared=None)
    plain = write_tif(tmp_path / "plain.tif", a, dtype="int16")
    sample = decimated_read(open_raster(none, nodata=-9999))[0]
    np.testing.assert_array_equal(sample, decimated_read(open_raster(plain, nodata=-9999))[0])
    good = with_overviews(tmp_path / "good.tif", a, -9999)
    np.testing.assert_array_equal(decimated_read(open_raster(good, nodata=-9999))[0], overview(good))
    # ... but not with another value: the overviews averaged 0 in, were it there
    np.testing.assert_array_equal(decimated_read(open_raster(good, nodata=0))[0],
                                  decimated_read(open_raster(plain, nodata=0))[0])


@pytest.mark.parametrize("built_with,resampling", [(-9999, Resampling.average), (None, Resampling.nearest)])
def test_overviews_that_left_the_nodata_out_are_sampled(tmp_path, built_with, resampling):
    """Overviews averaged with the file's nodata set, or picked by nearest (pixels copied, GDAL's
    RESAMPLING tag) whatever was declared: the sample is read from them, as before (fast: no pass over
    the full resolution)."""
    path = with_overviews(tmp_path / "ok.tif", scene(), built_with, resampling)
    sample, mask, step = decimated_read(open_raster(path))
    assert step == 2 and mask is None
    np.testing.assert_array_equal(sample, overview(path))


def vrt_of(path, vrt):
    """A ``.vrt`` reading ``path`` (band 1, as gdal_translate -of VRT or gdalbuildvrt write it), -9999 its nodata."""
    with rasterio.open(path) as ds:
        gt = ", ".join(repr(v) for v in ds.transform.to_gdal())
        h, w, crs = ds.height, ds.width, ds.crs.to_wkt()
    vrt.write_text(f"""<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><SRS>{crs}</SRS><GeoTransform>{gt}</GeoTransform>
  <VRTRasterBand dataType="Int16" band="1"><NoDataValue>-9999</NoDataValue>
    <SimpleSource><SourceFilename relativeToVRT="1">{path.name}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand></VRTDataset>""")
    return vrt


def test_a_vrt_over_overviews_that_mixed_the_nodata_in_is_sampled_at_full_resolution(tmp_path):
    """A VRT of a file whose overviews were averaged before -9999 was declared: GDAL's overviews of the
    VRT are the file's, each declaring the VRT's -9999, so they are asked through the VRT's source;
    the sample is the full resolution's, as for a VRT of the file without overviews. Before: the VRT's
    overviews looked as if they left -9999 out and the sample took the mixed pixels (-2425 …) as data.
    A VRT of a file whose overviews left -9999 out still samples them."""
    a = scene()
    late = with_overviews(tmp_path / "late.tif", a, None)
    plain = write_tif(tmp_path / "plain.tif", a, dtype="int16", nodata=-9999)
    sample = decimated_read(open_raster(vrt_of(late, tmp_path / "late.vrt")))[0]
    assert not ((sample > -9999) & (sample < 100)).any()
    np.testing.assert_array_equal(sample, decimated_read(open_raster(vrt_of(plain, tmp_path / "plain.vrt")))[0])
    good = with_overviews(tmp_path / "good.tif", a, -9999)
    np.testing.assert_array_equal(decimated_read(open_raster(vrt_of(good, tmp_path / "good.vrt")))[0],
                                  overview(good))


class _Counting:
    """An open dataset whose reads count the rows they decompress."""

    def __init__(self, ds):
        self.ds, self.rows = ds, 0

    def __getattr__(self, name):
        return getattr(self.ds, name)

    def read(self, *args, window=None, **kw):
        self.rows += self.ds.height if window is None else int(window.height)
        return self.ds.read(*args, window=window, **kw)


@pytest.mark.parametrize("strip", [1, 3, 16])
def test_a_file_in_strips_shorter_than_the_step_reads_those_of_the_sampled_rows(tmp_path, strip):
    """A file in strips (GDAL's default GeoTIFF: 8 KB strips) whose overviews mixed in the nodata read with
    (here a --nodata of several values): the sample is full resolution's pixels on sample_grid, read from
    the strips that hold a sampled row alone (a 20000² uint16 deflate file in one-row strips: 0.73 s
    against 8.7 s). Before: every strip was decompressed."""
    from ldcsr_core.geo.stretch import sample_grid

    a = scene()
    path = tmp_path / "strips.tif"
    with rasterio.open(path, "w", driver="GTiff", width=SIDE, height=SIDE, count=1, dtype="int16", nodata=-9999,
                       blockysize=strip, compress="deflate") as ds:
        ds.write(a)
        ds.build_overviews([2, 4, 8], Resampling.average)
    src = _Counting(open_raster(path, nodata=(-9999.0, 0.0)))
    sample, mask, step = decimated_read(src, max_pixels=2_000)
    rows, cols, step_ = sample_grid(SIDE, SIDE, 2_000)
    assert step == step_ > strip and mask is None
    np.testing.assert_array_equal(sample, a[:, rows][:, :, cols])
    assert src.rows <= len(rows) * strip < SIDE
