"""The QGIS Processing provider with real QGIS (3.22, PyQt5): ``processing.run`` on real GeoTIFFs.

Run with the Python QGIS uses (``make test-qgis``: a ``--system-site-packages`` venv with this
package installed, no napari). Without QGIS these tests skip with the reason; with ``CI=true``
they fail instead, as CI installs QGIS. (No ``__init__.py`` or ``conftest.py`` here on purpose: a
package named ``qgis`` would shadow QGIS's own.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

try:
    from qgis.core import (QgsApplication, QgsProcessingException, QgsProcessingFeedback,
                           QgsRasterLayer)
except ImportError as exc:  # pragma: no cover - depends on the machine
    _msg = (f"QGIS is not importable here ({exc}): install python3-qgis and qgis-providers and "
            "run `make test-qgis` (it uses the system Python that QGIS is built for)")
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(_msg + " — required on CI") from None
    pytest.skip(_msg, allow_module_level=True)

import rasterio  # noqa: E402
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

ALG = "ldcsr:superresolution"
UTM33 = CRS.from_epsg(32633)
TRANSFORM = from_origin(600000.0, 5340000.0, 10.0, 10.0)


@pytest.fixture(scope="session")
def qgis_processing():
    """A headless QgsApplication with Processing initialised and our provider registered."""
    from qgis_session import start_processing

    _app, plugin = start_processing(gui=False)
    import processing

    yield processing
    plugin.unload()


def _write(path, data, *, dtype, nodata=None, descriptions=None, tags=None):
    count, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=count, dtype=dtype,
                       crs=UTM33, transform=TRANSFORM, nodata=nodata) as ds:
        ds.write(data.astype(dtype))
        for i, d in enumerate(descriptions or [], start=1):
            ds.set_band_description(i, d)
        if tags:
            ds.update_tags(**tags)
    return Path(path)


def _field(rng, bands, h, w, lo, hi):
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    out = np.empty((bands, h, w))
    for b in range(bands):
        fx, fy = rng.uniform(0.05, 0.2, 2)
        f = 0.5 + 0.25 * np.sin(fx * xx + b) + 0.2 * np.cos(fy * yy) + 0.05 * rng.standard_normal((h, w))
        out[b] = lo + (hi - lo) * np.clip(f, 0, 1)
    return out.round()


@pytest.fixture(scope="session")
def scene(tmp_path_factory):
    """16-bit, 4 bands, nodata 0, projected (UTM 33N, 10 m), odd size, band names and tags."""
    d = tmp_path_factory.mktemp("qgis_in")
    data = _field(np.random.default_rng(0), 4, 45, 61, 200, 12000)
    data[:, 5:14, 7:20] = 0
    return _write(d / "s2_uint16.tif", data, dtype="uint16", nodata=0,
                  descriptions=["B4 red", "B3 green", "B2 blue", "B8 nir"],
                  tags={"SENSOR": "S2A"})


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    p = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    return ldcsr_core.save_model(model, p, name="tiny-test", version="0", notes="random weights")


def _params(src, out, model, **kw):
    p = {"INPUT": str(src), "SCALE": 2.5, "MODE": 1, "SEED": 0, "MODEL": str(model), "TILE": 0,
         "OUTPUT": str(out)}
    p.update(kw)
    return p


class _Feedback(QgsProcessingFeedback):
    """A feedback that also keeps each error reported to it (``errors``)."""

    def __init__(self):
        super().__init__()
        self.errors = []

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS's names
        self.errors.append(error)
        super().reportError(error, fatalError)


def _run_as_the_dialog_does(params, feedback=None, *, wait=True):
    """Run the algorithm as the Processing dialog does: a ``QgsProcessingAlgRunnerTask`` in QGIS's
    task manager (a background thread; the task logs a failed run's exception to the feedback).
    ``(ok, feedback)``; with ``wait=False`` a function that waits and returns that."""
    import time

    from qgis.core import QgsProcessingAlgRunnerTask, QgsProcessingContext

    feedback = feedback or _Feedback()
    context = QgsProcessingContext()
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)
    done = []
    task.executed.connect(lambda ok, results: done.append(ok))
    QgsApplication.taskManager().addTask(task)

    def result():
        deadline = time.monotonic() + 300
        while not done and time.monotonic() < deadline:
            QgsApplication.processEvents()
            time.sleep(0.01)
        assert done, "the task did not end within 300 s"
        _keep = (alg, context)  # noqa: F841 - alive until the task has ended
        return done[0], feedback

    return result() if wait else result


def _leftovers(folder: Path, name: str):
    return [p.name for p in folder.iterdir() if p.name.startswith(f".{name}.")]


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
    assert names == ["INPUT", "SCALE", "TARGET_PIXEL_SIZE", "BANDS", "MODE", "SEED", "MODEL",
                     "TILE", "STRETCH", "OUTPUT", "QUALITY_REPORT"]
    assert "Sentinel-2" in alg.shortHelpString()


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
    "read-only folder": (lambda s, t: {"OUTPUT": str(_readonly_folder(t) / "o.tif")},
                         "cannot write to"),
    "not a checkpoint": (lambda s, t: {"MODEL": str(_junk(t))}, "LDCSR: "),
    "truncated input": (lambda s, t: {"INPUT": str(_truncated(s, t))}, "is truncated or damaged"),
    "missing model": (lambda s, t: {"MODEL": str(t / "nope.safetensors")}, "model file not found"),
    "fractional seed": (lambda s, t: {"SEED": 1.5}, "seed must be a whole number"),
    "report is the output": (lambda s, t: {"QUALITY_REPORT": str(t / "o.tif")},
                             "quality report path is the output raster"),
    "report folder missing": (lambda s, t: {"QUALITY_REPORT": str(t / "nodir" / "q.json")},
                              "quality report's folder does not exist"),
}


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
    params = _params(scene, tmp_path / "o.tif", tiny_model_file)
    params.update(make(scene, tmp_path))
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, params, feedback=QgsProcessingFeedback())
    assert expected in str(ei.value) and "Traceback" not in str(ei.value)
    ok, feedback = _run_as_the_dialog_does(params)  # the log: one line, once
    log = feedback.textLog()
    assert not ok and len(feedback.errors) == 1 and expected in feedback.errors[0], log
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
    assert f"({ref.gain_db:+.2f} dB)" in feedback.textLog()
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


@pytest.mark.parametrize("text, expected", [("", "bands 1,2,3 (Sentinel-2 rule)"), ("  ", "bands 1,2,3 (Sentinel-2 rule)"),
                                            ("3;2;1", "bands 3,2,1 (chosen)"), ("4", "bands 4,4,4 (chosen)")])
def test_typed_bands_empty_is_automatic(qgis_processing, scene, tiny_model_file, tmp_path, text, expected):
    """Before: "" (an empty batch or modeler cell) was read by QGIS as band 0 and refused."""
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, BANDS=text),
                        feedback=feedback)
    assert f"Model input R,G,B = {expected}" in feedback.textLog()


@pytest.mark.parametrize("text", ["x", "red", "4 3 2"])
def test_typed_bands_not_numbers_say_so(qgis_processing, scene, tiny_model_file, tmp_path, text):
    """Before: any text without a comma became "band 0 does not exist"."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, BANDS=text),
                            feedback=QgsProcessingFeedback())
    assert "band 0" not in str(ei.value) and ("1-based band numbers" in str(ei.value)
                                              or "band 432 does not exist" in str(ei.value))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("params, expected", [
    ({"SCALE": "abc"}, "the scale must be a number, got 'abc'"),
    ({"SCALE": "2,5"}, "the scale must be a number, got '2,5'"),  # a decimal comma
    ({"TARGET_PIXEL_SIZE": "4 m"}, "the target pixel size must be a number"),
    ({"TARGET_PIXEL_SIZE": float("nan")}, "the target pixel size must be a finite number"),
    ({"TILE": 40.5}, "the tile size must be a whole number"),
    ({"SEED": "1.5"}, "the seed must be a whole number"),
    ({"SEED": -2 ** 31}, "Incorrect parameter value for SEED"),
])
def test_numbers_qgis_would_replace_silently_are_refused(qgis_processing, scene, tiny_model_file, tmp_path,
                                                         params, expected):
    """Before: QGIS ran these with another value: an optional parameter's default for text that is
    not a number (×2 instead of 2,5), no target for NaN, a rounded tile or seed, seed 0 for -2**31."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, **params),
                            feedback=QgsProcessingFeedback())
    assert expected in str(ei.value) and "Traceback" not in str(ei.value)
    assert list(tmp_path.iterdir()) == []


def test_numbers_as_text_and_the_seed_bounds(qgis_processing, scene, tiny_model_file, tmp_path):
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=" 2 ", TILE="",
                                     SEED=-2 ** 31 + 1), feedback=feedback)
    assert f"seed {-2 ** 31 + 1}" in feedback.textLog() and "(scale 2 x 2)" in feedback.textLog()


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


def test_a_crs_set_in_qgis_only_is_warned_about(qgis_processing, tiny_model_file, tmp_path):
    """The engine reads the file: a CRS assigned to the layer in QGIS does not reach the output."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingContext, QgsProject
    src = tmp_path / "nocrs.tif"
    with rasterio.open(src, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint8",
                       transform=TRANSFORM) as ds:
        ds.write(np.full((3, 24, 24), 100, np.uint8))
    layer = QgsRasterLayer(str(src), "nocrs")
    layer.setCrs(QgsCoordinateReferenceSystem("EPSG:32633"))
    QgsProject.instance().addMapLayer(layer)
    feedback = QgsProcessingFeedback()
    try:
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                            context=context, feedback=feedback)
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    assert "is shown in EPSG:32633, but its file has no CRS" in feedback.textLog()
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(str(src), tmp_path / "o2.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert "but its file" not in feedback.textLog()


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


def test_a_report_that_cannot_be_written_is_a_warning_not_a_failed_run(qgis_processing, scene, tiny_model_file,
                                                                       tmp_path, monkeypatch):
    """Before: the run failed (the raster not loaded) though the raster was written."""
    import errno

    import ldcsr_core.quality

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ldcsr_core.quality, "write_report", full)
    feedback = QgsProcessingFeedback()
    res = qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file,
                                           QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert res["OUTPUT"] == str(tmp_path / "o.tif") and (tmp_path / "o.tif").exists()
    assert res["QUALITY_REPORT"] is None and not (tmp_path / "q.json").exists()
    assert "No quality report: cannot write" in feedback.textLog() and "No space left" in feedback.textLog()


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


