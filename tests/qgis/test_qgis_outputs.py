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
