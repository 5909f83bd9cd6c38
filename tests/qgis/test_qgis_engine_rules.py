"""The engine's rules as the QGIS provider applies them: an adapted model used beyond what its guard
checked (``ldcsr_core.adapted_use.outside_use``), the quality report on a layer with nodata (scored
on data only, too little data one error with the raster kept), nodata set in QGIS only, the red, green
and blue bands listed in another order. Real QGIS,
as in ``test_qgis_provider.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qgis_runs import ALG, QgsRasterLayer, _Feedback, _field, _params, _run_as_the_dialog_does, _write

ADAPTED = "this model was adapted and checked at ×2 in fast mode"


@pytest.mark.parametrize("change, said", [
    ({"SCALE": 2.5}, "at ×2.5 it is untested"),
    ({"SCALE": 2.0, "MODE": 0}, "in diffusion mode it is untested"),
    ({"SCALE": 2.0, "BANDS": "3,2,1"}, "on bands 3,2,1 it is untested"),
    ({"SCALE": 2.0, "STRETCH": 2}, "with the dtype stretch it is untested"),
])
def test_an_adapted_model_beyond_its_check_is_one_warning(qgis_processing, scene, adapted_model_file, tmp_path,
                                                          change, said):
    """Before: nothing said; ``ldcsr upscale`` and napari said it. The note is the engine's
    (``outside_use``), once per run, also with the quality report (the model runs again)."""
    from ldcsr_core import load_model
    from ldcsr_core.adapted_use import Reading, adapted_check, outside_use

    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", adapted_model_file, **change,
                                     QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    notes = [w for w in feedback.warnings if ADAPTED.lower() in w.lower()]
    assert len(notes) == 1 and said in notes[0], feedback.textLog()
    bands = tuple(int(b) for b in change.get("BANDS", "1,2,3").split(","))
    stretch = "dtype" if change.get("STRETCH") == 2 else "percentile"
    expected = outside_use(adapted_check(load_model(adapted_model_file, device="cpu")), [change["SCALE"]],
                           "diffusion" if change.get("MODE") == 0 else "fast", Reading(bands, stretch, 4))
    assert notes[0] == expected[0].upper() + expected[1:] + "."
    assert (tmp_path / "o.tif").exists() and (tmp_path / "q.json").exists()


@pytest.mark.parametrize("within", [{"SCALE": 2.0}, {"SCALE": None, "TARGET_PIXEL_SIZE": 5.0},
                                    {"SCALE": 2.0, "BANDS": [1, 2, 3], "STRETCH": 1}])
def test_an_adapted_model_within_its_check_and_a_base_model_say_nothing(qgis_processing, scene, adapted_model_file,
                                                                        tiny_model_file, tmp_path, within):
    for model in (adapted_model_file, tiny_model_file):
        feedback = _Feedback()
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", model, **within), feedback=feedback)
        assert "adapted and checked" not in feedback.textLog() and feedback.warnings == [], feedback.textLog()
    feedback = _Feedback()  # a base model beyond ×2, in diffusion mode: nothing to say either
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.5, MODE=0), feedback=feedback)
    assert "adapted and checked" not in feedback.textLog()


@pytest.fixture(scope="module")
def half_nodata(tmp_path_factory):
    """64×64 px, 3 bands uint16, nodata 0 in the file on the left half."""
    data = _field(np.random.default_rng(1), 3, 64, 64, 200, 12000)
    data[:, :, :32] = 0
    return _write(tmp_path_factory.mktemp("nodata") / "half.tif", data, dtype="uint16", nodata=0)


@pytest.mark.parametrize("suffix", [".json", ".html"])
def test_the_report_of_a_layer_with_nodata_says_how_much_and_scores_data_only(qgis_processing, half_nodata,
                                                                              tiny_model_file, tmp_path, suffix):
    import ldcsr_core

    report, feedback = tmp_path / f"q{suffix}", _Feedback()
    qgis_processing.run(ALG, _params(half_nodata, tmp_path / "o.tif", tiny_model_file, SCALE=2.0,
                                     QUALITY_REPORT=str(report)), feedback=feedback)
    ref = ldcsr_core.selfcheck(str(half_nodata), 2.0, model=ldcsr_core.load_model(tiny_model_file, device="cpu"),
                               mode="fast")
    assert ref.nodata == 64 * 32 and "(50 % nodata, not scored)" in ref.where()
    assert f"{ref.where()} · crop 2 px" in feedback.textLog()
    assert (f"LR-consistency {ref.lr_psnr_model:.1f} dB vs {ref.lr_psnr_bicubic:.1f} dB (SSIM and LR-consistency: higher is better)"
            in feedback.textLog())  # bicubic's yardstick and the direction (before: LDCSR's figure alone)
    if suffix == ".html":
        assert f"<td>{ref.lr_psnr_model:.1f} dB</td><td>{ref.lr_psnr_bicubic:.1f} dB</td>" in report.read_text()
    if suffix == ".json":
        (d,) = json.loads(report.read_text())
        assert d["nodata_pixels"] == 64 * 32 and d["pixels"] == 64 * 64 and d["where"] == ref.where()
        assert d["psnr_model"] == pytest.approx(ref.psnr_model, rel=1e-12)
        assert d["ssim_bicubic"] == pytest.approx(ref.ssim_bicubic, rel=1e-12)
        assert d["dtype"] and d["device"] and f"· {d['dtype']} on {d['device']}" in feedback.textLog()
    else:
        assert "50 % nodata, not scored" in report.read_text() and "computed in float" in report.read_text()


@pytest.mark.parametrize("how", ["dialog", "processing.run"])
def test_too_little_data_to_score_is_one_error_and_the_raster_is_kept(qgis_processing, tiny_model_file, tmp_path,
                                                                      how):
    """The raster is written first: the run succeeds (QGIS loads it) and the missing report is one
    error (red in the dialog, ``ERROR`` in qgis_process), not a warning easily missed, not twice,
    not a traceback. Before: a warning."""
    data = _field(np.random.default_rng(2), 3, 64, 64, 200, 12000)
    data[:, :, 6:] = 0  # 6 columns of data: too few inside the border
    src = _write(tmp_path / "most.tif", data, dtype="uint16", nodata=0)
    params = _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, QUALITY_REPORT=str(tmp_path / "q.json"))
    if how == "dialog":
        ok, feedback = _run_as_the_dialog_does(params)
        assert ok
    else:
        feedback = _Feedback()
        res = qgis_processing.run(ALG, params, feedback=feedback)
        assert res["OUTPUT"] == str(tmp_path / "o.tif") and res["QUALITY_REPORT"] is None
    log = feedback.textLog()
    assert len(feedback.errors) == 1, log
    assert feedback.errors[0].startswith("No quality report: too little data to score at ×2"), log
    assert feedback.errors[0].endswith("; the super-resolved raster was written."), log
    assert log.count("too little data") == 1 and "Traceback" not in log, log
    assert (tmp_path / "o.tif").exists() and not (tmp_path / "q.json").exists()


@pytest.mark.parametrize("case", ["extra value", "file's value off"])
def test_nodata_set_in_qgis_is_what_the_engine_uses(qgis_processing, half_nodata, tiny_model_file, tmp_path, case):
    """A nodata value set in the layer's properties in QGIS, or the file's switched off there, is
    what the output and the quality report use (before: only a warning, the file's nodata used)."""
    import json

    import rasterio
    from qgis.core import QgsRasterRange

    import ldcsr_core

    layer = QgsRasterLayer(str(half_nodata), "half")
    provider = layer.dataProvider()
    for band in (1, 2, 3):
        provider.setUseSourceNoDataValue(band, False)
        if case == "extra value":
            provider.setUserNoDataValue(band, [QgsRasterRange(200, 200)])
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(half_nodata, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer,
                                     QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    with rasterio.open(tmp_path / "o.tif") as out:
        nodata, tag = out.nodata, out.tags().get("LDCSR_NODATA")
    (report,) = json.loads((tmp_path / "q.json").read_text())
    assert not [w for w in feedback.warnings if "nodata" in w], feedback.warnings
    assert "(the layer's, set in QGIS)" in feedback.textLog()
    want = 200.0 if case == "extra value" else None
    assert nodata == want
    assert json.loads(tag) == {"used": None if want is None else "200.0", "file": "0.0"}
    ref = ldcsr_core.selfcheck(str(half_nodata), 2.0, model=ldcsr_core.load_model(tiny_model_file, device="cpu"),
                               mode="fast", maps=False, nodata="none" if want is None else want)
    assert report["nodata_pixels"] == ref.nodata < 64 * 32  # the file's 0s are data now
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(half_nodata, tmp_path / "o2.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert feedback.warnings == []
    with rasterio.open(tmp_path / "o2.tif") as out:
        assert out.nodata == 0 and "LDCSR_NODATA" not in out.tags()


@pytest.mark.parametrize("case, used, said", [
    ("a range", None, None),  # the range's ends from the data, below
    ("a range unbounded below", None, None),  # QGIS: a NaN end
    ("values by band", {"1": ["0.0", "200.0"], "2": "0.0", "3": "0.0"}, "band 1: 0.0 and 200.0; bands 2,3: 0.0"),
    ("file's value off on one band", {"2": "0.0", "3": "0.0"}, "band 1: none; bands 2,3: 0.0"),
])
def test_nodata_ranges_and_values_by_band_set_in_qgis_are_what_the_engine_uses(qgis_processing, half_nodata,
                                                                              tiny_model_file, tmp_path, case, used,
                                                                              said):
    """A range, or values differing by band, set in the layer's Transparency: the run's nodata, each
    band's pixels in them nodata on the output (the file's nodata declared) and left out of the
    quality report. Before: a warning, and the run used the file's nodata, so the pixels QGIS showed
    transparent (200..300 here) were super-resolved as data and scored."""
    import json

    import rasterio
    from qgis.core import QgsRasterRange

    import ldcsr_core
    from ldcsr_core.geo.nodata_override import NodataRange

    layer = QgsRasterLayer(str(half_nodata), "half")
    provider = layer.dataProvider()
    with rasterio.open(half_nodata) as f:
        data = f.read()
    if case.startswith("a range"):  # some of the right half's values, on every band, beside the file's 0
        # (a range of 5..15 %: enough data left whole in 11x11 windows for the report's SSIM)
        lo, hi = int(np.percentile(data[:, :, 32:], 5)), int(np.percentile(data[:, :, 32:], 15))
        lo = float("-inf") if case.endswith("below") else lo
        for band in (1, 2, 3):
            provider.setUserNoDataValue(band, [QgsRasterRange(float("nan") if lo < 0 else lo, hi)])
        used, said, nodata = ["0.0", f"{float(lo)}..{float(hi)}"], f"0.0 and {float(lo)}..{float(hi)}", \
            (0.0, NodataRange(lo, hi))
        invalid = (data == 0) | ((data >= lo) & (data <= hi))
    elif case == "values by band":
        provider.setUserNoDataValue(1, [QgsRasterRange(200, 200)])
        nodata = {1: (0.0, 200.0), 2: (0.0,), 3: (0.0,)}
        invalid = (data == 0) | ((data == 200) & (np.arange(3) == 0)[:, None, None])
    else:
        provider.setUseSourceNoDataValue(1, False)
        nodata = {1: (), 2: (0.0,), 3: (0.0,)}
        invalid = (data == 0) & (np.arange(3) > 0)[:, None, None]
    assert invalid.any() and not invalid.all()
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(half_nodata, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer,
                                     QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert not [w for w in feedback.warnings if "nodata" in w], feedback.warnings
    assert f"nodata {said} (the layer's, set in QGIS)" in feedback.textLog(), feedback.textLog()
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.nodata == 0 and json.loads(out.tags()["LDCSR_NODATA"]) == {"used": used, "file": "0.0"}
        got = out.read() == 0
    # x2: each input pixel is a 2×2 block of the output; its nodata ones are nodata there
    assert (got[:, ::2, ::2] == invalid).all()
    (report,) = json.loads((tmp_path / "q.json").read_text())
    ref = ldcsr_core.selfcheck(str(half_nodata), 2.0, model=ldcsr_core.load_model(tiny_model_file, device="cpu"),
                               mode="fast", maps=False, nodata=nodata)
    assert report["nodata_pixels"] == ref.nodata
    if case.startswith("a range"):  # beyond the file's nodata (the left half)
        assert ref.nodata > 64 * 32


def test_out_of_memory_in_the_self_check_keeps_the_raster(qgis_processing, scene, tiny_model_file, tmp_path,
                                                          monkeypatch):
    """Before: the run failed with "out of memory; nothing was written" though the raster was."""
    import ldcsr_core.quality

    def no_memory(*a, **k):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(ldcsr_core.quality, "selfcheck", no_memory)
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file,
                                           QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert res["OUTPUT"] == str(tmp_path / "o.tif") and (tmp_path / "o.tif").exists() and res["QUALITY_REPORT"] is None
    assert feedback.errors == ["No quality report: out of memory; the super-resolved raster was written."]


@pytest.mark.parametrize("bands, warned", [([1, 2, 3], True), ([3, 2, 1], False), ("1,2,3", False), ([1, 2, 4], False)])
def test_red_green_blue_bands_listed_in_another_order_are_warned_about(qgis_processing, tiny_model_file, tmp_path,
                                                                       bands, warned):
    """The dialog's band list returns the bands checked in the list's order (checking B4, B3, B2 of a
    Sentinel-2 stack gives 1, 2, 3 here: blue, green, red): the model would see the colours swapped
    and nothing said so. Typed text and other bands are as asked, without a word."""
    src = _write(tmp_path / "s2.tif", _field(np.random.default_rng(0), 4, 24, 24, 200, 12000), dtype="uint16",
                 descriptions=["B2", "B3", "B4", "B8"])
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, BANDS=bands), feedback=feedback)
    said = [w for w in feedback.warnings if "colours swapped" in w]
    assert said == ([("bands 1,2,3 are fed to the model as R, G, B, but by the Sentinel-2 rule bands 3,2,1 are red, "
                      "green and blue: the model sees the colours swapped. The band list gives its bands in the "
                      "list's order: drag them into R, G, B order there, or leave the bands empty (automatic: 3,2,1)")]
                    if warned else [])
    assert f"Model input R,G,B = bands {','.join(map(str, bands)) if isinstance(bands, list) else bands} (chosen)" \
        in feedback.textLog()  # as asked


def test_a_float32_fill_given_as_an_additional_nodata_value_is_nodata(qgis_processing, tiny_model_file, tmp_path):
    """-3.4e38 typed as a float32 layer's 'Additional no data value' masks its fill, which is
    float32's nearest value, as QGIS shows it and as under numpy 2 (the engine's one rule,
    ``nodata_masks.nodata_as``). Before: QGIS's numpy 1.24 compared the float32 pixels with
    -3.4e38 in float64, so nothing matched and the run failed 'values reach -3.4e+38 ... probably a
    fill value that the file does not declare as nodata. Give it as nodata' (the user had)."""
    import rasterio
    from qgis.core import QgsRasterRange

    data = _field(np.random.default_rng(7), 3, 24, 24, 0, 1).astype("float32")
    data[:, :, :8] = np.float32(-3.4e38)
    src = _write(tmp_path / "f.tif", data, dtype="float32")
    layer = QgsRasterLayer(str(src), "f")
    for band in (1, 2, 3):
        layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(-3.4e38, -3.4e38)])
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                              feedback=feedback)
    with rasterio.open(res["OUTPUT"]) as out:
        values, nodata = out.read(), out.nodata
    assert np.float32(nodata) == np.float32(-3.4e38), feedback.textLog()
    assert (values[:, :, :16] == np.float32(-3.4e38)).all() and (np.abs(values[:, :, 16:]) < 10).all()


