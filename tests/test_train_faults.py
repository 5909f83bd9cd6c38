"""`ldcsr evaluate` and `ldcsr train` on the inputs a demanding user gives them: mixed image kinds,
a truncated file, an image too small for a scale (--resume and Ctrl-C: test_train_resume.py)."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ldcsr_core
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import InputError, RasterIOError
from ldcsr_core.training.data import load_images, load_rgb
from tests.train_pictures import picture, picture_folder


def _picture(side=96, seed=0):
    return picture(side, seed)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    return picture_folder(tmp_path_factory.mktemp("imgs"), [_picture(seed=i) for i in range(2)])


def _tiny_cfg(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(tiny_test_config(with_encoder=True).to_json())
    return cfg


TRAIN = ["--lr-size", "16", "--scale-range", "2", "3", "--batch", "2", "--device", "cpu", "--warmup-steps", "1"]


def test_8_bit_images_of_every_pil_mode_load_as_rgb_and_a_truncated_one_is_refused(tmp_path):
    """Grey+alpha (LA) came back H×W×2 and CMYK was percentile-stretched through rasterio; a PNG
    cut short was read by GDAL with its missing rows as zeros and scored or trained on."""
    rgb = _picture()
    for mode in ("LA", "CMYK", "1", "L", "RGBA", "P"):
        im = Image.fromarray(rgb).convert(mode)
        path = tmp_path / f"{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        im.save(path)
        got = load_rgb(path)
        with Image.open(path) as ref:
            expected = np.asarray(ref.convert("RGB"))
        assert got.shape == (96, 96, 3) and got.dtype == np.uint8, mode
        assert np.array_equal(got, expected), mode  # PIL's own conversion, not a stretch
    whole = (tmp_path / "L.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(RasterIOError, match="cut.png"):
        load_rgb(tmp_path / "cut.png")


def test_an_8_bit_geotiff_is_not_stretched_and_two_bands_are_grey(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    rgb = _picture()
    for count, data in ((4, np.concatenate([rgb.transpose(2, 0, 1), rgb[None, ..., 0]])),
                        (2, np.stack([rgb[..., 0], np.full((96, 96), 255, np.uint8)]))):
        path = tmp_path / f"b{count}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=96, height=96, count=count, dtype="uint8") as f:
            f.write(data)
        got = load_rgb(path)
        expected = rgb if count == 4 else np.repeat(rgb[..., :1], 3, axis=-1)
        assert np.array_equal(got, expected), count


@pytest.mark.parametrize("count", [3, 4])
def test_a_16_bit_rgb_png_is_stretched_not_cut_to_its_high_byte(tmp_path, count):
    """PIL opens a 16-bit RGB(A) PNG as 8-bit RGB(A) keeping each sample's high byte: 12-bit data
    (0..4095) was read as 0..15, a near-black image scored and trained on, where the docs say
    16-bit rasters are stretched to 8 bit."""
    rasterio = pytest.importorskip("rasterio")
    rgb = _picture(32).astype(np.uint16) * 16  # 12-bit data
    data = np.concatenate([rgb.transpose(2, 0, 1), np.full((count - 3, 32, 32), 4095, np.uint16)])
    path = tmp_path / "rgb16.png"
    with rasterio.open(path, "w", driver="PNG", width=32, height=32, count=count, dtype="uint16") as f:
        f.write(data)
    got = load_rgb(path)
    assert got.shape == (32, 32, 3) and got.max() == 255 and got.min() == 0
    # stretched as upscale and selfcheck read it (the engine's reader), as for a 16-bit GeoTIFF
    from ldcsr_core.scene_windows import RGBScene

    assert np.array_equal(got, RGBScene(path).rgb((0, 0, 32, 32)))


def test_a_data_path_that_is_a_file_is_not_said_to_be_missing(image_dir):
    """'ldcsr train img.png' (or --val img.png) said 'folder does not exist: img.png'."""
    one = sorted(image_dir.iterdir())[0]
    with pytest.raises(FileNotFoundError, match=rf"^not a folder of images \(nor a packed .npz archive\): {one}$"):
        load_images(one)
    with pytest.raises(FileNotFoundError, match=r"^folder does not exist: "):
        load_images(image_dir / "gone")


def test_a_float_raster_with_nan_is_refused_naming_it_not_read_as_black(tmp_path):
    """One NaN pixel made the stretch's percentiles NaN, so the whole image became 0 (black): evaluate
    printed inf/nan for the set with exit 0, train trained on black images."""
    rasterio = pytest.importorskip("rasterio")
    a = (_picture(32).transpose(2, 0, 1) / 255.0).astype(np.float32)
    path = tmp_path / "f.tif"
    with rasterio.open(path, "w", driver="GTiff", width=32, height=32, count=3, dtype="float32") as f:
        f.write(a)
    assert load_rgb(path).std() > 10  # a float raster without NaN is stretched as before
    a[1, :2, :3] = np.nan
    a[0, 5, 5] = np.inf
    with rasterio.open(path, "w", driver="GTiff", width=32, height=32, count=3, dtype="float32") as f:
        f.write(a)
    with pytest.raises(InputError, match=r"f.tif: 7 of its 1024 pixels are NaN or infinite"):
        load_rgb(path)
    with pytest.raises(InputError, match="f.tif"):
        load_images(tmp_path)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_a_geotiff_with_declared_nodata_pixels_is_refused_naming_it(tmp_path, dtype):
    """A GeoTIFF's nodata fill (its declared nodata value, e.g. a black border) was scored by evaluate
    as image content (bicubic and the model restore it exactly, lifting the set's PSNR) and learnt by
    train; the same file without nodata pixels, or a pixel with 0 in one band only, is read as before."""
    rasterio = pytest.importorskip("rasterio")
    a = _picture(32).transpose(2, 0, 1).astype(dtype) * (257 if dtype == "uint16" else 1)
    a[a == 0] = 1
    a[0, 20, 20] = 0  # 0 in red alone: a colour, not fill
    path = tmp_path / "nd.tif"

    def write(data):
        with rasterio.open(path, "w", driver="GTiff", width=32, height=32, count=3, dtype=dtype, nodata=0) as f:
            f.write(data)

    write(a)
    assert load_rgb(path).shape == (32, 32, 3)  # uint8: read by PIL; uint16: by rasterio
    a[:, :, :5] = 0  # a nodata border
    write(a)
    with pytest.raises(InputError, match=r"nd.tif: 160 of its 1024 pixels are nodata \(the value 0 it declares"):
        load_rgb(path)
    with pytest.raises(InputError, match="nd.tif"):
        load_images(tmp_path)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_png_with_nodata_declared_in_its_aux_xml_sidecar_is_refused_naming_it(tmp_path, mode):
    """Nodata declared only in a PNG's GDAL PAM sidecar (``nd.png.aux.xml``, as GDAL and QGIS write
    it; every GDAL reader, upscale included, takes it as nodata) was not looked at by evaluate/train:
    PIL decodes the PNG, and only a TIFF's own nodata tag was checked, so the fill was scored."""
    a = _picture(32)
    a[a == 0] = 1
    a[:, :5] = 0  # a nodata border
    path = tmp_path / "nd.png"
    Image.fromarray(a if mode == "RGB" else a[..., 0]).save(path)
    assert load_rgb(path).shape == (32, 32, 3)  # without a sidecar: image content, as before
    bands = "".join(f'<PAMRasterBand band="{b}"><NoDataValue>0</NoDataValue></PAMRasterBand>'
                    for b in range(1, 4 if mode == "RGB" else 2))
    (tmp_path / "nd.png.aux.xml").write_text(f"<PAMDataset>{bands}</PAMDataset>")
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(path) as src:
        assert src.nodata == 0  # GDAL reads the sidecar's nodata
    with pytest.raises(InputError, match=r"nd.png: 160 of its 1024 pixels are nodata \(the value 0 it declares"):
        load_rgb(path)
    with pytest.raises(InputError, match="nd.png"):
        load_images(tmp_path)
    (tmp_path / "nd.png.aux.xml").write_text('<PAMDataset><PAMRasterBand band="1"><Description>x</Description>'
                                             '</PAMRasterBand></PAMDataset>')
    assert load_rgb(path).shape == (32, 32, 3)  # a sidecar without nodata: as before


