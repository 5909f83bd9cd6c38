"""Reader, writer and sample contributions (layer data tuples; no viewer needed)."""

import numpy as np
import pytest
import rasterio
from ldcsr_core.rules import output_shape
from rasterio.transform import Affine

from napari_ldcsr import _geometry as geo
from napari_ldcsr.io._reader import napari_get_reader
from napari_ldcsr.io._sample import neon_osbs_sample, sample_path
from napari_ldcsr.io._writer import write_geotiff


def _bounds_of(kwargs, shape):
    """Pixel-edge world bounds of a layer data tuple's placement."""
    if "affine" in kwargs:
        m = np.asarray(kwargs["affine"])
        f = lambda p: tuple((m @ np.array([p[0], p[1], 1.0]))[:2])  # noqa: E731
    else:
        s, t = np.asarray(kwargs["scale"]), np.asarray(kwargs["translate"])
        f = lambda p: tuple(s * np.asarray(p) + t)  # noqa: E731
    return geo.world_bounds(f, shape)


def test_sample_is_a_real_georeferenced_scene():
    (data, kwargs, kind), = neon_osbs_sample()
    assert kind == "image" and kwargs["rgb"] is True
    assert data.shape == (400, 400, 3) and data.dtype == np.uint8
    assert data.std() > 20  # a real photo, not a flat placeholder
    md = kwargs["metadata"]
    assert md["crs_name"] == "EPSG:32617" and md["units"] in ("metre", "meter")
    assert md["band_names"] == ["red", "green", "blue"] and md["nodata"] is None  # no collar: 255 is white
    assert "NEON" in md["credit"] and "MIT" in md["credit"]
    assert kwargs["scale"] == pytest.approx((0.1, 0.1))
    with rasterio.open(sample_path()) as src:
        left, bottom, right, top = src.bounds
    # world axes are (-northing, easting): the layer covers exactly the raster bounds
    np.testing.assert_allclose(_bounds_of(kwargs, data.shape[:2]), [[-top, left], [-bottom, right]], atol=1e-6)


def test_reader_claims_only_tiffs(tmp_path):
    assert napari_get_reader(str(tmp_path / "a.png")) is None
    assert napari_get_reader([str(tmp_path / "a.tif"), str(tmp_path / "b.jpg")]) is None
    assert callable(napari_get_reader(str(tmp_path / "a.TIFF")))


def test_single_band_float_with_nodata(tmp_path):
    path = tmp_path / "dem.tif"
    arr = np.arange(30 * 20, dtype=np.float32).reshape(30, 20)
    t = Affine(2.0, 0, 1000.0, 0, -2.0, 5000.0)
    with rasterio.open(path, "w", driver="GTiff", height=30, width=20, count=1, dtype="float32",
                       crs="EPSG:32633", transform=t, nodata=-9999.0) as dst:
        dst.write(arr, 1)
        dst.set_band_description(1, "elevation")
    arr_nan = arr.copy()
    (data, kwargs, kind), = napari_get_reader(str(path))(str(path))
    assert data.shape == (30, 20) and "rgb" not in kwargs
    np.testing.assert_array_equal(data, arr_nan)  # raw values, as the CLI reads them
    md = kwargs["metadata"]
    assert md["nodata"] == -9999.0 and md["band_names"] == ["elevation"]
    assert md["transform"] == pytest.approx(tuple(t)[:6])
    np.testing.assert_allclose(_bounds_of(kwargs, data.shape), [[-5000, 1000], [-4940, 1040]])


def test_plain_tiff_is_unscaled(tmp_path):
    path = tmp_path / "plain.tif"
    with rasterio.open(path, "w", driver="GTiff", height=8, width=9, count=3, dtype="uint8") as dst:
        dst.write(np.zeros((3, 8, 9), np.uint8))
    (data, kwargs, _), = napari_get_reader(str(path))(str(path))
    assert data.shape == (8, 9, 3) and kwargs["rgb"] is True
    assert "scale" not in kwargs and kwargs["metadata"]["crs"] is None