def test_the_files_nodata_and_an_additional_value_are_both_nodata(qgis_processing, tiny_model_file, tmp_path):
    """A layer whose file declares 0 with 255 added in QGIS (two fills, both transparent there):
    both are nodata for the run, the output declaring the file's 0, as the engine's one rule for
    several values (UpscaleOptions(nodata=(0, 255))). Before: a warning ('the file's value and
    another together') and the 255 fill super-resolved as data: an opaque pale band with a fringe."""
    import rasterio
    from qgis.core import QgsRasterRange

    import ldcsr_core
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    data = _field(np.random.default_rng(8), 3, 32, 32, 20, 230)
    data[:, :, :8], data[:, :, 24:] = 0, 255
    src = _write(tmp_path / "two.tif", data, dtype="uint8", nodata=0)
    layer = QgsRasterLayer(str(src), "two")
    for band in (1, 2, 3):
        layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(255, 255)])
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                        feedback=feedback)
    assert feedback.warnings == [] and "nodata 0.0 and 255.0 (the layer's, set in QGIS)" in feedback.textLog()
    upscale_raster(src, tmp_path / "e.tif", model=ldcsr_core.load_model(tiny_model_file, device="cpu"), scale=2,
                   options=UpscaleOptions(mode="fast", nodata=(0, 255)))
    with rasterio.open(tmp_path / "o.tif") as out, rasterio.open(tmp_path / "e.tif") as engine:
        values = out.read()
        assert out.nodata == 0 and np.array_equal(values, engine.read())
        assert out.tags()["LDCSR_NODATA"] == '{"used": ["0.0", "255.0"], "file": "0.0"}'
    assert (values[:, :, 48:] == 0).all() and (values[:, :, :16] == 0).all()


