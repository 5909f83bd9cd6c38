"""The QGIS Processing provider with real QGIS (3.22, PyQt5): ``processing.run`` on real GeoTIFFs,
its outputs against the engine's, cancel, the quality report, refused input and report paths.

Run with the Python QGIS uses (``make test-qgis``: a ``--system-site-packages`` venv with this
package installed, no napari). Without QGIS these tests skip with the reason; with ``CI=true``
they fail instead, as CI installs QGIS (:mod:`qgis_runs`). (No ``__init__.py`` here on purpose:
a package named ``qgis`` would shadow QGIS's own.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from qgis_runs import (
    ALG,
    TRANSFORM,
    UTM33,
    QgsApplication,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsRasterLayer,
    _field,
    _leftovers,
    _params,
    _run_as_the_dialog_does,
    _write,
)

LOAD_LIKE_QGIS = r"""
import os, shutil, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import QgsApplication
app = QgsApplication([], False); app.initQgis()
sys.path.append(os.path.join(QgsApplication.pkgDataPath(), "python", "plugins"))
from processing.core.Processing import Processing
Processing.initialize()
import qgis.utils
plugins = sys.argv[1]
shutil.copytree(sys.argv[2], os.path.join(plugins, "qgis_ldcsr"))
qgis.utils.plugin_paths.insert(0, plugins)
sys.path.insert(0, plugins)
qgis.utils.updateAvailablePlugins()
assert qgis.utils.pluginMetadata("qgis_ldcsr", "hasProcessingProvider") == "yes"
assert qgis.utils.pluginMetadata("qgis_ldcsr", "name") == "LDCSR super-resolution"
assert qgis.utils.loadPlugin("qgis_ldcsr") and qgis.utils.startProcessingPlugin("qgis_ldcsr")
reg = QgsApplication.processingRegistry()
assert reg.algorithmById("ldcsr:superresolution") is not None
assert qgis.utils.unloadPlugin("qgis_ldcsr")
assert reg.algorithmById("ldcsr:superresolution") is None
print("loaded and unloaded")
"""


def test_folder_loads_as_qgis_loads_processing_plugins(tmp_path):
    """metadata.txt + classFactory, through qgis.utils (as qgis_process loads such plugins)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", LOAD_LIKE_QGIS, str(tmp_path),
                        str(root / "qgis_ldcsr")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "loaded and unloaded" in r.stdout, r.stderr[-3000:]


def test_provider_is_registered(qgis_processing):
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.displayName() == "LDCSR super-resolution"
    names = [p.name() for p in alg.parameterDefinitions()]
    assert names == ["INPUT", "SCALE", "TARGET_PIXEL_SIZE", "BANDS", "MODE", "SEED", "MODEL_NAME", "MODEL",
                     "TILE", "STRETCH", "SAMPLES", "OUTPUT", "SPREAD", "QUALITY_REPORT"]
    assert "Sentinel-2" in alg.shortHelpString()


def test_without_the_engine_the_log_says_how_to_install_it(qgis_processing, monkeypatch):
    """The provider loads without algorithms and logs how to install the engine. Before, it said
    'install it with python3 -m pip install napari-ldcsr', which pip answers 'No matching
    distribution found': napari-ldcsr is not on PyPI."""
    from types import SimpleNamespace

    import qgis_ldcsr.provider as prov

    said = []
    monkeypatch.setattr(prov, "importlib", SimpleNamespace(util=SimpleNamespace(find_spec=lambda name: None)))
    monkeypatch.setattr(prov, "QgsMessageLog", SimpleNamespace(logMessage=lambda *a: said.append(a)))
    provider = prov.LdcsrProvider()
    provider.loadAlgorithms()
    assert provider.algorithms() == [] and len(said) == 1
    msg, tag, _level = said[0]
    assert tag == "Processing" and "not on PyPI" in msg and "from a checkout or a wheel" in msg
    assert "install it with 'python3 -m pip install napari-ldcsr'" not in msg


