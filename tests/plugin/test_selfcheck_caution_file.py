"""*Check quality here* on a layer opened from a file says what ``ldcsr selfcheck`` of that file says:
an adapted model on the file it was adapted on (or a copy), a model on a file of its training folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import rasterio

import ldcsr_core
from ldcsr_core import adaptation as adapt_mod
from ldcsr_core.adaptation import Recipe, adapt

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

FAST = Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12)
SAID = "this model was adapted to this scene at ×2"


def scene(h=72, w=120, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [128 + 60 * np.sin(xx / (3 + c) + c) + 30 * np.cos(yy / (2 + c)) for c in range(3)]
    return np.clip(np.stack(chans, -1) + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def write_tif(path, data):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=3,
                       dtype="uint8") as dst:
        dst.write(np.moveaxis(data, -1, 0))
    return path


@pytest.fixture
def kept(monkeypatch):
    """The guard keeps the model (a tiny model, one step)."""
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})


def _check(widget, qtbot, monkeypatch, viewer, path, model):
    monkeypatch.setattr(widget.models, "_provider", lambda source: model)  # the Run, Check and Adapt cache
    widget.models._models.clear()
    if path is None:  # the pixels without their file (a layer made of them): nothing tells the file
        layer = viewer.add_image(scene(), name="pixels")
    else:
        (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
        assert not layer.multiscale and layer.metadata["path"] == str(path)  # an ordinary layer, held in memory
    widget.form.layer.value = layer
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as sig:
        widget.check_button.click()
    viewer.layers.clear()
    return sig.args[0]


def test_the_file_an_adapted_model_learnt_and_its_copy_carry_the_caution(ldcsr, qtbot, monkeypatch, tmp_path, tiny_model, kept):
    """Before: napari checked an in-memory copy of the layer's pixels, whose name is not the file's and
    whose checksum is not the file's: no caution, where ``ldcsr selfcheck`` of the file gave one."""
    viewer, widget = ldcsr
    tif = write_tif(tmp_path / "scene.tif", scene())
    model = adapt(tif, 2.0, tiny_model, steps=1, recipe=FAST).model
    copy = shutil.copyfile(tif, tmp_path / "copy.tif")
    other = write_tif(tmp_path / "other.tif", scene(seed=3))
    for path, said in ((tif, True), (copy, True), (other, False)):
        cli = ldcsr_core.selfcheck(str(path), 2.0, model=model, mode="fast")
        got = _check(widget, qtbot, monkeypatch, viewer, path, model)
        assert (got.psnr_model, got.psnr_bicubic) == (cli.psnr_model, cli.psnr_bicubic)  # the same pixels scored
        assert got.caution == cli.caution and got.caution.startswith(SAID) == said, (path, got.caution)
        assert widget.status.endswith(f"; caution: {got.caution}") == said


def test_a_file_in_the_models_training_folder_carries_the_caution(ldcsr, qtbot, monkeypatch, tmp_path, tiny_model):
    viewer, widget = ldcsr
    data = tmp_path / "train"
    data.mkdir()
    tif = write_tif(data / "t0.tif", scene())
    trained = ldcsr_core.load_model(
        ldcsr_core.save_model(tiny_model, tmp_path / "m.safetensors", name="tiny-trained",
                              notes=json.dumps({"data": str(data.resolve())})), device="cpu", dtype="float32")
    cli = ldcsr_core.selfcheck(str(tif), 2.0, model=trained, mode="fast")
    got = _check(widget, qtbot, monkeypatch, viewer, tif, trained)
    assert "was trained on" in cli.caution and got.caution == cli.caution
    assert got.psnr_model == cli.psnr_model
    pixels = _check(widget, qtbot, monkeypatch, viewer, None, trained)
    assert pixels.caution == "" and pixels.psnr_model == cli.psnr_model
