"""Training and evaluation commands on small synthetic data, and the shipped default model."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.training.evaluate import evaluate, format_table
from ldcsr_core.training.metrics import border_crop, psnr, ssim

from conftest import require_shared


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :96]
    for i in range(3):
        base = 127 + 80 * np.sin(xx / (3 + i)) * np.cos(yy / (5 + i))
        img = np.clip(base[..., None] + rng.normal(0, 5, (96, 96, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"img{i}.png")
    return d


def test_metrics_known_values():
    a = np.zeros((20, 20, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (255 ** 2 / 1200)))
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, np.full_like(a, 200)) < 0.1
    assert border_crop(np.zeros((10, 10)), 2.5).shape == (4, 4)


def test_evaluate_scores_bicubic_by_the_protocol(image_dir):
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    files = sorted(image_dir.glob("*.png"))
    res = evaluate(model, files, [2.0, 3.0], mode="fast")
    hr = np.asarray(Image.open(files[0]))
    lr = np.asarray(Image.fromarray(hr).resize((48, 48), Image.BICUBIC))
    bic = np.asarray(Image.fromarray(lr).resize((96, 96), Image.BICUBIC))
    expected = np.mean([psnr(border_crop(np.asarray(Image.fromarray(lr_).resize((96, 96), Image.BICUBIC)), 2),
                             border_crop(h, 2))
                        for h in [np.asarray(Image.open(f)) for f in files]
                        for lr_ in [np.asarray(Image.fromarray(h).resize((48, 48), Image.BICUBIC))]])
    row = res["scales"]["2.0"]
    assert row["bicubic_psnr"] == pytest.approx(expected)
    assert psnr(border_crop(bic, 2), border_crop(hr, 2)) > 15
    assert row["gain_db"] == pytest.approx(row["psnr"] - row["bicubic_psnr"])
    assert "+" in format_table(res) or "-" in format_table(res)


def test_training_updates_weights_and_writes_a_loadable_model(image_dir, tmp_path):
    from ldcsr_core.training.train import train
    out = tmp_path / "m.safetensors"
    init = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0)
    model, hist = train(image_dir, out, config=tiny_test_config(with_encoder=True), minutes=(0.04, 0.02, 0.02),
                        batch_size=2, lr_size=16, scale_range=(2.5, 3.0), seed=0, device="cpu")
    assert all(hist["phases"][p]["steps"] > 0 for p in ("fast", "prior", "diffusion"))
    m = ldcsr_core.load_model(out, device="cpu", with_encoder=True)
    assert m.config.decoder == init.config.decoder
    a, b = init.state_dict(), m.state_dict()
    changed = [k for k in ("first_stage_model.decoder.head.weight", "cond_stage_model.conv_in.weight",
                           "model.diffusion_model.out.2.weight", "first_stage_model.encoder.conv_in.weight")
               if not torch.allclose(a[k], b[k])]
    assert len(changed) == 4, "every trained part must have moved"
    assert json.loads(m.notes)["history"]["phases"]["fast"]["steps"] > 0
    assert float(m.scale_factor) != 1.0


def test_shipped_model_loads_and_upscales_without_a_model_argument():
    m = ldcsr_core.load_model(device="cpu")
    assert m.name and len(m.weights_sha256) == 64
    out = ldcsr_core.upscale(np.full((24, 32, 3), 100, np.uint8), 2.5, mode="fast")
    assert out.shape == (60, 80, 3) and abs(float(out.mean()) - 100) < 3


@pytest.mark.parametrize("scale,margin", [(2.0, 0.15), (4.0, 0.1)])
def test_shipped_model_beats_bicubic_on_real_validation_images(scale, margin):
    val = require_shared("data", "rsscn7", "val")
    from ldcsr_core.training.data import list_images
    files = list_images(val)[::47]  # 3 images from different classes
    m = ldcsr_core.load_model(device="cpu")
    res = evaluate(m, files, [scale], mode="fast")["scales"][str(scale)]
    assert res["gain_db"] > margin, f"only {res['gain_db']:+.2f} dB over bicubic at ×{scale}"
