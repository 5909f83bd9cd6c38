"""A lazy layer's coarser levels average its valid pixels only, on whole blocks of the full
resolution, and the layer opens with the contrast limits of its valid pixels."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

rasterio = pytest.importorskip("rasterio")
from rasterio.enums import Resampling  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

from napari_ldcsr.io._reader import layer_data_from_geotiff, read_geotiff  # noqa: E402

H, W = 50, 37  # not a multiple of any level's factor: the last blocks are partial


def write(path, data, nodata=None, *, mask=None, overviews=None, **extra):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[-1], height=data.shape[-2], count=data.shape[0],
                       dtype=data.dtype.name, nodata=nodata, crs="EPSG:32633",
                       transform=from_origin(600000, 5340000, 10, 10), **extra) as dst:
        dst.write(data)
        if mask is not None:
            dst.write_mask(mask)
        if overviews:
            dst.build_overviews(overviews, Resampling.average)
    return path


def open_lazily(path, monkeypatch):
    import napari_ldcsr.io._lazy as lazy

    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 16 * 16)
    monkeypatch.setattr(lazy, "TOP_LEVEL_SIDE", 8)
    return read_geotiff(str(path))


def reference(full: np.ndarray, valid: np.ndarray, f: int) -> np.ndarray:
    """Each f×f block's mean of its valid pixels (rounded half up for integers); a block without
    any: its first pixel, as the full resolution shows it. ``full``/``valid``: (H, W[, C])."""
    h, w = -(-full.shape[0] // f), -(-full.shape[1] // f)
    out = np.empty((h, w) + full.shape[2:], full.dtype)
    for i in range(h):
        for j in range(w):
            blk, v = full[i * f:(i + 1) * f, j * f:(j + 1) * f], valid[i * f:(i + 1) * f, j * f:(j + 1) * f]
            for c in np.ndindex(full.shape[2:]):
                x, ok = blk[(...,) + c], v[(...,) + c]
                if not ok.any():
                    out[(i, j) + c] = x[0, 0]
                elif full.dtype.kind == "f":
                    out[(i, j) + c] = x[ok].astype(np.float64).mean()
                else:
                    out[(i, j) + c] = np.floor(x[ok].astype(np.float64).mean() + 0.5)
    return out


def assert_levels(levels, full, valid):
    np.testing.assert_array_equal(np.asarray(levels[0]), full)  # full resolution: as the eager reader reads it
    assert len(levels) == 4
    for i, lv in enumerate(levels[1:], 1):
        got, want = np.asarray(lv), reference(full, valid, 2 ** i)
        if full.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"level {i}")
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"level {i}")
        # dask's blocks (as napari reads them) and a window of the level agree with the whole level
        np.testing.assert_array_equal(np.asarray(lv[1:5, 2:4]), got[1:5, 2:4])


def scene(dtype, nodata, rng):
    """(1, H, W) of ``dtype``: a nodata border, a nodata corner and speckles (NaN without a value)."""
    a = rng.integers(100, 1000 if dtype != "uint8" else 250, (1, H, W)).astype(dtype)
    inv = np.zeros((H, W), bool)
    inv[:, :5] = inv[41:, 30:] = True
    inv[rng.random((H, W)) < 0.1] = True
    a[0][inv] = np.nan if nodata is None else nodata
    return a


@pytest.mark.parametrize("dtype,nodata", [("uint8", 0), ("uint16", 0), ("int16", -9999), ("float32", -9999.0),
                                          ("float32", float("nan")), ("float32", None), ("uint64", 0),
                                          ("int64", -9999)])
def test_coarse_levels_average_valid_pixels_only(tmp_path, monkeypatch, dtype, nodata):
    """Before: GDAL's average of the window read to the level's size: the level's last chunk
    squeezed onto a grid that is not the full resolution's cut in blocks (every coarse pixel of a
    37-px-wide scene at ×2 averaged a 1.95-px span), and a NaN pixel made its whole block NaN. Then
    (2026-12-06) a uint64 scene's ×2 and ×4 levels raised numpy's UFuncTypeError (int64 sums)."""
    a = scene(dtype, nodata, np.random.default_rng(1))
    if dtype == "float32" and nodata == -9999.0:
        a[0, 20:22, 10:30] = np.nan  # NaN pixels beside the declared value
    path = write(tmp_path / "s.tif", a, nodata)
    (levels, kwargs, _), = open_lazily(path, monkeypatch)
    assert kwargs["metadata"]["lazy"]
    (full, _, _), = layer_data_from_geotiff(path)
    valid = np.isfinite(full) if nodata is None or np.isnan(nodata) else np.isfinite(full) & (full != nodata)
    assert_levels(levels, full, valid)
    if nodata is not None and not np.isnan(nodata):  # a block of nodata only is nodata
        assert (np.asarray(levels[2])[:, 0] == nodata).all()


def test_coarse_levels_of_a_file_with_an_internal_mask(tmp_path, monkeypatch):
    """A uint16 file with an internal mask (no nodata): its masked pixels (7) are left out of the
    average; a block masked whole shows the full resolution's 7. Before: GDAL wrote 0 there."""
    a = scene("uint16", 7, np.random.default_rng(2))
    mask = np.where(a[0] == 7, 0, 255).astype(np.uint8)
    path = write(tmp_path / "m.tif", a, mask=mask, tiled=True, blockxsize=16, blockysize=16)
    (levels, _, _), = open_lazily(path, monkeypatch)
    (full, kwargs, _), = layer_data_from_geotiff(path)
    assert kwargs["metadata"]["nodata"] is None
    assert_levels(levels, full, mask > 0)
    assert (np.asarray(levels[2])[:, 0] == 7).all()


