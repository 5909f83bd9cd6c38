"""A batch's rows as QGIS 3.22's batch dialog runs them: one by one, each ``alg.run`` with its row's
parameters and a new context with QGIS's project, so no row sees the others (the command line checks a
folder run whole). The rows' inputs are the project's layers."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from qgis_runs import ALG, _as_the_batch_dialog_runs, _Feedback, _params


def _vrt(path, sources):
    from osgeo import gdal

    gdal.BuildVRT(str(path), [str(s) for s in sources]).FlushCache()
    return path


IN_A_BATCH = ("a batch runs its rows one by one: a row reading that file after this one would read the new raster; "
              "an earlier LDCSR result its layer shows is replaced by a run on its own")

READERS = {  # a layer of the project reading b.tif: (its file, its name, what the refusal calls b.tif)
    "its file": (lambda t: t / "b.tif", "Roads 2019", "the file of layer 'Roads 2019' in the project"),
    "a VRT's source": (lambda t: _vrt(t / "v.vrt", [t / "b.tif"]), "Mosaic",
                       "a file layer 'Mosaic' in the project reads"),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_a_batch_row_writing_a_file_a_project_layer_reads_is_refused_and_the_later_row_reads_it_as_it_was(
        qgis_processing, scene, tiny_model_file, tmp_path, reader):
    """Row 1 writes b.tif; row 2's input is a layer of the project that reads b.tif (its own file, or a VRT
    of it). Test fails on main: both rows succeeded, b.tif (not a result of this algorithm) was replaced, and
    row 2 super-resolved row 1's output (its size 2.5 x 2.5 times the original b.tif's). Now row 1 is refused
    before its model loads, naming the layer and what to do; row 2 reads b.tif as it was."""
    import rasterio
    from qgis.core import QgsProject, QgsRasterLayer

    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    shutil.copy(scene, a)
    shutil.copy(scene, b)
    before = hashlib.sha256(b.read_bytes()).hexdigest()
    make, name, what = READERS[reader]
    layer = QgsRasterLayer(str(make(tmp_path)), name, "gdal")
    project = QgsProject.instance()
    project.addMapLayers([QgsRasterLayer(str(a), "a", "gdal"), layer])
    try:
        oks, feedback = _as_the_batch_dialog_runs([_params(a, b, tiny_model_file),
                                                   _params(layer.source(), tmp_path / "c.tif", tiny_model_file)])
    finally:
        project.removeMapLayers(list(project.mapLayers()))
    assert oks == [False, True]
    assert feedback.errors == [
        f"LDCSR: output path is {what}: {b} (inputs are never overwritten): choose another output file, or remove "
        f"that layer from the project first ({IN_A_BATCH})"]
    assert hashlib.sha256(b.read_bytes()).hexdigest() == before
    with rasterio.open(tmp_path / "c.tif") as c, rasterio.open(scene) as s:
        assert (c.height, c.width) == (round(s.height * 2.5), round(s.width * 2.5))


def test_a_batch_row_writing_an_earlier_result_a_later_row_reads_is_refused(qgis_processing, scene, tiny_model_file,
                                                                            tmp_path):
    """r.tif, an earlier LDCSR result, is in the project as 'Roofs x2'; row 1 writes r.tif again, row 2 reads
    'Roofs x2'. Test fails on main: both rows succeeded (a run again to an earlier result's layer was excepted in a
    batch too), r.tif was replaced and row 2 super-resolved row 1's output (its size 2 x 3 times the scene's, not
    2 x 2). Now row 1 is refused, naming the layer; row 2 reads r.tif as it was."""
    import rasterio
    from qgis.core import QgsProject, QgsRasterLayer

    r = tmp_path / "r.tif"
    qgis_processing.run(ALG, _params(scene, r, tiny_model_file, SCALE=2.0))
    before = hashlib.sha256(r.read_bytes()).hexdigest()
    layer = QgsRasterLayer(str(r), "Roofs x2", "gdal")
    project = QgsProject.instance()
    project.addMapLayer(layer)
    try:
        oks, feedback = _as_the_batch_dialog_runs([_params(scene, r, tiny_model_file, SCALE=3.0),
                                                   _params(layer.source(), tmp_path / "c.tif", tiny_model_file,
                                                           SCALE=2.0)])
    finally:
        project.removeMapLayers(list(project.mapLayers()))
    assert oks == [False, True]
    assert feedback.errors == [
        f"LDCSR: output path is the file of layer 'Roofs x2' in the project: {r} (inputs are never overwritten): "
        f"choose another output file, or remove that layer from the project first ({IN_A_BATCH})"]
    assert hashlib.sha256(r.read_bytes()).hexdigest() == before
    with rasterio.open(tmp_path / "c.tif") as c, rasterio.open(scene) as s:
        assert (c.height, c.width) == (s.height * 4, s.width * 4)


def test_a_run_on_its_own_to_a_file_a_layer_shows_says_which_file_it_may_replace(qgis_processing, scene,
                                                                                 tiny_model_file, tmp_path):
    """A run on its own (processing.run) to b.tif, the file of layer 'Roads 2019' (not an LDCSR result). Test fails
    on main: the refusal spoke of a batch's rows, which this run is not, and did not say which file a run may
    replace where a layer shows it. Now it says: an earlier LDCSR result, whose layer then shows the new raster."""
    from qgis.core import QgsProject, QgsRasterLayer
    from qgis_runs import QgsProcessingException

    b = tmp_path / "b.tif"
    shutil.copy(scene, b)
    before = hashlib.sha256(b.read_bytes()).hexdigest()
    project = QgsProject.instance()
    project.addMapLayer(QgsRasterLayer(str(b), "Roads 2019", "gdal"))
    try:
        with pytest.raises(QgsProcessingException) as e:
            qgis_processing.run(ALG, _params(scene, b, tiny_model_file), feedback=_Feedback())
    finally:
        project.removeMapLayers(list(project.mapLayers()))
    assert str(e.value) == (
        f"LDCSR: output path is the file of layer 'Roads 2019' in the project: {b} (inputs are never overwritten): "
        "choose another output file, or remove that layer from the project first (only an earlier LDCSR result is "
        "replaced where a layer shows it, which then shows the new raster)")
    assert hashlib.sha256(b.read_bytes()).hexdigest() == before


def test_a_batch_row_writing_the_file_an_earlier_row_wrote_is_refused(qgis_processing, scene, tiny_model_file,
                                                                       tmp_path):
    """Rows 1 and 2 (other inputs, one output: a row copied, its output left as it was), Load layers on completion
    unticked. Test fails on main: both rows said success and o.tif was row 2's, row 1's result lost with no word
    (ldcsr upscale refuses a folder run two of whose inputs would be written to one file). Now row 2 is refused
    before its model loads, naming the file and the row that wrote it; row 3 runs, and a later batch replaces o.tif
    as any run replaces an existing output."""
    import rasterio

    a, b, out = tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "o.tif"
    shutil.copy(scene, a)
    shutil.copy(scene, b)
    oks, feedback = _as_the_batch_dialog_runs([_params(a, out, tiny_model_file, SCALE=2.0),
                                               _params(b, out, tiny_model_file, SCALE=3.0),
                                               _params(b, tmp_path / "c.tif", tiny_model_file)])
    assert oks == [True, False, True]
    assert feedback.errors == [f"LDCSR: an earlier row of this batch wrote {out} (from {a}): this row would replace "
                               "it; give this row another output file"]
    with rasterio.open(out) as o, rasterio.open(scene) as s:
        assert (o.height, o.width) == (s.height * 2, s.width * 2)  # row 1's
    assert _as_the_batch_dialog_runs([_params(b, out, tiny_model_file, SCALE=3.0)])[0] == [True]
