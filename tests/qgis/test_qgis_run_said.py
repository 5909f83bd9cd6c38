"""What a QGIS run says about its layer, its CRS and its output, how its errors show in the Processing log,
two runs at once, scale expressions and the model cache (split from ``test_qgis_parameters.py`` at ~500 lines). Real
QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from qgis_runs import (
    ALG,
    TRANSFORM,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRasterLayer,
    _as_the_batch_dialog_runs,
    _Feedback,
    _params,
    _run_as_the_dialog_does,
)


def test_a_layer_whose_file_was_deleted_says_so(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: 'is not a plain raster file ... save it as a GeoTIFF first'."""
    import shutil

    from qgis.core import QgsProcessingContext, QgsProject
    src = tmp_path / "gone.tif"
    shutil.copy(scene, src)
    layer = QgsRasterLayer(str(src), "gone")
    QgsProject.instance().addMapLayer(layer)
    try:
        src.unlink()
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        with pytest.raises(QgsProcessingException, match="the file of layer 'gone' no longer exists"):
            qgis_processing.run(ALG, _params(layer.id(), tmp_path / "o.tif", tiny_model_file),
                                context=context, feedback=QgsProcessingFeedback())
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    assert not (tmp_path / "o.tif").exists()


def test_a_raster_without_a_geotransform_has_no_pixel_size_in_the_log(qgis_processing, tiny_model_file, tmp_path):
    """A CRS but no geotransform (gdal_translate -a_srs of a photo): the log's output line says the
    pixel size is unknown, as ``ldcsr info`` does; before: 'pixel 0.5 x 0.5', the identity's 1 x 1
    halved, as if it were in the CRS's units."""
    import warnings

    src = tmp_path / "photo.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio: no geotransform
        with rasterio.open(src, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint8",
                           crs="EPSG:32633") as ds:
            ds.write(np.full((3, 24, 24), 100, np.uint8))
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    log = feedback.textLog()
    assert "Output: 48 x 48 px (scale 2 x 2), pixel size unknown (no geotransform)" in log, log
    assert "pixel 0.5" not in log and (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("crs, res, said", [("EPSG:2263", 12.0, "pixel 6 x 6 US survey foot"),
                                             ("EPSG:4326", 1e-4, "pixel 5e-05 x 5e-05 degree"),
                                             ("EPSG:32633", 10.0, "pixel 5 x 5 metre"),
                                             (None, 10.0, "pixel 5 x 5 CRS units")])
def test_the_output_pixel_size_in_the_log_names_its_unit(qgis_processing, tiny_model_file, tmp_path, crs, res, said):
    """As the target pixel size's messages say it (georef.pixel_unit). Before: 'pixel 6 x 6', of US survey feet,
    degrees or metres alike."""
    from rasterio.transform import from_origin

    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=24, height=20, count=3, dtype="uint8", crs=crs,
                       transform=from_origin(10.0 if crs == "EPSG:4326" else 1000.0, 50.0, res, res)) as ds:
        ds.write(np.full((3, 20, 24), 100, np.uint8))
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert f"Output: 48 x 40 px (scale 2 x 2), {said}\n" in feedback.textLog(), feedback.textLog()


