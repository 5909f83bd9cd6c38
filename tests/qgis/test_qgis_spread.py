"""The uncertainty map in QGIS: 'Samples for the uncertainty map' and the 'Uncertainty (spread) raster', as
``ldcsr upscale --samples K --spread-out FILE`` writes them. Before, the algorithm had neither parameter: a QGIS
user could not see where a result is unsure (processing.run's SAMPLES and SPREAD were ignored, and no spread
file was written)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from qgis_runs import ALG, QgsProcessingException, QgsRasterLayer, _Feedback, _params, _run_as_the_dialog_does
from qgis_scenes import _field, _write


def _spread_params(scene, out, model, **kw):
    return _params(scene, out, model, **{"SCALE": 2.0, "MODE": 0, "SEED": 5, "SAMPLES": 3, **kw})


def test_the_spread_raster_is_the_engines_with_the_command_lines_tags_and_band_names(
        qgis_processing, scene, tiny_model_file, tmp_path):
    """SAMPLES 3, seed 5, diffusion, SPREAD s.tif: the spread raster holds the pixels the engine gives for that
    input, seed and K (upscale_raster called directly, the output its mean), and carries the tags and band names
    of `ldcsr upscale --samples 3 --seed 5 --spread-out`, its LDCSR_SPREAD_OF naming QGIS's output. Fails on
    main: no SPREAD parameter, nothing written there."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster
    from qgis_ldcsr.algorithm import _load_model

    out, spread = tmp_path / "o.tif", tmp_path / "s.tif"
    res = qgis_processing.run(ALG, _spread_params(scene, out, tiny_model_file, SPREAD=str(spread)),
                              feedback=_Feedback())
    assert res["SPREAD"] == str(spread)

    engine_out, engine_spread = tmp_path / "e.tif", tmp_path / "e_s.tif"
    upscale_raster(scene, engine_out, model=_load_model(str(tiny_model_file)), scale=2.0,
                   options=UpscaleOptions(mode="diffusion", seed=5, samples=3), spread_path=engine_spread)
    cli_out, cli_spread = tmp_path / "c.tif", tmp_path / "c_s.tif"
    ran = CliRunner().invoke(main, ["upscale", str(scene), "-o", str(cli_out), "--scale", "2", "--seed", "5",
                                    "--samples", "3", "--spread-out", str(cli_spread), "--model",
                                    str(tiny_model_file)])
    assert ran.exit_code == 0, ran.output

    with rasterio.open(spread) as q, rasterio.open(engine_spread) as e, rasterio.open(cli_spread) as c:
        values = q.read()
        assert q.dtypes == e.dtypes == ("float32",) * 4
        np.testing.assert_array_equal(values, e.read())  # NaN where the scene has no data, on both
        assert np.isnan(values[:, 10:28, 14:40]).all() and np.nanmax(values) > 0
        assert q.descriptions == c.descriptions == ("spread of B4 red", "spread of B3 green", "spread of B2 blue",
                                                    "spread of B8 nir")
        tags, cli_tags = q.tags(), c.tags()
        assert tags["LDCSR_SPREAD_OF"] == "o.tif" and cli_tags["LDCSR_SPREAD_OF"] == "c.tif"
        mine = ("LDCSR_SPREAD_OF",)  # LDCSR_JOB too is the same: QGIS's run wrote nothing beside the input
        assert {k: v for k, v in tags.items() if k not in mine} == {k: v for k, v in cli_tags.items() if k not in mine}
        assert tags["LDCSR_SAMPLES"] == "3" and "seeds 5..7" in tags["LDCSR_SPREAD"]
        assert (q.transform, q.crs, q.shape) == (e.transform, e.crs, e.shape)
    with rasterio.open(out) as q, rasterio.open(engine_out) as e:  # the output is the samples' mean
        np.testing.assert_array_equal(q.read(), e.read())
        assert q.tags()["LDCSR_SAMPLES"] == "3" and q.tags()["LDCSR_JOB"] == tags["LDCSR_JOB"]


