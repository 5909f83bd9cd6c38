"""The scene self-check (``ldcsr_core.selfcheck``, ``ldcsr selfcheck``): evaluate's protocol on the
scene itself; windows and samples; rasters through the pipeline's reader; clean errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ldcsr_core
from ldcsr_core.cli import main
from ldcsr_core.quality import selfcheck_scales

from .conftest import write_tif

# What the runs do after the model loads, not its loading: each model loaded once for the module (no run or test here
# changes the model it is handed).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")

SCALES = [2.0, 3.5]


def scene(h=70, w=90, seed=0) -> np.ndarray:
    """Smooth structure plus noise, RGB uint8 (odd sizes: int(H/s) rounds)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [128 + 60 * np.sin(xx / (4 + c) + c) + 30 * np.cos(yy / (3 + c)) for c in range(3)]
    return np.clip(np.stack(chans, -1) + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture(scope="module")
def file_model(tiny_model_file):
    return ldcsr_core.load_model(tiny_model_file, device="cpu")


@pytest.fixture
def png(tmp_path):
    p = tmp_path / "hr" / "scene.png"
    p.parent.mkdir()
    Image.fromarray(scene()).save(p)
    return p


def test_figures_equal_ldcsr_evaluate_on_the_same_image(png, tiny_model):
    from ldcsr_core.training.evaluate import evaluate

    ev = evaluate(tiny_model, [png], SCALES, mode="fast")["scales"]
    for checks in (selfcheck_scales(scene(), SCALES, model=tiny_model, mode="fast"),
                   selfcheck_scales(png, SCALES, model=tiny_model, mode="fast")):  # array and file
        for r in checks:
            row = ev[str(r.scale)]
            assert r.sampling == "whole" and r.crop == int(np.ceil(r.scale))
            for mine, theirs in (("psnr_model", "psnr"), ("psnr_bicubic", "bicubic_psnr"),
                                 ("ssim_model", "ssim"), ("ssim_bicubic", "bicubic_ssim"),
                                 ("lr_psnr_model", "lr_psnr"), ("lr_psnr_bicubic", "bicubic_lr_psnr"),
                                 ("gain_db", "gain_db")):
                assert getattr(r, mine) == pytest.approx(row[theirs], rel=1e-12, abs=1e-12), mine
            assert abs(r.gain_db) > 0.01  # model and bicubic really differ (not a vacuous match)


def test_error_map_on_the_reference_grid_with_nan_in_the_crop(tiny_model):
    hr = scene()
    r = ldcsr_core.selfcheck(hr, 3.5, model=tiny_model, mode="fast")
    b = 4
    expected_nan = np.ones(hr.shape[:2], bool)
    expected_nan[b:-b, b:-b] = False
    for err in (r.error_model, r.error_bicubic):
        assert err.shape == hr.shape[:2] and err.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(err), expected_nan)
    # The bicubic map is |PIL bicubic(PIL bicubic(hr, int(H/s)), H) - hr| averaged over RGB.
    lr = Image.fromarray(hr).resize((int(90 / 3.5), int(70 / 3.5)), Image.BICUBIC)
    bic = np.asarray(lr.resize((90, 70), Image.BICUBIC)).astype(np.float32)
    np.testing.assert_allclose(r.error_bicubic[b:-b, b:-b],
                               np.abs(bic - hr).mean(-1)[b:-b, b:-b], rtol=1e-6)
    assert not np.allclose(r.error_model[b:-b, b:-b], r.error_bicubic[b:-b, b:-b])