@pytest.mark.parametrize("file_crs", [None, "EPSG:4326"])
def test_a_crs_set_in_qgis_is_the_outputs(qgis_processing, tiny_model_file, tmp_path, file_crs):
    """A CRS assigned to the layer in QGIS (its file has none, or another) is the output's, so the
    output overlays the layer, as QGIS's own raster algorithms write the layer's CRS; a target pixel
    size is in its units. Before: the output got the file's CRS (none: 'has no CRS, so its pixel
    size is unknown' with a target pixel size), and a warning said so."""
    import json

    from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingContext, QgsProject
    src = tmp_path / "in.tif"
    with rasterio.open(src, "w", driver="GTiff", width=24, height=20, count=3, dtype="uint8",
                       transform=TRANSFORM, crs=file_crs) as ds:
        ds.write(np.full((3, 20, 24), 100, np.uint8))
    layer = QgsRasterLayer(str(src), "in")
    layer.setCrs(QgsCoordinateReferenceSystem("EPSG:32633"))
    QgsProject.instance().addMapLayer(layer)
    feedback = QgsProcessingFeedback()
    try:
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        for out, kw in (("o.tif", {"SCALE": 2.0}), ("t.tif", {"TARGET_PIXEL_SIZE": 4.0})):
            qgis_processing.run(ALG, _params(src, tmp_path / out, tiny_model_file, INPUT=layer, **kw),
                                context=context, feedback=feedback)
        extent = layer.extent()
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    log = feedback.textLog()
    assert f"CRS EPSG:32633 (the layer's, set in QGIS; its file has {'CRS ' + file_crs if file_crs else 'none'})" \
        in log, log
    out = QgsRasterLayer(str(tmp_path / "o.tif"), "out")
    assert out.crs().authid() == "EPSG:32633" and out.extent() == extent  # overlays the layer
    assert (out.width(), out.height()) == (48, 40)
    with rasterio.open(tmp_path / "o.tif") as d:
        assert json.loads(d.tags()["LDCSR_CRS"]) == {"used": "EPSG:32633", "file": file_crs}
    with rasterio.open(tmp_path / "t.tif") as d:
        assert d.crs == "EPSG:32633" and d.res == (4.0, 4.0)
    with rasterio.open(src) as d:  # the file is not changed
        assert d.crs == file_crs
    feedback = QgsProcessingFeedback()  # the file's path: its own CRS, no override
    qgis_processing.run(ALG, _params(str(src), tmp_path / "o2.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert "set in QGIS" not in feedback.textLog()
    with rasterio.open(tmp_path / "o2.tif") as d:
        assert d.crs == file_crs and "LDCSR_CRS" not in d.tags()


def test_an_output_path_that_is_a_folder_is_refused_before_any_work(qgis_processing, scene, tiny_model_file,
                                                                    tmp_path):
    """Before: '[Errno 21] Is a directory: .o.tif.….ldcsr-part -> …' after all the tiles."""
    (tmp_path / "o.tif").mkdir()
    feedback = QgsProcessingFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    with pytest.raises(QgsProcessingException, match="LDCSR: output path is a folder: .*o.tif$"):
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file), feedback=feedback)
    assert progress == []  # refused before the first tile
    assert [p.name for p in tmp_path.iterdir()] == ["o.tif"] and not any((tmp_path / "o.tif").iterdir())


def test_a_report_that_cannot_be_written_is_one_error_not_a_failed_run(qgis_processing, scene, tiny_model_file,
                                                                         tmp_path, monkeypatch):
    """Before: the run failed (the raster not loaded) though the raster was written."""
    import errno

    import ldcsr_core.quality

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ldcsr_core.quality, "write_report", full)
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file,
                                           QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert res["OUTPUT"] == str(tmp_path / "o.tif") and (tmp_path / "o.tif").exists()
    assert res["QUALITY_REPORT"] is None and not (tmp_path / "q.json").exists()
    (error,) = feedback.errors
    assert error.startswith("No quality report: cannot write") and "No space left" in error


def test_out_of_memory_is_one_line_and_nothing_written(qgis_processing, scene, tiny_model_file, tmp_path,
                                                       monkeypatch):
    """An allocation failure the engine could not get round (torch's RuntimeError) is said in
    words, as in the CLI and napari, not as a Python traceback in the Processing log."""
    from ldcsr_core.geo import pipeline

    def no_memory(*a, **k):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(pipeline, "upscale_raster", no_memory)
    feedback = QgsProcessingFeedback()
    out = tmp_path / "m.tif"
    with pytest.raises(QgsProcessingException, match="LDCSR: out of memory; nothing was written"):
        qgis_processing.run(ALG, _params(scene, out, tiny_model_file), feedback=feedback)
    assert "Traceback" not in feedback.textLog() and not out.exists()


def _no_memory(*a, **k):
    raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")


@pytest.mark.parametrize("case", ["bad input", "out of memory", "cancelled", "missing model"])
@pytest.mark.parametrize("how", ["dialog", "processing.run"])
def test_every_error_path_is_said_once(qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch, case, how):
    """Before: every failed run's line twice in the Processing dialog's log: reported by the
    algorithm, then by QGIS's task from the exception raised with it. Now once there, and once in
    ``processing.run``'s exception (which reports nothing itself)."""
    from ldcsr_core.geo import pipeline

    params = _params(scene, tmp_path / "o.tif", tiny_model_file)
    feedback = _Feedback()
    if case == "bad input":
        params["OUTPUT"] = str(tmp_path / "o.png")  # the engine's words (file_names.check_geotiff_name), as ldcsr upscale -o's
        expected = (f"LDCSR: {tmp_path / 'o.png'} is not a GeoTIFF name: outputs are GeoTIFFs, so give a name ending "
                    "in .tif or .tiff")
    elif case == "out of memory":
        monkeypatch.setattr(pipeline, "upscale_raster", _no_memory)
        expected = "LDCSR: out of memory; nothing was written."
    elif case == "cancelled":
        feedback.cancel()
        expected = "Cancelled: nothing was written."
    else:
        params["MODEL"], expected = str(tmp_path / "nope.safetensors"), "LDCSR: checkpoint not found: "
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
    assert "removed 1 stale part file of o.tif left by an interrupted run" in log, log
    assert log.count("stale part file") == 1, log


