"""Model files judged as --model loads them: another band count, our format under another name
or suffix, an official checkpoint's EMA copy cut down, tensors or a configuration that do not fit
(``ldcsr models`` and ``info --model`` say what upscale would). Split from test_model_files.py."""

from __future__ import annotations

import re
import shutil

import pytest
import torch
from click.testing import CliRunner

import ldcsr_core
from ldcsr_core.checkpoints import read_state_dict
from ldcsr_core.cli import main
from ldcsr_core.config import ModelConfig, tiny_test_config
from ldcsr_core.errors import CheckpointError


def models_listing(*args):
    return CliRunner().invoke(main, ["models", *map(str, args)], catch_exceptions=True)


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


def test_a_model_of_another_band_count_is_refused_at_load(tmp_path):
    """A model of 4 bands (ours, or an official-style .ckpt, its architecture read off its tensors)
    is exit 6 naming the file and its band count, listed by ldcsr models as unreadable, nothing
    written. Before: it loaded, every tile failed with torch's 'expected input[1, 3, 96, 96] to have
    4 channels' (exit 1, the output's name in the summary), and ldcsr models listed it as usable."""
    import dataclasses

    import numpy as np
    import rasterio

    from ldcsr_core.models.ldcsr import LDCSR

    cfg = tiny_test_config()
    cfg = dataclasses.replace(cfg, cond_encoder=dataclasses.replace(cfg.cond_encoder, in_channels=4),
                              decoder=dataclasses.replace(cfg.decoder, in_channels=4, out_ch=4))
    with pytest.MonkeyPatch.context() as mp:  # made elsewhere (another project's trainer): built unchecked
        mp.setattr(ModelConfig, "_check_rgb", lambda self: None, raising=False)
        model = LDCSR(cfg)
    ours = tmp_path / "four bands.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(ours),
              metadata={"format": "ldcsr-safetensors-1", "config": cfg.to_json(), "name": "four", "version": "1"})
    official = tmp_path / "four.ckpt"
    torch.save({"state_dict": model.state_dict()}, official)
    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=4, dtype="uint8") as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (4, 40, 40), dtype=np.uint8))
    for path in (ours, official):
        out = tmp_path / "out.tif"
        r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "-s", "2", "--mode", "fast",
                                      "--model", str(path)])
        assert r.exit_code == 6, r.output
        last = r.output.strip().splitlines()[-1]
        assert last.startswith(f"Error: {path}: ") and "cond_encoder.in_channels is 4" in last, r.output
        assert "3 bands" in last and "Traceback" not in r.output, r.output
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.tif", ours.name, official.name])
        r = models_listing(path)
        assert r.exit_code == 6 and f"{path.name}  [unreadable]" in r.output, r.output
        with pytest.raises(CheckpointError, match="runs models of 3 bands"):
            ldcsr_core.load_model(path, device="cpu")


def test_a_safetensors_file_of_another_name_case_or_suffix_loads(tiny, tmp_path):
    """Our format is read by its content: 'M.SAFETENSORS' (as train --out, adapt -o and napari's Load
    checkpoint… take it, a copy from Windows) or 'm.sft' loads, is listed by its metadata and its
    output names the model. Before: '… is not an LDCSR checkpoint (neither a PyTorch .ckpt nor our
    .safetensors format)', exit 6, for a file in exactly that format."""
    import numpy as np
    import rasterio

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8))
    saved = ldcsr_core.save_model(tiny, tmp_path / "mine.safetensors", name="mine", version="7")
    for name in ("Mine.SAFETENSORS", "mine.sft"):
        path = tmp_path / name
        shutil.copy(saved, path)
        out = tmp_path / f"{path.stem}_x2.tif"
        r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "-s", "2", "--mode", "fast",
                                      "--model", str(path)])
        assert r.exit_code == 0, r.output
        with rasterio.open(out) as ds:
            assert ds.tags()["LDCSR_MODEL"] == "mine 7"
        r = models_listing(path)
        assert r.exit_code == 0 and f"{name}\n" in r.output and "name:    mine 7" in r.output, r.output
        assert ldcsr_core.load_model(path, device="cpu").name == "mine"


