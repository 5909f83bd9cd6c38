"""A scale below the shipped models' training scales (×1.25–×8, docs/MODEL_CARD.md) is accepted and runs,
and is said to be untested (docs/cli.md said "below ×1.25 is untested"; the run said nothing): of a shipped
model in those words, of another model (the authors' checkpoint, one's own) as a model whose training scales
are not known here, and not at all of an adapted model (its own note says where it is untested)."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin

from ldcsr_core.cli import main

from .conftest import write_tif

# What the runs say of a model's training scales, not its loading: each model loaded once for the module (runs do not
# change it; the two tests that change a model they load change their own copy of it).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")

SHIPPED = "is below the scales the shipped models were trained on (×1.25–×8), so the result is untested there"
OTHER = ("is below the scales the shipped models were trained on (×1.25–×8); the scales tiny-test was trained on "
         "are not known here, so the result may be untested there")
END = " (docs/MODEL_CARD.md); ldcsr selfcheck {} -s {}{} --mode fast --device cpu measures it"  # to paste (before: SCENE -s SCALE)
# selfcheck scores one scale on both axes: a run's per axis is said to be none it measures (before: '-s 1.2', ×1.2 alike)
PER_AXIS = " (docs/MODEL_CARD.md); ldcsr selfcheck cannot measure it: it scores one scale on both axes alike, not ×2 x, ×1.2 y"


def _notes(args, tmp_path, model=(), transform=None):
    src = tmp_path / "in.tif"  # 1 m pixels unless given: inside the shipped models' ground resolutions, no note of them
    write_tif(src, np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8",
              transform=transform or from_origin(600000.0, 5340000.0, 1.0, 1.0))
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "--mode", "fast",
                                  *model, "--device", "cpu", *args])
    assert r.exit_code == 0 and (tmp_path / "o.tif").exists(), r.output
    return [line for line in r.output.splitlines() if line.startswith("note: ")]


# (the run's options, its note's scale, selfcheck's -s: -r 0.9 of 40 px makes 44 px, as ×1.1 does, and is said so: before,
# 'note: ×1.11111 is below ...; ldcsr selfcheck ... -s 1.1'; None: no command)
SCALES = [(["-s", "1.1"], "×1.1 ", "1.1"), (["-s", "2,1.2"], "×1.2 ", None), (["-r", "0.9"], "×1.1 ", "1.1"),
          (["-s", "1.25"], None, None), (["-s", "2"], None, None)]


@pytest.mark.parametrize("args, said, measured", SCALES)
def test_upscale_below_the_trained_scales_says_it_is_untested(tiny_model_file, tmp_path, args, said, measured):
    """The tiny model is not a shipped one: the shipped models' training scales are not claimed for it (before:
    'the result is untested there', as of a shipped model)."""
    notes = _notes(args, tmp_path, ["--model", str(tiny_model_file)])
    end = END.format(tmp_path / 'in.tif', measured, f' -m {tiny_model_file}') if measured else PER_AXIS
    assert notes == ([] if said is None else [f"note: {said.strip()} {OTHER}{end}"])


@pytest.mark.parametrize("args, said, measured", SCALES)
def test_a_shipped_model_below_its_trained_scales_is_said_untested(tmp_path, args, said, measured):
    notes = _notes(args, tmp_path)  # the shipped default model
    end = END.format(tmp_path / 'in.tif', measured, '') if measured else PER_AXIS
    assert notes == ([] if said is None else [f"note: {said.strip()} {SHIPPED}{end}"])


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


def test_an_adapted_models_note_says_a_target_resolutions_scale_as_the_other_notes(base, tmp_path, monkeypatch):
    """A model adapted at ×2, run at -r 0.3 of 40 px of 1 m (×3.33333, 133 px): before, 'note: this model was adapted
    and checked at ×2 in fast mode only; at ×3.33333 it is untested', while every other note says a -r run's scale
    as the shortest that makes its size, ×3.33 (upscale_cmd._measured_scale); now '... at ×3.33 it is untested'."""
    from ldcsr_core import adaptation as adapt_mod
    from ldcsr_core.adaptation import Recipe, adapt

    from .test_adapt import scene

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {  # the guard keeps it
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})
    png = tmp_path / "scene.tif"
    write_tif(png, scene().transpose(2, 0, 1), dtype="uint8")
    path = adapt(png, 2.0, base, steps=1, recipe=Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12)).save(
        tmp_path / "adapted.safetensors")
    said = _notes(["-r", "0.3"], tmp_path, ["--model", str(path)])
    assert len(said) == 1 and said[0].startswith(
        "note: this model was adapted and checked at ×2 in fast mode only; at ×3.33 it is untested ("), said
    assert _notes(["-r", "0.5", "--overwrite"], tmp_path, ["--model", str(path)]) == []  # its own ×2


def test_the_note_names_each_low_scale_once():
    from ldcsr_core.rules import untrained_scale_note

    assert untrained_scale_note([1.1, 1.1, 2.0, 1.2, 1.1000000001]).startswith("×1.1, ×1.2 are below")
    assert untrained_scale_note(1.25) is None and untrained_scale_note((8.0, 1.25)) is None
    assert untrained_scale_note([1.2499999999999998, float("nan")]) is None


def test_the_rule_of_a_shipped_model_is_one_for_a_name_a_loaded_model_and_the_front_ends(tiny_model, tiny_model_file):
    """builtin_models.is_shipped decides for adapted_use.scale_note (and the ground note): a built-in by name or
    loaded (by its weights' SHA-256) is shipped; a model built in memory or a file of one's own is not."""
    from ldcsr_core import load_model
    from ldcsr_core.adapted_use import scale_note
    from ldcsr_core.builtin_models import is_shipped

    shipped = "×1.1 " + SHIPPED
    assert is_shipped("ldcsr-compact-rsscn7-v1") and is_shipped(None) and is_shipped(load_model(None, device="cpu"))
    assert not is_shipped(tiny_model) and not is_shipped(str(tiny_model_file))
    assert scale_note(None, 1.1, "m", source="ldcsr-compact-rsscn7-v1").startswith(shipped)
    assert scale_note(load_model(None, device="cpu"), 1.1, "m").startswith(shipped)
    assert scale_note(tiny_model, 1.1, "m").startswith(f"×1.1 {OTHER.replace('tiny-test', 'this model')}")
    assert scale_note(None, 1.1, "m", source=str(tiny_model_file)).startswith(
        f"×1.1 {OTHER.replace('tiny-test', tiny_model_file.name)}")
    assert scale_note(None, 1.1, "m", shipped=False).startswith(f"×1.1 {OTHER.replace('tiny-test', 'this model')}")
    assert scale_note(tiny_model, 1.25, "m") is None


def test_a_shipped_models_tensors_saved_alone_are_shipped_by_path_as_when_loaded(tmp_path):
    """A built-in model re-saved without our metadata (``save_file(load_file(...))``) loads as that model
    (``copy_of``), so the CLI, which asks of the loaded model, says the shipped models' notes; napari's Run asks
    of its path without loading it (``ModelCache.shipped``) and got False: the other models' "training scales not
    known" note, and no ground note. One answer now."""
    from safetensors.torch import load_file, save_file

    from ldcsr_core import load_model
    from ldcsr_core.adapted_use import scale_note
    from ldcsr_core.builtin_models import default_model_path, is_shipped

    bare = tmp_path / "my copy.safetensors"
    save_file(load_file(default_model_path()), bare)
    assert load_model(str(bare), device="cpu").copy_of and is_shipped(load_model(str(bare), device="cpu"))
    assert is_shipped(str(bare))
    assert scale_note(None, 1.1, "m", source=str(bare)).startswith("×1.1 " + SHIPPED)


def test_napari_asks_a_loaded_model_and_reads_a_file_only_before(tmp_path, monkeypatch):
    """napari's Run asks ModelCache.shipped before each run: of a model it has loaded, by its weights (the file is
    not read again, a large official .ckpt included); of one not loaded yet, by its file. A bare copy of the
    shipped model is shipped either way (on main: False, by its file's SHA-256 alone)."""
    from safetensors.torch import load_file, save_file

    from ldcsr_core import official_checkpoint
    from ldcsr_core.builtin_models import default_model_path
    from napari_ldcsr.run._job import ModelCache

    bare = str(tmp_path / "copy.safetensors")
    save_file(load_file(default_model_path()), bare)
    models = ModelCache()
    assert models.shipped(bare)  # not loaded: by its file
    models.get(bare)

    def read(path):
        raise AssertionError(f"{path} read again")

    monkeypatch.setattr(official_checkpoint, "builtin_twin_file", read)
    assert models.shipped(bare) and models.loads == 1


@pytest.fixture(scope="module")
def half_copies(tmp_path_factory):
    """The shipped model's float16 copies, made once for the module's tests (which only read them): ``half``, it
    loaded in float16 and saved (``save_model``: float32 tensors holding float16 values, our metadata, name "my-half"),
    and ``bare``, its tensors saved alone as float16 (no metadata)."""
    from safetensors.torch import load_file, save_file

    from ldcsr_core import load_model, save_model
    from ldcsr_core.builtin_models import default_model_path

    d = tmp_path_factory.mktemp("half")
    half = save_model(load_model(None, device="cpu", dtype="float16"), d / "half.safetensors", name="my-half")
    bare = d / "bare half.safetensors"
    save_file({k: v.half() if v.is_floating_point() else v for k, v in load_file(default_model_path()).items()}, bare)
    return half, bare


def test_a_float16_copy_of_a_shipped_model_is_shipped_and_a_changed_one_is_not(tmp_path, half_copies):
    """A shipped model loaded in float16 and saved (``load_model(dtype="float16")``, ``save_model``: float32 tensors
    holding float16 values), or its tensors saved as float16: before, its own SHA-256 was no shipped one's, so its
    runs said 'the scales my-half was trained on are not known here' and no ground note; now its weights are found
    to be the shipped model's at float16 (loaded or by path: one answer), and its notes are the shipped models'. One
    weight moved by a float16 step is another model."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from ldcsr_core import load_model
    from ldcsr_core.builtin_models import is_shipped

    half, bare = half_copies
    for copy in (half, bare):
        assert is_shipped(load_model(str(copy), device="cpu")) and is_shipped(str(copy)), copy
    notes = _notes(["-s", "1.1"], tmp_path, ["--model", str(half)])
    assert notes == [f"note: ×1.1 {SHIPPED}{END.format(tmp_path / 'in.tif', '1.1', f' -m {half}')}"], notes
    moved = load_file(half)
    name = next(k for k, v in sorted(moved.items()) if v.is_floating_point() and v.numel() > 1 and v.abs().max() > 0)
    flat = moved[name].half().view(-1)
    flat[0] = torch.nextafter(flat[0], torch.tensor(torch.inf, dtype=torch.float16))  # one float16 step
    moved[name] = flat.view(moved[name].shape).float()
    changed = tmp_path / "changed.safetensors"
    with safe_open(str(half), "pt") as f:  # its metadata kept: a model in our format
        save_file(moved, changed, metadata=f.metadata())
    assert not is_shipped(load_model(str(changed), device="cpu")) and not is_shipped(str(changed))


def test_a_bare_float16_copy_of_a_shipped_model_runs_as_the_shipped_model(half_copies):
    """A shipped model's tensors saved alone as float16 are called shipped (its notes), so it runs as that model: its
    configuration, window limits and training notes, as an exact bare copy does. Before: loaded as an official
    checkpoint (256-px windows, 16 px overlap, version 'official', no notes), so 'ldcsr upscale -m half.safetensors
    -s 2' of a 200 px scene differed from the shipped model run on the same rounded weights by up to 11 grey levels."""
    import numpy as np
    import torch
    from ldcsr_core import load_model, upscale
    from ldcsr_core.builtin_models import default_model_path

    bare = half_copies[1]
    shipped = deepcopy(load_model(None, device="cpu", dtype="float32"))  # its own: rounded below
    copy = load_model(str(bare), device="cpu", dtype="float32")
    with torch.no_grad():  # the shipped model's tensors rounded as the copy's are
        for t in shipped.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())
    assert (copy.tile_max, copy.tile_overlap) == (shipped.tile_max, shipped.tile_overlap)
    assert (copy.name, copy.version, copy.notes) == (shipped.name, shipped.version, shipped.notes)
    assert copy.rounded_copy_of == default_model_path().stem and copy.copy_of is None
    img = np.random.default_rng(0).integers(0, 255, (130, 130, 3), dtype=np.uint8)  # ×2: 260 px, over 256
    assert np.array_equal(upscale(img, 2, model=copy, mode="fast"), upscale(img, 2, model=shipped, mode="fast"))
    info = CliRunner().invoke(main, ["models", str(bare)])
    assert info.exit_code == 0 and f"copy:    of the built-in {default_model_path().stem} at a lower float" in info.output


