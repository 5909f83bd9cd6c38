"""One rule for the arguments every entry point shares (upscale, selfcheck, adapt, upscale_window,
upscale_raster): the image array, the model, one scale, whole counts. Each used to be checked by
upscale alone, so the others took what it refuses silently or failed deep inside with a traceback."""

import os

import numpy as np
import PIL.Image
import pytest
import rasterio
import torch

import ldcsr_core
from ldcsr_core import InputError
from ldcsr_core.config import tiny_test_config
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster, upscale_window
from ldcsr_core.geo.raster_io import dataset_from_array


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


def _image(n=64):
    return np.random.default_rng(0).integers(0, 256, (n, n, 3), dtype=np.uint8)


def _selfcheck(tiny, scene, scale=2, **kw):
    return ldcsr_core.selfcheck(scene, scale, model=tiny, mode="fast", **kw)


def _adapt(tiny, scene, scale=2, **kw):
    return ldcsr_core.adapt(scene, scale, tiny, **{"steps": 1, **kw})


@pytest.mark.parametrize("run", [_selfcheck, _adapt])
@pytest.mark.parametrize("image, match", [
    # the mask was dropped: the masked pixels were scored (and trained on) as data
    (np.ma.masked_array(_image(), mask=np.ones((64, 64, 3), bool)), "masked arrays are not supported"),
    (torch.from_numpy(_image()), r"NumPy array, got Tensor: pass image.numpy\(\)"),  # was 'no attribute crs'
    (_image().tolist(), "NumPy array, got list"),
    (PIL.Image.new("RGB", (64, 64)), r"NumPy array, got Image: pass np.asarray\(image\)"),
    (np.ascontiguousarray(_image().transpose(2, 0, 1)), r"channels first\? use image.transpose\(1, 2, 0\)"),
    (np.dstack([_image(), _image()[..., :1]]), r"RGBA\? the model takes RGB: image\[..., :3\]"),
    (np.where(_image() > 250, 1.5, 0.5), r"must lie in \[0, 1\], got values in \[0.5, 1.5\]"),
])
def test_selfcheck_and_adapt_take_arrays_by_upscales_rule(tiny, run, image, match):
    with pytest.raises(InputError, match=match):
        run(tiny, image)
    with pytest.raises(InputError, match=match):
        ldcsr_core.upscale(image, 2, model=tiny, mode="fast")


@pytest.mark.parametrize("run", [_selfcheck, _adapt])
def test_an_empty_float_scene_is_refused_by_the_size_rule(tiny, run):
    # the range check ran first: numpy's 'zero-size array to reduction operation minimum ...'
    with pytest.raises(InputError, match="the scene is 0×0 px"):
        run(tiny, np.zeros((0, 0, 3), np.float32))


@pytest.mark.parametrize("run", [_selfcheck, _adapt])
def test_selfcheck_and_adapt_say_what_is_wrong_with_a_path_alike(tiny, run, tmp_path):
    # adapt hashed the file before opening it: FileNotFoundError / IsADirectoryError with errno's
    # words (and a named pipe was waited on for ever), where selfcheck said it in one line
    (tmp_path / "folder.tif").mkdir()
    with pytest.raises(ldcsr_core.RasterIOError, match="input not found: .*missing.tif"):
        run(tiny, tmp_path / "missing.tif")
    with pytest.raises(ldcsr_core.RasterIOError, match="input is a folder, not a raster file"):
        run(tiny, str(tmp_path / "folder.tif"))


@pytest.mark.parametrize("run", [_selfcheck, _adapt])
def test_bands_and_stretch_of_an_array_scene_are_refused_not_ignored(tiny, run):
    # both were ignored: bands=(3, 2, 1) checked (or adapted on) a BGR array as it was
    with pytest.raises(InputError, match=r"bands apply to a raster .* not to an array: .*image\[..., ::-1\]"):
        run(tiny, _image(), bands=(3, 2, 1))
    with pytest.raises(InputError, match="stretch applies to a raster .* not to an array, got 'percentile'"):
        run(tiny, _image(), stretch="percentile")


