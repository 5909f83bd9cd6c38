"""Reader, writer and sample contributions (layer data tuples; no viewer needed)."""

import numpy as np
import pytest
import rasterio
from ldcsr_core.rules import output_shape
from rasterio.transform import Affine

from napari_ldcsr import _geometry as geo
from napari_ldcsr.io._reader import napari_get_reader, read_geotiff
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


def test_reader_claims_the_rasters_the_engine_reads(tmp_path):
    """Named as ldcsr upscale reads a folder's (test_raster_formats.py: VRT, .img, files it declines)."""
    tif = _geotiff(tmp_path / "a.TIFF", np.ones((1, 8, 8), np.uint8))
    assert callable(napari_get_reader(str(tif)))
    assert napari_get_reader(str(tmp_path / "a.npy")) is None


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


def test_a_rotated_grid_has_its_pixel_size_along_its_edges(tmp_path):
    """The form turns a typed output pixel size into a scale by metadata['pixel_size']: on a grid
    rotated by 30° it was |e|, |a| (17.3 and 8.7 m for 20 × 10 m pixels: a typed size gave a scale off by
    13 %), and 0 at 90°."""
    for angle in (30.0, 90.0):
        path = tmp_path / f"rot{angle:g}.tif"
        t = Affine.translation(600000.0, 5340000.0) * Affine.rotation(angle) * Affine.scale(10.0, -20.0)
        with rasterio.open(path, "w", driver="GTiff", height=8, width=6, count=1, dtype="uint16",
                           crs="EPSG:32633", transform=t) as dst:
            dst.write(np.ones((1, 8, 6), np.uint16))
        (_, kwargs, _), = napari_get_reader(str(path))(str(path))
        assert kwargs["metadata"]["pixel_size"] == pytest.approx((20.0, 10.0)), angle  # (rows, cols)


def test_plain_tiff_is_unscaled(tmp_path):
    path = tmp_path / "plain.tif"
    with rasterio.open(path, "w", driver="GTiff", height=8, width=9, count=3, dtype="uint8") as dst:
        dst.write(np.zeros((3, 8, 9), np.uint8))
    (data, kwargs, _), = napari_get_reader(str(path))(str(path))
    assert data.shape == (8, 9, 3) and kwargs["rgb"] is True
    assert "scale" not in kwargs and kwargs["metadata"]["crs"] is None


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_a_tiff_with_a_crs_but_no_geotransform_opens_upright_without_a_pixel_size(tmp_path, lazy):
    """``gdal_translate -a_srs`` of a photo: a CRS, no geotransform (GDAL's identity). Before: it was
    taken as placed by the identity (south-up: y grows downwards) and opened upside down, with a
    1 m pixel size the form turned a typed output pixel size into a scale with."""
    from napari_ldcsr.io._lazy import lazy_layer_data

    path = tmp_path / "photo.tif"
    with rasterio.open(path, "w", driver="GTiff", height=8, width=9, count=3, dtype="uint8",
                       crs="EPSG:32633") as dst:
        dst.write(np.zeros((3, 8, 9), np.uint8))
    (data, kwargs, _), = (lazy_layer_data if lazy else napari_get_reader(str(path)))(str(path))
    assert "scale" not in kwargs and "affine" not in kwargs  # shown as a plain picture, upright
    md = kwargs["metadata"]
    assert md["crs_name"] == "EPSG:32633" and md["transform"] is None and md["pixel_size"] is None
    # saved, it and a x2 result of it (placed over it in the viewer) get the CRS and no geotransform,
    # as `ldcsr upscale` writes (before, the result: a made-up one, 0.5 m pixels from (0, 0) in UTM)
    for k, shape in ((1, (8, 9, 3)), (2, (16, 18, 3))):
        meta = {"name": "x", "rgb": True, "metadata": md, "scale": (1 / k, 1 / k),
                "translate": (0.5 / k - 0.5, 0.5 / k - 0.5)}
        write_geotiff(str(tmp_path / f"x{k}.tif"), np.zeros(shape, np.uint8), meta)
        with rasterio.open(tmp_path / f"x{k}.tif") as ds:
            assert ds.crs == "EPSG:32633" and ds.transform.is_identity, ds.transform


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
    # the tile's number where GDAL's error says it (rasterio >= 1.4), else the block's place (GDAL 3.5)
    with pytest.raises(RasterIOError, match=r"trunc\.tif is truncated or damaged: GDAL could not read (tile|block)"):
        napari_get_reader(str(cut))(str(cut))
    (levels, _, _), = lazy_layer_data(cut)
    with pytest.raises(RasterIOError, match=r"trunc\.tif is truncated or damaged"):
        np.asarray(levels[0][:, :])


