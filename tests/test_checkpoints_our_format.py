"""Our own format (.safetensors with its metadata): saved and read back, a bad config in its metadata, the
checksum of the file the weights came from, a file cut short, saves that cannot be written or were killed,
and the built-in models' shipped checksums (a damaged install). Split from test_checkpoints.py."""

import os

import pytest
import torch

import ldcsr_core
from ldcsr_core.checkpoints import read_state_dict
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import CheckpointError
from tests import test_checkpoints

tiny = test_checkpoints.tiny  # the fixture


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