def test_cli_json_keys_values_and_one_line_per_scale(png, tiny_model_file, file_model, tmp_path):
    out = tmp_path / "q.json"
    r = run("selfcheck", png, "-s", 2, "-s", 3.5, "--mode", "fast", "--model", tiny_model_file,
            "--device", "cpu", "--json", out)
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    api = selfcheck_scales(scene(), SCALES, model=file_model, mode="fast")
    assert [d["scale"] for d in data] == SCALES
    for d, a in zip(data, api):
        assert {"scale", "psnr_model", "psnr_bicubic", "gain_db", "ssim_model", "ssim_bicubic",
                "crop", "mode", "model", "model_sha256"} <= set(d)
        for k in ("psnr_model", "psnr_bicubic", "gain_db", "ssim_model", "ssim_bicubic"):
            assert d[k] == pytest.approx(getattr(a, k), rel=1e-12), k
        assert d["crop"] == int(np.ceil(d["scale"])) and d["mode"] == "fast"
        assert d["model"] == "tiny-test" and d["model_sha256"] == file_model.weights_sha256
        assert len(d["model_sha256"]) == 64 and d["sampling"] == "whole"
    lines = [ln for ln in r.stdout.splitlines() if "bicubic" in ln]
    assert len(lines) == 2 and lines[0].startswith("×2:") and "dB" in lines[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no part left


def test_window_and_sampled_windows(tiny_model):
    hr = scene(80, 100)
    y, x, h, w = 10, 20, 48, 60
    win = ldcsr_core.selfcheck(hr, 2, model=tiny_model, mode="fast", window=(y, x, h, w))
    same = ldcsr_core.selfcheck(hr[y:y + h, x:x + w], 2, model=tiny_model, mode="fast")
    assert win.sampling == "window" and win.windows[0].box == (y, x, h, w)
    assert win.psnr_model == same.psnr_model and win.ssim_bicubic == same.ssim_bicubic
    assert win.psnr_model != ldcsr_core.selfcheck(hr, 2, model=tiny_model, mode="fast").psnr_model

    # Above max_pixels: sampled windows, PSNR pooled over all their scored pixels.
    s = ldcsr_core.selfcheck(hr, 2, model=tiny_model, mode="fast", max_pixels=2000, samples=3,
                             sample_size=40)
    assert s.sampling == "sampled" and len(s.windows) == 3 and "pooled" in s.line()
    assert len({w.box for w in s.windows}) == 3
    mses, ssims, n = [], [], (40 - 4) ** 2 * 3
    for (by, bx, bh, bw) in (w.box for w in s.windows):
        one = ldcsr_core.selfcheck(hr[by:by + bh, bx:bx + bw], 2, model=tiny_model, mode="fast")
        mses.append(255.0 ** 2 / 10 ** (one.psnr_model / 10))
        ssims.append(one.ssim_model)
    assert s.psnr_model == pytest.approx(10 * np.log10(255.0 ** 2 / np.mean(mses)), rel=1e-9)
    assert s.ssim_model == pytest.approx(np.mean(ssims), rel=1e-9)  # equal-size windows
    assert s.pixels == 3 * 40 * 40 and s.windows[0].values == n
    assert s.error_model is None and s.windows[0].error["model"].shape == (40, 40)


def test_sampled_windows_do_not_overlap(tiny_model):
    """A strip too short for the square grid's windows side by side: 2 rows of 40-px windows
    32 px apart on a 72-px-high scene, their shared pixels pooled twice (pixels 4 × 1600 of a
    scene region of less). Now one row of 3 windows, none overlapping; each pixel pooled once."""
    s = ldcsr_core.selfcheck(scene(72, 130), 2, model=tiny_model, mode="fast", max_pixels=2000, samples=4,
                             sample_size=40)
    boxes = [w.box for w in s.windows]
    assert boxes == [(0, 0, 40, 40), (0, 45, 40, 40), (0, 90, 40, 40)]
    cover = np.zeros((72, 130), int)
    for y, x, h, w in boxes:
        cover[y:y + h, x:x + w] += 1
    assert cover.max() == 1 and s.pixels == cover.sum() == 3 * 40 * 40
    assert "3 sampled windows of 40×40 px of 130×72, pooled over all their pixels" in s.line()


def test_one_sampled_window_is_said_in_the_singular(tiny_model):
    """--samples 1 (or a sample window as large as the scene): '1 sampled window of …', with
    nothing pooled; before: '1 sampled windows of …, pooled over all their pixels'."""
    s = ldcsr_core.selfcheck(scene(60, 70), 2, model=tiny_model, mode="fast", max_pixels=2000, samples=1,
                             sample_size=40)
    assert s.sampling == "sampled" and len(s.windows) == 1
    assert "· 1 sampled window of 40×40 px of 70×60 ·" in s.line() and "pooled" not in s.line()


def test_cli_window_is_x_y_w_h(png, tiny_model_file, file_model, tmp_path):
    out = tmp_path / "w.json"
    r = run("selfcheck", png, "-s", 2, "--window", "20,10,60,48", "--mode", "fast",
            "--model", tiny_model_file, "--device", "cpu", "--json", out)
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())[0]
    assert d["windows"] == [{"x": 20, "y": 10, "width": 60, "height": 48}]
    ref = ldcsr_core.selfcheck(scene()[10:58, 20:80], 2, model=file_model, mode="fast")
    assert d["psnr_model"] == pytest.approx(ref.psnr_model, rel=1e-12)
    assert "window x=20 y=10 60×48" in r.stdout


