"""napari's reader opens the rasters ``ldcsr upscale`` reads (the engine's ``RASTER_SUFFIXES``), not only
GeoTIFFs: a VRT and an ERDAS ``.img`` written by GDAL open placed in CRS units and with their nodata as the
GeoTIFF they copy. A file rasterio cannot open is declined, so napari tries its other readers.
Before: ``.tif``/``.tiff`` only; a ``.vrt`` had no reader at all, an ``.img`` opened through napari's own
(no placement, no nodata) or not at all."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.transform import Affine

from napari_ldcsr.io._reader import napari_get_reader

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _dem(path):
    """A small int16 DEM with nodata -9999 in a corner, 2 m pixels in UTM 33N."""
    data = np.random.default_rng(7).integers(100, 900, (36, 44)).astype(np.int16)
    data[:5, :7] = -9999
    with rasterio.open(path, "w", driver="GTiff", height=36, width=44, count=1, dtype="int16", nodata=-9999,
                       crs="EPSG:32633", transform=Affine(2, 0, 500000, 0, -2, 4100000)) as dst:
        dst.write(data, 1)
    return path


def _copy(tif, path, driver):
    with rasterio.open(tif) as s:
        rasterio.shutil.copy(s, path, driver=driver)
    with rasterio.open(path) as c:  # what GDAL reads: the same grid, nodata and pixels
        assert c.driver == driver and c.nodata == -9999 and c.crs == "EPSG:32633"
    return path


@pytest.mark.parametrize("lazy", [False, True], ids=["read", "lazy"])
@pytest.mark.parametrize("ext, driver", [(".vrt", "VRT"), (".img", "HFA")])
def test_a_vrt_and_an_erdas_img_open_placed_with_their_nodata(make_napari_viewer, tmp_path, monkeypatch, ext,
                                                             driver, lazy):
    from napari_ldcsr.io import _lazy

    tif = _dem(tmp_path / "dem.tif")
    other = _copy(tif, tmp_path / f"copy{ext}", driver)
    assert callable(napari_get_reader(str(other)))
    if lazy:  # as a big file opens: a multiscale layer, read as napari draws
        monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 32 * 32)
    viewer = make_napari_viewer()
    (ref,) = viewer.open(str(tif), plugin="napari-ldcsr")
    (layer,) = viewer.open(str(other), plugin="napari-ldcsr")
    assert layer.multiscale == ref.multiscale == lazy
    full = (lambda lyr: np.asarray(lyr.data[0])) if lazy else (lambda lyr: lyr.data)
    assert layer.name == "copy" and np.array_equal(full(layer), full(ref))
    assert tuple(layer.scale) == tuple(ref.scale) == (2.0, 2.0)  # CRS units, not pixels
    assert tuple(layer.translate) == tuple(ref.translate) and tuple(layer.translate) != (0.0, 0.0)
    for key in ("nodata", "transform", "pixel_size"):
        assert layer.metadata[key] == ref.metadata[key], key
    assert CRS.from_wkt(layer.metadata["crs"]).to_epsg() == 32633  # HFA spells its WKT otherwise
    assert layer.metadata["nodata"] == -9999
    # the contrast leaves the nodata out, as the GeoTIFF's: not stretched down to -9999
    assert tuple(layer.contrast_limits) == tuple(ref.contrast_limits) and min(layer.contrast_limits) >= 100


def test_a_vrt_opens_with_this_reader_alone(make_napari_viewer, tmp_path):
    """No other napari reader takes a ``.vrt``: File ▸ Open (no reader picked) opens it with this one."""
    vrt = _copy(_dem(tmp_path / "dem.tif"), tmp_path / "dem.vrt", "VRT")
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(vrt), plugin=None)  # as File ▸ Open: the reader inferred
    assert layer.source.reader_plugin == "napari-ldcsr" and layer.metadata["nodata"] == -9999


def test_files_rasterio_cannot_open_are_declined(tmp_path):
    """A disk image named ``.img``, an empty or non-raster ``.tif``, a missing ``.vrt``: None (napari tries
    the next reader) rather than a reader that raises; other names are not claimed, raster or not."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\x00" * 4096 + b"not a raster" * 100)
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "junk.tif").write_text("hello")
    tif = _dem(tmp_path / "dem.tif")
    for bad in (disk, tmp_path / "empty.tif", tmp_path / "junk.tif", tmp_path / "gone.vrt"):
        assert napari_get_reader(str(bad)) is None, bad.name
    assert napari_get_reader([str(tif), str(tmp_path / "junk.tif")]) is None
    (tmp_path / "notes.txt").write_text("x")
    assert napari_get_reader(str(tmp_path / "notes.txt")) is None
    with rasterio.open(tmp_path / "dem.bmp", "w", driver="BMP", height=8, width=8, count=1, dtype="uint8") as d:
        d.write(np.ones((1, 8, 8), np.uint8))  # a raster GDAL reads, under a name the engine does not list
    assert napari_get_reader(str(tmp_path / "dem.bmp")) is None
    assert callable(napari_get_reader(str(tif))) and callable(napari_get_reader([str(tif), str(tif)]))


