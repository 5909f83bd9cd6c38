"""The self-check on scenes with nodata: filled for the model, left out of every figure (PSNR,
SSIM's windows, the LR-consistency's LR pixels), counted in the account; too little data refused."""

from __future__ import annotations

import numpy as np
import pytest

import ldcsr_core

from .conftest import write_tif
from .test_selfcheck import scene


@pytest.fixture(scope="module")
def file_model(tiny_model_file):
    return ldcsr_core.load_model(tiny_model_file, device="cpu")


def test_nodata_is_filled_for_the_model_but_never_scored(file_model, tmp_path):
    """A swath edge: the right half of the file is nodata. The reader fills it (flat, easy to
    restore), and counting those pixels lifted PSNR and SSIM far above the data's own; the figures
    must be those of the data (as a window on it), the line must say how much was left out, and
    the error maps are NaN there."""
    rgb = scene(96, 160)
    data = np.moveaxis(rgb, -1, 0).astype(np.uint32) * 257
    data[:, :, 80:] = 0
    tif = write_tif(tmp_path / "edge.tif", data, dtype="uint16", nodata=0)
    kw = dict(model=file_model, mode="fast", stretch="dtype")
    whole = ldcsr_core.selfcheck(tif, 2, **kw)
    data_only = ldcsr_core.selfcheck(tif, 2, window=(0, 0, 96, 80), **kw)
    for key, tol in (("psnr_model", 0.05), ("psnr_bicubic", 0.05), ("ssim_model", 0.003),
                     ("ssim_bicubic", 0.003), ("lr_psnr_model", 0.05)):  # counting the fill: 2.5 dB, 0.03
        assert getattr(whole, key) == pytest.approx(getattr(data_only, key), abs=tol), key
    assert whole.nodata == 96 * 80 and whole.to_dict()["nodata_pixels"] == 96 * 80
    assert "whole scene 160×96 px (50 % nodata, not scored)" in whole.line()
    assert np.isnan(whole.error_model[:, 80:]).all() and np.isfinite(whole.error_model[2:-2, 2:78]).all()
    assert data_only.nodata == 0 and "nodata" not in data_only.line()


def striped_check(tmp_path, model, first: int, every: int):
    """A 160×96 GeoTIFF whose 2-px columns from ``first`` every ``every`` px are nodata 0 (an SLC-off
    scene), its self-check at ×2, and the picture and valid pixels the check read."""
    from ldcsr_core.scene_windows import RGBScene

    rgb = np.clip(scene(96, 160), 1, 255)
    rgb[:, first::every] = rgb[:, first + 1::every] = 0
    tif = write_tif(tmp_path / "slc.tif", np.moveaxis(rgb, -1, 0), dtype="uint8", nodata=0)
    r = ldcsr_core.selfcheck(tif, 2, model=model, mode="fast")
    src = RGBScene(tif)
    hr, valid = src.rgb_valid((0, 0, 96, 160))
    src.close()
    return r, hr, valid


def test_ssim_leaves_out_every_window_that_touches_nodata(file_model, tmp_path):
    """Nodata in stripes (a Landsat 7 SLC-off scene): an SSIM value was counted where its centre
    pixel was data, so its 11×11 window held the fill of the stripes beside it (smooth, easy to
    restore), which lifted SSIM (RSSCN7 c091 ×4 with 3-px stripes every 25 px: 0.7234 where the
    data's own windows give 0.7160 and the scene without stripes 0.7147). SSIM is now the mean over
    the values whose whole window is data: scikit-image's SSIM map (Gaussian σ 1.5, as the docs
    say) of the same pictures there."""
    skimage_metrics = pytest.importorskip("skimage.metrics")
    from scipy.ndimage import binary_erosion

    from ldcsr_core.training.evaluate import reduced_resolution

    r, hr, valid = striped_check(tmp_path, file_model, 7, 20)
    assert valid.sum() == 96 * 144  # the stripes are nodata, the fill is under them
    _, sr, bic, _ = reduced_resolution(hr, 2, file_model, mode="fast")
    whole = binary_erosion(valid[2:-2, 2:-2], np.ones((11, 11), bool), border_value=0)  # 2-px crop at ×2
    centre = np.zeros_like(whole)
    centre[5:-5, 5:-5] = valid[2:-2, 2:-2][5:-5, 5:-5]
    for img, got in ((sr, r.ssim_model), (bic, r.ssim_bicubic)):
        _, smap = skimage_metrics.structural_similarity(
            hr[2:-2, 2:-2], img[2:-2, 2:-2], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            data_range=255, channel_axis=-1, full=True)
        assert abs(smap[centre].mean() - smap[whole].mean()) > 1e-3  # the fill moves the figure
        assert got == pytest.approx(smap[whole].mean(), abs=1e-9)
    assert r.windows[0].ssim_values == 3 * int(whole.sum())