def test_stale_part_warning_reaches_the_log_on_the_task_thread(qgis_processing, scene, tiny_model_file, tmp_path):
    (tmp_path / ".o.tif.abcdefgh.ldcsr-part").write_bytes(b"")
    ok, feedback = _run_as_the_dialog_does(_params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0))
    log = feedback.textLog()
    assert ok and log.count("removed 1 stale part file of o.tif left by an interrupted run") == 1, log


def _started_together():
    """A feedback class for two runs at once: each waits, once its log handler is in place and it
    says its model input, until the other one is there too."""
    import threading

    barrier = threading.Barrier(2, timeout=120)

    class Together(_Feedback):
        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            if info.startswith("Model input"):
                barrier.wait()

    return Together


def test_two_runs_at_once_each_log_only_their_own_warnings(qgis_processing, scene, tiny_model_file, tmp_path):
    """QGIS runs algorithms as background tasks, several at once. Before: the engine's log records
    went to every run going on, so a run's log showed the other's warnings too."""
    Together = _started_together()
    waits = []
    for name in ("a", "b"):
        (tmp_path / f".{name}.tif.abcdefgh.ldcsr-part").write_bytes(b"")  # left by a killed run
        waits.append(_run_as_the_dialog_does(_params(scene, tmp_path / f"{name}.tif", tiny_model_file, SCALE=2.0),
                                             Together(), wait=False))
    (ok_a, fb_a), (ok_b, fb_b) = (w() for w in waits)
    assert ok_a and ok_b
    for fb, own, other in ((fb_a, "a.tif", "b.tif"), (fb_b, "b.tif", "a.tif")):
        log = fb.textLog()
        assert f"removed 1 stale part file of {own} left by an interrupted run" in log, log
        assert f"stale part file of {other}" not in log, log


def test_two_runs_at_once_load_their_model_once(qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch):
    """Before: two runs started together each loaded the model (twice the time and memory of a large
    checkpoint), and one could fail on the cache emptied by the other between its store and its read."""
    import time

    import ldcsr_core
    import qgis_ldcsr.algorithm as algorithm

    loads, real = [], ldcsr_core.load_model

    def slow_load(*a, **k):
        loads.append(a)
        time.sleep(1.0)  # a large checkpoint: the other run asks meanwhile
        return real(*a, **k)

    monkeypatch.setattr(ldcsr_core, "load_model", slow_load)
    monkeypatch.setattr(algorithm, "_MODELS", {})
    Together = _started_together()
    waits = [_run_as_the_dialog_does(_params(scene, tmp_path / f"{n}.tif", tiny_model_file, SCALE=2.0), Together(),
                                     wait=False) for n in ("a", "b")]
    assert [w()[0] for w in waits] == [True, True]
    assert len(loads) == 1


@pytest.mark.parametrize("expression, expected", [
    ("'abc'", "the scale must be a number, got 'abc'"),
    ("to_real('2,5')", "the scale: the expression \"to_real('2,5')\" fails: Cannot convert '2,5' to double"),
    ("1 +", "the scale: the expression '1 +' fails: syntax error, unexpected end of file"),
])
def test_a_scale_expression_that_is_not_a_number_is_refused(qgis_processing, scene, tiny_model_file, tmp_path,
                                                            expression, expected):
    """Before: QGIS read a failed or non-numeric expression as the parameter's default and ran at ×2."""
    from qgis.core import QgsProperty

    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file,
                                         SCALE=QgsProperty.fromExpression(expression)), feedback=QgsProcessingFeedback())
    assert expected in str(ei.value), str(ei.value)
    assert list(tmp_path.iterdir()) == []


def test_a_scale_expression_is_used(qgis_processing, scene, tiny_model_file, tmp_path):
    from qgis.core import QgsProperty

    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=QgsProperty.fromExpression("1 + 1"),
                                     TILE=QgsProperty.fromValue(48)), feedback=feedback)
    assert "(scale 2 x 2)" in feedback.textLog()


