"""Model files as users meet them: a file that is not the model asked for, hand-edited metadata,
a v4 saved without our metadata, built-in models found elsewhere, the float type of cached models."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from click.testing import CliRunner

import ldcsr_core
from ldcsr_core.builtin_models import default_model_path, model_path
from ldcsr_core.checkpoints import read_state_dict
from ldcsr_core.cli import main
from ldcsr_core.config import ModelConfig, tiny_test_config
from ldcsr_core.errors import CheckpointError, InputError

V1, V4 = (f"ldcsr-compact-rsscn7-{v}" for v in ("v1", "v4"))


def models_listing(*args):
    return CliRunner().invoke(main, ["models", *map(str, args)], catch_exceptions=True)


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


@pytest.fixture(scope="module")
def v4_f32():
    """The built-in v4 loaded in float32, once: the tests below only read it."""
    return ldcsr_core.load_model(V4, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def bare_v4(tmp_path_factory):
    """v4's tensors saved alone (no metadata), written and loaded in float32 once: its tensors, v4's
    metadata, the file and the model loaded from it (the tests below only read them)."""
    from safetensors.torch import save_file

    sd, meta = read_state_dict(model_path(V4))
    path = tmp_path_factory.mktemp("bare") / "bare.safetensors"
    save_file(sd, path)  # the tensors alone
    return sd, meta, path, ldcsr_core.load_model(path, device="cpu", dtype="float32")


def hand_edited(model, path, meta):
    """``model`` saved at ``path``, then its metadata edited by hand (save_model refuses to write
    the format's own entries through ``extra``)."""
    from safetensors.torch import save_file

    ldcsr_core.save_model(model, path, name="t")
    sd, own = read_state_dict(path)
    save_file(sd, path, metadata={**own, **meta})
    return path


def test_a_key_mismatch_is_told_in_counts_with_its_likely_cause(tmp_path):
    """Before: up to 12 names per group on one line (~1 700 characters for v1 with another
    config) and no word of what the file was. Now counts per part of the model, a name each, and
    the likely cause when the names tell it."""
    with pytest.raises(CheckpointError) as e:
        ldcsr_core.load_model(V1, device="cpu", config=tiny_test_config())
    said = str(e.value)
    assert len(said) < 700, said
    assert "unexpected 60 tensors (first_stage_model.decoder 56, cond_stage_model 2, model.diffusion_model 2; e.g. " in said
    assert "missing 2 tensors (model.diffusion_model 2; e.g. " in said
    assert "95 shape mismatches (model.diffusion_model 47, cond_stage_model 35, first_stage_model.decoder 13" in said
    assert said.endswith("(the config given does not describe these weights: leave config out to use the file's own)")

    # our format whose recorded configuration lost v4's detail decoder (metadata edited)
    sd, meta = read_state_dict(model_path(V4))
    cfg = json.loads(meta["config"])
    cfg["detail_decoder"] = None
    from safetensors.torch import save_file

    save_file(sd, tmp_path / "edited.safetensors", metadata={**meta, "config": json.dumps(cfg)})
    with pytest.raises(CheckpointError, match=r"unexpected 283 tensors \(detail_decoder 283; e\.g\. .*\(the file has "
                                              r"a diffusion-mode detail decoder \(as the built-in v4\) that the "
                                              r"configuration lacks\)$"):
        ldcsr_core.load_model(tmp_path / "edited.safetensors", device="cpu")


def test_a_first_stage_checkpoint_and_another_models_are_named_as_such(tmp_path):
    first_stage = {"encoder.conv_in.weight": torch.zeros(2, 6, 3, 3), "decoder.conv_in.weight": torch.zeros(2, 4, 3, 3),
                   "post_quant_conv.weight": torch.zeros(4, 4, 1, 1), "loss.logvar": torch.zeros(())}
    torch.save({"state_dict": first_stage}, tmp_path / "first_stage.ckpt")
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "resnet.ckpt")
    with pytest.raises(CheckpointError, match="this looks like an official LDCSR first-stage .autoencoder. checkpoint: "
                                              "inference needs the second-stage one"):
        ldcsr_core.load_model(tmp_path / "first_stage.ckpt", device="cpu")
    with pytest.raises(CheckpointError, match="this looks like a checkpoint of another model, not LDCSR"):
        ldcsr_core.load_model(tmp_path / "resnet.ckpt", device="cpu")


