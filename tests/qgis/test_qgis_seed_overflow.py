"""A SEED expression whose value is past 2**4096 (QGIS computes it as the float inf): refused in the size rule
the same number typed meets (ldcsr_core.whole_numbers.check_whole_size), not as 'no finite number'."""

from __future__ import annotations

import pytest
from qgis_runs import QgsProcessingException
from test_qgis_seed import _run


@pytest.mark.parametrize("expression, said", [("2^5000", "got 1.41e+1505"), ("-(10^5000) + 1", "got -1e+5000"),
                                              ("2.0^5000", "got inf (the value of '2.0^5000')"),
                                              ("-(2.0^5000) + 1", "got inf partway through '-(2.0^5000) + 1'")])
def test_a_seed_expression_past_2_4096_is_refused_in_the_size_rule(qgis_processing, scene, tiny_model_file, tmp_path,
                                                                  expression, said):
    """Before: 'the seed must be a finite number, got inf' (QGIS's float of 2^5000), while the number typed said
    'the seed must be less than 2**4096 in size, got 1.41e+1505' (and -(10^5000) + 1 "the expression … fails: Cannot
    convert 'inf' to double", as -(2.0^5000) + 1 still said, QGIS failing on the inf it reached partway); now the size
    rule: the number computed exactly where the expression is of whole numbers alone, else the expression QGIS
    computed as inf, or reached inf partway through."""
    from qgis.core import QgsProperty

    with pytest.raises(QgsProcessingException) as ei:
        _run(qgis_processing, scene, tiny_model_file, tmp_path / "no.tif", QgsProperty.fromExpression(expression))
    assert f"the seed must be less than 2**4096 in size, {said}" in str(ei.value), str(ei.value)
    assert list(tmp_path.iterdir()) == []


def test_a_seed_expression_past_2_4096_on_the_way_is_the_number_it_computes(qgis_processing, scene, tiny_model_file,
                                                                            tmp_path):
    """Before: 2^4096 - 2^4095 (2**4095, which runs typed) was "the seed: the expression '2^4096 - 2^4095' fails:
    Cannot convert 'inf' to double" (QGIS's inf - inf); now the number it computes."""
    from qgis.core import QgsProperty

    _, tag = _run(qgis_processing, scene, tiny_model_file, tmp_path / "o.tif",
                  QgsProperty.fromExpression("2^4096 - 2^4095"))
    assert tag == str(2 ** 4095)


def test_a_seed_expression_that_writes_inf_fails_as_qgis_says(qgis_processing, scene, tiny_model_file, tmp_path):
    """'inf' typed as text fails as QGIS says (the same words as an overflow partway): not the size rule."""
    from qgis.core import QgsProperty

    with pytest.raises(QgsProcessingException) as ei:
        _run(qgis_processing, scene, tiny_model_file, tmp_path / "no.tif", QgsProperty.fromExpression("'inf' + 1"))
    assert "the seed: the expression \"'inf' + 1\" fails: Cannot convert 'inf' to double" in str(ei.value), \
        str(ei.value)
    assert list(tmp_path.iterdir()) == []
