"""``ldcsr adapt`` and the adapted model files (``ldcsr_core.adapt``'s saved models): what the command
writes and refuses, and what ``upscale``, ``info`` and ``models`` say of an adapted model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ldcsr_core
from ldcsr_core import adaptation as adapt_mod
from ldcsr_core.adaptation import adapt
from ldcsr_core.cli import main
from ldcsr_core.errors import InputError

from .test_adapt import FAST, scene


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture
def png(tmp_path):
    p = tmp_path / "scene.png"
    Image.fromarray(scene()).save(p)
    return p


def test_cli_adapts_writes_and_the_model_upscales(png, tiny_model_file, tmp_path, monkeypatch):
    monkeypatch.setattr(adapt_mod, "Recipe", lambda: FAST)
    out = tmp_path / "adapted.safetensors"
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 10, "--minutes", 60,
            "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert "kept" in r.output and out.is_file()
    r = run("-q", "upscale", png, "-o", tmp_path / "up.tif", "--scale", 2, "--mode", "fast", "--model", out)
    assert r.exit_code == 0, r.output
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path))
    r = run("models")
    assert r.exit_code == 0 and "adapted.safetensors" in r.output and "adapted: from tiny-test" in r.output


def test_an_adapted_model_used_beyond_its_check_is_said_so(png, base, tmp_path, monkeypatch):
    """The guard checked ×2 in fast mode; ×3, or diffusion mode, ran without a word."""
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})
    model = adapt(scene(), 2.0, base, steps=1, recipe=FAST).save(tmp_path / "a.safetensors")
    assert ldcsr_core.load_model(model, device="cpu").adapt_scale == 2.0 and adapt_mod.adapted_scale(model) == 2.0
    for args, said in [(["--scale", 2, "--mode", "fast"], None), (["--scale", 3, "--mode", "fast"], "at ×3 it is untested"),
                       (["--scale", 2, "--mode", "diffusion"], "in diffusion mode it is untested")]:
        r = run("-q", "upscale", png, "-o", tmp_path / "up.tif", "--overwrite", "--model", model, *args)
        assert r.exit_code == 0, r.output
        notes = [ln for ln in r.output.splitlines() if ln.startswith("note: this model was adapted")]
        assert (notes == []) if said is None else (len(notes) == 1 and said in notes[0]), r.output
    assert adapt_mod.outside_use(None, [3.0], "diffusion") is None  # a model that was not adapted


def test_cli_not_kept_writes_nothing_and_exits_8(png, tiny_model_file, tmp_path, worse_adaptation):
    out = tmp_path / "adapted.safetensors"
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 1, "--model", tiny_model_file)
    assert r.exit_code == 8 and "not kept" in r.output and not out.exists()
    assert list(tmp_path.glob("*.safetensors")) == []


def test_cli_interrupted_writes_nothing(png, tiny_model_file, tmp_path, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(adapt_mod, "fine_tune", interrupted)
    out = tmp_path / "adapted.safetensors"
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--model", tiny_model_file)
    assert r.exit_code == 130 and not out.exists() and list(tmp_path.iterdir()) == [png]


@pytest.mark.parametrize("args, code, match", [
    (["-o", "{tmp}/m.pt"], 2, "must end in .safetensors"),
    (["-o", "{tmp}/nowhere/m.safetensors"], 2, "folder does not exist"),
    (["-o", "{tmp}/exists.safetensors"], 4, "exists"),
    (["-o", "{tmp}/m.safetensors", "--window", "0,0,10"], 2, "four whole numbers"),
    (["-o", "{tmp}/m.safetensors", "--window", "0,0,30,30"], 3, "use a larger scene"),
    # the model it adapts is an input: never replaced, --overwrite or not (before: written over)
    (["-o", "{model}", "--overwrite"], 2, "is the model it adapts"),
])
def test_cli_refusals(png, tiny_model_file, tmp_path, args, code, match):
    (tmp_path / "exists.safetensors").write_bytes(b"keep me")
    model_bytes = tiny_model_file.read_bytes()
    args = [a.format(tmp=tmp_path, model=tiny_model_file) for a in args]
    r = run("adapt", png, "--scale", 2, "--model", tiny_model_file, "--steps", 1, *args)
    assert r.exit_code == code and match in r.output, r.output
    assert tiny_model_file.read_bytes() == model_bytes
    assert (tmp_path / "exists.safetensors").read_bytes() == b"keep me"
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("by_name", [False, True])
def test_cli_never_writes_over_the_built_in_model_it_adapts(png, tiny_model_file, tmp_path, monkeypatch, by_name):
    """-o naming the shipped model's file (the default model, or one given by name) with --overwrite
    was not refused: only a --model given as a path was compared with -o."""
    import shutil

    from ldcsr_core import builtin_models
    weights = tmp_path / "weights"
    weights.mkdir()
    shipped = weights / "ldcsr-compact-rsscn7-v4.safetensors"  # stands for the installed file
    shutil.copyfile(tiny_model_file, shipped)
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: shipped)
    before = shipped.read_bytes()
    name = ["--model", "ldcsr-compact-rsscn7-v4"] if by_name else []
    r = run("adapt", png, "--scale", 2, "-o", shipped, "--overwrite", "--steps", 1, *name)
    assert r.exit_code == 2 and "is the model it adapts" in r.output, r.output
    assert shipped.read_bytes() == before


def test_cli_a_broken_link_at_out_is_refused_before_training(png, tiny_model_file, tmp_path, monkeypatch):
    """A link to a missing file at -o: the model trained for its minutes, then 'appeared during the
    adaptation (another run's?)', exit 4. Now refused before training; --overwrite replaces the link."""
    out = tmp_path / "a.safetensors"
    out.symlink_to(tmp_path / "gone.safetensors")
    real = adapt_mod.fine_tune
    monkeypatch.setattr(adapt_mod, "fine_tune", lambda *a, **k: pytest.fail("trained"))
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 1, "--model", tiny_model_file)
    assert r.exit_code == 4 and "(a link to" in r.output and "which is missing) (use --overwrite" in r.output, r.output
    monkeypatch.setattr(adapt_mod, "fine_tune", real)
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 1, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0 and out.is_file() and not out.is_symlink() and not (tmp_path / "gone.safetensors").exists()


@pytest.mark.parametrize("patch, says", [
    ("free_bytes", "not enough space for the adapted model in {tmp}: 1000 bytes free, it needs about"),
    ("file_size_limit", "the adapted model cannot be written: the file size limit (ulimit -f) is 1000 bytes, it needs about"),
])
def test_cli_a_model_that_could_not_be_saved_is_refused_before_training(png, tiny_model_file, tmp_path,
                                                                         monkeypatch, patch, says):
    """A full disk or ``ulimit -f`` under the model's size: exit 5 before any step. Before, the
    minutes of fine-tuning ran, the result was printed as kept, and the save failed (exit 5)."""
    import ldcsr_core.files

    trained = []
    monkeypatch.setattr(adapt_mod, "fine_tune", lambda *a, **k: trained.append(1))
    monkeypatch.setattr(ldcsr_core.files, patch, lambda *a: 1000)
    out = tmp_path / "m.safetensors"
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 1, "--model", tiny_model_file)
    assert r.exit_code == 5, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {says.format(tmp=tmp_path)}"), r.output
    assert trained == [] and not out.exists()


def test_cli_a_model_file_that_appeared_during_training_is_kept(png, tiny_model_file, tmp_path, monkeypatch):
    """Two runs adapting to the same -o (or a file put there meanwhile): the one that finishes
    second does not replace the other's model without --overwrite (exit 4, as upscale). Before,
    the existence check ran only at the start and the save replaced the file silently."""
    out = tmp_path / "m.safetensors"
    real = adapt_mod.fine_tune

    def another_run_saves_first(*a, **k):
        out.write_bytes(b"the other run's model")
        return real(*a, **k)

    monkeypatch.setattr(adapt_mod, "fine_tune", another_run_saves_first)
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})  # kept
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 1, "--model", tiny_model_file)
    assert r.exit_code == 4, r.output
    assert "appeared during the adaptation" in r.output and "--overwrite" in r.output
    assert out.read_bytes() == b"the other run's model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors", "scene.png"]  # no part file
    r = run("-q", "adapt", png, "--scale", 2, "-o", out, "--steps", 1, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 0, r.output
    assert ldcsr_core.load_model(out, device="cpu").adapt_scale == 2.0


def test_cli_fine_tunes_from_float32_weights_whatever_the_default_type(png, tiny_model_file, tmp_path, monkeypatch):
    """On a CPU whose default is bfloat16 the base is loaded in float32 for adaptation: the
    fine-tuning starts from the exact weights, not from their bfloat16 rounding."""
    seen = []
    real = adapt_mod.fine_tune

    def spy(model, *a, **k):
        seen.append(next(model.parameters()).dtype)
        return real(model, *a, **k)

    monkeypatch.setenv("LDCSR_DTYPE", "bfloat16")
    monkeypatch.setattr(adapt_mod, "fine_tune", spy)
    monkeypatch.setattr(adapt_mod, "Recipe", lambda: FAST)
    captured = {}
    real_adapt = adapt_mod.adapt

    def adapt_spy(scene, scale, base, **kw):
        captured["dtype"] = next(base.parameters()).dtype
        return real_adapt(scene, scale, base, **kw)

    monkeypatch.setattr(adapt_mod, "adapt", adapt_spy)
    r = run("-q", "adapt", png, "--scale", 2, "-o", tmp_path / "m.safetensors", "--steps", 2,
            "--model", tiny_model_file)
    assert r.exit_code in (0, 8), r.output
    assert captured["dtype"] == torch.float32 and seen == [torch.float32, torch.float32]


def _geo_tif(path, data, res=1.0, dtype="uint8", **kw):
    """``data`` (bands, h, w) as a GeoTIFF in UTM with ``res`` m pixels."""
    from rasterio.transform import from_origin

    from .conftest import write_tif

    return write_tif(path, data, dtype=dtype, transform=from_origin(500000, 4600000, res, res), **kw)


@pytest.fixture
def kept_anyway(monkeypatch):
    """The guard keeps every adaptation (what is tested is what the kept model records)."""
    monkeypatch.setattr(adapt_mod, "Recipe", lambda: FAST)
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})


def test_a_target_resolution_batch_says_it_once_per_scale_not_per_file(png, base, tmp_path, kept_anyway):
    """--target-resolution gives each input its scale: the note was missing for all of them."""
    model = adapt(scene(), 2.0, base, steps=1, recipe=FAST).save(tmp_path / "a.safetensors")
    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.moveaxis(scene(40, 40), -1, 0)
    for name, res in [("a.tif", 1.0), ("b.tif", 1.0), ("c.tif", 1.0), ("d.tif", 0.8)]:
        _geo_tif(folder / name, rgb, res)  # 1 m -> 0.4 m: ×2.5; 0.8 m -> 0.4 m: ×2, as adapted
    out = tmp_path / "out"
    out.mkdir()
    r = run("-q", "upscale", folder, "-o", out, "--target-resolution", 0.4, "--mode", "fast", "--model", model)
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.output.splitlines() if ln.startswith("note: this model was adapted")]
    assert len(notes) == 1 and "at ×2.5 it is untested" in notes[0] and notes[0].endswith("(a.tif, b.tif, c.tif)")
    r = run("-q", "upscale", folder / "d.tif", "-o", tmp_path / "d.tif", "--target-resolution", 0.4, "--mode",
            "fast", "--model", model)
    assert r.exit_code == 0 and "note:" not in r.output, r.output


def test_the_bands_and_stretch_adapted_on_are_recorded_shown_and_checked(png, tiny_model_file, tmp_path, kept_anyway):
    """A model adapted on the false-colour triplet 4,3,2 of a 4-band scene was used on an RGB
    scene without a word, and its files did not say what it was adapted on."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    four = np.concatenate([np.moveaxis(scene(), -1, 0), scene(seed=1)[None, ..., 0]]).astype(np.uint16) * 200
    tif = _geo_tif(tmp_path / "four.tif", four, dtype="uint16")
    model = tmp_path / "fc.safetensors"
    r = run("-q", "adapt", tif, "--scale", 2, "--bands", "4,3,2", "-o", model, "--steps", 1, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    with safe_open(str(model), framework="numpy") as f:
        meta = f.metadata()
    assert (meta["adapt_bands"], meta["adapt_band_count"], meta["adapt_stretch"]) == ("4,3,2", "4", "percentile")
    r = run("models", "--notes", model)
    assert r.exit_code == 0 and "read as bands 4,3,2 of 4 with the percentile stretch" in r.output, r.output

    def notes(scene_path, *args):
        r = run("-q", "upscale", scene_path, "-o", tmp_path / "up.tif", "--overwrite", "--model", model, "--scale", 2,
                "--mode", "fast", *args)
        assert r.exit_code == 0, r.output
        return [ln for ln in r.output.splitlines() if ln.startswith("note: this model was adapted")]

    said = notes(png)  # an RGB scene: other bands, and uint8's own range
    assert len(said) == 1 and said[0].startswith(
        "note: this model was adapted and checked at ×2 in fast mode on bands 4,3,2 with the percentile stretch "
        "only; on bands 1,2,3 with the dtype stretch it is untested"), said
    assert notes(tif, "--bands", "4,3,2") == []  # as adapted
    assert "with the dtype stretch it is untested" in notes(tif, "--bands", "4,3,2", "--stretch", "dtype")[0]
    r = run("info", tif, "--model", model, "--bands", "4,3,2", "--mode", "fast")
    assert r.exit_code == 0 and "model:       " in r.output and "note:" not in r.output, r.output
    assert "on bands 4,3,2 of 4 with the percentile stretch" in r.output
    r = run("info", png, "--model", model, "--mode", "fast")
    assert r.exit_code == 0 and "note:        this model was adapted" in r.output, r.output
    # a model adapted before bands and stretch were recorded: unknown, so no note about them
    old = tmp_path / "old.safetensors"
    save_file(load_file(str(model)), str(old), metadata={k: v for k, v in meta.items()
                                                         if k not in ("adapt_bands", "adapt_band_count", "adapt_stretch")})
    model = old
    assert notes(png) == [] and "at ×3 it is untested" in notes(png, "--scale", 3)[0]
    r = run("models", old)
    assert r.exit_code == 0 and "read as bands and stretch not recorded" in r.output, r.output


def test_models_counts_the_same_parts_for_an_adapted_model_and_its_base(tmp_path, kept_anyway):
    """A trained model's file also holds its training-only stage-1 encoder, which inference (and so
    an adapted model's file) has not: 3.55 M for the base against 3.17 M adapted."""
    import re

    from ldcsr_core.checkpoints import save_model
    from ldcsr_core.config import tiny_test_config

    trained = save_model(ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0),
                         tmp_path / "base.safetensors", name="base")
    base = ldcsr_core.load_model(trained, device="cpu", dtype="float32")  # inference parts only
    adapted = adapt(scene(), 2.0, base, steps=1, recipe=FAST).save(tmp_path / "adapted.safetensors")
    r = run("models", trained, adapted)
    assert r.exit_code == 0, r.output
    blocks = {b.split()[0]: b for b in re.split(r"\n(?=\S)", r.output)}  # one per listed model
    params = [re.findall(r"params: +(\S+) M \(inference parts\)(.*)", blocks[f"{n}.safetensors"])[0]
              for n in ("base", "adapted")]
    assert params[0][0] == params[1][0], r.output
    assert re.fullmatch(r"; \+\S+ M training-only \(stage-1 encoder\)", params[0][1]) and params[1][1] == ""


def test_an_ldcsr_output_is_refused_as_a_scene_to_adapt_to(tiny_model_file, tmp_path):
    """Before: 'ldcsr adapt' on an LDCSR output trained for its minutes on the first model's invented
    detail as if it were the scene's, its guard checking against it too. Now refused before any
    training (exit 3), naming what the file is; the original scene adapts as before."""
    from .conftest import smooth_field, write_tif

    data = smooth_field(np.random.default_rng(2), 48, 48, 3, 20, 230).round().astype(np.uint8)
    tif = write_tif(tmp_path / "s.tif", data, dtype="uint8")
    assert run("upscale", tif, "-o", tmp_path / "up.tif", "-s", 2, "--mode", "fast", "--model",
               tiny_model_file).exit_code == 0
    r = run("adapt", tmp_path / "up.tif", "-s", 2, "--model", tiny_model_file, "-o", tmp_path / "m.safetensors",
            "--steps", 2)
    assert r.exit_code == 3, r.output
    assert ("the scene is an LDCSR output (model tiny-test 0, ×2 x, ×2 y, fast, from s.tif): its pixels are not "
            "measurements") in " ".join(r.output.split())
    assert not (tmp_path / "m.safetensors").exists()


def test_a_saved_adapted_model_in_memory_is_that_file_in_an_outputs_provenance(png, base, tmp_path, kept_anyway):
    """napari's Run after Adapt uses the adapted model in memory (not reloaded). Before, it kept the
    name 'tiny-test-adapted' and no SHA-256: its outputs read LDCSR_WEIGHTS_SHA256=unknown and
    named no file, where the same model loaded from its file gave that file's name and checksum."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    res = adapt(scene(), 2.0, base, steps=1, recipe=FAST)
    path = res.save(tmp_path / "a.safetensors")
    loaded = ldcsr_core.load_model(path, device="cpu", dtype="float32")
    from ldcsr_core.files import sha256_file

    assert loaded.weights_sha256 == sha256_file(path)
    same = ("name", "version", "notes", "weights_sha256")
    assert [getattr(res.model, k) for k in same] == [getattr(loaded, k) for k in same]
    assert res.model.version == f"{base.version}+adapted"
    tags = upscale_raster(png, tmp_path / "o.tif", model=res.model, scale=2, options=UpscaleOptions(mode="fast")).tags
    assert (tags["LDCSR_MODEL"], tags["LDCSR_WEIGHTS_SHA256"]) == (f"{loaded.name} {loaded.version}", sha256_file(path))


def test_models_says_which_version_of_a_base_a_model_was_adapted_from(tmp_path, kept_anyway):
    """The built-ins ldcsr-compact-rsscn7 v1…v4 share one name. Before, a model adapted from v1 and
    one from v4 both read 'adapted: from ldcsr-compact-rsscn7 on …' in ldcsr models."""
    from ldcsr_core.checkpoints import save_model
    from ldcsr_core.config import tiny_test_config

    lines = []
    for v in ("1", "4"):
        base = save_model(ldcsr_core.build_model(tiny_test_config(), seed=int(v)), tmp_path / f"b{v}.safetensors",
                          name="tiny-test", version=v)
        res = adapt(scene(), 2.0, ldcsr_core.load_model(base, device="cpu", dtype="float32"), steps=1, recipe=FAST)
        r = run("models", res.save(tmp_path / f"a{v}.safetensors"))
        assert r.exit_code == 0, r.output
        lines += [ln.strip() for ln in r.output.splitlines() if ln.strip().startswith("adapted: ")]
        from ldcsr_core.files import sha256_file

        assert lines[-1].startswith(f"adapted: from tiny-test {v} (sha256 {sha256_file(base)[:12]}) on an array")


@pytest.fixture
def builtin_copy(tmp_path, monkeypatch):
    """The built-in models' folder, as a copy: its checksum list and stand-ins for two shipped
    models (nothing is ever written in the checkout's own weights folder)."""
    import shutil

    from ldcsr_core import builtin_models

    shipped = builtin_models.default_model_path()
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(shipped.parent / builtin_models.BUILTIN_SUMS, weights)
    for name in (shipped.name, "ldcsr-compact-rsscn7-v2.safetensors"):
        (weights / name).write_bytes(b"stands for " + name.encode())
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: weights / shipped.name)
    return weights


def test_no_model_file_is_written_in_the_built_in_models_folder(png, base, tiny_model_file, tmp_path, builtin_copy,
                                                                kept_anyway, monkeypatch):
    """'ldcsr adapt -o <weights>/mine.safetensors' wrote a file that 'ldcsr models' listed as built-in and
    '--model mine' loaded by name; with --overwrite, -o naming another shipped model (v2 while v4 or a file
    was adapted) replaced it, which then loaded as damaged. Refused, exit 2, before any work, as 'ldcsr
    train' and 'ldcsr convert'; Adaptation.save (save_model) and a napari model folder set there too."""
    before = {p.name: p.read_bytes() for p in builtin_copy.iterdir()}
    real = adapt_mod.fine_tune
    monkeypatch.setattr(adapt_mod, "fine_tune", lambda *a, **k: pytest.fail("trained"))
    v2 = builtin_copy / "ldcsr-compact-rsscn7-v2.safetensors"
    for args in ([builtin_copy / "mine.safetensors", "--model", tiny_model_file], [v2, "--overwrite"],
                 [v2, "--overwrite", "--model", tiny_model_file]):
        r = run("adapt", png, "--scale", 2, "--steps", 1, "-o", *args)
        assert r.exit_code == 2 and f"{args[0]} is in the folder of the built-in models" in r.output, r.output
    for args in ([tiny_model_file, builtin_copy / "mine.safetensors"], [tiny_model_file, v2, "--overwrite"]):
        r = run("convert", *args)
        assert r.exit_code == 2 and "is in the folder of the built-in models" in r.output, r.output
    with pytest.raises(InputError, match="it is the folder of the built-in models"):
        adapt_mod.check_save_room(builtin_copy, base)  # napari's Adapt with LDCSR_MODELS_DIR set there
    monkeypatch.setattr(adapt_mod, "fine_tune", real)
    res = adapt(scene(), 2.0, base, steps=1, recipe=FAST)
    for path in (builtin_copy / "mine.safetensors", v2):
        with pytest.raises(InputError, match="is in the folder of the built-in models"):
            res.save(path)
    assert {p.name: p.read_bytes() for p in builtin_copy.iterdir()} == before
    res.save(tmp_path / "mine.safetensors")  # anywhere else: written


def test_an_adapted_model_is_never_saved_over_its_base(base, tiny_model_file, tmp_path, kept_anyway):
    """Adaptation.save(path of the base model) replaced the base (overwrite=True by default): the CLI
    compared -o with --model, the Python API did not."""
    import shutil

    copy = shutil.copy(tiny_model_file, tmp_path / "base.safetensors")
    before = copy.read_bytes()
    res = adapt(scene(), 2.0, ldcsr_core.load_model(copy, device="cpu", dtype="float32"), steps=1, recipe=FAST)
    with pytest.raises(InputError, match="is the model it was adapted from, tiny-test"):
        res.save(copy)
    assert copy.read_bytes() == before
