"""Band grouping, stretch round trips, nodata fill and restore, nearest-neighbour geometry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldcsr_core.geo import radiometry as rad
from ldcsr_core.errors import InputError


# --- band plans ----------------------------------------------------------------------------


def test_grayscale_is_replicated_and_averaged_back():
    plan = rad.plan_bands(1, ["gray"])
    assert plan.groups == ((0, 0, 0),)
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    model_in = plan.gather(x)
    assert model_in.shape == (3, 4, 3)
    assert np.array_equal(model_in[..., 0], model_in[..., 2])
    out = model_in.copy()
    out[..., 0] += 1.0  # channels disagree after the model: the band is their mean
    out[..., 1] -= 0.5
    back = plan.scatter(out)
    assert back.shape == (1, 3, 4)
    np.testing.assert_allclose(back[0], x[0] + 0.5 / 3, rtol=0, atol=1e-6)


@pytest.mark.parametrize("count", [1, 2], ids=["grey", "two bands"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_a_replicated_band_is_the_mean_of_its_clipped_channels_in_a_run(tmp_path, count, dtype):
    """The sink of ``ldcsr upscale`` and a napari Run (RasterSink) clips each model channel to
    [0, 1] before it averages a replicated band's channels back, as ``upscale`` clips and the live
    lens averages (BandPlan.unit_planes). Before, it averaged and then clipped: channels 0.98,
    1.05, 0.98 of a grey band gave the stretch's top (their mean 1.003, clipped) instead of 0.987."""
    import rasterio

    from ldcsr_core.geo.scene_io import ArrayWriter, RasterSink, SceneReader

    path = tmp_path / "grey.tif"
    data = np.random.default_rng(0).integers(40, 200, (count, 8, 8)).astype(dtype)
    with rasterio.open(path, "w", driver="GTiff", height=8, width=8, count=count, dtype=dtype) as dst:
        dst.write(data)
    with rasterio.open(path) as src:
        reader = SceneReader(src, stretch="dtype")  # nothing beyond the stretch to add back
        rows = np.full((16, 16, 3), 0.5, np.float32)
        rows[0], rows[1] = (0.98, 1.05, 0.98), (0.02, -0.05, 0.02)  # one channel beyond [0, 1]
        writer = ArrayWriter(count, (16, 16), reader.dtype)
        RasterSink(reader, writer, (16, 16))(0, rows)
    band, chans = (0, [0, 1, 2]) if count == 1 else (1, [1, 2])  # two bands: (0, 1, 1)
    assert reader.plan.groups == ((0, 0, 0),) if count == 1 else ((0, 1, 1),)
    unit = np.clip(rows, 0.0, 1.0)[..., chans].mean(axis=-1)  # 0.987 / 0.99 on row 0, not 1
    assert np.array_equal(writer.data[band], reader.stretch.from_unit([unit], [band])[0])
    top, bottom = (reader.stretch.from_unit([np.full((1, 1), v, np.float32)], [band])[0, 0, 0] for v in (1, 0))
    assert (writer.data[band][0] < top).all() and (writer.data[band][1] > bottom).all()


def test_rgba_alpha_is_a_mask_not_a_colour():
    plan = rad.plan_bands(4, ["red", "green", "blue", "alpha"])
    assert plan.groups == ((0, 1, 2),)
    assert plan.alpha == (3,)
    assert plan.colour == (0, 1, 2)


def test_rgb_nir_and_band_selection():
    plan = rad.plan_bands(4, ["red", "green", "blue", "undefined"])
    assert plan.groups == ((0, 1, 2), (3, 3, 3))  # every band is super-resolved
    sel = rad.plan_bands(4, ["red", "green", "blue", "undefined"], bands="4,3,2")
    assert sel.groups == ((3, 2, 1), (0, 0, 0))
    x = np.stack([np.full((2, 2), v, np.float32) for v in (10, 20, 30, 40)])
    back = sel.scatter(sel.gather(x))
    np.testing.assert_array_equal(back, x)  # identity model: every band back in its place