def test_an_official_checkpoint_missing_an_ema_shadow_is_named(golden_dir, tmp_path):
    """An official .ckpt whose EMA copy lacks a UNet tensor's shadow (a checkpoint cut down by
    hand, a merge of two) is exit 6 naming the file, as every other refusal of a model file does.
    Before: 'the checkpoint has EMA weights but no shadow copy of …' with no file named (in a
    batch, napari's notification or a script looping over checkpoints: which one?)."""
    sd = dict(torch.load(golden_dir / "small_official.ckpt", map_location="cpu", weights_only=True)["state_dict"])
    del sd["model_ema.diffusion_modeltime_embed2bias"]
    path = tmp_path / "cut down.ckpt"
    torch.save({"state_dict": sd}, path)
    r = models_listing(path)
    assert r.exit_code == 6, r.output
    assert r.output.strip().splitlines()[-1] == (
        f"Error: {path}: the checkpoint has EMA weights but no shadow copy of "
        "model.diffusion_model.time_embed.2.bias (expected model_ema.diffusion_modeltime_embed2bias)"), r.output
    with pytest.raises(CheckpointError, match=f"^'?{path}: the checkpoint has EMA weights"):
        ldcsr_core.load_model(path, device="cpu")


def test_a_file_whose_tensors_do_not_fit_its_configuration_is_not_listed_as_usable(tiny, tmp_path):
    """ldcsr models and info --model judge a file in our format by its tensors' names and shapes
    too (from its header), as --model loads it: one with a tensor missing, or a tensor of another
    shape, is listed as unreadable with load_model's sentence (exit 6); info refuses it, nothing on
    stdout. Before: both described it as fine (name, parameters, configuration; info exit 0) and
    only upscale said it does not match."""
    import numpy as np
    import rasterio
    from safetensors.torch import save_file

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.zeros((3, 40, 40), np.uint8))
    good = ldcsr_core.save_model(tiny, tmp_path / "good.safetensors", name="good")
    sd, meta = read_state_dict(good)
    name = "cond_stage_model.conv_in.weight"
    cut = tmp_path / "cut.safetensors"
    save_file({k: v for k, v in sd.items() if k != name}, str(cut), metadata=meta)
    wide = tmp_path / "wide.safetensors"
    save_file({**sd, name: torch.zeros(*sd[name].shape[:-1], 5)}, str(wide), metadata=meta)
    for path, says in ((cut, f"missing 1 tensor (cond_stage_model 1; e.g. {name})"),
                       (wide, f"1 shape mismatch (cond_stage_model 1; e.g. {name}: checkpoint")):
        with pytest.raises(CheckpointError, match=re.escape(says)):
            ldcsr_core.load_model(path, device="cpu")
        r = models_listing(good, path)
        assert r.exit_code == 6, r.output
        assert "good.safetensors\n" in r.output and f"{path.name}  [unreadable]" in r.output, r.output
        assert r.output.strip().splitlines()[-1].startswith(f"Error: {path} does not match the LDCSR model: {says}")
        r = CliRunner().invoke(main, ["info", str(src), "--model", str(path)])
        assert r.exit_code == 6 and r.stdout == "", r.output
        assert says in r.output, r.output
    r = CliRunner().invoke(main, ["info", str(src), "--model", str(good)])
    assert r.exit_code == 0, r.output