def test_geotiff_uint16_four_bands_through_bands_and_stretch(tiny_model_file, file_model, tmp_path):
    """A 4-band uint16 file stored B, G, R, NIR: --bands 3,2,1 --stretch dtype feeds exactly the
    RGB picture (v = u8·257 maps back to u8), so the figures are those of the picture."""
    rgb = scene()
    nir = np.random.default_rng(1).integers(0, 65535, rgb.shape[:2])
    data = np.stack([rgb[..., 2], rgb[..., 1], rgb[..., 0]]).astype(np.uint32) * 257
    tif = write_tif(tmp_path / "s2.tif", np.concatenate([data, nir[None]]), dtype="uint16")
    out = tmp_path / "q.json"
    r = run("selfcheck", tif, "-s", 3.5, "--bands", "3,2,1", "--stretch", "dtype", "--mode", "fast",
            "--model", tiny_model_file, "--device", "cpu", "--json", out)
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())[0]
    ref = ldcsr_core.selfcheck(rgb, 3.5, model=file_model, mode="fast")
    assert d["psnr_model"] == pytest.approx(ref.psnr_model, rel=1e-12)
    assert d["ssim_bicubic"] == pytest.approx(ref.ssim_bicubic, rel=1e-12)
    api = ldcsr_core.selfcheck(tif, 3.5, model=file_model, mode="fast", bands=(3, 2, 1), stretch="dtype")
    assert api.psnr_bicubic == pytest.approx(ref.psnr_bicubic, rel=1e-12)
    other = ldcsr_core.selfcheck(tif, 3.5, model=file_model, mode="fast", bands=(4, 3, 2), stretch="dtype")
    assert other.psnr_bicubic != pytest.approx(ref.psnr_bicubic, rel=1e-6)  # the bands count
    # which bands the figures are about (they said nothing: a figure for a 4-band file read as its own)
    assert (d["bands"], d["band_count"]) == ([3, 2, 1], 4) and r.output.count(
        "whole scene 90×70 px, bands 3,2,1 of 4 (the others unchecked) · crop 4 px") == 1
    assert "bands 4,3,2 of 4 (the others unchecked)" in other.where()
    from napari_ldcsr.run._selfcheck import status_text  # napari's status line says it too

    assert status_text(other, "the whole layer").endswith(
        "(fast; bands 4,3,2 of 4 (the others unchecked); uint16 stretched to 0–255 from 0–65535, stretch dtype)")
    assert ref.bands_text() == "" and ref.to_dict()["bands"] is None  # an array: the RGB it is
    three = write_tif(tmp_path / "rgb.tif", data, dtype="uint16")  # all of them: nothing to add
    assert "bands" not in ldcsr_core.selfcheck(three, 3.5, model=file_model, mode="fast").line()


@pytest.mark.parametrize("args, code, fragment", [
    (["-s", 4], 3, "needs at least"),                       # 14×14 px cannot be checked at ×4
    (["-s", 2, "--window", "8,8,10,10"], 3, "not inside"),
    (["-s", 2, "--bands", "9"], 3, "band 9 does not exist"),
    (["-s", 2, "--window", "1,2,3"], 2, "x,y,w,h"),
    (["-s", 2, "--window", "0,0,14,14", "--max-pixels", 100], 3, "give a smaller window or raise the limit (--max-pixels"),
    (["-s", 9], 2, "--scale"),
])
def test_bad_inputs_are_one_line_errors(tmp_path, tiny_model_file, args, code, fragment):
    p = tmp_path / "small.png"
    Image.fromarray(scene(14, 14)).save(p)
    out = tmp_path / "q.json"
    r = run("selfcheck", p, *args, "--mode", "fast", "--model", tiny_model_file, "--json", out)
    assert r.exit_code == code, r.output
    assert fragment in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_unreadable_scene_is_exit_5(tmp_path):
    p = tmp_path / "notes.tif"
    p.write_text("not a raster")
    r = run("selfcheck", p, "-s", 2)
    assert r.exit_code == 5 and "cannot read" in r.output, r.output