@pytest.mark.parametrize("meta, says", [
    ({"tile_max": "0"}, "tile_max='0' is not a whole number of at least 48 output pixels"),  # was: no cap
    ({"tile_max": "-5"}, "tile_max='-5' is not a whole number of at least 48"),  # was: the smallest windows
    ({"tile_max": "7"}, "tile_max='7' is not a whole number of at least 48"),  # was: 48-px windows
    ({"tile_max": "1.5"}, "tile_max='1.5' is not a whole number"),
    ({"tile_max": "64", "tile_overlap": "64"}, "tile_overlap='64' is not a whole number from 0 to 24 output pixels"),
    ({"tile_max": "256", "tile_overlap": "-8"}, "tile_overlap='-8' is not a whole number from 0 to 120"),
])
def test_hand_edited_window_limits_are_refused_at_load(tiny, tmp_path, meta, says):
    """Before: tile_max 0 loaded as no cap, a negative or small one planned 48-px windows (132 of
    them for a 300x270 output), an overlap over half a window was cut without a word and a negative
    one failed in the planner at the first upscale. Now the file is refused when loaded (and
    listed as unreadable by 'ldcsr models', exit 6: a bad model file)."""
    path = hand_edited(tiny, tmp_path / "edited.safetensors", meta)
    with pytest.raises(CheckpointError, match=f"edited.safetensors: metadata {says}".replace("(", r"\(")):
        ldcsr_core.load_model(path, device="cpu")
    r = models_listing(path)
    assert r.exit_code == 6 and "edited.safetensors  [unreadable]" in r.output, r.output


def test_window_limits_in_range_load_as_recorded(tiny, tmp_path):
    for meta, limits in (({"tile_max": "10000000", "tile_overlap": "0"}, (10_000_000, 0)),
                         ({"tile_max": "48", "tile_overlap": "16"}, (48, 16)),
                         ({"tile_max": "none"}, (None, 16))):
        m = ldcsr_core.load_model(hand_edited(tiny, tmp_path / "m.safetensors", meta), device="cpu")
        assert (m.tile_max, m.tile_overlap) == limits


def test_v4_saved_without_our_metadata_loads_with_its_detail_decoder(bare_v4, v4_f32):
    """Before: 'does not match the LDCSR model: unexpected 283 tensors: detail_decoder...' (the
    architecture read off the shapes had no detail decoder). Now it is read off them too, and the
    window limits are v4's own: before, the official weights' 256-px windows overlapping by 16 px
    (160 px ×2.5: 4 windows for v4's one; diffusion mode then gave another picture for a seed,
    44 dB from v4's, up to 86 levels of 255 apart)."""
    sd, meta, _, bare = bare_v4
    v4 = v4_f32
    recorded = ModelConfig.from_json(meta["config"])
    assert bare.config == v4.config and bare.config.detail_decoder == recorded.detail_decoder is not None
    assert all(torch.equal(a, b) for a, b in zip(bare.state_dict().values(), v4.state_dict().values()))
    assert (bare.tile_max, bare.tile_overlap) == (v4.tile_max, v4.tile_overlap) == (None, 0)
    for mode in ("diffusion", "fast"):
        assert ldcsr_core.plan_for_model(bare, (160, 160), (400, 400), mode=mode) == \
            ldcsr_core.plan_for_model(v4, (160, 160), (400, 400), mode=mode)
    from ldcsr_core.official_checkpoint import builtin_twin

    first = sorted(sd)[0]
    other = {**sd, first: sd[first] + 1}  # other weights of v4's shapes (a fine-tuned v4, say): no twin
    assert builtin_twin(other) is None and builtin_twin(sd)[0].name == f"{V4}.safetensors"