def test_samples_without_a_spread_raster_write_the_command_lines_name_next_to_the_output(
        qgis_processing, scene, tiny_model_file, tmp_path):
    """SAMPLES 2, no SPREAD: as `ldcsr upscale -o o.tif --samples 2`, o_spread.tif; the result names it."""
    out = tmp_path / "o.tif"
    res = qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SCALE=2.0, MODE=0, SAMPLES=2),
                              feedback=_Feedback())
    assert res["SPREAD"] == str(tmp_path / "o_spread.tif")
    with rasterio.open(res["SPREAD"]) as s:
        assert s.tags()["LDCSR_SAMPLES"] == "2" and s.count == 4


@pytest.mark.parametrize("case", ["spread with one sample", "samples in fast mode", "samples not whole",
                                  "spread over the input", "spread over the output", "not a GeoTIFF name",
                                  "spread over a project layer's file", "spread folder missing",
                                  "samples above the engine's limit", "samples past a 32-bit int",
                                  "samples past a 32-bit int as text"])
def test_an_uncertainty_map_that_cannot_be_made_is_refused_before_the_model_loads(
        qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch, case):
    """Each refused in the engine's words (as ldcsr upscale refuses it), before the model loads, nothing written.
    Fails on main: the SAMPLES and SPREAD parameters were ignored, and the runs wrote the output."""
    from qgis.core import QgsProject

    from qgis_ldcsr import algorithm

    src = tmp_path / "scene.tif"
    shutil.copy(scene, src)
    out, other = tmp_path / "o.tif", tmp_path / "other.tif"
    shutil.copy(scene, other)
    def files():  # (QGIS's layers write their .aux.xml)
        return sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".aux.xml"))

    before = files()
    kw, says = {
        "spread with one sample": ({"SAMPLES": 1, "SPREAD": str(tmp_path / "s.tif")},
                                   "LDCSR: a spread file needs samples > 1 (the spread of one sample is 0)"),
        "samples in fast mode": ({"MODE": 1}, "LDCSR: Samples for the uncertainty map 3 needs mode 'diffusion': "
                                 "'fast' mode is "
                                 "deterministic, so all its samples are the same image and the spread would be 0 "
                                 "everywhere"),
        "samples not whole": ({"SAMPLES": "2.5"}, "LDCSR: the samples for the uncertainty map must be a whole "
                              "number, got '2.5'"),
        "spread over the input": ({"SPREAD": str(src)}, f"LDCSR: spread path is the input file: {src}"),
        "spread over the output": ({"SPREAD": str(out)}, f"LDCSR: spread path is the output file: {out}"),
        "not a GeoTIFF name": ({"SPREAD": str(tmp_path / "s.png")}, f"LDCSR: {tmp_path / 's.png'} is not a GeoTIFF "
                               "name: outputs are GeoTIFFs, so give a name ending in .tif or .tiff"),
        "spread over a project layer's file": ({"SPREAD": str(other)}, "LDCSR: spread path is the file of layer "
                                               f"'other' in the project: {other} (inputs are never overwritten): "
                                               "choose another spread file, or remove that layer"),
        "spread folder missing": ({"SPREAD": str(tmp_path / "no" / "s.tif")},
                                  f"LDCSR: spread folder does not exist: {tmp_path / 'no'}"),
        # before qgis34: no limit (K=2 on 600² px ×2 took 42 s); napari's box alone stopped at 32
        "samples above the engine's limit": ({"SAMPLES": 40}, "LDCSR: Samples for the uncertainty map 40 is more than "
                                             "the 32 samples an uncertainty map takes (each sample is a whole run: 40 "
                                             "would take 40 times as long as one): use 32 or fewer"),
        # before: QGIS's parameterAsInt made them 0, so the run went on with one sample and no uncertainty map
        "samples past a 32-bit int": ({"SAMPLES": 2**31}, "LDCSR: Samples for the uncertainty map 2147483648 is more "
                                      "than the 32 samples"),
        "samples past a 32-bit int as text": ({"SAMPLES": "1e10"}, "LDCSR: Samples for the uncertainty map "
                                              "10000000000 is more than the 32 samples"),
    }[case]
    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    project = QgsProject.instance()
    project.addMapLayer(QgsRasterLayer(str(other), "other", "gdal"))
    try:
        with pytest.raises(QgsProcessingException) as ei:
            qgis_processing.run(ALG, _spread_params(src, out, tiny_model_file, **kw), feedback=_Feedback())
    finally:
        project.removeMapLayers(list(project.mapLayers()))
    assert str(ei.value).startswith(says), str(ei.value)
    assert files() == before


