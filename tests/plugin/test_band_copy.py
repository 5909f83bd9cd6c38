"""A copy of one band layer of a multi-band file (napari's layer list ▸ right-click ▸ Duplicate Layer),
edited or not, picked for a Run, in a real napari viewer (Xvfb): the copy keeps its file's metadata
(path, band), so it is that band among the file's other band layers, with its own pixels."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

rasterio = pytest.importorskip("rasterio")
from affine import Affine  # noqa: E402


def test_a_run_of_a_band_layer_s_copy_super_resolves_the_copy_s_pixels(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    from napari._app_model import get_app_model

    viewer, widget = ldcsr
    path = tmp_path / "four.tif"
    data = np.random.default_rng(0).integers(1000, 4000, (4, 40, 36), dtype=np.uint16)
    with rasterio.open(path, "w", driver="GTiff", width=36, height=40, count=4, dtype="uint16", crs="EPSG:32633",
                       transform=Affine(0.5, 0, 600000, 0, -0.5, 5340000)) as dst:
        dst.write(data)
    bands = viewer.open(str(path), plugin="napari-ldcsr")
    viewer.layers.selection = {bands[1]}
    get_app_model().commands.execute_command("napari.layer.duplicate").result()
    (copy,) = [lyr for lyr in viewer.layers if lyr not in bands]
    copy.data = copy.data // 4  # the analyst's own change to the copy
    assert widget.run(layer=copy, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert not [t for s, t in notes if s in ("error", "warning")]
    res = widget.last_result
    assert res.name == "four [band 2] copy ×2.00 (LDCSR fast)" and res.data.shape == (80, 72)
    # the bicubic stand-in keeps each band's mean: the copy's quarter, not the original band's
    assert abs(float(res.data.mean()) - float(copy.data.mean())) < 20
    assert abs(float(copy.data.mean()) - float(bands[1].data.mean()) / 4) < 1
