"""Big scenes open lazily (only the windows on screen are read) and the lens works on them."""

from __future__ import annotations

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import from_origin  # noqa: E402

from napari_ldcsr.io._lazy import RasterLevel, lazy_layer_data  # noqa: E402
from napari_ldcsr.io._reader import layer_data_from_geotiff  # noqa: E402
from tests.plugin.lens_wait import wait_for_view

H, W = 2048, 2560


@pytest.fixture(scope="module")
def big_tif(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "big.tif"
    yy, xx = np.mgrid[0:H, 0:W]
    rgb = np.stack([(yy * 7 + xx) % 251, (xx * 3) % 253, (yy * 5) % 241]).astype(np.uint8)
    profile = dict(driver="GTiff", height=H, width=W, count=3, dtype="uint8", crs="EPSG:32617",
                   transform=from_origin(400000.0, 3300000.0, 0.1, 0.1), tiled=True, blockxsize=256,
                   blockysize=256, photometric="RGB")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rgb)
        dst.build_overviews([2, 4], rasterio.enums.Resampling.average)
    return path, np.moveaxis(rgb, 0, -1)


def test_level_reads_only_its_window(big_tif):
    path, full = big_tif
    reads = []
    lvl = RasterLevel(str(path), 1, (H, W), [1, 2, 3], "uint8", True, reads)
    np.testing.assert_array_equal(lvl[100:140, 2000:2100], full[100:140, 2000:2100])
    np.testing.assert_array_equal(lvl[5, 7:9], full[5, 7:9])
    np.testing.assert_array_equal(lvl[10:20:3, 4:30:5], full[10:20:3, 4:30:5])
    assert reads[0] == (1, 100, 2000, 40, 100)
    top = RasterLevel(str(path), 4, (H, W), [1, 2, 3], "uint8", True)
    assert top.shape == (512, 640, 3) and np.asarray(top).shape == (512, 640, 3)


def test_lazy_layer_matches_the_eager_reader(big_tif):
    path, full = big_tif
    reads = []
    (levels, kwargs, kind), = lazy_layer_data(path, reads)
    (data, eager_kwargs, _), = layer_data_from_geotiff(path)
    assert reads == []  # nothing read yet
    assert kind == "image" and kwargs["multiscale"] and kwargs["rgb"]
    assert [lv.shape[:2] for lv in levels] == [(H, W), (1024, 1280), (512, 640)]
    for key in ("scale", "translate", "name"):
        assert kwargs[key] == eager_kwargs[key]
    for key in ("crs", "transform", "pixel_size", "nodata", "band_names", "colorinterp", "file_name", "tags"):
        assert kwargs["metadata"][key] == eager_kwargs["metadata"][key]
    np.testing.assert_array_equal(np.asarray(levels[0][1500:1600, 10:50]), data[1500:1600, 10:50])


def test_big_geotiff_opens_lazily_and_the_lens_works_on_it(big_tif, make_napari_viewer, qtbot, tiny_model,
                                                         bicubic_engine):
    """(The tiles, the lens's and the one computed here, are the bicubic stand-in's: which windows of the
    file the lens reads is tested, not the network.)"""
    from napari_ldcsr.lens._lens import LiveLens

    path, full = big_tif
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(520, 400)
    reads = []
    (levels, kwargs, _), = lazy_layer_data(path, reads)
    layer = viewer.add_image(levels, **kwargs)
    qtbot.wait(200)
    # zoom into a small area at the layer's full resolution and let napari draw it
    viewer.camera.center = tuple(layer.data_to_world((700, 900)))
    viewer.camera.zoom = 3.0 / layer.scale[-1]
    qtbot.wait(500)
    level0 = [r for r in reads if r[0] == 1]
    read_px = sum(r[3] * r[4] for r in level0)
    assert 0 < read_px <= 0.5 * H * W  # only some blocks of the full-resolution level (1 of 6 here)
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, debounce_ms=30)
    assert lens.set_layer(layer)
    n_before = len(reads)
    lens.set_enabled(True)
    wait_for_view(qtbot, lens, timeout=120_000)
    view = lens.view
    assert view.step == 3.0
    # the lens read only level-0 windows near the view
    lens_reads = [r for r in reads[n_before:] if r[0] == 1]
    assert lens_reads and sum(r[3] * r[4] for r in lens_reads) <= 0.5 * H * W
    # and its pixels are the engine's on the tiles' input windows (exact, as for in-memory layers),
    # through a Run's stretch of the file (8-bit: 0…255)
    from ldcsr_core.geo.radiometry import Stretch
    from ldcsr_core.tiling import process_tile

    key = view.composer.keys[0]
    t = view.grid.tile(*key)
    y0, x0, h, w = t.read
    unit = Stretch((0.0,) * 3, (255.0,) * 3, "uint8").to_unit(np.moveaxis(full[y0:y0 + h, x0:x0 + w], -1, 0))
    out = process_tile(tiny_model, np.moveaxis(unit, 0, -1), t, view.grid.plan((t,)), mode="fast")
    np.testing.assert_array_equal(view.composer.outputs[key], out)
    lens.close()