def test_a_cancel_leaves_neither_the_output_nor_the_spread_raster(qgis_processing, tiny_model_file, tmp_path):
    """Cancelled after the first tile, as the dialog runs it, while the spread raster's part file was being
    written: no output, no spread raster, no part file left. Fails on main: no spread raster was begun."""

    class CancelAfterATile(_Feedback):
        seen: list = []

        def setProgress(self, progress):  # noqa: N802 - QGIS's name
            super().setProgress(progress)
            if progress > 0 and not self.isCanceled():
                self.seen[:] = sorted(p.name for p in tmp_path.iterdir())
                self.cancel()

    src = _write(tmp_path / "big.tif", _field(np.random.default_rng(1), 3, 200, 240, 0, 255), dtype="uint8")
    out, spread = tmp_path / "o.tif", tmp_path / "s.tif"
    ok, feedback = _run_as_the_dialog_does(_spread_params(src, out, tiny_model_file, SPREAD=str(spread)),
                                           CancelAfterATile())
    assert not ok
    assert any(name.startswith(".s.tif.") for name in feedback.seen), feedback.seen  # being written
    assert feedback.errors[-1] == "Cancelled: nothing was written."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif"]


@pytest.mark.parametrize("file_names", [True, False])
def test_the_spread_raster_is_loaded_with_the_output_named_after_it_on_a_colour_ramp(
        qgis_processing, scene, tiny_model_file, tmp_path, file_names, monkeypatch):
    """"Open output file after running" on the output and on the spread raster (its default once a file is given),
    as the dialog runs and loads them: both are added, the spread named after the output's layer (its file's name, or the
    parameter's where Processing's 'Prefer output filename for layer names' is off, as for a temporary file) and drawn on a colour ramp."""
    from qgis.core import QgsProcessingContext, QgsProcessingOutputLayerDefinition, QgsProject, QgsSettings

    from ldcsr_core.files import same_file

    out, spread = tmp_path / "o.tif", tmp_path / "s.tif"
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # QGIS names a layer of a temporary file as the output
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    key = "Processing/Configuration/PREFER_FILENAME_AS_LAYER_NAME"
    setting = QgsSettings().value(key)
    QgsSettings().setValue(key, file_names)
    try:
        params = _spread_params(scene, out, tiny_model_file, SPREAD=QgsProcessingOutputLayerDefinition(str(spread), project),
                                OUTPUT=QgsProcessingOutputLayerDefinition(str(out), project))
        ok, feedback = _run_as_the_dialog_does(params, context=context, load=True)
        assert ok, feedback.errors
        layers = {lyr.source(): lyr for lyr in project.mapLayers().values()}
        (main,) = [lyr for src, lyr in layers.items() if same_file(src, out)]
        (shown,) = [lyr for src, lyr in layers.items() if same_file(src, spread)]
        name = "o" if file_names else "Super-resolved raster"
        assert (main.name(), shown.name()) == (name, f"{name}: spread of 3 samples")
        assert shown.renderer().type() == "singlebandpseudocolor" and shown.renderer().band() == 1
        assert shown.renderer().shader().rasterShaderFunction().colorRampItemList()
        assert main.renderer().type() != "singlebandpseudocolor"
    finally:
        QgsSettings().remove(key) if setting is None else QgsSettings().setValue(key, setting)
        project.removeMapLayers(list(project.mapLayers()))


def test_the_samples_parameter_stops_at_the_engines_limit(qgis_processing):
    """The dialog's box, batch and the modeler stop at the engine's limit, napari's and `ldcsr upscale --samples`'s.
    Fails on main: no maximum."""
    from qgis.core import QgsApplication

    from ldcsr_core.rules import MAX_SAMPLES

    definition = QgsApplication.processingRegistry().algorithmById(ALG).parameterDefinition("SAMPLES")
    assert definition.maximum() == MAX_SAMPLES == 32


