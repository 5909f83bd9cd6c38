"""What a QGIS user reads names QGIS's controls: no command-line flag (``--nodata``), Python parameter
(``stretch='dtype'``, ``window=``) or Python class, in the engine's messages (worded by
``ldcsr_core.front_end``, which the algorithm declares), its help and its parameters; and a 64-bit
file's nodata that the engine refuses can be replaced in the layer's properties, as the message
says. Real QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

import re

import numpy as np
import pytest
import rasterio
from qgis_runs import (
    ALG,
    TRANSFORM,
    UTM33,
    QgsApplication,
    QgsProcessingException,
    QgsRasterLayer,
    _Feedback,
    _field,
    _params,
    _write,
)

#: what QGIS's user cannot type anywhere: a command-line flag, a Python keyword argument or class
NOT_QGIS = re.compile(r"(?<![\w-])--[a-z]|\b[a-z_]+=|\b[A-Z][a-z]+Options\b|Traceback")


def _uint64_scene(path):
    """24×24 px, 3 uint64 bands, nodata 2**64 - 1 on the top 4 rows, declared as the file's nodata."""
    data = _field(np.random.default_rng(5), 3, 24, 24, 1, 250).astype("uint64")
    data[:, :4, :] = np.uint64(2**64 - 1)
    with rasterio.open(path, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint64", crs=UTM33,
                       transform=TRANSFORM) as ds:
        ds.write(data)
    from osgeo import gdal  # rasterio takes no nodata beyond float64's exact whole numbers; GDAL does

    ds = gdal.Open(str(path), gdal.GA_Update)
    for band in (1, 2, 3):
        assert ds.GetRasterBand(band).SetNoDataValueAsUInt64(2**64 - 1) == 0
    ds = None
    return path


def test_a_uint64_nodata_refused_says_what_to_do_in_qgis(qgis_processing, tiny_model_file, tmp_path):
    """Before: '... or give the nodata yourself (--nodata VALUE, or none: every value is data)' and
    'gdal_translate -ot UInt32 -a_nodata 4294967295 in.tif out.tif', a command line's words."""
    src = _uint64_scene(tmp_path / "u64.tif")
    layer = QgsRasterLayer(str(src), "u64")
    assert layer.isValid()
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                            feedback=_Feedback())
    msg = str(ei.value)
    assert "its nodata 18446744073709551615 (uint64 bands) cannot be read or written exactly" in msg, msg
    assert "Raster ▸ Conversion ▸ Translate, output data type UInt32 and 'Assign a specified nodata value' " \
           "4294967295" in msg and "in QGIS: Layer Properties ▸ Transparency, uncheck 'No data value'" in msg, msg
    assert "if its values fit in UInt32 (0..4294967294; Raster ▸ Miscellaneous ▸ Information, 'Force computation " \
           "of the actual min/max values for each band', shows them), convert the bands first: " in msg, msg
    assert not NOT_QGIS.search(msg) and "gdal_translate" not in msg, msg
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("extra, want", [(None, None), (0, 0)])
def test_a_uint64_nodata_replaced_in_qgis_is_used(qgis_processing, tiny_model_file, tmp_path, extra, want):
    """The file's nodata unchecked in the layer's Transparency (with an additional value, or none):
    the run uses QGIS's, as the refusal says. Before: the same refusal, as the algorithm read the
    file's nodata before applying the layer's."""
    from qgis.core import QgsRasterRange

    src = _uint64_scene(tmp_path / "u64.tif")
    layer = QgsRasterLayer(str(src), "u64")
    for band in (1, 2, 3):
        layer.dataProvider().setUseSourceNoDataValue(band, False)
        if extra is not None:
            layer.dataProvider().setUserNoDataValue(band, [QgsRasterRange(extra, extra)])
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                              feedback=feedback)
    with rasterio.open(res["OUTPUT"]) as out:
        assert out.shape == (48, 48) and out.dtypes[0] == "uint64" and out.nodata == want
    assert f"nodata {'none' if want is None else float(want)} (the layer's, set in QGIS)" in feedback.textLog()


