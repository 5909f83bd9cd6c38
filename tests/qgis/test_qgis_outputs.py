"""The output raster, refused before the model loads by ``ldcsr upscale``'s rules and words: the
input itself (by any name), a file the input reads (a VRT's source), a folder that is not there, a
folder at the output's name. Before: the model was loaded first (seconds for a large checkpoint,
in a batch for each row), then the engine refused the output."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from qgis_runs import ALG, QgsApplication, QgsProcessingException, _Feedback, _params


def _vrt_of(src, tmp_path):
    """A VRT reading ``src``."""
    from osgeo import gdal

    vrt = tmp_path / "v.vrt"
    gdal.BuildVRT(str(vrt), [str(src)]).FlushCache()
    return vrt


CASES = {  # (input, output) made in tmp_path from the scene -> what QGIS says, after 'LDCSR: '
    "the input": (lambda s, t: (s, s), "output path is the input file: {out} (inputs are never overwritten)"),
    "a hard link": (lambda s, t: (s, _linked(s, t / "h.tif", os.link)),
                    "output path is the input file: {out} (inputs are never overwritten)"),
    "a symlink": (lambda s, t: (s, _linked(s, t / "l.tif", os.symlink)),
                  "output path is the input file: {out} (inputs are never overwritten)"),
    "a VRT's source": (lambda s, t: (_vrt_of(s, t), s),
                       "output path is a file v.vrt reads: {out} (inputs are never overwritten)"),
    "no folder": (lambda s, t: (s, t / "nodir" / "o.tif"), "output folder does not exist: {folder}"),
    "a folder": (lambda s, t: (s, _folder(t / "o.tif")), "output path is a folder: {out}"),
}


def _linked(src, link, how):
    how(src, link)
    return link


def _folder(path):
    path.mkdir()
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_an_output_the_cli_refuses_is_refused_before_the_model_loads(qgis_processing, scene, tiny_model_file,
                                                                     tmp_path, monkeypatch, case):
    """Test fails on main: the model loader was called (its Model line in the log)."""
    from qgis_ldcsr import algorithm

    make, says = CASES[case]
    local = tmp_path / "scene.tif"
    shutil.copy(scene, local)
    src, out = make(local, tmp_path)
    before = hashlib.sha256(local.read_bytes()).hexdigest()
    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    feedback = _Feedback()
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, out, tiny_model_file), feedback=feedback)
    assert str(ei.value) == "LDCSR: " + says.format(out=out, folder=out.parent)
    assert "Model:" not in feedback.textLog()
    assert hashlib.sha256(local.read_bytes()).hexdigest() == before
    assert not (tmp_path / "nodir").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".ldcsr-part")]



@pytest.mark.parametrize("samples, said", [
    (1, "o.tif in {tmp}: 16.0 KiB free, the output needs about"),
    # before (follow35): 'the output needs about 1.0 MiB', the two files' sum as the output's
    (2, "o.tif and its spread file o_spread.tif in {tmp}: 16.0 KiB free, the output needs about 343.1 KiB and its "
        "spread file about 686.2 KiB uncompressed (at least 257.3 KiB together even at 4:1 compression)"),
])
def test_an_output_folder_too_full_for_it_is_refused_before_the_model_loads(qgis_processing, scene, tiny_model_file,
                                                                           tmp_path, monkeypatch, samples, said):
    """An output folder with 16 KiB free (a small tmpfs, a full USB stick), as ldcsr upscale refuses it
    (``pipeline.check_room``). Before: the model loaded first (seconds; the log's Model line), then 'not enough
    space'. With its spread file (2 samples), each file's size."""
    from ldcsr_core.geo import geotiff_writer
    from qgis_ldcsr import algorithm

    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 16 * 1024)
    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    feedback = _Feedback()
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=4.0, MODE=0,
                                         SAMPLES=samples), feedback=feedback)
    assert str(ei.value).startswith("LDCSR: not enough space for " + said.format(tmp=tmp_path)), str(ei.value)
    assert "Model:" not in feedback.textLog() and list(tmp_path.iterdir()) == []

def test_an_output_named_as_a_windows_device_on_a_disk_windows_reads_is_refused_before_the_model_loads(
        qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch):
    """OUTPUT usb/nul.tif on a USB stick's exFAT (its type simulated as the engine's tests do): before, written, a
    file Windows cannot open; now refused in ldcsr upscale's words, before the model loads, nothing written."""
    from ldcsr_core import file_names
    from ldcsr_core.mounts import Mount
    from qgis_ldcsr import algorithm

    usb = tmp_path / "usb"
    usb.mkdir()
    listed = file_names.mounts
    monkeypatch.setattr(file_names, "mounts", lambda *a: [*(listed(*a) or []),
                                                         Mount(os.path.realpath(usb), "/", "exfat", "/dev/sdz1", ())])
    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, usb / "nul.tif", tiny_model_file), feedback=_Feedback())
    assert str(ei.value) == ("LDCSR: output name nul.tif names a Windows device (NUL, the null device, which keeps "
                             "nothing) whatever follows its first dot: on this disk (exfat), which Windows reads, it "
                             "would be written to the device, or be a file Windows cannot open; choose another name, "
                             "such as nul_1.tif")
    assert list(usb.iterdir()) == []


