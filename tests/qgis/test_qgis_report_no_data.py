"""QGIS's quality report of a layer whose every pixel is nodata: refused in the engine's words
(``quality.check_has_data``, as ``ldcsr selfcheck`` and napari's Check quality say it) before the report's
cost is said and before the model runs again; the raster (all nodata) is written and kept. Real QGIS."""

from __future__ import annotations

import numpy as np
import pytest
from qgis_runs import ALG, QgsRasterLayer, _Feedback, _params, _write

NO_REPORT = ("No quality report: every checked pixel is nodata: nothing to measure; the super-resolved raster "
             "was written.")


@pytest.mark.parametrize("samples", [1, 2])
@pytest.mark.parametrize("case", ["the file's nodata", "nodata set in QGIS"])
def test_the_report_of_a_layer_all_nodata_is_refused_before_its_cost_and_the_model(
        qgis_processing, tiny_model_file, tmp_path, monkeypatch, case, samples):
    """Before: with 2 samples, '2 samples for the mean the check scores: … about 2 times as long …', then the
    self-check ran (the model's second use) to 'No quality report: every checked pixel is nodata: nothing to
    measure; …'; now that error alone, the self-check not started."""
    import ldcsr_core.quality
    from qgis.core import QgsRasterRange

    monkeypatch.setattr(ldcsr_core.quality, "selfcheck", lambda *a, **k: pytest.fail("the self-check ran"))
    if case == "the file's nodata":
        src = _write(tmp_path / "empty.tif", np.zeros((3, 48, 48)), dtype="uint16", nodata=0)
        layer = str(src)
    else:  # every value the one set as nodata in the layer's Transparency properties
        src = _write(tmp_path / "empty.tif", np.full((3, 48, 48), 90), dtype="uint16")
        layer = QgsRasterLayer(str(src), "empty")
        for band in (1, 2, 3):
            layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(90, 90)])
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer,
                                           MODE=0 if samples > 1 else 1, SAMPLES=samples,
                                           QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert res["OUTPUT"] == str(tmp_path / "o.tif") and res["QUALITY_REPORT"] is None
    assert feedback.errors == [NO_REPORT], feedback.textLog()
    assert not [w for w in feedback.warnings if "the check" in w], feedback.warnings
    assert (tmp_path / "o.tif").exists() and not (tmp_path / "q.json").exists()