@pytest.mark.parametrize("count", [3, 4])
def test_coarse_levels_of_bands_whose_nodata_differ(tmp_path, monkeypatch, count):
    """uint16 bands whose nodata differ (a .aux.xml: band 1 none, band 2 0, band 3 9): each band
    averages its own valid pixels, its nodata said as the layer's one value (0), as the full
    resolution says it (an RGB layer of 3 bands, band layers of 4)."""
    rng = np.random.default_rng(3)
    a = rng.integers(100, 1000, (count, H, W)).astype(np.uint16)
    a[1, :, :6], a[2, 20:, :] = 0, 9
    path = write(tmp_path / "b.tif", a, photometric="rgb" if count == 3 else "minisblack")
    (tmp_path / "b.tif.aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="2"><NoDataValue>0</NoDataValue></PAMRasterBand>'
        '<PAMRasterBand band="3"><NoDataValue>9</NoDataValue></PAMRasterBand></PAMDataset>')
    monkeypatch.setattr("napari_ldcsr.io._raster_layers.is_rgb", lambda c, d, ci: c == 3)
    read = open_lazily(path, monkeypatch)
    eager = layer_data_from_geotiff(path)[0][0]
    full = np.moveaxis(eager, 0, -1) if count == 4 else eager
    if count == 3:
        (levels, _, _), = read
    else:
        levels = [np.stack([np.asarray(band[i]) for band, _, _ in read], -1) for i in range(4)]
    valid = full != 0
    valid[..., 0] = True  # band 1 declares none
    assert_levels(levels, full, valid)
    assert (np.asarray(levels[3])[:, :, 2] == 0).any()  # band 3's nodata (9) as the layer's 0


