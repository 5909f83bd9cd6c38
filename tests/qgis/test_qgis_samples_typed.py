"""The uncertainty map's SAMPLES given as full-width text or past a float's range is read as the run reads it, not a
bare Python error in QGIS's parameter check. Real QGIS, as in ``test_qgis_parameters.py``."""

from __future__ import annotations

import pytest
import rasterio
from qgis_runs import ALG, QgsProcessingException, QgsProcessingFeedback, _params


def test_full_width_samples_run_as_their_ascii_text(qgis_processing, scene, tiny_model_file, tmp_path):
    """Before (since follow36 read '３．０' as a number): SAMPLES='３．０' raised 'ValueError: could not convert string to
    float: '３．０'' in checkParameterValues (float(v), against the most samples); now 3 samples, as '3.0'."""
    for name, given in (("typed.tif", "３．０"), ("plain.tif", "3.0")):
        qgis_processing.run(ALG, _params(scene, tmp_path / name, tiny_model_file, MODE=0, SAMPLES=given),
                            feedback=QgsProcessingFeedback())
        with rasterio.open(tmp_path / name) as ds:
            assert ds.tags()["LDCSR_SAMPLES"] == "3"


@pytest.mark.parametrize("given, said", [("３３．０", "Samples for the uncertainty map 33 is more than the 32"),
                                         (2 ** 1100, "Samples for the uncertainty map 1.36e+331 is more than the 32"),
                                         ("1e400", "Samples for the uncertainty map 1e+400 is more than the 32 samples "
                                                   "an uncertainty map takes (each sample is a whole run: 1e+400 would "
                                                   "take 1e+400 times as long as one): use 32 or fewer")],
                         ids=["full-width 33", "2**1100", "1e400"])
def test_too_many_samples_are_said_in_the_engines_words(qgis_processing, scene, tiny_model_file, tmp_path, given,
                                                        said):
    """Before: '３３．０' the ValueError above, 2**1100 'OverflowError: int too large to convert to float'; now the
    engine's words for too many samples, nothing written; a number past 20 digits said short (before follow37,
    '1e400' in its 401 digits, three times; 2**1100 in its 332), as ldcsr upscale --samples says it."""
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, MODE=0, SAMPLES=given),
                            feedback=QgsProcessingFeedback())
    assert said in str(ei.value) and "0" * 30 not in str(ei.value)
    assert list(tmp_path.iterdir()) == []
