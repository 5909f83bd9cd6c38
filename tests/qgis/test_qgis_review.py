"""Review of the error and log paths of today's QGIS changes: every error path once, in the dialog's
log and in processing.run's exception; engine warnings in the run's log on any thread."""

from __future__ import annotations

import pytest
from qgis_runs import (
    ALG,
    QgsProcessingException,
    _Feedback,
    _params,
    _run_as_the_dialog_does,
)


def _no_memory(*a, **k):
    raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")


@pytest.mark.parametrize("case", ["bad input", "out of memory", "cancelled", "missing model"])
@pytest.mark.parametrize("how", ["dialog", "processing.run"])
def test_every_error_path_is_said_once(qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch, case, how):
    from ldcsr_core.geo import pipeline

    params = _params(scene, tmp_path / "o.tif", tiny_model_file)
    feedback = _Feedback()
    if case == "bad input":
        params["OUTPUT"], expected = str(tmp_path / "o.png"), "LDCSR: the output must be a GeoTIFF (.tif)"
    elif case == "out of memory":
        monkeypatch.setattr(pipeline, "upscale_raster", _no_memory)
        expected = "LDCSR: out of memory; nothing was written."
    elif case == "cancelled":
        feedback.cancel()
        expected = "Cancelled: nothing was written."
    else:
        params["MODEL"], expected = str(tmp_path / "nope.safetensors"), "LDCSR: model file not found: "
    if how == "dialog":
        ok, feedback = _run_as_the_dialog_does(params, feedback)
        assert not ok
        log = feedback.textLog()
        assert len(feedback.errors) == 1 and feedback.errors[0].startswith(expected), log
        assert log.count(expected) == 1, log
    else:
        with pytest.raises(QgsProcessingException) as exc:
            qgis_processing.run(ALG, params, feedback=feedback)
        assert str(exc.value).startswith(expected)
        assert str(exc.value).count(expected) == 1
        # processing.run itself reports nothing: the exception is the caller's one copy.
        assert feedback.errors == [] and expected not in feedback.textLog()
    assert not (tmp_path / "o.tif").exists() and not (tmp_path / "o.png").exists()


def test_stale_part_warning_reaches_the_log_on_the_main_thread(qgis_processing, scene, tiny_model_file, tmp_path):
    (tmp_path / ".o.tif.abcdefgh.ldcsr-part").write_bytes(b"")  # left by a killed run
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    log = feedback.textLog()
    assert "removed 1 stale part file(s) of o.tif left by an interrupted run" in log, log
    assert log.count("stale part file(s)") == 1, log


def test_stale_part_warning_reaches_the_log_on_the_task_thread(qgis_processing, scene, tiny_model_file, tmp_path):
    (tmp_path / ".o.tif.abcdefgh.ldcsr-part").write_bytes(b"")
    ok, feedback = _run_as_the_dialog_does(_params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0))
    log = feedback.textLog()
    assert ok and log.count("removed 1 stale part file(s) of o.tif left by an interrupted run") == 1, log
