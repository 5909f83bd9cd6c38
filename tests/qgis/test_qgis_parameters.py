"""The QGIS provider's parameters as QGIS passes them: typed bands, numbers as text or in other digits,
NumPy and Decimal values, values QGIS would replace silently, a seed expression. Real QGIS, as in
``test_qgis_provider.py``; what a run says of its layer, output and errors: ``test_qgis_run_said.py``."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import numpy as np
import pytest
import rasterio
from qgis_runs import (
    ALG,
    QgsProcessingException,
    QgsProcessingFeedback,
    _params,
)


@pytest.mark.parametrize("text, expected", [("", "bands 1,2,3 (Sentinel-2 rule)"), ("  ", "bands 1,2,3 (Sentinel-2 rule)"),
                                            ("3;2;1", "bands 3,2,1 (chosen)"), ("4", "bands 4,4,4 (chosen)"),
                                            ("4 2 1", "bands 4,2,1 (chosen)")])  # was band 421: 'does not exist'
def test_typed_bands_empty_is_automatic(qgis_processing, scene, tiny_model_file, tmp_path, text, expected):
    """Before: "" (an empty batch or modeler cell) was read by QGIS as band 0 and refused."""
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, BANDS=text),
                        feedback=feedback)
    assert f"Model input R,G,B = {expected}" in feedback.textLog()


@pytest.mark.parametrize("expression, expected", [("'4,2,1'", "bands 4,2,1 (chosen)"),
                                                    ("array(4, 2, 1)", "bands 4,2,1 (chosen)"),
                                                    ("2 + 2", "bands 4,4,4 (chosen)"),
                                                    ("NULL", "bands 1,2,3 (Sentinel-2 rule)")])
def test_bands_given_by_an_expression_are_its_value(qgis_processing, scene, tiny_model_file, tmp_path, expression,
                                                    expected):
    """Before: QGIS's parameterAsInts read an expression's (a script's QgsProperty) text or array as one band,
    0: "band 0 does not exist: the file has bands 1..4"."""
    from qgis.core import QgsProperty

    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0,
                                     BANDS=QgsProperty.fromExpression(expression)), feedback=feedback)
    assert f"Model input R,G,B = {expected}" in feedback.textLog()


@pytest.mark.parametrize("given", [(4, 2, 1), np.array([4, 2, 1]), [4.0, 2.0, 1.0]])
def test_bands_as_a_tuple_or_an_array_are_those_bands(qgis_processing, scene, tiny_model_file, tmp_path, given):
    """Before: QGIS's parameterAsInts read a script's tuple or NumPy array as band 0: "band 0 does not exist"."""
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.0, BANDS=given),
                        feedback=feedback)
    assert "Model input R,G,B = bands 4,2,1 (chosen)" in feedback.textLog()


@pytest.mark.parametrize("given", [[2.7], [True], ["x", 2, 1]])
def test_bands_that_are_no_band_numbers_are_refused(qgis_processing, scene, tiny_model_file, tmp_path, given):
    """Before: QGIS's parameterAsInts made 2.7 band 3 and True band 1, silently, and 'x' band 0 ("band 0 does
    not exist"); now the engine's check, as ldcsr upscale --bands says it."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, BANDS=given),
                            feedback=QgsProcessingFeedback())
    assert f"Bands must be 1-based band numbers like '3,2,1', got {given!r}" in str(ei.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["x", "red", "4 x 2"])
def test_typed_bands_not_numbers_say_so(qgis_processing, scene, tiny_model_file, tmp_path, text):
    """Before: any text without a comma became "band 0 does not exist"."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, BANDS=text),
                            feedback=QgsProcessingFeedback())
    assert "band 0" not in str(ei.value) and "1-based band numbers" in str(ei.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("params, expected", [
    ({"SCALE": "abc"}, "the scale must be a number, got 'abc'"),
    ({"SCALE": "2,5"}, "the scale must be a number, got '2,5'"),  # a decimal comma
    # float's digit separator (1.25, 0.07): a typo of 1.25 or 1.2, as ldcsr -s/-r refuse it (rules.number_text)
    ({"SCALE": "1.2_5"}, "the scale must be a number, got '1.2_5'"),
    ({"SCALE": None, "TARGET_PIXEL_SIZE": "0.0_7"}, "the target pixel size must be a number, got '0.0_7'"),
    ({"TARGET_PIXEL_SIZE": "4 m"}, "the target pixel size must be a number"),
    ({"TARGET_PIXEL_SIZE": float("nan")}, "the target pixel size must be a finite number"),
    ({"TILE": 40.5}, "the tile size must be a whole number"),
    ({"SEED": "1.5"}, "the seed must be a whole number"),
    ({"SCALE": -2.0}, "LDCSR: scale must be in (1, 8], got -2.0"),  # not QGIS's 'Incorrect parameter value for SCALE'
    ({"SCALE": "-2"}, "LDCSR: scale must be in (1, 8], got -2.0"),
    ({"TARGET_PIXEL_SIZE": -4.0}, "target resolution must be a positive finite number, got -4.0"),
])
def test_numbers_qgis_would_replace_silently_are_refused(qgis_processing, scene, tiny_model_file, tmp_path,
                                                         params, expected):
    """Before: QGIS ran these with another value: an optional parameter's default for text that is
    not a number (×2 instead of 2,5), no target for NaN, a rounded tile or seed."""
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


@pytest.mark.parametrize("text", ["３", "٣"])
def test_a_scale_in_other_digits_is_the_scale_given(qgis_processing, scene, tiny_model_file, tmp_path, text):
    """Before: the check read '３' (full-width, as an input method types it) as 3, as ldcsr -s does, and QGIS's
    parameterAsDouble as nothing: the run went at the parameter's default ×2, silently; now at ×3."""
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=text), feedback=feedback)
    assert "(scale 3 x 3)" in feedback.textLog()