def test_a_batch_row_writing_over_its_input_fails_without_loading_the_model(qgis_processing, scene,
                                                                          tiny_model_file, tmp_path, monkeypatch):
    """Rows run as the batch dialog runs them (no layer check): the row whose output is its input
    fails in its own words, before the model loads; the next row runs."""
    from qgis.core import QgsProcessingContext, QgsProcessingMultiStepFeedback

    from qgis_ldcsr import algorithm

    local = tmp_path / "scene.tif"
    shutil.copy(scene, local)
    loads = []
    real = algorithm._load_model
    monkeypatch.setattr(algorithm, "_load_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    feedback = _Feedback()
    steps = QgsProcessingMultiStepFeedback(2, feedback)
    oks = []
    for i, out in enumerate([local, tmp_path / "o1.tif"]):
        steps.setCurrentStep(i)
        _results, ok = alg.run(_params(local, out, tiny_model_file), QgsProcessingContext(), steps)
        oks.append(ok)
    assert oks == [False, True] and len(loads) == 1
    assert feedback.errors == [f"LDCSR: output path is the input file: {local} (inputs are never overwritten)"]


def test_an_output_named_relative_to_the_working_folder_is_written(qgis_processing, scene, tiny_model_file,
                                                                  tmp_path, monkeypatch):
    """processing.run with OUTPUT 'o.tif' (a script's, in the working folder) writes it there, as
    ldcsr upscale -o o.tif does. Before: 'LDCSR: output folder is not writable: ' (the folder of a bare
    name is '', which os.access refuses), naming no folder, before the model loaded."""
    import rasterio

    local = tmp_path / "scene.tif"
    shutil.copy(scene, local)
    monkeypatch.chdir(tmp_path)
    qgis_processing.run(ALG, _params(local, "o.tif", tiny_model_file), feedback=_Feedback())
    with rasterio.open(tmp_path / "o.tif") as out, rasterio.open(local) as src:
        assert (out.height, out.width) == (round(src.height * 2.5), round(src.width * 2.5))


def test_an_output_loaded_in_the_project_shows_the_new_raster_when_run_again(qgis_processing, scene,
                                                                            tiny_model_file, tmp_path):
    """Run, its output loaded, then run again to the same path from another layer (one band, not
    four), as the dialog does it (runAndLoadResults). Test fails on main: the project's layer of the output went on
    showing the raster the run replaced (its extent, size and pixels: QGIS finds that layer by its
    source and loads no new one), and when it closed GDAL wrote that raster's statistics to
    o.tif.aux.xml beside the new one, which a later layer took its contrast from."""
    import rasterio
    from affine import Affine
    from qgis.core import QgsProject

    moved = tmp_path / "moved.tif"  # elsewhere, darker, one band
    with rasterio.open(scene) as s:
        profile = dict(s.profile, count=1, transform=Affine.translation(5000, 3000) @ s.transform)
        with rasterio.open(moved, "w", **profile) as ds:
            ds.write(s.read(1) // 3, 1)
    out = tmp_path / "o.tif"
    project = QgsProject.instance()
    ours = []
    try:
        for src, scale in ((scene, 2.5), (moved, 3.0)):
            qgis_processing.runAndLoadResults(ALG, _params(src, out, tiny_model_file, SCALE=scale),
                                              feedback=_Feedback())
            ours = [lyr for lyr in project.mapLayers().values() if lyr.source() == str(out)]
        with rasterio.open(out) as d:
            band = d.read(1, masked=True)
            bounds, size, mean, top = d.bounds, (d.width, d.height), float(band.mean()), float(band.max())
        assert len(ours) == 1
        layer = ours[0]
        e = layer.extent()
        assert (layer.width(), layer.height()) == size
        assert max(layer.renderer().usesBands()) <= layer.bandCount() == 1  # drawn from bands it has
        assert max(abs(a - b) for a, b in zip((e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()),
                                              bounds)) < 1e-6
        assert abs(layer.dataProvider().bandStatistics(1).mean - mean) < 1e-6 * mean
        # its contrast from the new pixels (the old raster's statistics, in the sidecar, were up to 11633)
        assert layer.renderer().contrastEnhancement().maximumValue() <= top
    finally:
        project.removeMapLayers([lyr.id() for lyr in ours])  # closed: GDAL writes what it computed
    with rasterio.open(out) as d:  # what the next layer reads
        stats = d.tags(1)
    assert "STATISTICS_MEAN" not in stats or abs(float(stats["STATISTICS_MEAN"]) - mean) < 1e-6 * mean


def test_a_style_set_on_an_output_loaded_in_the_project_is_kept_when_run_again(qgis_processing, scene,
                                                                               tiny_model_file, tmp_path):
    """Run, its output loaded and styled (bands 4-3-2, half opaque; a second layer of it in a colour
    ramp), then run again to the same path from a darker raster of the same bands. Test fails on
    main: both layers were drawn as a new layer of the file is (bands 1-2-3 in grey levels, opaque):
    the style set on them was lost. Now kept, its stretch taken from the new pixels."""
    import rasterio
    from qgis.core import (QgsColorRampShader, QgsContrastEnhancement, QgsMultiBandColorRenderer, QgsProject,
                           QgsRasterLayer, QgsRasterMinMaxOrigin, QgsRasterShader, QgsSingleBandPseudoColorRenderer)
    from qgis.PyQt.QtGui import QColor

    darker = tmp_path / "darker.tif"
    with rasterio.open(scene) as s, rasterio.open(darker, "w", **s.profile) as ds:
        ds.write(s.read() // 3)
    out = tmp_path / "o.tif"
    project = QgsProject.instance()
    ours = []
    try:
        qgis_processing.runAndLoadResults(ALG, _params(scene, out, tiny_model_file), feedback=_Feedback())
        ours = [lyr for lyr in project.mapLayers().values() if lyr.source() == str(out)]
        false_colour = ours[0]
        assert false_colour.bandCount() == 4
        rgb = QgsMultiBandColorRenderer(false_colour.dataProvider(), 4, 3, 2)
        rgb.setOpacity(0.5)
        false_colour.setRenderer(rgb)
        false_colour.setContrastEnhancement(QgsContrastEnhancement.StretchToMinimumMaximum,
                                            QgsRasterMinMaxOrigin.MinMax)  # to the old pixels' min and max
        old_red_max = false_colour.renderer().redContrastEnhancement().maximumValue()
        ramp = QgsColorRampShader(100, 5000)
        ramp.setColorRampItemList([QgsColorRampShader.ColorRampItem(100, QColor(0, 0, 255)),
                                   QgsColorRampShader.ColorRampItem(5000, QColor(255, 0, 0))])
        shader = QgsRasterShader()
        shader.setRasterShaderFunction(ramp)
        coloured = QgsRasterLayer(str(out), "ramp", "gdal")
        coloured.setRenderer(QgsSingleBandPseudoColorRenderer(coloured.dataProvider(), 1, shader))
        project.addMapLayer(coloured)
        ours.append(coloured)
        qgis_processing.runAndLoadResults(ALG, _params(darker, out, tiny_model_file, SCALE=3.0), feedback=_Feedback())
        ours = [lyr for lyr in project.mapLayers().values() if lyr.source() == str(out)]
        with rasterio.open(out) as d:
            size, red_max = (d.width, d.height), float(d.read(4, masked=True).max())
        assert len(ours) == 2 and all((lyr.width(), lyr.height()) == size for lyr in ours)
        r = false_colour.renderer()
        assert (r.type(), r.redBand(), r.greenBand(), r.blueBand(), r.opacity()) == ("multibandcolor", 4, 3, 2, 0.5)
        assert r.redContrastEnhancement().maximumValue() <= red_max < old_red_max  # the new pixels' stretch
        r = coloured.renderer()
        assert (r.type(), r.band()) == ("singlebandpseudocolor", 1)
        assert [i.value for i in r.shader().rasterShaderFunction().colorRampItemList()] == [100, 5000]
    finally:
        project.removeMapLayers([lyr.id() for lyr in ours])


def _an_output_a_link_to_it_and_a_darker_input(qgis_processing, scene, tiny_model_file, tmp_path):
    """o.tif run from ``scene``, l.tif a link to it, and darker.tif (``scene`` / 3) to run again from."""
    import rasterio

    darker = tmp_path / "darker.tif"
    with rasterio.open(scene) as s, rasterio.open(darker, "w", **s.profile) as ds:
        ds.write(s.read() // 3)
    out, link = tmp_path / "o.tif", tmp_path / "l.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SCALE=2.0), feedback=_Feedback())
    os.symlink(out.name, link)
    return darker, out, link


def test_a_layer_of_the_output_through_a_link_takes_no_old_statistics_when_run_again(qgis_processing, scene,
                                                                                     tiny_model_file, tmp_path):
    """Run, its output loaded through a symbolic link (l.tif -> o.tif), then run again to o.tif from a
    darker raster. Test fails on main: the layer was reopened, but closing it GDAL wrote the old
    raster's statistics to l.tif.aux.xml, the sidecar of the name it opens the file by, which was not
    put back: the reopened layer took its contrast from them (up to 10608 for pixels up to 3860), and
    so did every later layer of l.tif."""
    import rasterio
    from qgis.core import QgsProject, QgsRasterLayer

    darker, out, link = _an_output_a_link_to_it_and_a_darker_input(qgis_processing, scene, tiny_model_file, tmp_path)
    project = QgsProject.instance()
    layer = QgsRasterLayer(str(link), "l", "gdal")
    project.addMapLayer(layer)
    try:
        red = layer.renderer().redBand()
        old_max = layer.renderer().redContrastEnhancement().maximumValue()
        qgis_processing.run(ALG, _params(darker, out, tiny_model_file, SCALE=2.0), feedback=_Feedback())
        with rasterio.open(out) as d:
            band = d.read(red, masked=True)
            mean, top = float(band.mean()), float(band.max())
        assert abs(layer.dataProvider().bandStatistics(red).mean - mean) < 1e-6 * mean  # the new raster
        assert layer.renderer().redContrastEnhancement().maximumValue() <= top < old_max  # and its contrast
    finally:
        project.removeMapLayer(layer.id())  # closed: GDAL writes what it computed
    with rasterio.open(link) as d:  # what the next layer of l.tif reads
        stats = d.tags(red)
    assert "STATISTICS_MEAN" not in stats or abs(float(stats["STATISTICS_MEAN"]) - mean) < 1e-6 * mean


@pytest.mark.parametrize("given", ["no project", "a script's project"])
def test_an_output_loaded_in_qgis_is_reopened_whatever_project_the_run_is_given(qgis_processing, scene,
                                                                                tiny_model_file, tmp_path, given):
    """Run again to an output loaded in QGIS's project, in a task (as the dialog runs it) whose context
    has no project or a project of a script's own, which has a layer of the output too, as a plugin may
    run it. Test fails on main: the layer of QGIS's project went on showing the raster the run
    replaced (only the context's project was looked at; with none, no layer)."""
    import rasterio
    from qgis.core import QgsProcessingContext, QgsProject, QgsRasterLayer
    from qgis_runs import _run_as_the_dialog_does

    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SCALE=2.0), feedback=_Feedback())
    context, layers = QgsProcessingContext(), [QgsRasterLayer(str(out), "o", "gdal")]
    QgsProject.instance().addMapLayer(layers[0])
    if given == "a script's project":
        own = QgsProject()
        context.setProject(own)
        layers.append(QgsRasterLayer(str(out), "o", "gdal"))
        own.addMapLayer(layers[1])
    try:
        ok, feedback = _run_as_the_dialog_does(_params(scene, out, tiny_model_file, SCALE=3.0), context=context)
        assert ok, feedback.textLog()
        with rasterio.open(out) as d:
            size = (d.width, d.height)
        assert [(layer.width(), layer.height()) for layer in layers] == [size] * len(layers)
    finally:
        QgsProject.instance().removeMapLayer(layers[0].id())


def test_a_layer_of_the_output_through_a_link_whose_sidecar_an_earlier_layer_left_takes_no_old_statistics(
        qgis_processing, scene, tiny_model_file, tmp_path):
    """As test_a_layer_of_the_output_through_a_link_takes_no_old_statistics_when_run_again, with l.tif.aux.xml
    written before the run, by an earlier layer of l.tif closed (an earlier QGIS session's): the link's sidecar
    describes the raster the run replaced, as the output's own did, and is made the run's (none here), so the
    reopened layer and each later one take their contrast from the new pixels.
    Test fails on main: it was put back as it was before the layer closed, the old raster's statistics, and the
    reopened layer's contrast went on being theirs (up to 10608 for pixels up to 3860)."""
    import rasterio
    from qgis.core import QgsProject, QgsRasterLayer

    darker, out, link = _an_output_a_link_to_it_and_a_darker_input(qgis_processing, scene, tiny_model_file, tmp_path)
    project = QgsProject.instance()
    earlier = QgsRasterLayer(str(link), "l", "gdal")  # drawn (its stretch computed), then closed
    project.addMapLayer(earlier)
    red = earlier.renderer().redBand()
    project.removeMapLayer(earlier.id())
    assert os.path.exists(f"{link}.aux.xml") and not os.path.exists(f"{out}.aux.xml")
    layer = QgsRasterLayer(str(link), "l", "gdal")
    project.addMapLayer(layer)
    try:
        old_max = layer.renderer().redContrastEnhancement().maximumValue()
        qgis_processing.run(ALG, _params(darker, out, tiny_model_file, SCALE=2.0), feedback=_Feedback())
        with rasterio.open(out) as d:
            top = float(d.read(red, masked=True).max())
        assert layer.renderer().redContrastEnhancement().maximumValue() <= top < old_max
    finally:
        project.removeMapLayer(layer.id())
    later = QgsRasterLayer(str(link), "l", "gdal")
    assert later.renderer().redContrastEnhancement().maximumValue() <= top


@pytest.mark.parametrize("when", ["during the quality report", "after the last tile", "as the run returns"])
def test_an_output_loaded_in_qgis_is_reopened_after_a_cancel_that_kept_the_new_raster(qgis_processing, scene,
                                                                                      tiny_model_file, tmp_path, when):
    """Run again to an output loaded in QGIS's project, as the dialog runs it, cancelled once the new raster was
    written: the raster is replaced (the log says so) and QGIS's task, which counts the run as failed, calls no
    postProcessAlgorithm. Test fails on main: the project's layer went on showing the raster the run replaced
    (122 x 90 px for the new 183 x 135), as before the reopening of such layers; [as the run returns], a cancel
    after the algorithm's last look (which then saw none and left the reopening to postProcessAlgorithm), still
    did on e7fc055."""
    import rasterio
    from qgis.core import QgsProcessingContext, QgsProject, QgsRasterLayer
    from qgis_runs import _run_as_the_dialog_does

    class Cancel(_Feedback):
        def isCanceled(self):  # noqa: N802 - QGIS's name; the algorithm's looks (the task's own is QGIS's flag)
            return False if when == "as the run returns" else super().isCanceled()

        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            if info.startswith("Quality report:" if when == "during the quality report" else "Wrote "):
                self.cancel()

        def setProgress(self, progress):  # noqa: N802 - QGIS's name
            super().setProgress(progress)
            if progress >= 100 and when == "after the last tile":
                self.cancel()

    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SCALE=2.0), feedback=_Feedback())
    layer = QgsRasterLayer(str(out), "o", "gdal")
    QgsProject.instance().addMapLayer(layer)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    report = {"QUALITY_REPORT": str(tmp_path / "q.json")} if when == "during the quality report" else {}
    warning = {"during the quality report": "Quality report cancelled", "after the last tile": "Cancelled after"}
    try:
        ok, feedback = _run_as_the_dialog_does(_params(scene, out, tiny_model_file, SCALE=3.0, **report), Cancel(),
                                               context=context)
        assert not ok and [w for w in feedback.warnings if w.startswith(warning.get(when, "Cancel"))] == (
            feedback.warnings[-1:] if when in warning else [])
        # the words true of an output loaded before the run (test fails on main: they said only 'add it from there')
        assert all(w.endswith("add it from there; a layer of it already in the project shows the new raster)")
                   for w in feedback.warnings[-1:] if when in warning)
        with rasterio.open(out) as d:
            size, bounds = (d.width, d.height), d.bounds
        e = layer.extent()
        assert (layer.width(), layer.height()) == size == (183, 135)
        assert max(abs(a - b) for a, b in zip((e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()), bounds)) < 1e-6
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


