"""Single-band files saved together as the bands of one GeoTIFF (io._writer.write_geotiff_bands):
each band keeps its own file's values, and the one nodata value is theirs or refused."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from napari_ldcsr.io._reader import napari_get_reader
from napari_ldcsr.io._writer import write_geotiff_bands


def _band_file(path, data, *, nodata=None, scale=None, offset=None, unit=None, tags=None):
    """A one-band GeoTIFF at 10 m in EPSG:32633 (a Sentinel-2 band file)."""
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype=data.dtype.name, crs="EPSG:32633", transform=Affine(10, 0, 5e5, 0, -10, 4e6),
                       nodata=nodata) as dst:
        dst.write(data[np.newaxis])
        if scale is not None:
            dst.scales, dst.offsets, dst.units = (scale,), (offset,), (unit,)
        if tags:
            dst.update_tags(1, **tags)
    return str(path)


def _layers(*paths):
    """napari's layer data tuples of ``paths``, each file read on its own (as File ▸ Open does)."""
    return [ld for p in paths for ld in napari_get_reader(p)(p)]


def test_each_band_keeps_its_own_files_scale_offset_unit_and_tags(tmp_path):
    """B04.tif and B08.tif (reflectance = DN x 0.0001 - 0.1): before, the second band took its
    scale and offset from index 1 of its own one-band file's lists, found nothing, and was saved
    as raw DN (scale 1, offset 0, no unit, no WAVELENGTH)."""
    dn = np.random.default_rng(0).integers(1, 10000, (16, 20)).astype(np.uint16)
    files = [_band_file(tmp_path / f"{b}.tif", dn, nodata=0, scale=1e-4, offset=-0.1, unit="reflectance",
                        tags={"WAVELENGTH": w}) for b, w in (("B04", "665"), ("B08", "842"))]
    out = str(tmp_path / "stack.tif")
    write_geotiff_bands(out, _layers(*files))
    with rasterio.open(out) as dst:
        assert dst.scales == (1e-4, 1e-4) and dst.offsets == (-0.1, -0.1)
        assert dst.units == ("reflectance", "reflectance") and dst.descriptions == ("B04", "B08")
        assert [dst.tags(b)["WAVELENGTH"] for b in (1, 2)] == ["665", "842"]
        assert dst.nodata == 0


def test_nan_nodata_of_each_file_is_the_stacks_nodata(tmp_path):
    """Two float bands with nodata NaN: before, each file's NaN was a different value to the
    writer (NaN != NaN) and the stack was saved with no nodata, its holes read as data."""
    a = np.random.default_rng(1).random((16, 20)).astype(np.float32)
    a[:3] = np.nan
    files = [_band_file(tmp_path / f"{b}.tif", a, nodata=float("nan")) for b in ("B04", "B08")]
    out = str(tmp_path / "stack.tif")
    write_geotiff_bands(out, _layers(*files))
    with rasterio.open(out) as dst:
        assert dst.nodata is not None and np.isnan(dst.nodata)
        assert dst.read(masked=True).mask[:, :3].all() and not dst.read(masked=True).mask[:, 3:].any()


def test_layers_with_different_nodata_are_refused(tmp_path):
    """One GeoTIFF has one nodata value: 0 for one band and -9999 (or none) for another cannot be
    written without turning one band's data into nodata or its nodata into data. Before, the
    stack was saved with no nodata and said nothing."""
    dn = np.random.default_rng(2).integers(1, 100, (16, 20)).astype(np.int16)
    zero = _band_file(tmp_path / "B04.tif", dn, nodata=0)
    fill = _band_file(tmp_path / "B08.tif", dn, nodata=-9999)
    bare = _band_file(tmp_path / "B11.tif", dn)
    out = tmp_path / "stack.tif"
    with pytest.raises(ValueError, match=r"different nodata values \('B04' 0.0, 'B08' -9999.0\)"):
        write_geotiff_bands(str(out), _layers(zero, fill))
    with pytest.raises(ValueError, match=r"'B11' none\); .* save these layers one by one"):
        write_geotiff_bands(str(out), _layers(zero, bare))
    assert not out.exists()


def test_a_float_layer_without_nodata_beside_one_with_nan_is_saved_with_nan(tmp_path):
    """Both write NaN (a float band without nodata is written with NaN, the engine's output_nodata),
    so they share one nodata value. Before: refused, "different nodata values ('B04' nan, 'B08' none)"."""
    a = np.random.default_rng(3).random((16, 20)).astype(np.float32)
    a[:3] = np.nan
    nan = _band_file(tmp_path / "B04.tif", a, nodata=float("nan"))
    bare = _band_file(tmp_path / "B08.tif", a)
    out = str(tmp_path / "stack.tif")
    layers = _layers(nan, bare)
    assert np.isnan(layers[0][1]["metadata"]["nodata"]) and layers[1][1]["metadata"].get("nodata") is None
    write_geotiff_bands(out, layers)
    with rasterio.open(out) as dst:
        assert dst.dtypes == ("float32", "float32") and np.isnan(dst.nodata)
        read = dst.read(masked=True)
        assert read.mask[:, :3].all() and not read.mask[:, 3:].any()
        np.testing.assert_array_equal(read.data[:, 3:], np.stack([a[3:], a[3:]]))
    # an integer nodata beside a float layer without one is still refused (NaN is not 0)
    zero = _band_file(tmp_path / "B11.tif", np.ones((16, 20), np.int16), nodata=0)
    with pytest.raises(ValueError, match=r"different nodata values \('B08' nan, 'B11' 0.0\)"):
        write_geotiff_bands(str(tmp_path / "other.tif"), _layers(bare, zero))
