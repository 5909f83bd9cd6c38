"""A spread map (``ldcsr upscale --samples K``'s uncertainty) given to the Processing algorithm is refused
before any work, by the engine's rule the command line and napari use (``geo.job.check_not_spread_map``)."""

from __future__ import annotations

import pytest
from qgis_runs import ALG, QgsProcessingException, _Feedback, _params

from tests.spread_files import make_spread


def test_a_spread_map_is_refused_before_the_model_loads(qgis_processing, tmp_path, monkeypatch):
    """Before: QGIS super-resolved the spread map as a picture and said nothing. Now one error saying what the
    file is and to upscale its source; no output, no model loaded."""
    import qgis_ldcsr.algorithm as alg

    _, spread = make_spread(tmp_path)

    def no_model(*_a, **_k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(alg, "_load_model", no_model)
    with pytest.raises(QgsProcessingException) as e:
        qgis_processing.run(ALG, _params(spread, tmp_path / "o.tif", tmp_path / "tiny.safetensors", SCALE=2.0),
                            feedback=_Feedback())
    assert str(e.value) == ("LDCSR: scene_x2_spread.tif is an LDCSR spread map: its values are the uncertainty of an "
                            "output (how much its diffusion samples disagreed), not a picture, so it is not upscaled; "
                            "upscale its source (scene.tif) instead")
    assert not (tmp_path / "o.tif").exists()
