"""Scene adaptation (``ldcsr_core.adapt``, ``ldcsr adapt``): pairs from the scene alone, the guard,
provenance, cancel and bad arguments (the command, its refusals and the adapted model files: ``test_adapt_cli``)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

import ldcsr_core
from ldcsr_core import adaptation as adapt_mod
from ldcsr_core.adaptation import PairSampler, Recipe, adapt, holdout_split
from ldcsr_core.errors import Cancelled, InputError

# What adaptation does with its base, not the base's loading: each model loaded once for the module (adapt trains a
# copy of its base; no test here changes a model it loads).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")

FAST = Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12)  # a random tiny model learns quickly


def scene(h=72, w=120, seed=0, lo=0, hi=255) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)[:, None]
    unit = np.empty((h, w, 3))
    for c in range(3):  # a pixel's value as on full x, y grids; the sines of a row, cosines of a column once
        unit[..., c] = 0.5 + 0.3 * np.sin(x / (3 + c) + c) + 0.15 * np.cos(y / (2 + c))
    unit += rng.normal(0, 0.03, (h, w, 3))
    np.clip(unit, 0, 1, out=unit)
    unit *= hi - lo
    unit += lo
    return unit.round().astype(np.uint8)


def state(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_pairs_come_only_from_the_scene_window(base, monkeypatch):
    """Pixels outside the window are 200..255, inside 0..100: no training pair and no guard check
    may ever see a value above 100."""
    img = scene(200, 240, lo=200, hi=255)
    img[40:40 + 72, 60:60 + 120] = scene(lo=0, hi=100)
    seen = []
    real_batch = PairSampler.batch

    def spy(self):
        lr, hr = real_batch(self)
        seen.append((int(lr.max()), int(hr.max())))
        return lr, hr

    from ldcsr_core import quality

    assert "score_window" not in vars(adapt_mod)  # imported at call time: the spy below is what adapt uses
    real_score, checked = quality.score_window, []

    def score_spy(hr, *a, **k):
        checked.append(int(hr.max()))
        return real_score(hr, *a, **k)

    monkeypatch.setattr(PairSampler, "batch", spy)
    monkeypatch.setattr(quality, "score_window", score_spy)
    res = adapt(img, 2.0, base, steps=4, window=(40, 60, 72, 120), recipe=FAST, minutes=60)
    assert len(seen) == 8 and max(max(s) for s in seen) <= 100  # 4 steps, and 4 of the octave check's twin
    assert len(checked) == 4 and max(checked) <= 100  # strip and octave check, base and adapted each
    y, x, h, w = res.holdout  # the guard's strip is the window's last quarter of columns
    assert (y, x + w, h) == (40, 60 + 120, 72) and w == 30


def nodata_tif(path, blank):
    """``scene()`` as a uint16 GeoTIFF (nodata 0) whose columns ``blank`` (a slice) are nodata."""
    from .conftest import write_tif

    data = np.moveaxis(scene(), -1, 0).astype(np.uint16) * 256 + 1
    data[:, :, blank] = 0
    return write_tif(path, data, dtype="uint16", nodata=0)


def test_the_guard_scores_only_data_and_the_pairs_avoid_nodata(base, monkeypatch, tmp_path):
    """Nodata is filled for the model; the guard's figures must not count it (a flat fill is easy
    to restore and swayed them), and training crops are drawn from the data."""
    from ldcsr_core import quality

    real_score, masks = quality.score_window, []

    def score_spy(hr, *a, valid=None, **k):
        masks.append((k["box"], valid))
        return real_score(hr, *a, valid=valid, **k)

    monkeypatch.setattr(quality, "score_window", score_spy)
    tif = nodata_tif(tmp_path / "edge.tif", slice(104, None))  # the strip is columns 90-119
    res = adapt(tif, 2.0, base, steps=2, recipe=FAST, stretch="dtype")
    assert res.holdout == (0, 90, 72, 30)
    strip = [v for box, v in masks if box == res.holdout]
    assert len(strip) == 2 and all(v is not None and v[:, :14].all() and not v[:, 14:].any() for v in strip)


def test_pairs_are_drawn_from_the_data():
    pool = np.full((40, 80, 3), 250, np.uint8)  # the fill
    pool[:, :30] = 10  # the data
    valid = np.zeros((40, 80), bool)
    valid[:, :30] = True
    sampler = PairSampler([pool], 2.0, Recipe(batch=8, crop_lr=8), seed=0, valid=[valid])
    for _ in range(20):
        _, hr = sampler.batch()
        assert ((hr == 10).mean(axis=(1, 2, 3)) >= PairSampler.MIN_VALID).all()


def test_a_strip_with_too_little_data_is_refused_before_training(base, tmp_path):
    tif = nodata_tif(tmp_path / "sliver.tif", slice(96, None))  # 6 data columns in the 30-px strip
    steps = []
    with pytest.raises(InputError, match="held-back strip .* cannot guard the adaptation: too little data"):
        adapt(tif, 2.0, base, steps=5, recipe=FAST, callback=steps.append)
    assert steps == []  # refused before any training


def test_a_training_part_with_too_little_data_for_the_octave_check_is_refused_before_training(base, tmp_path):
    """Nodata over all but 2 columns of the training part: both models were trained (minutes by
    default), then the octave check failed with a bare 'too little data to score at ×2'."""
    tif = nodata_tif(tmp_path / "left.tif", slice(0, 88))  # the held-back strip (columns 90-119) is data
    steps = []
    with pytest.raises(InputError, match=r"the training part \(the scene or window but its last quarter\) cannot "
                                         r"be checked one octave finer, as the guard does: too little data"):
        adapt(tif, 2.0, base, steps=5, recipe=FAST, callback=steps.append)
    assert steps == []  # refused before any training


def test_a_flat_held_back_strip_is_refused_before_training(base):
    """An undeclared black fill over the held-back strip: both models trained for the budget, then
    'not kept' (exit 8) with 'base -inf, adapted -inf dB over bicubic': bicubic restores a flat
    colour exactly, so nothing could be judged there."""
    img = scene()
    img[:, 90:] = (0, 0, 0)  # the strip (columns 90-119)
    steps = []
    with pytest.raises(InputError, match=r"the held-back strip .* cannot guard the adaptation: its data is one flat "
                                         r"colour \(0, 0, 0\), which bicubic restores exactly"):
        adapt(img, 2.0, base, steps=5, recipe=FAST, callback=steps.append)
    assert steps == []


def test_holdout_split_leaves_room_to_train_and_check():
    train, held = holdout_split((72, 120), 2.0)
    assert train == (0, 0, 72, 90) and held == (0, 90, 72, 30)
    train, held = holdout_split((400, 100), 4.0)  # taller than wide: rows held back
    assert held == (300, 0, 100, 100) and train == (0, 0, 300, 100)
    with pytest.raises(InputError, match="use a larger scene"):
        holdout_split((40, 40), 4.0)


def test_a_scene_too_narrow_for_the_octave_twin_is_refused_with_its_sizes(base):
    """15 px a side passed the split at ×2, but the twin's pool one octave coarser (7 px) could not
    hold a 4-px pair: 'empty range for randrange()', exit 1, after the model's training."""
    for hw in ((15, 31), (15, 36), (36, 15)):
        with pytest.raises(InputError, match=rf"the scene is {hw[1]}×{hw[0]} px: adaptation at ×2 needs at "
                                             r"least 16 px on each side; use a larger scene or window"):
            adapt(scene(*hw), 2.0, base, steps=1, recipe=FAST)
    r = adapt(scene(16, 32), 2.0, base, steps=1, recipe=FAST)  # the smallest that adapts
    assert r.steps == 1 and r.holdout == (0, 17, 16, 15)


