"""The ``ldcsr`` command line through click's CliRunner: bad inputs, a batch, info (models/convert: test_cli_models.py)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import sha256, write_tif


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    return r


def assert_clean_error(r, *fragments, code=None):
    out = r.output
    assert r.exit_code != 0, out
    if code is not None:
        assert r.exit_code == code, out
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in out
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("Error")]
    assert len(lines) == 1, out
    for f in fragments:
        assert f in out, out


@pytest.fixture
def gray(rasters, tmp_path):
    return rasters["gray"]


def test_unreadable_file(tmp_path):
    p = tmp_path / "notes.tif"
    p.write_text("this is not a raster")
    r = run("upscale", p, "-o", tmp_path / "o.tif", "--scale", 2)
    assert_clean_error(r, "cannot read", code=5)
    assert p.read_text() == "this is not a raster"


def test_zero_size_file(tmp_path):
    p = tmp_path / "empty.tif"
    p.write_bytes(b"")
    assert_clean_error(run("upscale", p, "-o", tmp_path / "o.tif", "--scale", 2), "empty", code=5)


def test_zero_size_raster(tmp_path):
    vrt = tmp_path / "zero.vrt"
    vrt.write_text('<VRTDataset rasterXSize="0" rasterYSize="0"><VRTRasterBand dataType="Byte" '
                   'band="1"/></VRTDataset>')
    r = run("upscale", vrt, "-o", tmp_path / "o.tif", "--scale", 2)
    assert_clean_error(r)
    assert "zero-size" in r.output or "cannot read" in r.output


def test_missing_input(tmp_path):
    assert_clean_error(run("upscale", tmp_path / "nope.tif", "-o", tmp_path / "o.tif", "-s", 2),
                       "not found")


@pytest.mark.parametrize("scale", ["abc", "0", "-2", "1", "0.5", "nan", "inf", "100", "2,3,4", ","])
def test_nonsense_scale(gray, tmp_path, scale):
    r = run("upscale", gray, "-o", tmp_path / "o.tif", "--scale", scale)
    assert_clean_error(r, "--scale", code=2)
    assert not (tmp_path / "o.tif").exists()


def test_scale_and_resolution_exclusive(gray, tmp_path):
    assert_clean_error(run("upscale", gray, "-o", tmp_path / "o.tif"), "exactly one", code=2)
    assert_clean_error(run("upscale", gray, "-o", tmp_path / "o.tif", "-s", 2, "-r", 5),
                       "exactly one", code=2)


def test_target_resolution_on_geographic_crs(tmp_path):
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    p = write_tif(tmp_path / "wgs.tif", np.ones((1, 8, 8)), dtype="uint8",
                  crs=CRS.from_epsg(4326), transform=from_origin(16, 48, 1e-4, 1e-4))
    assert_clean_error(run("upscale", p, "-o", tmp_path / "o.tif", "-r", 0.5), "geographic CRS",
                       code=3)


def test_target_resolution_coarser_than_input(gray, tmp_path):
    # 10 m pixels → 20 m is a downscale, not super-resolution
    assert_clean_error(run("upscale", gray, "-o", tmp_path / "o.tif", "-r", 20), "not finer",
                       code=3)
    assert_clean_error(run("upscale", gray, "-o", tmp_path / "o.tif", "-r", 10), "not finer",
                       code=3)


def test_missing_output_folder(gray, tmp_path):
    r = run("upscale", gray, "-o", tmp_path / "no" / "such" / "o.tif", "--scale", 2)
    assert_clean_error(r, "output folder does not exist")
    other = tmp_path / "other.tif"
    other.write_bytes(gray.read_bytes())
    r = run("upscale", gray, other, "-o", tmp_path / "nofolder", "--scale", 2)
    assert_clean_error(r, "output folder does not exist")


@pytest.mark.parametrize("output, says", [
    ("{t}/o.tif ", "'{t}/o.tif ' (a space at its end) is not a GeoTIFF name"),
    ("{t}/no /o.tif", "output folder does not exist: '{t}/no ' (a space at its end)"),
    (" {t}/o.tif", "output folder does not exist: ' {t}' (a space at its start)"),
    ("{t}/no\t/", "output folder does not exist: '{t}/no\\t/'"),
])
def test_a_space_at_an_end_of_a_path_is_named(gray, tmp_path, output, says):
    """Before: '/p/o.tif  is not a GeoTIFF name', 'output folder does not exist:  /p' (its space not seen)."""
    assert_clean_error(run("upscale", gray, "-o", output.format(t=tmp_path), "-s", 2), says.format(t=tmp_path))
    for command, *rest in (("upscale", "-o", tmp_path / "o.tif", "-s", 2), ("info",), ("selfcheck", "-s", 2)):
        assert_clean_error(run(command, f"{gray} ", *rest), f"input not found: '{gray} ' (a space at its end)")


def test_output_exists_without_overwrite(gray, tmp_path):
    o = tmp_path / "o.tif"
    o.write_bytes(b"precious")
    assert_clean_error(run("upscale", gray, "-o", o, "--scale", 2), "exists", "--overwrite", code=4)
    assert o.read_bytes() == b"precious"


def test_output_is_input(rasters, tmp_path):
    src = rasters["gray"]
    before = sha256(src)
    assert_clean_error(run("upscale", src, "-o", src, "--scale", 2, "--overwrite"),
                       "input")
    assert_clean_error(run("upscale", src.parent, "-o", src.parent, "--scale", 2), "input")
    assert sha256(src) == before


@pytest.mark.parametrize("args,hint", [(["--bands", "9,2,1"], "does not exist"),
                                       (["--bands", "9 2 1"], "band 9 does not exist"),  # was band 921
                                       (["--bands", "x"], "--bands"),
                                       (["--dask", "nonsense"], "--dask"),
                                       (["--tile", "8"], "--tile"),
                                       (["--mode", "slow"], "--mode")])
def test_bad_options(gray, tmp_path, args, hint):
    assert_clean_error(run("upscale", gray, "-o", tmp_path / "o.tif", "-s", 2, *args), hint)


def test_bad_model_file(gray, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    r = run("upscale", gray, "-o", tmp_path / "o.tif", "-s", 2, "--model", bad)
    assert_clean_error(r, code=6)
    assert not (tmp_path / "o.tif").exists()


def test_model_by_built_in_name_as_ldcsr_models_says(gray, tmp_path):
    r = run("models")
    assert "load:    --model ldcsr-compact-rsscn7-v1" in r.output, r.output
    out = tmp_path / "o.tif"
    r = run("upscale", gray, "-o", out, "-s", 2, "--mode", "fast", "--device", "cpu",
            "--model", "ldcsr-compact-rsscn7-v1")
    assert r.exit_code == 0, r.output
    with rasterio.open(out) as d:
        assert "v1" in d.tags()["LDCSR_MODEL"] or "rsscn7" in d.tags()["LDCSR_MODEL"]
    r = run("upscale", gray, "-o", tmp_path / "p.tif", "-s", 2, "--model", "no-such-model")
    assert_clean_error(r, "no model is named 'no-such-model': the models are ldcsr-compact-rsscn7-v4, ", code=2)


def test_device_takes_what_the_api_takes_and_names_it_when_not(gray, tiny_model_file, tmp_path, monkeypatch):
    """--device takes what the API's device= takes, by its one rule (any letter case, cuda:N): a name
    this machine lacks is the engine's DeviceError (exit 7) as from load_model, one that names no
    device a usage error (exit 2) saying what is taken. Before: `--device CPU` and `--device cuda:1`
    were exit 2, "'CPU' is not one of 'auto', 'cpu', 'cuda', 'mps'"."""
    import torch

    from ldcsr_core import DeviceError, load_model

    fast = ("-s", 2, "--mode", "fast", "--model", tiny_model_file)
    outs = []
    for k, name in enumerate(("cpu", "CPU", " Cpu:0 ")):
        outs.append(tmp_path / f"o{k}.tif")
        r = run("upscale", gray, "-o", outs[-1], *fast, "--device", name)
        assert r.exit_code == 0, r.output
    with rasterio.open(outs[0]) as a, rasterio.open(outs[1]) as b, rasterio.open(outs[2]) as c:
        assert np.array_equal(a.read(), b.read()) and np.array_equal(a.read(), c.read())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda:1", "CUDA"):
        r = run("upscale", gray, "-o", tmp_path / "c.tif", *fast, "--device", name)
        with pytest.raises(DeviceError) as e:
            load_model(tiny_model_file, device=name)
        assert_clean_error(r, str(e.value), code=7)
    for bad in ("gpu", "cuda:x", "meta"):
        r = run("upscale", gray, "-o", tmp_path / "c.tif", *fast, "--device", bad)
        with pytest.raises(DeviceError) as e:
            load_model(tiny_model_file, device=bad)
        assert_clean_error(r, "Invalid value for '--device'", str(e.value), code=2)
        assert "cuda:N for card N" in r.output, r.output
    assert not (tmp_path / "c.tif").exists()


def test_batch_folder_resume_and_summary(rasters, tiny_model_file, tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for k in ("gray", "rgba"):
        (inp / rasters[k].name).write_bytes(rasters[k].read_bytes())
    (inp / "readme.txt").write_text("not a raster, ignored")
    out = tmp_path / "out"
    out.mkdir()
    args = ["upscale", inp, "-o", out, "--scale", "2,1.5", "--mode", "fast",
            "--model", tiny_model_file, "--device", "cpu"]
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert "2 inputs: 2 written, 0 skipped, 0 failed" in r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gray_sr.tif", "rgba_sr.tif"]
    with rasterio.open(out / "gray_sr.tif") as d:
        assert (d.height, d.width) == (round(45 * 1.5), round(61 * 2))  # --scale X,Y
        assert d.tags()["LDCSR_MODEL"] == "tiny-test 0"
    mt = (out / "gray_sr.tif").stat().st_mtime_ns
    r = run(*args)  # resumed: complete outputs are skipped
    assert r.exit_code == 0, r.output
    assert "2 inputs: 0 written, 2 skipped, 0 failed" in r.output
    assert (out / "gray_sr.tif").stat().st_mtime_ns == mt
    r = run(*args, "--overwrite")
    assert r.exit_code == 0 and "2 written" in r.output
    assert (out / "gray_sr.tif").stat().st_mtime_ns != mt


def test_batch_reports_bad_files_and_fails(rasters, tiny_model_file, tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_text("junk")
    out = tmp_path / "out"
    out.mkdir()
    r = run("upscale", rasters["gray"], bad, "-o", out, "-s", 2, "--mode", "fast",
            "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "2 inputs: 1 written, 0 skipped, 1 failed" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["gray_sr.tif"]


def test_a_name_that_is_not_utf8_fails_alone_in_its_batch(rasters, tiny_model_file, tmp_path):
    import os
    import shutil
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["gray"], inp / "ok.tif")
    shutil.copy(rasters["gray"], inp / os.fsdecode(b"caf\xe9.tif"))  # Latin-1 name: GDAL cannot take it
    # The messages name the file on stderr, which Python opens with errors="backslashreplace"; click
    # < 8.2's CliRunner mixes stderr into its strict stdout unless told not to (8.2 dropped the option).
    import inspect
    kw = {"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner).parameters else {}
    r = CliRunner(**kw).invoke(main, [str(a) for a in ("upscale", inp, "-o", out, "-s", 2, "--mode", "fast",
                                                       "--model", tiny_model_file, "--device", "cpu")])
    assert r.exit_code == 1 and "Traceback" not in r.output + r.stderr, r.output + r.stderr
    assert "not valid UTF-8" in r.stderr and "1 written, 0 skipped, 1 failed" in r.stderr, r.stderr
    assert [p.name for p in out.iterdir()] == ["ok_sr.tif"]


def test_a_broken_link_in_a_folder_is_reported_not_skipped_silently(rasters, tiny_model_file, tmp_path):
    import shutil
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["gray"], inp / "ok.tif")
    (inp / "gone.tif").symlink_to(tmp_path / "moved-away.tif")
    r = run("upscale", inp, "-o", out, "-s", 2, "--mode", "fast", "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 1, r.output
    assert "is a broken link" in r.output and "moved-away.tif" in r.output, r.output
    assert "2 inputs: 1 written, 0 skipped, 1 failed" in r.output, r.output


def test_info(rasters):
    r = run("info", rasters["uint16_nodata"], "--target-resolution", 4)
    assert r.exit_code == 0, r.output
    assert "61 x 45 px, 4 bands, uint16" in r.output
    assert "EPSG:32633" in r.output and "nodata:      0.0" in r.output
    assert "triplets (1,2,3) (4,4,4)" in r.output
    assert "152 x 112 px" in r.output  # 61·2.5 = 152.5 → 152 (banker's rounding), 45·2.5 = 112.5


def test_info_bad_file(tmp_path):
    p = tmp_path / "x.tif"
    p.write_text("x")
    assert_clean_error(run("info", p), "cannot read")


def test_exit_codes_follow_the_error_classes():
    """The documented mapping (docs/cli.md): one class, one exit status."""
    import errno

    from ldcsr_core import errors
    from ldcsr_core.cli.commands import exit_code_for

    cases = [(errors.InputError("x"), 3), (errors.OutputExistsError("x"), 4),
             (errors.RasterIOError(errno.EIO, "x"), 5), (PermissionError("x"), 5),
             (errors.CheckpointError("x"), 6), (errors.ConfigError("x"), 6),
             (errors.DeviceError("x"), 7), (errors.Cancelled("x"), 130), (KeyboardInterrupt(), 130),
             (RuntimeError("x"), 1), (errors.LdcsrError("x"), 1)]
    for exc, code in cases:
        assert exit_code_for(exc) == code, exc
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for name, code in [("InputError", 3), ("OutputExistsError", 4), ("RasterIOError", 5),
                       ("CheckpointError", 6), ("DeviceError", 7)]:
        assert f"| {code} | `{name}`" in doc, name


def test_evaluate_is_a_cli_command_over_library_code():
    import inspect

    import ldcsr_core.training.evaluate as ev

    assert "click" not in inspect.getsource(ev)
    names = main.list_commands(None)
    assert "evaluate" in names
    r = run("evaluate", "--help")
    assert r.exit_code == 0 and "--scales" in r.output


def test_lazy_command_hook_lists_only_existing_modules():
    from ldcsr_core import cli

    names = main.list_commands(None)
    assert {"upscale", "info", "models", "convert"} <= set(names)
    for name, target in cli.LAZY_COMMANDS.items():
        assert (name in names) == main._lazy_available(name)


def test_threads_option_sets_the_engine_thread_count():
    import torch
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.threads import policy, set_threads
    before = torch.get_num_threads()
    try:
        r = CliRunner().invoke(main, ["--threads", "1", "models"])
        assert r.exit_code == 0, r.output
        assert torch.get_num_threads() == 1
        assert policy() == ("fixed", 1)
        assert CliRunner().invoke(main, ["--threads", "0", "models"]).exit_code == 2
    finally:
        set_threads(None)
        torch.set_num_threads(before)


def test_tile_is_fast_modes_diffusion_keeps_its_windows(gray, tmp_path, tiny_model_file):
    """--tile with diffusion mode: a note on stderr, and the same file as without it (its picture
    depends on its windows, which are fixed); in fast mode --tile is used (more tiles)."""
    outs = {}
    for name, extra in {"plain": [], "tile": ["--tile", "32"]}.items():
        r = run("upscale", gray, "-o", tmp_path / f"{name}.tif", "-s", "2", "--seed", "3",
                "--model", tiny_model_file, "--device", "cpu", *extra)
        assert r.exit_code == 0, r.output
        assert ("--tile 32 applies to fast mode" in r.output) == bool(extra), r.output
        with rasterio.open(tmp_path / f"{name}.tif") as ds:
            outs[name] = ds.read()
            assert "LDCSR_TILE" not in ds.tags()
    np.testing.assert_array_equal(outs["plain"], outs["tile"])
    r = run("upscale", gray, "-o", tmp_path / "fast.tif", "-s", "2", "--mode", "fast", "--tile", "32",
            "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 0 and "applies to fast mode" not in r.output, r.output
    with rasterio.open(tmp_path / "fast.tif") as ds:
        assert ds.tags()["LDCSR_TILE"] == "32"


def test_provenance_summary_of_each_kind_of_file():
    """What `ldcsr info`'s provenance line says of a bicubic baseline, a layer napari saved with only
    its run's LDCSR_PROVENANCE (a self-check error map), and a file LDCSR did not make."""
    from ldcsr_core.geo.job import provenance_summary

    base = {"LDCSR_MODEL": "bicubic", "LDCSR_MODE": "bicubic", "LDCSR_SCALE_X": "2.5", "LDCSR_SCALE_Y": "2.0",
            "LDCSR_SOURCE": "a.tif"}
    assert provenance_summary(base) == "a bicubic baseline (×2.5 x, ×2 y) of a.tif, made by LDCSR for comparison (no model)"
    error_map = {"LDCSR_PROVENANCE": '{"kind": "selfcheck-error-model"}', "SENSOR": "x"}
    assert provenance_summary(error_map).startswith("a layer saved by napari-ldcsr (selfcheck-error-model)")
    assert provenance_summary({"SENSOR": "x"}) is None


