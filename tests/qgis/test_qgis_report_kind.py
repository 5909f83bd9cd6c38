"""The quality report declared to QGIS as what is written: a JSON file is a file output, an HTML page an HTML
output too, which QGIS's Results Viewer lists. Real QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from qgis_runs import ALG, QgsApplication, _Feedback, _params


@pytest.mark.parametrize("name, html", [("q.json", False), ("q.html", True), ("q.HTM", True)])
def test_the_report_is_an_html_output_only_where_an_html_page_is_written(qgis_processing, scene, tiny_model_file,
                                                                          tmp_path, name, html):
    """Before: the report was declared an HTML output whatever its name (QGIS's FileDestination with an .html
    filter), so the dialog's Results Viewer listed a JSON report as HTML; now it lists it (the rule of QGIS's
    AlgorithmDialog.finish: QgsProcessingOutputHtml outputs with a result) only where an HTML page was written."""
    from qgis.core import QgsProcessingOutputHtml

    report = tmp_path / name
    results = qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0,
                                               QUALITY_REPORT=str(report)), feedback=_Feedback())
    assert results["QUALITY_REPORT"] == str(report) and report.is_file()  # a script's result as before
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    listed = [results[out.name()] for out in alg.outputDefinitions()
              if isinstance(out, QgsProcessingOutputHtml) and out.name() in results and results[out.name()]]
    assert listed == ([str(report)] if html else [])


def test_a_batch_with_a_json_report_lists_no_html_result(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: QGIS 3.22's batch dialog, listing each row's HTML results, failed on the JSON report declared one
    ('ProcessingResults.addResult() missing 1 required positional argument: 'timestamp'', QGIS's own bug), so the
    batch's summary table was not made; now a JSON report is no HTML result, and the listing adds nothing."""
    from processing.core.ProcessingResults import resultsList
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog

    report = tmp_path / "q.json"
    results = qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0,
                                               QUALITY_REPORT=str(report)), feedback=_Feedback())
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    before = len(resultsList.getResults())
    BatchAlgorithmDialog.loadHTMLResults(SimpleNamespace(algorithm=lambda: alg), results, 0)  # the batch's finish
    assert len(resultsList.getResults()) == before