def test_without_torch_the_provider_says_so_and_a_run_is_one_line(qgis_processing, scene, tiny_model_file,
                                                                    tmp_path, monkeypatch):
    """torch missing from QGIS's Python (pip --no-deps, installed for another Python): the provider
    says so at load, and a run that cannot import it is one line. Before: the algorithm loaded, and
    its run ended in a Python traceback ('ModuleNotFoundError: No module named 'torch'')."""
    from types import SimpleNamespace

    import qgis_ldcsr.algorithm as alg_mod
    import qgis_ldcsr.provider as prov

    said = []
    specs = {"ldcsr_core": object(), "torch": None}
    monkeypatch.setattr(prov, "importlib", SimpleNamespace(util=SimpleNamespace(find_spec=specs.get)))
    monkeypatch.setattr(prov, "QgsMessageLog", SimpleNamespace(logMessage=lambda *a: said.append(a)))
    provider = prov.LdcsrProvider()
    provider.loadAlgorithms()
    assert provider.algorithms() == [] and len(said) == 1 and said[0][0].startswith("LDCSR: torch, which the engine")

    def no_torch(path):
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(alg_mod, "_load_model", no_torch)
    ok, feedback = _run_as_the_dialog_does(_params(scene, tmp_path / "o.tif", tiny_model_file))
    assert not ok and feedback.errors == [
        "LDCSR: the engine cannot be loaded in the Python QGIS uses: No module named 'torch'; nothing was written "
        "(install torch and napari-ldcsr for that Python: see docs/qgis.md)"]
    assert "Traceback" not in feedback.textLog() and not (tmp_path / "o.tif").exists()


def test_an_engine_part_qgis_s_python_cannot_import_is_one_line_also_where_the_layer_is_read(
        qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch):
    """An engine part that QGIS's Python cannot import (numpy, which the nodata rules read in prepareAlgorithm
    import, missing or broken there) is the run's one line, as where the run imports it. Test fails on main:
    prepareAlgorithm raised the ImportError, so the dialog's log showed a Python traceback ('Traceback (most
    recent call last): ... ModuleNotFoundError: ...') and its task was cancelled before it ran."""
    said = []
    monkeypatch.setattr("sys.excepthook", lambda *exc: said.append(exc[1]))
    monkeypatch.setitem(sys.modules, "ldcsr_core.geo.nodata_override", None)  # import raises ImportError
    ok, feedback = _run_as_the_dialog_does(_params(scene, tmp_path / "o.tif", tiny_model_file))
    assert not ok and feedback.errors == [
        "LDCSR: the engine cannot be loaded in the Python QGIS uses: import of ldcsr_core.geo.nodata_override "
        "halted; None in sys.modules; nothing was written (install torch and napari-ldcsr for that Python: see "
        "docs/qgis.md)"], feedback.textLog()
    assert said == [] and not (tmp_path / "o.tif").exists()


def test_output_is_exact_and_equals_the_engine_raster_path(qgis_processing, scene, tiny_model_file,
                                                           tmp_path):
    feedback = QgsProcessingFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    out = tmp_path / "sr.tif"
    res = qgis_processing.run(ALG, _params(scene, out, tiny_model_file, TILE=48), feedback=feedback)
    assert res["OUTPUT"] == str(out)
    assert len(progress) >= 2 and progress == sorted(progress) and progress[-1] == 100.0
    log = feedback.textLog()
    assert "Model input R,G,B = bands 1,2,3" in log and "Wrote" in log
    with rasterio.open(scene) as s, rasterio.open(out) as d:
        assert (d.height, d.width) == (round(45 * 2.5), round(61 * 2.5))
        assert d.crs == s.crs
        px = abs(s.transform.a)
        assert all(abs(a - b) <= 1e-6 * px for a, b in zip(s.bounds, d.bounds))
        assert d.dtypes == ("uint16",) * 4 and d.nodata == 0
        t = d.tags()
        assert "AI-generated" in t["LDCSR_NOTICE"] and t["LDCSR_MODE"] == "fast"
        assert t["LDCSR_MODEL"] == "tiny-test 0" and t["SENSOR"] == "S2A"
        assert float(t["LDCSR_SCALE_X"]) == d.width / s.width
        assert d.descriptions == s.descriptions
        qgis_out = d.read()
    assert (qgis_out == 0).any() and (qgis_out != 0).any()
    layer = QgsRasterLayer(str(out), "sr")
    assert layer.isValid() and layer.crs().authid() == "EPSG:32633" and layer.bandCount() == 4
    # A thin shell: the very pixels the engine's raster path (and `ldcsr upscale`) writes.
    import ldcsr_core
    from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

    model = ldcsr_core.load_model(tiny_model_file, device="cpu")
    upscale_raster(scene, tmp_path / "engine.tif", model=model, scale=2.5,
                   options=UpscaleOptions(mode="fast", seed=0, tile=48), output=OutputOptions())
    with rasterio.open(tmp_path / "engine.tif") as e:
        assert np.array_equal(e.read(), qgis_out)
    assert _leftovers(tmp_path, "sr.tif") == []


