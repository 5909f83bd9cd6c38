"""An output going in place (its commit: the rename) against what happens meanwhile: another run or program
making the same output, Ctrl-C just before or after the rename, a hang-up; what is on disk is what is reported."""

from __future__ import annotations

import shutil

import pytest
import rasterio

from ldcsr_core import files
from ldcsr_core.errors import OutputExistsError
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster
from ldcsr_core.output_claims import OutputClaim

from . import test_batch_outputs
from .test_batch_outputs import FAST, _parts, run

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def _same_request(tiny_model, src, dst, callback=None):
    return upscale_raster(src, dst, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"),
                          output=OutputOptions(skip_complete=True), callback=callback)


def test_two_runs_finishing_one_output(rasters, tiny_model, tmp_path, monkeypatch):
    """Two commands on one folder: the one that finishes second found the other's output of the
    same request at its rename. Before: 'failed ... output exists (use --overwrite)', exit 1,
    with every output right; now it is skipped, and the first run's file kept."""
    dst = tmp_path / "o.tif"
    other = {}
    # where a run cannot claim its output (no flock: a share without locks), both make it
    monkeypatch.setattr(OutputClaim, "take", lambda self, wait: True)

    def meanwhile(info):
        if info.done == info.total and not other:  # the other run finishes first
            other["result"] = _same_request(tiny_model, rasters["gray"], dst)

    res = _same_request(tiny_model, rasters["gray"], dst, meanwhile)
    assert other["result"].status == "written" and res.status == "skipped"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif"]


def test_a_file_put_there_before_the_rename_is_never_replaced(rasters, tiny_model, tmp_path, monkeypatch):
    """Without --overwrite the output goes in place with a hard link: a file that appears between a
    check and the rename (another program, another request) is kept. Before: the check passed,
    then os.replace clobbered it."""
    dst = tmp_path / "o.tif"
    mode = files.new_file_mode

    def someone_writes():  # called in the commit, just before the output goes in place
        if not dst.exists():
            dst.write_bytes(b"theirs")
        return mode()

    monkeypatch.setattr(files, "new_file_mode", someone_writes)
    with pytest.raises(OutputExistsError, match="appeared while this run worked"):
        _same_request(tiny_model, rasters["gray"], dst)
    assert dst.read_bytes() == b"theirs" and _parts(tmp_path) == []