def test_a_float_just_beyond_one_is_not_said_to_be_in_range(tiny):
    img = np.full((16, 16, 3), 0.5, np.float32)
    img[3, 4, 1] = np.nextafter(np.float32(1), np.float32(2))  # printed as 1 with :g
    with pytest.raises(InputError, match=r"got values in \[0.5, 1.00000012\]"):
        ldcsr_core.upscale(img, 2, model=tiny, mode="fast")


@pytest.mark.parametrize("run", [_selfcheck, _adapt])
def test_selfcheck_and_adapt_refuse_a_pair_of_different_scales(tiny, run):
    # (2, 3) ran at x2 and reported x2: the second factor was dropped silently
    with pytest.raises(InputError, match=r"one number here .* got \(2, 3\)"):
        run(tiny, _image(), (2, 3))
    assert run(tiny, _image(), (2, 2)).scale == 2.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(samples=0), "samples must be a whole number of at least 1"),  # was min() of an empty sequence
    (dict(samples=2.5), "samples must be a whole number"),
    (dict(max_pixels="4096"), "max_pixels must be a whole number"),
    (dict(sample_size=np.float64(64)), "sample_size must be a whole number"),
    (dict(model="ldcsr-compact-rsscn7"), r"pass model=ldcsr_core.load_model"),
])
def test_selfcheck_checks_its_arguments(tiny, kwargs, match):
    with pytest.raises(InputError, match=match):
        ldcsr_core.selfcheck(_image(), 2, **{"model": tiny, "mode": "fast", **kwargs})


def test_selfcheck_scales_takes_a_list_of_scales(tiny):
    # [] failed with max()'s 'arg is an empty sequence', 2 with "'int' object is not iterable"
    for scales in ([], 2, "2,4", np.array(2)):
        with pytest.raises(InputError, match=r"scales must be a list of one or more scales, e.g. \[2, 4\]"):
            ldcsr_core.selfcheck_scales(_image(), scales, model=tiny, mode="fast")
    got = ldcsr_core.selfcheck_scales(_image(), (s for s in (2, 3)), model=tiny, mode="fast", maps=False)
    assert [r.scale for r in got] == [2, 3]


@pytest.mark.parametrize("kwargs, match", [
    (dict(seed=1.5), "seed must be a whole number"),  # was taken: random.Random(1.5), torch seed 1
    (dict(steps=1.5), "steps must be a whole number"),
    (dict(minutes="3"), "minutes must be a number"),  # was "'>' not supported ..."
    (dict(base="ldcsr-compact-rsscn7"), r"pass base=ldcsr_core.load_model"),  # was "'str' ... 'to'"
    (dict(holdout=float("nan")), r"holdout must be a share .* in \[0, 1\)"),  # was int()'s ValueError
    (dict(holdout=-0.1), r"holdout must be a share"),  # was taken as 0 (the least strip)
    (dict(holdout="0.2"), "holdout must be a number"),
    (dict(recipe="fast"), "recipe must be an ldcsr_core.adaptation.Recipe, got str"),  # was an AttributeError
])
def test_adapt_checks_its_arguments(tiny, kwargs, match):
    kw = {"base": tiny, "steps": 1, **kwargs}
    with pytest.raises(InputError, match=match):
        ldcsr_core.adapt(_image(), 2, **kw)