def test_many_bands_go_in_triplets():
    plan = rad.plan_bands(8, None, bands=(3, 2, 1))
    assert plan.groups == ((2, 1, 0), (3, 4, 5), (6, 7, 7))
    x = np.random.default_rng(0).random((8, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(plan.scatter(plan.gather(x)), x, atol=1e-7)


@pytest.mark.parametrize("bad", ["0,1,2", "1,2,9", "a,b,c", "1,2", "4,3,2"])
def test_bad_band_selection(bad):
    with pytest.raises(InputError):
        rad.plan_bands(4, ["red", "green", "blue", "alpha"], bands=bad)


# --- stretch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype,lo,hi", [("uint16", 0, 65535), ("int16", -32768, 32767),
                                         ("uint8", 0, 255), ("float32", -5.0, 5.0)])
def test_stretch_round_trip_and_clipping(dtype, lo, hi):
    rng = np.random.default_rng(1)
    span_lo, span_hi = (lo + (hi - lo) * 0.2, lo + (hi - lo) * 0.7)
    x = rng.uniform(span_lo, span_hi, (2, 64, 64))
    x = x.astype(dtype) if dtype == "float32" else np.rint(x).astype(dtype)
    valid = np.ones(x.shape, bool)
    s = rad.compute_stretch(x, valid, dtype, percentiles=(0, 100))
    u = s.to_unit(x)
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() <= 1
    back = s.from_unit(u)
    assert back.dtype == np.dtype(dtype)
    tol = 1 if dtype != "float32" else 1e-5 * (hi - lo)
    assert np.abs(back.astype(np.float64) - x.astype(np.float64)).max() <= tol
    # Model overshoot beyond [0, 1] maps back clipped to the dtype's range, never wrapped.
    big = s.from_unit(np.full((2, 1, 1), 1e6, np.float32))
    assert np.all(big == rad.dtype_range(dtype)[1]) if dtype != "float32" else np.isfinite(big).all()
    small = s.from_unit(np.full((2, 1, 1), -1e6, np.float32))
    if dtype != "float32":
        assert np.all(small == rad.dtype_range(dtype)[0])


@pytest.mark.parametrize("dtype,lo,hi", [("uint8", 0.0, 255.0), ("uint16", 113.0, 4071.5),
                                         ("int32", -100000.5, 2e9), ("float32", -3.2, 17.9)])
