"""Layers as a QGIS user has them (a file name QGIS reads with a '|', nodata set in the layer's
properties that the engine cannot take, NaN as the extra nodata of a float layer) and a cancel
during the quality report as the Processing dialog runs it. Real QGIS, as in
``test_qgis_provider.py``."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from qgis_runs import (
    ALG,
    QgsApplication,
    QgsProcessingException,
    QgsRasterLayer,
    _Feedback,
    _field,
    _leftovers,
    _params,
    _run_as_the_dialog_does,
    _write,
)


def test_a_file_name_with_a_pipe_is_read(qgis_processing, scene, tiny_model_file, tmp_path):
    """'|' separates a GDAL URI's options in QGIS, but QGIS reads 'a|b.tif' as that file. Before:
    'the file of layer ... no longer exists (moved or deleted?): .../a'."""
    src = tmp_path / "a|b.tif"
    shutil.copy(scene, src)
    layer = QgsRasterLayer(str(src), "piped")
    assert layer.isValid()
    res = qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                              feedback=_Feedback())
    with rasterio.open(res["OUTPUT"]) as out:
        assert out.shape == (90, 122) and out.tags()["LDCSR_SOURCE"] == "a|b.tif"


def test_a_zip_member_is_still_refused(qgis_processing, scene, tiny_model_file, tmp_path):
    """QGIS's reading of the source gives the container's path for it (a file): not taken for the raster."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.write(scene, "s2.tif")
    layer = QgsRasterLayer(f"/vsizip/{tmp_path}/a.zip/s2.tif", "zipped")
    assert layer.isValid()
    with pytest.raises(QgsProcessingException, match="layer 'zipped' is not a plain raster file"):
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, INPUT=layer),
                            feedback=_Feedback())
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("where", ["/vsicurl/", "/vsimem/"])
def test_a_layer_of_no_file_on_this_computer_is_refused_as_such(qgis_processing, scene, tiny_model_file, tmp_path,
                                                                 where):
    """A raster QGIS reads over HTTP (Add Raster Layer ▸ Protocol: HTTP(S), a /vsicurl/ source; here from a local
    server) or from GDAL's memory. Before: 'the file of layer ... no longer exists (moved or deleted?)'."""
    import functools
    import http.server
    import threading

    from osgeo import gdal

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(scene.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = (f"/vsicurl/http://127.0.0.1:{server.server_port}/{scene.name}" if where == "/vsicurl/"
              else "/vsimem/ldcsr_test_layer.tif")
    if where == "/vsimem/":
        gdal.Translate(source, str(scene))
    try:
        layer = QgsRasterLayer(source, "remote")
        assert layer.isValid()
        with pytest.raises(QgsProcessingException) as ei:
            qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, INPUT=layer),
                                feedback=_Feedback())
    finally:
        server.shutdown()
        server.server_close()
        gdal.Unlink(source) if where == "/vsimem/" else None
    assert f"layer 'remote' is not a plain raster file ({source}): save it as a GeoTIFF first" in str(ei.value)
    assert list(tmp_path.iterdir()) == []


def _geopackage(tmp_path, name, src, tables):
    """A GeoPackage at ``tmp_path/name`` holding ``src`` as each of ``tables`` (GDAL's GPKG driver)."""
    from osgeo import gdal

    path = str(tmp_path / name)
    for n, table in enumerate(tables):
        gdal.Translate(path, str(src), format="GPKG",
                       creationOptions=[f"RASTER_TABLE={table}"] + (["APPEND_SUBDATASET=YES"] if n else []))
    return path