def test_v4_saved_without_our_metadata_is_named_and_recorded_as_v4(bare_v4, tmp_path):
    """Its weights are v4's and it loads as v4 (its configuration and windows), but it was named
    after the file with version 'official' ('bare official' in LDCSR_MODEL, ldcsr models and the
    tags of every output) and had none of v4's training notes. Now v4's name, version and notes,
    and ldcsr models / info say whose copy it is."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    _, meta, bare, m = bare_v4
    assert (m.name, m.version) == (meta["name"], meta["version"]) and m.notes == meta["notes"]
    assert m.copy_of == V4 and ldcsr_core.load_model(V4, device="cpu").copy_of is None
    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=from_origin(500000, 4000000, 10, 10)) as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, 24, 24), dtype=np.uint8))
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--mode", "fast",
                                  "--model", str(bare), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.tags()["LDCSR_MODEL"] == f"{meta['name']} {meta['version']}"
    r = CliRunner().invoke(main, ["models", str(bare)])
    listed = r.output[r.output.index("bare.safetensors\n"):]
    assert f"name:    {meta['name']} {meta['version']}\n  copy:    of the built-in {V4} " in listed, r.output
    r = CliRunner().invoke(main, ["info", str(src), "--model", str(bare)])
    assert f"model:       {bare}: a copy of the built-in {V4} (its tensors without its metadata); not an adapted " \
        "model" in r.output, r.output


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A built-in models' folder of v1 and v4 (copies) with the shipped checksum list."""
    from ldcsr_core import builtin_models

    shipped = default_model_path()
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in (builtin_models.BUILTIN_SUMS, f"{V1}.safetensors", f"{V4}.safetensors"):
        shutil.copy(shipped.parent / name, folder)
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: folder / shipped.name)
    return folder


def test_built_in_is_decided_by_the_shipped_checksums_not_by_folder(weights, tiny, tmp_path, monkeypatch):
    """Before: any .safetensors in the weights folder was listed as [built-in] and loaded by its
    name; a built-in in the user's model folder (LDCSR_MODELS_DIR set to the weights folder, a
    copy) was listed again as a user model (napari: v4 twice). Now built-in = named in the shipped
    checksum list, or a copy of one by its SHA-256; each model listed once."""
    ldcsr_core.save_model(tiny, tmp_path / "stray.safetensors", name="stray")
    shutil.copy(tmp_path / "stray.safetensors", weights)  # put there by hand
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(weights / f"{V1}.safetensors", mine / "copy-of-v1.safetensors")
    ldcsr_core.save_model(tiny, mine / "adapted.safetensors", name="adapted")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    r = models_listing()
    assert r.exit_code == 0, r.output
    listed = [ln for ln in r.output.splitlines() if ln and not ln.startswith(" ")]
    assert listed == [f"{V1}.safetensors  [built-in]", f"{V4}.safetensors  [built-in, default]",
                      "adapted.safetensors"], r.output
    with pytest.raises(InputError, match="no model is named 'stray': the models are "):
        ldcsr_core.load_model("stray", device="cpu")  # no built-in nor adapted model of that name

    from napari_ldcsr._form import user_models

    assert [name for name, _ in user_models()] == ["adapted.safetensors"]
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(weights))
    assert [name for name, _ in user_models()] == ["stray.safetensors"]  # not v1 nor v4 again