def test_from_unit_by_chunks_equals_the_whole_array_formula(dtype, lo, hi):
    """The chunked, in-place conversion back to the source's units gives exactly what one float64
    expression over the whole array gives, also into planes of a larger array and past one chunk."""
    rng = np.random.default_rng(3)
    u = rng.uniform(-0.05, 1.05, (3, 97, rad._CHUNK // 50)).astype(np.float32)  # > one chunk per band
    s = rad.Stretch((lo, lo + 1, lo - 2), (hi, hi * 0.5 + 1, hi), dtype)
    idx = [2, 0]
    span = np.asarray([s.hi[i] - s.lo[i] for i in idx], np.float64)[:, None, None]
    ref = u[:2].astype(np.float64) * span + np.asarray([s.lo[i] for i in idx], np.float64)[:, None, None]
    if np.dtype(dtype).kind in "ui":
        ref = np.rint(ref)
    ref = np.clip(ref, *rad.dtype_range(dtype)).astype(dtype)
    np.testing.assert_array_equal(s.from_unit(u[:2], idx), ref)
    planes = np.zeros((4,) + u.shape[1:], dtype)
    s.from_unit(u[:2], idx, out=[planes[3], planes[1]])
    np.testing.assert_array_equal(planes[[3, 1]], ref)
    assert not planes[[0, 2]].any()
    strided = np.zeros(u.shape[1:] + (2,), dtype)  # planes that are not contiguous are written too
    s.from_unit(u[:2], idx, out=[strided[..., 0], strided[..., 1]])
    np.testing.assert_array_equal(np.moveaxis(strided, -1, 0), ref)
    hwc = np.ascontiguousarray(np.moveaxis(u[:2], 0, -1))  # ... and read from channel views
    np.testing.assert_array_equal(s.from_unit([hwc[..., 0], hwc[..., 1]], idx), ref)
    clipped = np.clip(u[:2], 0.0, 1.0)  # clip_unit: as clipping the float32 input first
    np.testing.assert_array_equal(s.from_unit(u[:2], idx, clip_unit=True), s.from_unit(clipped, idx))
    assert not np.array_equal(clipped, u[:2])


@pytest.mark.parametrize("dtype,offset", [("int32", 2_000_000_000), ("uint32", 4_000_000_000),
                                          ("int64", 2 ** 40), ("float64", 1e8)])
def test_a_band_far_from_zero_keeps_its_levels(dtype, offset):
    """to_unit of a wide type: a band of a few hundred levels near 2e9 (int32) or 1e8 (float64)
    reaches the model as near 0 (float32 has steps of 256 and 8 there; it had one or two levels)."""
    base = np.arange(256, dtype=np.float64).reshape(1, 16, 16) * 3  # 0 ... 765
    x = (base + offset).astype(dtype)
    s = rad.compute_stretch(x, np.ones(x.shape, bool), dtype, percentiles=(0, 100))
    u = s.to_unit(x)
    assert u.dtype == np.float32 and len(np.unique(u)) == 256
    np.testing.assert_allclose(u, base / 765, atol=1e-6)
    back = s.from_unit(u)  # and back: the very values (a float's within float32's step of the span)
    np.testing.assert_allclose(back - offset, base, rtol=0, atol=0 if dtype != "float64" else 1e-4)


def test_a_scene_far_from_zero_gives_the_picture_near_zero_shifted(tmp_path, tiny_model):
    """The same int32 scene stored with an offset of 2e9 gives the same output plus the offset."""
    pytest.importorskip("rasterio")
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    from .conftest import smooth_field, write_tif

    data = smooth_field(np.random.default_rng(8), 24, 32, 3, 0, 3000).round()
    near = write_tif(tmp_path / "near.tif", data, dtype="int32")
    far = write_tif(tmp_path / "far.tif", data + 2_000_000_000, dtype="int32")
    opts = UpscaleOptions(mode="fast")
    a = upscale_window(near, model=tiny_model, scale=2, options=opts).data.astype(np.int64)
    b = upscale_window(far, model=tiny_model, scale=2, options=opts).data.astype(np.int64)
    assert np.abs(b - 2_000_000_000 - a).max() <= 1


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_a_target_beyond_the_stretch_keeps_its_value(tmp_path, tiny_model, dtype):
    """A ship of 2 pixels (3000) on water (300 ± 5) lies beyond the 99.95th percentile: it kept
    only the stretch's end (about 316: the ship was gone), and a dark pixel (-200) below the low
    one its other end. Their excess is added back, nearest neighbour: on the output (model value
    within the stretch's 33 levels plus the excess) the ship reads 3000 - 33 ... 3000, the dark
    pixel -200 ... -167; the water elsewhere is the picture without them. Also the bicubic baseline."""
    pytest.importorskip("rasterio")
    from ldcsr_core.geo.pipeline import UpscaleOptions, bicubic_window, upscale_window

    from .conftest import write_tif

    rng = np.random.default_rng(0)
    water = (300 + 5 * rng.standard_normal((3, 64, 64))).round()
    scene = water.copy()
    scene[:, 10:12, 7] = 3000
    scene[:, 40, 50] = -200
    opts = UpscaleOptions(mode="fast")
    w = write_tif(tmp_path / "w.tif", water, dtype=dtype)
    p = write_tif(tmp_path / "s.tif", scene, dtype=dtype)
    for out in (upscale_window(p, model=tiny_model, scale=2, options=opts).data,
                bicubic_window(p, scale=2, options=opts).data):
        out = out.astype(np.float64)
        ship, dark = out[:, 20:24, 14:16], out[:, 80:82, 100:102]
        assert ship.min() >= 3000 - 40 and ship.max() <= 3000, ship
        assert dark.min() >= -200 and dark.max() <= -200 + 40, dark
        rest = np.ones(out.shape[1:], bool)
        rest[20:24, 14:16] = rest[80:82, 100:102] = False
        assert 250 < out[:, rest].min() and out[:, rest].max() < 350
    base = upscale_window(w, model=tiny_model, scale=2, options=opts).data.astype(np.float64)
    out = upscale_window(p, model=tiny_model, scale=2, options=opts).data.astype(np.float64)
    assert np.abs(out - base)[:, rest].mean() < 1


@pytest.mark.parametrize("dtype", ["int64", "uint64", "int32", "uint32"])
def test_the_top_of_a_64_bit_range_does_not_wrap_around(dtype):
    """White (1.0, or model overshoot) under a stretch to the top of int64/uint64 (--stretch dtype)
    gave 2**63 / 2**64 in float64, which the cast wrapped to the type's minimum: white became black."""
    lo, hi = rad.dtype_range(dtype)
    s = rad.Stretch((lo,), (hi,), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'invalid value encountered in cast'
        out = s.from_unit(np.array([[[0.0, 1.0, 1.2]]], np.float32), clip_unit=True)
    info = np.iinfo(dtype)
    assert out[0, 0, 0] == info.min and out[0, 0, 1] > info.max // 2 and out[0, 0, 2] == out[0, 0, 1]
    assert int(info.max) - int(out[0, 0, 1]) <= 2048


@pytest.mark.parametrize("dtype,values", [("float32", (0.0, 5e-9)), ("float64", (-3.5, 1e6)),
                                          ("uint16", (0, 1234))])
def test_a_constant_band_comes_back_as_it_was(tmp_path, dtype, values):
    """A constant band (a zero band of a stack, a flat value) maps back to that value whatever
    the model makes of it. Its stretch had a span of 1e-6 (float) or 1 (integer) above it, so
    the shipped model's output came back as up to 1.9e-7 on a zero band, 5e-9 as 8.9e-9."""
    x = np.stack([np.full((6, 6), v) for v in values]).astype(dtype)
    s = rad.compute_stretch(x, np.ones(x.shape, bool), dtype)
    assert s.lo == s.hi == tuple(float(np.asarray(v, dtype)) for v in values)
    assert not s.to_unit(x).any()
    back = s.from_unit(np.full((2, 1, 3), (0.0, 0.7, 1.0), np.float32), clip_unit=True)
    assert (back == x[:, :1, :3]).all()
    bright = x.copy()
    bright[:, 0, 0] += 7  # a value the scene's sample missed: beyond the stretch, given back
    assert (s.excess(bright[0], 0) == np.where(bright[0] != x[0], 7, 0)).all()
    if dtype != "float32":
        return
    pytest.importorskip("rasterio")
    import ldcsr_core
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    from .conftest import smooth_field, write_tif

    var = smooth_field(np.random.default_rng(2), 24, 24, 1, 0, 1)
    src = write_tif(tmp_path / "c.tif", np.concatenate([var, x[:, :1, :1] * np.ones((2, 24, 24))]), dtype=dtype)
    out = upscale_window(src, model=ldcsr_core.load_model(), scale=2, options=UpscaleOptions(mode="fast")).data
    assert (out[1] == 0).all() and (out[2] == np.float32(5e-9)).all()


def test_stretch_ignores_nodata_and_nan():
    x = np.full((1, 10, 10), 1000, np.uint16)
    x[0, :5] = 3000
    x[0, 0, 0] = 0  # nodata
    valid = rad.valid_mask(x, 0)
    s = rad.compute_stretch(x, valid, "uint16", percentiles=(0, 100))
    assert s.lo == (1000.0,) and s.hi == (3000.0,)
    f = np.where(x > 0, x, np.nan).astype(np.float32)
    s2 = rad.compute_stretch(f, rad.valid_mask(f), "float32", percentiles=(0, 100))
    assert (s2.lo, s2.hi) == ((1000.0,), (3000.0,))


def test_uint8_auto_stretch_is_identity_range():
    x = np.random.default_rng(0).integers(50, 100, (3, 8, 8)).astype(np.uint8)
    s = rad.compute_stretch(x, np.ones(x.shape, bool), "uint8")
    assert s.lo == (0.0,) * 3 and s.hi == (255.0,) * 3


# --- masks -----------------------------------------------------------------------------------


def test_valid_mask_nodata_nan_alpha():
    x = np.ones((4, 3, 3), np.float32)
    x[0, 0, 0] = -9999
    x[1, 1, 1] = np.nan
    x[3] = 255
    x[3, 2, 2] = 0
    v = rad.valid_mask(x, -9999, alpha=(3,))
    assert not v[0, 0, 0] and v[1, 0, 0]  # nodata is per band
    assert not v[1, 1, 1] and v[0, 1, 1]
    assert not v[:3, 2, 2].any()  # alpha masks every colour band
    assert v[3].all()  # the alpha band itself is copied, always "valid"


def test_fill_invalid_removes_nan_and_continues_edges():
    u = np.full((1, 20, 20), 0.3, np.float32)
    u[0, :, 10:] = np.nan
    valid = np.isfinite(u)
    rad.fill_invalid(u, valid, fill=[0.9], iters=4)
    assert np.isfinite(u).all()
    np.testing.assert_allclose(u[0, :, 10:14], 0.3, atol=1e-6)  # grown from the edge
    np.testing.assert_allclose(u[0, :, 15:], 0.9)  # beyond reach: the scene fill value
    assert np.all(u[0, :, :10] == 0.3)  # valid pixels untouched


def test_restore_nodata_nudges_valid_pixels_off_the_nodata_value():
    v = np.array([[0, 5, 0]], np.uint16)
    valid = np.array([[True, True, False]])
    out = rad.restore_nodata(v.copy(), valid, 0, "uint16")
    assert out.tolist() == [[1, 5, 0]]
    f = np.array([[0.5, 0.2]], np.float32)
    out = rad.restore_nodata(f.copy(), np.array([[True, False]]), None, "float32")
    assert out[0, 0] == 0.5 and np.isnan(out[0, 1])


def test_to_unit_of_float32_fill_values_is_quiet():
    """-3.4e38, float32's usual nodata, overflows (x - lo) / span; it saturates to 0 without the
    RuntimeWarning that a CLI run would print with a source line on stderr."""
    import warnings

    s = rad.Stretch((0.0,), (1e-3,), "float32")
    x = np.array([[[-3.4028234663852886e38, 5e-4]]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s.to_unit(x).tolist() == [[[0.0, 0.5]]]


def test_a_fractional_nodata_of_an_integer_band_is_the_value_gdal_masks():
    """GDAL masks the nodata value as the band's type holds it (0.5 on uint8: 0), and rasterio
    reports 0.5: the pixels GDAL calls nodata stay nodata, in and out."""
    x = np.array([[[0, 5, 7]]], np.uint8)
    assert rad.valid_mask(x, 0.5).tolist() == [[[False, True, True]]]
    assert rad.valid_mask(x, (7.9,)).tolist() == [[[True, True, False]]]
    out = rad.restore_nodata(np.array([[0, 5, 9]], np.uint8), np.array([[True, True, False]]), 0.5, "uint8")
    assert out.tolist() == [[1, 5, 0]]


def test_a_fractional_nodata_of_an_integer_raster_keeps_its_mask(tmp_path, tiny_model):
    rasterio = pytest.importorskip("rasterio")
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from .conftest import smooth_field, write_tif

    data = smooth_field(np.random.default_rng(5), 30, 40, 3, 20, 250).round()
    data[:, :10, :12] = 0
    src = write_tif(tmp_path / "nd_half.tif", data, dtype="uint8", nodata=0.5)
    with rasterio.open(src) as ds:
        assert ds.nodata == 0.5 and (ds.dataset_mask() == 0).sum() == 120  # GDAL: 0 is nodata
    upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2,
                   options=UpscaleOptions(mode="fast"))
    with rasterio.open(tmp_path / "o.tif") as o:
        m = o.dataset_mask()
    assert (m[:20, :24] == 0).all() and (m == 0).sum() == 480


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(1, 500), factor=st.floats(1.01, 8.0))
def test_nearest_index_matches_pixel_centres(n_in, factor):
    n_out = max(n_in + 1, round(n_in * factor))
    idx = rad.nearest_index(n_in, n_out, 0, n_out)
    assert idx.min() == 0 and idx.max() == n_in - 1
    assert np.all(np.diff(idx) >= 0) and np.all(np.diff(idx) <= 1)
    centres = (np.arange(n_out) + 0.5) * n_in / n_out
    assert np.all(idx <= centres) and np.all(centres < idx + 1 + 1e-9)
    # A window of rows gives the same indices as the whole.
    a = n_out // 3
    np.testing.assert_array_equal(rad.nearest_index(n_in, n_out, a, n_out - a), idx[a:])


def test_suggest_bands_sentinel2_rule():
    from ldcsr_core.geo.radiometry import suggest_bands

    assert suggest_bands(13) == (4, 3, 2) and suggest_bands(12) == (4, 3, 2)
    assert suggest_bands(4) is None and suggest_bands(3) is None and suggest_bands(10) is None
    # Named bands win over position, whatever their order.
    assert suggest_bands(4, ["B4 red", "B3 green", "B2 blue", "B8 nir"]) == (1, 2, 3)
    assert suggest_bands(5, ["B08", "B02", "B03", "B04", "B11"]) == (4, 3, 2)
    assert suggest_bands(13, ["B02_10m", "B03_10m", "B04_10m"] + [None] * 10) == (3, 2, 1)
    # Names that are not Sentinel-2 bands, or lack one of B2..B4: first three (None).
    assert suggest_bands(13, ["red"] * 13) is None
    assert suggest_bands(4, ["B8", "B4", "B3", "B11"]) is None
    assert suggest_bands(3, ["B12", "B1", "B10"]) is None


def test_dtype_stretch_that_crushes_a_band_warns(caplog):
    x = np.random.default_rng(0).integers(28_000, 225_000, (1, 20, 20)).astype(np.uint32)
    with caplog.at_level("WARNING", logger="ldcsr_core.geo.radiometry"):
        rad.compute_stretch(x, np.ones(x.shape, bool), "uint32", method="dtype")
    assert "band 1 spans" in caplog.text and "'percentile'" in caplog.text
    caplog.clear()
    y = np.random.default_rng(0).integers(0, 60_000, (1, 20, 20)).astype(np.uint16)  # uses the range
    with caplog.at_level("WARNING", logger="ldcsr_core.geo.radiometry"):
        rad.compute_stretch(y, np.ones(y.shape, bool), "uint16", method="dtype")
    assert caplog.text == ""


def test_undeclared_fill_values_are_refused():
    dem = np.linspace(300, 700, 400, dtype=np.float32).reshape(1, 20, 20)
    dem[:, :5] = np.finfo(np.float32).min
    with pytest.raises(InputError, match="fill value that the file does not declare as nodata"):
        rad.compute_stretch(dem, rad.valid_mask(dem), "float32")
    dem[:, :5] = np.nan  # NaN is invalid already: fine
    s = rad.compute_stretch(dem, rad.valid_mask(dem), "float32", percentiles=(0, 100))
    assert s.lo[0] >= 300 and s.hi[0] <= 700