@pytest.mark.parametrize("key, text, ascii_text", [("SCALE", "３．５", "3.5"), ("TARGET_PIXEL_SIZE", "４．０", "4.0"),
                                                   ("SEED", "１０．０", "10.0")])
def test_a_full_width_decimal_point_is_read_as_a_point(qgis_processing, scene, tiny_model_file, tmp_path, key, text,
                                                       ascii_text):
    """'３．５' as a Japanese or Chinese input method types it: before, 'the scale must be a number, got '３．５'' (the
    target pixel size, the seed alike), while '３.５' ran ×3.5; now the run of '3.5' (of 4 m pixels, seed 10), as
    ldcsr -s/-r read it (rules.number_text)."""
    def said(given, name):
        feedback = QgsProcessingFeedback()
        params = {key: given, "SCALE": None} if key == "TARGET_PIXEL_SIZE" else {key: given}
        qgis_processing.run(ALG, _params(scene, tmp_path / name, tiny_model_file, **params), feedback=feedback)
        return [line for line in feedback.textLog().splitlines() if line.startswith(("Output:", "Model input"))]

    typed, plain = said(text, "typed.tif"), said(ascii_text, "plain.tif")
    assert typed == plain and len(plain) == 2, (typed, plain)
    assert ("seed 10" in plain[1]) == (key == "SEED"), plain


@pytest.mark.parametrize("given", [np.float32(3.0), np.int64(3)])
def test_a_numpy_scale_is_the_scale_given(qgis_processing, scene, tiny_model_file, tmp_path, given):
    """Before: a NumPy number (a script's ``np.float32``, ``np.int64``: not a Python float) passed the check
    unread and QGIS's parameterAsDouble read it as nothing: the run went at the default ×2, silently; now ×3."""
    feedback = QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=given), feedback=feedback)
    assert "(scale 3 x 3)" in feedback.textLog()


@pytest.mark.parametrize("key, given, said", [
    ("SCALE", np.float32("nan"), "the scale must be a finite number, got"),
    ("TARGET_PIXEL_SIZE", np.float32(20.0), "target pixel size 20 x 20 metre is not finer than the input's 10 x 10"),
])
def test_a_numpy_number_is_checked_as_a_number(qgis_processing, scene, tiny_model_file, tmp_path, key, given, said):
    """Before: a NaN scale or a target pixel size coarser than the layer's, given as ``np.float32``, ran silently at
    the scale's default (×2, ×2.5 here); now each refused in the engine's words, nothing written."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, **{key: given}),
                            feedback=QgsProcessingFeedback())
    assert said in str(ei.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key, given", [("SCALE", True), ("SCALE", [3]), ("SCALE", np.bool_(True)), ("SEED", True),
                                        ("TARGET_PIXEL_SIZE", [20])])
def test_a_value_that_is_no_number_is_refused(qgis_processing, scene, tiny_model_file, tmp_path, key, given):
    """Before: SCALE=[3] or np.bool_(True) ran at the default ×2, TARGET_PIXEL_SIZE=[20] was no target, SEED=True was
    seed 1, silently (QGIS's reading); now 'the scale must be a number, got [3]', nothing written."""
    what = {"SCALE": "the scale", "SEED": "the seed", "TARGET_PIXEL_SIZE": "the target pixel size"}[key]
    with pytest.raises(QgsProcessingException, match=re.escape(f"{what} must be a number, got {given!r}")):
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, **{key: given}),
                            feedback=QgsProcessingFeedback())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key, tag, given", [("SCALE", None, Decimal("3")), ("SEED", "LDCSR_SEED", Decimal("100000000000000000000000"))])