def test_the_help_says_the_nodata_and_bands_the_output_gets(qgis_processing, tiny_model_file, tmp_path):
    """Before, the help said the output has 'exactly the input's ... band count, data type and nodata',
    while a float layer without nodata gets NaN as nodata and a paletted layer is written as RGB."""
    float_src = _write(tmp_path / "f.tif", _field(np.random.default_rng(1), 3, 24, 24, 0, 1000) / 7,
                       dtype="float32")
    paletted = _write(tmp_path / "p.tif", np.arange(576).reshape(1, 24, 24) % 4, dtype="uint8")
    with rasterio.open(paletted, "r+") as ds:
        ds.write_colormap(1, {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (0, 255, 0, 255), 3: (0, 0, 255, 255)})
    for src in (float_src, paletted):
        qgis_processing.run(ALG, _params(src, tmp_path / f"o_{src.name}", tiny_model_file, SCALE=2.0),
                            feedback=QgsProcessingFeedback())
    with rasterio.open(tmp_path / "o_f.tif") as d, rasterio.open(tmp_path / "o_p.tif") as p:
        assert np.isnan(d.nodata) and p.count == 3
    text = " ".join(QgsApplication.processingRegistry().algorithmById(ALG).shortHelpString().split())
    assert "a float layer without nodata gets NaN" in text and "paletted layer is written as RGB" in text
    assert "band count, data type and nodata" not in text