def test_writer_reports_a_failed_write_and_leaves_nothing(tmp_path):
    """Issue 20: saving a layer past the file size limit (``ulimit -f``, set in a child process)
    ends in one error naming the file and the cause, with nothing at the path and no part file;
    the folders the save made for it are removed too (before, they were left behind, empty)."""
    import subprocess
    import sys

    code = (
        "import resource, numpy as np\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))\n"
        "from napari_ldcsr.io._writer import write_geotiff\n"
        "data = np.random.default_rng(0).integers(0, 256, (512, 512, 3)).astype(np.uint8)\n"
        "try:\n"
        f"    write_geotiff({str(tmp_path / 'new' / 'sub' / 'saved.tif')!r}, data, {{'rgb': True}})\n"
        "except OSError as e:\n"
        "    print('ERROR', e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ERROR cannot write" in r.stdout and "saved.tif" in r.stdout and "file size limit" in r.stdout, r.stdout
    assert list(tmp_path.iterdir()) == []


def _geotiff(path, data, **kw):
    """Write ``(bands, H, W)`` as a GeoTIFF at 0.5 m in EPSG:32617."""
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=data.shape[0],
                       dtype=data.dtype.name, crs="EPSG:32617", transform=Affine(0.5, 0, 4e5, 0, -0.5, 33e5),
                       **kw) as dst:
        dst.write(data)
    return path


def test_lazy_layer_saves_at_full_resolution_block_by_block(make_napari_viewer, tmp_path, monkeypatch):
    """A lazily opened (multiscale) layer is saved from its full-resolution level, read a block of
    rows at a time: napari hands the writer a ``MultiScaleData``, whose array is the coarsest level."""
    from napari.plugins.io import save_layers

    from napari_ldcsr.io import _lazy, _writer

    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 64 * 64)
    monkeypatch.setattr(_lazy, "TOP_LEVEL_SIDE", 160)
    monkeypatch.setattr(_writer, "BLOCK_BYTES", 150 * 64 * 3)  # 150 rows: blocks of 2 × 64-row tiles
    yy, xx = np.mgrid[0:300, 0:64]
    rgb = np.stack([(yy * 7 + xx * 3) % 251, (xx * 2) % 255, (yy * 5) % 241]).astype(np.uint8)
    src = _geotiff(tmp_path / "ortho.tif", rgb, photometric="RGB")
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert layer.multiscale and len(layer.data) == 2
    reads = _lazy.window_reader(layer.data[0]).reads
    reads.clear()
    out = tmp_path / "saved.tif"
    assert save_layers(str(out), [layer], plugin="napari-ldcsr") == [str(out)]
    with rasterio.open(out) as dst, rasterio.open(src) as ref:
        assert (dst.width, dst.height) == (64, 300) and dst.res == (0.5, 0.5)
        assert dst.transform == ref.transform and dst.crs == ref.crs
        np.testing.assert_array_equal(dst.read(), rgb)
    assert [r[3] for r in reads] == [1, 128, 128, 44]  # the head row, then blocks of whole output tiles


