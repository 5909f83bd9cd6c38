"""Model files where users keep them: which are built-in (the shipped checksums, not the folder), a file
under two names listed once, links to a file moved away or in a loop, a file that cannot be read, convert's
output kept. Its helpers (V1, V4, models_listing, tiny, weights) serve test_model_file_metadata.py and
test_model_names.py too."""

from __future__ import annotations

import shutil

import pytest
import torch
from click.testing import CliRunner

import ldcsr_core
from ldcsr_core.builtin_models import default_model_path
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import CheckpointError, InputError

V1, V4 = (f"ldcsr-compact-rsscn7-{v}" for v in ("v1", "v4"))


def models_listing(*args):
    return CliRunner().invoke(main, ["models", *map(str, args)], catch_exceptions=True)


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


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