def test_the_log_says_one_tile_in_the_singular(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: 'Wrote OUT: 1 tiles in 0.2 s'."""
    feedback = QgsProcessingFeedback()
    out = tmp_path / "one.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, BANDS="1,2,3"), feedback=feedback)
    assert f"Wrote {out}: 1 tile in " in feedback.textLog(), feedback.textLog()


def test_target_pixel_size(qgis_processing, scene, tiny_model_file, tmp_path):
    out = tmp_path / "t.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, TARGET_PIXEL_SIZE=4.0, SCALE=None),
                        feedback=QgsProcessingFeedback())
    with rasterio.open(out) as d:
        assert (d.height, d.width) == (round(45 * 2.5), round(61 * 2.5))
        assert d.res == pytest.approx((4.0, 4.0), rel=1e-2)


def test_sentinel2_stack_defaults_to_bands_4_3_2(qgis_processing, tiny_model_file, tmp_path):
    src = _write(tmp_path / "s2_13.tif", _field(np.random.default_rng(1), 13, 24, 24, 100, 5000),
                 dtype="uint16")
    feedback = QgsProcessingFeedback()
    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(src, out, tiny_model_file, SCALE=2.0), feedback=feedback)
    assert "Model input R,G,B = bands 4,3,2 (Sentinel-2 rule)" in feedback.textLog()
    with rasterio.open(out) as d:
        assert d.count == 13 and d.tags()["LDCSR_BANDS"].startswith("[[4, 3, 2]")


def _readonly_folder(tmp_path) -> Path:
    """A folder nobody may create files in; as root (chmod is no barrier), sysfs's root."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        (ro / "probe").touch()
    except PermissionError:
        return ro
    (ro / "probe").unlink()
    return Path("/sys")


def _complex_raster(tmp_path):
    p = tmp_path / "complex.tif"
    with rasterio.open(p, "w", driver="GTiff", width=8, height=8, count=1, dtype="complex64",
                       crs=UTM33, transform=TRANSFORM) as ds:
        ds.write(np.ones((1, 8, 8), np.complex64))
    return p


BAD = {
    "dtype": (lambda s, t: {"INPUT": str(_complex_raster(t))}, "unsupported data type"),
    "band count": (lambda s, t: {"BANDS": [1, 2]}, "1 or 3 bands"),
    "missing band": (lambda s, t: {"BANDS": [9]}, "band 9 does not exist"),
    "scale too large": (lambda s, t: {"SCALE": 12.0}, "scale must be in (1, 8]"),
    "scale below 1": (lambda s, t: {"SCALE": 0.5}, "scale must be in (1, 8]"),
    "target coarser": (lambda s, t: {"TARGET_PIXEL_SIZE": 20.0}, "not finer than the input's"),
    "target beyond x8": (lambda s, t: {"TARGET_PIXEL_SIZE": 1.0}, "is x10 finer than the input's 10 x 10 metre; "
                         "LDCSR upscales by at most x8, so the finest target is 1.25 x 1.25 metre"),
    "target too close": (lambda s, t: {"TARGET_PIXEL_SIZE": 9.99}, "target pixel size 9.99 x 9.99 metre is too "
                         "close to the input's 10 x 10 metre"),
    # 300 x 96 px at x1.004: 301 x 96 px (before: run at x1 in height)
    "scale keeps the height": (lambda s, t: {"INPUT": str(_low_raster(t)), "SCALE": 1.004},
                               "scale 1.004 does not enlarge the input's height: 300 x 96 px would give 301 x 96 px"),
    # refused before the model loads where os.access says so (a user's chmod 555), else (root's /sys) at the write
    "read-only folder": (lambda s, t: {"OUTPUT": str(_readonly_folder(t) / "o.tif")},
                         ("output folder is not writable: ", "cannot write to")),
    "not a checkpoint": (lambda s, t: {"MODEL": str(_junk(t))}, "LDCSR: "),
    "truncated input": (lambda s, t: {"INPUT": str(_truncated(s, t))}, "is truncated or damaged"),
    "missing model": (lambda s, t: {"MODEL": str(t / "nope.safetensors")}, "checkpoint not found"),
    # before: 'model file not found', of a folder that is there
    "model is a folder": (lambda s, t: {"MODEL": str(t)}, "is not a regular file, so not a checkpoint"),
    "fractional seed": (lambda s, t: {"SEED": 1.5}, "seed must be a whole number"),
    "report is the output": (lambda s, t: {"QUALITY_REPORT": str(t / "o.tif")},
                             "quality report path is the output raster"),
    "report folder missing": (lambda s, t: {"QUALITY_REPORT": str(t / "nodir" / "q.json")},
                              "quality report's folder does not exist"),
}


def _low_raster(tmp_path):
    p = tmp_path / "low.tif"
    with rasterio.open(p, "w", driver="GTiff", width=300, height=96, count=3, dtype="uint8",
                       crs=UTM33, transform=TRANSFORM) as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, 96, 300), dtype=np.uint8))
    return p


def _truncated(scene, tmp_path):
    """``scene`` rewritten tiled and cut at half its length (the header survives, blocks do not)."""
    import rasterio

    whole, cut = tmp_path / "whole.tif", tmp_path / "trunc.tif"
    with rasterio.open(scene) as src:
        prof = dict(src.profile, tiled=True, blockxsize=16, blockysize=16, compress="deflate")
        with rasterio.open(whole, "w", **prof) as dst:
            dst.write(src.read())
    raw = whole.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    whole.unlink()
    return cut


