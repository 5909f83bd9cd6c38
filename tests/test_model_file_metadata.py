"""Model files that are not what they say: a file that is not the model asked for (key mismatches told in counts,
a first-stage or another model's checkpoint), hand-edited metadata (window limits, noise schedule, head width,
adapted scale) refused at load, and v4's tensors saved without our metadata (loaded, named and converted as v4).
Split from test_model_files.py, whose helpers they share."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

import ldcsr_core
from ldcsr_core.builtin_models import model_path
from ldcsr_core.checkpoints import read_state_dict
from ldcsr_core.cli import main
from ldcsr_core.config import ModelConfig, tiny_test_config
from ldcsr_core.errors import CheckpointError
from tests import test_model_files

V1, V4 = test_model_files.V1, test_model_files.V4
models_listing = test_model_files.models_listing
tiny = test_model_files.tiny  # the fixture


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