def test_the_raster_path_takes_upscales_model_argument(tiny, tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (3, 24, 28), dtype=np.uint8)
    fast = UpscaleOptions(mode="fast")
    with dataset_from_array(img, transform=(10, 0, 500000, 0, -10, 4000000), crs=32631) as ds:
        # None: the shipped default, as upscale (it failed with "'NoneType' object has no attribute")
        got = upscale_window(ds, model=None, scale=2, options=fast).data
        want = upscale_window(ds, model=ldcsr_core.load_model(), scale=2, options=fast).data
        np.testing.assert_array_equal(got, want)
        with pytest.raises(InputError, match=r"pass model=ldcsr_core.load_model\('x'\)"):
            upscale_window(ds, model="x", scale=2, options=fast)
        with pytest.raises(InputError, match="got Linear"):
            upscale_window(ds, model=torch.nn.Linear(2, 2), scale=2, options=fast)
    with pytest.raises(InputError, match="pass model="):
        upscale_raster(tmp_path / "in.tif", tmp_path / "out.tif", model="x", scale=2)
    # an array given directly failed with "'numpy.ndarray' object has no attribute 'name'"
    with pytest.raises(InputError, match="got ndarray: wrap an array with .*dataset_from_array"):
        upscale_window(img, model=tiny, scale=2, options=fast)
    from ldcsr_core.geo.spread import upscale_window_spread
    with pytest.raises(InputError, match="got ndarray"):
        upscale_window_spread(img, model=tiny, scale=2)


def test_paths_are_checked_as_paths(tiny, tmp_path, monkeypatch):
    from ldcsr_core.geo.raster_io import read_raster, write_raster
    img = np.random.default_rng(1).integers(0, 256, (3, 16, 16), dtype=np.uint8)
    src = tmp_path / "in.tif"
    with dataset_from_array(img) as ds:
        write_raster(src, read_raster(ds))
        # pathlib's TypeError 'expected str, bytes or os.PathLike object, not _MemoryDataset'
        with pytest.raises(InputError, match="input must be a file path, got .*use .*upscale_window"):
            upscale_raster(ds, tmp_path / "out.tif", model=tiny, scale=2)
    with rasterio.open(src) as ds:  # a dataset has a .shape too: before, it was told to wrap an array
        with pytest.raises(InputError, match=r"got DatasetReader: for an open dataset, use .*upscale_window "
                                             r"\(and write_raster\)$"):
            upscale_raster(ds, tmp_path / "out.tif", model=tiny, scale=2)
    with pytest.raises(InputError, match="input must be a file path, got ndarray: .*dataset_from_array"):
        upscale_raster(img, tmp_path / "out.tif", model=tiny, scale=2)  # what ENGINE_API said it said
    with pytest.raises(InputError, match="output must be a file path, got NoneType"):
        upscale_raster(src, None, model=tiny, scale=2)
    with pytest.raises(InputError, match="input must be a file path, got NoneType"):
        read_raster(None)  # 'NoneType' object has no attribute 'transform'
    # an unset variable: Path("") is the current folder, 'input is a folder, not a raster file: .'
    monkeypatch.chdir(tmp_path)
    for call in (lambda: upscale_raster("", "out.tif", model=tiny, scale=2), lambda: read_raster(""),
                 lambda: upscale_window("", model=tiny, scale=2), lambda: _selfcheck(tiny, "")):
        with pytest.raises(InputError, match="the input path is empty"):
            call()
    with pytest.raises(InputError, match="the output path is empty"):  # was 'output path is a folder: .'
        upscale_raster(src, "", model=tiny, scale=2)
    with pytest.raises(InputError, match="the output path is empty"):
        write_raster("", read_raster(src))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_selfcheck_and_adapt_take_a_path_given_as_bytes(tiny, tmp_path):
    """ENGINE_API: paths are str, bytes or os.PathLike for selfcheck and adapt too, as for read_raster.
    Before: a bytes path was taken for an array, 'image must be a NumPy array, got bytes'."""
    from ldcsr_core.geo.raster_io import read_raster, write_raster
    img = np.random.default_rng(2).integers(0, 256, (3, 24, 24), dtype=np.uint8)
    src = tmp_path / "in.tif"
    with dataset_from_array(img) as ds:
        write_raster(src, read_raster(ds))
    by_str, by_bytes = _selfcheck(tiny, str(src)), _selfcheck(tiny, os.fsencode(src))
    assert (by_bytes.psnr_model, by_bytes.scene_shape) == (by_str.psnr_model, by_str.scene_shape) == \
        (by_str.psnr_model, (24, 24))
    for call in (lambda: _selfcheck(tiny, b""), lambda: _adapt(tiny, b"")):
        with pytest.raises(InputError, match="the input path is empty"):
            call()
    # adapt reads the file as it reads a str path: too small to hold back a strip, in the same words
    with pytest.raises(InputError) as as_str:
        _adapt(tiny, str(src))
    with pytest.raises(InputError) as as_bytes:
        _adapt(tiny, os.fsencode(src))
    assert "NumPy array" not in str(as_bytes.value) and str(as_bytes.value) == str(as_str.value)
    # the window calls too (before: 'src must be a raster path or an open rasterio dataset, got bytes')
    from ldcsr_core.geo.pipeline import bicubic_window
    from ldcsr_core.geo.spread import upscale_window_spread
    opts = UpscaleOptions(mode="fast")
    for call in (lambda p: upscale_window(p, model=tiny, scale=2, options=opts).data,
                 lambda p: bicubic_window(p, scale=2).data,
                 lambda p: upscale_window_spread(p, model=tiny, scale=2)[1].data):
        np.testing.assert_array_equal(call(os.fsencode(src)), call(src))
    with pytest.raises(InputError, match="the input path is empty"):
        upscale_window_spread(b"", model=tiny, scale=2)