def _junk(tmp_path):
    p = tmp_path / "model.safetensors"
    p.write_bytes(b"\x00" * 64)
    return p


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_clear_line_and_writes_nothing(qgis_processing, scene, tiny_model_file,
                                                       tmp_path, case):
    make, expected = BAD[case]
    said = (lambda msg: any(e in msg for e in expected)) if isinstance(expected, tuple) else (lambda msg: expected in msg)
    params = _params(scene, tmp_path / "o.tif", tiny_model_file)
    params.update(make(scene, tmp_path))
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, params, feedback=QgsProcessingFeedback())
    assert said(str(ei.value)) and "Traceback" not in str(ei.value)
    ok, feedback = _run_as_the_dialog_does(params)  # the log: one line, once
    log = feedback.textLog()
    assert not ok and len(feedback.errors) == 1 and said(feedback.errors[0]), log
    assert log.count(feedback.errors[0]) == 1 and "Traceback" not in log
    assert not (tmp_path / "o.tif").exists() and _leftovers(tmp_path, "o.tif") == []
    out = Path(params["OUTPUT"])
    assert not out.exists()


def test_a_report_path_equal_to_the_input_is_refused_and_the_input_kept(qgis_processing, scene,
                                                                        tiny_model_file, tmp_path):
    import hashlib
    import shutil
    src = tmp_path / "scene.tif"
    shutil.copy(scene, src)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    feedback = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match="quality report path is the input raster"):
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, QUALITY_REPORT=str(src)),
                            feedback=feedback)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest  # before: overwritten with JSON
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]


def test_stretch_as_in_the_cli(qgis_processing, scene, tiny_model_file, tmp_path):
    import json

    import rasterio
    for k, name in enumerate(("auto", "percentile", "dtype")):
        out = tmp_path / f"{name}.tif"
        qgis_processing.run(ALG, _params(scene, out, tiny_model_file, STRETCH=k), feedback=QgsProcessingFeedback())
        with rasterio.open(out) as d:
            lo = json.loads(d.tags()["LDCSR_STRETCH"])["lo"]
        if name == "dtype":
            assert lo[0] == 0.0  # the full uint16 range
        else:
            assert lo[0] > 0.0  # percentiles of the data


def test_bands_typed_as_in_the_cli(qgis_processing, scene, tiny_model_file, tmp_path):
    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, BANDS="4,3,2"), feedback=QgsProcessingFeedback())
    import rasterio
    with rasterio.open(out) as d:
        assert d.tags()["LDCSR_BANDS"].startswith("[[4, 3, 2]")


def test_cancel_after_the_first_tile_leaves_no_output(qgis_processing, scene, tiny_model_file,
                                                      tmp_path):
    feedback = QgsProcessingFeedback()
    seen = []

    def cancel_after_first_tile(p):
        seen.append(p)
        if p > 0:
            feedback.cancel()

    feedback.progressChanged.connect(cancel_after_first_tile)
    out = tmp_path / "c.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled") as ei:
        qgis_processing.run(ALG, _params(scene, out, tiny_model_file, MODE=1, TILE=48),  # fast: several tiles
                            feedback=feedback)
    assert seen and 0 < seen[-1] < 100  # stopped after the first tile, not at the end
    assert "Cancelled: nothing was written." in str(ei.value)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".json", ".html"])
def test_quality_report_is_the_engine_selfcheck(qgis_processing, scene, tiny_model_file, tmp_path, suffix):
    import json

    import ldcsr_core

    out, report = tmp_path / "o.tif", tmp_path / f"quality{suffix}"
    feedback = QgsProcessingFeedback()
    res = qgis_processing.run(ALG, _params(scene, out, tiny_model_file, QUALITY_REPORT=str(report)),
                              feedback=feedback)
    assert res["QUALITY_REPORT"] == str(report) and out.exists()
    ref = ldcsr_core.selfcheck(str(scene), 2.5, model=ldcsr_core.load_model(tiny_model_file, device="cpu"),
                               mode="fast", bands=(1, 2, 3))  # Sentinel-2 names: B4, B3, B2 = 1, 2, 3
    assert ref.gain_db < 0 and f"({ref.gain_db:+.2f} dB: worse than bicubic)" in feedback.textLog()  # its sign in words
    if suffix == ".json":
        (d,) = json.loads(report.read_text())
        assert d["scale"] == 2.5 and d["mode"] == "fast" and d["crop"] == 3
        assert d["psnr_model"] == pytest.approx(ref.psnr_model, rel=1e-12)
        assert d["gain_db"] == pytest.approx(ref.gain_db, rel=1e-12)
        assert d["model"] == "tiny-test" and len(d["model_sha256"]) == 64 and d["sampling"] == "whole"
    else:
        html = report.read_text()
        assert html.startswith("<!DOCTYPE html>") and f"{ref.gain_db:+.2f} dB" in html
        assert "bicubic-like sensor blur" in html
    assert _leftovers(tmp_path, report.name) == []