def test_a_large_strip_is_guarded_on_sampled_windows_inside_it():
    strip = (0, 7500, 10000, 2500)
    boxes = adapt_mod._guard_boxes(strip)
    assert len(boxes) == adapt_mod.GUARD_WINDOWS and len(set(boxes)) == len(boxes)
    for y, x, h, w in boxes:
        assert (h, w) == (512, 512) and 0 <= y <= 10000 - h and 7500 <= x <= 10000 - w
    assert adapt_mod._guard_boxes((0, 90, 72, 30)) == [(0, 90, 72, 30)]


def test_adaptation_improves_a_weak_model_and_saves_its_provenance(base, tmp_path):
    before = state(base)
    img = scene()
    res = adapt(img, 2.0, base, steps=10, seed=3, recipe=FAST, minutes=60)  # all 10, however slow (+5.5 dB: kept)
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in before.items())  # base untouched
    assert res.kept and res.model is not base and res.gain_db > 0
    assert res.steps == 10 and res.scale == 2.0
    path = res.save(tmp_path / "a.safetensors")
    m = ldcsr_core.load_model(path, device="cpu", dtype="float32")
    assert all(torch.allclose(v.float(), res.model.state_dict()[k].float()) for k, v in m.state_dict().items())
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    assert meta["adapted_from"] == "tiny-test" and meta["adapt_steps"] == "10" and meta["adapt_scale"] == "2"
    assert meta["adapted_on"] == "" and len(meta["adapted_on_sha256"]) == 64
    guard = json.loads(meta["adapt_guard"])
    assert guard["kept"] and guard["psnr_adapted"] > guard["psnr_base"] and guard["octave_twin"] > guard["octave_base"]
    assert res.octave_gain_db > 0 and "octave check" in res.line()
    # the saved model restores the held-back strip as the guard measured
    y, x, h, w = res.holdout
    from ldcsr_core.quality import score_window
    from ldcsr_core.training.metrics import psnr_from_mse

    chk = score_window(img[y:y + h, x:x + w], 2.0, m, box=res.holdout, mode="fast", seed=0, maps=False)
    assert psnr_from_mse(chk.mse["model"]) == pytest.approx(res.psnr_adapted, abs=0.01)