def test_nodata_set_in_qgis_on_a_paletted_layer_is_said_as_the_layers(qgis_processing, tiny_model_file, tmp_path):
    """The algorithm opens the file without its nodata when QGIS's replaces it (above): a value the
    engine refuses, here any on a layer with a colour table, is still said as the layer's setting."""
    from qgis.core import QgsRasterRange

    src = _write(tmp_path / "p.tif", np.arange(576).reshape(1, 24, 24) % 4, dtype="uint8")
    with rasterio.open(src, "r+") as ds:
        ds.write_colormap(1, {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (0, 255, 0, 255), 3: (0, 0, 255, 255)})
    layer = QgsRasterLayer(str(src), "classes")
    layer.dataProvider().setUserNoDataValue(1, [QgsRasterRange(0, 0)])
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, INPUT=layer),
                            feedback=_Feedback())
    assert str(ei.value).startswith("LDCSR: the layer's nodata, set in QGIS (Layer Properties ▸ Transparency), "
                                    "cannot be used: ") and "colour table" in str(ei.value), str(ei.value)


def test_the_engine_names_qgis_controls_in_its_messages(qgis_processing, tiny_model_file, tmp_path):
    """Stretch 'dtype' on a float layer, its warning on a uint32 layer it crushes, and a quality report
    the layer is too small for. Before: "stretch='dtype' needs integer bands" (a Python parameter),
    '--stretch dtype maps it to less than one grey level' and '(--window; window= in Python)'."""
    flt = _write(tmp_path / "f.tif", _field(np.random.default_rng(1), 3, 24, 24, 0, 1), dtype="float32")
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(flt, tmp_path / "o.tif", tiny_model_file, STRETCH=2), feedback=_Feedback())
    assert str(ei.value) == "LDCSR: Stretch 'dtype' needs integer bands; use 'percentile' for float data"

    u32 = _write(tmp_path / "u.tif", _field(np.random.default_rng(2), 3, 24, 24, 1000, 2000), dtype="uint32")
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(u32, tmp_path / "u_x2.tif", tiny_model_file, SCALE=2.0, STRETCH=2),
                        feedback=feedback)
    crushed = [w for w in feedback.warnings if "grey level" in w]  # one per band
    assert len(crushed) == 3 and "so Stretch 'dtype' maps it to less than one grey level" in crushed[0]
    assert not [w for w in crushed if NOT_QGIS.search(w)], crushed

    small = _write(tmp_path / "s.tif", _field(np.random.default_rng(3), 3, 70, 70, 1, 250), dtype="uint8")
    feedback = _Feedback()
    res = qgis_processing.run(ALG, _params(small, tmp_path / "s_x8.tif", tiny_model_file, SCALE=8.0,
                                           QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    assert res["QUALITY_REPORT"] is None and (tmp_path / "s_x8.tif").exists()
    (error,) = feedback.errors
    assert "use a size that is a multiple of 8 px (clip the layer to it: Raster ▸ Extraction ▸ Clip Raster " \
           "by Extent) or a smaller scale" in error and not NOT_QGIS.search(error), error


def test_a_fill_value_and_tiff_pages_are_said_in_qgis_words(qgis_processing, tiny_model_file, tmp_path):
    """An undeclared float fill value (refused) and a TIFF of two pages (a warning). Before: 'Give it as
    nodata (ldcsr --nodata VALUE; nodata=VALUE in Python; in QGIS ...)' and 'for another, convert it
    first, e.g. gdal_translate 'GTIFF_DIR:2:…' page2.tif'."""
    import warnings

    data = _field(np.random.default_rng(4), 3, 24, 24, 0, 1)
    data[:, :4] = -3.4e38
    flt = _write(tmp_path / "fill.tif", data, dtype="float32")
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(flt, tmp_path / "o.tif", tiny_model_file), feedback=_Feedback())
    msg = str(ei.value)
    assert "Give it as nodata (in QGIS: Layer Properties ▸ Transparency, 'Additional no data value') and run " \
           "again" in msg and not NOT_QGIS.search(msg), msg

    stack = tmp_path / "stack.tif"
    for k in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no georeferencing
            with rasterio.open(stack, "w", driver="GTiff", width=24, height=24, count=3, dtype="uint8",
                               **({"APPEND_SUBDATASET": "YES"} if k else {})) as ds:
                ds.write(_field(np.random.default_rng(k), 3, 24, 24, 1, 250).astype("uint8"))
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(stack, tmp_path / "p.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    (pages,) = [w for w in feedback.warnings if "TIFF pages" in w]
    assert pages.endswith(f"for another, convert it first, e.g. add 'GTIFF_DIR:2:{stack}' as a layer and save it "
                          "as a GeoTIFF (Raster ▸ Conversion ▸ Translate)"), pages


def test_the_help_and_parameters_name_no_command_line_flag(qgis_processing):
    """Before: the Stretch parameter read 'Stretch of the band values (as --stretch)' and the help
    'as ldcsr upscale --stretch'."""
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    texts = [alg.shortHelpString()] + [p.description() for p in alg.parameterDefinitions()]
    assert not [t for t in texts if NOT_QGIS.search(t)], texts


@pytest.mark.parametrize("bands, says", [
    ([1, 2], "Bands must name 1 or 3 bands (e.g. '3,2,1'), got 2: [1, 2]"),
    ("1,x", "Bands must be 1-based band numbers like '3,2,1', got '1,x'"),
])
def test_a_band_list_the_engine_refuses_names_the_bands_parameter(qgis_processing, scene, tiny_model_file,
                                                                   tmp_path, bands, says):
    """The algorithm's parameter is 'Bands' (fed to the model as R, G, B): two bands checked in the
    list, or typed text that is no band list, is said naming it. Before: 'bands must name ...', the
    Python parameter's name."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, BANDS=bands),
                            feedback=_Feedback())
    assert str(ei.value) == f"LDCSR: {says}"
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("how, said", [
    ("geographic", "reproject first (Raster ▸ Projections ▸ Warp (Reproject) to a projected CRS such as the UTM zone of "
                   "its centre, EPSG:32633)"),  # the layer lies at 12.5° E, 48.2° N
    ("gcps", "orthorectify it first, Raster ▸ Projections ▸ Warp (Reproject))"),
    ("crs only", "place it first, Layer ▸ Georeferencer; Raster ▸ Georeferencer before QGIS 3.26)"),
    ("no crs", "has no CRS, so its pixel size is unknown: give a scale instead (or assign its CRS first, in QGIS: "
               "Layer Properties ▸ Source, which the output gets)"),
])
def test_a_target_pixel_size_refused_says_what_to_do_in_qgis(qgis_processing, tiny_model_file, tmp_path, how, said):
    """A target pixel size on a layer in degrees, placed by control points, not placed at all or placed without
    a CRS. Before: '(e.g. gdalwarp -t_srs EPSG:32633)', '(… e.g. gdalwarp)', '(… e.g. gdal_edit -a_ullr)', the
    command line's tools (they still say so there), and for a layer without a CRS only 'give a scale instead'
    (test fails on main), where a CRS set on the layer in QGIS is what a target pixel size needs."""
    import warnings

    from ldcsr_core.errors import InputError
    from ldcsr_core.geo import raster_io as rio
    from ldcsr_core.geo.georef import scale_for_resolution
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    src = tmp_path / "s.tif"
    data = _field(np.random.default_rng(1), 3, 40, 40, 0, 255).astype("uint8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio: no geotransform
        geo = {"geographic": {"crs": CRS.from_epsg(4326), "transform": from_origin(12.5, 48.2, 1e-4, 1e-4)},
               "gcps": {}, "crs only": {"crs": UTM33}, "no crs": {"transform": TRANSFORM}}[how]
        with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8", **geo) as ds:
            ds.write(data)
            if how == "gcps":
                ds.gcps = ([GroundControlPoint(0, 0, 600000, 5340000), GroundControlPoint(0, 40, 600400, 5340000),
                            GroundControlPoint(40, 0, 600000, 5339600)], UTM33)
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, TARGET_PIXEL_SIZE=0.5),
                            feedback=_Feedback())
    msg = str(ei.value)
    assert said in msg and "gdal" not in msg and not NOT_QGIS.search(msg), msg
    assert not (tmp_path / "o.tif").exists()
    with rio.open_raster(src) as ds, pytest.raises(InputError, match=r"\(.*e\.g\. gdal"):  # the CLI's words
        scale_for_resolution(rio.raster_info(ds), 0.5)
    if how == "no crs":  # what the message says to do, done
        from qgis.core import QgsCoordinateReferenceSystem

        layer = QgsRasterLayer(str(src), "s", "gdal")
        layer.setCrs(QgsCoordinateReferenceSystem("EPSG:32633"))
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, TARGET_PIXEL_SIZE=4, INPUT=layer),
                            feedback=_Feedback())
        with rasterio.open(tmp_path / "o.tif") as out:
            assert out.crs == UTM33 and out.res == (4.0, 4.0)


@pytest.mark.parametrize("how", [{"SCALE": 2.0}, {"TARGET_PIXEL_SIZE": 5.0}])
def test_a_singular_geotransform_says_what_to_do_in_qgis(qgis_processing, tiny_model_file, tmp_path, how):
    """A layer whose geotransform places no grid (a pixel size of 0). Before: 'correct it (e.g. gdal_edit
    -a_ullr ULX ULY LRX LRY) or remove it (gdal_edit -unsetgt)', the command line's tools (test fails on
    main); the CLI and Python keep them."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo import raster_io as rio
    from ldcsr_core.geo.georef import check_placement

    src = tmp_path / "s.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8", crs=UTM33,
                       transform=rasterio.Affine(0.0, 0.0, 600000.0, 0.0, 0.0, 5340000.0)) as ds:
        ds.write(_field(np.random.default_rng(2), 3, 40, 40, 0, 255).astype("uint8"))
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, **how), feedback=_Feedback())
    msg = str(ei.value)
    assert "is singular" in msg and "gdal" not in msg and not NOT_QGIS.search(msg), msg
    assert ("correct it: Raster ▸ Conversion ▸ Translate, with -a_ullr ULX ULY LRX LRY (the upper-left and "
            "lower-right corners' coordinates) in its 'Additional command-line parameters' (Advanced Parameters)") in msg, msg
    assert not (tmp_path / "o.tif").exists()
    with rio.open_raster(src) as ds, pytest.raises(InputError, match="gdal_edit -unsetgt"):  # the CLI's words
        check_placement(rio.raster_info(ds))