def test_a_model_file_under_two_names_is_listed_once(weights, tiny, tmp_path, monkeypatch):
    """Before: napari's Model list showed a link in the model folder, the file it points to and a
    hard link to it as three models, and ldcsr models listed the hard link again. Now one entry,
    under the name that sorts first, in both."""
    import os

    mine = tmp_path / "mine"
    mine.mkdir()
    ldcsr_core.save_model(tiny, mine / "scene-x2.safetensors", name="scene")
    (mine / "best.safetensors").symlink_to("scene-x2.safetensors")
    os.link(mine / "scene-x2.safetensors", mine / "hard.safetensors")
    ldcsr_core.save_model(tiny, mine / "other.safetensors", name="other")  # same tensors, another file
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    r = models_listing()
    assert r.exit_code == 0, r.output
    listed = [ln for ln in r.output.splitlines() if ln and not ln.startswith(" ")]
    assert listed[2:] == ["best.safetensors", "other.safetensors"], r.output

    from napari_ldcsr._form import user_models

    assert sorted(user_models()) == [("best.safetensors", str(mine / "best.safetensors")),
                                     ("other.safetensors", str(mine / "other.safetensors"))]


def test_a_broken_link_in_the_model_folder_leaves_the_others_in_napari(tiny, tmp_path, monkeypatch):
    """A link to a removed file, or a link loop, in the model folder: napari's Model list still shows
    the other models (ldcsr models lists those two as unreadable). Before: the list's sort by date
    failed on the link and napari offered no model of the folder at all."""
    mine = tmp_path / "mine"
    mine.mkdir()
    ldcsr_core.save_model(tiny, mine / "scene.safetensors", name="scene")
    (mine / "gone.safetensors").symlink_to(tmp_path / "removed.safetensors")
    (mine / "loop.safetensors").symlink_to("loop.safetensors")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))

    from napari_ldcsr._form import user_models

    assert user_models() == [("scene.safetensors", str(mine / "scene.safetensors"))]


def test_a_model_given_as_a_broken_link_or_a_loop_says_so(tmp_path, monkeypatch):
    """--model, models PATH or convert CKPT given a link to a model moved away (or a link loop): the
    engine's one line and exit 6, as ldcsr models lists such a link of the model folder. Before:
    exit 2 'checkpoint file '…/best.safetensors' does not exist' (click's 'File … does not exist.' for
    models and convert), a name ls shows. Nothing at all there stays exit 2."""
    import numpy as np
    import rasterio

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8") as ds:
        ds.write(np.zeros((1, 8, 8), np.uint8))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "best.safetensors").symlink_to(tmp_path / "moved.safetensors")
    (mine / "loop.safetensors").symlink_to("loop.safetensors")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "none"))  # ldcsr models: the built-ins and PATH alone
    for model, says in ((mine / "best.safetensors", f"is a link to {tmp_path / 'moved.safetensors'}, which is missing"),
                        (mine / "loop.safetensors", "is a link loop")):
        for args in (["info", str(src), "--model", str(model)], ["models", str(model)],
                     ["convert", str(model), str(tmp_path / "out.safetensors")]):
            r = CliRunner().invoke(main, args)
            assert r.exit_code == 6, (args[0], r.output)
            assert r.output.strip().splitlines()[-1].endswith(f"{says}: no checkpoint to read"), r.output
    r = CliRunner().invoke(main, ["models", str(tmp_path / "none.safetensors")])
    assert r.exit_code == 2 and "does not exist" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "mine"]


def test_a_model_file_that_cannot_be_read_is_exit_5(tiny, tmp_path, monkeypatch):
    """A model file this user may not read is an I/O error, exit 5, as for --model: listed as unreadable
    in the model folder and given as a path, refused by convert. Before: models PATH and convert
    refused it as a usage error (exit 2, click's 'is not readable'), and the docs said 6. Tests run as
    root, which reads anything: the refusal is simulated where the file is checked and first opened."""
    import builtins
    import os

    from ldcsr_core import checkpoint_reading

    mine = tmp_path / "mine"
    mine.mkdir()
    ldcsr_core.save_model(tiny, mine / "a.safetensors", name="a")
    locked = mine / "b.safetensors"
    ldcsr_core.save_model(tiny, locked, name="b")
    access, opener = os.access, builtins.open

    def denied_open(path, *a, **kw):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return opener(path, *a, **kw)

    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(locked) else access(p, mode, **kw))
    monkeypatch.setattr(checkpoint_reading, "open", denied_open, raising=False)
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    for args in ([], [locked]):
        r = models_listing(*args)
        assert r.exit_code == 5, r.output
        assert "a.safetensors\n" in r.output and "b.safetensors  [unreadable]" in r.output, r.output
        assert r.output.endswith(f"Error: [Errno 13] Permission denied: '{locked}'\n"), r.output
    r = CliRunner().invoke(main, ["convert", str(locked), str(tmp_path / "c.safetensors")])
    assert r.exit_code == 5 and "Permission denied" in r.output, r.output
    assert not (tmp_path / "c.safetensors").exists()