@pytest.mark.parametrize("spread_box", ["unticked", "skipped"])
def test_the_spread_raster_is_loaded_as_its_own_box_says(qgis_processing, scene, tiny_model_file, tmp_path,
                                                         spread_box):
    """The output's "Open output file after running" ticked, as the dialog runs and loads it: a spread raster given
    with its own box unticked is written but not loaded (fails on main: loaded with the output whatever its box
    said); one skipped (its box greyed out: written next to the output) is loaded with the output."""
    from qgis.core import QgsProcessingContext, QgsProcessingOutputLayerDefinition, QgsProject

    from ldcsr_core.files import same_file

    out = tmp_path / "o.tif"
    spread = tmp_path / ("s.tif" if spread_box == "unticked" else "o_spread.tif")
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    given = {"SPREAD": QgsProcessingOutputLayerDefinition(str(spread))} if spread_box == "unticked" else {}
    try:  # (the dialog's unticked box: a destination without a project; skipped: no value)
        params = _spread_params(scene, out, tiny_model_file, SAMPLES=2, **given,
                                OUTPUT=QgsProcessingOutputLayerDefinition(str(out), project))
        ok, feedback = _run_as_the_dialog_does(params, context=context, load=True)
        assert ok, feedback.errors
        assert spread.is_file()
        loaded = [lyr.source() for lyr in project.mapLayers().values()]
        assert any(same_file(src, out) for src in loaded), loaded
        assert any(same_file(src, spread) for src in loaded) == (spread_box == "skipped"), loaded
    finally:
        project.removeMapLayers(list(project.mapLayers()))


def test_a_quality_report_with_samples_scores_their_mean_as_the_output_is(qgis_processing, scene, tiny_model_file,
                                                                          tmp_path):
    """SAMPLES 2 with a quality report: the output is the mean of 2 samples, and the report scores that (the engine's
    selfcheck of the mean of 2 on the layer, its figures and `mean_of` 2), not one sample as before (fails on main:
    the report's figures were the seed's one sample, and the log warned so). The log says what it scores, the
    run's cost before the model loads, and the check's (K more samples) once before the check starts (fails on
    main: only the run's was said, the check taking as long again unannounced)."""
    import json

    from ldcsr_core.quality import selfcheck
    from qgis_ldcsr.algorithm import _load_model

    class Logged(_Feedback):
        def __init__(self):
            super().__init__()
            self.log = []

        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            self.log.append(info)
            super().pushInfo(info)

        def pushWarning(self, warning):  # noqa: N802 - QGIS's name
            self.log.append(warning)
            super().pushWarning(warning)

    fb = Logged()
    report = tmp_path / "r.json"
    res = qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, MODE=0, SAMPLES=2,
                                           QUALITY_REPORT=str(report)), feedback=fb)
    assert res["QUALITY_REPORT"] == str(report)
    with rasterio.open(res["OUTPUT"]) as o:
        assert o.tags()["LDCSR_SAMPLES"] == "2"  # the output is the mean of 2
    (got,) = json.loads(report.read_text())
    model = _load_model(str(tiny_model_file))
    one = selfcheck(str(scene), 2.0, model=model, maps=False).to_dict()  # the seed's one sample, as before
    assert got["psnr_model"] != pytest.approx(one["psnr_model"], abs=1e-6)
    mean = selfcheck(str(scene), 2.0, model=model, mean_of=2, maps=False).to_dict()
    assert got["mean_of"] == 2 and got["psnr_model"] == pytest.approx(mean["psnr_model"], abs=1e-9)
    check_cost = ("2 samples for the mean the check scores: each is a whole run of the diffusion sampler, so this "
                  "check takes about 2 times as long as one sample would")
    assert fb.warnings == ["2 samples for the uncertainty map: each is a whole run of the diffusion sampler, so this "
                           "run takes about 2 times as long as one sample would", check_cost]
    starts = next(i for i, line in enumerate(fb.log) if line.startswith("Quality report: self-check"))
    scored = next(i for i, line in enumerate(fb.log) if f"report: {report}" in line)
    assert starts < fb.log.index(check_cost) < scored  # said as the check starts, before its figures