def test_reader_opens_big_files_lazily(big_tif, monkeypatch):
    import napari_ldcsr.io._lazy as lazy
    from napari_ldcsr.io._reader import read_geotiff

    path, _ = big_tif
    (data, kwargs, _), = read_geotiff(str(path))
    assert not kwargs.get("multiscale") and isinstance(data, np.ndarray)  # below the threshold: eager
    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 1000 * 1000)
    (levels, kwargs, _), = read_geotiff(str(path))
    assert kwargs["multiscale"] and kwargs["metadata"]["lazy"] and len(levels) == 3
    assert kwargs["metadata"]["file_name"] == "big.tif"


@pytest.fixture
def gdal_cache():
    """GDAL's block-cache bound, restored after the test (it is process-wide)."""
    from rasterio.env import get_gdal_config, set_gdal_config

    saved = int(get_gdal_config("GDAL_CACHEMAX"))
    yield lambda: int(get_gdal_config("GDAL_CACHEMAX"))
    set_gdal_config("GDAL_CACHEMAX", saved)


def test_panning_a_big_scene_keeps_no_blocks_in_napari_dask_cache(big_tif, make_napari_viewer, qtbot):
    """napari's opportunistic dask cache (process-wide, 25 % of the RAM) kept every block and every
    view's slice ever shown, on top of GDAL's block cache: RSS grew ~1.3 GB per 100 camera moves
    over a 12000² scene (benchmarks/lazy_memory.py). The lazy layers opt out of it."""
    from napari.utils._dask_utils import _DASK_CACHE

    path, _ = big_tif
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(520, 400)
    (levels, kwargs, _), = lazy_layer_data(path)
    layer = viewer.add_image(levels, **kwargs)
    assert _DASK_CACHE.cache.available_bytes > 1  # napari's cache is on (as it is by default)
    before = dict(_DASK_CACHE.cache.data)
    for centre, ratio in (((300, 300), 1.0), ((1700, 2200), 2.0), ((1000, 1200), 0.25), ((200, 2400), 1.0)):
        viewer.camera.center = tuple(layer.data_to_world(centre))
        viewer.camera.zoom = ratio / layer.scale[-1]
        qtbot.wait(200)
    new = [k for k in _DASK_CACHE.cache.data if k not in before]
    assert new == []


def test_big_scene_bounds_gdal_block_cache(big_tif, gdal_cache, monkeypatch):
    """GDAL's block cache (process-wide, 5 % of the RAM by default) is lowered to 256 MB when a big
    scene opens lazily; a ``GDAL_CACHEMAX`` set in the environment is left alone."""
    from rasterio.env import set_gdal_config

    path, _ = big_tif
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    set_gdal_config("GDAL_CACHEMAX", 2**30)
    lazy_layer_data(path)
    assert gdal_cache() == 256 * 2**20
    set_gdal_config("GDAL_CACHEMAX", 64 * 2**20)  # a smaller bound is never raised
    lazy_layer_data(path)
    assert gdal_cache() == 64 * 2**20
    monkeypatch.setenv("GDAL_CACHEMAX", "1024")  # the user's choice
    set_gdal_config("GDAL_CACHEMAX", 2**30)
    lazy_layer_data(path)
    assert gdal_cache() == 2**30


