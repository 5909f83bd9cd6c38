"""The output folder removed by the user while ``ldcsr upscale`` runs (``rm -rf out`` meanwhile) is the user's
environment, not a bug: the run stops saying so, exit 5 (an environment's error, docs/cli.md), no traceback."""

from __future__ import annotations

import shutil

import pytest

from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

# What the runs do after the model loads, not its loading: each model loaded once for the module (no run or test here
# changes the model it is handed).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def _removing(fault, at: str):
    """``fault``, run by the writer of the output named ``at`` after it removes that output's folder."""
    def hooked(self, *args, **kwargs):
        if self.path.name == at and self.path.parent.is_dir():
            shutil.rmtree(self.path.parent)
        return fault(self, *args, **kwargs)
    return hooked


def _open_part(self):  # the part file's own ENOENT, as a read of it after the folder went would raise
    return open(self.tmp_path, "rb")


HOOKS = {"mid-write": ("write", GeoTiffWriter.write), "before the commit": ("commit", GeoTiffWriter.commit),
         "the part file not found": ("commit", _open_part)}


@pytest.mark.parametrize("batch", [False, True], ids=["one input", "batch"])
@pytest.mark.parametrize("hook", list(HOOKS))
def test_an_output_folder_removed_during_the_run_is_said_as_such(rasters, tiny_model_file, folders, monkeypatch,
                                                                 batch, hook):
    """Before: one input said 'cannot write out/a_sr.tif: its part file was removed while it was written (was out
    deleted or cleaned?)', or, where the part file's ENOENT reached the command, 'FileNotFoundError: [Errno 2] No such
    file or directory: 'out/.a_sr.tif.XXXXXXXX.ldcsr-part' (run 'ldcsr -v ...' for the traceback)', exit 1, its
    traceback under -v, as a bug's; a batch went on to fail every input after it ('output folder does not exist:
    out'), exit 1. Now the run stops at the input whose folder went: what happened, exit 5, no traceback."""
    inp, out = folders
    names = ("a", "b", "c") if batch else ("a",)
    for name in names:
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    at = "b_sr.tif" if batch else "a_sr.tif"  # in a batch, a's output is written first: removed with the folder
    method, fault = HOOKS[hook]
    monkeypatch.setattr(GeoTiffWriter, method, _removing(fault, at))
    args = (inp, "-o", out) if batch else (inp / "a.tif", "-o", out / "a_sr.tif")
    r = run("-v", "upscale", *args, *FAST, "--model", tiny_model_file)
    said = " ".join(r.output.split())
    took = ", with the 1 output in it" if batch else ""
    nor = ", nor that of the input after it" if batch else ""
    assert r.exit_code == 5, r.output
    assert (f"Error: the output folder {out} was removed or renamed during the run{took}; {out / at} was not "
            f"written{nor} (make the folder again, or give it its name back, and run again)") in said, r.output
    assert "Traceback" not in r.output and "for the traceback" not in r.output, r.output
    assert "c.tif" not in r.output and "inputs failed" not in r.output, r.output  # c not tried
    assert not out.exists()  # nothing made again


