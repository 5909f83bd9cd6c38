"""Official checkpoints: remapping (pure), safe loading (no pickle runs), keys that do not fit, conversion
to our format, a .ckpt cut short or damaged; and load_model's other arguments (an empty or missing model,
device and dtype names). official_like and tiny serve test_checkpoints_our_format.py and others too."""

import os
import pickle
import weakref

import pytest
import torch

import ldcsr_core
from ldcsr_core.checkpoints import infer_config, remap_official
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import CheckpointError


_OFFICIAL_LIKE = weakref.WeakKeyDictionary()  # model -> its official-format tensors, made once


def official_like(model):
    """A synthetic official-format state dict built from our model: EMA shadows without dots,
    raw UNet weights that differ, schedule buffers and training-only entries. Made once per model
    (the modules' models are never changed): each call returns a dict of its own (callers add and
    delete keys) of the same tensors (none is changed in place)."""
    if model not in _OFFICIAL_LIKE:
        _OFFICIAL_LIKE[model] = _official_like(model)
    return dict(_OFFICIAL_LIKE[model])


def _official_like(model):
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith("model.diffusion_model."):
            sd[k] = v + 1.0  # raw weights: must NOT be used
            sd["model_ema." + k[len("model."):].replace(".", "")] = v.clone()
        else:
            sd[k] = v.clone()
    sd["model_ema.decay"] = torch.tensor(0.9999)
    sd["model_ema.num_updates"] = torch.tensor(1000, dtype=torch.int32)
    sd["betas"] = torch.tensor([0.1, 0.2942856, 0.5909523, 0.99])
    sd["first_stage_model.loss.logvar"] = torch.tensor(0.0)
    sd["first_stage_model.encoder.conv_in.weight"] = torch.zeros(32, 6, 3, 3)
    return sd


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=3)


def test_remap_takes_the_unet_from_ema_and_is_pure(tiny):
    sd = official_like(tiny)
    before = {k: v.clone() for k, v in sd.items()}
    out = remap_official(sd)
    assert set(sd) == set(before) and all(torch.equal(sd[k], before[k]) for k in sd), "input mutated"
    for k, v in tiny.state_dict().items():
        assert torch.equal(out[k], v), k
    assert "raw_unet.model.diffusion_model.out.2.weight" in out  # reported as unused, not loaded


def test_remap_returns_native_dicts_unchanged(tiny):
    sd = dict(tiny.state_dict())
    out = remap_official({"module." + k: v for k, v in sd.items()})
    assert set(out) == set(sd)


def test_remap_refuses_partial_ema(tiny):
    sd = official_like(tiny)
    del sd["model_ema.diffusion_modelout2weight"]
    with pytest.raises(CheckpointError, match="model.diffusion_model.out.2.weight"):
        remap_official(sd)


def test_infer_config_from_shapes(tiny):
    cfg = infer_config(remap_official(official_like(tiny)))
    assert cfg.decoder == tiny.config.decoder and cfg.unet == tiny.config.unet
    assert cfg.cond_encoder == tiny.config.cond_encoder


def test_official_ckpt_roundtrip_loads_and_ignores_training_entries(tmp_path, tiny):
    path = tmp_path / "official.ckpt"
    torch.save({"state_dict": official_like(tiny), "epoch": 3, "global_step": 10}, path)
    m = ldcsr_core.load_model(path, device="cpu")
    lr = torch.rand(1, 3, 12, 12) * 2 - 1
    torch.testing.assert_close(m.super_resolve(lr, (30, 30), mode="fast"), tiny.super_resolve(lr, (30, 30), mode="fast"))
    assert len(m.weights_sha256) == 64


def test_missing_and_misshaped_keys_are_named(tmp_path, tiny):
    sd = official_like(tiny)
    del sd["cond_stage_model.conv_out.bias"]
    sd["first_stage_model.decoder.head.bias"] = torch.zeros(7)
    sd["something.unknown"] = torch.zeros(1)
    path = tmp_path / "broken.ckpt"
    torch.save({"state_dict": sd}, path)
    with pytest.raises(CheckpointError) as e:
        ldcsr_core.load_model(path, device="cpu", config=tiny.config)
    msg = str(e.value)
    assert "cond_stage_model.conv_out.bias" in msg and "first_stage_model.decoder.head.bias" in msg
    assert "something.unknown" in msg


