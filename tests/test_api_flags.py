"""The public API's switches (overwrite=, maps=, with_encoder=, ...) take True or False only
(rules.check_flag), its option objects and runner are checked by kind, and a trainer checks the
metadata of the model it will save when it is made: each before any work, in one line that names
the parameter."""

import os

import numpy as np
import PIL.Image
import pytest

import ldcsr_core
from ldcsr_core import ConfigError, InputError
from ldcsr_core.config import tiny_test_config
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, bicubic_window, upscale_raster, upscale_window
from ldcsr_core.geo.raster_io import dataset_from_array, read_raster, write_raster
from ldcsr_core.geo.spread import upscale_window_spread


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


def _png(tmp_path):
    path = tmp_path / "scene.png"
    PIL.Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(path)
    return path


def test_a_folder_at_the_name_is_said_as_a_folder_without_overwrite_too(tiny, tmp_path):
    """save_model, write_report and files.atomic_write_bytes onto a folder (one there, or made while the
    file was made: the hard link meets it) say it is a folder, as with overwrite=True, and not 'use
    overwrite=True to replace it', which then meets the folder (cbc9042 did so for the rasters). Before:
    'out exists (use overwrite=True to replace it)', an OutputExistsError."""
    from ldcsr_core.errors import OutputExistsError, RasterIOError
    from ldcsr_core.files import atomic_write_bytes
    from ldcsr_core.report import write_report

    out = tmp_path / "out"
    out.mkdir()
    for write in (lambda flag: ldcsr_core.save_model(tiny, out, name="t", overwrite=flag),
                  lambda flag: write_report(out, [], overwrite=flag),
                  lambda flag: atomic_write_bytes(out, b"new", overwrite=flag)):
        said = []
        for flag in (True, False):
            with pytest.raises(RasterIOError) as e:
                write(flag)
            assert not isinstance(e.value, OutputExistsError) and "overwrite" not in str(e.value)
            said.append(str(e.value))
        assert said[0] == said[1] == f"output path is a folder: {out}"  # the raster writers' words
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and not any(out.iterdir())  # no part file left


def test_a_link_to_a_folder_is_refused_as_the_folder_by_every_writer(tiny, tmp_path):
    """save_model, write_report and files.atomic_write_bytes onto a symbolic link to a folder refuse it
    as the raster writers do (files.check_not_folder, 'output path is a folder'), overwrite or not.
    Before: with overwrite=True the link was replaced by the file."""
    from ldcsr_core.errors import OutputExistsError, RasterIOError
    from ldcsr_core.files import atomic_write_bytes
    from ldcsr_core.report import write_report

    folder, link, src = tmp_path / "folder", tmp_path / "link", _png(tmp_path)
    folder.mkdir()
    link.symlink_to(folder)
    writes = (lambda flag: ldcsr_core.save_model(tiny, link, name="t", overwrite=flag),
              lambda flag: write_report(link, [], overwrite=flag),
              lambda flag: atomic_write_bytes(link, b"new", overwrite=flag),
              lambda flag: write_raster(link, read_raster(src), overwrite=flag))
    for write in writes:
        for flag in (True, False):
            with pytest.raises(RasterIOError) as e:
                write(flag)
            assert not isinstance(e.value, OutputExistsError)
            assert str(e.value) == f"output path is a folder: {link}"
    assert link.is_symlink() and os.readlink(link) == str(folder) and not any(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "link", "scene.png"]  # no part file left


def test_a_name_too_long_is_still_one_error_naming_the_file_for_every_writer(tiny, tmp_path):
    """save_model, write_report and files.atomic_write_bytes given a name over the file system's 255
    bytes fail as they did before check_not_folder: one RasterIOError naming the file, nothing left.
    Before (8017f22): the folder check's Path.is_dir() let the bare 'OSError: [Errno 36] File name
    too long' out (a traceback, the promise 'a failed write is one clear error' broken)."""
    import errno

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.files import atomic_write_bytes
    from ldcsr_core.report import write_report

    long = tmp_path / ("n" * 300 + ".json")
    for write in (lambda: ldcsr_core.save_model(tiny, long, name="t", overwrite=True),
                  lambda: write_report(long, [], overwrite=True),
                  lambda: atomic_write_bytes(long, b"new")):
        with pytest.raises(RasterIOError) as e:
            write()
        assert e.value.errno == errno.ENAMETOOLONG and str(long) in str(e.value)
    assert not any(tmp_path.iterdir())  # no part file left


