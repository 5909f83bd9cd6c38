"""Training and evaluation commands on small synthetic data, and the shipped default model."""

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.training.evaluate import evaluate, format_table
from ldcsr_core.training.metrics import border_crop, hf_energy, hf_ratio, psnr, ssim

from suite_helpers import require_shared


pytestmark = pytest.mark.usefixtures("suite_thread_count")  # tests/conftest.py: its Trainers on LDCSR_THREADS


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
    table = format_table(res).splitlines()
    assert len(table) == 2 + 2 and table[2].split()[0] == "2.00"
    # the float type and device moved the figures (bfloat16: LR-consistency -2 dB) and were not said
    assert res["dtype"] == "float32" and res["device"] == "cpu" and "· float32 on cpu ·" in table[0]
    cells = table[2].split()
    assert float(cells[1]) == pytest.approx(row["psnr"], abs=0.006)
    assert float(cells[3]) == pytest.approx(row["gain_db"], abs=0.006)
    assert float(cells[-2]) == pytest.approx(row["hf_ratio"], abs=6e-4)
    assert float(cells[-1]) == pytest.approx(row["bicubic_hf_ratio"], abs=6e-4)
    assert 0 < row["bicubic_hf_ratio"] < 0.5  # bicubic keeps little above the LR Nyquist frequency


def _waves(n, freqs_amps):
    yy, xx = np.mgrid[:n, :n]
    img = np.full((n, n), 128.0)
    for (fy, fx), amp in freqs_amps:
        img += amp * np.cos(2 * np.pi * (fy * yy + fx * xx))
    return img


