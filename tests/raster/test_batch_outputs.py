"""``ldcsr upscale`` on many inputs: output names and what is reported (an audit of batches).

Output names near the filesystem's 255 bytes (hidden part files add 21), a file given twice, two
inputs with one output name from different folders, a file (or a broken link) at an output name,
and ``-q`` naming the inputs that failed (two runs finishing the same output, interrupts around its
rename: test_output_commit.py).
"""

from __future__ import annotations

import os
import shutil

import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core import files
from ldcsr_core.cli import main
from ldcsr_core.errors import RasterIOError

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")

FAST = ("-s", 2, "--mode", "fast", "--device", "cpu")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def _parts(folder):
    return [p.name for p in folder.iterdir() if files.PART_SUFFIX in p.name]


@pytest.fixture
def folders(rasters, tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    return inp, out


def test_an_output_name_near_the_limit_is_written(rasters, tiny_model_file, folders):
    """Before: a 247-byte output name (80 CJK characters + '_sr.tif') failed with 'cannot write to
    out: File name too long' once every tile was done: its hidden part file's name is 21 bytes
    longer. Now the part file's name is cut (and told apart by a digest), and the output written."""
    inp, out = folders
    name = "北" * 80  # 240 bytes in UTF-8
    shutil.copy(rasters["gray"], inp / f"{name}.tif")
    r = run("upscale", inp / f"{name}.tif", "-o", out / f"{name}_sr.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [f"{name}_sr.tif"]
    with rasterio.open(out / f"{name}_sr.tif") as ds:
        assert (ds.height, ds.width) == (90, 122)


def test_an_output_name_of_253_bytes_is_written(rasters, tiny_model_file, folders):
    """Before: an output name of 248 to 255 bytes stopped the run once the model had loaded, "[Errno 36]
    File name too long: 'out/NAME_sr_rpc.txt'": the writer looks for RPC and world files by the
    output's stem (geotiff_writer.placement_sidecars), names the file system cannot hold."""
    inp, out = folders
    name = "x" * 246  # NAME_sr.tif: 253 bytes; NAME_sr_rpc.txt, looked for beside it: 257
    shutil.copy(rasters["gray"], inp / f"{name}.tif")
    r = run("upscale", inp / f"{name}.tif", "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert os.listdir(out) == [f"{name}_sr.tif"]


def test_a_long_part_name_is_still_found_stale(tmp_path):
    """The cut part names still belong to their output only: a killed run's is removed by the next
    run of that output, not by one of another output with the same first 200 bytes."""
    dst, other = tmp_path / ("x" * 240 + "_a.tif"), tmp_path / ("x" * 240 + "_b.tif")
    part, fd = files.make_part(dst)
    assert len(os.fsencode(part.name + ".aux.xml")) <= 255
    os.close(fd)  # as kill -9 would: the lock is gone
    assert files.is_part_of(part, dst) and not files.is_part_of(part, other)
    assert files.stale_parts(other) == [] and files.stale_parts(dst) == [part]


def test_an_output_name_too_long_fails_alone_in_its_batch(rasters, tiny_model_file, folders):
    """Before: the whole batch stopped before any work with '[Errno 36] File name too long: ...'
    (a 250-character input's NAME_sr.tif is 257 bytes). Now that input fails with a line in words
    and the others are written; -o too long is the same line (exit 2, as every output name refused before any work),
    and what ldcsr info -o says."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "ok.tif")
    shutil.copy(rasters["gray"], inp / ("y" * 250 + ".tif"))
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1 and "Traceback" not in r.output and "Errno" not in r.output, r.output
    assert "output name too long" in r.output and "257 bytes" in r.output, r.output
    assert "2 inputs: 1 written, 0 skipped, 1 failed" in r.output, r.output
    assert sorted(p.name for p in out.iterdir()) == ["ok_sr.tif"]
    r = run("upscale", inp / "ok.tif", "-o", out / ("z" * 252 + ".tif"), *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2 and "output name too long" in r.output and "Errno" not in r.output, r.output
    r = run("info", inp / "ok.tif", "-s", 2, "-o", out / ("z" * 252 + ".tif"))  # before: exit 5, errno's line
    assert r.exit_code == 0 and "destination: output name too long" in r.output, r.output


def test_a_file_given_twice_is_done_once(rasters, tiny_model_file, folders):
    """Before: 'gray.tif and gray.tif would both be written to out/gray_sr.tif' (exit 2) for a folder
    and a file in it; now the file is done once, with a note."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "gray.tif")
    shutil.copy(rasters["rgba"], inp / "rgba.tif")
    r = run("upscale", inp, inp / "gray.tif", "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert f"note: {inp / 'gray.tif'} is given twice; it is done once" in r.output
    assert "2 inputs: 2 written, 0 skipped, 0 failed" in r.output, r.output


def test_a_file_given_three_times_is_said_once_with_its_count(rasters, tiny_model_file, folders):
    """A folder, a file in it and the same file by another path: one note with the count. Before:
    'note: in/gray.tif is given twice; it is done once', printed twice."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "gray.tif")
    shutil.copy(rasters["rgba"], inp / "rgba.tif")
    r = run("upscale", inp, inp / "gray.tif", inp / "." / "gray.tif", "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert r.output.count("note: ") == 1 and f"note: {inp / 'gray.tif'} is given 3 times; it is done once" \
        in r.output, r.output
    assert "2 inputs: 2 written, 0 skipped, 0 failed" in r.output, r.output


def test_one_output_name_for_two_inputs_names_both_paths(rasters, tiny_model_file, folders, tmp_path):
    """Two folders each with a.tif: the refusal names both paths (before: 'a.tif and a.tif')."""
    inp, out = folders
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(rasters["gray"], inp / "a.tif")
    shutil.copy(rasters["rgba"], other / "a.tif")
    r = run("upscale", inp, other, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2, r.output
    assert f"{inp / 'a.tif'} and {other / 'a.tif'} would both be written to {out / 'a_sr.tif'}" in r.output
    assert list(out.iterdir()) == []


def test_one_stem_with_two_extensions_is_refused_with_what_to_do(rasters, tiny_model_file, folders):
    """in/a.tif and in/a.png, both a_sr.tif: before, the refusal ended at 'would both be written to
    out/a_sr.tif', the user left to guess how to run such a folder; now it says what to do."""
    import rasterio.shutil

    inp, out = folders
    shutil.copy(rasters["gray"], inp / "a.tif")
    with rasterio.open(rasters["gray"]) as src:
        rasterio.shutil.copy(src, inp / "a.png", driver="PNG")
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2, r.output
    assert (f"{inp / 'a.png'} and {inp / 'a.tif'} would both be written to {out / 'a_sr.tif'}; write them to "
            "different output folders (one command each), or rename one") in " ".join(r.output.split()), r.output
    assert list(out.iterdir()) == []


def test_quiet_batch_names_the_inputs_that_failed(rasters, tiny_model_file, folders):
    """-q is 'only errors': before, a batch with a failed input printed only 'Error: 1 of 2 inputs
    failed', never which one nor why."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "gray.tif")
    (inp / "bad.tif").write_text("junk")
    r = run("-q", "upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 2 and lines[-1] == "Error: 1 of 2 inputs failed", r.output
    assert lines[0].startswith(f"failed   {inp / 'bad.tif'} -> {out / 'bad_sr.tif'}: cannot read"), r.output


def test_a_broken_link_at_an_output_name_is_kept(rasters, tiny_model_file, folders, tmp_path):
    """Before: out/gray_sr.tif -> an unmounted disk was replaced by a file without --overwrite."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "gray.tif")
    (out / "gray_sr.tif").symlink_to(tmp_path / "unmounted" / "gray_sr.tif")
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 4 and "output exists" in r.output, r.output
    assert (out / "gray_sr.tif").is_symlink() and _parts(out) == []


def test_check_name_length_in_bytes(tmp_path):
    """Bytes, not characters: 125 'é' + '.tif' is 254 bytes, 126 'é' + '.tif' 256."""
    files.check_name_length(tmp_path / ("é" * 125 + ".tif"))
    with pytest.raises(RasterIOError, match="256 bytes"):
        files.check_name_length(tmp_path / ("é" * 126 + ".tif"))


def test_a_folder_of_many_inputs_is_planned_in_linear_time(tmp_path):
    """Every output is checked against every input (never written over one) before any work: before,
    one same_file() (two stats, two realpaths) per pair: 35 s for 1000 inputs, an hour for 10 000.
    Now one stat per output (files.FileSet); the rule is kept (an output that is an input is refused)."""
    import time

    import click

    from ldcsr_core.cli.upscale_cmd import _expand_inputs, _plan_outputs

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    for i in range(1500):
        (inp / f"t{i:04d}.tif").write_bytes(b"")  # planning reads names only
    found, batch = _expand_inputs((inp,))
    # CPU time, not the wall clock: 0.1 s of CPU took 1.3 s on this 2-core machine under load
    # (the quadratic check: 2.25 million same_file() calls of ~10 us, over 20 s)
    t0 = time.process_time()
    pairs = _plan_outputs(found, batch, out, [inp])
    assert len(pairs) == 1500 and time.process_time() - t0 < 5.0
    (out / "t0007_sr.tif").symlink_to(inp / "t0003.tif")  # an output name that is an input
    with pytest.raises(click.BadParameter, match="output path is an input file"):
        _plan_outputs(found, batch, out, [inp])


def test_out_of_memory_on_one_input_fails_that_input_alone(rasters, tiny_model_file, folders, monkeypatch):
    """Before: the batch stopped at the input that ran out of memory (the largest scene, say) with
    'Error: out of memory ...', the inputs after it not done and the outputs before it, on disk, in
    no report. Now that input's line says it and the others are done (exit 1)."""
    import ldcsr_core.geo.pipeline as pipeline

    inp, out = folders
    for name in ("a", "b", "c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    upscale = pipeline.upscale_raster

    def b_too_big(src, dst, **kw):
        if src.name == "b.tif":
            raise MemoryError
        return upscale(src, dst, **kw)

    monkeypatch.setattr(pipeline, "upscale_raster", b_too_big)
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    assert f"failed   {inp / 'b.tif'} -> {out / 'b_sr.tif'}: out of memory: free memory" in r.output, r.output
    assert "3 inputs: 2 written, 0 skipped, 1 failed" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["a_sr.tif", "c_sr.tif"]


def test_a_symlink_loop_in_a_folder_fails_alone(rasters, tiny_model_file, folders):
    """Before: 'Error: RuntimeError: Symlink loop from .../in/loop.tif' before any work, for the whole
    batch (pathlib's resolve() raises on a loop); now that input's line says it, the others are done."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "ok.tif")
    (inp / "loop.tif").symlink_to("loop.tif")
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1 and "RuntimeError" not in r.output, r.output
    assert "_sr.tif: input is a link that leads back to itself (a loop)" in r.output, r.output
    assert "2 inputs: 1 written, 0 skipped, 1 failed" in r.output
    assert [p.name for p in out.iterdir()] == ["ok_sr.tif"]


def test_an_unwritable_output_folder_is_refused_before_any_work(rasters, tiny_model_file, folders, monkeypatch):
    """Before: the model was loaded and every input read, then each failed with 'cannot write to
    out: Read-only file system' (exit 1 after N lines). Now one line, exit 5, before the model.
    Root may write anywhere, so the folder is made unwritable for os.access, as for a user."""
    from ldcsr_core.cli import upscale_cmd

    inp, out = folders
    shutil.copy(rasters["gray"], inp / "gray.tif")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(out) else real_access(p, mode, **kw))
    monkeypatch.setattr(upscale_cmd, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    for source, dest in ((inp, out), (inp / "gray.tif", out / "one.tif")):  # a batch, one input
        r = run("upscale", source, "-o", dest, *FAST, "--model", tiny_model_file)
        assert r.exit_code == 5 and f"Error: output folder is not writable: {out}" in r.output, r.output
    assert list(out.iterdir()) == []


def test_info_says_an_unwritable_destination_as_upscale_refuses_it(rasters, folders, monkeypatch):
    """ldcsr info -o OUT, the check before a run: before, a folder upscale refuses as not writable
    (a read-only disk, no permission) was 'destination: /out: 1.0 MB free (fits uncompressed)'."""
    _, out = folders
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(out) and mode & os.W_OK
                        else real_access(p, mode, **kw))
    for dest in (out, out / "one.tif"):
        r = run("info", rasters["gray"], "-s", 2, "-o", dest)
        assert r.exit_code == 0, r.output
        assert f"destination: {out}: folder is not writable (upscale would refuse)" in r.output, r.output


def test_a_file_as_the_output_folder_of_a_batch_is_called_a_file(rasters, folders):
    """Before: 'output folder does not exist: notes.tif' for a file that does exist."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "gray.tif")
    (out / "notes.tif").write_text("mine")
    r = run("upscale", inp, "-o", out / "notes.tif", "-s", 2)
    assert r.exit_code == 2 and f"output folder is a file, not a folder: {out / 'notes.tif'}" in r.output, r.output
    assert (out / "notes.tif").read_text() == "mine"


def test_a_glob_run_again_into_its_own_folder_says_why_the_results_are_in_the_way(rasters, tiny_model_file,
                                                                                   tmp_path):
    """`ldcsr upscale in/*.tif -o in/` run twice: the second run's inputs include the first run's
    results, so a.tif's output is an input. Refused as before, now saying why."""
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(rasters["gray"], d / "a.tif")
    assert run("upscale", d / "a.tif", "-o", d, *FAST, "--model", tiny_model_file).exit_code == 0
    r = run("upscale", *sorted(d.glob("*.tif")), "-o", d, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2 and "is itself a result of an earlier run" in r.output, r.output
    for name in ("b.tif", "b_sr.tif"):  # a plain input in the way: no such hint
        shutil.copy(rasters["gray"], d / name)
    r = run("upscale", d / "b.tif", d / "b_sr.tif", "-o", d, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2 and "is an input file" in r.output and "earlier run" not in r.output, r.output


def test_one_file_given_twice_with_one_output_file_is_one_input(rasters, tiny_model_file, tmp_path):
    """`upscale a.tif a.tif -o x.tif` said 'several inputs need an existing folder'."""
    src = tmp_path / "a.tif"
    shutil.copy(rasters["gray"], src)
    os.symlink(src, tmp_path / "link.tif")
    r = run("upscale", src, tmp_path / "link.tif", src, "-o", tmp_path / "x.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.tif").exists() and "1 input: 1 written" in r.output


def test_a_batch_whose_every_input_fails_names_each_input(rasters, tiny_model_file, folders):
    """Before: a batch in which every input failed its check printed bare 'Error: band 4 does not
    exist: the file has bands 1..3' lines, one per input, naming none of them, and ended with 'no
    input could be processed'. Now the batch's summary names each input and its output, as when
    some inputs are written."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    r = run("upscale", inp, "-o", out, *FAST, "--bands", "4,3,2", "--model", tiny_model_file)
    assert r.exit_code == 1, r.output
    for name in ("a", "b"):
        assert f"failed   {inp / f'{name}.tif'} -> {out / f'{name}_sr.tif'}: band 4 does not exist" in r.output
    assert r.output.strip().splitlines()[-2:] == ["2 inputs: 0 written, 0 skipped, 2 failed",
                                                  "Error: 2 of 2 inputs failed"], r.output
    assert list(out.iterdir()) == []


def test_a_glob_that_names_the_empty_output_folder_says_so(rasters, tiny_model_file, tmp_path):
    """'ldcsr upscale in/* -o in/out' (the glob names in/out too): before, the first run was refused
    with 'no raster files (.tif, .png, .jp2, ...) in folder in/out', which did not say that in/out is
    the output folder (only a rerun, with outputs there, said so). Now both say it, before any work."""
    inp = tmp_path / "in"
    (inp / "out").mkdir(parents=True)
    shutil.copy(rasters["gray"], inp / "a.tif")
    r = run("upscale", inp / "a.tif", inp / "out", "-o", inp / "out", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 2 and f"output folder is the input folder: {inp / 'out'}" in r.output, r.output
    assert list((inp / "out").iterdir()) == []


def test_a_crushed_band_warning_names_its_input(tiny_model_file, folders, caplog):
    """--stretch dtype on a batch: before, 'band 1 spans 0.151 % of the uint16 range, ...' named no
    file, so among many inputs the one whose bands become black to the model was not said."""
    import numpy as np

    from .conftest import write_tif

    inp, out = folders
    rng = np.random.default_rng(0)
    write_tif(inp / "dim.tif", rng.integers(0, 100, (1, 20, 20)), dtype="uint16")  # 0.15 % of the range
    write_tif(inp / "full.tif", rng.integers(0, 60_000, (1, 20, 20)), dtype="uint16")
    with caplog.at_level("WARNING", logger="ldcsr_core"):
        r = run("upscale", inp, "-o", out, *FAST, "--stretch", "dtype", "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    said = [rec.getMessage() for rec in caplog.records if "of the uint16 range" in rec.getMessage()]
    assert len(said) == 1 and said[0].startswith("dim.tif: band 1 spans"), said


def test_a_folder_at_an_output_name_fails_that_input_in_words(rasters, tiny_model_file, folders):
    """out/a_sr.tif is a folder: before, the batch stopped before any work with 'output exists:
    out/a_sr.tif (use --overwrite to replace it)' (exit 4), and --overwrite then failed that input
    with 'output path is a folder'. Now that line at once; the other inputs are written."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    (out / "a_sr.tif").mkdir()
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1 and "--overwrite" not in r.output, r.output
    assert f"failed   {inp / 'a.tif'} -> {out / 'a_sr.tif'}: output path is a folder: {out / 'a_sr.tif'}" in r.output
    assert (out / "a_sr.tif").is_dir() and (out / "b_sr.tif").is_file()


def test_a_folder_with_no_rasters_is_exit_5_as_train_and_evaluate_say_it(folders):
    """An input folder that is there but holds nothing to read is bad input (the exit table's 5: an
    empty file, not a raster), as train's DATA and evaluate's folder say it ('no images ... under
    DIR'). Before: upscale's was click's usage error, exit 2 "Invalid value for 'IN': no raster
    files ...", the status of an input not there."""
    inp, out = folders
    (inp / "notes.txt").write_text("not a raster")
    r = run("upscale", inp, "-o", out, *FAST)
    assert r.exit_code == 5, r.output
    assert r.output.strip().splitlines()[-1] == f"Error: no raster files (.tif, .png, .jp2, ...) in folder {inp}"
    assert list(out.iterdir()) == []
    r = run("evaluate", inp, "--device", "cpu")
    assert r.exit_code == 5 and f"no images (.bmp, .gtiff, .img, .jp2, .jpeg, .jpg, .png, .tif, .tiff, .vrt, .webp) under {inp}" in r.output