def test_evaluate_refuses_an_image_too_small_for_a_scale_before_any_work(image_dir, tmp_path, monkeypatch):
    """A 12 px image was scored at ×2 (NaN SSIM, warnings), then failed the run at ×4."""
    from ldcsr_core.training import evaluate as ev
    d = tmp_path / "set"
    d.mkdir()
    for f in image_dir.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    Image.fromarray(_picture(12)).save(d / "small.png")
    calls = []
    real = ev.reduced_resolution
    monkeypatch.setattr(ev, "reduced_resolution", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    with pytest.raises(InputError, match=r"small.png is 12×12 px; scoring at ×2 needs at least 15×15"):
        ev.evaluate(model, sorted(d.iterdir()), [2, 4])
    assert calls == []
    res = ev.evaluate(model, sorted(image_dir.iterdir()), [2, 2.0, 3])  # a repeated scale: one row
    assert list(res["scales"]) == ["2.0", "3.0"] and len(calls) == 2 * 2


def test_evaluate_refuses_odd_arguments_by_name_before_reading_an_image(image_dir, monkeypatch):
    """evaluate as a script calls it. Before: scales '23' scored ×2 and ×3, and '2' ×2 (a string's
    characters); 2 alone was "TypeError: 'int' object is not iterable"; one path as files was read as its
    characters ('input is a folder, not a raster file: /'); [] was ZeroDivisionError after numpy's 'Mean of
    empty slice' warnings. Now each is an InputError naming the argument, before any image is read; and
    model=None (the shipped model, as upscale takes it) is named in the result (it was '?')."""
    from ldcsr_core.training import evaluate as ev
    files = sorted(image_dir.iterdir())
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    for scales in ("23", "2", 2):
        with pytest.raises(InputError, match=r"^scales must be a list of one or more scales, e\.g\. \[2, 4\]"):
            ev.evaluate(model, files, scales)
    with pytest.raises(InputError, match=r"^files must be a list of image paths, got str"):
        ev.evaluate(model, str(files[0]), [2])
    with pytest.raises(InputError, match=r"^files is empty: give the paths of one or more images to score$"):
        ev.evaluate(model, [], [2])
    read = []
    monkeypatch.setattr(ev, "_load", lambda f: read.append(f) or pytest.fail(f"{f} read"))
    for bad in (dict(mode="quick"), dict(seed=1.5), dict(tile=8), dict(progress="yes")):
        with pytest.raises(InputError, match=rf"^{next(iter(bad))} must"):
            ev.evaluate(model, files, [2], **bad)
    monkeypatch.undo()
    assert read == []
    assert ev.evaluate(None, files[:1], [2])["model"] == ldcsr_core.load_model(None).name


def test_evaluate_names_an_image_by_its_path_not_a_name_other_subfolders_share(tmp_path):
    """Tiles of two dates in subfolders: 'tile.png is 12×12 px' did not say which one."""
    from ldcsr_core.training import evaluate as ev
    for sub, side in (("2020", 48), ("2021", 12)):
        (tmp_path / sub).mkdir()
        Image.fromarray(_picture(side)).save(tmp_path / sub / "tile.png")
    files = sorted(tmp_path.rglob("*.png"))
    with pytest.raises(InputError, match=rf"^{tmp_path / '2021' / 'tile.png'} is 12×12 px"):
        ev.evaluate(None, files, [2])


def test_evaluate_says_an_image_restored_beyond_x8_in_its_own_words():
    """It said the self-check's '...the 70×70 px scene ... (e.g. --window)', an option evaluate has not."""
    from ldcsr_core.training import evaluate as ev
    with pytest.raises(InputError, match=r"^a.png is 70×70 px: at ×8 it would be restored from its 8×8 px copy, "
                                         r"more than ×8 \(remove it or drop the scale\)$"):
        ev.check_sizes([("a.png", _picture(70))], [8])


def test_evaluate_refuses_an_image_of_one_flat_colour_before_any_work(image_dir, tmp_path):
    """A black tile in the set: bicubic restored it exactly, so the scale's mean PSNR was inf, the
    gain nan and the HF ratio nan for the whole set (JSON null), exit 0."""
    from ldcsr_core.training import evaluate as ev
    flat = np.zeros((96, 96, 3), np.uint8)
    flat[..., 1] = 40  # each band flat: still restored exactly
    images = [("img.png", _picture()), ("black.png", flat)]
    with pytest.raises(InputError, match=r"black.png is one flat colour \(every pixel \(0, 40, 0\)\)"):
        ev.check_sizes(images, [2])
    flat[50, 50, 2] = 1  # one pixel differs: scored
    ev.check_sizes(images, [2])


def test_validation_images_that_are_also_trained_on_are_said_logged_and_noted(tmp_path):
    """DATA is searched recursively: 'ldcsr train rsscn7 --val rsscn7/val' trained on the validation
    images, without a word, and 'ldcsr models' showed their gain as the run's validation figure."""
    from ldcsr_core.cli.describe_cmds import notes_summary
    from ldcsr_core.training.runlog import read_jsonl
    data = tmp_path / "set"
    for sub, i in (("train", 0), ("val", 1), ("val", 2)):
        (data / sub).mkdir(parents=True, exist_ok=True)
        Image.fromarray(_picture(48, seed=i)).save(data / sub / f"img{i}.png")
    Image.fromarray(_picture(24, seed=3)).save(data / "train" / "small.png")  # under every crop: said
    cfg, out, log = _tiny_cfg(tmp_path), tmp_path / "m.safetensors", tmp_path / "m.jsonl"
    r = CliRunner().invoke(main, ["train", str(data), "--val", str(data / "val"), "--out", str(out), "--config",
                                  str(cfg), "--steps", "1", "0", "0", "--val-every-steps", "1", "--log", str(log), *TRAIN])
    assert r.exit_code == 0, r.output
    assert "2 of the 2 validation images are training images too" in r.output and "not on held-out images" in r.output
    assert read_jsonl(log)[0]["val_in_train"] == 2
    small = [ln for ln in r.output.splitlines() if "smaller than the largest HR crop" in ln]
    assert len(small) == 1 and f"1 never (under 32 px, the crop at ×2): {data / 'train' / 'small.png'}" in small[0]
    line = notes_summary(ldcsr_core.load_model(out, device="cpu").notes)
    assert "gain over bicubic on that run's validation subset (2 of its images also trained on): fast ×2" in line
    # the same pixels under another name count; other pixels do not
    from ldcsr_core.training.data import also_trained
    val = [("a.png", _picture(48, seed=1)), ("b.png", _picture(48, seed=5)), ("c.png", _picture(40, seed=1))]
    assert also_trained([_picture(48, seed=0), _picture(48, seed=1)], val) == ["a.png"]


def test_training_images_smaller_than_the_crops_are_said_by_count_and_name(tmp_path):
    """A batch's crops come only from the images its scale's crop fits: images under the largest
    crop were used at the low scales only, or never, without a word (a folder of mostly small
    images trained on the few large ones). Now the sampler says how many and which (train logs it
    once: the test below), and still refuses a set where none fits every scale."""
    from ldcsr_core.training.data import MultiScaleCrops, load_named_images
    data = tmp_path / "set"
    data.mkdir()
    for name, side in (("big.png", 48), ("mid.png", 40), ("tiny.png", 20), ("tiny2.png", 24)):
        Image.fromarray(_picture(side)).save(data / name)
    names, images = zip(*load_named_images(data))
    crops = MultiScaleCrops(images, lr_size=16, scale_range=(2.0, 3.0), names=names)  # crops of 32 to 48 px
    assert crops.small_note() == (
        f"3 of the 4 training images are smaller than the largest HR crop (48 px: LR patches of 16 px at ×3), "
        f"so they are used 2 never (under 32 px, the crop at ×2): {data / 'tiny.png'}, {data / 'tiny2.png'}; "
        f"1 only at the scales whose crop fits them: {data / 'mid.png'} (40 px)")
    assert MultiScaleCrops(images[:2], lr_size=16, scale_range=(2.0, 3.0), names=names[:2]).small_note() == (
        f"1 of the 2 training images is smaller than the largest HR crop (48 px: LR patches of 16 px at ×3), "
        f"so it is used 1 only at the scales whose crop fits them: {data / 'mid.png'} (40 px)")  # before: 'are', 'they'
    assert MultiScaleCrops(images[:1], lr_size=16, scale_range=(2.0, 3.0)).small_note() is None
    with pytest.raises(InputError, match="no training image is at least 48 px"):
        MultiScaleCrops(images[1:], lr_size=16, scale_range=(2.0, 3.0))


def test_a_validation_image_too_small_to_score_is_refused_before_any_step(image_dir, tmp_path):
    """A 3-px validation image failed the run at its first validation (--val-every, 15 min by
    default), before any checkpoint, with PIL's 'height and width must be > 0'."""
    val = tmp_path / "val"
    val.mkdir()
    Image.fromarray(_picture(48)).save(val / "ok.png")
    Image.fromarray(_picture(3)).save(val / "t.png")
    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(main, ["train", str(image_dir), "--val", str(val), "--out", str(out), "--config",
                                  str(_tiny_cfg(tmp_path)), "--steps", "3", "0", "0", "--val-every-steps", "2", *TRAIN])
    assert r.exit_code == 3, r.output
    assert (f"{val / 't.png'} is 3×3 px; scoring at ×2 needs at least 15×15 px (remove it from the validation images: "
            "their centre crops are scored at ×2 and ×4)") in r.output.replace("\n", "")
    assert "step" not in r.output and not out.exists()


def test_validation_batches_of_read_only_arrays_print_no_torch_warning():
    """Validation's LR copies are np.asarray of PIL images (read-only). Before, every `ldcsr train`
    printed torch's 'The given NumPy array is not writable ... undefined behavior' warning on stderr
    at its first validation. A fresh process, since torch prints it once per process."""
    import subprocess
    import sys

    code = ("import warnings, numpy as np\n"
            "warnings.filterwarnings('error', message='.*not writable')\n"
            "from ldcsr_core.training.data import to_tensor\n"
            "a = np.zeros((1, 8, 8, 3), np.uint8); a.flags.writeable = False\n"
            "t = to_tensor(a, 'cpu')\n"
            "assert t.shape == (1, 3, 8, 8) and float(t.min()) == -1.0\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_a_train_command_leaves_the_training_logger_as_it_found_it(tmp_path):
    """Before: the first ``ldcsr train`` in a process added its stderr handler to
    ``ldcsr_core.training`` and turned propagation off for good, so later callers in the same
    process (a notebook, a test's caplog) never saw the training's records."""
    import logging

    tlog = logging.getLogger("ldcsr_core.training")
    before = (tlog.handlers[:], tlog.propagate, tlog.level)
    data = tmp_path / "data"
    data.mkdir()
    r = CliRunner().invoke(main, ["train", str(data), "--out", str(tmp_path / "m.safetensors"), "--scale-range", "3", "2"])
    assert r.exit_code == 2 and "lowest above highest" in r.output  # the command's own body ran
    assert (tlog.handlers, tlog.propagate, tlog.level) == before


@pytest.mark.parametrize("edit, said", [
    (lambda c: c["unet"].update(model_chanels=32), "{cfg}: unknown fields in the section 'unet': ['model_chanels']"),
    (lambda c: c["cond_encoder"].update(ch="32"), "{cfg}: cond_encoder.ch must be a whole number, got '32'"),
    (lambda c: c.update(difusion={"timesteps": 2}), "{cfg}: unknown sections in the model config: ['difusion']"),
    (lambda c: c["unet"].update(model_channels=48), "{cfg}: unet.model_channels must be a multiple of 32, got 48"),
    (None, "{cfg} is not a JSON file (Expecting property name enclosed in double quotes: line 1 column 2 "
           "(char 1))"),
], ids=["misspelt-field", "text-width", "misspelt-section", "invalid", "not-json"])
def test_a_bad_config_file_is_a_bad_config_value_naming_the_file_and_the_json_field(image_dir, tmp_path, edit,
                                                                                   said):
    """Before: 'Error: unknown UNetConfig fields: ...' and 'EncoderConfig.ch must be ...' (Python's
    class names, no file named; exit 6), a file that is not JSON json's 'Expecting property name ...'
    alone (exit 1), and a misspelt section ('difusion') trained the default's schedule without a word."""
    import json

    cfg, out = tmp_path / "cfg.json", tmp_path / "m.safetensors"
    if edit is None:
        cfg.write_text("{not json")
    else:
        c = json.loads(tiny_test_config(with_encoder=True).to_json())
        edit(c)
        cfg.write_text(json.dumps(c))
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--config", str(cfg),
                                  "--steps", "1", "0", "0", *TRAIN])
    assert r.exit_code == 2, r.output
    assert r.output.strip().splitlines()[-1] == ("Error: Invalid value for '--config': "
                                                 + said.format(cfg=cfg)), r.output
    assert not out.exists()


def test_a_log_that_cannot_be_written_is_said_naming_it(image_dir, tmp_path):
    """--log on a full disk (here its file size limit, ulimit -f, reached): the run stopped with
    errno's words, naming no file ('Error: [Errno 27] File too large'). Now exit 5 and one line
    naming the log (files.write_error); its earlier lines kept."""
    import resource
    import subprocess
    import sys

    log, limit = tmp_path / "l.jsonl", 16 << 20  # room for the checkpoint (~12 MB), none left in the log
    with open(log, "wb") as f:
        f.truncate(limit)  # sparse: no disk used

    def ulimit_f():  # in the child only
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    r = subprocess.run([sys.executable, "-m", "ldcsr_core.cli", "train", str(image_dir), "--out", str(tmp_path / "o.safetensors"),
                        "--config", str(_tiny_cfg(tmp_path)), "--steps", "1", "0", "0", "--log", str(log), *TRAIN],
                       capture_output=True, text=True, timeout=300, preexec_fn=ulimit_f)
    assert r.returncode == 5, r.stderr
    assert r.stderr.splitlines()[-1] == f"Error: cannot write {log}: the file size limit (ulimit -f) of 16.0 MiB was reached"
    assert log.stat().st_size == limit and "Traceback" not in r.stderr
