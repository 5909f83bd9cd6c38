"""A run writes nothing beside its input. Before, an input given as a path (processing.run, a batch row,
qgis_process) was loaded by QGIS as a new layer whose default stretch computed a histogram, which GDAL
wrote to ``NAME.aux.xml`` next to the input when the layer closed: the user's folder changed, and the
``LDCSR_JOB`` of the same request on the command line (which fingerprints the input's sidecars) differed."""

from __future__ import annotations

import shutil

import pytest
import rasterio
from qgis_runs import ALG, _Feedback, _params, _run_as_the_dialog_does


def _folder(path):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in path.parent.iterdir()}


@pytest.mark.parametrize("how", ["processing.run", "processing.run with samples", "the dialog's task"])
def test_a_run_leaves_the_inputs_folder_as_it_was(qgis_processing, scene, tiny_model_file, tmp_path, how):
    """The input folder's listing, and each file's bytes and modification time, unchanged by a run (the
    layer QGIS makes of the path closed). Fails on main: s2_uint16.tif.aux.xml appeared there."""
    import gc

    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "s2_uint16.tif"
    shutil.copy2(scene, src)
    before = _folder(src)
    params = _params(src, tmp_path / "o.tif", tiny_model_file)
    if how == "processing.run with samples":
        params.update(SCALE=2.0, MODE=0, SAMPLES=2)
    if how == "the dialog's task":
        ok, fb = _run_as_the_dialog_does(params, load=True)
        assert ok, fb.errors
    else:
        qgis_processing.run(ALG, params, feedback=_Feedback())
    from qgis.core import QgsApplication

    for _ in range(3):  # the run's task and context deleted, the layers they loaded closed
        QgsApplication.sendPostedEvents(None, 0)  # (deleteLater's)
        QgsApplication.processEvents()
        gc.collect()
    assert _folder(src) == before


def test_the_same_request_has_the_same_job_in_qgis_and_on_the_command_line(
        qgis_processing, scene, tiny_model_file, tmp_path):
    """LDCSR_JOB fingerprints the input and the files read with it: QGIS's run and then ldcsr upscale's of the
    same request give the same. Fails on main: QGIS's run had written the input's .aux.xml."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "s2_uint16.tif"
    shutil.copy2(scene, src)
    qgis_processing.run(ALG, _params(src, tmp_path / "q.tif", tiny_model_file, SCALE=2.0), feedback=_Feedback())
    ran = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "c.tif"), "--scale", "2",
                                    "--mode", "fast", "--seed", "0", "--model", str(tiny_model_file)])
    assert ran.exit_code == 0, ran.output
    with rasterio.open(tmp_path / "q.tif") as q, rasterio.open(tmp_path / "c.tif") as c:
        assert q.tags()["LDCSR_JOB"] == c.tags()["LDCSR_JOB"]