def test_an_ldcsr_output_super_resolved_again_is_said_and_recorded(tmp_path, tiny_model_file, caplog):
    """Before: an LDCSR output given as input ran silently and the new file recorded only the last
    step (its input's LDCSR_* tags are not copied), so a ×4 made as ×2 twice read as a plain ×2 of a
    file. Now the run warns and the output's LDCSR_INPUT_PROVENANCE (and `ldcsr info`) keeps the first
    step; a file that LDCSR did not make gets neither."""
    from click.testing import CliRunner
    from rasterio.enums import ColorInterp

    from ldcsr_core.cli import main
    from .conftest import smooth_field, write_tif

    data = smooth_field(np.random.default_rng(5), 40, 40, 3, 20, 230).round().astype(np.uint8)
    src = write_tif(tmp_path / "scene.tif", data, dtype="uint8",
                    colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue])
    run = CliRunner().invoke
    args = ["-s", "2", "--mode", "fast", "--model", str(tiny_model_file)]
    with caplog.at_level("WARNING", logger="ldcsr_core"):
        first = run(main, ["upscale", str(src), "-o", str(tmp_path / "x2.tif"), *args])
        assert first.exit_code == 0 and "made by LDCSR" not in caplog.text, first.output
        second = run(main, ["upscale", str(tmp_path / "x2.tif"), "-o", str(tmp_path / "x4.tif"), *args])
    assert second.exit_code == 0, second.output
    assert "x2.tif is an LDCSR output (model " in caplog.text
    with rasterio.open(tmp_path / "x4.tif") as d:
        tags = d.tags()
    assert tags["LDCSR_INPUT_PROVENANCE"].startswith("an LDCSR output (model ")
    assert tags["LDCSR_INPUT_PROVENANCE"].endswith(", fast, from scene.tif)") and tags["LDCSR_SOURCE"] == "x2.tif"
    with rasterio.open(tmp_path / "x2.tif") as d:
        assert "LDCSR_INPUT_PROVENANCE" not in d.tags()
    info = run(main, ["info", str(tmp_path / "x4.tif")])
    line = next(ln for ln in info.output.splitlines() if ln.startswith("provenance:"))
    assert line.startswith("provenance:  AI-generated") and "from x2.tif, itself an LDCSR output (model " in line