@pytest.mark.parametrize("count", [3, 4])
def test_a_lazy_layer_of_a_file_whose_bands_nodata_differ_reads_as_the_eager_one(tmp_path, monkeypatch, count):
    """A file whose bands declare different nodata (a .aux.xml: band 1 none, band 2 0, band 3 255)
    opened lazily holds, window by window and on every level, the pixels the eager reader's
    read_raster gives (the engine's file_one_nodata: band 3's 255 fill reads as 0, the layer's one
    nodata; a data pixel 0 on band 1 reads 1), for an RGB layer and for band layers. Before: the lazy
    layer showed the raw 255 under a layer nodata of 0, so it disagreed with the same file read whole."""
    import napari_ldcsr.io._lazy as lazy
    from napari_ldcsr.io._reader import read_geotiff

    data = np.random.default_rng(3).integers(1, 255, (count, 40, 40)).astype(np.uint8)
    data[0, 30:, 30:] = 0  # data (band 1 has no nodata)
    data[1, :, :5], data[2, :, :5] = 0, 255
    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=count, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(600000, 5340000, 10, 10),
                       photometric="minisblack" if count == 4 else "rgb") as dst:
        dst.write(data)
    (tmp_path / "s.tif.aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="2"><NoDataValue>0</NoDataValue></PAMRasterBand>'
        '<PAMRasterBand band="3"><NoDataValue>255</NoDataValue></PAMRasterBand></PAMDataset>')
    eager = read_geotiff(str(path))
    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 16 * 16)
    monkeypatch.setattr(lazy, "TOP_LEVEL_SIDE", 16)
    read = read_geotiff(str(path))
    whole = eager[0][0] if count == 3 else np.moveaxis(eager[0][0], 0, -1)
    layers = [levels for levels, _, _ in read]
    assert [kw["metadata"]["nodata"] for _, kw, _ in read] == [0.0] * len(read)
    md = eager[0][1]["metadata"]
    assert (md[0] if count == 4 else md)["nodata"] == 0.0 and len(layers) == (1 if count == 3 else count)
    full = np.stack([np.asarray(lv[0]) for lv in layers], -1) if count == 4 else np.asarray(layers[0][0])
    np.testing.assert_array_equal(full, whole)
    assert (full[:, :5, 2] == 0).all() and (full[30:, 30:, 0] == 1).all()
    np.testing.assert_array_equal(np.asarray(layers[0][0][3:17, 2:9]), whole[3:17, 2:9, 0 if count == 4 else slice(None)])
    coarse = np.asarray(layers[-1 if count == 3 else 2][-1])  # band 3's top level: no 255 fill left
    assert len(layers[0]) > 1 and not (coarse == 255).any()