def test_the_guard_rejects_a_model_made_worse(base, worse_adaptation, tmp_path):
    res = adapt(scene(), 2.0, base, steps=1)
    assert not res.kept and res.model is base and res.gain_db < 0
    assert "not kept" in res.line()
    with pytest.raises(InputError, match="not kept"):
        res.save(tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("strip, octave, kept, verdict", [
    ((1.0, 1.1), (1.0, 0.9), False, "not kept (no gain in the octave check): the base model stays"),
    ((1.0, 0.9), (1.0, 1.1), False, "not kept (no gain on the held-back strip): the base model stays"),
    ((1.0, 0.9), (1.0, 0.9), False, "not kept (no gain on the held-back strip nor in the octave check): "),
    ((1.0, 1.1), (1.0, 1.1), True, ": kept")])
def test_both_checks_must_agree_to_keep(base, monkeypatch, strip, octave, kept, verdict):
    """The held-back strip catches a model that memorised the scene, the octave check (a twin
    adapted one octave coarser, judged one octave finer) one whose gain does not transfer. The
    line says which said no (before: '+0.10 dB over the base model ... not kept', no reason)."""
    from napari_ldcsr.run._adapt import AdaptOutcome, status_text

    def fake(refs, scale, models, tick):
        a, b = strip if "adapted" in models else octave
        return {"base": a, "adapted": b, "twin": b, "bicubic": 0.5}

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", fake)
    res = adapt(scene(), 2.0, base, steps=1, recipe=FAST)
    assert res.kept is kept and (res.model is base) is not kept
    assert verdict in res.line(), res.line()
    if not kept:
        assert f"; {res.refusal}): " in status_text(AdaptOutcome(res, None), "the layer")


@pytest.mark.parametrize("strip, octave, gain, octave_text, verdict", [
    (0.003, 0.0004, "+0.003", "+<0.001", ": kept"), (-0.002, 0.03, "-0.002", "+0.03", ": not kept"),
])
def test_a_small_gain_is_shown_with_the_digits_its_verdict_needs(base, monkeypatch, strip, octave, gain,
                                                                 octave_text, verdict):
    """The guard decides on the sign: "+0.00 dB ... kept" and "-0.00 dB ... not kept" showed a
    verdict that the figure beside it did not."""
    from napari_ldcsr.run._adapt import AdaptOutcome, status_text

    def fake(refs, scale, models, tick):
        g = strip if "adapted" in models else octave
        return {"base": 30.0, "adapted": 30.0 + g, "twin": 30.0 + g, "bicubic": 29.0}

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", fake)
    res = adapt(scene(), 2.0, base, steps=1, recipe=FAST)
    line = res.line()
    assert f": {gain} dB over the base model" in line and f"octave check {octave_text} dB;" in line, line
    assert verdict in line
    assert f"({gain} dB" in status_text(AdaptOutcome(res, None), "the layer")
    assert adapt_mod.db_text(0.0) == "0" and adapt_mod.db_text(-0.0004) == "-<0.001"
    assert adapt_mod.db_text(0.25) == "+0.25" and adapt_mod.db_text(float("-inf")) == "-inf"


def test_cancel_stops_within_a_step_and_keeps_nothing(base):
    calls = []

    def cancel_at_3(info):
        calls.append(info.step)
        if info.step == 3:
            raise Cancelled("cancelled by the user")

    with pytest.raises(Cancelled):
        adapt(scene(), 2.0, base, steps=50, recipe=FAST, callback=cancel_at_3)
    assert calls == [1, 2, 3]


@pytest.mark.parametrize("kwargs, match", [
    ({"minutes": 0}, "minutes"), ({"steps": 0}, "steps"), ({"scale": 9.0}, "scale"),
    ({"scale": 4.0}, "adaptation is offered up to ×2, not ×4"),
    ({"recipe": Recipe(params="unet")}, "recipe params"),
])
def test_bad_arguments_are_refused(base, kwargs, match):
    kw = dict(kwargs)
    s = kw.pop("scale", 2.0)
    with pytest.raises(InputError, match=match):
        adapt(scene(), s, base, **kw)


# ------------------------------------------------------------------------------------ CLI


def test_user_models_dir_follows_xdg_and_ignores_a_relative_xdg_data_home(tmp_path, monkeypatch):
    """XDG: a relative XDG_DATA_HOME is invalid and ignored; before, 'data' meant ./data of
    whatever folder napari or ldcsr was started in."""
    monkeypatch.delenv("LDCSR_MODELS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert adapt_mod.user_models_dir() == tmp_path / "xdg" / "ldcsr" / "models"
    for relative in ("data", ""):
        monkeypatch.setenv("XDG_DATA_HOME", relative)
        assert adapt_mod.user_models_dir() == tmp_path / ".local" / "share" / "ldcsr" / "models"
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "mine"))
    assert adapt_mod.user_models_dir() == tmp_path / "mine"
    monkeypatch.setenv("LDCSR_MODELS_DIR", "~/models")  # as a .desktop file's Environment= gives it
    assert adapt_mod.user_models_dir() == tmp_path / "models"