def test_overwrite_no_keeps_the_output(tiny, tmp_path):
    """Before: any non-empty string is true, so overwrite='no' (or 'false') replaced the file that
    was there: upscale_raster with OutputOptions(overwrite='no'), write_raster, save_model,
    write_report and files.atomic_write_bytes."""
    from ldcsr_core.files import atomic_write_bytes
    from ldcsr_core.report import write_report

    src, there = _png(tmp_path), tmp_path / "there.tif"
    there.write_bytes(b"kept")
    with pytest.raises(InputError, match="overwrite must be True or False, got str 'no'"):
        upscale_raster(src, there, model=tiny, scale=2, output=OutputOptions(overwrite="no"))
    writes = {
        "write_raster": lambda flag: write_raster(there, read_raster(src), overwrite=flag),
        "save_model": lambda flag: ldcsr_core.save_model(tiny, there, name="t", overwrite=flag),
        "write_report": lambda flag: write_report(there, [], overwrite=flag),
        "atomic_write_bytes": lambda flag: atomic_write_bytes(there, b"new", overwrite=flag),
    }
    for name, write in writes.items():
        for flag in ("false", 0, None):
            with pytest.raises(InputError, match=f"overwrite must be True or False, got {type(flag).__name__}"):
                write(flag)
    assert there.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.png", "there.tif"]  # no part file left
    assert OutputOptions(overwrite=np.bool_(True), skip_complete=np.bool_(False)).overwrite is True