def test_a_lazy_layer_whose_file_is_gone_says_so_in_one_line_whichever_thread_reads(tmp_path, monkeypatch,
                                                                                   make_napari_viewer, notes):
    """A lazy layer's file moved away (deleted, its disk unmounted) while it is open: every read of it
    says the engine's one line, on a thread that opened the file before or not (napari's dask pool
    runs a read on any of its threads); napari's slicing (new data, zoom out, pan) shows the layer's
    nodata and says once that the file is gone, no traceback; the layer stays. Before: a read on a
    thread holding a handle still read the file, one on another raised rasterio's raw
    'RasterioIOError: …: No such file or directory' out of napari's slicing (which one: the order the
    tests ran in, the pool's threads)."""
    import os
    import threading

    from ldcsr_core.errors import RasterIOError

    import napari_ldcsr.io._lazy as lazy
    from napari_ldcsr.io._lazy import window_reader

    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 64 * 64)
    monkeypatch.setattr(lazy, "TOP_LEVEL_SIDE", 32)
    path = tmp_path / "scene.tif"
    yy, xx = np.mgrid[0:128, 0:96]
    with rasterio.open(path, "w", driver="GTiff", height=128, width=96, count=1, dtype="uint16", nodata=0) as dst:
        dst.write((1 + yy + xx).astype(np.uint16)[None])
    (levels, kwargs, _), = lazy_layer_data(str(path))
    viewer = make_napari_viewer()
    layer = viewer.add_image(levels, **kwargs)
    assert all(np.asarray(lv).min() >= 1 for lv in levels)  # read: handles open here and on dask's threads
    base = window_reader(levels[0])
    errors = []

    def read():
        try:
            base[0:8, 0:8]
        except RasterIOError as exc:
            errors.append(str(exc))

    os.rename(path, tmp_path / "moved.tif")
    read()  # this thread holds a handle on the file
    other = threading.Thread(target=read)  # one that never opened it
    other.start()
    other.join()
    assert errors == [f"input not found: {path}"] * 2
    layer.data = levels
    viewer.camera.zoom /= 4
    viewer.camera.center = (0, 40.0, 30.0)[-len(viewer.camera.center):]
    for lv in levels:
        np.testing.assert_array_equal(np.asarray(lv), 0)  # the layer's nodata
    assert layer in viewer.layers
    assert [(s, t) for s, t in notes if s in ("warning", "error")] == [
        ("warning", f"'scene': its file is gone (input not found: {path}): open it again to see the parts of "
                    "the layer not on screen.")]


def test_a_lazy_layer_of_a_colour_table_file_reads_its_expansion(tmp_path, monkeypatch):
    """A big file with a colour table opens lazily through GDAL's expansion (``vrt://FILE?expand=rgb``):
    its levels read the expanded colours, and the check that its file is still there looks at FILE (a
    check of the expansion's name as a path said "input not found" for every read)."""
    import rasterio
    from rasterio.transform import from_origin

    import napari_ldcsr.io._lazy as lazy
    from napari_ldcsr.io._reader import read_geotiff

    idx = (np.arange(48 * 48).reshape(48, 48) % 3).astype(np.uint8)
    path = tmp_path / "classes.tif"
    with rasterio.open(path, "w", driver="GTiff", width=48, height=48, count=1, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(600000, 5340000, 10, 10)) as dst:
        dst.write(idx, 1)
        dst.write_colormap(1, {0: (255, 0, 0, 255), 1: (0, 255, 0, 255), 2: (0, 0, 255, 255)})
    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 16 * 16)
    monkeypatch.setattr(lazy, "TOP_LEVEL_SIDE", 16)
    levels = read_geotiff(str(path))[0][0]
    assert isinstance(levels, list) and len(levels) > 1
    full = np.asarray(levels[0])
    colours = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255)], np.uint8)
    np.testing.assert_array_equal(full[..., :3], colours[idx])


@pytest.mark.parametrize("dtype, nodata", [("int16", -9999), ("float32", float("nan")), ("float32", -3.4e38)])
def test_a_lazy_layer_whose_file_is_gone_shows_its_own_nodata(tmp_path, monkeypatch, notes, dtype, nodata):
    """Once its file is gone, a lazy layer's levels read as its nodata (a DEM's -9999, a float scene's NaN,
    as its nodata pixels were shown), not 0: a value inside the layer's contrast, drawn as data. Before: 0
    for every nodata but one the int64/float64 of the value casts to the band's type 'safely' (none)."""
    import os

    import napari_ldcsr.io._lazy as lazy

    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 64 * 64)
    monkeypatch.setattr(lazy, "TOP_LEVEL_SIDE", 32)
    path = tmp_path / "dem.tif"
    yy, xx = np.mgrid[0:128, 0:96]
    with rasterio.open(path, "w", driver="GTiff", height=128, width=96, count=1, dtype=dtype, nodata=nodata) as dst:
        dst.write((yy - xx).astype(dtype)[None])
    (levels, _, _), = lazy_layer_data(str(path))
    os.rename(path, tmp_path / "moved.tif")
    held = np.array(nodata).astype(dtype)
    for lv in levels:
        np.testing.assert_array_equal(np.asarray(lv), np.full(lv.shape, held))
    assert len([s for s, _ in notes if s == "warning"]) == 1
