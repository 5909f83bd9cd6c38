"""An output folder removed during a run while another error stops it: the folder is said, and the error too where
it was not the folder's (a disk's EIO is not lost in 'was removed or renamed'), the same rule in the API and the CLI."""

from __future__ import annotations

import errno
import shutil

import pytest

from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def _remove_then(error):
    """A writer's write that removes its output's folder, then fails with ``error``."""
    def write(self, *args, **kwargs):
        shutil.rmtree(self.path.parent, ignore_errors=True)
        raise error
    return write


def test_the_api_says_the_folder_and_the_error_that_was_not_its(rasters, tiny_model_file, tmp_path):
    """Before: 'the output folder out was removed or renamed during the run; … (… and run again)', the EIO dropped
    (``from None``). Now the EIO follows, and is the error's cause."""
    import ldcsr_core
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    out = tmp_path / "out"
    out.mkdir()
    eio = OSError(errno.EIO, "cannot read in.tif: Input/output error")
    calls = []

    def callback(info):
        calls.append(info)
        if len(calls) == 2:
            shutil.rmtree(out)
            raise eio

    with pytest.raises(OSError) as caught:
        upscale_raster(rasters["gray"], out / "o.tif", model=ldcsr_core.load_model(tiny_model_file), scale=2,
                       options=UpscaleOptions(mode="fast", tile=32), callback=callback)
    said = str(caught.value)
    assert f"the output folder {out} was removed or renamed during the run" in said, said
    assert said.endswith("and run again); also: cannot read in.tif: Input/output error"), said
    assert caught.value.__cause__ is eio


@pytest.mark.parametrize("error, words", [
    (OSError(errno.EIO, "Input/output error", "in/a.tif"), "also: Input/output error: in/a.tif"),
    (ValueError("tile 3 has 2 bands"), "also: ValueError: tile 3 has 2 bands")], ids=["EIO", "ValueError"])
def test_the_cli_says_the_folder_and_the_error_that_was_not_its(rasters, tiny_model_file, folders, monkeypatch,
                                                                error, words):
    """Before: the CLI took any error once the folder was gone for the folder's (the ValueError, a bug's, and the EIO
    lost). Now both, exit 5 as the folder's; with the part file's own ENOENT, the folder alone (as before)."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "a.tif")
    monkeypatch.setattr(GeoTiffWriter, "write", _remove_then(error))
    r = run("upscale", inp / "a.tif", "-o", out / "a_sr.tif", *FAST, "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert (f"Error: the output folder {out} was removed or renamed during the run; {out / 'a_sr.tif'} was not written "
            f"(make the folder again, or give it its name back, and run again); {words}") in said, r.output


def test_a_file_missing_inside_the_folder_that_went_is_the_folders(rasters, tiny_model_file, folders, monkeypatch):
    """The folder's own error (a path inside it not found) is not said again: the folder line alone."""
    inp, out = folders
    shutil.copy(rasters["gray"], inp / "a.tif")
    monkeypatch.setattr(GeoTiffWriter, "write", _remove_then(
        FileNotFoundError(errno.ENOENT, "No such file or directory", str(out / ".a_sr.tif.x.ldcsr-part"))))
    r = run("upscale", inp / "a.tif", "-o", out / "a_sr.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 5, r.output
    assert "also:" not in r.output and "and run again)" in " ".join(r.output.split()), r.output