def test_the_help_says_an_existing_output_is_replaced_and_how_many_windows_the_report_checks(
        qgis_processing, scene, tiny_model_file, tmp_path):
    """The help says what a run does: an existing output (read-only, with an .aux.xml and .ovr; a link) is
    replaced, and a large layer's report checks up to the engine's count of windows, fewer where the layer holds
    no more (a 1100 x 1000 px layer: 2 of 4). Test fails on main: the help said '4 windows of 512 px' and
    nothing of an existing output."""
    import os

    from ldcsr_core import quality
    from ldcsr_core.scene_windows import sample_boxes

    out, target, link = tmp_path / "o.tif", tmp_path / "t.tif", tmp_path / "l.tif"
    for path in (out, target):  # an earlier output
        _write(path, _field(np.random.default_rng(1), 4, 20, 30, 1, 999), dtype="uint16")
    for side in (".aux.xml", ".ovr"):
        (tmp_path / f"o.tif{side}").write_bytes(b"old")
    out.chmod(0o444)
    link.symlink_to(target)
    before = target.read_bytes()
    for path in (out, link):
        qgis_processing.run(ALG, _params(scene, path, tiny_model_file, SCALE=2.0), feedback=_Feedback())
        with rasterio.open(path) as d:
            assert (d.width, d.height) == (122, 90)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("o.tif.")]
    assert not os.path.islink(link) and target.read_bytes() == before
    assert len(sample_boxes((1000, 1100), quality.SAMPLE_SIZE, quality.SAMPLES)) == 2 < quality.SAMPLES
    text = " ".join(QgsApplication.processingRegistry().algorithmById(ALG).shortHelpString().split())
    assert ("An existing file at the output's path is replaced, as QGIS's own algorithms replace theirs (the "
            "dialog's file picker asks first), its <code>.aux.xml</code> and <code>.ovr</code> removed; not a file "
            "a raster layer of the project reads") in text
    assert (f"checked on up to {quality.SAMPLES} windows of {quality.SAMPLE_SIZE} px that do not overlap (fewer "
            "where the layer holds no more: the report says how many)") in text


