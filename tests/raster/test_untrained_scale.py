"""A scale below the shipped models' training scales (×1.25–×8, docs/MODEL_CARD.md) is accepted and runs,
and is said to be untested (docs/cli.md said "below ×1.25 is untested"; the run said nothing)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif

NOTE = "is below the scales the shipped models were trained on (×1.25–×8), so the result is untested there"


@pytest.mark.parametrize("args, said", [(["-s", "1.1"], "×1.1 "), (["-s", "2,1.2"], "×1.2 "),
                                        (["-r", "9"], "×1.11111 "), (["-s", "1.25"], None), (["-s", "2"], None)])
def test_upscale_below_the_trained_scales_says_it_is_untested(tiny_model_file, tmp_path, args, said):
    src = tmp_path / "in.tif"
    write_tif(src, np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8")  # 10 m pixels
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "--mode", "fast",
                                  "--model", str(tiny_model_file), "--device", "cpu", *args])
    assert r.exit_code == 0 and (tmp_path / "o.tif").exists(), r.output
    notes = [line for line in r.output.splitlines() if NOTE in line]
    if said is None:
        assert notes == [], r.output
    else:
        assert notes == [f"note: {said.strip()} {NOTE} (docs/MODEL_CARD.md); ldcsr selfcheck SCENE -s SCALE measures it"]


def test_the_note_names_each_low_scale_once():
    from ldcsr_core.rules import untrained_scale_note

    assert untrained_scale_note([1.1, 1.1, 2.0, 1.2]).startswith("×1.1, ×1.2 are below")
    assert untrained_scale_note(1.25) is None and untrained_scale_note((8.0, 1.25)) is None
