"""The self-check says in words whether LDCSR beat bicubic: a reader who does not know that the gain's
sign is the answer (``-0.37 dB``) reads "worse than bicubic", and a diffusion-mode check short of a gain
points at fast mode, the faithful one (the model card: diffusion +0.05 dB at ×4, fast +1.00 dB)."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

import ldcsr_core
from ldcsr_core.cli import main
from suite_helpers import require_shared

from .test_selfcheck import scene


def _check(scene_path, out, model, *args):
    r = CliRunner().invoke(main, ["selfcheck", str(scene_path), "-s", "2", "--model", str(model), "--device", "cpu",
                                  "--json", str(out), *map(str, args)], catch_exceptions=True)
    assert r.exit_code == 0, r.output
    return r.output, out.read_text()


def test_a_check_worse_than_bicubic_says_so_in_the_line_and_the_html_report(tiny_model_file, tmp_path):
    """The random tiny model loses to bicubic (−7.9 dB). Before, the line said '(-7.91 dB)' and the HTML
    report (QGIS's quality report) '-7.91 dB', with no word of which restoration is better."""
    png = tmp_path / "scene.png"
    Image.fromarray(scene()).save(png)
    line, html = _check(png, tmp_path / "q.html", tiny_model_file, "--mode", "fast")
    assert "dB: worse than bicubic)" in line and "better than bicubic" not in line and "fast mode too" not in line
    assert "dB: worse than bicubic</b>" in html
    line, html = _check(png, tmp_path / "d.html", tiny_model_file, "--mode", "diffusion")
    assert "dB: worse than bicubic; in diffusion mode invented detail costs PSNR: check fast mode too" in line
    assert "check fast mode too, the faithful one</b>" in html


def test_a_check_better_than_bicubic_says_so(tmp_path):
    """The shipped model on a real RSSCN7 scene in fast mode gains over bicubic: 'better than bicubic'."""
    img = np.asarray(Image.open(require_shared("data", "rsscn7", "val", "fResident", "f091.jpg")))[100:196, 100:196]
    res = ldcsr_core.selfcheck(img, 2, model=ldcsr_core.load_model(device="cpu", dtype="float32"), mode="fast")
    assert res.gain_db > 0.5
    assert res.gain_text() == f"{res.gain_db:+.2f} dB: better than bicubic" and f"({res.gain_text()})" in res.line()
