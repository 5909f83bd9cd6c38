"""The engine's rules as the QGIS provider applies them: an adapted model used beyond what its guard
checked (``ldcsr_core.adapted_use.outside_use``). Real QGIS, as in ``test_qgis_provider.py``."""

from __future__ import annotations

import pytest
from qgis_runs import ALG, _Feedback, _params

ADAPTED = "this model was adapted and checked at ×2 in fast mode"


@pytest.mark.parametrize("change, said", [
    ({"SCALE": 2.5}, "at ×2.5 it is untested"),
    ({"SCALE": 2.0, "MODE": 0}, "in diffusion mode it is untested"),
    ({"SCALE": 2.0, "BANDS": "3,2,1"}, "on bands 3,2,1 it is untested"),
    ({"SCALE": 2.0, "STRETCH": 2}, "with the dtype stretch it is untested"),
])
def test_an_adapted_model_beyond_its_check_is_one_warning(qgis_processing, scene, adapted_model_file, tmp_path,
                                                          change, said):
    """Before: nothing said; ``ldcsr upscale`` and napari said it. The note is the engine's
    (``outside_use``), once per run, also with the quality report (the model runs again)."""
    from ldcsr_core import load_model
    from ldcsr_core.adapted_use import Reading, adapted_check, outside_use

    feedback = _Feedback()
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", adapted_model_file, **change,
                                     QUALITY_REPORT=str(tmp_path / "q.json")), feedback=feedback)
    notes = [w for w in feedback.warnings if ADAPTED.lower() in w.lower()]
    assert len(notes) == 1 and said in notes[0], feedback.textLog()
    bands = tuple(int(b) for b in change.get("BANDS", "1,2,3").split(","))
    stretch = "dtype" if change.get("STRETCH") == 2 else "percentile"
    expected = outside_use(adapted_check(load_model(adapted_model_file, device="cpu")), [change["SCALE"]],
                           "diffusion" if change.get("MODE") == 0 else "fast", Reading(bands, stretch, 4))
    assert notes[0] == expected[0].upper() + expected[1:] + "."
    assert (tmp_path / "o.tif").exists() and (tmp_path / "q.json").exists()


@pytest.mark.parametrize("within", [{"SCALE": 2.0}, {"SCALE": None, "TARGET_PIXEL_SIZE": 5.0},
                                    {"SCALE": 2.0, "BANDS": [1, 2, 3], "STRETCH": 1}])
def test_an_adapted_model_within_its_check_and_a_base_model_say_nothing(qgis_processing, scene, adapted_model_file,
                                                                        tiny_model_file, tmp_path, within):
    for model in (adapted_model_file, tiny_model_file):
        feedback = _Feedback()
        qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", model, **within), feedback=feedback)
        assert "adapted and checked" not in feedback.textLog() and feedback.warnings == [], feedback.textLog()
    feedback = _Feedback()  # a base model beyond ×2, in diffusion mode: nothing to say either
    qgis_processing.run(ALG, _params(scene, tmp_path / "o.tif", tiny_model_file, SCALE=2.5, MODE=0), feedback=feedback)
    assert "adapted and checked" not in feedback.textLog()
