"""What ``ldcsr upscale`` tells a power user to do after a batch stops or is refused: the inputs left
after an interrupt (names a shell gives back as files, -q, the last input done), an output this tool did
not write (a foreign file, a damaged one), another request's output, ``--bands`` a file lacks, ``--resume``,
and ``-v``'s tracebacks (of unexpected errors only)."""

from __future__ import annotations

import shlex
import shutil

from ldcsr_core import files
from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def _ctrl_c_after(monkeypatch, name):
    """Ctrl-C as the output ``name`` has just gone in place."""
    commit = GeoTiffWriter.commit

    def commit_then_ctrl_c(self):
        commit(self)
        if self.path.name == name:
            raise KeyboardInterrupt

    monkeypatch.setattr(GeoTiffWriter, "commit", commit_then_ctrl_c)


def _advice(output):
    return next(ln for ln in output.splitlines() if ln.startswith("interrupted"))


def test_an_interrupt_as_the_last_output_goes_in_place_says_every_input_was_done(
        rasters, tiny_model_file, folders, monkeypatch):
    """Before: 'interrupted after 2 of 2 inputs; to go on, run the command again, with --overwrite, on the 0
    inputs not done:  (...)', a command with no input to run."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    with monkeypatch.context() as m:
        _ctrl_c_after(m, "b_sr.tif")
        r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 130, r.output
    assert "2 inputs: 2 written, 0 skipped, 0 failed" in r.output, r.output
    assert _advice(r.output) == "interrupted after 2 of 2 inputs: every input was done", r.output


def test_the_inputs_left_are_named_so_that_a_shell_gives_them_back_as_files(
        rasters, tiny_model_file, folders, monkeypatch):
    """`ldcsr upscale . -o ../out --overwrite` in a folder holding '-b.tif': before, the inputs left were
    named '-b.tif', which pasted into the command is read as options (exit 2); now './-b.tif'."""
    inp, out = folders
    for name in ("+a", "-b", "it's c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    monkeypatch.chdir(inp)
    with monkeypatch.context() as m:
        _ctrl_c_after(m, "+a_sr.tif")
        r = run("upscale", ".", "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 130, r.output
    said = _advice(r.output)
    left = shlex.split(said.partition("not done: ")[2].partition(" (")[0])
    assert left == ["./-b.tif", "it's c.tif"], said
    a_made = files.file_id(out / "+a_sr.tif")
    r = run("upscale", *left, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0 and "2 inputs: 2 written" in r.output, r.output
    assert files.file_id(out / "+a_sr.tif") == a_made


def test_quiet_still_says_how_to_go_on_after_an_interrupt(rasters, tiny_model_file, folders, monkeypatch):
    """-q is 'only errors': before, an interrupted batch said only 'Error: interrupted; ...', not that a
    rerun resumes it (nor, with --overwrite, which inputs are left)."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    with monkeypatch.context() as m:
        _ctrl_c_after(m, "a_sr.tif")
        r = run("-q", "upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 130, r.output
    assert _advice(r.output).startswith("interrupted after 1 of 2 inputs; to go on, run the command again, "
                                        f"with --overwrite, on the 1 input not done: {inp / 'b.tif'} ("), r.output
    assert "written" not in r.output.replace("written above", ""), r.output  # no progress chatter


def test_a_foreign_file_at_one_output_is_named_with_how_to_keep_the_complete_outputs(
        rasters, tiny_model_file, folders):
    """`echo hi > out/b_sr.tif` beside a's complete output: before, 'output exists: out/b_sr.tif (use
    --overwrite to replace it)', while --overwrite also makes a_sr.tif again. Now the refusal (before any
    work, exit 4) says what the file is, and that moving it keeps the complete outputs."""
    inp, out = folders
    for name in ("a", "b", "c"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    assert run("upscale", inp / "a.tif", "-o", out / "a_sr.tif", *FAST, "--model", tiny_model_file).exit_code == 0
    a_made = files.file_id(out / "a_sr.tif")
    (out / "b_sr.tif").write_text("hi\n")
    with open(out / "a_sr.tif", "rb") as f:
        (out / "c_sr.tif").write_bytes(f.read(3000))  # a copy cut short
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 4, r.output
    said = " ".join(r.output.split())
    assert (f"2 outputs exist that are no readable results of this tool: {out / 'b_sr.tif'} (not a raster), {out / 'c_sr.tif'} "
            "(a TIFF that cannot be read: damaged or cut short); move them away (or remove them) and run again to "
            "keep the batch's complete outputs (they are skipped), or use --overwrite") in said, r.output
    assert (out / "b_sr.tif").read_text() == "hi\n" and files.file_id(out / "a_sr.tif") == a_made


def test_a_damaged_output_is_said_to_be_damaged(rasters, tiny_model_file, tmp_path):
    """Before: a cut-short earlier output was refused as 'output exists: o.tif (use --overwrite ...)', as
    if it were a good file."""
    src = tmp_path / "a.tif"
    shutil.copy(rasters["gray"], src)
    assert run("upscale", src, "-o", tmp_path / "o.tif", *FAST, "--model", tiny_model_file).exit_code == 0
    with open(tmp_path / "o.tif", "r+b") as f:
        f.truncate(3000)
    r = run("upscale", src, "-o", tmp_path / "o.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 4, r.output
    assert (f"output exists: {tmp_path / 'o.tif'} (a TIFF that cannot be read: damaged or cut short; use "
            "--overwrite to replace it)") in " ".join(r.output.split()), r.output


def test_another_requests_output_in_a_batch_says_how_to_keep_the_complete_ones(rasters, tiny_model_file, folders):
    """Before: 'failed ... output exists from another request (...): out/a_sr.tif (use --overwrite to replace
    it)', while --overwrite would make b_sr.tif, complete, again too."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    assert run("upscale", inp / "a.tif", "-o", out / "a_sr.tif", "-s", 3, "--mode", "fast",
               "--model", tiny_model_file).exit_code == 0
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1, r.output
    assert (f"failed {inp / 'a.tif'} -> {out / 'a_sr.tif'}: output exists from another request (source, model "
            f"or options differ): {out / 'a_sr.tif'} (move it away and run again to keep the batch's complete "
            "outputs, which are skipped, or use --overwrite, which makes every output of the batch again)"
            ) in " ".join(r.output.split()), r.output


def test_bands_a_file_lacks_say_what_to_do(rasters, tiny_model_file, folders):
    """A mixed folder with --bands 4,3,2: before, the 3-band file's line ended at 'band 4 does not exist: the
    file has bands 1..3'."""
    inp, out = folders
    shutil.copy(rasters["uint16_nodata"], inp / "four.tif")
    shutil.copy(rasters["float32_nan"], inp / "three.tif")
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, "--bands", "4,3,2")
    said = " ".join(r.output.split())
    assert r.exit_code == 1 and "written " in said, r.output
    assert ("band 4 does not exist: the file has bands 1..3 (--bands applies to every input: run the files of 3 "
            "bands in a command of their own, with bands among 1..3 or without --bands)") in said, r.output


def test_resume_says_that_the_same_command_resumes(tmp_path):
    """`ldcsr upscale ... --resume` (train's option): before, only 'No such option '--resume'.'"""
    r = run("upscale", tmp_path, "-o", tmp_path, "-s", 2, "--resume")
    assert r.exit_code == 2
    assert ("No such option '--resume'. ldcsr upscale resumes without it: run the same command again (complete "
            "outputs are skipped)") in " ".join(r.output.split()), r.output


def test_verbose_gives_no_traceback_for_an_expected_error(rasters, tiny_model_file, tmp_path):
    """-v is 'tracebacks of unexpected errors' (docs/cli.md): before, every error's, e.g. a refused --bands
    or an unreachable Dask scheduler; -vv still gives them."""
    src = tmp_path / "a.tif"
    shutil.copy(rasters["gray"], src)
    args = ("upscale", src, "-o", tmp_path / "o.tif", *FAST, "--model", tiny_model_file, "--bands", "4,3,2")
    r = run("-v", *args)
    assert r.exit_code == 3 and "band 4 does not exist" in r.output and "Traceback" not in r.output, r.output
    r = run("-vv", *args)
    assert r.exit_code == 3 and "Traceback" in r.output, r.output
