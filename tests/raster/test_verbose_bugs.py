"""``ldcsr -v`` prints the traceback of an unexpected error, a bug's: not only an ``AttributeError`` in the
engine, but a ``ValueError`` that is none of the engine's (NumPy's "operands could not be broadcast"), which
is exit 1 as any other bug; an expected error (the engine's ``InputError``, a ValueError too) gets none
(test_batch_advice.py)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def _attribute_bug(self):
    return None.shape  # noqa: B018 - a bug: an attribute of nothing


def _numpy_bug(self):
    return np.ones((3, 4)) + np.ones((3, 5))  # a bug: shapes that do not match


@pytest.mark.parametrize("batch", [False, True], ids=["one input", "batch"])
def test_verbose_gives_the_traceback_of_a_bug_in_the_engine(rasters, tiny_model_file, folders, monkeypatch, batch):
    """Before: the NumPy ValueError was 'Error: operands could not be broadcast together with shapes (3,4)
    (3,5)' (exit 1) under -v without its traceback, nor its type, as if the input were wrong."""
    inp, out = folders
    for name in ("a", "b") if batch else ("a",):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
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
