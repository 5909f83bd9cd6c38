"""The output loaded when the run is done ("Open output file after running", a batch's "Load layers on
completion"), where the project has a layer of that file already: an earlier result the user named,
styled and placed, run again to the same file."""

from __future__ import annotations

import os

import numpy as np
import pytest
from qgis_runs import _params, _run_as_the_dialog_does


@pytest.mark.parametrize("opened_by", ["its name", "a link"])
def test_a_layer_of_the_output_keeps_its_name_style_and_place_when_run_again_with_open_after_running(
        qgis_processing, scene, tiny_model_file, tmp_path, opened_by):
    """The output of an earlier run in the project as 'Roofs x4' (half opaque, below another layer), run
    again to that file with "Open output file after running", as the dialog runs it. Test fails on main:
    QGIS's loading found the layer by its source and renamed it to the output's name ('o'), or, for a
    layer opening the file through a link, loaded a second layer of it. Now the one layer keeps its
    name, style and place, showing the new raster."""
    from qgis.core import QgsProcessingContext, QgsProcessingOutputLayerDefinition, QgsProject, QgsRasterLayer

    from ldcsr_core.files import same_file

    out = tmp_path / "o.tif"
    qgis_processing.run("ldcsr:superresolution", _params(scene, out, tiny_model_file, SCALE=2.0))
    if opened_by == "a link":
        os.symlink(out.name, tmp_path / "l.tif")
    project = QgsProject.instance()
    roofs = QgsRasterLayer(str(out if opened_by == "its name" else tmp_path / "l.tif"), "Roofs x4", "gdal")
    roofs.renderer().setOpacity(0.3)
    above = QgsRasterLayer(str(scene), "scene", "gdal")
    project.addMapLayers([roofs, above])
    order = [node.name() for node in project.layerTreeRoot().children()]
    context = QgsProcessingContext()
    context.setProject(project)  # as the dialog's
    try:
        params = _params(scene, out, tiny_model_file, SCALE=3.0,
                         OUTPUT=QgsProcessingOutputLayerDefinition(str(out), project))  # "Open output file after running"
        ok, feedback = _run_as_the_dialog_does(params, context=context, load=True)
        assert ok, feedback.errors
        of_output = [lyr for lyr in project.mapLayers().values()
                     if lyr.providerType() == "gdal" and same_file(lyr.source(), out)]
        assert of_output == [roofs]
        assert (roofs.name(), roofs.renderer().opacity()) == ("Roofs x4", 0.3)
        assert (roofs.width(), roofs.height()) == (61 * 3, 45 * 3)  # the new raster
        assert [node.name() for node in project.layerTreeRoot().children()] == order
    finally:
        project.removeMapLayers(list(project.mapLayers()))


def test_a_picture_not_placed_runs_without_python_warnings(qgis_processing, tiny_model_file, tmp_path):
    """A PNG without georeferencing (a photo, a scan), run with a quality report. Test fails on main: rasterio's
    NotGeoreferencedWarning twice a run (the output's write and its read-back), which QGIS shows in its Log
    Messages panel as Python warnings with a traceback; the command line filters them (ldcsr_core.cli), napari's
    and QGIS's runs did not. Now none: the output of a picture not placed is not placed either, as intended."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    from ldcsr_core.geo.georef import quiet_georef

    png = tmp_path / "photo.png"
    with quiet_georef(), rasterio.open(png, "w", driver="PNG", width=48, height=40, count=3, dtype="uint8") as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, 40, 48), dtype=np.uint8))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        qgis_processing.run("ldcsr:superresolution", _params(png, tmp_path / "o.tif", tiny_model_file, SCALE=2.0,
                                                             QUALITY_REPORT=str(tmp_path / "r.json")))
    with rasterio.open(tmp_path / "o.tif") as o:
        assert (o.width, o.height) == (96, 80)
    assert [str(w.message) for w in seen if issubclass(w.category, NotGeoreferencedWarning)] == []