def test_a_geopackage_table_added_as_the_browser_adds_it_runs_where_it_is_the_file_s_one_raster(
        qgis_processing, tiny_model_file, tmp_path):
    """QGIS's Browser adds a GeoPackage's raster table as 'GPKG:path:table'; with one raster table that is the
    file, which the engine reads: the same output as the file given by its path. Of a GeoPackage of several, the
    table is refused with words that say which and what to do. Test fails on main: both refused with 'layer ...
    is not a plain raster file (GPKG:...): save it as a GeoTIFF first' (/work/exp/h32/qgis32/gpkg_browser_table.py),
    the one-table file though it runs by its path."""
    rgb = _write(tmp_path / "rgb.tif", _field(np.random.default_rng(0), 3, 45, 61, 1, 255), dtype="uint8")
    one = _geopackage(tmp_path, "one.gpkg", rgb, ["r"])
    pixels = []
    for name, source in (("by path", one), ("browser", f"GPKG:{one}:r")):
        layer = QgsRasterLayer(source, name, "gdal")
        assert layer.isValid()
        out = qgis_processing.run(ALG, _params(one, tmp_path / f"o {name}.tif", tiny_model_file, SCALE=2.0,
                                               INPUT=layer), feedback=_Feedback())["OUTPUT"]
        with rasterio.open(out) as d:
            pixels.append(d.read())
    assert pixels[0].shape == (3, 90, 122) and np.array_equal(pixels[0], pixels[1])
    two = _geopackage(tmp_path, "two.gpkg", rgb, ["a", "b"])
    layer = QgsRasterLayer(f"GPKG:{two}:b", "b", "gdal")
    assert layer.isValid()
    with pytest.raises(QgsProcessingException) as exc:
        qgis_processing.run(ALG, _params(two, tmp_path / "o.tif", tiny_model_file, INPUT=layer), feedback=_Feedback())
    assert str(exc.value) == (f"LDCSR: layer 'b' is the table 'b' of a GeoPackage of 2 rasters ({two}), and the "
                              "engine reads a GeoPackage of one raster only: save this layer as a GeoTIFF first "
                              "(Raster ▸ Conversion ▸ Translate)")
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("value, dtype, said", [
    (-9999, "uint8", "nodata '-9999': no uint8 pixel of"),
    (0.5, "uint16", "nodata '0.5': no uint16 pixel of"),
])
def test_layer_nodata_the_engine_refuses_names_the_layer_setting(qgis_processing, tiny_model_file, tmp_path,
                                                                 value, dtype, said):
    """Before: 'LDCSR: nodata -9999: no uint8 pixel of x.tif can hold it' though no nodata was given to
    the algorithm (it came from the layer's Transparency tab)."""
    from qgis.core import QgsRasterRange

    src = _write(tmp_path / "x.tif", _field(np.random.default_rng(3), 3, 24, 24, 1, 250), dtype=dtype)
    layer = QgsRasterLayer(str(src), "x")
    for band in (1, 2, 3):
        layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(value, value)])
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, INPUT=layer),
                            feedback=_Feedback())
    msg = str(ei.value)
    assert msg.startswith("LDCSR: the layer's nodata, set in QGIS (Layer Properties ▸ Transparency), cannot be "
                          "used: ") and said in msg, msg
    assert not (tmp_path / "o.tif").exists()


def test_nan_as_the_extra_nodata_of_every_band_is_used(qgis_processing, tiny_model_file, tmp_path):
    """Before: NaN != NaN, so one NaN on every band read as 'values differing by band': a warning
    that QGIS's setting cannot be followed, and the output had no nodata."""
    from qgis.core import QgsRasterRange

    data = _field(np.random.default_rng(4), 3, 24, 24, 0.0, 1.0)
    data[:, :4] = np.nan
    src = _write(tmp_path / "f.tif", data, dtype="float32")
    layer = QgsRasterLayer(str(src), "f")
    for band in (1, 2, 3):
        layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(float("nan"), float("nan"))])
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                        feedback=feedback)
    assert not [w for w in feedback.warnings if "nodata" in w], feedback.warnings
    assert "nodata nan (the layer's, set in QGIS)" in feedback.textLog()
    with rasterio.open(tmp_path / "o.tif") as out:
        assert np.isnan(out.nodata)


