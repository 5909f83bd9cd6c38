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


def test_an_adaptations_gains_over_bicubic_near_zero_have_no_sign(base, monkeypatch):
    """`ldcsr adapt`'s line and napari's Adapt status say the base's and the adapted model's gains over bicubic:
    before, a base 0.004 dB short of bicubic and a model 0.003 dB over it were 'base -0.00, adapted +0.00 dB over
    bicubic' (adaptation.line and napari's status_text kept their own ':+.2f')."""
    from ldcsr_core import adaptation as adapt_mod
    from tests.raster.test_adapt import FAST, scene

    def fake(refs, scale, models, tick):  # the guard's PSNRs: bicubic 30, base 29.996, adapted 30.003
        return {"base": 29.996, "adapted": 30.003, "twin": 30.003, "bicubic": 30.0}

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", fake)
    res = adapt_mod.adapt(scene(), 2.0, base, steps=1, recipe=FAST)
    assert "(base 0.00, adapted 0.00 dB over bicubic)" in res.line(), res.line()
    pytest.importorskip("napari")
    from napari_ldcsr.run._adapt import AdaptOutcome, status_text

    said = status_text(AdaptOutcome(res, None), "the layer")
    assert ": base 0.00 dB, adapted 0.00 dB over bicubic at ×2" in said, said