def test_dataset_from_array_refuses_what_it_would_pass_on_wrong():
    img = np.random.default_rng(1).integers(0, 256, (3, 16, 16)).astype(np.float32)
    # the mask was dropped by np.asarray: the masked pixels were super-resolved as data
    masked = np.ma.masked_array(img, mask=img > 200)
    with pytest.raises(InputError, match=r"masked arrays are not supported .*nodata=v"):
        dataset_from_array(masked)
    # rasterio's 'RasterioIOError: Attempt to create 16x0 dataset is illegal' (not an LdcsrError)
    with pytest.raises(InputError, match=r"the array is empty \(shape \(3, 0, 16\)\)"):
        dataset_from_array(img[:, :0])
    # rasterio's 'TypeError: Unsupported data type float128', as float16 is refused
    with pytest.raises(InputError, match="unsupported data type float128"):
        dataset_from_array(img.astype(np.longdouble))


@pytest.mark.parametrize("mode, tile", [("fast", 32), ("diffusion", None)])
def test_selfcheck_reports_one_run_over_its_windows_and_scales(tiny, mode, tile):
    # each window and scale restarted the count (0/1, 1/1, 0/1, 1/1, ...): a progress bar went back
    seen = []
    scene = np.random.default_rng(2).integers(0, 256, (1100, 1100, 3), dtype=np.uint8)  # 4 sampled windows
    # 96-px windows: fast mode's 32-px tiles still several a window (20 in all), diffusion's one (8)
    ldcsr_core.selfcheck_scales(scene, [2, 3], model=tiny, mode=mode, tile=tile, sample_size=96,
                                callback=lambda i: seen.append((i.done, i.total, i.tile is None)))
    total = seen[0][1]
    assert total >= 8 and seen == [(d, total, d == 0) for d in range(total + 1)]


@pytest.mark.parametrize("target, match", [
    ("4", "target resolution must be a number, got '4'"),  # read as 4 m, where a scale "4" is refused
    ((4, 5, 6), r"a number or an \(x, y\) pair"),  # was 'too many values to unpack'
    ({}, r"a number or an \(x, y\) pair"),
    ([4, "5"], "must be a number, got '5'"),
])
def test_target_resolution_follows_the_scales_number_rule(tiny, target, match):
    img = np.random.default_rng(1).integers(0, 256, (3, 24, 28), dtype=np.uint8)
    with dataset_from_array(img, transform=(10, 0, 0, 0, -10, 0), crs=32631) as ds:
        with pytest.raises(InputError, match=match):
            upscale_window(ds, model=tiny, target_resolution=target, options=UpscaleOptions(mode="fast"))
        # a 0-d array is a number, as for scale (it failed with 'iteration over a 0-d array')
        got = upscale_window(ds, model=tiny, target_resolution=np.array(4.0), options=UpscaleOptions(mode="fast"))
        assert got.data.shape == (3, 60, 70) and got.transform.a == 4.0