def test_large_raster_is_sampled_window_by_window(tiny_model_file, file_model, tmp_path):
    """Above --max-pixels a GeoTIFF is read only in its sampled windows; the figures are those of
    the same windows of the picture, pooled, and the line says so."""
    rgb = scene(150, 190, seed=2)
    tif = write_tif(tmp_path / "big.tif", np.moveaxis(rgb, -1, 0), dtype="uint8")
    out = tmp_path / "q.json"
    r = run("selfcheck", tif, "-s", 2, "--max-pixels", 5000, "--samples", 4, "--sample-size", 48,
            "--mode", "fast", "--model", tiny_model_file, "--device", "cpu", "--json", out)
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())[0]
    assert d["sampling"] == "sampled" and len(d["windows"]) == 4 and d["pixels"] == 4 * 48 * 48
    assert "4 sampled windows of 48×48 px of 190×150, pooled over all their pixels" in r.stdout
    ref = ldcsr_core.selfcheck(rgb, 2, model=file_model, mode="fast", max_pixels=5000, samples=4,
                               sample_size=48)
    assert [{"x": w.box[1], "y": w.box[0], "width": 48, "height": 48} for w in ref.windows] == d["windows"]
    assert d["psnr_model"] == pytest.approx(ref.psnr_model, rel=1e-12)
    assert d["ssim_bicubic"] == pytest.approx(ref.ssim_bicubic, rel=1e-12)


def test_json_of_a_flat_scene_is_standard_json(tiny_model_file, tmp_path):
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((48, 48, 3), 123, np.uint8)).save(flat)
    out = tmp_path / "q.json"
    r = run("selfcheck", flat, "-s", 2, "--mode", "fast", "--model", tiny_model_file, "--device", "cpu",
            "--json", out)
    assert r.exit_code == 0, r.output

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    data = json.loads(out.read_text(), parse_constant=refuse)  # no Infinity / NaN
    assert data[0]["psnr_bicubic"] is None  # bicubic of a flat scene is exact: inf dB, written as null
    # and the line says why there is no gain instead of "(-inf dB)" / "(+nan dB)"
    assert "no gain to measure: the pixels are flat" in r.output and "nan dB" not in r.output
    assert "-inf dB" not in r.output, r.output