def test_writer_keeps_sr_georeferencing(tmp_path):
    """A ×2.5 result layer placed over the sample writes with pixel size 0.04 m and the same bounds."""
    (data, kwargs, _), = neon_osbs_sample()
    out_shape = output_shape(data.shape[:2], scale=2.5)
    scale_out, translate_out = geo.result_placement(kwargs["scale"], kwargs["translate"], data.shape[:2], out_shape)
    sr = np.zeros(out_shape + (3,), np.uint8)
    sr[..., 1] = 200
    md = dict(kwargs["metadata"], ldcsr={"scale": 2.5, "mode": "fast"})
    path = str(tmp_path / "sr.tif")
    meta = {"scale": scale_out, "translate": translate_out, "rgb": True, "metadata": md,
            "rotate": np.eye(2), "shear": [0.0], "affine": np.eye(3)}
    assert write_geotiff(path, sr, meta) == [path]
    with rasterio.open(path) as dst, rasterio.open(sample_path()) as src:
        assert dst.crs == src.crs and dst.count == 3 and (dst.height, dst.width) == (1000, 1000)
        assert dst.res == pytest.approx((0.04, 0.04))
        np.testing.assert_allclose(tuple(dst.bounds), tuple(src.bounds), atol=1e-6)
        assert dst.nodata is None and dst.descriptions == ("red", "green", "blue")
        assert '"scale": 2.5' in dst.tags()["LDCSR_PROVENANCE"]
        np.testing.assert_array_equal(dst.read(2), 200)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sr.tif"]  # written atomically: no leftovers
    # and it reads back onto the same world extent
    (back, kw2, _), = napari_get_reader(path)(path)
    np.testing.assert_allclose(_bounds_of(kw2, back.shape[:2]), _bounds_of(kwargs, data.shape[:2]), atol=1e-6)


def test_writer_rejects_stacks(tmp_path):
    with pytest.raises(ValueError, match="2-D or RGB"):
        write_geotiff(str(tmp_path / "x.tif"), np.zeros((2, 3, 4, 5)), {"metadata": {}})


def test_multiband_opens_one_layer_per_band(make_napari_viewer, tmp_path):
    path = tmp_path / "multi.tif"
    t = Affine(0.5, 0, 300.0, 0, -0.5, 900.0)
    with rasterio.open(path, "w", driver="GTiff", height=10, width=12, count=5, dtype="uint16",
                       crs="EPSG:32631", transform=t) as dst:
        dst.write(np.arange(5 * 10 * 12, dtype=np.uint16).reshape(5, 10, 12))
        dst.descriptions = ("blue", "green", "red", "nir", "swir")
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    assert [lyr.name for lyr in layers] == [f"multi [{b}]" for b in ("blue", "green", "red", "nir", "swir")]
    for i, lyr in enumerate(layers):
        assert lyr.metadata["band"] == i and lyr.metadata["band_names"][i] == lyr.name[7:-1]
        assert lyr.data.shape == (10, 12) and tuple(lyr.scale) == (0.5, 0.5)
        np.testing.assert_allclose(geo.world_bounds(lyr.data_to_world, (10, 12)), [[-900, 300], [-895, 306]])
        assert lyr.metadata["crs_name"] == "EPSG:32631"


def _truncated(tmp_path, tiled=True):
    path = tmp_path / "whole.tif"
    data = np.random.default_rng(0).integers(0, 256, (3, 256, 256)).astype(np.uint8)
    extra = dict(tiled=True, blockxsize=64, blockysize=64) if tiled else {}
    with rasterio.open(path, "w", driver="GTiff", height=256, width=256, count=3, dtype="uint8",
                       compress="deflate", **extra) as dst:
        dst.write(data)
    raw = path.read_bytes()
    cut = tmp_path / "trunc.tif"
    cut.write_bytes(raw[: len(raw) // 2])
    return cut


def test_reader_names_a_damaged_file(tmp_path):
    """Issue 20: a GeoTIFF cut at half its length is reported by name, in plain words, eagerly
    and through the lazy reader (whose reads happen as napari draws)."""
    from ldcsr_core.errors import RasterIOError

    from napari_ldcsr.io._lazy import lazy_layer_data

    cut = _truncated(tmp_path)
    with pytest.raises(RasterIOError, match=r"trunc\.tif is truncated or damaged: GDAL could not read tile"):
        napari_get_reader(str(cut))(str(cut))
    (levels, _, _), = lazy_layer_data(cut)
    with pytest.raises(RasterIOError, match=r"trunc\.tif is truncated or damaged"):
        np.asarray(levels[0][:, :])


def test_writer_reports_a_failed_write_and_leaves_nothing(tmp_path):
    """Issue 20: saving a layer past the file size limit (``ulimit -f``, set in a child process)
    ends in one error naming the file and the cause, with nothing at the path and no part file."""
    import subprocess
    import sys

    code = (
        "import resource, numpy as np\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))\n"
        "from napari_ldcsr.io._writer import write_geotiff\n"
        "data = np.random.default_rng(0).integers(0, 256, (512, 512, 3)).astype(np.uint8)\n"
        "try:\n"
        f"    write_geotiff({str(tmp_path / 'saved.tif')!r}, data, {{'rgb': True}})\n"
        "except OSError as e:\n"
        "    print('ERROR', e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ERROR cannot write" in r.stdout and "saved.tif" in r.stdout and "file size limit" in r.stdout, r.stdout
    assert list(tmp_path.iterdir()) == []