def test_a_decimal_is_the_number_given(qgis_processing, scene, tiny_model_file, tmp_path, key, tag, given):
    """Before: SCALE=Decimal('3') ran at the default ×2 and SEED=Decimal(10**23) at seed 0, silently; now exactly them."""
    out, feedback = tmp_path / "o.tif", QgsProcessingFeedback()
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, **{key: given}), feedback=feedback)
    if tag is None:
        assert "(scale 3 x 3)" in feedback.textLog()
    else:
        with rasterio.open(out) as ds:
            assert ds.tags().get(tag) == str(given)


@pytest.mark.parametrize("key, tag, given", [("SEED", "LDCSR_SEED", np.int64(7)), ("TILE", "LDCSR_TILE", np.int64(64)),
                                            ("SAMPLES", "LDCSR_SAMPLES", np.int64(3))])
def test_a_numpy_whole_number_is_the_number_given(qgis_processing, scene, tiny_model_file, tmp_path, key, tag, given):
    """Before: SEED=np.int64(7) failed with QGIS's 'Unable to execute algorithm', TILE=np.int64(64) ran at the
    engine's default tile and SAMPLES=np.int64(3) one sample, silently (parameterAsInt cannot read them); now each
    the number given, as 7, 64 and 3 are (values.whole_number reads NumPy numbers as numbers)."""
    out = tmp_path / "o.tif"
    mode = {"MODE": 0} if key == "SAMPLES" else {}  # the uncertainty map's samples: diffusion mode
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, **mode, **{key: given}), feedback=QgsProcessingFeedback())
    with rasterio.open(out) as ds:
        assert ds.tags().get(tag) == str(int(given))


@pytest.mark.parametrize("given, expected", [(2 ** 31, "2147483648"), ("1e10", "10000000000"),
                                             ("as an expression", "2147483648")])
def test_a_tile_past_a_32_bit_int_is_the_tile_given(qgis_processing, scene, tiny_model_file, tmp_path, given, expected):
    """Before: QGIS's parameterAsInt made it 0, so the run used the engine's default tile, silently; now the
    value as given (values.whole_number, the seed's and the samples' rule too), as ldcsr upscale --tile takes it."""
    from qgis.core import QgsProperty

    if given == "as an expression":
        given = QgsProperty.fromExpression("2147483647 + 1")
    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, TILE=given), feedback=QgsProcessingFeedback())
    with rasterio.open(out) as ds:
        assert ds.tags().get("LDCSR_TILE") == expected


def test_a_seed_expression_past_a_32_bit_int_is_the_seed_given(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: QGIS skips its range check for an expression and parameterAsInt made 2**31 seed 0, silently."""
    from qgis.core import QgsProperty

    out = tmp_path / "o.tif"
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SEED=QgsProperty.fromExpression("2147483647 + 1")),
                        feedback=QgsProcessingFeedback())
    with rasterio.open(out) as ds:
        assert ds.tags()["LDCSR_SEED"] == "2147483648"


@pytest.mark.parametrize("key, given", [("MODE", "'fast'"), ("MODE", "fast"), ("STRETCH", "'dtype'"), ("STRETCH", "dtype")])
def test_a_mode_or_stretch_by_name_is_that_option(qgis_processing, scene, tiny_model_file, tmp_path, key, given):
    """Before: the name given by an expression (a script's QgsProperty) or as the text a model's pre-calculated
    value passes its step ran with the default, silently (diffusion for 'fast', auto for 'dtype'), and the name as
    text given to processing.run or qgis_process (MODE=fast) was QGIS's 'Incorrect parameter value for MODE'; now
    that option, as ldcsr upscale --mode fast."""
    from qgis.core import QgsProperty

    out = tmp_path / "o.tif"
    value = QgsProperty.fromExpression(given) if given.startswith("'") else given
    qgis_processing.run(ALG, _params(scene, out, tiny_model_file, SCALE=2.0, **{"MODE": 0, key: value}),
                        feedback=QgsProcessingFeedback())
    with rasterio.open(out) as ds:
        tags = ds.tags()
    if key == "MODE":
        assert tags["LDCSR_MODE"] == "fast"
    else:  # the full uint16 range, not the scene's percentiles
        assert set(json.loads(tags["LDCSR_STRETCH"])["hi"]) == {65535.0}


def test_a_mode_expression_that_is_no_option_is_refused(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: QGIS's parameterAsEnum read it as the default, diffusion, silently."""
    from qgis.core import QgsProperty

    with pytest.raises(QgsProcessingException, match=r"the Mode must be one of its options, by number or name "
                                                     r"\(0: diffusion, 1: fast\), got 'fst'"):
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file,
                                         MODE=QgsProperty.fromExpression("'fst'")), feedback=QgsProcessingFeedback())
    assert list(tmp_path.iterdir()) == []