@pytest.mark.parametrize("qgis, cli", [({"SCALE": 2.5}, ["--scale", "2.5"]),
                                       ({"TARGET_PIXEL_SIZE": 4.0}, ["--target-resolution", "4"])])
def test_the_command_line_resumes_a_qgis_output_of_the_same_request(qgis_processing, scene, tiny_model_file,
                                                                    tmp_path, qgis, cli):
    """The same file and settings give the CLI's request tags (``LDCSR_REQUEST``, the ``LDCSR_JOB``
    fingerprint), so ``ldcsr upscale`` skips a QGIS output as a finished result of its request. Before:
    QGIS asked for the scale as one number where the CLI asks per axis, so the tags differed and
    the CLI refused it, 'output exists from another request (source, model or options differ)'.
    A run of a path writes nothing beside it (before, QGIS's layer of it wrote NAME.aux.xml when it
    closed, a file GDAL reads with the input, so that first output was another request's)."""
    import shutil

    import rasterio
    from click.testing import CliRunner
    from ldcsr_core.cli import main

    src = shutil.copy(scene, tmp_path / "s.tif")
    first = tmp_path / "first.tif"
    qgis_processing.run(ALG, _params(src, first, tiny_model_file, **qgis), feedback=_Feedback())
    assert not (tmp_path / "s.tif.aux.xml").exists()
    res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(first), "--mode", "fast",
                                    "--model", str(tiny_model_file), *cli])
    assert res.exit_code == 0 and "1 skipped" in res.output, res.output
    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(src, out, tiny_model_file, **qgis), feedback=_Feedback())
    with rasterio.open(out) as d:
        made = d.tags()
    res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "--mode", "fast",
                                    "--model", str(tiny_model_file), *cli])
    assert res.exit_code == 0, res.output
    assert "1 skipped" in res.output
    with rasterio.open(out) as d:  # not written again
        assert d.tags() == made
    engine = tmp_path / "cli.tif"
    res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(engine), "--mode", "fast",
                                    "--model", str(tiny_model_file), *cli])
    with rasterio.open(engine) as e:
        assert e.tags() == made


