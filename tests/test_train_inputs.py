"""The paths a user gives `ldcsr train` and `ldcsr evaluate` (DATA, --val, --config, --resume,
evaluate's folder), each said as the exit table says it, before any work: one not there is a usage
error (2), one this user may not read is exit 5 with the engine's one line, as for upscale's inputs."""

import os

import pytest
from click.testing import CliRunner

import ldcsr_core
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import RasterIOError
from ldcsr_core.training.data import load_images
from tests.train_pictures import picture, picture_folder

TRAIN = ["--steps", "1", "0", "0", "--lr-size", "16", "--scale-range", "2", "3", "--batch", "2", "--device", "cpu",
         "--warmup-steps", "1"]


@pytest.fixture()
def files(tmp_path):
    """Two training images (one in a subfolder), validation images, a config, a tiny model."""
    data, val = tmp_path / "data", tmp_path / "val"
    for d in (data, data / "sub", val):
        d.mkdir()
    picture_folder(data, [picture(64, 0)])
    picture_folder(data / "sub", [picture(64, 1)])
    picture_folder(val, [picture(64, 2)])
    cfg = tmp_path / "cfg.json"
    cfg.write_text(tiny_test_config(with_encoder=True).to_json())
    model = tmp_path / "tiny.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(), seed=0), model, name="tiny")
    return data, val, cfg, model


def test_an_input_this_user_may_not_read_is_exit_5_before_any_work(files, tmp_path, monkeypatch):
    """Before: DATA, --config, --resume and evaluate's folder were click's usage error (exit 2, 'Path
    ... is not readable'); a --val folder was 'no images (...) under val' (exit 5) once DATA's images
    were loaded; a subfolder of DATA or of evaluate's folder was skipped without a word (trained on,
    or scored, the images outside it: exit 0). Root reads anything: the path is made unreadable for
    os.access, which click and the engine both ask."""
    data, val, cfg, model = files
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(b"x")
    out = tmp_path / "m.safetensors"
    base = ["train", data, "--out", out, "--config", cfg, *TRAIN]
    for locked, args in ((data, base), (data / "sub", base), (val, [*base, "--val", val]), (cfg, base),
                         (ckpt, [*base, "--resume", ckpt]),
                         (data, ["evaluate", data, "--model", model, "--scales", "2", "--device", "cpu"]),
                         (data / "sub", ["evaluate", data, "--model", model, "--scales", "2", "--device", "cpu"])):
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(locked)
                            else real_access(p, mode, **kw))
        r = CliRunner().invoke(main, [str(a) for a in args])
        monkeypatch.setattr(os, "access", real_access)
        assert r.exit_code == 5, (locked, args[0], r.output)
        assert r.output.strip().splitlines()[-1] == f"Error: cannot read {locked}: permission denied", r.output
        assert not out.exists() and "step" not in r.output and "PSNR" not in r.output, r.output


def test_a_val_that_is_not_there_is_a_usage_error_before_any_work(files, tmp_path):
    """Before: --val gone was exit 5 'folder does not exist: gone' (no option named) once DATA's
    images were loaded, and --val "" (an unset variable) trained without validation, exit 0."""
    data, val, cfg, _ = files
    out = tmp_path / "m.safetensors"
    for given, says in ((str(tmp_path / "gone"), f"input not found: {tmp_path / 'gone'}"),
                        (f"{tmp_path / 'gone.npz'}#val", f"input not found: {tmp_path / 'gone.npz'}#val"),
                        ("", "the input path is empty")):
        r = CliRunner().invoke(main, ["train", str(data), "--val", given, "--out", str(out), "--config", str(cfg),
                                      *TRAIN])
        assert r.exit_code == 2, r.output
        assert r.output.strip().splitlines()[-1] == f"Error: Invalid value for '--val': {says}", r.output
        assert not out.exists()
    r = CliRunner().invoke(main, ["train", str(tmp_path / "gone"), "--out", str(out), *TRAIN])
    assert r.exit_code == 2 and f"Invalid value for 'DATA': input not found: {tmp_path / 'gone'}" in r.output