def test_a_model_file_replaced_with_the_same_mtime_is_loaded_again(monkeypatch, tmp_path):
    """Before: the provider's model cache was keyed on the path and its mtime in whole seconds'
    float: a checkpoint copied over with its mtime kept (``cp -p``) was never loaded. Now the
    engine's file key (inode, size, modification and change times) is compared."""
    import os
    import shutil

    import ldcsr_core
    import qgis_ldcsr.algorithm as algorithm
    from ldcsr_core.config import tiny_test_config

    monkeypatch.setattr(algorithm, "_MODELS", {})
    path = tmp_path / "m.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(), seed=0), path, name="m")
    ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config(), seed=1), tmp_path / "n.safetensors",
                          name="m")
    st = os.stat(path)
    os.utime(tmp_path / "n.safetensors", ns=(st.st_atime_ns, st.st_mtime_ns))  # the same mtime
    a = algorithm._load_model(str(path))
    assert algorithm._load_model(str(path)) is a
    shutil.copy2(tmp_path / "n.safetensors", path)
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns
    assert algorithm._load_model(str(path)).weights_sha256 != a.weights_sha256


def test_a_cached_model_follows_ldcsr_dtype_set_in_the_python_console(monkeypatch, tmp_path):
    """Before: the provider's model cache was keyed on the file only: LDCSR_DTYPE set in QGIS's
    Python console (os.environ) changed nothing until QGIS restarted. Now the engine's key (file
    and the float type asked for now) is compared."""
    import ldcsr_core
    import qgis_ldcsr.algorithm as algorithm
    import torch
    from ldcsr_core.config import tiny_test_config

    monkeypatch.setattr(algorithm, "_MODELS", {})
    path = str(ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config()), tmp_path / "m.safetensors",
                                     name="m"))
    monkeypatch.setenv("LDCSR_DTYPE", "float32")
    a = algorithm._load_model(path)
    assert algorithm._load_model(path) is a and next(a.parameters()).dtype == torch.float32
    monkeypatch.setenv("LDCSR_DTYPE", "bfloat16")
    assert next(algorithm._load_model(path).parameters()).dtype == torch.bfloat16


@pytest.mark.parametrize("name, said", [("moved.tif", "input not found: {}"),
                                        ("junk.tif", "QGIS cannot open {} as a raster layer")])
def test_a_batch_row_whose_file_is_not_there_names_it(qgis_processing, scene, tiny_model_file, tmp_path, name, said):
    """The batch dialog runs each row as below (``alg.run`` on a fresh context, a multi-step
    feedback) without QGIS's check of the layer that the dialog and ``processing.run`` make first: a
    row's path that is gone, or not a raster, reached the algorithm. Before: 'LDCSR: no input raster
    layer' whatever the row held; the other rows still run."""
    (tmp_path / "junk.tif").write_text("not a raster")
    oks, feedback = _as_the_batch_dialog_runs([_params(src, tmp_path / f"o{i}.tif", tiny_model_file)
                                               for i, src in enumerate([tmp_path / name, scene])])
    assert oks == [False, True]
    assert feedback.errors == ["LDCSR: " + said.format(tmp_path / name)]
    assert not (tmp_path / "o0.tif").exists() and (tmp_path / "o1.tif").exists()


@pytest.mark.parametrize("name", ["junk.tif", "notes.txt", "a folder"])
def test_an_input_path_that_is_there_but_no_raster_says_so(qgis_processing, scene, tiny_model_file, tmp_path, name):
    """processing.run (qgis_process, a script) given a file or folder QGIS cannot open as a raster. Before: QGIS's
    'Could not load source layer for INPUT: ... not found', of a path that is there."""
    src = tmp_path / name
    src.mkdir() if name == "a folder" else src.write_text("not a raster")
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file), feedback=QgsProcessingFeedback())
    assert str(ei.value).splitlines()[-1] == f"QGIS cannot open {src} as a raster layer"
    assert not (tmp_path / "o.tif").exists()


def test_an_unwritable_output_folder_is_refused_before_the_model_loads(qgis_processing, scene, tiny_model_file,
                                                                      tmp_path, monkeypatch):
    """As ``ldcsr upscale`` refuses it (``ldcsr_core.files.check_writable``). Before: the model was
    loaded (seconds for a large checkpoint; the log's Model line), then 'LDCSR: cannot write to
    /path: Permission denied'. Root may write anywhere: the folder is unwritable for os.access."""
    import os

    from qgis_ldcsr import algorithm

    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(ro) else real_access(p, mode, **kw))
    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    feedback = _Feedback()
    with pytest.raises(QgsProcessingException, match=f"^LDCSR: output folder is not writable: {ro}$"):
        qgis_processing.run(ALG, _params(scene, ro / "o.tif", tiny_model_file), feedback=feedback)
    assert "Model:" not in feedback.textLog() and list(ro.iterdir()) == []