def _bytes_read() -> int:
    with open("/proc/self/io") as f:
        return int(dict(line.split(": ") for line in f.read().splitlines())["rchar"])


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="Linux's per-process I/O counters")
def test_a_png_is_decoded_once_to_check_it_however_often_it_is_opened(tmp_path):
    """Before: each open of a PNG (the reader's claim, its lazy check, its read, its pages check) decoded
    all of it again to find damage: a PNG with a world file was read from disk 5 times to open it."""
    rgb = np.random.default_rng(3).integers(0, 256, (3, 1200, 1500), dtype=np.uint8)  # incompressible: 5.4 MB
    paths = []
    for name in ("warm.png", "scene.png"):
        paths.append(tmp_path / name)
        with rasterio.open(paths[-1], "w", driver="PNG", height=1200, width=1500, count=3, dtype="uint8") as dst:
            dst.write(rgb)
        (tmp_path / name).with_suffix(".pgw").write_text("2\n0\n0\n-2\n500000\n4100000\n")
    napari_get_reader(str(paths[0]))(str(paths[0]))  # the modules it imports are not counted
    size, before = paths[1].stat().st_size, _bytes_read()
    (layer,) = napari_get_reader(str(paths[1]))(str(paths[1]))
    read = _bytes_read() - before
    assert np.array_equal(layer[0], rgb.transpose(1, 2, 0))
    assert size <= read < 2.5 * size, (read, size)  # the check's decode and the pixels' read: 2× its size
    paths[1].write_bytes(paths[1].read_bytes()[: size // 2])  # damaged since: checked again, declined
    assert napari_get_reader(str(paths[1])) is None


def test_a_png_damaged_in_place_with_its_size_and_time_kept_is_checked_again(tmp_path):
    """A PNG checked whole once is checked again once its content changed, even where its size and
    modification time stayed (cp -p or rsync -t --inplace of a damaged copy over it): before, its
    (device, inode, size, mtime) was taken for the version already checked and the damage went by."""
    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo.raster_io import open_raster

    p, rgb = tmp_path / "scene.png", np.random.default_rng(4).integers(0, 256, (3, 80, 80), dtype=np.uint8)
    with rasterio.open(p, "w", driver="PNG", height=80, width=80, count=3, dtype="uint8") as dst:
        dst.write(rgb)
    with open_raster(p) as src:  # checked whole, once
        assert np.array_equal(src.read(), rgb)
    time.sleep(0.05)  # the change time ticks with the kernel's coarse clock (a few ms)
    st, raw = p.stat(), bytearray(p.read_bytes())
    half = slice(len(raw) // 2, -12)  # its pixels' second half zeroed, its end kept
    raw[half] = bytes(len(raw[half]))
    with open(p, "r+b") as f:  # in place: the same inode and size, as cp -p over it writes
        f.write(raw)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    with pytest.raises(RasterIOError, match="scene.png is truncated or damaged"):
        open_raster(p)


@pytest.mark.parametrize("driver, ext", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_a_big_png_or_jpeg_is_read_whole_where_it_fits_in_memory(tmp_path, monkeypatch, driver, ext):
    """Before: a PNG or JPEG over LAZY_MIN_PIXELS opened lazily as a GeoTIFF does, but GDAL has no
    random access into them: each block napari drew decoded the file from its start again (0.25-1.6 s
    a block of a 7000² PNG). Such a file is read whole where its pixels fit the in-memory limit
    (NAPARI_LDCSR_STREAM_MB), lazily beyond it; a GeoTIFF of that size still opens lazily."""
    from napari_ldcsr.io import _lazy

    rgb = np.random.default_rng(5).integers(0, 256, (3, 96, 128), dtype=np.uint8)
    paths = {}
    for drv, name in ((driver, f"scene{ext}"), ("GTiff", "scene.tif")):
        paths[drv] = tmp_path / name
        with rasterio.open(paths[drv], "w", driver=drv, height=96, width=128, count=3, dtype="uint8") as dst:
            dst.write(rgb)
    (tmp_path / f"scene{ext[:2]}{ext[-1]}w").write_text("2\n0\n0\n-2\n500000\n4100000\n")  # .pgw / .jgw
    with rasterio.open(paths[driver]) as src:
        pixels = src.read().transpose(1, 2, 0)
    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 64 * 64)  # both are "big"

    def opened(path):
        (layer,) = napari_get_reader(str(path))(str(path))
        return layer

    data, meta, _ = opened(paths[driver])
    assert not meta.get("multiscale") and np.array_equal(data, pixels)  # whole, as a small file
    assert meta["scale"] == (2.0, 2.0) and meta["metadata"]["transform"][2] == 500000 - 1  # by its world file (a pixel centre)
    assert opened(paths["GTiff"])[1].get("multiscale")  # random access: lazily, as before
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", "0.01")  # its 36 kB over the in-memory limit: lazily
    data, meta, _ = opened(paths[driver])
    assert meta.get("multiscale") and np.array_equal(np.asarray(data[0]), pixels)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_a_big_png_is_read_whole_only_where_its_read_peak_fits_the_free_memory(tmp_path, monkeypatch, dtype):
    """Before 2026-12-07: a big PNG was read whole where its pixels alone fit the free memory, while the read
    peaked at twice them: napari was pushed into swap or killed where a lazy layer needed little. Now the
    read peaks at its pixels and a little (the next test): whole_read_peak('PNG') of them must be free, and as
    much again as the pixels for what napari and a Run make of the layer (WHOLE_READ_HEADROOM)."""
    import ldcsr_core.host_memory as host_memory

    from napari_ldcsr.io import _lazy

    rgb = np.random.default_rng(6).integers(0, 256, (3, 200, 300)).astype(dtype)
    path = tmp_path / "scene.png"
    with rasterio.open(path, "w", driver="PNG", height=200, width=300, count=3, dtype=dtype) as dst:
        dst.write(rgb)
    (tmp_path / "scene.pgw").write_text("2\n0\n0\n-2\n500000\n4100000\n")
    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 64 * 64)
    peak = _lazy.whole_read_peak("PNG") + _lazy.WHOLE_READ_HEADROOM
    for free, lazily in ((int(rgb.nbytes * (peak - 0.01)), True), (math.ceil(rgb.nbytes * peak), False)):
        monkeypatch.setattr(host_memory, "available_bytes", lambda free=free: free)
        assert _lazy.should_open_lazily(path) is lazily, free


#: A subprocess's peak memory (VmHWM, reset by /proc/self/clear_refs) while the eager reader reads argv[1]
_PEAK = """
import sys
from napari_ldcsr.io._reader import layer_data_from_geotiff
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key)) * 1024
layer_data_from_geotiff(sys.argv[2])  # imports and GDAL's drivers loaded first
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
data = layer_data_from_geotiff(sys.argv[1])[0][0]
print(status("VmHWM:") - before, data.nbytes)
"""


def _scene(h=2000, w=2400):
    """(3, h, w) uint8 bands: gradients, every fifth column noise."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x % 256, y % 256, (x + y) // 3 % 256]).astype(np.uint8)
    rgb[:, :, ::5] = np.random.default_rng(2).integers(0, 256, (3, h, len(range(0, w, 5))), dtype=np.uint8)
    return rgb


def _write(path, bands, colorinterp=None):
    """``bands`` as a GeoTIFF at ``path`` (in 256² tiles if its name ends '-tiled.tif'), or its copy there as a
    PNG/JPEG with a world file."""
    driver = {".png": "PNG", ".jpg": "JPEG"}.get(path.suffix, "GTiff")
    tif = path if driver == "GTiff" else path.with_suffix(".tif")
    tiles = dict(tiled=True, blockxsize=256, blockysize=256) if path.name.endswith("-tiled.tif") else {}
    with rasterio.open(tif, "w", driver="GTiff", height=bands.shape[1], width=bands.shape[2], count=len(bands),
                       dtype=bands.dtype, crs="EPSG:32633", transform=Affine(2, 0, 500000, 0, -2, 4100000),
                       **tiles) as dst:
        dst.write(bands)
        if colorinterp:
            dst.colorinterp = colorinterp
    if driver != "GTiff":
        with rasterio.open(tif) as s:
            rasterio.shutil.copy(s, path, driver=driver, WORLDFILE="YES")
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", "-tiled.tif"])
def test_a_raster_read_whole_holds_its_pixels_once(tmp_path, suffix):
    """Before: reading a PNG or a JPEG whole into one RGB layer peaked at twice its pixels (a 20000² RGB
    PNG: 2.4 GB for 1.2 GB of pixels): the layer's bands were a copy of the bands read, and GDAL decoded a
    PNG into a buffer of its own first; a GeoTIFF (striped or tiled) did until 2026-12-07, its decoded
    blocks kept in GDAL's block cache. Now the layer is a view of the bands read, a PNG is decoded row by
    row into them and a whole read keeps no blocks: the peak, measured in a subprocess, is its pixels and a
    little, at most what should_open_lazily plans with (whole_read_peak); the layer's pixels are the file's."""
    import subprocess
    import sys

    from napari_ldcsr.io import _lazy
    from napari_ldcsr.io._reader import layer_data_from_geotiff

    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("no /proc/self/clear_refs to reset the peak memory")
    rgb = _scene()
    path, small = _write(tmp_path / f"scene{suffix}", rgb), _write(tmp_path / f"small{suffix}", rgb[:, :64, :64])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([q for q in sys.path if q]))
    r = subprocess.run([sys.executable, "-c", _PEAK, str(path), str(small)], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    peak, nbytes = map(int, r.stdout.split()[-2:])
    with rasterio.open(path) as s:
        driver = s.driver
    assert nbytes == rgb.nbytes and peak < 1.2 * nbytes, peak / nbytes  # twice them before
    assert peak <= _lazy.whole_read_peak(driver) * nbytes, (driver, peak / nbytes)
    data, meta, _ = layer_data_from_geotiff(path)[0]
    with rasterio.open(path) as s:
        assert meta["rgb"] and np.array_equal(data, np.moveaxis(s.read(), 0, -1))
    if suffix != ".jpg":
        assert np.array_equal(data, np.moveaxis(rgb, 0, -1))


def test_a_blue_green_red_raster_is_put_in_the_layers_order_in_place(tmp_path):
    """Before: a raster stored blue, green, red was shown red, green, blue through a reordered copy of its
    bands (twice its pixels in NumPy arrays). Now its bands are reordered in place, a few rows at a time:
    the arrays the read makes peak at its pixels and a little; the layer is the file's bands, red first."""
    import tracemalloc

    from napari_ldcsr.io._reader import layer_data_from_geotiff

    rgb = _scene()
    path = _write(tmp_path / "bgr.tif", rgb[::-1].copy(), [ColorInterp.blue, ColorInterp.green, ColorInterp.red])
    layer_data_from_geotiff(_write(tmp_path / "small.tif", rgb[:, :64, :64]))  # its imports done first
    tracemalloc.start()
    try:
        data, meta, _ = layer_data_from_geotiff(path)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * rgb.nbytes, peak / rgb.nbytes  # twice them before
    assert meta["rgb"] and meta["metadata"]["colorinterp"] == ["red", "green", "blue"]
    assert np.array_equal(data, np.moveaxis(rgb, 0, -1))


def test_a_png_dropped_in_asks_for_a_reader_until_a_preference_picks_one(make_napari_viewer, tmp_path,
                                                                         monkeypatch):
    """What docs/plugin.md says of a .png/.jpg: napari picks readers by the name's pattern alone (npe2's
    filename_patterns cannot ask for a world file), so napari's own reader and this one both claim every
    PNG: File ▸ Open and a file dragged in ask which (napari's reader dialog), until a preference (the
    dialog's 'Remember this choice', Preferences ▸ Plugins ▸ File extension readers) picks one: then a
    world-file PNG opens placed, a plain one at its pixel grid, no question. A script's viewer.open
    without plugin= uses napari's own reader, as before."""
    import napari._qt.qt_viewer as qt_viewer_module
    from napari.settings import get_settings

    rgb = np.random.default_rng(6).integers(0, 256, (3, 24, 32), dtype=np.uint8)
    for name in ("placed.png", "photo.png"):
        with rasterio.open(tmp_path / name, "w", driver="PNG", height=24, width=32, count=3, dtype="uint8") as dst:
            dst.write(rgb)
    (tmp_path / "placed.pgw").write_text("2\n0\n0\n-2\n500000\n4100000\n")
    asked = []
    monkeypatch.setattr(qt_viewer_module, "handle_gui_reading", lambda files, *a, **k: asked.append(files))
    viewer = make_napari_viewer()
    qt = viewer.window._qt_viewer
    qt._qt_open([str(tmp_path / "photo.png")], stack=False)  # as a file dropped in
    assert asked == [[str(tmp_path / "photo.png")]] and len(viewer.layers) == 0
    (script,) = viewer.open(str(tmp_path / "placed.png"))  # napari's own: pixels only
    assert set(script.scale) == {1.0} and "crs" not in script.metadata
    monkeypatch.setattr(get_settings().plugins, "extension2reader", {"*.png": "napari-ldcsr"})
    qt._qt_open([str(tmp_path / "placed.png")], stack=False)
    qt._qt_open([str(tmp_path / "photo.png")], stack=False)
    assert len(asked) == 1 and [lyr.name for lyr in viewer.layers] == ["placed", "placed [1]", "photo"]
    placed, photo = viewer.layers[1], viewer.layers[2]
    assert tuple(placed.scale) == (2.0, 2.0) and tuple(photo.scale) == (1.0, 1.0)
    assert np.array_equal(photo.data, rgb.transpose(1, 2, 0)) and photo.metadata["crs"] is None
