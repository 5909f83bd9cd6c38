"""``ldcsr -v`` prints the traceback of an unexpected error, a bug's: not only an ``AttributeError`` in the
engine, but a ``ValueError`` that is none of the engine's (NumPy's "operands could not be broadcast"), which
is exit 1 as any other bug; an expected error (the engine's ``InputError``, a ValueError too) gets none
(test_batch_advice.py)."""

from __future__ import annotations

import errno
import os
import re
import shutil

import numpy as np
import pytest

from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


@pytest.fixture(scope="module")
def gray(tmp_path_factory):
    """A 16×16 grayscale GeoTIFF: the input of runs whose fault comes after the model (a larger one only costs time)."""
    from .conftest import smooth_field, write_tif
    from rasterio.enums import ColorInterp

    data = smooth_field(np.random.default_rng(0), 16, 16, 1, 10, 240).round()
    return write_tif(tmp_path_factory.mktemp("gray") / "gray.tif", data, dtype="uint8", colorinterp=[ColorInterp.gray])


def _attribute_bug(self):
    return None.shape  # noqa: B018 - a bug: an attribute of nothing


def _numpy_bug(self):
    return np.ones((3, 4)) + np.ones((3, 5))  # a bug: shapes that do not match


@pytest.mark.parametrize("batch", [False, True], ids=["one input", "batch"])
def test_verbose_gives_the_traceback_of_a_bug_in_the_engine(gray, tiny_model_file, folders, monkeypatch, batch,
                                                            model_loaded_once):
    """Before: the NumPy ValueError was 'Error: operands could not be broadcast together with shapes (3,4)
    (3,5)' (exit 1) under -v without its traceback, nor its type, as if the input were wrong."""
    inp, out = folders
    for name in ("a", "b") if batch else ("a",):
        shutil.copy(gray, inp / f"{name}.tif")
    args = (inp, "-o", out) if batch else (inp / "a.tif", "-o", out / "a_sr.tif")
    for bug, said in ((_attribute_bug, "AttributeError: 'NoneType' object has no attribute 'shape'"),
                      (_numpy_bug, "ValueError: operands could not be broadcast together with shapes (3,4) (3,5)")):
        with monkeypatch.context() as m:
            m.setattr(GeoTiffWriter, "commit", bug)
            quiet = run("upscale", *args, *FAST, "--model", tiny_model_file)
            verbose = run("-v", "upscale", *args, *FAST, "--model", tiny_model_file)
        for r in (quiet, verbose):
            assert r.exit_code == 1, r.output
            assert f"{said} (run 'ldcsr -v ...' for the traceback)" in r.output, r.output
        assert "Traceback" not in quiet.output, quiet.output
        assert "Traceback (most recent call last)" in verbose.output and f"in {bug.__name__}" in verbose.output, \
            verbose.output


def _part_file_bug(self):
    os.remove(self.tmp_path)  # a bug: the engine's own part file removed before it is read again
    return open(self.tmp_path, "rb")


def _disk_full(self):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.tmp_path))


def _input_gone(self):
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(self.path.parent / "gone.tif"))


@pytest.mark.parametrize("batch", [False, True], ids=["one input", "batch"])
def test_an_os_error_of_the_engines_own_part_file_is_a_bug(gray, tiny_model_file, folders, monkeypatch, batch,
                                                           model_loaded_once):
    """Before, every OSError was expected: a FileNotFoundError of out/.a_sr.tif.XXXXXXXX.ldcsr-part, a file the
    engine made and owns, was 'Error: [Errno 2] No such file or directory: ...' (exit 5) even under -v, no traceback,
    no type, as if the user's files were wrong; now a bug's, exit 1. A disk full there, or a user's file not found, stays expected."""
    inp, out = folders
    for name in ("a", "b") if batch else ("a",):
        shutil.copy(gray, inp / f"{name}.tif")
    args = (inp, "-o", out) if batch else (inp / "a.tif", "-o", out / "a_sr.tif")
    for fault, bug in ((_part_file_bug, True), (_disk_full, False), (_input_gone, False)):
        with monkeypatch.context() as m:
            m.setattr(GeoTiffWriter, "commit", fault)
            quiet = run("upscale", *args, *FAST, "--model", tiny_model_file)
            verbose = run("-v", "upscale", *args, *FAST, "--model", tiny_model_file)
        for r in (quiet, verbose):
            assert r.exit_code == (1 if bug or batch else 5) and "Traceback" not in quiet.output, r.output
            said = re.search(r"No such file or directory: '[^']*/\.a_sr\.tif\.[a-z0-9_]{8}\.ldcsr-part'"
                             r"|No space left on device|gone\.tif", r.output)
            assert said, r.output
            assert ("FileNotFoundError: " in r.output and "(run 'ldcsr -v ...' for the traceback)" in r.output) == bug, \
                r.output
        assert ("Traceback (most recent call last)" in verbose.output and "in _part_file_bug" in verbose.output) == bug, \
            verbose.output


