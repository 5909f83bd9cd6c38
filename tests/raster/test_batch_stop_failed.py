"""After an interrupted ``--overwrite`` batch, the advice names the inputs left to run apart from those that
failed: one that failed in the run (a damaged block) and one that failed its checks before the run (not a
raster) are not inputs "not done" to paste back as they are, nor left out without a word."""

from __future__ import annotations

import shlex
import shutil

import numpy as np
import rasterio

from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def _damaged(path):
    """A GeoTIFF whose header reads (it passes the checks before the run) and whose blocks are cut short."""
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8", tiled=True,
                       blockxsize=16, blockysize=16) as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (1, 64, 64), dtype=np.uint8))
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _interrupted(monkeypatch, name, *args):
    """The run of ``args``, Ctrl-C as the output ``name`` has just gone in place."""
    commit = GeoTiffWriter.commit

    def commit_then_ctrl_c(self):
        commit(self)
        if self.path.name == name:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(GeoTiffWriter, "commit", commit_then_ctrl_c)
        r = run(*args)
    assert r.exit_code == 130, r.output
    return r.output, next(ln for ln in r.output.splitlines() if ln.startswith("interrupted"))


def test_inputs_that_failed_are_named_apart_from_those_left_to_run(rasters, tiny_model_file, folders, monkeypatch):
    """in/: a.tif damaged (fails in the run), b.tif (Ctrl-C as its output goes in place), c.tif, d.tif not a
    raster (fails its checks), e.tif. Before: 'interrupted after 2 of 5 inputs; to go on, run the command
    again, with --overwrite, on the 3 inputs not done: in/c.tif in/d.tif in/e.tif (...)': a.tif, not done,
    was left out without a word, d.tif's error was never said and the pasted command failed it again."""
    inp, out = folders
    _damaged(inp / "a.tif")
    for name in "bce":
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    (inp / "d.tif").write_text("hi\n")
    output, said = _interrupted(monkeypatch, "b_sr.tif", "upscale", inp, "-o", out, *FAST, "--model",
                                tiny_model_file, "--overwrite")
    assert "5 inputs: 1 written, 0 skipped, 2 failed, 2 not done" in output, output
    assert f"failed   {inp / 'd.tif'} -> {out / 'd_sr.tif'}: " in output, output  # its error, said
    left, _, rest = said.partition("not done: ")[2].partition(" (")
    assert said.startswith("interrupted after 2 of 5 inputs; to go on, run the command again, with --overwrite, "
                           "on the 2 inputs not done: "), said
    assert shlex.split(left) == [str(inp / "c.tif"), str(inp / "e.tif")], said
    assert rest.endswith(f"; left out of it, the 2 inputs that failed (above): {inp / 'a.tif'} {inp / 'd.tif'}: "
                         "add them once what failed is fixed"), said
    r = run("upscale", *shlex.split(left), "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0 and "2 inputs: 2 written, 0 skipped, 0 failed" in r.output, r.output


def test_a_stop_after_the_last_input_names_those_that_failed(rasters, tiny_model_file, folders, monkeypatch):
    """a.tif damaged, b.tif the last, Ctrl-C as its output goes in place. Before: 'interrupted after 2 of 2
    inputs: every input was done', a.tif's output missing."""
    inp, out = folders
    _damaged(inp / "a.tif")
    shutil.copy(rasters["gray"], inp / "b.tif")
    for overwrite, again in (("--overwrite", "run the command again, with --overwrite, on it"),
                             (None, "run the same command again (complete outputs are skipped)")):
        (out / "b_sr.tif").unlink(missing_ok=True)  # (without --overwrite, b_sr.tif complete would be skipped)
        _, said = _interrupted(monkeypatch, "b_sr.tif", "upscale", inp, "-o", out, *FAST, "--model",
                               tiny_model_file, *([overwrite] if overwrite else []))
        assert said == (f"interrupted after 2 of 2 inputs: every input was done but the 1 input that failed "
                        f"(above): {inp / 'a.tif'}; once what failed is fixed, {again}"), said