def test_malicious_pickle_is_refused_without_running(tmp_path, tiny):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.ckpt"
    with open(path, "wb") as f:
        pickle.dump({"state_dict": dict(tiny.state_dict()), "hook": Payload()}, f)
    # torch.save-format archive with the payload too
    path2 = tmp_path / "evil2.ckpt"
    torch.save({"state_dict": dict(tiny.state_dict()), "hook": Payload()}, path2)
    assert not marker.exists()
    for p in (path, path2):
        with pytest.raises(CheckpointError, match="refusing to load"):
            ldcsr_core.load_model(p, device="cpu")
    assert not marker.exists(), "the payload ran"


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "junk.ckpt"
    p.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        ldcsr_core.load_model(p, device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        ldcsr_core.load_model(tmp_path / "nope.safetensors", device="cpu")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="safetensors"):
        ldcsr_core.load_model(bad, device="cpu")


def test_an_empty_model_path_is_said_to_be_empty():
    """load_model('') read Path('') as '.', the working folder: '. is not a regular file, so not
    a checkpoint'; ldcsr upscale --model "$MODEL" with MODEL unset said that '' is a directory."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    for empty in ("", "  ", b""):
        with pytest.raises(ldcsr_core.InputError, match="the model path is empty"):
            ldcsr_core.load_model(empty, device="cpu")
    r = CliRunner().invoke(main, ["info", "nowhere.tif", "--model", ""])
    assert r.exit_code == 2 and "the model path is empty" in r.output and "directory" not in r.output, r.output


def test_convert_golden_checkpoint(tmp_path, golden_dir):
    out = ldcsr_core.convert_checkpoint(golden_dir / "small_official.ckpt", tmp_path / "small.safetensors")
    a = ldcsr_core.load_model(golden_dir / "small_official.ckpt", device="cpu")
    b = ldcsr_core.load_model(out, device="cpu")
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)  # the weights, bit for bit
    g = torch.Generator().manual_seed(0)
    lr = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    noise = [torch.randn(1, 4, 8, 8, generator=g) for _ in range(4)]
    # our format runs the encoders channels-last (engine speed), so float32 rounding differs slightly
    torch.testing.assert_close(a.super_resolve(lr, (64, 64), noise=noise), b.super_resolve(lr, (64, 64), noise=noise),
                               atol=1e-3, rtol=1e-4)
    assert out.stat().st_size < (golden_dir / "small_official.ckpt").stat().st_size  # raw UNet, encoder dropped


def test_convert_writes_the_same_bytes_every_time(tmp_path, golden_dir):
    """`ldcsr convert` of one checkpoint twice gave files of other bytes (another SHA-256, the value
    `ldcsr models` shows and outputs record): safetensors wrote the metadata in a hash map's order,
    new at every save (the same for `train` and `adapt`, which save as convert does). Now in the
    order of its names: the same file every time, loading as before."""
    import json
    import struct

    from click.testing import CliRunner
    from ldcsr_core.cli import main

    outs = [tmp_path / f"{i}.safetensors" for i in range(2)]
    for out in outs:
        r = CliRunner().invoke(main, ["convert", str(golden_dir / "small_official.ckpt"), str(out)])
        assert r.exit_code == 0, r.output
    blob = outs[0].read_bytes()
    assert all(out.read_bytes() == blob for out in outs[1:])
    header = json.loads(blob[8:8 + struct.unpack("<Q", blob[:8])[0]])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"]) == sorted(
        ["format", "config", "name", "version", "notes", "tile_max", "tile_overlap"])
    assert ldcsr_core.load_model(outs[1], device="cpu").version == "official"


def test_an_official_checkpoint_cut_short_is_said_so(tmp_path, golden_dir):
    """`ldcsr convert` (or --model, `ldcsr models`) of a .ckpt cut short said torch's words:
    'not a readable PyTorch checkpoint: [Errno 22] Invalid argument', or 'PytorchStreamReader failed
    reading zip archive: failed finding central directory. This is an internal miniz error …'. Now
    that it is cut short, as of a .safetensors file cut short (exit 6)."""
    from click.testing import CliRunner
    from ldcsr_core.cli import main

    whole = (golden_dir / "small_official.ckpt").read_bytes()
    for keep in (5000, len(whole) - 100):
        cut = tmp_path / f"cut{keep}.ckpt"
        cut.write_bytes(whole[:keep])
        r = CliRunner().invoke(main, ["convert", str(cut), str(tmp_path / "o.safetensors")])
        assert r.exit_code == 6 and r.output == (f"Error: {cut} is cut short: a PyTorch checkpoint (a zip archive) "
                                                 "without its end (an interrupted copy or download?): copy the file again\n")
    assert not (tmp_path / "o.safetensors").exists()


def test_an_official_checkpoint_with_changed_bytes_is_said_damaged(tmp_path, golden_dir):
    """torch reads a .ckpt without checking its zip's CRC-32s: one byte changed in a tensor (a bad copy)
    converted without a word into a model of wrong weights. Now said damaged, naming the part, exit 6."""
    import struct
    import zipfile

    from click.testing import CliRunner
    from ldcsr_core.cli import main

    whole = bytearray((golden_dir / "small_official.ckpt").read_bytes())
    with zipfile.ZipFile(golden_dir / "small_official.ckpt") as z:
        part = max(z.infolist(), key=lambda i: i.file_size)  # a tensor's bytes
    names, extra = struct.unpack("<HH", whole[part.header_offset + 26:part.header_offset + 30])
    whole[part.header_offset + 30 + names + extra + part.file_size // 2] ^= 0x40
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(whole)
    r = CliRunner().invoke(main, ["convert", str(bad), str(tmp_path / "o.safetensors")])
    assert r.exit_code == 6 and r.output == (f"Error: {bad} is damaged: {part.filename} in it does not match the "
                                             "checksum the archive records (a bad copy or download?): copy the file "
                                             "again\n"), r.output
    assert not (tmp_path / "o.safetensors").exists()


def test_default_model_missing_is_a_clear_error(monkeypatch, tmp_path):
    from ldcsr_core import builtin_models
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: tmp_path / "none.safetensors")
    with pytest.raises(CheckpointError, match="no default model"):
        ldcsr_core.load_model()


def test_device_resolution():
    assert ldcsr_core.resolve_device("cpu").type == "cpu"
    assert ldcsr_core.resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert ldcsr_core.resolve_device(None) == ldcsr_core.resolve_device("auto")
    if not torch.cuda.is_available():
        for dev in ("cuda", torch.device("cuda"), torch.device("cuda", 0)):  # named or as a torch.device
            with pytest.raises(ldcsr_core.DeviceError, match="no CUDA"):
                ldcsr_core.resolve_device(dev)
    with pytest.raises(ldcsr_core.DeviceError, match="not one the engine runs on"):
        ldcsr_core.resolve_device(torch.device("meta"))


def test_a_device_is_named_in_any_letter_case_as_a_dtype_is(tiny, tmp_path, monkeypatch):
    """device= takes 'CPU', 'Cuda', 'CUDA:1', ' auto ' as dtype= takes 'Float32' (one rule: stripped,
    lower case), and the refusal of a name says what is taken. Before: DeviceError "unknown device
    'CPU' (use auto, cpu, cuda or mps)", with dtype='Float32' accepted beside it."""
    from ldcsr_core.devices import resolve_device

    path = ldcsr_core.save_model(tiny, tmp_path / "t.safetensors", name="t")
    model = ldcsr_core.load_model(path, device="CPU", dtype="Float32")
    assert next(model.parameters()).device.type == "cpu" and next(model.parameters()).dtype == torch.float32
    for name in ("CPU", " cpu ", "Cpu:0"):
        assert resolve_device(name).type == "cpu"
    assert resolve_device(" AUTO ") == resolve_device("auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with two cards
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("CUDA") == torch.device("cuda") and resolve_device("Cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ldcsr_core.DeviceError, match=r"device 'cuda:2' was asked for but this machine has 2 CUDA GPUs"):
        resolve_device("CUDA:2")
    for bad in ("gpu", "GPU:0", ""):
        with pytest.raises(ldcsr_core.DeviceError) as e:
            resolve_device(bad)
        assert str(e.value) == (f"unknown device {bad!r} (use auto, cpu, mps, cuda or cuda:N for card N, "
                                "in any letter case)")


def test_a_bad_dtype_is_refused_before_the_checkpoint_is_read(monkeypatch):
    from ldcsr_core import checkpoints
    monkeypatch.setattr(checkpoints, "read_state_dict", lambda path: pytest.fail("checkpoint read"))
    monkeypatch.setattr(checkpoints, "read_checkpoint", lambda path, **kw: pytest.fail("checkpoint read"))
    with pytest.raises(ldcsr_core.ConfigError, match="dtype must be one of"):
        ldcsr_core.load_model(None, device="cpu", dtype="fp16")


@pytest.mark.parametrize("content", [b"hello", b"\x00\x01binary junk", b""])
def test_a_file_that_is_no_checkpoint_says_so(tmp_path, content):
    bad = tmp_path / "notes.ckpt"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match="is not an LDCSR checkpoint"):
        ldcsr_core.load_model(bad, device="cpu")