def test_load_model_names_a_source_it_cannot_take(tiny):
    # a model passed again failed with "expected str, bytes or os.PathLike object, not LDCSR"
    for source, match in ((tiny, "got LDCSR"), (5, "got int")):
        with pytest.raises(InputError, match=f"source must be a checkpoint path, .*{match}"):
            ldcsr_core.load_model(source)
    with pytest.raises(ldcsr_core.CheckpointError, match="checkpoint not found: /nonexistent.safetensors"):
        ldcsr_core.load_model(b"/nonexistent.safetensors")  # a bytes path is a path (was a TypeError)
    with pytest.raises(ldcsr_core.ConfigError, match="config must be a ldcsr_core.ModelConfig or None, got str"):
        ldcsr_core.load_model(config="compact")  # was 'replace() should be called on dataclass instances'


def test_a_window_is_whole_pixels_up_to_float_noise(tiny):
    from rasterio.windows import Window
    img = np.random.default_rng(3).integers(0, 256, (3, 48, 56), dtype=np.uint8)
    fast = UpscaleOptions(mode="fast")
    with dataset_from_array(img, transform=(10, 0, 500000, 0, -10, 4000000), crs=32631) as ds:
        # what rasterio's from_bounds gives for rows 4-36, columns 8-40: each value was cut down, so
        # the result started a row early and lost a column
        noisy = Window(col_off=8.0000000001, row_off=3.9999999999, width=31.9999999999, height=32.0000000001)
        got = upscale_window(ds, model=tiny, scale=2, window=noisy, options=fast)
        want = upscale_window(ds, model=tiny, scale=2, window=(4, 8, 32, 32), options=fast)
        assert got.data.shape == (3, 64, 64) and got.transform == want.transform
        assert got.transform.c == 500000 + 8 * 10 and got.transform.f == 4000000 - 4 * 10
        np.testing.assert_array_equal(got.data, want.data)
        with pytest.raises(InputError, match=r"window must be whole pixels, got \(4.5, 8, 32, 32\)"):
            upscale_window(ds, model=tiny, scale=2, window=(4.5, 8, 32, 32), options=fast)
    with pytest.raises(InputError, match="window must be whole pixels"):
        ldcsr_core.selfcheck(_image(), 2, model=tiny, mode="fast", window=(0, 0, 32.5, 32))


def test_samples_take_a_whole_number_as_seed_does(tiny):
    img = _image(24)
    want = ldcsr_core.upscale(img, 2, model=tiny, seed=1, samples=2)
    got = ldcsr_core.upscale(img, 2, model=tiny, seed=np.array(1), samples=np.array(2))  # was refused
    np.testing.assert_array_equal(got.mean, want.mean)
    assert UpscaleOptions(samples=np.array(2)).samples == 2
    with pytest.raises(InputError, match="samples must be a whole number >= 1, got 2.0"):
        ldcsr_core.upscale(img, 2, model=tiny, samples=2.0)


def test_super_resolve_names_what_it_cannot_take(tiny):
    lr = torch.rand(1, 3, 16, 16) * 2 - 1
    with pytest.raises(InputError, match="lr must be a torch tensor .* got ndarray"):  # was an AttributeError
        tiny.super_resolve(lr.numpy(), (32, 32), mode="fast")
    with pytest.raises(InputError, match=r"out_size must be a \(height, width\) pair of whole numbers"):
        tiny.super_resolve(lr, (32.5, 32), mode="fast")  # was cut to 32 silently
    assert tiny.super_resolve(lr, torch.Size([32, 30]), mode="fast").shape == (1, 3, 32, 30)


def test_super_resolve_names_an_empty_batch_and_a_generator_that_is_not_one(tiny):
    lr = torch.rand(1, 3, 16, 16) * 2 - 1
    # torch's 'cannot reshape tensor of 0 elements into shape [0, 64, -1] ...'
    with pytest.raises(InputError, match=r"lr is empty \(shape \(0, 3, 16, 16\)\)"):
        tiny.super_resolve(lr[:0], (32, 32), mode="fast")
    # "'int' object has no attribute 'device'"
    with pytest.raises(InputError, match=r"generator must be a torch.Generator or None, got int"):
        tiny.super_resolve(lr, (32, 32), generator=5)