SCHEDULE = "diffusion.linear_start and linear_end .the noise schedule.s first and last beta. must be between 0 and 1, exclusive, "


@pytest.mark.parametrize("section, field, value, says", [
    ("diffusion", "timesteps", 0, "diffusion.timesteps must be at least 1, got 0"),  # was: the noise decoded
    ("diffusion", "linear_end", 1.0, SCHEDULE + "got 0.1 and 1.0"),  # was: NaN pictures
    ("diffusion", "linear_start", 0.0, SCHEDULE + "got 0.0 and 0.99"),  # was: NaN pictures
    ("unet", "num_head_channels", 7, "unet.num_head_channels 7 does not divide the 64 channels"),  # was: torch's
    ("unet", "num_head_channels", 0, "unet.num_head_channels must be a whole number >= 1, or -1 with"),
])
def test_a_hand_edited_schedule_or_head_width_is_refused_at_load(tiny, tmp_path, section, field, value, says):
    """Before: these loaded; diffusion mode then gave NaN pictures (a beta of 0 or 1), its
    undenoised noise (0 steps), or failed in torch's words ('shape [9, 21, 1] is invalid for input
    of size 192'). Now the configuration is refused, read from a file or given."""
    from safetensors.torch import save_file

    sd, meta = read_state_dict(ldcsr_core.save_model(tiny, tmp_path / "base.safetensors", name="t"))
    cfg = json.loads(meta["config"])
    cfg[section][field] = value
    save_file(sd, tmp_path / "edited.safetensors", metadata={**meta, "config": json.dumps(cfg)})
    with pytest.raises(CheckpointError, match="edited.safetensors: its model configuration is not one this version "
                                              f"of ldcsr_core can build .{says}"):
        ldcsr_core.load_model(tmp_path / "edited.safetensors", device="cpu")
    with pytest.raises(CheckpointError, match=f"the config given cannot be built into a model .{says}"):
        ldcsr_core.load_model(tmp_path / "base.safetensors", device="cpu", config=ModelConfig.from_dict(cfg))


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "0.5", "1", "9"])
def test_a_hand_edited_adapted_scale_is_refused_at_load(tiny, tmp_path, value):
    """Before: an adapt_scale that was no number made the adapted model read as not adapted (its
    use at another scale or in diffusion mode was never warned of); NaN, inf or 0.5 were taken as
    the scale its guard checked. Now the file is refused when loaded (exit 6)."""
    path = ldcsr_core.save_model(tiny, tmp_path / "adapted.safetensors", name="a",
                                 extra={"adapted_from": "ldcsr-compact-rsscn7", "adapt_scale": value})
    with pytest.raises(CheckpointError, match=f"metadata adapt_scale='{value}' is not the scale the model was adapted "
                                              "at .a number above 1 and at most 8;"):
        ldcsr_core.load_model(path, device="cpu")
    assert models_listing(path).exit_code == 6
    extra = {"adapted_from": "ldcsr-compact-rsscn7", "adapt_scale": "2"}
    m = ldcsr_core.load_model(ldcsr_core.save_model(tiny, tmp_path / "ok.safetensors", name="a", extra=extra),
                              device="cpu")
    assert m.adapt_scale == 2.0


