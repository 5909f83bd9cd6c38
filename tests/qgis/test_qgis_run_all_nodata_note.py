"""QGIS's run of a layer whose every pixel is nodata: the engine's note (``geo.empty_input.all_nodata_note``, as
``ldcsr upscale`` and napari say it, in QGIS's words) before the model loads, and no note that its result is
untested (the quality report refuses it); the output says no pixel of it was synthesised. Real QGIS."""

from __future__ import annotations

import numpy as np
from qgis_runs import ALG, _Feedback, _params, _write


def test_a_run_of_a_layer_all_nodata_says_so_before_the_model_loads(qgis_processing, tiny_model_file, tmp_path):
    """Before: 'Model: …' then 'Wrote …: 1 tile (1 empty)' with nothing said before the model loaded, and at ×1.1
    a note ending 'the Quality report (or ldcsr selfcheck) measures it on this layer'; now the note first."""
    import rasterio

    from ldcsr_core.geo.raster_io import NODATA_NOTICE

    src = _write(tmp_path / "empty.tif", np.zeros((3, 48, 48)), dtype="uint16", nodata=0)
    feedback = _Feedback()
    qgis_processing.run(ALG, _params(src, tmp_path / "o.tif", tiny_model_file, SCALE=1.1, MODE=1), feedback=feedback)
    log = feedback.textLog()
    note = f"Every pixel of {src} is nodata, so its output will be all nodata, none of it made by the model"
    assert note in log and log.index(note) < log.index("Model: "), log
    assert "Quality report" not in log and "untested" not in log, log
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.tags()["LDCSR_NOTICE"] == NODATA_NOTICE