def test_a_float16_copy_is_shipped_or_not_by_one_rule_loaded_or_by_path(tmp_path, half_copies):
    """Whether a float16 copy in our format is an adapted model was decided twice: loaded, by its metadata read as an
    adapted model's (checked_from_metadata: none where its adapt_scale is no number); by path, by an 'adapt_scale' key
    being there. A copy whose adapt_scale is empty was shipped loaded (the CLI's notes) and not by path (napari's
    notes before it loads). Now one rule: shipped both ways."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from ldcsr_core import load_model
    from ldcsr_core.builtin_models import is_shipped

    half = half_copies[0]
    with safe_open(str(half), "pt") as f:
        meta = {**f.metadata(), "adapt_scale": ""}
    odd = tmp_path / "odd.safetensors"
    save_file(load_file(half), odd, metadata=meta)
    assert load_model(str(odd), device="cpu").adapt_checked is None
    assert is_shipped(load_model(str(odd), device="cpu")) and is_shipped(str(odd))


def test_a_model_of_its_own_float32_weights_opens_no_built_in_when_loaded(tmp_path, monkeypatch):
    """A model of the shipped architecture with its own float32 weights (a fine-tune; not adapted): before, each
    load looked for a float16 copy by opening every built-in model's file and comparing a weight of each; now its
    first weight, no float16 or bfloat16 value, says it is no copy, and no built-in is opened. A float16 copy is
    still found (the test above)."""
    import safetensors
    import torch

    from ldcsr_core import load_model, save_model
    from ldcsr_core.builtin_models import default_model_path, is_shipped

    own = deepcopy(load_model(None, device="cpu", dtype="float32"))  # its own: its weights moved below
    with torch.no_grad():
        for p in own.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) * 1e-4)
    path = save_model(own, tmp_path / "finetune.safetensors", name="my-finetune")
    opened, real = [], safetensors.safe_open

    def spy(name, *args, **kwargs):
        opened.append(Path(name).resolve())
        return real(name, *args, **kwargs)

    monkeypatch.setattr(safetensors, "safe_open", spy)
    model = load_model(str(path), device="cpu")
    assert not is_shipped(model) and model.rounded_copy_of is None
    assert [p for p in opened if p.parent == default_model_path().parent.resolve()] == [], opened