def test_models_builds_each_configuration_once_and_keeps_each_files_verdict(tiny, tmp_path, monkeypatch):
    """ldcsr models judges a file in our format by the tensors its configuration makes: it built
    that model (on the meta device: 80-160 ms a compact model) for every file; now once per
    configuration in a process (a folder's models share a few), each file's verdict as before: a
    file with a tensor missing among others of its configuration is still unreadable."""
    import dataclasses

    from safetensors.torch import save_file

    import ldcsr_core.checkpoints as C

    builds, construct = [], C._construct
    monkeypatch.setattr(C, "_construct", lambda cfg, seed=None: builds.append(cfg) or construct(cfg, seed))
    monkeypatch.setattr(C, "_SHAPES", {}, raising=False)  # none built yet in this process
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "none"))  # the listing is of these files alone
    same = [ldcsr_core.save_model(tiny, tmp_path / f"m{i}.safetensors", name=f"m{i}") for i in range(3)]
    sd, meta = read_state_dict(same[0])
    cut = tmp_path / "cut.safetensors"
    save_file({k: v for k, v in sd.items() if k != "cond_stage_model.conv_in.weight"}, str(cut), metadata=meta)
    cfg = tiny_test_config()
    other = ldcsr_core.save_model(ldcsr_core.build_model(dataclasses.replace(
        cfg, decoder=dataclasses.replace(cfg.decoder, fuse_width=48))), tmp_path / "other.safetensors", name="o")
    builds.clear()
    r = models_listing(*same, cut, other)
    assert r.exit_code == 6, r.output
    assert all(f"\n{p.name}\n" in r.output for p in (*same, other)), r.output  # each described
    assert "cut.safetensors  [unreadable]" in r.output and "missing 1 tensor" in r.output, r.output
    assert len(builds) == 2, builds  # main: 5, one per file


def test_models_reads_an_official_checkpoint_once(golden_dir, tmp_path, monkeypatch):
    """ldcsr models hashed an official .ckpt it had just loaded (and hashed) a second time: the
    whole file read twice (the official release is gigabytes). Its SHA-256 is the one load_model
    took of the bytes it loaded."""
    import hashlib

    import ldcsr_core.files

    ckpt = tmp_path / "official.ckpt"
    shutil.copy(golden_dir / "small_official.ckpt", ckpt)
    hashed, sha256_file = [], ldcsr_core.files.sha256_file
    monkeypatch.setattr(ldcsr_core.files, "sha256_file", lambda p, *a, **k: hashed.append(p) or sha256_file(p, *a, **k))
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "none"))
    r = models_listing(ckpt)
    assert r.exit_code == 0, r.output
    assert f"  sha256:  {hashlib.sha256(ckpt.read_bytes()).hexdigest()}\n" in r.output, r.output
    assert ckpt not in hashed and str(ckpt) not in hashed, hashed


def test_a_configuration_that_cannot_be_built_is_listed_as_unreadable(tiny, tmp_path):
    """A file in our format whose recorded configuration validates but cannot be built (a negative
    width, hand-edited): ldcsr models and info --model built it on the meta device unguarded, so
    both stopped with 'Error: RuntimeError: Trying to create tensor with negative dimension', exit 1,
    the models after it never listed. Now load_model's sentence, exit 6, as upscale says it."""
    import json

    import numpy as np
    import rasterio

    from ldcsr_core.errors import one_line

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.zeros((3, 40, 40), np.uint8))
    good = ldcsr_core.save_model(tiny, tmp_path / "good.safetensors", name="good")
    sd, meta = read_state_dict(good)
    cfg = json.loads(meta["config"])
    cfg["cond_encoder"]["z_channels"] = -4
    bad = tmp_path / "bad.safetensors"
    from safetensors.torch import save_file

    save_file(sd, str(bad), metadata={**meta, "config": json.dumps(cfg)})
    with pytest.raises(CheckpointError) as refused:
        ldcsr_core.load_model(bad, device="cpu")
    says = one_line(refused.value)
    assert says.startswith(f"{bad}: its model configuration cannot be built into a model (") and "-4" in says
    r = models_listing(bad, good)
    assert r.exit_code == 6, r.output
    assert f"{bad.name}  [unreadable]" in r.output and "good.safetensors\n" in r.output, r.output
    assert r.output.strip().splitlines()[-1] == f"Error: {says}", r.output
    r = CliRunner().invoke(main, ["info", str(src), "--model", str(bad)])
    assert r.exit_code == 6 and r.stdout == "" and says in r.output, r.output