def test_saving_over_an_open_layers_file_is_refused(make_napari_viewer, tmp_path):
    """The source file of an open layer (another layer's, or the saved layer's own) is never
    replaced: a band layer over its 4-band file, a layer over the file a lazy layer reads."""
    from ldcsr_core.errors import OutputExistsError
    from napari.plugins.io import save_layers

    bands = _geotiff(tmp_path / "ms.tif", np.arange(4 * 20 * 24, dtype=np.int16).reshape(4, 20, 24))
    grey = _geotiff(tmp_path / "grey.tif", np.full((1, 20, 24), 7, np.uint8))
    before = {p: p.read_bytes() for p in (bands, grey)}
    viewer = make_napari_viewer()
    band_layers = viewer.open(str(bands), plugin="napari-ldcsr")
    (grey_layer,) = viewer.open(str(grey), plugin="napari-ldcsr")
    with pytest.raises(OutputExistsError, match=r"ms\.tif is the source file of the open layer 'ms \[band 2\]'"):
        save_layers(str(bands), [band_layers[1]], plugin="napari-ldcsr")
    with pytest.raises(OutputExistsError, match="source file of the open layer 'ms"):
        save_layers(str(tmp_path / "." / "ms.tif"), [grey_layer], plugin="napari-ldcsr")
    viewer.layers.clear()  # the saved layer's own file, even when no viewer shows it any more
    with pytest.raises(OutputExistsError, match="source file of the open layer 'grey'"):
        write_geotiff(str(grey), np.zeros((20, 24), np.uint8), grey_layer.as_layer_data_tuple()[1])
    assert {p: p.read_bytes() for p in (bands, grey)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grey.tif", "ms.tif"]


def test_float64_layer_saves_as_float64(tmp_path):
    """float64 pixels and a float64 nodata (here -DBL_MAX, outside float32's range) are kept."""
    dem = 1000 + np.random.default_rng(0).random((1, 20, 24)) * np.pi
    dem[0, 0, :3] = -np.finfo(np.float64).max
    src = _geotiff(tmp_path / "dem.tif", dem, nodata=-np.finfo(np.float64).max)
    (data, kwargs, _), = napari_get_reader(str(src))(str(src))
    out = str(tmp_path / "saved.tif")
    write_geotiff(out, data, kwargs)
    with rasterio.open(out) as dst:
        assert dst.dtypes == ("float64",) and dst.nodata == -np.finfo(np.float64).max
        np.testing.assert_array_equal(dst.read(), dem)


def test_a_4th_band_is_alpha_only_when_the_file_says_so(make_napari_viewer, tmp_path):
    """A NAIP-like uint8 R, G, B, NIR file (4th band 'undefined') opens as one layer per band, and
    a band layer saves as that band; a file whose 4th band is alpha still opens as RGBA."""
    from napari.plugins.io import save_layers
    from rasterio.enums import ColorInterp as CI

    data = np.random.default_rng(0).integers(0, 255, (4, 20, 24), dtype=np.uint8)
    naip = _geotiff(tmp_path / "naip.tif", data, photometric="MINISBLACK")
    rgba = _geotiff(tmp_path / "rgba.tif", data, photometric="RGB", alpha="YES")
    with rasterio.open(naip, "r+") as dst:
        dst.colorinterp = [CI.red, CI.green, CI.blue, CI.undefined]
        dst.descriptions = ("red", "green", "blue", "nir")
    viewer = make_napari_viewer()
    layers = viewer.open(str(naip), plugin="napari-ldcsr")
    assert [(lyr.name, lyr.rgb) for lyr in layers] == [(f"naip [{b}]", False) for b in ("red", "green", "blue", "nir")]
    out = tmp_path / "nir.tif"
    save_layers(str(out), [layers[3]], plugin="napari-ldcsr")
    with rasterio.open(out) as dst:
        assert dst.count == 1 and dst.descriptions == ("nir",) and "alpha" not in [c.name for c in dst.colorinterp]
        np.testing.assert_array_equal(dst.read(1), data[3])
    (layer,) = viewer.open(str(rgba), plugin="napari-ldcsr")
    assert layer.rgb and layer.data.shape == (20, 24, 4)


def test_bad_files_are_reported_in_one_line_and_the_others_open(make_napari_viewer, tmp_path, notes, monkeypatch):
    """``python -m napari_ldcsr FILE...``: a missing, empty, non-raster or truncated file is one
    line each (the engine's words, not GDAL's) and the viewer still opens the good ones."""
    from ldcsr_core.errors import RasterIOError

    from napari_ldcsr.__main__ import setup_viewer

    empty, junk = tmp_path / "empty.tif", tmp_path / "junk.tif"
    empty.write_bytes(b"")
    junk.write_text("hello")
    good = _geotiff(tmp_path / "good.tif", np.ones((1, 8, 8), np.uint8))
    assert napari_get_reader(str(empty)) is None  # File ▸ Open: declined, napari tries its other readers
    with pytest.raises(RasterIOError, match=r"^input is an empty file \(0 bytes\): .*empty\.tif$"):
        read_geotiff(str(empty))  # picked by name (the reader as the manifest names it)
    viewer = make_napari_viewer()
    monkeypatch.setattr(viewer.window, "add_plugin_dock_widget", lambda *a: (None, "widget"))
    paths = [str(p) for p in (tmp_path / "missing.tif", empty, junk, _truncated(tmp_path), good)]
    assert setup_viewer(viewer, sample=False, paths=paths) == "widget"
    assert [lyr.name for lyr in viewer.layers] == ["good"]
    errors = [text for sev, text in notes if sev == "error"]
    assert [e.split(":")[0] for e in errors] == [f"cannot open {p}" for p in paths[:4]]
    assert "input is an empty file (0 bytes)" in errors[1] and "not a raster" in errors[2]
    assert "trunc.tif" in errors[3] and all("\n" not in e for e in errors)


def test_a_save_under_a_file_used_as_a_folder_is_said_in_words(tmp_path):
    """``scene.tif/x.tif`` (a typo, a path pasted into viewer.layers.save): the writer makes
    missing folders, and os.makedirs said "[Errno 20] Not a directory: '.../scene.tif/sub'"."""
    from ldcsr_core.errors import RasterIOError

    scene = tmp_path / "scene.tif"
    scene.write_bytes(b"an image")
    meta = {"name": "x", "metadata": {"crs": "EPSG:32633"}, "scale": (1.0, 1.0), "translate": (0.0, 0.0)}
    with pytest.raises(RasterIOError, match=f"cannot save in {scene}/sub: {scene} is a file, not a folder$"):
        write_geotiff(str(scene / "sub" / "x.tif"), np.zeros((8, 8), np.uint8), meta)
    assert scene.read_bytes() == b"an image" and [p.name for p in tmp_path.iterdir()] == ["scene.tif"]


def test_a_file_ldcsr_made_says_so_when_opened(tmp_path, notes, tiny_model):
    """Before: an LDCSR output opened in napari looked like any raster (its AI-generated notice only
    in the layer's metadata). Now opening it warns with what its tags say; other files do not."""
    import rasterio

    from ldcsr_core.geo.pipeline import upscale_raster
    from ldcsr_core.geo.job import UpscaleOptions
    from napari_ldcsr.io._reader import read_geotiff

    src = tmp_path / "scene.tif"
    data = (np.random.default_rng(0).random((3, 24, 24)) * 255).astype(np.uint8)
    with rasterio.open(src, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint8") as d:
        d.write(data)
    upscale_raster(src, tmp_path / "sr.tif", model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
    read_geotiff(str(src))
    assert not [t for _, t in notes if "LDCSR" in t]
    (layer,) = read_geotiff(str(tmp_path / "sr.tif"))
    said = [(s, t) for s, t in notes if "LDCSR" in t]
    assert said == [("warning", "sr.tif: " + layer[1]["metadata"]["tags"]["LDCSR_NOTICE"]
                     + " (model unnamed 0, ×2 x, ×2 y, fast, from scene.tif)")], notes
    assert said[0][1].startswith("sr.tif: AI-generated: the pixels of this image were synthesised")


def test_a_tiff_of_several_pages_says_its_first_alone_is_opened(tmp_path, notes):
    """Before: the first page opened, the others left out without a word."""
    from napari_ldcsr.io._reader import read_geotiff

    src = tmp_path / "stack.tif"
    for k in range(2):
        with rasterio.open(src, "w", driver="GTiff", width=9, height=8, count=1, dtype="uint8",
                           **({"APPEND_SUBDATASET": "YES"} if k else {})) as ds:
            ds.write(np.full((1, 8, 9), k, np.uint8))
    ((data, _, _),) = read_geotiff(str(src))
    assert data.shape == (8, 9) and not data.any()
    said = [t for s, t in notes if s == "warning"]
    assert said == [f"stack.tif holds 2 images (TIFF pages): only the first is opened; for another, convert "
                    f"it first, e.g. gdal_translate 'GTIFF_DIR:2:{src}' page2.tif"], notes


@pytest.mark.viewer_hidden
def test_a_run_on_an_opened_ldcsr_output_records_the_first_step(ldcsr, qtbot, tiny_model, tmp_path):
    """A Run on a layer read from an LDCSR output records what that file was in its result's
    LDCSR_INPUT_PROVENANCE, as ``ldcsr upscale`` does (before: only the last step was recorded)."""
    from ldcsr_core.geo.job import UpscaleOptions
    from ldcsr_core.geo.pipeline import upscale_raster

    viewer, widget = ldcsr
    src = tmp_path / "scene.tif"
    with rasterio.open(src, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint8") as d:
        d.write((np.random.default_rng(0).random((3, 24, 24)) * 255).astype(np.uint8))
    upscale_raster(src, tmp_path / "sr.tif", model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
    (layer,) = viewer.open(str(tmp_path / "sr.tif"), plugin="napari-ldcsr")
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    tags = widget.last_result.metadata["tags"]
    assert tags["LDCSR_INPUT_PROVENANCE"] == "an LDCSR output (model unnamed 0, ×2 x, ×2 y, fast, from scene.tif)"
    assert tags["LDCSR_SCALE_X"] == "2.0" and tags["LDCSR_SOURCE"] == "sr"


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_a_singular_geotransform_opens_unplaced_with_a_warning(make_napari_viewer, tmp_path, notes, lazy):
    """A geotransform that places no grid (pixel size 0), which `ldcsr upscale` refuses. Before: the
    layer got a singular placement and adding it failed in napari ('step must be strictly
    positive, but got 0.0 for axis 0', a traceback)."""
    from napari_ldcsr.io._lazy import lazy_layer_data
    from napari_ldcsr.io._reader import _say_if_pages

    path = tmp_path / "flat.tif"
    with rasterio.open(path, "w", driver="GTiff", height=8, width=9, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=Affine(0, 0, 600000, 0, 0, 5340000)) as dst:
        dst.write(np.zeros((3, 8, 9), np.uint8))
    (data, kwargs, _), = (lazy_layer_data if lazy else napari_get_reader(str(path)))(str(path))
    assert "scale" not in kwargs and "affine" not in kwargs
    assert kwargs["metadata"]["transform"] is None and kwargs["metadata"]["pixel_size"] is None
    make_napari_viewer().add_image(data, **kwargs)
    if lazy:
        _say_if_pages(str(path))  # read_geotiff's note (the eager reader's call above made it)
    said = [t for s, t in notes if s == "warning"]
    assert said == ["flat.tif: its geotransform (0, 0, 600000, 0, 0, 5340000) is singular (a pixel size of 0, "
                    "or columns and rows along one line): it places no grid, so the layer is shown unplaced, "
                    "on its pixel grid"], notes


def test_a_declared_identity_geotransform_places_the_layer_as_the_engine_does(tmp_path):
    """A GeoTIFF that declares the identity geotransform beside its CRS: the engine takes it as one
    (an output gets it scaled). Before: the reader took the identity as none, so the layer opened
    unplaced and without a pixel size, and its Run's result was written unplaced."""
    path = tmp_path / "ident.tif"
    with rasterio.open(path, "w", driver="GTiff", height=8, width=9, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=Affine.identity()) as dst:
        dst.write(np.zeros((3, 8, 9), np.uint8))
    with rasterio.open(path) as s:
        from ldcsr_core.geo.raster_io import georeferencing

        assert s.transform.is_identity and georeferencing(s) == "transform"
    (data, kwargs, _), = napari_get_reader(str(path))(str(path))
    assert kwargs["metadata"]["transform"] == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    assert kwargs["metadata"]["pixel_size"] == (1.0, 1.0)
    assert np.allclose(_bounds_of(kwargs, data.shape[:2]), [[-8, 0], [0, 9]])  # rows run north: y = -row


@pytest.mark.parametrize("lazy", [False, True])
def test_a_16_bit_rgba_layer_is_stretched_over_its_colours_not_its_alpha(make_napari_viewer, qtbot, tmp_path,
                                                                         monkeypatch, lazy):
    """A uint16 RGBA GeoTIFF (alpha 0 / 65535, colours 100 … 3000), read whole or lazily: its contrast
    limits span its colour bands' valid pixels. napari stretches red, green and blue by them and shows
    alpha as a fraction of 65535 whatever they are. Before: they spanned alpha's values too (0 … 65535),
    the colours drawn at a twentieth of their brightness (orange 3000/1500/100 as (12, 6, 0) on screen)."""
    from napari_ldcsr.io import _lazy

    if lazy:
        monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 32 * 32)
    data = np.zeros((4, 64, 64), np.uint16)
    data[:3] = np.array([3000, 1500, 100], np.uint16)[:, None, None]  # orange on the right
    data[:3, :, :32] = np.array([100, 100, 3000], np.uint16)[:, None, None]  # blue on the left
    data[3] = 65535
    data[:, :8] = 0  # transparent top rows
    path = _geotiff(tmp_path / "rgba16.tif", data, photometric="RGB", alpha="YES")
    viewer = make_napari_viewer(show=True)
    (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
    assert layer.rgb and layer.multiscale is lazy
    assert list(layer.contrast_limits) == [100.0, 3000.0]
    qtbot.wait(100)
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    h, w = shot.shape[:2]
    assert np.abs(shot[h // 2 + 20, w // 2 + 20] - [255, 123, 0]).max() <= 3
    assert np.abs(shot[h // 2 + 20, w // 2 - 20] - [0, 0, 255]).max() <= 3