SHIPPED_GROUND = ("At {} the scene's 10 m pixels make ones of {} on the ground, outside the 0.1–2 m of the imagery the "
                  "shipped models were trained to make (docs/MODEL_CARD.md), so the result is untested there; the "
                  "Quality report (or ldcsr selfcheck) measures it on this layer.")
MADE = {"×1.1": "9.09 m", "×1.11111": "9 m", None: "8 m"}  # the scene's 10 m (UTM: 10.004 m) at each scale of BELOW
BELOW = [({"SCALE": 1.1}, "×1.1"), ({"SCALE": None, "TARGET_PIXEL_SIZE": 9.0}, "×1.11111"), ({"SCALE": 1.25}, None)]


@pytest.mark.parametrize("change, said", BELOW)
def test_a_scale_below_the_trained_scales_is_one_warning(qgis_processing, scene, tiny_model_file, tmp_path, change,
                                                         said):
    """Below ×1.25 (the shipped models' training scales start there) the run is written and says it may be
    untested, in the engine's words (``adapted_use.scale_note``): of the tiny model, not a shipped one, its
    training scales are not known; before, nothing was said, then it was said untested as of a shipped model.
    Nothing is said of the scene's 10 m pixels: what the model was trained on is not known."""
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, **change), feedback=feedback)
    assert (tmp_path / "o.tif").exists()
    assert feedback.warnings == ([f"{said} is below the scales the shipped models were trained on (×1.25–×8); the "
                                  "scales tiny-test was trained on are not known here, so the result may be untested "
                                  "there (docs/MODEL_CARD.md); the Quality report (or ldcsr selfcheck) measures it on "
                                  "this layer."] if said else []), feedback.textLog()