def test_an_adapted_model_under_another_suffix_is_still_an_adapted_model(tiny, tmp_path):
    """Our format is read by its content (m.sft loads, 18a7aed), but what a file says of its
    adaptation was read only from files named .safetensors: ldcsr info --model adapted.sft said
    'not an adapted model' and gave no note for a use beyond its guard (napari's Run and live lens,
    QGIS, read it the same way). Now the same content rule (model_metadata.is_safetensors)."""
    import numpy as np
    import rasterio
    from safetensors.torch import save_file

    from ldcsr_core.adapted_use import adapted_check

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, 40, 40), dtype=np.uint8))
    saved = ldcsr_core.save_model(tiny, tmp_path / "adapted.safetensors", name="adapted")
    sd, meta = read_state_dict(saved)
    meta = {**meta, "adapted_from": "tiny", "adapted_on": str(src), "adapted_on_sha256": "0" * 64,
            "adapt_scale": "2", "adapt_bands": "1,2,3", "adapt_band_count": "3", "adapt_stretch": "dtype"}
    for name in ("adapted.safetensors", "adapted.sft", "Adapted.SAFETENSORS"):
        path = tmp_path / name
        save_file(sd, str(path), metadata=meta)
        assert adapted_check(path) is not None and adapted_check(path).scale == 2.0, name
        r = CliRunner().invoke(main, ["info", str(src), "-s", "4", "--model", str(path)])
        assert r.exit_code == 0, r.output
        assert f"model:       {path}: adapted and checked at ×2 in fast mode" in r.output, r.output
        assert "not an adapted model" not in r.output and "at ×4" in r.output, r.output


def test_the_model_folder_lists_a_model_file_of_another_name_case_or_suffix(tiny, tmp_path, monkeypatch):
    """The model folder's models are the files --model reads as our format: 'Mine.SAFETENSORS' (a copy
    from Windows) and 'mine.sft' are listed by ldcsr models and in napari's Model list; a text file, a
    part file of a save in progress and a FIFO (never opened) are not. Before: only lower-case
    '*.safetensors' was listed, although --model loaded the others."""
    import os

    from napari_ldcsr._form import user_models

    mine = tmp_path / "mine"
    mine.mkdir()
    saved = ldcsr_core.save_model(tiny, tmp_path / "a.safetensors", name="mine")
    for name in ("Mine.SAFETENSORS", "mine.sft"):
        shutil.copy(saved, mine / name)
    ldcsr_core.save_model(tiny, mine / "other.safetensors", name="other")
    shutil.copy(saved, mine / ".x.safetensors.abcdefgh.ldcsr-part")
    (mine / "notes.txt").write_text("adapted on scene.tif\n")
    os.mkfifo(mine / "pipe.sft")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    r = models_listing()
    listed = [ln for ln in r.output.splitlines() if ln and not ln.startswith(" ") and "[built-in" not in ln]
    assert r.exit_code == 0 and listed == ["Mine.SAFETENSORS", "mine.sft", "other.safetensors"], r.output
    assert sorted(name for name, _ in user_models()) == ["Mine.SAFETENSORS", "mine.sft", "other.safetensors"]


def test_a_model_with_nan_or_infinite_weights_is_refused_at_load(tiny, tmp_path):
    """A model file one of whose weights is NaN (a training that diverged, a damaged file) loaded, and
    ldcsr_core.upscale in diffusion mode gave an all-black uint8 picture (NaN cast to uint8) and a float one of
    NaN, with no word; now load_model refuses it naming a tensor, from our format and a PyTorch .ckpt alike."""
    import numpy as np

    sd = {k: v.clone() for k, v in tiny.state_dict().items()}
    name = next(k for k, v in sd.items() if k.startswith("model.diffusion_model.") and v.is_floating_point()
                and v.numel() > 1)
    for value in (float("nan"), float("inf")):
        sd[name].view(-1)[0] = value
        broken = ldcsr_core.build_model(tiny_test_config(), seed=0)
        broken.load_state_dict(sd)
        ours = ldcsr_core.save_model(broken, tmp_path / "nan.safetensors", name="nan")
        ckpt = tmp_path / "nan.ckpt"
        torch.save(sd, ckpt)
        for path in (ours, ckpt):
            with pytest.raises(CheckpointError, match=rf"^{re.escape(str(path))} holds NaN or infinite weights "
                                                      rf"\(1 tensor, e\.g\. {re.escape(name)}\): a training that "
                                                      "diverged or a damaged file"):
                ldcsr_core.load_model(path, device="cpu")
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert ldcsr_core.upscale(image, 2, model=broken, mode="diffusion").max() == 0  # what it loaded as