@pytest.mark.parametrize("kw, said", [(dict(nodata={4: 0}), "nodata '4=0': "), (dict(bands=(1, 2, 5)), "band 5")])
def test_the_scenes_refusals_come_before_the_base_model_loads(tmp_path, monkeypatch, kw, said):
    """ldcsr_core.adapt refuses a nodata or bands the scene cannot take before it loads the base model
    (a big checkpoint takes seconds), as ldcsr adapt does. Before: the base was loaded first."""
    import rasterio

    from ldcsr_core import api

    loaded = []
    monkeypatch.setattr(api, "resolve_model", lambda *a, **k: loaded.append(a) or pytest.fail("model loaded"))
    tif = tmp_path / "s.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=32, height=32, count=3, dtype="uint8") as dst:
        dst.write(np.random.default_rng(0).integers(0, 255, (3, 32, 32), dtype=np.uint8))
    with pytest.raises(InputError, match=said):
        adapt(tif, 2, **kw)
    assert loaded == []


def test_an_adapted_model_past_float16s_range_is_refused_in_a_float16_base(tiny_model_file, monkeypatch):
    """adapt() fine-tunes in float32 and gives the model back in its base's float type: with a float16 base (load_model's
    default on CUDA) a weight adapted past 65504 became infinite, unchecked (its guard's pictures NaN; saved, a model of
    inf weights); now it is refused in load_model(dtype='float16')'s words (checkpoint_keys.check_cast, one rule)."""
    from ldcsr_core.errors import CheckpointError

    base = ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float16")
    name = next(k for k in base.state_dict() if k.startswith("model.diffusion_model.") and "weight" in k)
    fine_tune = adapt_mod.fine_tune

    def past_float16(model, *a, **kw):  # a real fine-tuning, one weight then pushed past float16's largest value
        n = fine_tune(model, *a, **kw)
        with torch.no_grad():
            model.state_dict()[name].view(-1)[0] = 1e5
        return n

    monkeypatch.setattr(adapt_mod, "fine_tune", past_float16)
    with pytest.raises(CheckpointError, match=rf"^the adapted model, in its base's float type, holds weights beyond "
                                              rf"float16's range \(1 tensor, e\.g\. {re.escape(name)}\): in float16 "
                                              r"they are infinite, and its pictures would be NaN or black; load it as "
                                              r"float32 or bfloat16"):
        adapt(scene(), 2.0, base, steps=1, recipe=FAST)