def test_a_cancel_during_the_report_says_where_the_raster_is(qgis_processing, scene, tiny_model_file, tmp_path):
    """QGIS's dialog counts a cancelled run as failed and does not load its output. Before, the log
    said only 'the super-resolved raster was written.' next to 'Execution failed'."""

    class CancelAtTheReport(_Feedback):
        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            if info.startswith("Quality report:"):
                self.cancel()

    out = tmp_path / "o.tif"
    ok, feedback = _run_as_the_dialog_does(_params(scene, out, tiny_model_file,
                                                   QUALITY_REPORT=str(tmp_path / "q.json")), CancelAtTheReport())
    assert not ok and out.exists() and not (tmp_path / "q.json").exists()
    (warning,) = feedback.warnings
    assert warning.startswith(f"Quality report cancelled; the super-resolved raster was written: {out} (")
    assert "does not add it to the project" in warning


def test_the_report_says_the_scale_as_ldcsr_selfcheck_takes_it(qgis_processing, scene, tiny_model_file, tmp_path):
    """Scale 1.2345678: the log said 'Quality report: self-check at ×1.23457 …' (:.6g), a scale that, typed into ldcsr
    selfcheck -s, measures another; now ×1.2345678 (cancelled there: only the line is looked at)."""

    class CancelAtTheReport(_Feedback):
        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            if info.startswith("Quality report:"):
                self.said = info
                self.cancel()

    _, feedback = _run_as_the_dialog_does(_params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=1.2345678,
                                                  QUALITY_REPORT=str(tmp_path / "q.json")), CancelAtTheReport())
    assert feedback.said == "Quality report: self-check at ×1.2345678 …", feedback.said


def test_gdal_open_options_of_the_layer_are_warned_about(qgis_processing, scene, tiny_model_file, tmp_path):
    """A layer opened with GEOREF_SOURCES=NONE has no georeferencing in QGIS; the engine reads the
    file's (UTM) without a word before."""
    layer = QgsRasterLayer(f"{scene}|option:GEOREF_SOURCES=NONE", "opts")
    assert layer.isValid() and not layer.crs().isValid()
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                        feedback=feedback)
    (note,) = feedback.warnings
    assert note.startswith("layer 'opts' is opened in QGIS with the GDAL open option GEOREF_SOURCES=NONE, "
                           "which the engine does not use"), note
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o2.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert feedback.warnings == []


def test_the_files_own_nodata_typed_again_in_qgis_says_nothing(qgis_processing, scene, tiny_model_file, tmp_path):
    """The file's nodata (0) in use and 0 typed again as the extra value: one value, the file's.
    Before: a warning that QGIS's setting cannot be followed ('the file's value and another')."""
    from qgis.core import QgsRasterRange

    layer = QgsRasterLayer(str(scene), "same")
    for band in range(1, 5):
        layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(0, 0)])
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                        feedback=feedback)
    assert feedback.warnings == []
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.nodata == 0 and "LDCSR_NODATA" not in out.tags()


def test_a_cancel_after_the_last_tile_says_where_the_raster_is(qgis_processing, scene, tiny_model_file, tmp_path):
    """A cancel while the finished file is flushed and renamed: the run ends with the raster in
    place, which QGIS's dialog does not load (a cancelled run fails there). Before: no word but
    'Wrote ...' next to 'Execution failed'."""

    class CancelAtTheEnd(_Feedback):
        def setProgress(self, progress):  # noqa: N802 - QGIS's name; called in the run's thread
            super().setProgress(progress)
            if progress >= 100:
                self.cancel()

    out = tmp_path / "o.tif"
    ok, feedback = _run_as_the_dialog_does(_params(scene, out, tiny_model_file), CancelAtTheEnd())
    assert not ok and out.exists()
    assert feedback.warnings == [f"Cancelled after the last tile; the super-resolved raster was written: {out} (a "
                                 "cancelled run counts as failed in QGIS's dialog, which then does not add it to "
                                 "the project: add it from there; a layer of it already in the project shows the "
                                 "new raster)"]