@pytest.mark.parametrize("case", ["missing model", "cancelled"])
def test_an_error_shows_once_in_the_dialog_log(qgis_processing, scene, tiny_model_file, tmp_path, case):
    """Before: every failed run's line twice in the Processing dialog's log: reported by the
    algorithm, then by QGIS's task from the exception raised with it."""
    params = _params(scene, tmp_path / "o.tif", tiny_model_file)
    feedback = _Feedback()
    if case == "missing model":
        params["MODEL"], expected = str(tmp_path / "nope.safetensors"), f"LDCSR: model file not found: {tmp_path}"
    else:
        feedback.cancel()
        expected = "Cancelled: nothing was written."
    ok, feedback = _run_as_the_dialog_does(params, feedback)
    log = feedback.textLog()
    assert not ok and len(feedback.errors) == 1 and feedback.errors[0].startswith(expected), log
    assert log.count(expected) == 1, log
    assert list(tmp_path.iterdir()) == []


def test_two_runs_at_once_each_log_only_their_own_warnings(qgis_processing, scene, tiny_model_file, tmp_path):
    """QGIS runs algorithms as background tasks, several at once. Before: the engine's log records
    went to every run going on, so a run's log showed the other's warnings too."""
    import threading

    barrier = threading.Barrier(2, timeout=120)

    class Together(_Feedback):
        """Both runs started (their log handlers in place) before either goes on to the engine."""

        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            if info.startswith("Model input"):
                barrier.wait()

    waits = []
    for name in ("a", "b"):
        (tmp_path / f".{name}.tif.abcdefgh.ldcsr-part").write_bytes(b"")  # left by a killed run
        waits.append(_run_as_the_dialog_does(_params(scene, tmp_path / f"{name}.tif", tiny_model_file, SCALE=2.0),
                                             Together(), wait=False))
    (ok_a, fb_a), (ok_b, fb_b) = (w() for w in waits)
    assert ok_a and ok_b
    for fb, own, other in ((fb_a, "a.tif", "b.tif"), (fb_b, "b.tif", "a.tif")):
        log = fb.textLog()
        assert f"removed 1 stale part file(s) of {own} left by an interrupted run" in log, log
        assert f"stale part file(s) of {other}" not in log, log


def test_two_runs_at_once_load_their_model_once(qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch):
    """Before: two runs started together each loaded the model (twice the time and memory of a large
    checkpoint), and one could fail on the cache emptied by the other between its store and its read."""
    import threading
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
    barrier = threading.Barrier(2, timeout=120)

    class Together(_Feedback):
        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            if info.startswith("Model input"):
                barrier.wait()

    waits = [_run_as_the_dialog_does(_params(scene, tmp_path / f"{n}.tif", tiny_model_file, SCALE=2.0), Together(),
                                     wait=False) for n in ("a", "b")]
    assert [w()[0] for w in waits] == [True, True]
    assert len(loads) == 1
