"""The Model parameter (``MODEL_NAME``): the built-in and adapted models by name, from the engine's one
list (``ldcsr_core.model_names``), as ``ldcsr upscale --model NAME`` and napari's Model list take them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from qgis_runs import ALG, QgsApplication, QgsProcessingException, _Feedback, _run_as_the_dialog_does

V1 = "ldcsr-compact-rsscn7-v1"  # unlike the default in fast mode (v4 gives v3's pixels there)


def _params(src, out, **kw):
    p = {"INPUT": str(src), "SCALE": 2.0, "MODE": 1, "SEED": 0, "OUTPUT": str(out)}
    p.update(kw)
    return p


def _pixels(path):
    with rasterio.open(path) as d:
        return d.read()


@pytest.fixture
def models_dir(tmp_path, monkeypatch, adapted_model_file):
    """The user's model folder, with one adapted model in it."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(adapted_model_file, folder / "mine.safetensors")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
    return folder


def test_the_model_parameter_lists_the_engines_models_with_its_default(qgis_processing, models_dir):
    """Before: only a Model file box; a built-in model other than the default, or an adapted one,
    could be given only by its path."""
    from ldcsr_core.model_names import default_model_name, named_models

    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)  # as the dialog makes it: the list now
    param = alg.parameterDefinition("MODEL_NAME")
    assert param.options() == list(named_models())
    assert {V1, "ldcsr-compact-rsscn7-v4", "mine.safetensors"} <= set(param.options())
    assert param.defaultValue() == default_model_name() == param.options()[0]
    assert param.usesStaticStrings()  # a script, a batch cell or a model stores the name, not an index


def test_a_model_folder_that_is_a_file_is_said_by_the_model_parameter(qgis_processing, adapted_model_file, monkeypatch):
    """LDCSR_MODELS_DIR set to a model's file: the Model parameter says why it lists no adapted model.
    Before: it offered the built-in models alone, without a word."""
    from ldcsr_core.adaptation import model_folder_problem
    from ldcsr_core.model_names import named_models

    monkeypatch.setenv("LDCSR_MODELS_DIR", str(adapted_model_file))
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)  # as the dialog makes it
    param = alg.parameterDefinition("MODEL_NAME")
    assert param.options() == list(named_models()) and all(not n.endswith(".safetensors") for n in param.options())
    assert param.description() == f"Model: a built-in or an adapted one ({model_folder_problem()})"
    assert model_folder_problem().startswith(f"LDCSR_MODELS_DIR={adapted_model_file} is a file, not a folder")


def test_a_built_in_model_by_name_gives_the_pixels_of_ldcsr_upscale_model_name(qgis_processing, scene, tmp_path):
    from click.testing import CliRunner
    from ldcsr_core.cli import main

    src = shutil.copy(scene, tmp_path / "s.tif")
    cli = tmp_path / "cli.tif"
    res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(cli), "--scale", "2", "--mode", "fast",
                                    "--seed", "0", "--model", V1])
    assert res.exit_code == 0, res.output
    named, shipped = tmp_path / "named.tif", tmp_path / "shipped.tif"
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, named, MODEL_NAME=V1), feedback=feedback)
    assert "Model: ldcsr-compact-rsscn7 1 (sha256 b77f0fbb2e59)" in feedback.textLog(), feedback.textLog()
    assert np.array_equal(_pixels(named), _pixels(cli))
    qgis_processing.run(ALG, _params(src, shipped), feedback=_Feedback())  # no name: the default, not v1
    assert not np.array_equal(_pixels(shipped), _pixels(named))
    with rasterio.open(named) as a, rasterio.open(cli) as b:
        assert a.tags()["LDCSR_MODEL"] == b.tags()["LDCSR_MODEL"]


@pytest.mark.parametrize("how", ["processing.run", "dialog"])
def test_an_adapted_model_by_name_is_its_file(qgis_processing, scene, models_dir, tmp_path, how):
    by_name, by_file = tmp_path / "by_name.tif", tmp_path / "by_file.tif"
    params = _params(scene, by_name, MODEL_NAME="mine.safetensors")
    if how == "dialog":
        ok, feedback = _run_as_the_dialog_does(params)
        assert ok, feedback.textLog()
    else:
        qgis_processing.run(ALG, params, feedback=_Feedback())
    qgis_processing.run(ALG, _params(scene, by_file, MODEL=str(models_dir / "mine.safetensors")), feedback=_Feedback())
    assert np.array_equal(_pixels(by_name), _pixels(by_file))