def test_an_interrupt_just_after_a_rename_is_reported_written(rasters, tiny_model_file, folders, monkeypatch):
    """Ctrl-C landing after the 2nd output was renamed into place but before its run returned (the
    dataset's close, the progress bar's): before, the report listed only the 1st as written while
    the 2nd was on disk; now the report is what is on disk."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    inp, out = folders
    for name in ("a", "b", "c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    commit = GeoTiffWriter.commit

    def commit_then_ctrl_c(self):
        commit(self)
        if self.path.name == "b_sr.tif":
            raise KeyboardInterrupt

    monkeypatch.setattr(GeoTiffWriter, "commit", commit_then_ctrl_c)
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 130, r.output
    assert sorted(p.name for p in out.iterdir()) == ["a_sr.tif", "b_sr.tif"]
    assert f"written  {inp / 'b.tif'} -> {out / 'b_sr.tif'}: written just before the interrupt" in r.output
    assert "3 inputs: 2 written, 0 skipped, 0 failed, 1 not done" in r.output  # before: '2 inputs: ...'
    assert "interrupted after 2 of 3 inputs" in r.output, r.output


def test_an_interrupted_overwrite_batch_names_the_inputs_left_and_running_them_replaces_only_those(
        rasters, tiny_model_file, folders, monkeypatch):
    """Ctrl-C in an --overwrite batch over outputs of another request (x3, now x2). Before: '1 input: 1
    written, ...' (of 3) and 'run the same command again to resume (complete outputs are skipped)',
    which with --overwrite made a_sr.tif again, and without it failed b and c ('output exists from
    another request'). Now the totals count the 2 not done, and the line names them: run on those
    (with --overwrite), a_sr.tif is kept as the interrupted run wrote it and b's and c's replaced."""
    import shlex

    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    inp, out = folders
    for name in ("a", "b", "c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    assert run("upscale", inp, "-o", out, "-s", 3, "--mode", "fast", "--model", tiny_model_file).exit_code == 0
    commit = GeoTiffWriter.commit

    def commit_then_ctrl_c(self):
        commit(self)
        if self.path.name == "a_sr.tif":
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(GeoTiffWriter, "commit", commit_then_ctrl_c)
        r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 130, r.output
    assert "3 inputs: 1 written, 0 skipped, 0 failed, 2 not done" in r.output, r.output
    said = "interrupted after 1 of 3 inputs; to go on, run the command again, with --overwrite, on the 2 inputs not done: "
    line = next(ln for ln in r.output.splitlines() if ln.startswith("interrupted"))
    assert line.startswith(said), r.output
    left = shlex.split(line[len(said):].partition(" (")[0])
    assert left == [str(inp / "b.tif"), str(inp / "c.tif")]
    a_made = files.file_id(out / "a_sr.tif")
    r = run("upscale", *left, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0 and "2 inputs: 2 written, 0 skipped, 0 failed" in r.output, r.output
    assert files.file_id(out / "a_sr.tif") == a_made  # not made a third time
    for name in ("a", "b", "c"):
        with rasterio.open(inp / f"{name}.tif") as src, rasterio.open(out / f"{name}_sr.tif") as dst:
            assert dst.width == 2 * src.width  # each now x2


def test_an_interrupt_before_the_outputs_rename_leaves_no_spread_file(rasters, tiny_model, tmp_path, monkeypatch):
    """--samples: the spread file goes in place first, the output last. Ctrl-C (or any failure) at the
    output's rename left the spread file alone on disk under 'no partial output was left'; now
    neither file is left, as the pipeline says."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    commit = GeoTiffWriter.commit

    def ctrl_c_at_the_output(self):
        if self.path.name == "o.tif":
            raise KeyboardInterrupt
        commit(self)

    monkeypatch.setattr(GeoTiffWriter, "commit", ctrl_c_at_the_output)
    with pytest.raises(KeyboardInterrupt):
        upscale_raster(rasters["gray"], tmp_path / "o.tif", model=tiny_model, scale=2,
                       options=UpscaleOptions(mode="diffusion", samples=2))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("nohup", [False, True])
def test_a_hang_up_unwinds_like_ctrl_c_unless_ignored(tmp_path, tiny_model_file, nohup):
    """SIGHUP (the terminal or the ssh session closed): before, the process died at once, leaving the
    output's hidden part file (as big as the output) and no report. Now as Ctrl-C: part removed,
    what was written listed, exit 130. Under nohup (SIGHUP ignored) the batch goes on to the end."""
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    from .conftest import smooth_field, write_tif

    ins, outs = tmp_path / "in", tmp_path / "out"
    ins.mkdir()
    outs.mkdir()
    rng = np.random.default_rng(4)
    for name, side in (("a", 48), ("b", 128)):
        write_tif(ins / f"{name}.tif", smooth_field(rng, side, side, 3, 0, 255).round(), dtype="uint8")
    how = signal.SIG_IGN if nohup else signal.SIG_DFL
    p = subprocess.Popen([sys.executable, "-m", "ldcsr_core.cli", "upscale", str(ins), "-o", str(outs), "-s", "4",
                          "--mode", "fast", "--tile", "32", "--model", str(tiny_model_file)],
                         stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGHUP, how))
    deadline = time.time() + 120
    while time.time() < deadline and not any(q.name.startswith(".b_sr.tif.") for q in outs.iterdir()):
        time.sleep(0.02)
    p.send_signal(signal.SIGHUP)
    _, err = p.communicate(timeout=120)
    if nohup:
        assert p.returncode == 0 and sorted(q.name for q in outs.iterdir()) == ["a_sr.tif", "b_sr.tif"], err
        return
    assert p.returncode == 130, err
    assert f"written  {ins / 'a.tif'} -> {outs / 'a_sr.tif'}" in err and "interrupted after 1 of 2 inputs" in err
    assert sorted(q.name for q in outs.iterdir()) == ["a_sr.tif"]


def test_overwrite_keeps_what_a_second_command_made_meanwhile(rasters, tiny_model_file, folders, monkeypatch):
    """Two commands with --overwrite sharing a batch (the docs: they share the work): before, each
    replaced the outputs the other had just made, so every output was computed twice. Now
    --overwrite replaces what was there when the command began (the old b_sr.tif), and b's output
    of this request made meanwhile by the other command is skipped, its file kept."""
    from ldcsr_core.geo import pipeline

    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
        (out / f"{name}_sr.tif").write_bytes(b"an earlier result")
    real_run, other = pipeline.upscale_raster, {}

    def second_command_makes_b_meanwhile(src, dst, **kw):
        if dst.name == "a_sr.tif":  # the same request, as another command of it would run it
            kw_b = {k: v for k, v in kw.items() if k not in ("found", "callback")}
            other["b"] = real_run(inp / "b.tif", out / "b_sr.tif", **kw_b)
            other["id"] = files.file_id(out / "b_sr.tif")
        return real_run(src, dst, **kw)

    monkeypatch.setattr(pipeline, "upscale_raster", second_command_makes_b_meanwhile)
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0 and other["b"].status == "written", r.output
    assert f"skipped  {inp / 'b.tif'} -> {out / 'b_sr.tif'}" in r.output, r.output
    assert f"written  {inp / 'a.tif'} -> {out / 'a_sr.tif'}" in r.output, r.output
    assert files.file_id(out / "b_sr.tif") == other["id"]  # the other command's file
    for name in ("a", "b"):
        with rasterio.open(out / f"{name}_sr.tif") as ds:
            assert (ds.height, ds.width) == (90, 122)