def test_a_run_on_layers_leaves_the_input_folder_as_it_was(qgis_processing, scene, tiny_model_file, tmp_path):
    """Inputs are never modified nor written next to, from QGIS too: layers open in the project as a
    user has them (a GeoTIFF with its own .aux.xml, a VRT of it, a PNG), run by ``processing.run``
    with a quality report and as the Processing dialog runs it: the input folder keeps the same
    names, bytes and times. (QGIS itself writes NAME.aux.xml, or a VRT's statistics into the VRT,
    when it closes a layer it computed statistics for: docs/qgis.md, *Files next to the input*.)"""
    import hashlib

    from osgeo import gdal
    from PIL import Image

    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    src = shutil.copy(scene, inp / "s.tif")
    (inp / "s.tif.aux.xml").write_text('<PAMDataset><Metadata><MDI key="K">v</MDI></Metadata></PAMDataset>\n')
    gdal.Translate(str(inp / "v.vrt"), str(src), format="VRT")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(inp / "p.png")
    layers = [QgsRasterLayer(str(inp / n), n) for n in ("s.tif", "v.vrt", "p.png")]
    assert all(layer.isValid() for layer in layers)

    def listing():
        return {p.name: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
                for p in sorted(inp.iterdir())}

    before = listing()
    for i, layer in enumerate(layers):
        qgis_processing.run(ALG, _params(src, out / f"o{i}.tif", tiny_model_file, SCALE=2.0, INPUT=layer,
                                         QUALITY_REPORT=str(out / f"o{i}.json")), feedback=_Feedback())
        ok, feedback = _run_as_the_dialog_does(_params(src, out / f"d{i}.tif", tiny_model_file, SCALE=2.0,
                                                       INPUT=layer))
        assert ok, feedback.errors
    assert listing() == before
    assert len(list(out.glob("*.tif"))) == 6


def test_progress_with_a_report_runs_once_over_the_raster_and_the_report(qgis_processing, scene, tiny_model_file,
                                                                         tmp_path):
    """One bar for the run: the raster fills its first half, the quality report (a self-check that
    may take as long) its second. Before: the bar stood at 100 % through the whole report."""

    class Seen(_Feedback):
        def __init__(self):
            super().__init__()
            self.in_report = False
            self.steps = []
            self.progressChanged.connect(lambda v: self.steps.append((self.in_report, v)))

        def pushInfo(self, info):  # noqa: N802 - QGIS's name
            super().pushInfo(info)
            self.in_report = self.in_report or info.startswith("Quality report:")

    feedback = Seen()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, TILE=32,
                                     QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    raster = [v for in_report, v in feedback.steps if not in_report]
    report = [v for in_report, v in feedback.steps if in_report]
    assert len(raster) > 1 and max(raster) == 50.0, feedback.steps
    assert report and report[-1] == 100.0 and min(report) >= 50.0, feedback.steps
    assert [v for _, v in feedback.steps] == sorted(v for _, v in feedback.steps)


def test_an_output_another_run_is_making_is_refused_at_once(qgis_processing, scene, tiny_model_file, tmp_path):
    """Another live run (QGIS's, a command line's) making the same output: the run fails at once
    with one line and writes nothing. Before: it waited on that run's lock, where Cancel could not
    reach it, for as long as the other run took, and then replaced its result."""
    from ldcsr_core.output_claims import OutputClaim

    out = tmp_path / "o.tif"
    claim = OutputClaim.of(out, wait=False)  # what a live run on ``out`` holds
    try:
        ok, feedback = _run_as_the_dialog_does(_params(scene, out, tiny_model_file), wait=False)(timeout=60)
    finally:
        claim.release()
    assert not ok
    (error,) = feedback.errors
    assert error == f"LDCSR: another run is making {out} now (wait for it to end, or write to another path)"
    assert not out.exists() and _leftovers(tmp_path, "o.tif") == []


