"""The self-check of an adapted model on the pixels it was adapted on: there it measures the very
degradation it was fine-tuned on, and says that its figures overstate it."""

from __future__ import annotations

import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ldcsr_core
from ldcsr_core import adaptation as adapt_mod
from ldcsr_core.adaptation import Recipe, adapt
from ldcsr_core.cli import main
from ldcsr_core.geo.raster_io import dataset_from_array
from ldcsr_core.quality import write_report

from .test_adapt import scene

# What adaptation does with its base, not the base's loading: each model loaded once for the module (adapt trains a
# copy of its base; no test here changes a model it loads).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")

FAST = Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12)
SAID = "this model was adapted to this scene at ×2 (it learnt this very degradation of its pixels)"


@pytest.fixture
def base(tiny_model_file):
    return ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float32")


@pytest.fixture
def kept(monkeypatch):
    """The guard keeps the model and measured +0.10 dB on its strip (a tiny model, one step)."""
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})


def test_on_its_own_array_the_check_says_so_in_every_output(base, kept, tmp_path):
    """Before: the check of the adapted model on its own scene was an ordinary line (on RSSCN7
    c-industry 256², +0.15 dB over the base there where its held-back strip said +0.07 dB)."""
    img = scene()
    res = adapt(img, 2.0, base, steps=1, recipe=FAST)
    r = ldcsr_core.selfcheck(img, 2.0, model=res.model, mode="fast")
    assert r.caution.startswith(SAID) and "its guard measured +0.10 dB over the base model" in r.caution
    assert r.line().endswith(f" · caution: {r.caution}") and r.to_dict()["caution"] == r.caution
    write_report(tmp_path / "q.html", [r])
    assert SAID in (tmp_path / "q.html").read_text()
    from napari_ldcsr.run._selfcheck import status_text

    assert status_text(r, "the whole layer").endswith(f"; caution: {r.caution}")
    # other pixels, or the base model: nothing to say
    other = ldcsr_core.selfcheck(scene(seed=1), 2.0, model=res.model, mode="fast")
    plain = ldcsr_core.selfcheck(img, 2.0, model=base, mode="fast")
    for r in (other, plain):
        assert r.caution == "" and "caution" not in r.line() and r.to_dict()["caution"] is None


def test_in_memory_pixels_are_recognised_by_their_checksum(base, kept):
    """A napari layer: adapted and checked on an in-memory copy of the same region (another
    /vsimem/ name each time), as *Adapt to this layer* and *Check quality here* read it."""
    data = np.moveaxis(scene(72, 140), -1, 0)
    with dataset_from_array(data, bands_last=False) as ds:
        res = adapt(ds, 2.0, base, steps=1, recipe=FAST, window=(0, 0, 72, 120))
    with dataset_from_array(data, bands_last=False) as ds:
        same = ldcsr_core.selfcheck(ds, 2.0, model=res.model, mode="fast", window=(0, 0, 72, 120))
        elsewhere = ldcsr_core.selfcheck(ds, 2.0, model=res.model, mode="fast", window=(0, 20, 72, 120))
    assert same.caution.startswith(SAID) and elsewhere.caution == ""


def test_a_saved_model_on_its_file_says_so_in_the_cli(base, kept, tmp_path):
    png, other = tmp_path / "scene.png", tmp_path / "other.png"
    Image.fromarray(scene()).save(png)
    Image.fromarray(scene(seed=2)).save(other)
    model = adapt(png, 2.0, base, steps=1, recipe=FAST).save(tmp_path / "a.safetensors")
    runner = CliRunner()
    for path, said in ((png, True), (other, False)):
        r = runner.invoke(main, ["selfcheck", str(path), "-s", "2", "--mode", "fast", "--model", str(model),
                                 "--device", "cpu"])
        assert r.exit_code == 0, r.output
        assert (f"fast · float32 on cpu · caution: {SAID}" in r.output) == said, r.output


def test_a_copy_of_its_scene_is_its_scene_to_the_self_check_as_to_evaluate(base, kept, tmp_path):
    """ldcsr evaluate recognised a copy of the scene adapted on by its SHA-256 (2df1dd0), the
    self-check by its path only: the copy's figures were given without the caution that the same
    pixels under their own name, and evaluate on the copy, gave. One rule now (is_scene_file)."""
    import shutil

    png = tmp_path / "scene.png"
    Image.fromarray(scene()).save(png)
    model = adapt(png, 2.0, base, steps=1, recipe=FAST).save(tmp_path / "a.safetensors")
    folder = tmp_path / "copies"
    folder.mkdir()
    copy = folder / "copy of scene.png"
    shutil.copy(png, copy)
    r = CliRunner().invoke(main, ["selfcheck", str(copy), "-s", "2", "--mode", "fast", "--model", str(model),
                                  "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert f"fast · float32 on cpu · caution: {SAID}" in r.output, r.output
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(model), "--scales", "2", "--device", "cpu"])
    assert r.exit_code == 0 and f"{copy.resolve()}, the scene it was adapted on" in r.output, r.output


def test_a_file_rewritten_in_place_with_its_size_and_time_kept_is_hashed_again(tmp_path):
    """A copy of the scene hashed once (napari's Check quality here) and then overwritten in place by
    another image of the same size with its modification time kept (cp -p) is no longer that scene:
    before, its cached SHA-256, keyed by device, inode, size and mtime, still said so."""
    import os

    from ldcsr_core.adapt_scene import is_scene_file
    from ldcsr_core.adapted_use import Checked
    from ldcsr_core.files import sha256_file

    scene_file, copy = tmp_path / "scene.bin", tmp_path / "copy.bin"
    scene_file.write_bytes(bytes(range(256)) * 64)
    copy.write_bytes(scene_file.read_bytes())
    checked = Checked(2.0, scene=str(scene_file.resolve()), scene_sha256=sha256_file(scene_file))
    assert is_scene_file(checked, copy) == "the scene it was adapted on"
    time.sleep(0.05)  # the change time ticks with the kernel's coarse clock (a few ms)
    st = copy.stat()
    with open(copy, "r+b") as f:  # another image of the same size, in place
        f.write(bytes(reversed(range(256))) * 64)
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (copy.stat().st_ino, copy.stat().st_size, copy.stat().st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert is_scene_file(checked, copy) == ""


def test_a_files_pixels_in_memory_are_told_as_that_file_by_source_file(base, kept, tmp_path):
    """napari's layer of a file, checked on an in-memory copy of its pixels: ``source_file`` names the
    file for the caution (before: none, the copy's name and checksum not the file's); the figures are the
    copy's; a model adapted on the in-memory pixels keeps its caution with the file named."""
    png = tmp_path / "scene.png"
    Image.fromarray(scene()).save(png)
    on_file = adapt(png, 2.0, base, steps=1, recipe=FAST).model
    data = np.moveaxis(scene(), -1, 0)
    with dataset_from_array(data, bands_last=False) as ds:
        on_pixels = adapt(ds, 2.0, base, steps=1, recipe=FAST).model
    for model in (on_file, on_pixels):
        with dataset_from_array(data, bands_last=False) as ds:
            told = ldcsr_core.selfcheck(ds, 2.0, model=model, mode="fast", source_file=png)
            plain = ldcsr_core.selfcheck(ds, 2.0, model=model, mode="fast")
        assert told.caution.startswith(SAID) and told.psnr_model == plain.psnr_model
        assert (plain.caution == "") == (model is on_file)
    with pytest.raises(ldcsr_core.InputError, match="source_file must be a path"):
        ldcsr_core.selfcheck(scene(), 2.0, model=base, mode="fast", source_file=3)
