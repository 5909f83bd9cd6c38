"""The seed as every way of giving it reaches the run: a plain value (``processing.run``, ``qgis_process``,
a batch or modeler cell) and an expression take the same seeds, any whole number, as ``ldcsr upscale
--seed`` does. Real QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from qgis_runs import ALG, QgsProcessingException, QgsProcessingFeedback, _params


def _run(processing, scene, model, out, seed):
    processing.run(ALG, _params(scene, out, model, SCALE=2.0, MODE=0, SEED=seed), feedback=QgsProcessingFeedback())
    with rasterio.open(out) as ds:
        return ds.read(), ds.tags()["LDCSR_SEED"]


@pytest.mark.parametrize("given, seed", [(2 ** 31, 2 ** 31), (-2 ** 31, -2 ** 31), ("1e10", 10 ** 10),
                                         (-2 ** 70, -2 ** 70)])
def test_a_plain_seed_past_a_32_bit_int_is_taken_as_an_expression_is(qgis_processing, scene, tiny_model_file,
                                                                      tmp_path, given, seed):
    """Before: a plain seed past QGIS's 32-bit range was refused ('Incorrect parameter value for SEED') while the
    same seed as an expression ran with it; now both run with it, the same picture, as ldcsr upscale --seed."""
    from qgis.core import QgsProperty

    plain, plain_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "plain.tif", given)
    expr, expr_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "expr.tif",
                          QgsProperty.fromExpression(str(seed)))
    assert plain_tag == expr_tag == str(seed)
    np.testing.assert_array_equal(plain, expr)
    other, _ = _run(qgis_processing, scene, tiny_model_file, tmp_path / "other.tif", seed + 1)
    assert not np.array_equal(plain, other)  # the seed is used, not replaced


@pytest.mark.parametrize("given", ["abc", "1__0", "_1"])
def test_a_seed_that_is_no_number_says_so(qgis_processing, scene, tiny_model_file, tmp_path, given):
    """Before: QGIS's 'Incorrect parameter value for SEED', which says neither what is wrong nor what to give; '1__0'
    and '_1' (typos: Decimal reads them as 10 and 1) ran with those seeds, where ldcsr upscale --seed refused them
    ('not a valid integer'); now refused as the command line refuses them (whole_numbers.whole_text)."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SEED=given),
                            feedback=QgsProcessingFeedback())
    assert f"the seed must be a number, got {given!r}" in str(ei.value)
    assert list(tmp_path.iterdir()) == []