@pytest.mark.parametrize("count, expected", [
    (1, "Model input R,G,B = bands 1,1,1 (default: the one band there is, as R, G and B)"),
    (2, "Model input R,G,B = bands 1,2,2 (default: the two bands there are, the second as G and B)"),
    (5, "Model input R,G,B = bands 1,2,3 (default: the first three)"),
    ((2, "alpha"), "Model input R,G,B = bands 1,1,1 (default: the one colour band there is (band 2 is alpha), as R, G "
                   "and B)"),
    ((3, "alpha"), "Model input R,G,B = bands 1,2,2 (default: the two colour bands there are (band 3 is alpha), the "
                   "second as G and B)")])
def test_the_automatic_bands_of_a_layer_of_fewer_than_three_say_what_is_fed(qgis_processing, tiny_model_file,
                                                                           tmp_path, count, expected):
    """Before: a 1- or 2-band layer's log said 'bands 1,1,1 (default: the first three)', of a layer that has no three;
    a gray and alpha layer (its last band alpha) 'bands 1,1,1 (default: the one band there is, ...)' of its 2 bands."""
    count, alpha = count if isinstance(count, tuple) else (count, None)
    src = _write(tmp_path / "b.tif", _field(np.random.default_rng(2), count, 24, 24, 1, 250), dtype="uint8")
    if alpha:  # the last band alpha, as GDAL marks a PHOTOMETRIC=MINISBLACK file's extra sample
        from rasterio.enums import ColorInterp

        with rasterio.open(src, "r+") as ds:
            ds.colorinterp = [ColorInterp.gray] * (count - 1) + [ColorInterp.alpha]
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert expected in feedback.textLog()


def test_the_input_line_says_a_mask_the_file_has_besides_its_nodata(qgis_processing, tiny_model_file, tmp_path):
    """A layer with no nodata but an internal mask (GDAL_TIFF_INTERNAL_MASK), whose masked pixels the run keeps
    masked in the output. Before: 'Input: ..., nodata none', as of a layer with no mask."""
    src = _write(tmp_path / "m.tif", _field(np.random.default_rng(2), 3, 24, 24, 1, 250), dtype="uint8")
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(src, "r+") as ds:
        ds.write_mask(np.where(np.arange(24)[:, None] < 6, 0, 255).astype(np.uint8).repeat(24, 1))
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=2.0), feedback=feedback)
    assert "Input: 24 x 24 px, 3 bands uint8, CRS EPSG:32633, nodata none, internal mask\n" in feedback.textLog()
    with rasterio.open(tmp_path / "o.tif") as o:  # what the words say: the masked rows stay masked
        mask = o.dataset_mask()
        assert (mask[:12] == 0).all() and (mask[12:] == 255).all()
