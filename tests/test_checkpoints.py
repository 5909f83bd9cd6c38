"""Checkpoint remapping (pure), safe loading, our safetensors format and conversion."""

import os
import pickle
import weakref

import pytest
import torch

import ldcsr_core
from ldcsr_core.checkpoints import infer_config, read_state_dict, remap_official
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


def test_our_format_roundtrip_with_metadata(tmp_path, tiny):
    p = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="tiny", version="7", notes="unit test")
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]
    _, meta = read_state_dict(p)
    assert meta["name"] == "tiny" and meta["version"] == "7" and "config" in meta
    m = ldcsr_core.load_model(p, device="cpu")
    assert m.config == tiny.config and m.name == "tiny" and m.version == "7"
    lr = torch.rand(1, 3, 10, 10) * 2 - 1
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    torch.testing.assert_close(m.super_resolve(lr, (25, 25), generator=g()), tiny.super_resolve(lr, (25, 25), generator=g()))


NO_CONFIG = object()


def _with_config(tmp_path, tiny, edit):
    """A copy of ``tiny`` saved in our format whose ``config`` metadata ``edit`` changed in place,
    or replaced by the text it returns (:data:`NO_CONFIG`: removed)."""
    import json

    from safetensors.torch import save_file

    p = ldcsr_core.save_model(tiny, tmp_path / "good.safetensors", name="tiny")
    sd, meta = read_state_dict(p)
    cfg = json.loads(meta["config"])
    text = edit(cfg)
    if text is NO_CONFIG:
        del meta["config"]
    else:
        meta["config"] = text if isinstance(text, str) else json.dumps(cfg)
    out = tmp_path / "edited.safetensors"
    save_file(sd, str(out), metadata=meta)
    return out


@pytest.mark.parametrize("edit, said", [
    (lambda c: "{not json", "is not valid JSON"),
    (lambda c: NO_CONFIG, "holds no model configuration"),
    (lambda c: c["decoder"].update(ch="32"), r"\(decoder\.ch must be a whole number, got '32'\)"),
    (lambda c: c["unet"].update(model_channels=32.0), r"\(unet\.model_channels must be a whole number"),
    (lambda c: c["decoder"].update(ch_mult=2), r"\(decoder\.ch_mult must be a list of whole numbers"),
    (lambda c: c.update(unet=[1]), r"\(the section 'unet' must be a JSON object of fields, got \[1\]\)"),
    (lambda c: "[1, 2]", r"\(a model config is a JSON object of sections, got an array\)"),
    (lambda c: c["unet"].update(new_field=1), r"\(unknown fields in the section 'unet': \['new_field'\]\)"),
    (lambda c: c.update(difusion={}), r"\(unknown sections in the model config: \['difusion'\]\)"),
    (lambda c: c["decoder"].update(ch=-32), "cannot be built into a model"),
], ids=["not-json", "absent", "str-width", "float-width", "int-tuple", "list-section", "list-config",
        "unknown-field", "unknown-section", "negative-width"])
def test_a_bad_config_in_the_metadata_is_one_checkpoint_error(tmp_path, tiny, edit, said):
    """Our format's architecture is its ``config`` metadata. Before, a file whose config was not
    JSON, absent, or held a field of the wrong type failed load_model with Python's own
    JSONDecodeError, KeyError('config'), 'not all arguments converted during string formatting'
    or torch's RuntimeError (ldcsr upscale: exit 1, not the checkpoint's 6), naming no file."""
    p = _with_config(tmp_path, tiny, edit)
    with pytest.raises(CheckpointError, match=said) as e:
        ldcsr_core.load_model(p, device="cpu")
    assert str(e.value).startswith(str(p)) and "\n" not in str(e.value)


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_the_checksum_is_of_the_file_the_weights_came_from(tmp_path, tiny, monkeypatch, suffix):
    """A model file replaced at its path while it loads (a training run's atomic save over the
    file napari or a batch is loading): before, the weights were read from the old file and the
    SHA-256 (LDCSR_WEIGHTS_SHA256, the resume fingerprint) hashed afterwards from the new one.
    Now both come from one read of one file."""
    import hashlib

    from ldcsr_core import checkpoints

    other = ldcsr_core.build_model(tiny_test_config(), seed=4)
    path, newer = tmp_path / f"m{suffix}", tmp_path / f"newer{suffix}"
    for model, p in ((tiny, path), (other, newer)):
        if suffix == ".ckpt":
            torch.save(model.state_dict(), p)
        else:
            ldcsr_core.save_model(model, p, name="m")
    first = hashlib.sha256(path.read_bytes()).hexdigest()
    real = checkpoints._check_and_load

    def replaced_meanwhile(model, sd, source, **kw):
        if newer.exists():
            os.replace(newer, path)  # as atomic_write_bytes puts a new model in place
        return real(model, sd, source, **kw)

    monkeypatch.setattr(checkpoints, "_check_and_load", replaced_meanwhile)
    m = ldcsr_core.load_model(path, device="cpu", dtype="float32")
    assert hashlib.sha256(path.read_bytes()).hexdigest() != first  # the file did change
    assert m.weights_sha256 == first
    for k, v in tiny.state_dict().items():
        assert torch.equal(m.state_dict()[k], v), k