def test_a_seed_past_2_53_is_the_number_given_or_refused(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: SEED=1e23 (a Python float) and the expression 1e23 ran with the seed 99999999999999991611392, the
    text '1e23' (and ldcsr upscale --seed 1e23) with 10**23: one seed, two pictures, said nowhere. Now a number
    written as the expression is read as its text, and a float past 2**53 (a Python float, a computed
    expression's value) is refused, asking for whole-number text; the expression 10^23, whole numbers alone, is
    computed exactly (before follow36, refused as the float QGIS makes of it): 10**23, as the text."""
    from qgis.core import QgsProperty

    text, text_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "text.tif", "1e23")
    expr, expr_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "expr.tif",
                          QgsProperty.fromExpression("1e23"))
    power, power_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "power.tif",
                            QgsProperty.fromExpression("10^23"))
    assert text_tag == expr_tag == power_tag == str(10 ** 23)
    np.testing.assert_array_equal(text, expr)
    np.testing.assert_array_equal(text, power)
    from qgis.core import QgsExpression

    # (a float given: the number written; one QGIS computes, 1.0000000000000001e+23 here: the number it holds)
    for given, example in ((1e23, 10 ** 23), (QgsProperty.fromExpression("10.0^23"),
                                              int(QgsExpression("10.0^23").evaluate()))):
        with pytest.raises(QgsProcessingException) as ei:
            _run(qgis_processing, scene, tiny_model_file, tmp_path / "no.tif", given)
        assert "is past 2**53" in str(ei.value) and f"give it as whole-number text, e.g. '{example}'" in str(ei.value)
    assert not (tmp_path / "no.tif").exists()


@pytest.mark.parametrize("expression", ["2^70 + 0.5", "1e30 + 0"])
def test_a_computed_seed_past_2_53_is_refused_with_the_number_it_holds(qgis_processing, scene, tiny_model_file,
                                                                        tmp_path, expression):
    """Before: the expression 2^70 + 0.5 was refused with 'e.g. '1180591620717411300000'', the float's shortest digits,
    neither the number it computes nor the one that float holds (1180591620717411303424); now the e.g. is the number
    the float holds, the seed that text runs with."""
    from qgis.core import QgsExpression, QgsProperty

    holds = int(QgsExpression(expression).evaluate())
    with pytest.raises(QgsProcessingException) as ei:
        _run(qgis_processing, scene, tiny_model_file, tmp_path / "no.tif", QgsProperty.fromExpression(expression))
    assert f"(the value of '{expression}') is past 2**53" in str(ei.value)
    assert f"give it as whole-number text, e.g. '{holds}', the number that float holds" in str(ei.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("given, said", [("9" * 1300, "1e+1300"), (2 ** 5000, "1.41e+1505")], ids=["1300 nines", "2**5000"])
def test_a_seed_past_2_4096_is_refused_short_as_the_command_line_refuses_it(qgis_processing, scene, tiny_model_file,
                                                                           tmp_path, given, said):
    """Before: refused in its 1300 (or 1506) digits; now in the engine's rule and words (rules.check_seed, as
    ldcsr upscale --seed: 'seed must be less than 2**4096 in size, got 1e+1300'), the number short."""
    with pytest.raises(QgsProcessingException) as ei:
        _run(qgis_processing, scene, tiny_model_file, tmp_path / "no.tif", given)
    assert f"the seed must be less than 2**4096 in size, got {said}" in str(ei.value) and "9" * 30 not in str(ei.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("expression, seed", [("2^60", 2 ** 60), ("(2^30)*(2^30)+1", 2 ** 60 + 1),
                                              ("-(2^62) - 3*5", -2 ** 62 - 15)])
def test_an_expression_of_whole_numbers_is_the_number_it_computes(qgis_processing, scene, tiny_model_file, tmp_path,
                                                                  expression, seed):
    """Before: the expression 2^60 was refused ('the seed 1.152921504606847e+18 is past 2**53 … give it as
    whole-number text, e.g. '1152921504606847000'', another number) while the plain 2**60 ran; (2^30)*(2^30)+1, which
    QGIS computes as that float too, likewise. Now an expression of whole numbers alone is computed exactly: the seed
    it says, the picture of that plain seed."""
    from qgis.core import QgsProperty

    plain, plain_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "plain.tif", seed)
    expr, expr_tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "expr.tif",
                          QgsProperty.fromExpression(expression))
    assert plain_tag == expr_tag == str(seed)
    np.testing.assert_array_equal(plain, expr)


def test_a_seed_past_2_1024_runs_as_ldcsr_upscale_seed_runs_it(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before: a whole seed past 2**1024, which ldcsr upscale --seed takes, was refused as 'the seed must be a finite
    number, got '1358…'' (its text, and the expression 2^1100 computed exactly within the 4096 bits said) or raised
    a bare 'OverflowError: int too large to convert to float' (SEED=2**1100 in Python), and the expression 2^4095 was
    QGIS's inf. Now each runs with that seed, the picture of one seed; past 4096 bits one line says so."""
    from qgis.core import QgsProperty

    seed = 2 ** 1100
    runs = [_run(qgis_processing, scene, tiny_model_file, tmp_path / f"{i}.tif", given)
            for i, given in enumerate((seed, str(seed), QgsProperty.fromExpression("2^1100")))]
    assert [tag for _, tag in runs] == [str(seed)] * 3
    for picture, _ in runs[1:]:
        np.testing.assert_array_equal(runs[0][0], picture)
    _, tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "most.tif", QgsProperty.fromExpression("2^4095"))
    assert tag == str(2 ** 4095)
    for given in (2 ** 4096, "1e999999999"):
        with pytest.raises(QgsProcessingException) as ei:
            _run(qgis_processing, scene, tiny_model_file, tmp_path / "no.tif", given)
        assert "the seed must be less than 2**4096 in size, got " in str(ei.value)
    assert not (tmp_path / "no.tif").exists()
