"""The self-check's line and HTML report give LR-consistency beside bicubic's, as SSIM is, and say which way is
better (before: LDCSR's LR-consistency alone, bicubic's only in the JSON, and no direction for either). Real
GeoTIFF, ``ldcsr selfcheck`` with the tiny model."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import smooth_field, write_tif


def test_the_line_and_the_report_give_bicubics_yardsticks_and_which_way_is_better(tiny_model_file, tmp_path):
    src = write_tif(tmp_path / "in.tif", smooth_field(np.random.default_rng(1), 64, 64, 3, 0, 255), dtype="uint8")
    args = ["selfcheck", str(src), "-s", "2", "--mode", "fast", "--model", str(tiny_model_file), "--device", "cpu"]
    r = CliRunner().invoke(main, [*args, "--json", str(tmp_path / "q.json")])
    assert r.exit_code == 0, r.output
    (d,) = json.loads((tmp_path / "q.json").read_text())
    line = r.stdout.splitlines()[0]
    assert (f"SSIM {d['ssim_model']:.4f} vs {d['ssim_bicubic']:.4f}, LR-consistency {d['lr_psnr_model']:.1f} dB vs "
            f"{d['lr_psnr_bicubic']:.1f} dB (SSIM and LR-consistency: higher is better) · whole scene 64×64 px") in line, line
    r = CliRunner().invoke(main, [*args, "--json", str(tmp_path / "q.html")])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "q.html").read_text()
    assert "<th>LR-consistency LDCSR</th><th>LR-consistency bicubic</th>" in html
    assert f"<td>{d['lr_psnr_model']:.1f} dB</td><td>{d['lr_psnr_bicubic']:.1f} dB</td>" in html
    assert ("PSNR, SSIM (1: identical to the scene) and LR-consistency (the result degraded again, compared with the "
            "scene's coarse copy): higher is better for each, LDCSR's beside bicubic's.") in html