def test_resume_reads_a_checkpoint_from_its_parts_as_documented(files, tmp_path):
    """docs/training-gpu.md: --resume RUN.ckpt 'also reads a checkpoint from its parts
    (RUN.ckpt.part000…)'. Before: ldcsr train refused it, exit 2 'File 'RUN.ckpt' does not exist.';
    neither there is now said in the same words as a checkpoint: 'checkpoint not found'."""
    from ldcsr_core.training.checkpoint import split_file
    from ldcsr_core.training.trainer import Trainer

    data, _, cfg, _ = files
    run = tmp_path / "run.safetensors"
    Trainer(data, run, config=tiny_test_config(with_encoder=True), device="cpu", lr_size=16,
            scale_range=(2.0, 3.0)).checkpoint()
    ckpt = run.with_suffix(".ckpt")
    parts = tmp_path / "parts"
    parts.mkdir()
    split_file(ckpt, 2 ** 20, parts)
    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(main, ["train", str(data), "--out", str(out), "--config", str(cfg),
                                  "--resume", str(parts / "run.ckpt"), *TRAIN])
    assert r.exit_code == 0, r.output
    assert f"resumed from {parts / 'run.ckpt'}" in r.output and out.exists(), r.output
    r = CliRunner().invoke(main, ["train", str(data), "--out", str(tmp_path / "n.safetensors"), "--config", str(cfg),
                                  "--resume", str(tmp_path / "gone.ckpt"), *TRAIN])
    assert r.exit_code == 2, r.output
    assert (f"Invalid value for '--resume': checkpoint not found: {tmp_path / 'gone.ckpt'} (nor its parts "
            "gone.ckpt.part000…)") in r.output, r.output


def test_an_image_link_whose_file_is_gone_is_said_not_skipped(files, tmp_path):
    """A link with an image's name whose file is gone (a moved disk) was skipped without a word:
    train and evaluate ran on the others. Now it is read, and said, as upscale says it; so is DATA
    given as such a link (before: exit 2, 'Path ... does not exist.')."""
    data = files[0]
    (data / "moved.png").symlink_to(data / "elsewhere.png")
    with pytest.raises(RasterIOError, match=f"^input is a broken link: {data / 'moved.png'} -> "):
        load_images(data)
    (tmp_path / "link").symlink_to(tmp_path / "unmounted")
    r = CliRunner().invoke(main, ["train", str(tmp_path / "link"), "--out", str(tmp_path / "m.safetensors"), *TRAIN])
    assert r.exit_code == 5, r.output
    assert r.output.strip().splitlines()[-1] == (f"Error: input is a broken link: {tmp_path / 'link'} -> "
                                                 f"{tmp_path / 'unmounted'} (not found)"), r.output



def test_without_rasterio_an_image_pillow_cannot_decode_is_said_in_one_line(tmp_path, monkeypatch):
    """The lent GPU machine (docs/training-gpu.md) has torch, numpy and Pillow, no rasterio; an image
    Pillow cannot decode is read by rasterio, as upscale reads it. Before, there, a broken link or a
    damaged image in DATA was exit 1 'ModuleNotFoundError: No module named 'rasterio''. Now the link
    is said as everywhere, and the image is exit 5 naming it and what is missing."""
    import sys

    monkeypatch.setitem(sys.modules, "rasterio", None)  # `import rasterio` fails, as there
    data = picture_folder(tmp_path, [picture(32, 0)])
    (data / "moved.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(RasterIOError, match=f"^input is a broken link: {data / 'moved.png'} -> "):
        load_images(data)
    (data / "moved.png").unlink()
    (data / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    r = CliRunner().invoke(main, ["train", str(data), "--out", str(tmp_path / "m.safetensors"), *TRAIN])
    assert r.exit_code == 5, r.output
    assert r.output.strip().splitlines()[-1].startswith(
        f"Error: cannot read {data / 'bad.jpg'} as a raster: rasterio is not installed ("), r.output

def _archive(path, **images):
    """A packed archive as scripts/gpu_train.py pack writes one: encoded images under 'split/i'."""
    import io

    import numpy as np
    from PIL import Image

    def png(rgb):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "PNG")
        return np.frombuffer(buf.getvalue(), np.uint8)

    np.savez(path, **{k.replace("_", "/"): v if v.ndim == 1 else png(v)
                      for k, v in images.items()})
    return path


def test_a_packed_archive_that_cannot_be_read_is_said_in_one_line_before_any_work(files, tmp_path, monkeypatch):
    """Before: a .npz that is no archive (or one cut short) was exit 1 with numpy's words, 'This file
    contains pickled (object) data. If you trust the file you can load it unsafely ...', or
    'File is not a zip file'; an image in it that does not decode PIL's 'cannot identify image file
    <_io.BytesIO object at 0x...>'; a --val archive without validation images was said once DATA's
    images had loaded."""
    import numpy as np

    from ldcsr_core.training import trainer

    _, _, cfg, _ = files
    good = _archive(tmp_path / "good.npz", train_0=picture(64, 0), train_1=picture(64, 1))
    junk = tmp_path / "junk.npz"
    junk.write_text("not an archive")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:2000])
    bad_image = _archive(tmp_path / "bad_image.npz", train_0=np.frombuffer(b"not a png" * 4, np.uint8))
    head = "as a packed archive of images (not one, or cut short or damaged; scripts/gpu_train.py pack makes them)"
    monkeypatch.setattr(trainer, "load_named_images", lambda *a, **k: pytest.fail("images loaded"))
    out = tmp_path / "m.safetensors"
    for data, val, says in ((junk, None, f"cannot read {junk} {head}: it is no zip of arrays"),
                            (cut, None, f"cannot read {cut} {head}: File is not a zip file"),
                            (good, good, f"no 'val' images in archive {good}")):
        r = CliRunner().invoke(main, ["train", str(data), *(["--val", str(val)] if val else []), "--out", str(out),
                                      "--config", str(cfg), *TRAIN])
        assert r.exit_code == 5, r.output
        assert r.output.strip().splitlines()[-1] == f"Error: {says}", r.output
        assert not out.exists()
    with pytest.raises(RasterIOError, match=rf"^cannot decode {bad_image}\[0\] \(train/0 in {bad_image}\): not an image$"):
        load_images(bad_image)