def test_reports_never_overwrite_an_input(tiny_model_file, tmp_path):
    import hashlib
    victim = tmp_path / "scene.png"
    Image.fromarray(scene(48, 48)).save(victim)
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    r = run("selfcheck", victim, "-s", 2, "--mode", "fast", "--model", tiny_model_file, "--device", "cpu",
            "--json", victim)
    assert r.exit_code == 2 and "the report path is the scene" in r.output, r.output
    r = run("evaluate", tmp_path, "--scales", "2", "--model", tiny_model_file, "--device", "cpu", "--json", victim)
    assert r.exit_code == 2 and "the report path is an image of the set" in r.output, r.output
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == digest
    r = run("evaluate", tmp_path, "--scales", "2", "--model", tiny_model_file, "--device", "cpu",
            "--json", tmp_path / "nodir" / "e.json")
    assert r.exit_code == 2 and "folder does not exist" in r.output, r.output
    # a flat image made the set's figures inf/nan (JSON null): it is refused, naming it, with no report
    Image.fromarray(np.full((48, 48, 3), 90, np.uint8)).save(tmp_path / "flat.png")
    r = run("evaluate", tmp_path, "--scales", "2", "--model", tiny_model_file, "--device", "cpu",
            "--json", tmp_path / "e.json")
    assert r.exit_code == 3 and "flat.png is one flat colour" in r.output and not (tmp_path / "e.json").exists()
    (tmp_path / "flat.png").unlink()
    r = run("evaluate", tmp_path, "--scales", "2", "--model", tiny_model_file, "--device", "cpu",
            "--json", tmp_path / "e.json")
    assert r.exit_code == 0, r.output
    json.loads((tmp_path / "e.json").read_text(), parse_constant=lambda t: pytest.fail(f"not JSON: {t}"))
    Image.fromarray(scene(100, 100)).save(tmp_path / "odd.png")  # 100 px at ×8: 12 px, ×8.33
    r = run("evaluate", tmp_path, "--scales", "8", "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 3 and "odd.png is 100×100 px: at ×8 it would be restored from its 12×12 px copy" in r.output, \
        r.output


def test_the_float_type_and_device_computed_in_are_reported(png, tiny_model_file, tmp_path):
    """They move the figures (shipped model, RSSCN7 g095 at ×4 fast: LR-consistency 49.0 dB in
    float32, 48.8 dB in bfloat16) and were recorded nowhere: the line, the JSON and the HTML report say them; --dtype picks it."""
    from ldcsr_core.quality import write_report

    figures = {}
    for dtype in ("float32", "bfloat16"):
        out = tmp_path / f"{dtype}.json"
        r = run("selfcheck", png, "-s", 2, "--mode", "fast", "--model", tiny_model_file, "--device", "cpu",
                "--dtype", dtype, "--json", out)
        assert r.exit_code == 0, r.output
        assert f"· fast · {dtype} on cpu" in r.stdout, r.stdout
        d = json.loads(out.read_text())[0]
        assert (d["dtype"], d["device"]) == (dtype, "cpu")
        figures[dtype] = d["lr_psnr_model"]
    assert figures["float32"] != figures["bfloat16"]  # the type really was used
    res = selfcheck_scales(scene(), [2], model=ldcsr_core.load_model(tiny_model_file, device="cpu",
                                                                     dtype="bfloat16"), mode="fast")
    write_report(tmp_path / "q.html", res)
    assert "computed in bfloat16 on cpu" in (tmp_path / "q.html").read_text()


def test_a_html_report_name_gets_the_html_page(png, tiny_model_file, tmp_path):
    """The report rule offers '.json or .html' names and QGIS writes HTML for .html; the CLI wrote
    JSON text into q.html."""
    out = tmp_path / "q.html"
    r = run("selfcheck", png, "-s", 2, "--mode", "fast", "--model", tiny_model_file, "--device", "cpu",
            "--json", out)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<td>×2</td>" in text, text[:200]


def test_a_scene_ldcsr_made_is_said_in_the_caution(tiny_model_file, tmp_path):
    """Its pixels are the model's own output, not measurements: before, an ordinary line (and
    upscale warned of such an input while selfcheck did not)."""
    tif = write_tif(tmp_path / "s.tif", np.moveaxis(scene(40, 40), -1, 0), dtype="uint8")
    args = ["-s", 2, "--mode", "fast", "--model", tiny_model_file, "--device", "cpu"]
    assert run("upscale", tif, "-o", tmp_path / "up.tif", *args).exit_code == 0
    r = run("selfcheck", tif, *args)
    assert r.exit_code == 0 and "caution" not in r.stdout, r.output
    r = run("selfcheck", tmp_path / "up.tif", *args, "--json", tmp_path / "q.json")
    said = "caution: the scene is an LDCSR output (model tiny-test 0, ×2 x, ×2 y, fast, from s.tif): its pixels"
    assert r.exit_code == 0 and said in r.stdout, r.output
    assert json.loads((tmp_path / "q.json").read_text())[0]["caution"].startswith("the scene is an LDCSR output")


def test_the_stretch_that_makes_the_8_bit_picture_is_said(file_model, tmp_path):
    """A near-flat 16-bit cloud: PSNR's peak is 255 of the picture the scene is stretched to, so the
    same pixels gave 17 dB under auto and 87 dB under dtype (shipped model), and nothing said which
    picture the figures were about. The line, the JSON and the HTML say it; an 8-bit
    scene read as it is says nothing."""
    import rasterio
    from ldcsr_core.geo.stretch import DEFAULT_PERCENTILES
    from ldcsr_core.quality import write_report

    rng = np.random.default_rng(0)
    tif = write_tif(tmp_path / "cloud.tif", (5000 + rng.normal(0, 3, (3, 48, 48))).astype(np.uint16),
                    dtype="uint16")
    kw = dict(model=file_model, mode="fast")
    auto, dtype = ldcsr_core.selfcheck(tif, 2, **kw), ldcsr_core.selfcheck(tif, 2, stretch="dtype", **kw)
    assert auto.psnr_bicubic < dtype.psnr_bicubic - 30  # the stretch moves the figures this much
    lo, hi = np.percentile(rasterio.open(tif).read(1), DEFAULT_PERCENTILES)
    assert auto.picture.startswith(f"uint16 stretched to 0–255 from {lo:.6g}–{hi:.6g}, ") and auto.picture.endswith(
        ", stretch auto")
    assert dtype.picture == "uint16 stretched to 0–255 from 0–65535, stretch dtype"
    assert f"· crop 2 px · {auto.picture} · fast" in auto.line() and auto.to_dict()["picture"] == auto.picture
    write_report(tmp_path / "q.html", [dtype])
    assert "on uint16 stretched to 0–255 from 0–65535, stretch dtype.</p>" in (tmp_path / "q.html").read_text()
    rgb = write_tif(tmp_path / "rgb.tif", np.moveaxis(scene(48, 48), -1, 0), dtype="uint8")
    plain = ldcsr_core.selfcheck(rgb, 2, **kw)
    assert plain.picture == "" and "stretched" not in plain.line() and plain.to_dict()["picture"] is None


@pytest.mark.parametrize("kw, said", [
    (dict(nodata={4: 0}), "nodata '4=0': "), (dict(nodata=-1), "nodata '-1': no uint8 pixel of "),
    (dict(bands=(1, 2, 5)), "band 5"),
])
def test_the_scenes_refusals_come_before_the_model_loads(tmp_path, monkeypatch, kw, said):
    """ldcsr_core.selfcheck refuses a nodata or bands the scene cannot take before it loads the model
    (a big checkpoint takes seconds), as ldcsr selfcheck does. Before: the model was loaded first."""
    from ldcsr_core import api

    loaded = []
    monkeypatch.setattr(api, "resolve_model", lambda *a, **k: loaded.append(a) or pytest.fail("model loaded"))
    tif = write_tif(tmp_path / "s.tif", np.full((3, 32, 32), 9), dtype="uint8")
    with pytest.raises(ldcsr_core.errors.InputError, match=said):
        ldcsr_core.selfcheck(tif, 2, mode="fast", **kw)
    assert loaded == []


def test_the_cost_of_a_mean_of_k_is_said_before_the_model_loads(png, tiny_model_file, tmp_path,
                                                               stopped_where_the_model_loads):
    """`ldcsr selfcheck IMG -s 2 --mode diffusion --mean-of 3`: before, nothing said that the check takes about 3
    times as long as one sample (upscale --samples K, QGIS and napari say it); now a note on stderr says it, in the
    engine's words (uncertainty.samples_cost of a check), before the model loads; not under -q, not for one sample,
    and not when nothing will run (a --json report already there, refused)."""
    from ldcsr_core.uncertainty import samples_cost

    said = f"note: {samples_cost(3, of='check')}"
    assert said == ("note: 3 samples for the mean the check scores: each is a whole run of the diffusion sampler, so "
                    "this check takes about 3 times as long as one sample would")
    there = tmp_path / "there.json"
    there.write_text("[]")
    for quiet, k, extra, code, expected in (([], 3, [], 1, [said]), (["-q"], 3, [], 1, []), ([], 1, [], 1, []),
                                            ([], 3, ["--json", there], 4, [])):
        r = run(*quiet, "selfcheck", png, "-s", 2, "--mode", "diffusion", "--mean-of", k, *extra,
                "--model", tiny_model_file, "--device", "cpu")
        assert r.exit_code == code, r.output
        assert [ln for ln in r.stderr.splitlines() if "samples for the mean" in ln] == expected, r.stderr
        assert r.stdout == ""
    assert there.read_text() == "[]"