def test_a_model_file_is_used_instead_of_the_model(qgis_processing, scene, tiny_model_file, tmp_path):
    both, file_only = tmp_path / "both.tif", tmp_path / "file.tif"
    qgis_processing.run(ALG, _params(scene, both, MODEL_NAME=V1, MODEL=str(tiny_model_file)), feedback=_Feedback())
    qgis_processing.run(ALG, _params(scene, file_only, MODEL=str(tiny_model_file)), feedback=_Feedback())
    assert np.array_equal(_pixels(both), _pixels(file_only))


@pytest.mark.parametrize("how", ["processing.run", "dialog"])
def test_an_unknown_model_name_is_one_line_naming_the_models(qgis_processing, scene, models_dir, tmp_path,
                                                             monkeypatch, how):
    """Before: no such parameter; now a name QGIS does not list is the engine's one line naming those
    there are, not QGIS's 'Incorrect parameter value for MODEL_NAME', and nothing is loaded or written."""
    from ldcsr_core.model_names import named_models
    from qgis_ldcsr import algorithm

    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    out = tmp_path / "o.tif"
    params = _params(scene, out, MODEL_NAME="ldcsr-compact-rsscn7-v9")
    if how == "dialog":
        ok, feedback = _run_as_the_dialog_does(params)
        assert not ok and len(feedback.errors) == 1
        msg = feedback.errors[0]
    else:
        with pytest.raises(QgsProcessingException) as exc:
            qgis_processing.run(ALG, params, feedback=_Feedback())
        msg = str(exc.value)
    names = ", ".join(named_models())
    assert msg == (f"LDCSR: no model is named 'ldcsr-compact-rsscn7-v9': the models are {names}; give one of "
                   "them, or a checkpoint file"), msg
    assert V1 in names and "mine.safetensors" in names
    assert not out.exists()


def _model_of(params):
    """A model of the graphical modeler with one step, the algorithm with ``params`` (its output the model's)."""
    from qgis.core import (QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                           QgsProcessingModelChildParameterSource, QgsProcessingModelOutput)

    model = QgsProcessingModelAlgorithm("sr", "tests")
    child = QgsProcessingModelChildAlgorithm(ALG)
    child.setChildId("sr")
    for name, value in params.items():
        if name != "OUTPUT":
            child.addParameterSources(name, [QgsProcessingModelChildParameterSource.fromStaticValue(value)])
    out = QgsProcessingModelOutput("result")
    out.setChildOutputName("OUTPUT")
    child.setModelOutputs({"result": out})
    model.addChildAlgorithm(child)
    model.updateDestinationParameters()
    return model


def test_a_model_of_the_graphical_modeler_takes_the_name(qgis_processing, scene, tmp_path):
    """A model made in the graphical modeler stores the Model's name in its step and runs it."""
    model = _model_of(_params(scene, "", MODEL_NAME=V1))
    dst = tmp_path / "modeled.tif"
    results = qgis_processing.run(model, {"sr:result": str(dst)}, feedback=_Feedback())
    assert dst.exists(), results
    from ldcsr_core.builtin_models import model_path

    direct = tmp_path / "direct.tif"  # v1 by its file: not the default's pixels
    qgis_processing.run(ALG, _params(scene, direct, MODEL=str(model_path(V1))), feedback=_Feedback())
    assert np.array_equal(_pixels(dst), _pixels(direct))


@pytest.mark.parametrize("given", ["expression", "static property", "a list"])
def test_a_model_name_given_as_a_property_is_that_name(qgis_processing, scene, tmp_path, monkeypatch, given):
    """A name given by a QgsProperty (processing.run's expressions) or a value no name is, is checked as the
    others are. Before: QGIS read one not listed as the default, and the shipped model ran in its stead."""
    from qgis.core import QgsProperty
    from qgis_ldcsr import algorithm

    loaded = []
    monkeypatch.setattr(algorithm, "_load_model", lambda path: loaded.append(path) or 1 / 0)
    value = {"expression": lambda n: QgsProperty.fromExpression(f"'{n}'"),
             "static property": QgsProperty.fromValue, "a list": lambda n: [n]}[given]
    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException, match=r"^LDCSR: no model is named .*ldcsr-compact-rsscn7-v9"):
        qgis_processing.run(ALG, _params(scene, out, MODEL_NAME=value("ldcsr-compact-rsscn7-v9")), feedback=_Feedback())
    assert loaded == [] and not out.exists()
    if given != "a list":  # a name listed: that model
        with pytest.raises(QgsProcessingException):
            qgis_processing.run(ALG, _params(scene, out, MODEL_NAME=value(V1)), feedback=_Feedback())
        from ldcsr_core.builtin_models import model_path

        assert loaded == [str(model_path(V1))]