def test_a_file_given_for_a_folder_of_images_is_exit_5_in_both_commands(tmp_path):
    """A file where a folder of images is expected is bad input, exit 5 (as a file that is no raster),
    by one rule (training.data.list_images): train's DATA said so, evaluate's folder was click's usage
    error (exit 2, 'Directory ... is a file.'). Only train, which takes a packed archive, names one."""
    img = tmp_path / "a.png"
    img.write_bytes(b"not a folder")
    r = CliRunner().invoke(main, ["evaluate", str(img), "--device", "cpu"])
    assert r.exit_code == 5 and r.output.strip().splitlines()[-1] == f"Error: not a folder of images: {img}", r.output
    r = CliRunner().invoke(main, ["train", str(img), "--out", str(tmp_path / "o.safetensors"), *TRAIN])
    assert r.exit_code == 5, r.output
    assert r.output.strip().splitlines()[-1] == f"Error: not a folder of images (nor a packed .npz archive): {img}"


def test_evaluate_takes_its_folder_as_train_takes_data(tmp_path):
    """By one rule (cli.options.ImagesType, then training.data.list_images). Before, evaluate's was
    click's: a link to a folder that is gone exit 2 'Path 'link' does not exist.' (train: exit 5
    'input is a broken link'), an empty value 'Path '' does not exist.'."""
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    r = CliRunner().invoke(main, ["evaluate", str(link), "--device", "cpu"])
    assert r.exit_code == 5, r.output
    assert r.output.strip().splitlines()[-1] == f"Error: input is a broken link: {link} -> {tmp_path / 'gone'} (not found)"
    r = CliRunner().invoke(main, ["evaluate", "", "--device", "cpu"])
    assert r.exit_code == 2 and "the input path is empty" in r.output, r.output
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path / "gone"), "--device", "cpu"])
    assert r.exit_code == 2 and f"input not found: {tmp_path / 'gone'}" in r.output, r.output