@pytest.mark.parametrize("args", [["info", ""], ["selfcheck", "", "-s", "2"],
                                  ["adapt", "", "-s", "2", "-o", "a.safetensors"]])
def test_an_empty_input_path_is_a_usage_error(args, tmp_path, monkeypatch):
    """Before: '' was the current folder, 'input is a folder, not a raster file: .' (exit 5)."""
    monkeypatch.chdir(tmp_path)
    r = run(*args)
    assert r.exit_code == 2 and "the input path is empty" in r.output and "folder" not in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_info_refuses_scale_with_target_resolution_as_upscale_does(tmp_path):
    """Before: exit 0 and 'output: not possible: give exactly one of scale, target_resolution or out_shape'."""
    tif = write_tif(tmp_path / "a.tif", np.zeros((3, 16, 16), np.uint8), dtype="uint8")
    for cmd in (["info", tif], ["upscale", tif, "-o", tmp_path / "o.tif"]):
        r = run(*cmd, "-s", 2, "-r", 5)
        assert r.exit_code == 2 and "one of --scale or --target-resolution" in r.output, r.output


def test_info_says_the_type_and_device_upscale_would_compute_in(tmp_path, monkeypatch):
    """On a machine with CUDA upscale's default --device auto runs there in float16; info said
    'bfloat16/float32 (auto: ...) on the CPU' whatever the machine."""
    import torch

    tif = write_tif(tmp_path / "a.tif", np.zeros((3, 16, 16), np.uint8), dtype="uint8")
    monkeypatch.delenv("LDCSR_DTYPE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    r = run("info", tif)
    assert r.exit_code == 0, r.output
    assert "compute:     float16 (auto: half precision on CUDA) on CUDA" in r.output, r.output
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    r = run("info", tif)
    assert "on the CPU (--device, --dtype or LDCSR_DTYPE to choose)" in r.output, r.output


def test_a_device_or_pipe_is_never_replaced_by_an_output(tmp_path, tiny_model_file):
    """Before, --overwrite renamed the output over a named pipe (and, as root, over /dev/null:
    'ldcsr selfcheck s.tif -s 2 --json /dev/null --overwrite' left a regular file there)."""
    import os
    import stat

    from ldcsr_core.errors import InputError
    from ldcsr_core.files import atomic_write_bytes

    tif = write_tif(tmp_path / "a.tif", np.full((3, 40, 40), 100, np.uint8), dtype="uint8")
    pipe, ptif, pmodel = tmp_path / "p.json", tmp_path / "p.tif", tmp_path / "p.safetensors"
    for p in (pipe, ptif, pmodel):
        os.mkfifo(p)
    model = ["--model", tiny_model_file, "--device", "cpu"]
    for args, hint in ((["selfcheck", tif, "-s", 2, "--mode", "fast", "--json", pipe], "--json"),
                       (["upscale", tif, "-o", ptif, "-s", 2, "--mode", "fast"], "-o"),
                       (["adapt", tif, "-s", 2, "-o", pmodel, "--steps", 1], "--out")):
        r = run(*args, *model, "--overwrite")
        assert r.exit_code == 2 and f"'{hint}'" in r.output and "not a regular file" in r.output, r.output
        assert all(stat.S_ISFIFO(os.lstat(p).st_mode) for p in (pipe, ptif, pmodel))
    with pytest.raises(InputError, match="not a regular file"):
        atomic_write_bytes(pipe, b"{}")
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_an_output_not_named_as_a_geotiff_is_said_in_the_engines_words(gray, tmp_path):
    """One rule, one sentence: ``-o`` and ``--spread-out`` say file_names.check_geotiff_name's words
    (QGIS's output says them too: tests/qgis/test_qgis_run_said.py)."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.file_names import check_geotiff_name

    out = tmp_path / "o.png"
    with pytest.raises(InputError) as engine:
        check_geotiff_name(out, folder_ok=True)
    assert str(engine.value) == (f"{out} is not a GeoTIFF name: outputs are GeoTIFFs, so give a name ending in .tif "
                                 "or .tiff (or an existing folder)")
    assert_clean_error(run("upscale", gray, "-o", out, "-s", 2), f"Invalid value for '-o': {engine.value}", code=2)
    spread = tmp_path / "s.png"
    r = run("upscale", gray, "-o", tmp_path / "o.tif", "-s", 2, "--mode", "diffusion", "--samples", 2,
            "--spread-out", spread)
    assert_clean_error(r, f"Invalid value for '--spread-out': {spread} is not a GeoTIFF name: outputs are GeoTIFFs, "
                          "so give a name ending in .tif or .tiff\n", code=2)
    check_geotiff_name(tmp_path / "O.TIFF")  # any letter case
    assert not out.exists() and not (tmp_path / "o.tif").exists()