def test_a_safetensors_file_cut_short_says_so(tmp_path, tiny, monkeypatch):
    """Before: 'is not a safetensors file (its header is not one)' when the cut fell in the header,
    'not a readable safetensors file: Error while deserializing header: incomplete metadata, file
    not fully covered' in the tensors; neither said the file was incomplete. A built-in model cut
    short is still 'damaged ...: reinstall'."""
    import hashlib
    import json

    from ldcsr_core import builtin_models

    whole = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="tiny").read_bytes()
    for keep in (1000, len(whole) - 1):
        cut = tmp_path / f"cut{keep}.safetensors"
        cut.write_bytes(whole[:keep])
        with pytest.raises(CheckpointError, match=rf"cut{keep}\.safetensors is cut short: {keep} bytes, .*copy the file again"):
            ldcsr_core.load_model(cut, device="cpu")
    weights = tmp_path / "weights"
    weights.mkdir()
    shipped = weights / builtin_models.DEFAULT_WEIGHTS
    shipped.write_bytes(whole[:-1])
    (weights / "sha256.json").write_text(json.dumps({shipped.name: hashlib.sha256(whole).hexdigest()}))
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: shipped)
    with pytest.raises(CheckpointError, match=r"built-in model .* is damaged .*reinstall napari-ldcsr"):
        ldcsr_core.load_model(None, device="cpu")


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


_SAVE_UNDER_LIMIT = r"""
import resource, sys
import ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.training.checkpoint import atomic_torch_save
model = ldcsr_core.build_model(tiny_test_config(), seed=3)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))  # 1 MB: too small
for kind, path in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        if kind == "model":
            ldcsr_core.save_model(model, path, name="t")
        else:
            atomic_torch_save({"model": model.state_dict()}, path)
        print(kind, "written")
    except OSError as e:
        print(kind, type(e).__name__, e)
"""

_KINDS = {"model": "m.safetensors", "checkpoint": "m.ckpt"}


@pytest.fixture(scope="module")
def saves_under_a_file_size_limit(tmp_path_factory):
    """A model and a checkpoint saved, each into a folder of its own, in one process under a file
    size limit (``ulimit -f``) too small for them: each kind's folder and what the save said."""
    import subprocess
    import sys

    folders = {kind: tmp_path_factory.mktemp(kind) for kind in _KINDS}
    args = [a for kind, name in _KINDS.items() for a in (kind, str(folders[kind] / name))]
    r = subprocess.run([sys.executable, "-c", _SAVE_UNDER_LIMIT, *args], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    said = dict(line.split(" ", 1) for line in r.stdout.splitlines() if line.split(" ", 1)[0] in _KINDS)
    return folders, said, r.stdout + r.stderr


@pytest.mark.parametrize("kind", list(_KINDS))
def test_a_model_or_checkpoint_that_cannot_be_written_says_why_and_leaves_nothing(saves_under_a_file_size_limit,
                                                                                  kind):
    """ulimit -f (a full disk alike): before, an obscure SafetensorError or torch RuntimeError
    ('enforce fail at inline_container.cc'), exit 1, not the I/O error naming the file."""
    folders, said, output = saves_under_a_file_size_limit
    out = folders[kind] / _KINDS[kind]
    assert said.get(kind, "").startswith("RasterIOError cannot write"), output
    assert str(out) in said[kind] and "file size limit" in said[kind]
    assert list(folders[kind].iterdir()) == []


def test_save_model_removes_what_a_killed_save_left(tmp_path, tiny):
    """A save killed with kill -9 leaves its part file; the next save of that file removes it
    (before: '.tmp-*.safetensors' / '.tmp-*.ckpt' files that nothing ever removed)."""
    from ldcsr_core import files
    from ldcsr_core.training.checkpoint import atomic_torch_save

    for name in ("m.safetensors", "m.ckpt"):
        dead, fd = files.make_part(tmp_path / name)
        os.close(fd)  # its writer died
    live, fd = files.make_part(tmp_path / "m.ckpt")  # a save in progress elsewhere: kept
    try:
        ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="t")
        atomic_torch_save({"x": torch.zeros(3)}, tmp_path / "m.ckpt")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.safetensors", "m.ckpt", live.name])
    finally:
        os.close(fd)
    assert ldcsr_core.load_model(tmp_path / "m.safetensors", device="cpu").name == "t"
    assert torch.equal(torch.load(tmp_path / "m.ckpt", weights_only=True)["x"], torch.zeros(3))


def test_the_shipped_checksums_list_every_built_in_model():
    """weights/sha256.json is what a damaged install is told apart by: it must list each
    built-in model with the SHA-256 of the file shipped (update it with the weights)."""
    import hashlib
    import json

    from ldcsr_core.builtin_models import BUILTIN_SUMS, default_model_path

    folder = default_model_path().parent
    sums = json.loads((folder / BUILTIN_SUMS).read_text())
    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.safetensors")}
    assert sums == shipped


def test_a_damaged_built_in_model_is_refused_with_what_to_do(tiny, tmp_path, monkeypatch):
    """A block of the installed weights changed on disk (same size, a valid header): before, it
    loaded and every output was wrong (a 64-byte block of v4 flipped gave pixels off by up to
    255 of 255, exit 0); now it is a CheckpointError that says to reinstall. Other files load."""
    import hashlib
    import json

    from ldcsr_core import builtin_models

    weights = tmp_path / "weights"
    weights.mkdir()
    path = ldcsr_core.save_model(tiny, weights / builtin_models.DEFAULT_WEIGHTS, name="tiny", version="0")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (weights / "sha256.json").write_text(json.dumps({path.name: digest}))
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: weights / builtin_models.DEFAULT_WEIGHTS)
    assert ldcsr_core.load_model(None).weights_sha256 == digest  # intact: loads

    raw = bytearray(path.read_bytes())
    at = len(raw) - 4096  # inside the tensors, well past the header
    raw[at:at + 64] = bytes(b ^ 0x55 for b in raw[at:at + 64])
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"built-in model .* is damaged .*reinstall napari-ldcsr"):
        ldcsr_core.load_model(None)
    other = ldcsr_core.save_model(tiny, tmp_path / "mine.safetensors", name="tiny", version="0")
    ldcsr_core.load_model(other)  # a file outside the built-in folder is not checked against the list