def test_coarse_levels_of_an_rgba_layer_leave_transparent_pixels_out(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    a = rng.integers(1, 255, (4, H, W)).astype(np.uint8)
    a[3] = 255
    a[3, :, :7] = 0
    a[:3, :, :7] = 3
    path = write(tmp_path / "a.tif", a, photometric="rgb", alpha="yes")
    (levels, kwargs, _), = open_lazily(path, monkeypatch)
    assert kwargs["rgb"] and levels[0].shape[-1] == 4
    full = np.asarray(levels[0])
    valid = np.repeat(full[..., 3:] > 0, 4, -1)
    valid[..., 3] = True  # alpha itself: every pixel's
    assert_levels(levels, full, valid)


def test_coarse_levels_read_the_files_overviews(tmp_path, monkeypatch):
    """The level of an overview's factor is that overview's pixels; the next coarser one the valid
    mean of them (nothing read at full resolution for either)."""
    a = scene("int16", -9999, np.random.default_rng(5))
    path = write(tmp_path / "o.tif", a, -9999, overviews=[2])
    (levels, _, _), = open_lazily(path, monkeypatch)
    with rasterio.open(path, overview_level=0) as ovr:
        two = ovr.read(1)
    np.testing.assert_array_equal(np.asarray(levels[1]), two)
    np.testing.assert_array_equal(np.asarray(levels[2]), reference(two, two != -9999, 2))


@pytest.mark.parametrize("built_with", [None, 0])
def test_overviews_averaged_before_the_nodata_was_declared_are_not_shown(tmp_path, monkeypatch, built_with):
    """A file whose overviews were averaged while it declared no nodata (or 0), its nodata (-9999)
    set after (rasterio's build_overviews, then the nodata; gdaladdo, then gdal_edit -a_nodata): its
    coarse levels are the valid mean of its full resolution, not those overviews. Before: the ×2 level
    showed the overview as it is, -9999 averaged into the pixels beside the nodata (-2425 … 99: dark
    edges zoomed out, a contrast range down to them), the full resolution right."""
    a = scene("int16", -9999, np.random.default_rng(5))
    path = write(tmp_path / "late.tif", a, built_with, overviews=[2, 4])
    with rasterio.open(path, "r+") as dst:
        dst.nodata = -9999
    with rasterio.open(path, overview_level=0) as ovr:
        two = ovr.read(1)
    assert ((two > -9999) & (two < 100)).any()  # the overview mixed nodata into the data
    (levels, kwargs, _), = open_lazily(path, monkeypatch)
    (full, _, _), = layer_data_from_geotiff(path)
    assert_levels(levels, full, full != -9999)
    assert kwargs["contrast_limits"][0] >= 100


def test_overviews_picked_by_nearest_before_the_nodata_was_declared_are_shown(tmp_path, monkeypatch):
    """Overviews built by nearest (GDAL's RESAMPLING tag) copy pixels, nodata or data, whatever was
    declared: the level of their factor is their pixels, the next the valid mean of them."""
    a = scene("int16", -9999, np.random.default_rng(5))
    path = tmp_path / "near.tif"
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype="int16", crs="EPSG:32633",
                       transform=from_origin(600000, 5340000, 10, 10)) as dst:
        dst.write(a)
        dst.build_overviews([2], Resampling.nearest)
    with rasterio.open(path, "r+") as dst:
        dst.nodata = -9999
    (levels, _, _), = open_lazily(path, monkeypatch)
    with rasterio.open(path, overview_level=0) as ovr:
        assert ovr.nodata is None and ovr.tags(1)["RESAMPLING"] == "NEAREST"
        two = ovr.read(1)
    np.testing.assert_array_equal(np.asarray(levels[1]), two)
    np.testing.assert_array_equal(np.asarray(levels[2]), reference(two, two != -9999, 2))


@pytest.mark.parametrize("dtype,nodata", [("int16", -9999), ("float32", -9999.0), ("uint16", 0)])
def test_a_lazy_layer_opens_with_the_contrast_of_its_valid_pixels(tmp_path, monkeypatch, make_napari_viewer,
                                                                   dtype, nodata):
    """Before: napari's own range of the coarsest level, nodata included: -9999 … 999 on a scene
    of 100 … 999 (its valid pixels all shown near white)."""
    a = scene(dtype, nodata, np.random.default_rng(6))
    path = write(tmp_path / "c.tif", a, nodata)
    (levels, kwargs, _), = open_lazily(path, monkeypatch)
    viewer = make_napari_viewer()
    layer = viewer.add_image(levels, **kwargs)
    top = np.asarray(levels[-1])
    ok = top[top != nodata]
    assert ok.size and ok.size < top.size  # the coarsest level has nodata pixels
    assert tuple(layer.contrast_limits) == (float(ok.min()), float(ok.max()))
    assert 100 <= layer.contrast_limits[0] < layer.contrast_limits[1] <= 1000