def test_convert_refuses_a_built_in_models_tensors_saved_without_our_metadata(tmp_path):
    """Such a file loads as the built-in (its name, version, notes, windows), but ldcsr convert
    wrote it as 'bare official' (notes 'converted from bare.safetensors'), a model no longer known
    as v4 anywhere. Now it is refused as a file already in our format is (exit 6), nothing written,
    in either container; and ldcsr info --model says whose copy a .ckpt is too, as ldcsr models
    does (before: 'bare.ckpt: not an adapted model')."""
    from PIL import Image
    from safetensors.torch import save_file

    sd, _ = read_state_dict(model_path(V4))
    save_file(sd, tmp_path / "bare.safetensors")
    torch.save(sd, tmp_path / "bare.ckpt")
    Image.new("RGB", (16, 16)).save(tmp_path / "in.png")
    for src in ("bare.safetensors", "bare.ckpt"):
        r = CliRunner().invoke(main, ["convert", str(tmp_path / src), str(tmp_path / "out.safetensors")])
        assert r.exit_code == 6, r.output
        assert f"{src} holds the built-in model {V4}'s tensors without its metadata: nothing to convert" in r.output
        assert not (tmp_path / "out.safetensors").exists()
        r = CliRunner().invoke(main, ["info", str(tmp_path / "in.png"), "--model", str(tmp_path / src)])
        assert f"{src}: a copy of the built-in {V4} (its tensors without its metadata); not an adapted" in r.output, \
            r.output


def test_a_foreign_safetensors_file_is_judged_by_its_header(tmp_path, monkeypatch):
    """Whether a .safetensors file is a built-in's tensors (ldcsr info --model, models, convert) is
    decided by its header's names and shapes; values are read only when they are a built-in's.
    Before: builtin_twin_file read the whole file (safetensors' load_file) first, whatever it held
    (a 64 MB foreign file: all of it). Values read are counted where the file is opened."""
    import safetensors
    import safetensors.torch
    from safetensors.torch import save_file

    from ldcsr_core.official_checkpoint import builtin_twin_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(4096, 4096)}, foreign)
    bare = tmp_path / "bare.safetensors"
    save_file(read_state_dict(model_path(V4))[0], bare)
    read = []
    real_open, real_load = safetensors.safe_open, safetensors.torch.load_file

    class Counted:
        def __init__(self, path, *a, **kw):
            self.path, self.f = str(path), real_open(path, *a, **kw)

        def __enter__(self):
            self.f.__enter__()
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

        def get_tensor(self, name):
            read.append(self.path)
            return self.f.get_tensor(name)

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(safetensors, "safe_open", Counted)
    monkeypatch.setattr(safetensors.torch, "load_file", lambda p, *a, **kw: read.append(str(p)) or real_load(p, *a, **kw))
    assert builtin_twin_file(foreign) is None
    assert str(foreign) not in read
    assert builtin_twin_file(bare) == V4 and str(bare) in read  # its values compared: the count counts


def test_convert_keeps_a_broken_link_or_a_file_that_appeared_without_overwrite(tiny, tmp_path):
    """Before: OUT a link to a missing file was replaced by the model without --overwrite (only
    OUT.exists() was asked), and convert_checkpoint always replaced whatever was at OUT. Now the
    link is an existing output (exit 4, kept), and without overwrite a file at OUT is kept."""
    import os

    src = tmp_path / "bare.ckpt"
    torch.save(tiny.state_dict(), src)
    link = tmp_path / "link.safetensors"
    link.symlink_to("gone.safetensors")
    r = CliRunner().invoke(main, ["convert", str(src), str(link)])
    assert r.exit_code == 4 and "a link to gone.safetensors, which is missing" in r.output, r.output
    assert os.readlink(link) == "gone.safetensors" and not link.exists()
    there = tmp_path / "there.safetensors"
    there.write_bytes(b"another run's")
    with pytest.raises(FileExistsError):
        ldcsr_core.convert_checkpoint(src, there, overwrite=False)
    assert there.read_bytes() == b"another run's"
    r = CliRunner().invoke(main, ["convert", str(src), str(link), "--overwrite"])
    assert r.exit_code == 0 and ldcsr_core.load_model(link, device="cpu").version == "official", r.output