def test_an_output_folder_renamed_during_the_run_is_not_said_removed(rasters, tiny_model_file, folders, monkeypatch):
    """``mv out out2`` while a batch runs into out. Before: 'the output folder out was removed during the run, with the
    1 output in it', while that output is safe in out2; now 'removed or renamed' (where it went cannot be found in
    general), and to give it its name back: the same command then keeps what it wrote."""
    inp, out = folders
    for name in ("a", "b", "c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    moved = out.with_name("out2")
    real_write = GeoTiffWriter.write

    def renaming(self, *args, **kwargs):
        if self.path.name == "b_sr.tif" and out.is_dir():
            out.rename(moved)
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(GeoTiffWriter, "write", renaming)
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert (f"Error: the output folder {out} was removed or renamed during the run, with the 1 output in it; "
            f"{out / 'b_sr.tif'} was not written, nor that of the input after it (make the folder again, or give it "
            "its name back, and run again)") in said, r.output
    assert (moved / "a_sr.tif").is_file() and not out.exists()  # the output said to be in it is there


def _replacing(fault, at: str, folder, by_file: bool):
    """``fault``, run by the writer of the output named ``at`` after it removes ``folder`` (a file put in its place)."""
    def hooked(self, *args, **kwargs):
        if self.path.name == at and folder.is_dir():
            shutil.rmtree(folder)
            if by_file:
                folder.write_text("notes")
        return fault(self, *args, **kwargs)
    return hooked


def test_the_current_folder_removed_as_the_output_folder_is_said_as_such(rasters, tiny_model_file, folders,
                                                                         monkeypatch):
    """``cd out; ldcsr upscale ../in -o .`` and out removed meanwhile. Before: the current folder, removed, was still
    found at '.', so the batch said 'written' of a whose file went with it, failed b ('its part file was removed while
    it was written (was . deleted or cleaned?)') and c ('[Errno 2] No such file or directory'), exit 1. Now it stops
    at b, as for any output folder removed: exit 5."""
    inp, out = folders
    for name in ("a", "b", "c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    monkeypatch.chdir(out)
    monkeypatch.setattr(GeoTiffWriter, "write", _replacing(GeoTiffWriter.write, "b_sr.tif", out, by_file=False))
    r = run("upscale", inp, "-o", ".", *FAST, "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert ("Error: the output folder . was removed during the run, with the 1 output in it; b_sr.tif was not written, "
            "nor that of the input after it (make the folder again and run again)") in said, r.output
    assert "c.tif" not in r.output and "1 written" not in said, r.output


def test_an_output_folder_replaced_by_a_file_says_so(rasters, tiny_model_file, folders, monkeypatch):
    """out removed and a file named out put there while a batch runs into it. Before: 'the output folder out was
    removed during the run ... (make the folder again and run the same command)': out is there, a file, and
    'mkdir out' fails on it. Now it says the folder was replaced by a file, and to make out a folder again."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    monkeypatch.setattr(GeoTiffWriter, "write", _replacing(GeoTiffWriter.write, "b_sr.tif", out, by_file=True))
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert (f"Error: the output folder {out} was replaced by a file during the run, with the 1 output in it; "
            f"{out / 'b_sr.tif'} was not written (make {out} a folder again and run again)") in said, r.output
    assert out.read_text() == "notes"  # the user's file is left as it is


@pytest.mark.parametrize("hook", ["mid-write", "before the commit"])
def test_a_spread_out_folder_removed_during_the_run_is_said_as_such(rasters, tiny_model_file, folders, monkeypatch,
                                                                    hook):
    """--spread-out maps/s.tif and maps removed while it is written. Before: 'Error: cannot write maps/s.tif: its part
    file was removed while it was written (was maps deleted or cleaned?)' (or '... before it was renamed into place'),
    as if a part file alone had gone; now the output folder's words, and the output not written with it, exit 5."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "a.tif")
    maps = out.with_name("maps")
    maps.mkdir()
    method, fault = HOOKS[hook]
    monkeypatch.setattr(GeoTiffWriter, method, _removing(fault, "s.tif"))
    r = run("upscale", inp / "a.tif", "-o", out / "a_sr.tif", "--samples", "2", "--spread-out", maps / "s.tif",
            "-s", 2, "--device", "cpu", "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert (f"Error: the output folder {maps} was removed or renamed during the run; {maps / 's.tif'} was not written, "
            f"nor {out / 'a_sr.tif'} (make the folder again, or give it its name back, and run again)") in said, r.output
    assert not maps.exists() and list(out.iterdir()) == []


def test_the_output_and_spread_out_folders_both_removed_are_both_named(rasters, tiny_model_file, folders, monkeypatch):
    """out and maps (--spread-out maps/s.tif) both removed while the spread file is written. Before: 'the output folder
    out was removed or renamed during the run; out/a_sr.tif was not written (make the folder again, …)': maps, gone
    too, was not said. Now both folders and both files, exit 5."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "a.tif")
    maps = out.with_name("maps")
    maps.mkdir()

    write = GeoTiffWriter.write

    def removing_both(self, *args, **kwargs):
        if self.path.name == "s.tif" and maps.is_dir():
            shutil.rmtree(maps)
            shutil.rmtree(out)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(GeoTiffWriter, "write", removing_both)
    r = run("upscale", inp / "a.tif", "-o", out / "a_sr.tif", "--samples", "2", "--spread-out", maps / "s.tif",
            "-s", 2, "--device", "cpu", "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert (f"Error: the output folders {out} and {maps} were removed or renamed during the run; {out / 'a_sr.tif'} "
            f"and {maps / 's.tif'} were not written (make the folders again, or give them their names back, and run "
            "again)") in said, r.output
    assert not out.exists() and not maps.exists()
    from ldcsr_core.folder_removed import folder_removed

    out.write_text("notes")  # each folder as it went: one replaced by a file, the other removed
    assert str(folder_removed(out / "a_sr.tif", also=maps / "s.tif")).endswith(
        f"the output folder {out} was replaced by a file, and {maps} was removed or renamed, during the run; "
        f"{out / 'a_sr.tif'} and {maps / 's.tif'} were not written (make {out} a folder again and make {maps} again, or "
        "give it its name back, and run again)")


@pytest.mark.parametrize("two", [False, True], ids=["one folder", "two folders"])
def test_the_outputs_that_went_are_said_in_the_folder_or_folders(tmp_path, two):
    """Before: 'the output folders out and maps were removed or renamed during the run, with the 2 outputs in it' of two
    folders; now 'in them' (one folder: 'in it', as before)."""
    from ldcsr_core.folder_removed import folder_removed

    out, maps = tmp_path / "out", tmp_path / "maps"  # both removed (never made here)
    said = str(folder_removed(out / "c_sr.tif", took=2, nor=", nor that of the input after it",
                              also=maps / "c_sr_spread.tif" if two else None))
    gone = (f"the output folders {out} and {maps} were removed or renamed during the run, with the 2 outputs in them; "
            f"{out / 'c_sr.tif'} and {maps / 'c_sr_spread.tif'} were not written" if two else
            f"the output folder {out} was removed or renamed during the run, with the 2 outputs in it; "
            f"{out / 'c_sr.tif'} was not written")
    assert said.startswith(gone + ", nor that of the input after it (make the folder" + ("s" if two else "")), said
    assert ", with the 1 output in it;" in str(folder_removed(out / "c_sr.tif", took=1))
    assert "with the" not in str(folder_removed(out / "c_sr.tif", also=maps / "s.tif"))  # none went