def test_every_switch_of_the_api_takes_true_or_false_only(tiny, tmp_path):
    """Before: each took any value by its truth ('no' was true, 0 false)."""
    from ldcsr_core.config import compact_config
    from ldcsr_core.files import check_report_path
    from ldcsr_core.geo.dask_model import ModelSource
    from ldcsr_core.geo.distributed import DaskRunner
    from ldcsr_core.geo.raster_io import GeoTiffWriter, open_raster
    from ldcsr_core.tileplan import plan_tiles
    from ldcsr_core.tiling import process_tiles, run_plan
    from ldcsr_core.training.trainer import Trainer

    src, image = _png(tmp_path), np.zeros((48, 48, 3), np.uint8)
    plan = plan_tiles((20, 20), (40, 40))
    calls = {
        "skip_complete": lambda: OutputOptions(skip_complete="no"),
        "wait_for_others": lambda: OutputOptions(wait_for_others="no"),
        "expand_palette": lambda: open_raster(src, expand_palette="no"),
        "bands_last": lambda: dataset_from_array(image, bands_last="no"),
        "with_encoder": lambda: ldcsr_core.load_model(tmp_path / "none.safetensors", with_encoder="no"),
        "maps": lambda: ldcsr_core.selfcheck(image, 2, model=tiny, maps="no"),
        "sink_thread": lambda: run_plan(tiny, plan, lambda *a: None, lambda *a: None, sink_thread="no"),
        "deferred": lambda: process_tiles(tiny, [], [], plan, deferred="no"),
        "html": lambda: check_report_path(tmp_path / "r.json", html="no"),
        "hold": lambda: GeoTiffWriter(tmp_path / "o.tif", {"height": 4, "width": 4}, hold="no"),
        "unload": lambda: DaskRunner(None, ModelSource(), unload="no"),  # (checked before the cluster is used)
        "compile": lambda: Trainer(tmp_path / "no-data", tmp_path / "m.safetensors", compile="no"),
        "train_detail_decoder": lambda: Trainer(tmp_path / "no-data", tmp_path / "m.safetensors",
                                                train_detail_decoder=1),
    }
    for name, call in calls.items():
        with pytest.raises(InputError, match=f"^{name} must be True(,| or) False( or None)?, got "):
            call()
    with pytest.raises(InputError, match="with_encoder must be True or False, got str 'no'"):
        compact_config(with_encoder="no")  # was a config with a stage-1 encoder
    from dataclasses import replace

    config = tiny_test_config()
    config = replace(config, unet=replace(config.unet, use_scale_embedding="false"))  # e.g. from a file's JSON
    with pytest.raises(ConfigError, match="unet.use_scale_embedding must be True or False, got str 'false'"):
        ldcsr_core.build_model(config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.png"]


def test_options_runner_and_transform_of_the_wrong_kind_are_named(tiny, tmp_path):
    """Before: options= or output= as a dict failed with "'dict' object has no attribute ...",
    an empty dict was taken as no options, runner='x' failed after the scene was read ("'str'
    object has no attribute 'map'"), dataset_from_array(transform=(1, 2)) in affine's words."""
    src = _png(tmp_path)
    opts = "options must be a ldcsr_core.geo.job.UpscaleOptions or None, got dict"
    for run in (upscale_window, upscale_window_spread):
        for options in ({"mode": "fast"}, {}):
            with pytest.raises(InputError, match=opts):
                run(src, model=tiny, scale=2, options=options)
        with pytest.raises(InputError, match="runner must be a ldcsr_core.geo.local_runner.LocalRunner, "
                                             "a ldcsr_core.geo.distributed.DaskRunner or None, got str 'x'"):
            run(src, model=tiny, scale=2, runner="x")
    with pytest.raises(InputError, match=opts):
        bicubic_window(src, scale=2, options={"mode": "fast"})
    out = tmp_path / "out.tif"
    with pytest.raises(InputError, match=r"make one of it: options=UpscaleOptions\(\*\*options\)"):
        upscale_raster(src, out, model=tiny, scale=2, options={"mode": "fast"})
    with pytest.raises(InputError, match="output must be a ldcsr_core.geo.job.OutputOptions or None, got dict"):
        upscale_raster(src, out, model=tiny, scale=2, output={"overwrite": True})
    with pytest.raises(InputError, match="runner must be a ldcsr_core.geo.local_runner.LocalRunner"):
        upscale_raster(src, out, model=tiny, scale=2, runner=5)
    assert not out.exists()
    for transform in ((1, 2), "abc", (10, 0, float("nan"), 0, -10, 0)):
        with pytest.raises(InputError, match=r"transform must be an affine.Affine, its 6 coefficients"):
            dataset_from_array(np.zeros((8, 8), np.uint8), transform=transform)
    with dataset_from_array(np.zeros((8, 8), np.uint8), transform=(10, 0, 500, 0, -10, 900, 0, 0, 1)) as ds:
        assert tuple(ds.transform)[:6] == (10, 0, 500, 0, -10, 900)  # an Affine's 9 values, as before


def test_a_trainer_checks_its_models_name_and_version_when_it_is_made(tmp_path):
    """Before: train(version=2) or name=None failed only when the model was saved, at the end of
    training (save_model's "version must be text"); now the Trainer refuses them by the same rule
    (checkpoints.check_model_texts) before it reads its images (here: a folder that is not there)."""
    from ldcsr_core.training.trainer import Trainer, train

    out = tmp_path / "m.safetensors"
    with pytest.raises(InputError, match="version must be text"):
        train(tmp_path / "no-data", out, version=2, steps=(1, 0, 0))
    with pytest.raises(InputError, match="name must be text"):
        Trainer(tmp_path / "no-data", out, name=None)
    with pytest.raises(InputError, match="name is empty"):  # (ldcsr train --name '': a model of no name)
        Trainer(tmp_path / "no-data", out, name="")
    assert list(tmp_path.iterdir()) == []


def test_numpy_numbers_among_the_training_settings_are_saved_in_the_models_notes(tmp_path):
    """Before: train(batch_size=np.int64(2)) trained, then failed when it saved the model
    ("TypeError: Object of type int64 is not JSON serializable"): no model, only its checkpoint.
    The settings are made plain (training.resumable.plain_settings) when the Trainer is made."""
    import json

    from ldcsr_core.training.trainer import train
    from tests.train_pictures import picture, picture_folder

    (tmp_path / "img").mkdir()
    data = picture_folder(tmp_path / "img", [picture(96, seed) for seed in range(2)])
    out = tmp_path / "m.safetensors"
    train(data, out, config=tiny_test_config(with_encoder=True), steps=(1, 0, 0), batch_size=np.int64(2),
          lr_size=16, scale_range=(np.float32(2.0), 3.0), device="cpu")
    settings = json.loads(ldcsr_core.load_model(out, device="cpu").notes)["settings"]
    assert settings["batch_size"] == 2 and settings["scale_range"] == [2.0, 3.0]


def test_an_output_that_appears_while_upscale_raster_works_names_its_parameter(tiny, tmp_path):
    """The output put there by another program while the run worked is kept, and the message tells
    upscale_raster's caller its own parameter. Before: the writer's 'use overwrite=True', which
    upscale_raster does not take (TypeError if tried)."""
    src, out = _png(tmp_path), tmp_path / "out.tif"

    def another_program(progress):
        if progress.done == 0:
            out.write_bytes(b"theirs")

    with pytest.raises(ldcsr_core.OutputExistsError) as err:
        upscale_raster(src, out, model=tiny, scale=2, options=UpscaleOptions(mode="fast"), callback=another_program)
    assert str(err.value) == (f"output exists: {out} (it appeared while this run worked; use "
                              "output=OutputOptions(overwrite=True) to replace it)")
    assert err.value.worded("--overwrite").endswith("use --overwrite to replace it)")
    assert out.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["out.tif", "scene.png"]
