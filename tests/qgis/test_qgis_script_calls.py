"""The algorithm called as QGIS's API lets a script call it: ``QgsProcessingAlgorithm.run`` without a
feedback (``None``), a vector layer given as the input. Real QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

import pytest
import rasterio
from qgis_runs import (
    ALG,
    QgsApplication,
    QgsProcessingException,
    _as_the_batch_dialog_runs,
    _Feedback,
    _params,
    _run_as_the_dialog_does,
)


def test_a_run_without_a_feedback_runs(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: ``alg.run(params, context, None)`` (QGIS's API allows no feedback) failed with "AttributeError:
    'NoneType' object has no attribute 'pushInfo'", wrote nothing, and QGIS crashed (a segmentation fault in its
    handling of the failure). (A run refused with no feedback still crashes QGIS 3.22, in QGIS's own code: its
    native:raiseexception does too.)"""
    from qgis.core import QgsProcessingContext

    logged = []

    def keep(message, tag, level):
        logged.append(message)

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    out = tmp_path / "o.tif"
    context = QgsProcessingContext()
    QgsApplication.messageLog().messageReceived.connect(keep)
    try:
        results, ok = alg.run(_params(scene, out, tiny_model_file, SCALE=2.0), context, None)
    finally:
        QgsApplication.messageLog().messageReceived.disconnect(keep)
    assert ok, results
    assert any(m.startswith(f"Wrote {out}") for m in logged), logged  # the run's log, in QGIS's message log
    assert results["OUTPUT"] == str(out)
    with rasterio.open(out) as d, rasterio.open(scene) as s:
        assert (d.width, d.height, d.count) == (s.width * 2, s.height * 2, s.count)



@pytest.fixture
def roads(tmp_path):
    """A vector layer named 'roads' in QGIS's project (the one processing.run and a batch read), and its file."""
    from qgis.core import QgsCoordinateTransformContext, QgsProject, QgsVectorFileWriter, QgsVectorLayer

    memory = QgsVectorLayer("LineString?crs=EPSG:32633", "roads", "memory")
    path = str(tmp_path / "roads.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    QgsVectorFileWriter.writeAsVectorFormatV2(memory, path, QgsCoordinateTransformContext(), options)
    layer = QgsVectorLayer(path, "roads", "ogr")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    yield layer, path
    QgsProject.instance().removeMapLayer(layer.id())


@pytest.mark.parametrize("how", ["name", "id", "layer", "file"])
@pytest.mark.parametrize("runner", ["processing.run", "batch", "dialog"])
def test_a_vector_layer_as_the_input_is_said_to_be_one(qgis_processing, roads, tiny_model_file, tmp_path, how, runner):
    """Before: 'LDCSR: input not found: roads' (a batch row, the dialog's task), or QGIS's 'Incorrect parameter
    value for INPUT' (processing.run), as if the layer were not there."""
    from qgis.core import QgsProcessingContext, QgsProject

    layer, path = roads
    given = {"name": "roads", "id": layer.id(), "layer": layer, "file": path}[how]
    params = _params(path, tmp_path / "o.tif", tiny_model_file, INPUT=given)
    if runner == "processing.run":
        feedback = _Feedback()
        with pytest.raises(QgsProcessingException) as ei:
            qgis_processing.run(ALG, params, feedback=feedback)
        said = " ".join([str(ei.value), *feedback.errors])
    elif runner == "batch":
        oks, feedback = _as_the_batch_dialog_runs([params])
        assert oks == [False]
        said = " ".join(feedback.errors)
    else:
        context = QgsProcessingContext()  # the dialog's: of QGIS's project
        context.setProject(QgsProject.instance())
        ok, feedback = _run_as_the_dialog_does(params, context=context)
        assert not ok
        said = " ".join(feedback.errors)
    assert f"is a vector {'file' if how == 'file' else 'layer'}, not a raster: LDCSR super-resolves rasters" in said, said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roads.gpkg"]