def test_a_file_read_whole_opens_with_the_contrast_of_its_valid_pixels(tmp_path, make_napari_viewer):
    """The eager reader's layers follow the same rule (one per band: each its own); a file without
    nodata keeps napari's own range. Before: -9999 … 999."""
    a = np.concatenate([scene("int16", -9999, np.random.default_rng(7)), scene("int16", -9999, np.random.default_rng(8))])
    a[1][a[1] != -9999] += 2000
    path = write(tmp_path / "e.tif", a, -9999)
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    assert len(layers) == 2 and not layers[0].multiscale
    for layer, band in zip(layers, a):
        ok = band[band != -9999]
        assert tuple(layer.contrast_limits) == (float(ok.min()), float(ok.max()))
    plain = write(tmp_path / "p.tif", a[:1])
    layer, = viewer.open(str(plain), plugin="napari-ldcsr")
    assert tuple(layer.contrast_limits) == (-9999.0, float(a[0].max()))


def test_a_coarse_level_of_a_scene_without_overviews_is_averaged_in_bounded_memory(tmp_path, monkeypatch):
    """Opening (the coarsest level's contrast) and reading a coarse level of a file without overviews
    hold a few rows of blocks at a time, not the full-resolution window under the level (the whole
    scene for the coarsest level: 3x its size was held at once, ~30 GB for a 40000² uint16 RGB scene);
    the pixels are the valid mean of the whole window, as before."""
    import tracemalloc

    from ldcsr_core.geo.nodata_masks import valid_block_mean

    import napari_ldcsr.io._lazy as lazy

    h, w = 3001, 4100  # 24.6 MB of uint16, not a multiple of the coarsest factor (16)
    rng = np.random.default_rng(7)
    a = rng.integers(100, 1000, (1, h, w)).astype("uint16")
    a[0, :, :300] = 0
    a[0][rng.random((h, w)) < 0.05] = 0
    path = write(tmp_path / "big.tif", a, 0, tiled=True, blockxsize=512, blockysize=512, compress="deflate")
    monkeypatch.setattr(lazy, "TOP_LEVEL_SIDE", 512)
    (small, _, _), = lazy.lazy_layer_data(write(tmp_path / "small.tif", a[:, :8, :8], 0))
    np.asarray(small[-1])  # the imports of opening and reading, before memory is traced

    def peak(fn):  # the most memory allocated at once while fn runs, above what was held before
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        return fn(), tracemalloc.get_traced_memory()[1] - before

    tracemalloc.start()
    try:
        ((levels, kwargs, _),), opened = peak(lambda: lazy.lazy_layer_data(path))  # the coarsest level's contrast
        top, read = peak(lambda: np.asarray(levels[-1]))
    finally:
        tracemalloc.stop()
    assert len(levels) == 5 and top.shape == (188, 257)
    assert max(opened, read) < a.nbytes / 2, (opened, read, a.nbytes)  # was ~3x a.nbytes each
    want, valid = valid_block_mean(a, a != 0, 16, 0)
    np.testing.assert_array_equal(top, want[0])
    assert kwargs["contrast_limits"] == [float(want[0][valid[0]].min()), float(want[0][valid[0]].max())]
    np.testing.assert_array_equal(np.asarray(levels[2]), valid_block_mean(a, a != 0, 4, 0)[0][0])


