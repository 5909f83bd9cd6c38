"""The algorithm called as QGIS's API lets a script call it: ``QgsProcessingAlgorithm.run`` without a
feedback (``None``), a vector layer given as the input. Real QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

import rasterio
from qgis_runs import ALG, QgsApplication, _params


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