def test_lr_consistency_leaves_out_every_lr_pixel_whose_degradation_reaches_nodata(file_model, tmp_path):
    """Nodata in stripes: an LR pixel counted where the scene pixels its box covers were data, but
    the degradation (PIL's antialiased bicubic, ±2·scale px) gave the fill under the stripes beside
    it a weight, in the LR copy and in the restored image degraded again. The LR-consistency is now
    the PSNR over the LR pixels that the stripes' mask, degraded the same way, does not reach
    (full columns at ×2: one 1-D sum whose taps, 0.87, 0.23, −0.07, −0.02 a side, cannot cancel)."""
    from PIL import Image

    from ldcsr_core.training.data import degrade
    from ldcsr_core.training.evaluate import reduced_resolution
    from ldcsr_core.training.metrics import mse, psnr_from_mse

    r, hr, valid = striped_check(tmp_path, file_model, 17, 24)
    lr, sr, bic, lr_hw = reduced_resolution(hr, 2, file_model, mode="fast")
    data = degrade((~valid).astype(np.float32), lr_hw) == 0
    box = np.asarray(Image.fromarray(valid.astype(np.float32)).resize(lr_hw[::-1], Image.BOX)) > 1 - 1e-6
    assert 0 < data.sum() < box.sum() and not (data & ~box).any()
    for img, got, moved in ((sr, r.lr_psnr_model, 0.003), (bic, r.lr_psnr_bicubic, 0.1)):  # 0.01, 0.26 dB
        again = degrade(img, lr_hw)
        want = psnr_from_mse(mse(again, lr, data))
        assert abs(psnr_from_mse(mse(again, lr, box)) - want) > moved  # the fill moved the figure
        assert got == pytest.approx(want, rel=1e-12)
    assert r.windows[0].lr_values == 3 * int(data.sum())


def test_no_lr_pixel_clear_of_nodata_is_too_little_data(file_model, tmp_path):
    """1-px nodata columns every 12 px and the last: SSIM's 11×11 windows fit between them, but at
    ×4 every LR pixel's degradation (±8 px) reaches one, so there is no LR-consistency to give:
    refused as SSIM is (before, the LR pixels whose 4-px box fitted between them were scored)."""
    rgb = np.clip(scene(64, 96), 1, 255)
    rgb[:, ::12] = rgb[:, -1] = 0
    tif = write_tif(tmp_path / "combs.tif", np.moveaxis(rgb, -1, 0), dtype="uint8", nodata=0)
    with pytest.raises(ldcsr_core.InputError, match=r"too little data to score at ×4: \d+ of the 6144 px .*; 0 px "
                                                    r"of the copy ×4 coarser made of data alone, where the LR-consistency is\)"):
        ldcsr_core.selfcheck(tif, 4, model=file_model, mode="fast")
    n, n_ssim, n_lr = ldcsr_core.quality.score_counts((64, 96), rgb.any(axis=-1), 4)
    assert n >= 121 and n_ssim > 0 and n_lr == 0


def test_figures_without_nodata_are_the_protocol_s_to_every_digit(file_model, tmp_path):
    """No nodata (none declared, or declared and absent): nothing is left out, every figure is
    evaluate's protocol on every pixel, exactly."""
    from ldcsr_core.training.data import degrade
    from ldcsr_core.training.evaluate import reduced_resolution
    from ldcsr_core.training.metrics import border_crop, psnr

    rgb = np.clip(scene(96, 160), 1, 255)
    for nodata in (None, 0):
        tif = write_tif(tmp_path / f"full{nodata}.tif", np.moveaxis(rgb, -1, 0), dtype="uint8", nodata=nodata)
        for s in (2, 3.5):
            r = ldcsr_core.selfcheck(tif, s, model=file_model, mode="fast")
            lr, sr, bic, lr_hw = reduced_resolution(rgb, s, file_model, mode="fast")
            assert r.nodata == 0 and r.windows[0].lr_values == lr.size
            assert r.lr_psnr_model == psnr(degrade(sr, lr_hw), lr) and r.lr_psnr_bicubic == psnr(degrade(bic, lr_hw), lr)
            assert r.psnr_model == psnr(border_crop(sr, s), border_crop(rgb, s))