def test_info_refuses_a_model_with_nan_weights_as_upscale_does(tiny, tmp_path):
    """ldcsr info --model FILE read only the header, so it described a model with NaN weights as fine (exit 0,
    'not an adapted model') while upscale refused it; now info says load_model's sentence (exit 6, nothing on
    stdout). NaN only in the stage-1 encoder, which inference never uses (a training run's file), is no refusal
    of either, and is one where the encoder is loaded to train (with_encoder=True)."""
    import numpy as np
    import rasterio

    from ldcsr_core.checkpoint_keys import check_finite

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.zeros((3, 40, 40), np.uint8))
    sd = {k: v.clone() for k, v in tiny.state_dict().items()}
    name = next(k for k, v in sd.items() if k.startswith("model.diffusion_model.") and v.numel() > 1)
    sd[name].view(-1)[1] = float("nan")
    broken = ldcsr_core.build_model(tiny_test_config(), seed=0)
    broken.load_state_dict(sd)
    for path in (ldcsr_core.save_model(broken, tmp_path / "nan.safetensors", name="nan"), tmp_path / "nan.ckpt"):
        torch.save(sd, tmp_path / "nan.ckpt")
        r = CliRunner().invoke(main, ["info", str(src), "--model", str(path)])
        assert r.exit_code == 6 and r.stdout == "", r.output
        assert f"{path} holds NaN or infinite weights (1 tensor, e.g. {name})" in r.output, r.output
    trained = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0)
    enc = next(k for k in trained.state_dict() if k.startswith("first_stage_model.encoder."))
    with torch.no_grad():
        trained.state_dict()[enc].view(-1)[0] = float("inf")
    path = ldcsr_core.save_model(trained, tmp_path / "enc.safetensors", name="enc")
    assert ldcsr_core.load_model(path, device="cpu").name == "enc"
    r = CliRunner().invoke(main, ["info", str(src), "--model", str(path)])
    assert r.exit_code == 0 and "not an adapted model" in r.output, r.output
    with pytest.raises(CheckpointError, match=f"holds NaN or infinite weights .1 tensor, e.g. {re.escape(enc)}"):
        ldcsr_core.load_model(path, device="cpu", with_encoder=True)
    # a sum that overflows is no refusal (float16 weights near its largest), and +inf with -inf (a NaN sum) is one
    check_finite({"w": torch.full((4,), 60000.0, dtype=torch.float16)}, ["w"], "m")
    with pytest.raises(CheckpointError, match="1 tensor, e.g. w"):
        check_finite({"w": torch.tensor([float("inf"), float("-inf"), 1.0])}, ["w"], "m")


def test_a_model_whose_weights_overflow_float16_is_refused_in_float16(tiny, tmp_path):
    """A model holding a weight past float16's largest value (65504) loaded with dtype='float16' (the default on
    CUDA) as an infinite weight, and its pictures were NaN, said nowhere; now load_model refuses it in float16,
    naming the tensor and the float types it loads in (it still does, in float32 and bfloat16)."""
    import numpy as np

    sd = {k: v.clone() for k, v in tiny.state_dict().items()}
    name = next(k for k, v in sd.items() if k.startswith("model.diffusion_model.") and v.numel() > 1)
    sd[name].view(-1)[0] = 1e5
    big = ldcsr_core.build_model(tiny_test_config(), seed=0)
    big.load_state_dict(sd)
    path = ldcsr_core.save_model(big, tmp_path / "big.safetensors", name="big")
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(path))} holds weights beyond float16's range "
                                              rf"\(1 tensor, e\.g\. {re.escape(name)}\): in float16 they are infinite"
                                              r".*load it as float32 or bfloat16"):
        ldcsr_core.load_model(path, device="cpu", dtype="float16")
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    for dtype in ("float32", "bfloat16"):
        model = ldcsr_core.load_model(path, device="cpu", dtype=dtype)
        assert np.isfinite(ldcsr_core.upscale(image, 2, model=model, mode="diffusion")).all()
    assert ldcsr_core.load_model(None, device="cpu", dtype="float16").name  # the shipped model fits it


