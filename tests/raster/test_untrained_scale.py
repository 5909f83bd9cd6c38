"""A scale below the shipped models' training scales (×1.25–×8, docs/MODEL_CARD.md) is accepted and runs,
and is said to be untested (docs/cli.md said "below ×1.25 is untested"; the run said nothing): of a shipped
model in those words, of another model (the authors' checkpoint, one's own) as a model whose training scales
are not known here, and not at all of an adapted model (its own note says where it is untested)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin

from ldcsr_core.cli import main

from .conftest import write_tif

SHIPPED = "is below the scales the shipped models were trained on (×1.25–×8), so the result is untested there"
OTHER = ("is below the scales the shipped models were trained on (×1.25–×8); the scales tiny-test was trained on "
         "are not known here, so the result may be untested there")
END = " (docs/MODEL_CARD.md); ldcsr selfcheck SCENE -s SCALE measures it"


def _notes(args, tmp_path, model=(), transform=None):
    src = tmp_path / "in.tif"
    write_tif(src, np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8",
              **({"transform": transform} if transform else {}))  # 10 m pixels unless given
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "--mode", "fast",
                                  *model, "--device", "cpu", *args])
    assert r.exit_code == 0 and (tmp_path / "o.tif").exists(), r.output
    return [line for line in r.output.splitlines() if line.startswith("note: ")]


@pytest.mark.parametrize("args, said", [(["-s", "1.1"], "×1.1 "), (["-s", "2,1.2"], "×1.2 "),
                                        (["-r", "9"], "×1.11111 "), (["-s", "1.25"], None), (["-s", "2"], None)])
def test_upscale_below_the_trained_scales_says_it_is_untested(tiny_model_file, tmp_path, args, said):
    """The tiny model is not a shipped one: the shipped models' training scales are not claimed for it (before:
    'the result is untested there', as of a shipped model)."""
    notes = _notes(args, tmp_path, ["--model", str(tiny_model_file)])
    assert notes == ([] if said is None else [f"note: {said.strip()} {OTHER}{END}"])


def test_a_shipped_model_below_its_trained_scales_is_said_untested(tmp_path):
    assert _notes(["-s", "1.1"], tmp_path) == [f"note: ×1.1 {SHIPPED}{END}"]


def test_a_target_pixel_making_exactly_the_smallest_trained_scale_is_no_note(tiny_model_file, tmp_path):
    """0.35 m pixels at -r 0.28 is ×1.25 (0.35 / 0.28 = 1.2499999999999998 in floats): before, 'note: ×1.25 is
    below the scales the shipped models were trained on (×1.25–×8)'."""
    assert _notes(["-r", "0.28"], tmp_path, ["--model", str(tiny_model_file)],
                  transform=from_origin(500000, 4000000, 0.35, 0.35)) == []


def test_an_adapted_model_at_the_scale_its_guard_checked_is_no_note(base, tmp_path, monkeypatch):
    """A model adapted (and checked by its guard) at ×1.1, run there in fast mode: before, 'note: ×1.1 is below the
    scales the shipped models were trained on (×1.25–×8), so the result is untested there'; at ×1.2 its own note
    says it is untested there, once."""
    from ldcsr_core import adaptation as adapt_mod
    from ldcsr_core.adaptation import Recipe, adapt

    from .test_adapt import scene

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {  # the guard keeps it
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})
    png = tmp_path / "scene.tif"
    write_tif(png, scene().transpose(2, 0, 1), dtype="uint8")
    model = adapt(png, 1.1, base, steps=1, recipe=Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12))
    path = model.save(tmp_path / "adapted.safetensors")
    assert _notes(["-s", "1.1"], tmp_path, ["--model", str(path)]) == []
    said = _notes(["-s", "1.2", "--overwrite"], tmp_path, ["--model", str(path)])
    assert len(said) == 1 and "adapted and checked at ×1.1" in said[0] and "at ×1.2 it is untested" in said[0], said


def test_the_note_names_each_low_scale_once():
    from ldcsr_core.rules import untrained_scale_note

    assert untrained_scale_note([1.1, 1.1, 2.0, 1.2, 1.1000000001]).startswith("×1.1, ×1.2 are below")
    assert untrained_scale_note(1.25) is None and untrained_scale_note((8.0, 1.25)) is None
    assert untrained_scale_note([1.2499999999999998, float("nan")]) is None