def whole_file_cases(rng):
    """(name, data, nodata, write's extras, validity by the rule) of files read whole."""
    i16 = rng.integers(100, 1000, (2, 41, 23)).astype("int16")
    i16[:, :9] = -9999  # a band's first rows: no valid pixel
    i16[1, 20:, 5] = -9999
    i16[1][i16[1] != -9999] += 2000
    f32 = rng.normal(300, 50, (3, 41, 23)).astype("float32")
    f32[0, 3, 4], f32[1, 30, 2], f32[2, :, :6] = np.nan, np.inf, -9999
    f32[1, 40, 22] = -np.inf
    one = np.full((1, 41, 23), 5, "uint16")  # one value: napari's 0 … max(v, 1)
    one[0, ::3] = 0
    masked = rng.integers(100, 60000, (1, 41, 23)).astype("uint16")
    mask = np.where(rng.random((41, 23)) < 0.3, 0, 255).astype(np.uint8)
    rgba = rng.integers(100, 50000, (4, 41, 23)).astype("uint16")
    rgba[3] = np.where(rng.random((41, 23)) < 0.2, 0, 40000)
    return [("int16", i16, -9999, {}, i16 != -9999),
            ("float32", f32, -9999, {}, np.isfinite(f32) & (f32 != -9999)),
            ("one value", one, 0, {}, one != 0),
            ("mask", masked, None, {"mask": mask}, np.broadcast_to(mask > 0, masked.shape)),
            ("rgba", rgba, None, {"photometric": "rgb", "alpha": "yes"},
             np.concatenate([np.broadcast_to(rgba[3] > 0, (3, 41, 23)), np.ones((1, 41, 23), bool)]))]


@pytest.mark.parametrize("pixels", [1, 3 * 23 * 4, 2**30])  # one row per pass, a few, the whole file
def test_a_file_read_whole_has_its_valid_pixels_contrast_measured_a_few_rows_at_a_time(tmp_path, monkeypatch, pixels):
    """The eager reader measures the contrast a few rows at a time (_raster_layers.CONTRAST_PIXELS):
    the limits are the min … max of the valid pixels of the whole file (each band layer its own; an
    RGBA layer its colour bands together, not its alpha), whatever the passes."""
    import napari_ldcsr.io._raster_layers as rl

    monkeypatch.setattr(rl, "CONTRAST_PIXELS", pixels)
    for name, data, nodata, extra, valid in whole_file_cases(np.random.default_rng(3)):
        (_, kwargs, _), = layer_data_from_geotiff(write(tmp_path / "c.tif", data, nodata, **extra))
        ok = [band[v] for band, v in zip(data, valid)]
        if name == "rgba":
            ok = [np.concatenate(ok[:3])]
        want = [[float(v.min()), float(v.max())] for v in ok]
        if name == "one value":
            want = [[0.0, 5.0]]
        assert kwargs["contrast_limits"] == (want if len(want) > 1 else want[0]), name


def test_a_file_read_whole_measures_its_contrast_in_bounded_memory(tmp_path):
    """Opening a scene whole with nodata holds the scene and a few hundred kB for its contrast, not
    a mask of the whole scene and a copy of a band's valid pixels (+0.7x the scene before: a
    4 x 5900 x 6000 uint16 Sentinel-2 tile held 469 MiB instead of 270 MiB); the limits stay each
    band's valid min … max."""
    import tracemalloc

    rng = np.random.default_rng(5)
    a = rng.integers(100, 1000, (4, 1000, 1500)).astype("uint16")  # 12 MB
    a[:, :, :80] = 0
    a[rng.random(a.shape) < 0.05] = 0
    path = write(tmp_path / "s2.tif", a, 0, tiled=True, compress="deflate")
    layer_data_from_geotiff(write(tmp_path / "small.tif", a[:, :8, :8], 0))  # imports, before memory is traced
    tracemalloc.start()
    try:
        (_, kwargs, _), = layer_data_from_geotiff(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - a.nbytes < a.nbytes / 10, (peak, a.nbytes)  # was +0.7x a.nbytes
    assert kwargs["contrast_limits"] == [[float(b[b != 0].min()), float(b[b != 0].max())] for b in a]