def test_too_little_data_to_score_is_refused(file_model, tmp_path):
    """6 valid columns of 120: inside SSIM's margin nothing is left to score, so there is no figure."""
    data = np.moveaxis(scene(60, 120), -1, 0).astype(np.uint16) + 1
    data[:, :, 6:] = 0
    tif = write_tif(tmp_path / "sliver.tif", data, dtype="uint16", nodata=0)
    with pytest.raises(ldcsr_core.InputError, match="too little data to score at ×2: .* the rest is nodata"):
        ldcsr_core.selfcheck(tif, 2, model=file_model, mode="fast")


def test_a_sampled_window_without_lr_pixels_over_data_leaves_the_pool_finite(file_model, tmp_path):
    """Two sampled windows; in the second every other column is nodata, so at ×2 no LR pixel covers
    data alone (its LR-consistency has no values) while its data pixels are scored. The pooled
    LR-consistency is the first window's (it read 'LR-consistency nan dB', null in the JSON)."""
    data = np.moveaxis(scene(64, 160), -1, 0).astype(np.uint16) + 1
    data[:, :, 96::2] = 0
    tif = write_tif(tmp_path / "stripes.tif", data, dtype="uint16", nodata=0)
    kw = dict(model=file_model, mode="fast", stretch="dtype")
    r = ldcsr_core.selfcheck(tif, 2, max_pixels=1000, samples=2, sample_size=64, **kw)
    assert [w.box for w in r.windows] == [(0, 0, 64, 64), (0, 96, 64, 64)] and r.windows[1].lr_values == 0
    first = ldcsr_core.selfcheck(tif, 2, window=(0, 0, 64, 64), **kw)
    for key in ("lr_psnr_model", "lr_psnr_bicubic"):
        assert getattr(r, key) == pytest.approx(getattr(first, key), rel=1e-12), key
    assert "nan" not in r.line() and r.to_dict()["lr_psnr_model"] is not None


def test_a_sampled_window_all_nodata_stays_in_the_account(file_model, tmp_path):
    """Four sampled windows, one of them all nodata (a swath's corner). The window was dropped
    unsaid: '3 sampled windows ... pooled over all their pixels' with no nodata at all, where a
    quarter of the checked pixels is nodata. Now it is counted (4 windows, 25 % nodata) and pools
    nothing: the figures are those of the three others."""
    data = np.maximum(np.moveaxis(scene(128, 128), -1, 0).astype(np.uint32) * 257, 1)
    data[:, :64, :64] = 0
    tif = write_tif(tmp_path / "corner.tif", data, dtype="uint16", nodata=0)
    kw = dict(model=file_model, mode="fast", stretch="dtype", max_pixels=1000, sample_size=64)
    r = ldcsr_core.selfcheck(tif, 2, samples=4, **kw)
    assert [w.box for w in r.windows] == [(0, 0, 64, 64), (0, 64, 64, 64), (64, 0, 64, 64), (64, 64, 64, 64)]
    assert (r.pixels, r.nodata) == (128 * 128, 64 * 64) and r.to_dict()["nodata_pixels"] == 64 * 64
    assert "4 sampled windows of 64×64 px of 128×128, pooled over all their pixels (25 % nodata" in r.line()
    last = ldcsr_core.selfcheck(tif, 2, window=(64, 64, 64, 64), model=file_model, mode="fast", stretch="dtype")
    assert r.windows[3].mse == last.windows[0].mse and r.windows[0].values == r.windows[0].ssim_values == 0
    data[:, :64, :64] = data[:, 64:, 64:]  # the corner data: 4 windows pooled, no nodata (as before)
    full = ldcsr_core.selfcheck(write_tif(tmp_path / "full.tif", data, dtype="uint16", nodata=0), 2, samples=4, **kw)
    assert full.nodata == 0 and "nodata" not in full.line() and full.psnr_model != r.psnr_model
    data[:] = 0
    data[:, 64:70, 64:] = 300  # a sliver in one window: too little to score, of all 4 windows' pixels
    sliver = write_tif(tmp_path / "sliver.tif", data, dtype="uint16", nodata=0)
    with pytest.raises(ldcsr_core.InputError, match="too little data to score at ×2: 240 of the 16384 px are data"):
        ldcsr_core.selfcheck(sliver, 2, samples=4, **kw)