def test_a_file_whose_bands_declare_different_nodata_is_logged_by_band(qgis_processing, tiny_model_file, tmp_path):
    """A VRT of single-band files, band 1 without nodata, band 2 0, band 3 255, nothing set in QGIS:
    the log's Input line says each band's, as the run uses them. Before: 'nodata 0.0', the output's
    one value, as if 0 were every band's nodata and 255 none's."""
    from osgeo import gdal

    rng = np.random.default_rng(5)
    bands = []
    for i, nodata in enumerate((None, 0, 255), 1):
        data = _field(rng, 1, 24, 24, 1, 254)
        data[:, :4, :4], data[:, -4:, -4:] = 0, 255
        bands.append(str(_write(tmp_path / f"b{i}.tif", data, dtype="uint8", nodata=nodata)))
    vrt = tmp_path / "v.vrt"
    gdal.BuildVRT(str(vrt), bands, separate=True).FlushCache()
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(vrt, tmp_path / "o.tif", tiny_model_file, SCALE=2.0,
                                     INPUT=QgsRasterLayer(str(vrt), "v")), feedback=feedback)
    assert ("nodata band 1: none; band 2: 0.0; band 3: 255.0 (the file's, by band; the output declares 0.0 on "
            "each band's nodata pixels)") in feedback.textLog(), feedback.textLog()
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.nodata == 0 and (out.read(3)[-8:, -8:] == 0).all()


def test_the_bands_a_layer_is_drawn_with_in_qgis_are_the_bands_default(qgis_processing, tiny_model_file, tmp_path):
    """A 4-band layer without band names or colours (the engine's rule has nothing to go on: the first
    three) drawn in QGIS as 4-3-2, run as the dialog runs it with the Bands empty: bands 4, 3, 2 are fed to
    the model, as the log says, the pixels of Bands [4, 3, 2]; Bands given win. A 12-band stack left as
    QGIS draws it (1-2-3) keeps the engine's Sentinel-2 rule (drawn otherwise too: the next test)."""
    from qgis.core import QgsMultiBandColorRenderer

    rng = np.random.default_rng(3)
    four = _write(tmp_path / "four.tif", _field(rng, 4, 30, 36, 100, 4000), dtype="uint16")
    stack = _write(tmp_path / "stack.tif", _field(rng, 12, 30, 36, 100, 4000), dtype="uint16")
    layer, left = QgsRasterLayer(str(four), "four"), QgsRasterLayer(str(stack), "stack")
    layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), 4, 3, 2))
    assert (left.renderer().redBand(), left.renderer().greenBand(), left.renderer().blueBand()) == (1, 2, 3)
    runs = {"shown": (layer, None), "given": (layer, [1, 2, 3]), "by number": (four, [4, 3, 2]),
            "left": (left, None)}
    said = {}
    for name, (src, bands) in runs.items():
        ok, feedback = _run_as_the_dialog_does(_params(src, tmp_path / f"{name}.tif", tiny_model_file, SCALE=2.0,
                                                       INPUT=src if name != "by number" else str(src), BANDS=bands))
        assert ok, feedback.textLog()
        said[name] = [line for line in feedback.textLog().splitlines() if line.startswith("Model input")]
    assert said["shown"] == ["Model input R,G,B = bands 4,3,2 (default: the layer's red, green and blue bands in "
                             "QGIS's Symbology); mode fast, seed 0"]
    assert said["given"][0].startswith("Model input R,G,B = bands 1,2,3 (chosen)")
    assert said["left"][0].startswith("Model input R,G,B = bands 4,3,2 (Sentinel-2 rule)")

    def pixels(name):
        with rasterio.open(tmp_path / f"{name}.tif") as d:
            return d.read()

    assert np.array_equal(pixels("shown"), pixels("by number"))
    assert not np.array_equal(pixels("shown"), pixels("given"))