@pytest.mark.parametrize("change, said", BELOW)
def test_a_shipped_model_outside_its_training_warns_of_the_scale_and_the_ground(qgis_processing, scene, tmp_path,
                                                                                change, said):
    """A shipped model below ×1.25 is said untested there in the shipped models' words; the scene's 10 m pixels
    make ones outside those of their training imagery: one warning too (before: none)."""
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", "", MODE=1, **change), feedback=feedback)  # shipped
    assert (tmp_path / "o.tif").exists()
    assert feedback.warnings == ([f"{said} is below the scales the shipped models were trained on (×1.25–×8), so the "
                                  "result is untested there (docs/MODEL_CARD.md); the Quality report (or ldcsr "
                                  "selfcheck) measures it on this layer."] if said else []) + [
        SHIPPED_GROUND.format(said or "×1.25", MADE[said])], \
        feedback.textLog()


def test_a_report_the_layer_is_too_small_for_says_no_cost_of_its_samples(qgis_processing, tiny_model_file, tmp_path):
    """A 28×28 px layer at ×8, Samples 2, with a quality report: the raster is written; before, a warning that the
    check takes about 2 times as long as one sample, then `No quality report: the scene is 28×28 px; a self-check at
    ×8 needs at least 32×32 px …`; now the error alone (the engine's plan check, ``quality.selfcheck_windows``, before the
    cost is said), the run's own cost warning kept."""
    from ldcsr_core.uncertainty import samples_cost

    src = _write(tmp_path / "small.tif", _field(np.random.default_rng(3), 3, 28, 28, 0, 255), dtype="uint8")
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=8.0, MODE=0, SAMPLES=2,
                                           QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert res["OUTPUT"] == str(tmp_path / "o.tif") and res["QUALITY_REPORT"] is None
    assert feedback.errors == ["No quality report: the scene is 28×28 px; a self-check at ×8 needs at least 32×32 px "
                               "(the scene is degraded by the scale, then scored inside a 8-px border); the "
                               "super-resolved raster was written."], feedback.textLog()
    assert feedback.warnings == [samples_cost(2)], feedback.textLog()  # the run's, not the refused check's
    assert (tmp_path / "o.tif").exists() and not (tmp_path / "q.json").exists()