@pytest.mark.parametrize("code", [errno.EIO, errno.ESTALE, errno.ENOTCONN], ids=["EIO", "ESTALE", "ENOTCONN"])
def test_a_failing_device_or_share_under_the_part_file_is_not_a_bug(gray, tiny_model_file, folders, monkeypatch,
                                                                    code):
    """An input/output error of the disk, a stale NFS handle, a network share gone, on out/.a_sr.tif....ldcsr-part:
    the system's, as a full disk there is. Before, 'Error: OSError: [Errno 5] Input/output error: ... (run 'ldcsr -v
    ...' for the traceback)', exit 1, a bug's; now the error as the system says it, exit 5, no advice of a traceback."""
    inp, out = folders
    shutil.copy(gray, inp / "a.tif")

    def failing(self):
        raise OSError(code, os.strerror(code), str(self.tmp_path))

    monkeypatch.setattr(GeoTiffWriter, "commit", failing)
    r = run("-v", "upscale", inp / "a.tif", "-o", out / "a_sr.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 5 and os.strerror(code) in r.output, r.output
    assert "Traceback" not in r.output and "for the traceback" not in r.output, r.output


@pytest.mark.parametrize("folder", ["out", "my out"])
def test_a_rasterio_error_about_the_part_file_names_the_output(gray, tiny_model_file, folders, monkeypatch, folder):
    """rasterio's I/O errors carry GDAL's message and no file name: one about the part file ('Read or write failed.
    out/.a_sr.tif.XXXXXXXX.ldcsr-part, band 1: ...', as GDAL reports a failed block on the next call) named only
    that hidden file, never the output asked for. Before: 'Error: Read or write failed. .../.a_sr.tif.XXXXXXXX.
    ldcsr-part, band 1: ...', exit 5; now 'Error: cannot write out/a_sr.tif: Read or write failed. ...', exit 5, as
    the system's (no errno to tell a bug by), no traceback. In a folder whose path has a space ('my out'), GDAL's
    words do not tell where the path starts: before, 'Error: cannot write a_sr.tif: ...', its name alone."""
    from rasterio.errors import RasterioIOError

    inp, out = folders
    out = out.with_name(folder)
    out.mkdir(exist_ok=True)
    shutil.copy(gray, inp / "a.tif")

    def failing(self, arr, window):
        raise RasterioIOError(f"Read or write failed. {self.tmp_path}, band 1: IWriteBlock failed at X offset 0, "
                              "Y offset 0")

    monkeypatch.setattr(GeoTiffWriter, "write", failing)
    r = run("-v", "upscale", inp / "a.tif", "-o", out / "a_sr.tif", *FAST, "--model", tiny_model_file)
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert re.search(rf"Error: cannot write {re.escape(str(out / 'a_sr.tif'))}: Read or write failed\. "
                     rf"{re.escape(str(out))}/\.a_sr\.tif\.[a-z0-9_]{{8}}\.ldcsr-part, band 1", said), r.output
    assert "Traceback" not in r.output and "for the traceback" not in r.output, r.output


@pytest.mark.parametrize("command", ["info", "upscale"])
def test_a_part_file_given_as_an_input_is_not_said_to_be_written(tiny_model_file, folders, command):
    """A part file a killed run left, opened to see what it holds (ldcsr info out/.a_sr.tif.XXXXXXXX.ldcsr-part, or
    upscaled): before, its read error said 'Error: cannot write out/a_sr.tif: cannot read out/.a_sr.tif....ldcsr-part
    as a raster ...', of an output no command was writing (info writes nothing); now the read error alone."""
    _, out = folders
    part = out / ".a_sr.tif.k3j9x2ab.ldcsr-part"
    part.write_bytes(b"half a GeoTIFF")
    args = ("-o", out / "x.tif", *FAST, "--model", tiny_model_file) if command == "upscale" else ()
    r = run(command, part, *args)
    said = " ".join(r.output.split())
    assert r.exit_code not in (0, 1), r.output
    assert f"Error: cannot read {part} as a raster" in said, r.output
    assert "cannot write" not in said and "a_sr.tif:" not in said, r.output