def test_a_reopening_sent_to_qgis_s_main_thread_skips_a_project_deleted_before_it_came(qgis_processing, scene,
                                                                                       tiny_model_file, tmp_path,
                                                                                       monkeypatch):
    """A run on another thread (the dialog's task, a model's step) sends the reopening of the output's layers to
    QGIS's main thread, which does it when its event loop gets there: by then a script may have deleted its own
    project, which the run's context named. Its layers went with it; QGIS's are reopened. Test fails on main:
    RuntimeError 'wrapped C/C++ object of type QgsProject has been deleted' raised on QGIS's main thread (QGIS
    shows a Python error; a standalone script, without QGIS's hook, aborted: exit status 134), and QGIS's
    project's layer went on showing the raster the run replaced."""
    import threading

    import numpy as np
    from qgis.core import QgsProject, QgsRasterLayer
    from qgis.PyQt import sip
    from qgis_runs import _field, _write

    from qgis_ldcsr.reopen import reopen_on_main_thread

    raised = []
    monkeypatch.setattr("sys.excepthook", lambda *exc: raised.append(exc[1]))  # PyQt's hook for a slot's error
    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SCALE=2.0), feedback=_Feedback())
    own = QgsProject()
    own.addMapLayer(QgsRasterLayer(str(out), "o", "gdal"))
    layer = QgsRasterLayer(str(out), "o", "gdal")
    QgsProject.instance().addMapLayer(layer)
    try:
        new = _write(tmp_path / "new.tif", _field(np.random.default_rng(1), 4, 70, 50, 1, 999), dtype="uint16")
        os.replace(new, out)  # as the engine puts a finished output in place
        sender = threading.Thread(target=reopen_on_main_thread, args=(str(out), None, (own, QgsProject.instance())))
        sender.start()
        sender.join()
        sip.delete(own)
        QgsApplication.processEvents()
        assert raised == [] and (layer.width(), layer.height()) == (50, 70)
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


@pytest.mark.parametrize("given, says", [
    ("{t}/o.tif ", "'{t}/o.tif ' (a space at its end) is not a GeoTIFF name: outputs are GeoTIFFs"),
    ("{t}/no /o.tif", "output folder does not exist: '{t}/no ' (a space at its end)"),
    (" {t}/o.tif", "output folder does not exist: ' {t}' (a space at its start)"),
])
def test_an_output_path_with_a_space_at_an_end_names_it(qgis_processing, scene, tiny_model_file, tmp_path, given, says):
    """Before: '/p/o.tif  is not a GeoTIFF name …' and 'output folder does not exist:  /p', the space not seen."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, given.format(t=tmp_path), tiny_model_file), feedback=_Feedback())
    assert str(ei.value).startswith("LDCSR: " + says.format(t=tmp_path)), str(ei.value)
    assert list(tmp_path.iterdir()) == []
