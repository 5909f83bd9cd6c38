"""A gain that rounds to zero is said without a sign: before, a self-check 0.004 dB short of bicubic said
'-0.00 dB: no better than bicubic' (the CLI's line, the HTML report, QGIS's log, napari's status line), a sign that
reads as a loss beside words that say there is none. Now '0.00 dB: no better than bicubic'."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ldcsr_core
from ldcsr_core.report import write_report
from ldcsr_core.words import signed


def test_signed_drops_the_sign_of_zero_only():
    assert [signed(v) for v in (-0.004, 0.004, 0.0, -0.0, -0.37, 1.234, -0.006)] == [
        "0.00", "0.00", "0.00", "0.00", "-0.37", "+1.23", "-0.01"]
    assert signed(-0.0004, 3) == "0.000" and signed(-0.0006, 3) == "-0.001" and signed(10.0) == "+10.00"


def _near_bicubic(tiny_model, shortfall):
    """A real self-check result whose model PSNR is ``shortfall`` dB below bicubic's."""
    img = (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8)
    res = ldcsr_core.selfcheck(img, 2, model=tiny_model, mode="fast")

    class Near(type(res)):
        psnr_model = property(lambda self: self.psnr_bicubic - shortfall)

    near = copy.copy(res)
    near.__class__ = Near
    return near


def test_a_gain_of_minus_0_004_db_is_0_00_in_the_line_the_report_and_napari(tiny_model, tmp_path):
    near = _near_bicubic(tiny_model, 0.004)
    assert near.gain_text() == "0.00 dB: no better than bicubic"
    assert "(0.00 dB: no better than bicubic)" in near.line()  # the CLI's line and QGIS's log
    write_report(tmp_path / "q.html", [near])
    html = (tmp_path / "q.html").read_text()
    assert "<b>0.00 dB: no better than bicubic</b>" in html and "-0.00" not in html
    pytest.importorskip("napari")
    from napari_ldcsr.run._selfcheck import status_text

    said = status_text(near, "the whole layer")
    assert said.startswith("LDCSR no better than bicubic (0.00 dB) at ×2") and "-0.00" not in said, said
    worse = _near_bicubic(tiny_model, 0.37)
    assert worse.gain_text() == "-0.37 dB: worse than bicubic"