def test_bands_are_whole_band_numbers():
    assert UpscaleOptions(bands=np.array([3, 2, 1])).bands == (3, 2, 1)  # was 'truth value ... ambiguous'
    assert UpscaleOptions(bands=2).bands == (2,) == UpscaleOptions(bands="2").bands  # was "'int' ... not iterable"
    for bad in ((True, 2, 3), (1.7, 2, 3), [None]):  # True was band 1, 1.7 band 1
        with pytest.raises(InputError, match="bands must be 1-based band numbers like '3,2,1'"):
            UpscaleOptions(bands=bad)


def test_spaces_between_typed_bands_separate_them_as_commas_do():
    """Before: the spaces were removed, "4 3 2" was band 432 ("band 432 does not exist") and "3 2 1" band 321
    on a file of that many bands, silently."""
    for text in ("4 3 2", "4, 3, 2", " 4  3\t2 ", "4 ,3,2"):
        assert UpscaleOptions(bands=text).bands == (4, 3, 2), text
    assert UpscaleOptions(bands=" 7 ").bands == (7,)
    for bad in ("4,,3", "4, ,3", "4 x 2"):
        with pytest.raises(InputError, match="bands must be 1-based band numbers like '3,2,1'"):
            UpscaleOptions(bands=bad)
    with pytest.raises(InputError, match="bands must name 1 or 3 bands .* got 2: '4 3'"):
        UpscaleOptions(bands="4 3")


def test_output_options_are_checked_before_any_work(tmp_path):
    from ldcsr_core.geo.pipeline import OutputOptions
    from ldcsr_core.geo.raster_io import read_raster, write_raster
    # 'zzz' was written uncompressed without a word; 100 failed at the write in GDAL's words
    with pytest.raises(InputError, match="compress must be one of .*deflate.*got 'zzz'"):
        OutputOptions(compress="zzz")
    with pytest.raises(InputError, match="block must be a multiple of 16 pixels"):
        OutputOptions(block=100)
    for bad in (0, 1.5, True):
        with pytest.raises(InputError, match="block must be a whole number of at least 16"):
            OutputOptions(block=bad)
    with pytest.raises(InputError, match="gdal_cache_mb must be a whole number of at least 0"):
        OutputOptions(gdal_cache_mb="x")  # was int()'s ValueError at the run's start
    assert OutputOptions(compress="ZSTD", block=np.int64(64)).block == 64
    with dataset_from_array(np.zeros((3, 16, 16), np.uint8)) as ds:
        with pytest.raises(InputError, match="compress must be one of"):
            write_raster(tmp_path / "o.tif", read_raster(ds), compress="zzz")
    assert not list(tmp_path.iterdir())


def test_a_uint8_picture_gets_the_raster_paths_pixels(tiny):
    """upscale read a uint8 picture as x·(1/255) in float32 and wrote rint(u·255) in float32, the
    raster path (ldcsr upscale, napari, QGIS) x/255 and rint(u·255) in float64: the same picture
    came out a level apart at a few pixels, and so did the samples' mean."""
    from ldcsr_core.geo.spread import upscale_window_spread
    img = np.random.default_rng(3).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    with dataset_from_array(img) as ds:
        for mode in ("fast", "diffusion"):
            want = upscale_window(ds, model=tiny, scale=2.5, options=UpscaleOptions(mode=mode, seed=1)).data
            np.testing.assert_array_equal(ldcsr_core.upscale(img, 2.5, model=tiny, mode=mode, seed=1),
                                          want.transpose(1, 2, 0))
        mean, spread = upscale_window_spread(ds, model=tiny, scale=2.5, options=UpscaleOptions(seed=1, samples=2))
    got = ldcsr_core.upscale(img, 2.5, model=tiny, seed=1, samples=2)
    np.testing.assert_array_equal(got.mean, mean.data.transpose(1, 2, 0))
    np.testing.assert_array_equal(got.spread, spread.data.transpose(1, 2, 0))