def test_resume_from_parts_writes_nothing_beside_them(tmp_path, monkeypatch):
    """Before: reading a checkpoint from its parts rebuilt RUN.ckpt beside them first, so in a folder
    this user may not write (a shared or read-only run folder) --resume failed, exit 6 'cannot read
    checkpoint ... (cut short or damaged?)'. Now the parts are joined in memory, checked as before.
    Root writes anywhere: every write is refused here as it would be for such a user."""
    import torch

    from ldcsr_core import files as files_mod
    from ldcsr_core.training.checkpoint import read_checkpoint, split_file

    ck = tmp_path / "run.ckpt"
    torch.save({"model": {"w": torch.arange(64.0)}, "state": {"done": []}, "data_rng": 7}, ck)
    parts = tmp_path / "parts"
    parts.mkdir()
    split_file(ck, 400, parts)
    listed = sorted(p.name for p in parts.iterdir())
    assert len(listed) > 2  # run.ckpt.part000, part001..., parts.json

    def refused(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files_mod, "atomic_write_bytes", refused)
    obj = read_checkpoint(parts / "run.ckpt")
    assert torch.equal(obj["model"]["w"], torch.arange(64.0)) and obj["data_rng"] == 7
    assert sorted(p.name for p in parts.iterdir()) == listed


def test_a_hash_in_a_folder_name_is_the_folders_own(files, tmp_path):
    """Only ``ARCHIVE.npz#split`` names a split (training.data.split_source). Before: any '#' cut the
    path, so DATA or --val 'run#2' (a folder that worked before, read as given) was exit 2 'input not
    found: run#2' or 'no images under run', and an archive in a folder 'pack#1' was not found."""
    (tmp_path / "run#2").mkdir()
    data = picture_folder(tmp_path / "run#2", [picture(64, 0), picture(64, 1)])
    _, _, cfg, _ = files
    out = tmp_path / "m.safetensors"
    r = CliRunner().invoke(main, ["train", str(data), "--val", str(data), "--out", str(out), "--config", str(cfg),
                                  *TRAIN])
    assert r.exit_code == 0 and out.is_file(), r.output
    (tmp_path / "pack#1").mkdir()
    packed = _archive(tmp_path / "pack#1" / "a.npz", train_0=picture(64, 0), val_0=picture(64, 1), val_1=picture(64, 2))
    assert len(load_images(f"{packed}#val")) == 2 and len(load_images(packed)) == 1
    assert len(load_images(data)) == 2


def test_a_log_that_is_a_named_pipe_is_one_stream_for_the_run(tmp_path):
    """Before: each line opened and closed the pipe, so its reader ('cat PIPE') saw an end of file
    after the first line and quit, and the next line's open blocked for ever: train hung, SIGTERM
    too (its stop writes a line). Now the pipe is kept open until the log is closed."""
    from ldcsr_core.training.runlog import JsonlLog

    fifo = tmp_path / "log.pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader there: opening to write does not wait
    try:
        log = JsonlLog(fifo)
        log.write("start")
        assert os.read(reader, 1 << 16).startswith(b'{"event": "start"')
        with pytest.raises(BlockingIOError):  # the writer is still there: no end of file for the reader
            os.read(reader, 1 << 16)
        log.write("end")
        log.close()
        assert os.read(reader, 1 << 16).startswith(b'{"event": "end"') and os.read(reader, 1) == b""
    finally:
        os.close(reader)


def test_a_trainer_used_directly_closes_its_piped_log_on_leaving_raised_or_not(tmp_path):
    """Trainer through the API (not train()) with a log that is a named pipe: before, the pipe was
    closed only by the garbage collector, so a reader ('cat PIPE') waited for ever after a run whose
    Trainer the caller kept. Now ``with Trainer(...) as t`` (train() uses it) closes it on leaving,
    also when the run raises, and every line written before is there."""
    from ldcsr_core.training.trainer import Trainer

    data = tmp_path / "data"
    data.mkdir()
    picture_folder(data, [picture(64, 0)])
    fifo = tmp_path / "log.pipe"
    os.mkfifo(fifo)

    def failing_phase(phase):
        raise RuntimeError("a step failed")

    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader there: opening to write does not wait
    try:
        with pytest.raises(RuntimeError, match="a step failed"):
            with Trainer(data, tmp_path / "m.safetensors", config=tiny_test_config(with_encoder=True), device="cpu",
                         lr_size=16, scale_range=(2.0, 3.0), steps=(1, 0, 0), log_path=fifo) as t:
                t.run_phase = failing_phase
                t.run()  # writes its 'start' line, then the phase raises
        lines = os.read(reader, 1 << 20)
        assert lines.startswith(b'{"event": "start"') and lines.endswith(b"\n"), lines
        assert os.read(reader, 1) == b""  # the end of the stream: the writer closed it, no garbage collector
    finally:
        os.close(reader)