def test_v4s_inference_tensors_saved_alone_load_as_v4(v4_f32, tmp_path):
    """save_file / torch.save of load_model(v4).state_dict() (what a PyTorch user saves) holds
    v4's tensors without the training-only stage-1 encoder. Before: not v4's twin (its names are
    not all the file's), so loaded as official weights, 'inf official' with 256-px windows
    overlapping by 16 (v4: none, 0; diffusion mode then another picture for a seed). Now as v4."""
    from safetensors.torch import save_file

    v4 = v4_f32
    sd = {k: v.contiguous() for k, v in v4.state_dict().items()}
    save_file(sd, tmp_path / "inf.safetensors")
    torch.save(sd, tmp_path / "inf.ckpt")
    for name in ("inf.safetensors", "inf.ckpt"):
        m = ldcsr_core.load_model(tmp_path / name, device="cpu", dtype="float32")
        assert (m.name, m.version, m.copy_of) == (v4.name, v4.version, V4), name
        assert (m.tile_max, m.tile_overlap) == (v4.tile_max, v4.tile_overlap) and m.config == v4.config
        assert ldcsr_core.load_model(tmp_path / name, device="cpu", with_encoder=True).config.encoder is None


def test_a_broken_link_in_the_model_folder_is_said_to_be_one(tmp_path, monkeypatch):
    """Before: 'checkpoint not found: …/old.safetensors' for a file ls shows (a link to a model
    moved away, or a link loop). Now what it is; the others are still listed, exit 6."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "old.safetensors").symlink_to("moved.safetensors")
    (mine / "loop.safetensors").symlink_to("loop.safetensors")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    r = models_listing()
    assert r.exit_code == 6 and "not found" not in r.output, r.output
    assert f"error:   {mine / 'old.safetensors'} is a link to moved.safetensors, which is missing: no checkpoint" \
        in r.output and f"{mine / 'loop.safetensors'} is a link loop: no checkpoint to read" in r.output, r.output
    assert f"{V4}.safetensors  [built-in, default]" in r.output
    with pytest.raises(CheckpointError, match="is a link to moved.safetensors, which is missing"):
        ldcsr_core.load_model(mine / "old.safetensors", device="cpu")


def test_is_shipped_reads_a_model_file_once(tmp_path, tiny, monkeypatch):
    """``is_shipped(path)`` asks whether a file holds a built-in's tensors at their own float type or
    rounded: before, each question opened the file again (its header, a .ckpt's pickle memory-mapped),
    twice per call for every file that is neither (a foreign file, a model of one's own, a float16 copy in
    our format); now once. The answers are unchanged: a float16 copy is shipped, the others are not."""
    import safetensors
    from safetensors.torch import save_file

    from ldcsr_core import checkpoint_pickle, load_model, save_model
    from ldcsr_core.builtin_models import is_shipped

    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(4, 4)}, foreign)
    own = ldcsr_core.save_model(tiny, tmp_path / "own.safetensors", name="own")
    half = save_model(load_model(None, device="cpu", dtype="float16"), tmp_path / "half.safetensors", name="my-half")
    ckpt = tmp_path / "own.ckpt"
    torch.save(tiny.state_dict(), ckpt)
    opened = []
    real_open, real_load = safetensors.safe_open, checkpoint_pickle.load_weights_only
    monkeypatch.setattr(safetensors, "safe_open", lambda p, *a, **kw: opened.append(str(p)) or real_open(p, *a, **kw))
    monkeypatch.setattr(checkpoint_pickle, "load_weights_only",
                        lambda p, *a, **kw: opened.append(str(p)) or real_load(p, *a, **kw))
    for path, shipped in ((foreign, False), (own, False), (half, True), (ckpt, False)):
        opened.clear()
        assert is_shipped(str(path)) is shipped, path
        assert opened.count(str(path)) == 1, (path, opened)
