"""`ldcsr evaluate` (and train) read a raster as upscale and selfcheck read it: the same bands and
the same stretch, so that evaluate's figures on a file are selfcheck's."""

import json

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

import ldcsr_core
from ldcsr_core.cli import main
from ldcsr_core.config import tiny_test_config
from ldcsr_core.training.data import load_rgb


def _picture(side=64):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side]
    base = 127 + 80 * np.sin(xx / 4) * np.cos(yy / 6)
    rgb = np.stack([base, 255 - base, np.roll(base, 7, axis=1)], -1) + rng.normal(0, 8, (side, side, 3))
    return np.clip(rgb, 0, 255)


def _write(path, bands, dtype, **kw):
    prof = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0], dtype=dtype,
                crs="EPSG:32631", transform=from_origin(500000, 4000000, 10, 10), **kw)
    with rasterio.open(path, "w", **prof) as f:
        f.write(bands.astype(dtype))


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_evaluate_reads_a_raster_with_selfchecks_bands_and_stretch(tmp_path):
    """A 16-bit scene whose bands span different ranges was stretched by one percentile pair over
    all three bands (selfcheck and upscale: one per band), and a Sentinel-2 stack was read as bands
    1, 2, 3 (selfcheck and upscale: 4, 3, 2): on the same file evaluate's bicubic PSNR at ×2 was
    30.23 dB where selfcheck's was 26.20. Now the same figure, and the same bands."""
    pic = _picture().transpose(2, 0, 1)
    (tmp_path / "u16").mkdir()
    _write(tmp_path / "u16" / "a.tif", np.stack([pic[0] * 4 + 100, pic[1] * 8 + 300, pic[2] * 2 + 50]), "uint16")
    s2 = np.full((13, 64, 64), 1000.0)
    s2[0] = 5000  # band 1 (aerosols): nothing of the picture
    s2[0, ::2] = 9000
    s2[[3, 2, 1]] = pic * 10 + 500  # B4, B3, B2: red, green, blue
    (tmp_path / "s2").mkdir()
    _write(tmp_path / "s2" / "s2.tif", s2, "uint16")
    got = load_rgb(tmp_path / "s2" / "s2.tif")
    assert np.corrcoef(got[..., 0].ravel(), pic[0].ravel())[0, 1] > 0.99  # red from band 4
    model = tmp_path / "tiny.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(), seed=0), model, name="tiny")
    for folder, name in (("u16", "a.tif"), ("s2", "s2.tif")):
        ev, sc = tmp_path / f"{folder}-e.json", tmp_path / f"{folder}-s.json"
        r = CliRunner().invoke(main, ["evaluate", str(tmp_path / folder), "--scales", "2", "--model", str(model),
                                      "--device", "cpu", "--json", str(ev)])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(main, ["selfcheck", str(tmp_path / folder / name), "--scale", "2", "--mode", "fast",
                                      "--model", str(model), "--device", "cpu", "--json", str(sc)])
        assert r.exit_code == 0, r.output
        e, s = json.loads(ev.read_text())["scales"]["2.0"], json.loads(sc.read_text())[0]
        assert e["bicubic_psnr"] == pytest.approx(s["psnr_bicubic"], abs=1e-9), folder
        assert e["bicubic_ssim"] == pytest.approx(s["ssim_bicubic"], abs=1e-9), folder


def test_evaluate_json_names_the_images_it_scored(tmp_path):
    """The JSON report said '2 images' but not which (with --limit, every k-th of the folder), nor
    the --tile the outputs were made with: it could not be traced back to its inputs."""
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.roll(_picture(), 9 * i, axis=1).astype(np.uint8)).save(tmp_path / f"i{i}.png")
    model = tmp_path / "tiny.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(), seed=0), model, name="tiny")
    j = tmp_path / "e.json"
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--scales", "2", "--model", str(model), "--limit", "2",
                                  "--tile", "64", "--device", "cpu", "--json", str(j)])
    assert r.exit_code == 0, r.output
    res = json.loads(j.read_text())
    assert res["files"] == [str(tmp_path / "i0.png"), str(tmp_path / "i2.png")] and res["images"] == 2
    assert res["tile"] == 64