def test_quality_report_is_optional_and_warns_when_impossible(qgis_processing, scene, tiny_model_file,
                                                              tmp_path):
    out = tmp_path / "o.tif"
    res = qgis_processing.run(ALG, _params(scene, out, tiny_model_file), feedback=QgsProcessingFeedback())
    assert not res.get("QUALITY_REPORT") and [p.name for p in tmp_path.iterdir()] == ["o.tif"]
    report, feedback = tmp_path / "q.json", QgsProcessingFeedback()
    res = qgis_processing.run(ALG, _params(scene, tmp_path / "o8.tif", tiny_model_file, SCALE=8.0,
                                           QUALITY_REPORT=str(report)), feedback=feedback)
    assert (tmp_path / "o8.tif").exists() and not report.exists() and not res["QUALITY_REPORT"]
    assert "No quality report:" in feedback.textLog()  # 45 px at ×8 -> 5 px: more than ×8 back


@pytest.mark.parametrize("case", ["model file", "VRT source", "input .aux.xml", "folder"])
def test_a_report_path_on_a_file_the_run_reads_is_refused_before_any_work(qgis_processing, scene,
                                                                          tiny_model_file, tmp_path, case):
    """Before: the report overwrote the model file, a VRT's source or the input's .aux.xml with
    JSON; on a folder it failed after the raster was written (reported as a failure)."""
    import hashlib
    import shutil

    from osgeo import gdal
    src, model = tmp_path / "scene.tif", tmp_path / "m.safetensors"
    shutil.copy(scene, src)
    shutil.copy(tiny_model_file, model)
    (tmp_path / "scene.tif.aux.xml").write_text("<PAMDataset><Metadata><MDI key=\"K\">v</MDI></Metadata></PAMDataset>\n")
    gdal.Translate(str(tmp_path / "v.vrt"), str(src), format="VRT")
    (tmp_path / "dir").mkdir()
    inp, report, expected = {
        "model file": (src, model, "quality report path is the model file"),
        "VRT source": (tmp_path / "v.vrt", src, "quality report path is a file v.vrt reads"),
        "input .aux.xml": (src, tmp_path / "scene.tif.aux.xml", "quality report path is a file scene.tif reads"),
        "folder": (src, tmp_path / "dir", "quality report path is a folder"),
    }[case]
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir() if p.is_file()}
    feedback = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match=expected):
        qgis_processing.run(ALG, _params(inp, tmp_path / "o.tif", model, QUALITY_REPORT=str(report)),
                            feedback=feedback)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing changed


def test_a_report_path_on_the_shipped_model_is_refused(qgis_processing, scene, tiny_model_file, tmp_path,
                                                       monkeypatch):
    """No model file given: the run reads the shipped one, so it is an input too (the engine's
    rule, as ``ldcsr selfcheck --json``). Before: only a model file given was checked, and the
    shipped weights became the report."""
    import shutil

    import ldcsr_core.builtin_models as ck

    shipped = shutil.copy(tiny_model_file, tmp_path / "shipped.safetensors")
    monkeypatch.setattr(ck, "default_model_path", lambda: Path(shipped))
    before = Path(shipped).read_bytes()
    params = dict(_params(scene, tmp_path / "o.tif", tiny_model_file, QUALITY_REPORT=str(shipped)), MODEL="")
    with pytest.raises(QgsProcessingException, match="quality report path is the model file"):
        qgis_processing.run(ALG, params, feedback=QgsProcessingFeedback())
    assert Path(shipped).read_bytes() == before and not (tmp_path / "o.tif").exists()