def test_the_engines_red_green_blue_stay_whatever_bands_the_layer_is_drawn_with(qgis_processing, tiny_model_file,
                                                                                 tmp_path):
    """An RGBN file whose colour interpretation says red, green, blue, undefined, drawn in QGIS in false
    colour (4-1-2, to look at vegetation), and a 12-band stack drawn 8-4-3, run as the dialog runs them
    with the Bands empty: the engine's red, green and blue are fed (1, 2, 3 by colour interpretation;
    4, 3, 2 by the Sentinel-2 rule), the pixels of the file given as a path (the command line's, napari's),
    and the log says which bands are drawn and which fed. Test fails on main: the RGBN layer had band 4
    (NIR) fed as red ('bands 4,1,2 (default: the layer's red, green and blue bands ...)'), every pixel
    changed."""
    from qgis.core import QgsMultiBandColorRenderer

    rng = np.random.default_rng(5)
    rgbn = _write(tmp_path / "rgbn.tif", _field(rng, 4, 30, 36, 100, 4000), dtype="uint16")
    with rasterio.open(rgbn, "r+") as ds:
        ds.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.undefined]
    stack = _write(tmp_path / "stack.tif", _field(rng, 12, 30, 36, 100, 4000), dtype="uint16")
    said, pixels = {}, {}
    for name, path, drawn in (("rgbn", rgbn, (4, 1, 2)), ("stack", stack, (8, 4, 3))):
        layer = QgsRasterLayer(str(path), name)
        layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), *drawn))
        for run, src in ((name, layer), (f"{name} path", str(path))):
            ok, feedback = _run_as_the_dialog_does(_params(path, tmp_path / f"{run} out.tif", tiny_model_file,
                                                           SCALE=2.0, INPUT=src, BANDS=None))
            assert ok, feedback.textLog()
            said[run] = [line for line in feedback.textLog().splitlines()
                         if line.startswith(("Model input", "The layer is drawn"))]
            with rasterio.open(tmp_path / f"{run} out.tif") as d:
                pixels[run] = d.read()
    assert said["rgbn"] == [
        "The layer is drawn with bands 4,1,2 in QGIS; bands 1,2,3 are its red, green and blue by the colour "
        "interpretation and are fed to the model as R, G, B, as by the command line and napari (set the Bands "
        "to feed others)", "Model input R,G,B = bands 1,2,3 (colour interpretation); mode fast, seed 0"]
    assert said["stack"][0].startswith("The layer is drawn with bands 8,4,3 in QGIS; bands 4,3,2 are its red, "
                                       "green and blue by the Sentinel-2 rule"), said["stack"]
    assert said["stack"][1].startswith("Model input R,G,B = bands 4,3,2 (Sentinel-2 rule)"), said["stack"]
    for name in ("rgbn", "stack"):
        assert said[f"{name} path"][0] == said[name][1]  # the path: the same bands, no layer drawn
        assert np.array_equal(pixels[name], pixels[f"{name} path"])


def test_what_the_run_takes_of_the_layer_is_read_on_qgis_s_main_thread(qgis_processing, scene, tiny_model_file,
                                                                        tmp_path, monkeypatch):
    """Run as the dialog runs it (a task on another thread), the layer's file, nodata, CRS and open options are
    read where the layer lives, on QGIS's main thread (prepareAlgorithm, which QGIS's API gives such reads:
    the layer is the project's, which the user may change meanwhile), and the run uses them: a CRS set on the
    layer in QGIS is the output's. Test fails on main: all four were read on the task's thread."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingContext, QgsProject
    from qgis.PyQt.QtCore import QThread

    from qgis_ldcsr import algorithm, values

    threads = {}
    for name in ("layer_source", "layer_nodata", "layer_crs", "options_note"):
        def read(*args, _read=getattr(values, name), _name=name):
            threads[_name] = QThread.currentThread() == QgsApplication.instance().thread()
            return _read(*args)
        for module in (values, algorithm):  # wherever the algorithm calls them from
            if hasattr(module, name):
                monkeypatch.setattr(module, name, read)
    layer = QgsRasterLayer(str(scene), "s", "gdal")
    layer.setCrs(QgsCoordinateReferenceSystem("EPSG:32634"))
    QgsProject.instance().addMapLayer(layer)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    out = tmp_path / "o.tif"
    try:
        ok, feedback = _run_as_the_dialog_does(_params(scene, out, tiny_model_file, SCALE=2.0, INPUT=layer.id()),
                                               context=context)
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    assert ok and threads == dict.fromkeys(("layer_source", "layer_nodata", "layer_crs", "options_note"), True)
    with rasterio.open(out) as d:
        assert d.crs.to_epsg() == 32634