def test_a_model_saved_before_the_model_parameter_runs_the_shipped_model(qgis_processing, scene, tmp_path):
    """A .model3 saved before MODEL_NAME existed (its step has no value for it), read back from its file,
    runs and gives the shipped model's pixels, as it did."""
    from qgis.core import QgsProcessingModelAlgorithm

    model = _model_of(_params(scene, "", MODEL=""))  # the parameters of before, the Model file empty
    saved = tmp_path / "sr.model3"
    assert model.toFile(str(saved)) and "MODEL_NAME" not in saved.read_text()
    loaded = QgsProcessingModelAlgorithm()
    assert loaded.fromFile(str(saved))
    dst, direct = tmp_path / "modeled.tif", tmp_path / "direct.tif"
    qgis_processing.run(loaded, {"sr:result": str(dst)}, feedback=_Feedback())
    qgis_processing.run(ALG, _params(scene, direct), feedback=_Feedback())
    assert np.array_equal(_pixels(dst), _pixels(direct))


@pytest.mark.parametrize("given", [1, "1", " 1 ", 99, "99", np.int64(1), np.int64(99)],
                         ids=["1", "text 1", "text 1 spaced", "99", "text 99", "numpy 1", "numpy 99"])
def test_a_model_given_by_its_option_number_is_that_option_as_a_number_or_as_text(qgis_processing, scene, tmp_path,
                                                                                 monkeypatch, given):
    """An option's number, as processing.algorithmHelp lists the Model's values ('1: ldcsr-compact-rsscn7-v1';
    'str: as string representation of int, e.g. '1''), is that option whether given as 1 or "1", as QGIS reads
    its enums; beyond the list, the same one line for both. Test fails on main: "1" was taken as a name
    ("no model is named '1'"), 1 as the option; a script's np.int64(1) was taken as the name '1' until review35g."""
    from qgis_ldcsr import algorithm

    from ldcsr_core.model_names import model_named, named_models

    loaded = []
    monkeypatch.setattr(algorithm, "_load_model", lambda path: loaded.append(path) or 1 / 0)
    options = list(named_models())
    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException) as exc:
        qgis_processing.run(ALG, _params(scene, out, MODEL_NAME=given), feedback=_Feedback())
    if int(given) < len(options):
        assert loaded == [str(model_named(options[int(given)]))], str(exc.value)
    else:
        assert loaded == [] and str(exc.value) == (f"LDCSR: Model 99 is no option's number (0 to {len(options) - 1}): "
                                                   f"give a model's name, one of {', '.join(options)}")
    assert not out.exists()


def test_a_model_s_step_to_an_output_loaded_in_qgis_reopens_its_layer(qgis_processing, scene, tiny_model_file,
                                                                        tmp_path):
    """A model of the graphical modeler run as its dialog runs it (a task), its step writing again to an output
    loaded in QGIS's project: the layer shows the new raster once the model has run, as after the algorithm's own
    run. Test fails on main: the step's post-processing ran on the model's thread, where layers are not QGIS's
    to reopen, and the layer went on showing the raster the step replaced (122 x 90 px for the new 183 x 135)."""
    import time

    from qgis.core import QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProject, QgsRasterLayer

    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, MODEL=str(tiny_model_file)), feedback=_Feedback())
    layer = QgsRasterLayer(str(out), "o", "gdal")
    QgsProject.instance().addMapLayer(layer)
    context, feedback, done = QgsProcessingContext(), _Feedback(), []  # alive while the task runs
    context.setProject(QgsProject.instance())
    model = _model_of(_params(scene, "", SCALE=3.0, MODEL=str(tiny_model_file)))
    task = QgsProcessingAlgRunnerTask(model, {"sr:result": str(out)}, context, feedback)
    task.executed.connect(lambda ok, results: done.append(ok))
    try:
        QgsApplication.taskManager().addTask(task)
        deadline = time.monotonic() + 120
        while not done and time.monotonic() < deadline:
            QgsApplication.processEvents()
            time.sleep(0.01)
        QgsApplication.processEvents()  # what the step sent to QGIS's main thread
        assert done == [True]
        with rasterio.open(out) as d:
            assert (layer.width(), layer.height()) == (d.width, d.height) == (183, 135)
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