def test_models_lists_a_model_with_nan_weights_as_unreadable_as_info_refuses_it(tiny, tmp_path, monkeypatch):
    """ldcsr models read a model file's header only, so it listed one with a NaN weight as fine (name, parameters,
    configuration; exit 0) while info --model and upscale refused it; now it is listed as unreadable in info's
    words (exit 6), the files beside it still described."""
    import numpy as np
    import rasterio

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.zeros((3, 40, 40), np.uint8))
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "none"))
    good = ldcsr_core.save_model(tiny, tmp_path / "good.safetensors", name="good")
    sd = {k: v.clone() for k, v in tiny.state_dict().items()}
    sd[next(k for k in sd if k.startswith("model.diffusion_model.") and sd[k].numel() > 1)].view(-1)[0] = float("nan")
    broken = ldcsr_core.build_model(tiny_test_config(), seed=0)
    broken.load_state_dict(sd)
    bad = ldcsr_core.save_model(broken, tmp_path / "nan.safetensors", name="nan")
    info = CliRunner().invoke(main, ["info", str(src), "--model", str(bad)])
    assert info.exit_code == 6, info.output
    says = info.output.strip().splitlines()[-1]
    assert says.startswith(f"Error: {bad} holds NaN or infinite weights (1 tensor"), info.output
    r = models_listing(good, bad)
    assert r.exit_code == 6, r.output
    assert "good.safetensors\n  path:" in r.output and "  name:    good" in r.output, r.output
    assert f"nan.safetensors  [unreadable]\n  path:    {bad}\n  error:   {says[len('Error: '):]}\n" in r.output, r.output
    assert "  name:    nan" not in r.output and r.output.strip().splitlines()[-1] == says, r.output


def test_a_float64_model_whose_weights_overflow_float32_is_refused(tiny, tmp_path):
    """A model file of float64 tensors holding 1e39 (past float32's 3.4e38, as bfloat16's) passed the NaN check (run on
    the file's tensors) and loaded in float32 with an infinite weight: pictures of NaN, said nowhere, and ldcsr info
    said it was fine; in bfloat16 it was refused with 'load it as float32 or bfloat16'. Now both refuse it, and the
    advice is no float type."""
    import numpy as np
    import rasterio
    from safetensors.torch import load_file, save_file

    from ldcsr_core.checkpoints import header_metadata

    path = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="m")
    sd = load_file(str(path))
    name = next(k for k, v in sd.items() if k.startswith("model.diffusion_model.") and v.numel() > 1)
    sd[name] = sd[name].double()
    sd[name].view(-1)[0] = 1e39
    wide = tmp_path / "wide.safetensors"
    save_file(sd, str(wide), metadata=header_metadata(path))
    said = (rf"^{re.escape(str(wide))} holds weights beyond float32's range \(1 tensor, e\.g\. {re.escape(name)}\): "
            r"in float32 they are infinite, and its pictures would be NaN or black; a training that diverged or a "
            r"damaged file: use another model file$")
    for dtype in ("float32", "bfloat16"):
        with pytest.raises(CheckpointError, match=said):
            ldcsr_core.load_model(wide, device="cpu", dtype=dtype)
    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.zeros((3, 40, 40), np.uint8))
    r = CliRunner().invoke(main, ["info", str(src), "--model", str(wide)])
    assert r.exit_code == 6 and r.stdout == "" and "beyond float32's range" in r.output, r.output
    sd[name].view(-1)[0] = 1e30  # within float32's: loads
    save_file(sd, str(wide), metadata=header_metadata(path))
    assert ldcsr_core.load_model(wide, device="cpu", dtype="float32").name == "m"
