"""Two commands on the same outputs do not both compute them (``output_claims.OutputClaim``).

Before: two ``ldcsr upscale`` started on one input folder and one output folder each computed every
input; the one that finished second reported each 'skipped: complete output already there' after
computing it (right files, twice the work). Now an output another live run is making is done last
in a batch and then waited for (skipped if that run completed it, made here if it died), and a
single run waits for it. A claim dies with its process (kill -9 included)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core import files
from ldcsr_core.output_claims import OutputClaim
from ldcsr_core.cli import main
from ldcsr_core.errors import OutputBusy
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

FAST = UpscaleOptions(mode="fast")


def _claims(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(OutputClaim.SUFFIX)]


def test_a_run_waits_for_the_run_making_its_output_and_skips_what_it_made(rasters, tiny_model, tmp_path):
    src, dst = rasters["gray"], tmp_path / "o.tif"
    ref = upscale_raster(src, tmp_path / "ref.tif", model=tiny_model, scale=2, options=FAST)
    other = OutputClaim(dst)  # another run making o.tif (a claim is per open file: also here)
    assert other.take(wait=False)
    try:
        with pytest.raises(OutputBusy, match="another run is making"):
            upscale_raster(src, dst, model=tiny_model, scale=2, options=FAST,
                           output=OutputOptions(skip_complete=True, wait_for_others=False))
        assert not dst.exists() and [p.name for p in tmp_path.iterdir() if files.PART_SUFFIX in p.name] == []
        done = {}
        waiting = threading.Thread(target=lambda: done.update(r=upscale_raster(
            src, dst, model=tiny_model, scale=2, options=FAST, output=OutputOptions(skip_complete=True))))
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and not dst.exists()  # it waits, it does not compute o.tif again
        shutil.copy(ref.dst, dst)  # the other run's complete output goes in place
    finally:
        other.release()
    waiting.join(60)
    assert done["r"].status == "skipped" and files.sha256_file(dst) == files.sha256_file(ref.dst)
    assert _claims(tmp_path) == []


def test_a_batch_does_a_claimed_input_last_and_makes_it_when_its_run_died(rasters, tiny_model_file, tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir(), out.mkdir()
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    other = OutputClaim(out / "a_sr.tif")
    assert other.take(wait=False)

    def die_after_b():  # the other command stops (its claim dropped) without making a_sr.tif
        deadline = time.monotonic() + 120
        while not (out / "b_sr.tif").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        other.release()

    threading.Thread(target=die_after_b, daemon=True).start()
    r = CliRunner().invoke(main, ["upscale", str(inp), "-o", str(out), "-s", "2", "--mode", "fast",
                                  "--model", str(tiny_model_file)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("written")]
    assert [ln.split()[1] for ln in lines] == [str(inp / "b.tif"), str(inp / "a.tif")], r.output
    assert "2 inputs: 2 written, 0 skipped, 0 failed" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["a_sr.tif", "b_sr.tif"]  # no claim left
    with rasterio.open(out / "a_sr.tif") as ds:
        assert ds.tags()["LDCSR_SOURCE"] == "a.tif"


def test_the_claim_of_a_killed_run_is_taken_at_once(rasters, tiny_model, tmp_path):
    dst = tmp_path / "o.tif"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from ldcsr_core.output_claims import OutputClaim; c = OutputClaim(sys.argv[1]); "
        "assert c.take(wait=False); print('held', flush=True); time.sleep(600)"), str(dst)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        assert child.stdout.readline().strip() == "held"
        assert not OutputClaim(dst).take(wait=False)  # held by a live run
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        assert _claims(tmp_path) == ["." + dst.name + OutputClaim.SUFFIX]  # left, unlocked
        res = upscale_raster(rasters["gray"], dst, model=tiny_model, scale=2, options=FAST,
                             output=OutputOptions(wait_for_others=False))
    finally:
        child.kill()
        child.wait(30)
    assert res.status == "written" and _claims(tmp_path) == []


def test_write_raster_leaves_an_output_another_run_is_making(tmp_path):
    import numpy as np
    from ldcsr_core.geo.arrays import GeoArray
    from ldcsr_core.geo.raster_io import write_raster
    from rasterio.transform import from_origin

    dst = tmp_path / "o.tif"
    geo = GeoArray(np.ones((1, 8, 8), np.uint8), from_origin(0, 8, 1, 1), "EPSG:32633", None, {})
    other = OutputClaim(dst)  # a command making o.tif: its overwrite would lose that run's work
    assert other.take(wait=False)
    try:
        with pytest.raises(OutputBusy, match=f"another run is making {dst} now"):
            write_raster(dst, geo, overwrite=True)
        assert _claims(tmp_path) == ["." + dst.name + OutputClaim.SUFFIX] and not dst.exists()
    finally:
        other.release()
    write_raster(dst, geo, overwrite=True)  # that run over
    assert [p.name for p in tmp_path.iterdir()] == ["o.tif"]


SAMPLES = UpscaleOptions(samples=2)  # the mean of 2 diffusion samples, and their spread file


def test_a_run_with_samples_claims_its_spread_file_too(rasters, tiny_model, tmp_path):
    """Before: only the output was claimed, so a Save (write_raster, napari's Save) onto the spread
    file's name while the run worked was written and reported saved; at its end the run failed
    'output exists: …_spread.tif (it appeared while this run worked ...)' and lost its whole result
    (with overwrite, it replaced the saved file instead). Now the save is refused and the run ends
    with both its files."""
    import numpy as np
    from ldcsr_core.geo.raster_io import read_raster, write_raster

    dst, spread = tmp_path / "o.tif", tmp_path / "o_spread.tif"
    other = read_raster(rasters["gray"])
    seen = []

    def save_onto_the_spread_file(info):
        if not seen:
            seen.append(OutputClaim.busy(spread))
            with pytest.raises(OutputBusy, match=f"another run is making {spread} now"):
                write_raster(spread, other, overwrite=True)

    res = upscale_raster(rasters["gray"], dst, model=tiny_model, scale=2, options=SAMPLES,
                         output=OutputOptions(wait_for_others=False), callback=save_onto_the_spread_file)
    assert seen == [True] and res.status == "written" and res.spread == str(spread)
    with rasterio.open(spread) as ds:  # the run's spread, not the refused save's picture
        assert ds.dtypes == ("float32",) and ds.tags()["LDCSR_JOB"] == res.tags["LDCSR_JOB"]
        assert np.isfinite(ds.read(1)).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif", "o_spread.tif"]  # claims released


def test_a_spread_file_another_run_is_making_is_waited_for_like_the_output(rasters, tiny_model, tmp_path):
    """Same rule and words as the output's claim: OutputBusy at once when not waiting (nothing made,
    the output's claim given up again), and the spread file's name in the sentence."""
    dst, spread = tmp_path / "o.tif", tmp_path / "s.tif"
    other = OutputClaim(spread)  # e.g. another command writing its output (or spread) to s.tif
    assert other.take(wait=False)
    try:
        with pytest.raises(OutputBusy) as e:
            upscale_raster(rasters["gray"], dst, model=tiny_model, scale=2, options=SAMPLES, spread_path=spread,
                           output=OutputOptions(wait_for_others=False))
        assert str(e.value) == f"another run is making {spread} now (wait for it to end, or write to another path)"
        assert not OutputClaim.busy(dst) and _claims(tmp_path) == ["." + spread.name + OutputClaim.SUFFIX]
    finally:
        other.release()
    assert _claims(tmp_path) == [] and not dst.exists()


def test_the_claims_of_a_run_with_samples_are_released_on_ctrl_c(rasters, tiny_model, tmp_path):
    dst, spread = tmp_path / "o.tif", tmp_path / "o_spread.tif"
    held = []

    def interrupt(info):
        held.append([OutputClaim.busy(dst), OutputClaim.busy(spread)])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_raster(rasters["gray"], dst, model=tiny_model, scale=2, options=SAMPLES, callback=interrupt)
    assert held == [[True, True]]
    assert list(tmp_path.iterdir()) == []  # no file, no part file, no claim


def test_two_runs_sharing_two_files_take_their_claims_in_one_order(tmp_path):
    """Run A writes a.tif and b.tif, run B b.tif and a.tif (its spread file is A's output): each takes
    its claims in one order (by claim file), so neither holds one while it waits for the other; one
    name spelt two ways is one claim (a second lock of it would wait for this run itself)."""
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    taken = OutputClaim.each([b, tmp_path / "." / "b.tif", None, a], wait=False)
    assert [c.output.name for c in taken] == ["a.tif", "b.tif"]
    for c in taken:
        c.release()
    other = OutputClaim.of(b, wait=False)
    try:
        with pytest.raises(OutputBusy, match=f"another run is making {b} now"):
            OutputClaim.each([a, b], wait=False)
        assert not OutputClaim.busy(a)  # the claim it had taken, given up
    finally:
        other.release()
    assert _claims(tmp_path) == []


def test_a_run_that_waited_for_another_checks_the_room_again(tiny_model, tmp_path, monkeypatch):
    """Before: upscale_raster(model=None) with 2 samples checked the room for its output and spread file together
    before the default model loaded, then waited for another run making its output, which filled the disk meanwhile
    (room left for either file alone, not both): the writers each check their own file, so it ran its samples and would
    fail as it wrote (here, on a disk that only says it is full: 'written'); now that wait is followed by the check of
    both files, so the run is refused before any compute, both files named, and nothing is made."""
    import logging

    import numpy as np

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo import geotiff_writer, pipeline

    from .conftest import write_tif

    src, dst = write_tif(tmp_path / "s.tif", np.random.default_rng(0).integers(1, 255, (3, 64, 64)),
                         dtype="uint8"), tmp_path / "o.tif"
    with rasterio.open(src) as ds:
        profile = pipeline.check_room(ds, (128, 128), dst)
    each = [geotiff_writer.output_nbytes(p) / geotiff_writer.BEST_COMPRESSION for p in (
        profile, {**profile, "dtype": "float32"})]  # the least the output and its spread file take, compressed
    free = [None]  # (None: the real disk's room) then room for the larger file alone, not for both
    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: free[0] or shutil.disk_usage(folder).free)
    monkeypatch.setattr(pipeline, "_resolve_model", lambda model: tiny_model)  # the default model's place
    other, waiting, computed = OutputClaim(dst), threading.Event(), []
    assert other.take(wait=False)  # another run making o.tif
    handler = logging.Handler()
    handler.emit = lambda record: waiting.set()  # 'another run is making o.tif now; waiting for it'
    logging.getLogger("ldcsr_core.output_claims").addHandler(handler)

    def fill_the_disk_then_finish():
        waiting.wait(60)
        free[0] = int(max(each) + min(each) / 2)
        other.release()

    threading.Thread(target=fill_the_disk_then_finish, daemon=True).start()
    try:
        with pytest.raises(RasterIOError, match="o.tif and its spread file o_spread.tif"):
            upscale_raster(src, dst, model=None, scale=2, options=UpscaleOptions(samples=2),
                           callback=computed.append)
    finally:
        logging.getLogger("ldcsr_core.output_claims").removeHandler(handler)
        other.release()
    assert waiting.is_set() and computed == [] and sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]
