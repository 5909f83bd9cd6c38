"""Layers as a QGIS user has them (a file name QGIS reads with a '|', nodata set in the layer's
properties that the engine cannot take, NaN as the extra nodata of a float layer) and a cancel
during the quality report as the Processing dialog runs it. Real QGIS, as in
``test_qgis_provider.py``."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from qgis_runs import (
    ALG,
    QgsProcessingException,
    QgsRasterLayer,
    _Feedback,
    _field,
    _params,
    _run_as_the_dialog_does,
    _write,
)


def test_a_file_name_with_a_pipe_is_read(qgis_processing, scene, tiny_model_file, tmp_path):
    """'|' separates a GDAL URI's options in QGIS, but QGIS reads 'a|b.tif' as that file. Before:
    'the file of layer ... no longer exists (moved or deleted?): .../a'."""
    src = tmp_path / "a|b.tif"
    shutil.copy(scene, src)
    layer = QgsRasterLayer(str(src), "piped")
    assert layer.isValid()
    res = qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                              feedback=_Feedback())
    with rasterio.open(res["OUTPUT"]) as out:
        assert out.shape == (90, 122) and out.tags()["LDCSR_SOURCE"] == "a|b.tif"


def test_a_gpkg_table_and_a_zip_member_are_still_refused(qgis_processing, scene, tiny_model_file, tmp_path):
    """QGIS's reading of the source gives the container's path for these (a file): not taken for
    the raster."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.write(scene, "s2.tif")
    layer = QgsRasterLayer(f"/vsizip/{tmp_path}/a.zip/s2.tif", "zipped")
    assert layer.isValid()
    with pytest.raises(QgsProcessingException, match="layer 'zipped' is not a plain raster file"):
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, INPUT=layer),
                            feedback=_Feedback())
    assert not (tmp_path / "o.tif").exists()