def test_evaluate_refuses_images_that_are_not_those_of_its_files(image_dir):
    """Before: evaluate(images=...) trusted the caller: two images of three files scored those two alone and said so
    of the set ('images': 2), a list in another order scored under the other names, an image of another shape failed
    deep in the model's checks, a bare array 'too many values to unpack'; now each is an InputError naming what
    differs (both counts), before any image is scored. read_set's images of the files are scored as read here."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.training.evaluate import read_set

    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    files = [str(f) for f in sorted(image_dir.glob("*.png"))]
    read = read_set(files, [2.0])
    for images, said in (
            (read[:2], "images holds 2 images but files names 3: give read_set(files, scales)'s images of these "
                       "files, or images=None to read them here"),
            ([read[0], read[2], read[1]], f"images[1] is not that of files[1] '{files[1]}', got the image of "
                                          f"'{files[2]}'"),
            ([(n, a[..., :2]) for n, a in read], f"images[0] ('{files[0]}') must be an H×W×3 uint8 array, as "
                                                 "read_set reads it, got 96×96×2 uint8"),
            ([a for _, a in read], f"images[0] is not that of files[0] '{files[0]}', got ndarray, not a (path, "
                                   "image) pair"),
            ([(n, a[:8, :8]) for n, a in read], "is 8×8 px; scoring at ×2 needs at least")):
        with pytest.raises(InputError) as e:
            evaluate(model, files, [2.0], mode="fast", images=images, progress=lambda *a: pytest.fail("scored"))
        assert said in str(e.value), str(e.value)
    given, here = (evaluate(model, files, [2.0], mode="fast", images=images) for images in (read, None))

    def figures(result):
        return {k: v for k, v in result["scales"]["2.0"].items() if k != "seconds_per_image"}

    assert given["images"] == 3 and given["files"] == files and figures(given) == figures(here)


def test_evaluate_names_a_0_d_image_so(image_dir):
    """Before: an image given as a 0-d array (np.asarray(3, np.uint8)) was said 'got  uint8' (its empty shape); now
    'got 0-d uint8', refused before the model (the shipped one: model=None) loads."""
    from ldcsr_core.errors import InputError

    files = [str(f) for f in sorted(image_dir.glob("*.png"))][:1]
    with pytest.raises(InputError) as e:
        evaluate(None, files, [2.0], images=[(files[0], np.asarray(3, np.uint8))])
    assert str(e.value).startswith(f"images[0] ('{files[0]}') must be an H×W×3 uint8 array, as read_set reads it, "
                                   "got 0-d uint8: give read_set"), str(e.value)


def test_hf_ratio_on_images_with_known_spectra():
    n, lr = 128, (32, 32)  # ×4: the LR Nyquist frequency is 1/8 cycle per HR pixel
    low, high = ((0.0, 3 / 128), 40.0), ((20 / 128, 0.0), 20.0)  # 0.023 and 0.156 cycles/px
    ref = _waves(n, [low, high])
    assert hf_ratio(ref, ref, lr) == pytest.approx(1.0)
    # half the HF amplitude = a quarter of the HF energy; the LF wave must not count
    assert hf_ratio(_waves(n, [low, (high[0], 10.0)]), ref, lr) == pytest.approx(0.25, rel=0.02)
    assert hf_ratio(_waves(n, [low]), ref, lr) < 1e-3
    assert hf_ratio(_waves(n, [((0.0, 3 / 128), 80.0), high]), ref, lr) == pytest.approx(1.0, rel=0.02)
    # the cutoff follows the LR size: at ×1.25 (LR Nyquist 0.4 cycles/px) that wave is below it
    assert hf_energy(ref, (102, 102)) < 1e-3 * hf_energy(ref, lr)
    # colour images: energy summed over channels
    assert hf_ratio(np.stack([ref] * 3, -1), ref, lr) == pytest.approx(3.0)


def test_crop_sampler_raises_instead_of_looping_when_no_image_is_large_enough(image_dir):
    from ldcsr_core.errors import InputError
    from ldcsr_core.training.data import MultiScaleCrops
    files = sorted(image_dir.glob("*.png"))  # 96 px
    with pytest.raises(InputError, match="at least 128 px"):
        MultiScaleCrops(files, lr_size=32, scale_range=(2.0, 4.0))
    data = MultiScaleCrops(files, lr_size=16, scale_range=(5.0, 6.0))  # 80–96 px crops fit
    lr, hr = data.batch(3)
    assert lr.shape == (3, 16, 16, 3) and hr.shape[1] == hr.shape[2] and 80 <= hr.shape[1] <= 96


def test_ema_averages_and_swaps():
    from ldcsr_core.training.train import EMA
    m = torch.nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.fill_(0.0)
    ema = EMA({"m": m}, decay=0.5)
    with torch.no_grad():
        m.weight.fill_(1.0)
    ema.update()  # first update: decay min(0.5, 1/10) = 0.1 -> 0.9
    ema.update()  # decay min(0.5, 2/11) -> 0.9·2/11 + 9/11
    expected = 0.9 * 2 / 11 + 9 / 11
    ema.swap()
    assert torch.allclose(m.weight, torch.full_like(m.weight, expected))
    ema.swap()
    assert torch.all(m.weight == 1.0)


def test_a_step_budget_runs_exactly_those_steps_updates_weights_and_writes_a_loadable_model(image_dir, tmp_path):
    from ldcsr_core.training.train import train
    out = tmp_path / "m.safetensors"
    init = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0)
    # a step budget runs exactly those steps, whatever the phases' minutes (0: a phase skipped)
    model, hist = train(image_dir, out, config=tiny_test_config(with_encoder=True), minutes=(0.0, 0.0, 0.0),
                        steps=(3, 1, 2), batch_size=2, lr_size=16, scale_range=(2.5, 3.0), seed=0, device="cpu")
    assert [hist["phases"][p]["steps"] for p in ("fast", "prior", "diffusion")] == [3, 1, 2]
    m = ldcsr_core.load_model(out, device="cpu", with_encoder=True)
    assert m.config.decoder == init.config.decoder
    a, b = init.state_dict(), m.state_dict()
    changed = [k for k in ("first_stage_model.decoder.head.weight", "cond_stage_model.conv_in.weight",
                           "model.diffusion_model.out.2.weight", "first_stage_model.encoder.conv_in.weight")
               if not torch.allclose(a[k], b[k])]
    assert len(changed) == 4, "every trained part must have moved"
    assert json.loads(m.notes)["history"]["phases"]["fast"]["steps"] > 0
    assert float(m.scale_factor) != 1.0
    assert out.with_suffix(".ckpt").is_file()


def test_training_with_decoded_chain_losses_checkpoints_and_resumes(image_dir, tmp_path):
    from ldcsr_core.training.train import TrainingError, train
    out = tmp_path / "m.safetensors"
    kw = dict(config=tiny_test_config(with_encoder=True), batch_size=2, lr_size=16, scale_range=(2.5, 3.0),
              device="cpu", adv_weight=0.01, fft_weight=1.0, pix_weight=1.0, lat_weight=0.1,
              train_decoder_in_diffusion=True, val_dir=image_dir, val_limit=1)
    _, hist = train(image_dir, out, minutes=(0.002, 0.002, 0.002), **kw)  # a phase makes at least one step
    d = hist["phases"]["diffusion"]["steps"]
    assert d > 0 and {"fast", "diffusion"} <= set(hist["val"][-1])  # EMA model validated in both modes
    assert 0 < hist["val"][-1]["diffusion"]["4.0"]["hf_ratio"] < 10
    ckpt = torch.load(out.with_suffix(".ckpt"), weights_only=True)
    assert ckpt["state"]["done"] == ["fast", "prior", "diffusion"] and ckpt["disc"] is not None
    # pretend the run was stopped after phase A: a resume runs only B and C
    ckpt["state"].update(done=["fast"], phase=None)
    torch.save(ckpt, tmp_path / "a.ckpt")
    before = ldcsr_core.load_model(out, device="cpu", with_encoder=True)
    _, hist2 = train(image_dir, tmp_path / "m2.safetensors", minutes=(10.0, 0.002, 0.002), resume=tmp_path / "a.ckpt",
                     **kw)  # a 10-minute phase A would time the test out: it must be skipped
    assert hist2["phases"]["fast"] == hist["phases"]["fast"]
    assert hist2["phases"]["diffusion"]["steps"] > 0
    after = ldcsr_core.load_model(tmp_path / "m2.safetensors", device="cpu", with_encoder=True)
    k = "model.diffusion_model.out.2.weight"
    assert not torch.allclose(before.state_dict()[k], after.state_dict()[k])
    with pytest.raises(TrainingError, match="cannot read checkpoint"):
        train(image_dir, out, minutes=(0.01, 0.01, 0.01), resume=image_dir / "img0.png", **kw)


def test_hf_band_loss_measures_the_amount_of_detail_above_the_lr_nyquist():
    import torch.nn.functional as F
    from ldcsr_core.training.train import hf_band_l1
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    lr = F.interpolate(hr, size=(16, 16), mode="area")
    blurred = F.interpolate(lr, size=(64, 64), mode="bicubic", align_corners=False)
    assert hf_band_l1(hr, hr, (16, 16)) == 0
    assert hf_band_l1(blurred, hr, (16, 16)) > 0.5 * hf_band_l1(torch.zeros_like(hr), hr, (16, 16))
    # phase-blind: the same amount of detail in other places costs little; twice the detail costs
    shifted = torch.roll(hr, shifts=(7, 5), dims=(2, 3))
    assert hf_band_l1(shifted, hr, (16, 16)) < 0.1 * hf_band_l1(blurred, hr, (16, 16))
    assert hf_band_l1(blurred + (hr - blurred) * 2, hr, (16, 16)) > 0.5 * hf_band_l1(blurred, hr, (16, 16))
    # what lies below the LR Nyquist frequency does not count
    yy = torch.linspace(0, 1, 64)[:, None].expand(64, 64)
    assert torch.isclose(hf_band_l1(blurred + 0.3 * yy, hr, (16, 16)), hf_band_l1(blurred, hr, (16, 16)), rtol=0.05)


def test_energy_score_rewards_spread_only_where_the_target_is_uncertain():
    from ldcsr_core.training.train import energy_score_l1
    g = torch.Generator().manual_seed(0)
    coin = lambda: torch.randint(0, 2, (1, 3, 64, 64), generator=g).float() * 2 - 1  # noqa: E731
    x = coin()  # an uncertain target: -1 or +1 with equal odds, independently per pixel
    assert energy_score_l1(x, x, x) == 0
    collapsed = energy_score_l1(torch.zeros_like(x), torch.zeros_like(x), x)  # both samples at the median
    honest = energy_score_l1(coin(), coin(), x)  # two samples from the target's own distribution
    assert torch.isclose(collapsed, torch.tensor(1.0)) and abs(float(honest) - 0.5) < 0.02
    # a certain target: the same spread now costs (the rule is proper, not a bonus for noise)
    sure = torch.zeros_like(x)
    assert energy_score_l1(0.5 * coin(), 0.5 * coin(), sure) > energy_score_l1(sure, sure, sure) + 0.2


def test_spread_calibration_rewards_disagreement_where_the_mean_is_wrong():
    from ldcsr_core.training.train import spread_calibration_l1
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 3, 32, 32)
    wrong = torch.zeros_like(x)
    wrong[..., :, 16:] = 1.0  # the right half of the mean is off by 0.4 (below), the left half is exact
    mean = 0.4 * wrong
    d = 0.3 * 0.4 * 0.5  # half the target disagreement: 0.3 x the error, split around the mean
    right = spread_calibration_l1(mean + d * wrong, mean - d * wrong, x, 0.3)  # disagree on the right
    left = spread_calibration_l1(mean + d * (1 - wrong), mean - d * (1 - wrong), x, 0.3)  # on the left
    collapsed = spread_calibration_l1(mean, mean, x, 0.3)
    assert right < 1e-6 < collapsed < left
    # the error is the target, not a loss: the gradient moves the disagreement, not the mean
    y1 = (mean + torch.randn(x.shape, generator=g) * 0.01).requires_grad_(True)
    y2 = (mean - torch.randn(x.shape, generator=g) * 0.01).requires_grad_(True)
    spread_calibration_l1(y1, y2, x, 0.3).backward()
    assert torch.allclose(y1.grad, -y2.grad) and y1.grad.abs().sum() > 0


def test_the_pair_losses_run_two_chains_per_image_only_when_asked(image_dir, tmp_path):
    from ldcsr_core.training.data import MultiScaleCrops, load_images
    from ldcsr_core.training.train import Trainer, to_tensor
    init = tmp_path / "init.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=3, device="cpu"), init,
                          name="t", version="1")
    lr_u8, hr_u8 = MultiScaleCrops(load_images(image_dir), lr_size=16, scale_range=(2.0, 2.0)).batch(2)  # no Trainer
    lr, hr = to_tensor(lr_u8, "cpu"), to_tensor(hr_u8, "cpu")
    for es, spread in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)):
        t = Trainer(image_dir, tmp_path / "b.safetensors", init=str(init), lr_size=16, scale_range=(2.0, 2.0),
                    device="cpu", pix_weight=1.0, es_weight=es, spread_weight=spread, train_detail_decoder=True)
        calls = []
        chain = t.chain
        t.chain = lambda lr_, *a: calls.append(lr_.shape[0]) or chain(lr_, *a)
        loss, parts = t.loss_diffusion(lr, hr)
        assert calls == [4 if es or spread else 2]  # the batch twice: two independent chains per image
        assert ("es" in parts, "spread" in parts) == (bool(es), bool(spread))
        assert torch.isfinite(loss)


def test_detail_decoder_trains_diffusion_mode_only_and_round_trips(image_dir, tmp_path):
    from ldcsr_core.training.train import TrainingError, add_detail_decoder, train
    base = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=3, device="cpu")
    init = tmp_path / "init.safetensors"
    ldcsr_core.save_model(base, init, name="t", version="1")
    lr = torch.rand(1, 3, 16, 16) * 2 - 1
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    # a fresh detail decoder is a copy: every output is unchanged until it is trained
    base.tile_overlap = 0
    grown = add_detail_decoder(base)
    assert grown.tile_overlap == 0 and grown.config.detail_decoder == base.config.decoder
    for mode in ("fast", "diffusion"):
        a = base.super_resolve(lr, (48, 48), mode=mode, generator=gen())
        b = grown.super_resolve(lr, (48, 48), mode=mode, generator=gen())
        assert torch.allclose(a, b, atol=1e-5)
    out = tmp_path / "d.safetensors"
    _, hist = train(image_dir, out, init=str(init), steps=(0, 0, 3), batch_size=2, lr_size=16,
                    scale_range=(2.5, 3.0), device="cpu", pix_weight=1.0, fft_weight=1.0, adv_weight=0.01,
                    lat_weight=0.1, hf_weight=1.0, lrc_weight=1.0, es_weight=1.0, spread_weight=1.0,
                    train_detail_decoder=True)
    assert hist["phases"]["diffusion"]["steps"] == 3 and hist["phases"]["diffusion"]["final_loss"] > 0
    m = ldcsr_core.load_model(out, device="cpu")
    assert m.config.detail_decoder == m.config.decoder  # saved in the file's config, loaded back
    sd, sd0 = m.state_dict(), base.state_dict()
    assert torch.equal(sd["first_stage_model.decoder.head.weight"], sd0["first_stage_model.decoder.head.weight"])
    assert not torch.allclose(sd["detail_decoder.decoder.head.weight"], sd0["first_stage_model.decoder.head.weight"])
    # fast mode is exactly the init model's; diffusion mode decodes with the trained detail decoder
    assert torch.equal(m.super_resolve(lr, (48, 48), mode="fast"), base.super_resolve(lr, (48, 48), mode="fast"))
    y = m.super_resolve(lr, (48, 48), mode="diffusion", generator=gen())
    m.config = replace(m.config, detail_decoder=None)  # same weights, sampled latent through the stage-1 decoder
    assert not torch.allclose(y, m.super_resolve(lr, (48, 48), mode="diffusion", generator=gen()), atol=1e-4)
    with pytest.raises(TrainingError, match="not both"):
        train(image_dir, out, init=str(init), steps=(0, 0, 1), device="cpu", train_detail_decoder=True,
              train_decoder_in_diffusion=True)


def test_cli_train_and_evaluate(image_dir, tmp_path):
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    out = tmp_path / "c.safetensors"
    (tmp_path / "cfg.json").write_text(tiny_test_config(with_encoder=True).to_json())
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(out), "--config", str(tmp_path / "cfg.json"),
                                  "--minutes", "0.002", "0.002", "0.002", "--batch-size", "2", "--lr-size", "16",
                                  "--scale-range", "2", "3", "--device", "cpu", "--train-detail-decoder",
                                  "--pix-weight", "1", "--hf-weight", "1", "--es-weight", "0.5",
                                  "--spread-weight", "1", "--spread-ratio", "0.4"])
    assert r.exit_code == 0, r.output
    assert out.is_file()
    assert out.with_suffix(".ckpt").stat().st_mode & 0o777 == out.stat().st_mode & 0o777  # umask, not 0600
    m = ldcsr_core.load_model(out, device="cpu")
    settings = json.loads(m.notes)["settings"]
    assert m.config.detail_decoder is not None and settings["hf_weight"] == 1.0
    assert (settings["es_weight"], settings["spread_weight"], settings["spread_ratio"]) == (0.5, 1.0, 0.4)
    j = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["evaluate", str(image_dir), "--model", str(out), "--scales", "2,4", "--mode", "fast",
                                  "--json", str(j), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    res = json.loads(j.read_text())
    assert set(res["scales"]) == {"2.0", "4.0"} and "HF" in r.output
    assert all(0 < r["bicubic_hf_ratio"] < 0.5 and r["hf_ratio"] > 0 for r in res["scales"].values())
    r = CliRunner().invoke(main, ["train", str(image_dir), "--out", str(tmp_path / "d.safetensors"), "--lr-size", "64",
                                  "--device", "cpu"])
    assert r.exit_code != 0 and "at least" in r.output and "Traceback" not in r.output
    # a fresh run never replaces an earlier run's checkpoint; paths are checked before any work
    for extra, code, says in ((["--out", str(out)], 4, "an earlier run's checkpoint is there"),
                              (["--out", str(tmp_path / "m.ckpt")], 2, "must be named .safetensors"),
                              (["--out", str(tmp_path / "nodir" / "m.safetensors")], 2, "folder does not exist"),
                              (["--out", str(tmp_path / "e.safetensors"), "--checkpoint", str(tmp_path / "e.safetensors")],
                               2, "the checkpoint would be OUT itself")):
        mtime = out.with_suffix(".ckpt").stat().st_mtime_ns
        r = CliRunner().invoke(main, ["train", str(image_dir), *extra, "--device", "cpu"])
        assert r.exit_code == code and says in r.output, r.output
        assert out.with_suffix(".ckpt").stat().st_mtime_ns == mtime


def test_shipped_model_loads_and_upscales_without_a_model_argument():
    m = ldcsr_core.load_model(device="cpu")
    assert m.name and len(m.weights_sha256) == 64
    out = ldcsr_core.upscale(np.full((24, 32, 3), 100, np.uint8), 2.5, mode="fast")
    assert out.shape == (60, 80, 3) and abs(float(out.mean()) - 100) < 3


@pytest.fixture(scope="module")
def shipped():
    """The shipped model, three validation images of different classes, and its fast-mode scores by
    scale (each computed once: the ×4 one serves two tests)."""
    val = require_shared("data", "rsscn7", "val")
    from ldcsr_core.training.data import list_images
    files = list_images(val)[::47]  # 3 images from different classes
    m = ldcsr_core.load_model(device="cpu")
    fast = {}

    def fast_at(scale):
        if scale not in fast:
            fast[scale] = evaluate(m, files, [scale], mode="fast")["scales"][str(scale)]
        return fast[scale]
    return SimpleNamespace(model=m, files=files, fast_at=fast_at)


@pytest.mark.parametrize("scale,margin", [(2.0, 0.15), (4.0, 0.1)])
def test_shipped_model_beats_bicubic_on_real_validation_images(shipped, scale, margin):
    res = shipped.fast_at(scale)
    assert res["gain_db"] > margin, f"only {res['gain_db']:+.2f} dB over bicubic at ×{scale}"


def test_shipped_diffusion_mode_is_sharper_than_fast_mode_and_still_beats_bicubic(shipped):
    fast = shipped.fast_at(4.0)
    diff = evaluate(shipped.model, shipped.files, [4.0], mode="diffusion")["scales"]["4.0"]
    assert diff["hf_ratio"] > 3 * fast["hf_ratio"], (diff["hf_ratio"], fast["hf_ratio"])
    assert diff["gain_db"] > -0.5 and diff["lr_psnr"] > 40


def test_built_in_models_load_by_name_and_unknown_names_fail_clearly():
    from ldcsr_core.errors import InputError
    default = ldcsr_core.load_model(device="cpu")
    by_alias = ldcsr_core.load_model("ldcsr-compact-rsscn7", device="cpu")  # the default's name
    assert by_alias.weights_sha256 == default.weights_sha256 and default.version == "4"
    assert ldcsr_core.load_model("ldcsr-compact-rsscn7-v4", device="cpu").weights_sha256 == default.weights_sha256
    assert default.config.detail_decoder is not None and default.tile_overlap == 0
    older = [ldcsr_core.load_model(f"ldcsr-compact-rsscn7-v{v}", device="cpu") for v in (1, 2, 3)]  # for comparison
    assert [m.version for m in older] == ["1", "2", "3"]
    assert len({default.weights_sha256, *(m.weights_sha256 for m in older)}) == 4
    with pytest.raises(InputError, match="no-such-model"):  # bad input, as model_names.model_named says it
        ldcsr_core.load_model("no-such-model", device="cpu")


def test_growing_the_decoder_keeps_the_function_and_rejects_other_changes():
    from dataclasses import replace

    from ldcsr_core.training.train import TrainingError, grow_model

    model = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0)
    with torch.no_grad():  # make the existing fuse weights matter (a fresh model's are random anyway)
        for p in model.parameters():
            p.add_(0.01)
    bigger = replace(model.config, decoder=replace(model.config.decoder,
                                                   num_sr_modules=tuple(n + 1 for n in model.config.decoder.num_sr_modules)))
    grown = grow_model(model, bigger).eval()
    assert grown.config.decoder.num_sr_modules == bigger.decoder.num_sr_modules
    n_old = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in grown.parameters()) > n_old
    img = np.random.default_rng(1).random((24, 20, 3), dtype=np.float32)
    with torch.no_grad():
        a = ldcsr_core.upscale(img, 3, model=model.eval())
        b = ldcsr_core.upscale(img, 3, model=grown)
    np.testing.assert_allclose(b, a, atol=2e-6)
    assert all(p.requires_grad for p in grown.parameters())
    with pytest.raises(TrainingError, match="can only add IMD modules"):
        grow_model(model, replace(model.config, decoder=replace(model.config.decoder, fuse_width=8)))
    with pytest.raises(TrainingError, match="can only add IMD modules"):
        grow_model(grown, model.config)  # shrinking is not growing


@pytest.mark.parametrize("with_decoder", [False, True])
def test_the_prior_phase_trains_the_decoder_only_when_asked(image_dir, tmp_path, with_decoder):
    from ldcsr_core.training.train import train

    init = tmp_path / "init.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0), init, name="t")
    out = tmp_path / "m.safetensors"
    train(image_dir, out, init=str(init), minutes=(0.0, 0.0, 0.0), steps=(0, 3, 0), batch_size=2, lr_size=16,
          scale_range=(2.5, 3.0), seed=0, device="cpu", train_decoder_in_prior=with_decoder)
    a = ldcsr_core.load_model(init, device="cpu", with_encoder=True).state_dict()
    b = ldcsr_core.load_model(out, device="cpu", with_encoder=True).state_dict()
    k = "first_stage_model.decoder.head.weight"
    assert not torch.allclose(a["first_stage_model.encoder.conv_in.weight"], b["first_stage_model.encoder.conv_in.weight"])
    assert torch.allclose(a[k], b[k]) != with_decoder


def test_train_init_takes_a_built_in_models_name(tmp_path):
    """README's `--init SHIPPED_OR_OTHER`: a built-in model's name, as --model takes it, is its file
    (before: "File 'ldcsr-compact-rsscn7' does not exist", exit 2); an unknown name is still refused."""
    from click.testing import CliRunner
    from ldcsr_core.builtin_models import model_path
    from ldcsr_core.cli import main
    from ldcsr_core.cli.train_cmd import train_command
    args = [str(tmp_path), "--out", str(tmp_path / "o.safetensors"), "--init"]
    ctx = train_command.make_context("train", [*args, "ldcsr-compact-rsscn7"])
    assert ctx.params["init"] == model_path("ldcsr-compact-rsscn7") and ctx.params["init"].is_file()
    r = CliRunner().invoke(main, ["train", *args, "no-such-model"])
    assert r.exit_code == 2 and "no model is named 'no-such-model': the models are" in r.output, r.output


def test_a_run_without_init_whose_fast_phase_has_no_steps_still_calibrates_the_scale(image_dir, tmp_path):
    # the fast phase calibrates the latent scale at its end; skipped (0 steps), random weights were
    # marked calibrated and the prior/diffusion phases trained on the default scale_factor 1.0
    from ldcsr_core.training.train import train

    out = tmp_path / "m.safetensors"
    train(image_dir, out, config=tiny_test_config(with_encoder=True), minutes=(0.0, 0.0, 0.0), steps=(0, 0, 1),
          batch_size=2, lr_size=16, scale_range=(2.5, 3.0), seed=0, device="cpu")
    assert float(ldcsr_core.load_model(out, device="cpu").scale_factor) != 1.0
    init = tmp_path / "init.safetensors"  # an --init model keeps its own run's scale when fast is skipped
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0), init, name="t")
    train(image_dir, tmp_path / "f.safetensors", init=str(init), minutes=(0.0, 0.0, 0.0), steps=(0, 0, 1),
          batch_size=2, lr_size=16, scale_range=(2.5, 3.0), seed=0, device="cpu")
    assert float(ldcsr_core.load_model(tmp_path / "f.safetensors", device="cpu").scale_factor) == 1.0
