"""Save of what was made of a picture placed by nothing (a plain array, a TIFF without georeferencing)
writes no geotransform, as ``ldcsr upscale`` writes none for such an input. Before: the result's
finer grid in the viewer (scale 0.5, translate -0.25) was written as a geotransform, (0.5, 0, -0.5,
0, -0.5, 0.5), north-up, while the source saved with none: in a GIS the two did not overlay (the
result a quarter of the source's extent, on the other side of the origin)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view


def _saved(viewer, widget, qtbot, layer, path):
    viewer.layers.selection.active = layer
    assert widget.saves.save(str(path))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    with rasterio.open(path) as ds:
        return ds.crs, ds.transform, ds.gcps[0]


@pytest.mark.parametrize("source", ["array", "tiff"])
def test_a_picture_placed_by_nothing_saves_its_results_without_a_geotransform(ldcsr, qtbot, notes, tmp_path,
                                                                               source):
    viewer, widget = ldcsr
    data = np.random.default_rng(2).integers(0, 255, (40, 48, 3)).astype(np.uint8)
    if source == "array":
        src = viewer.add_image(data, name="plain", rgb=True)
    else:
        path = tmp_path / "plain.tif"
        with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=3, dtype="uint8") as ds:
            ds.write(np.moveaxis(data, -1, 0))
        (src,) = viewer.open(str(path), plugin="napari-ldcsr")
    widget.form.bicubic.value = True
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run(layer=src)
    made = [lyr for lyr in viewer.layers if lyr is not src]  # the result and its bicubic baseline
    if source == "array":  # and a kept view of the live lens
        camera(viewer).center, camera(viewer).zoom = (20.0, 20.0), 4.0
        widget.form.layer.value = src
        assert widget.live.set_live(True)
        wait_for_view(qtbot, widget.live.lens)
        made.append(widget.live.lens.keep())
        widget.live.set_live(False)
    assert len(made) == 3 if source == "array" else 2
    for i, layer in enumerate([src] + made):
        crs, transform, gcps = _saved(viewer, widget, qtbot, layer, tmp_path / f"out{i}.tif")
        assert crs is None and transform.is_identity and not gcps, layer.name
    assert not [t for s, t in notes if s in ("warning", "error")]


@pytest.mark.viewer_hidden
def test_a_placed_picture_saves_its_result_over_it(ldcsr, qtbot, tmp_path):
    """A picture the user placed (translate, scale) keeps its placement through Run and Save, as before."""
    viewer, widget = ldcsr
    data = np.random.default_rng(2).integers(0, 255, (40, 48)).astype(np.uint8)
    src = viewer.add_image(data, name="placed", scale=(2.0, 2.0), translate=(10.0, 20.0))
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run(layer=src)
    _saved(viewer, widget, qtbot, src, tmp_path / "src.tif")
    _saved(viewer, widget, qtbot, widget.last_result, tmp_path / "sr.tif")
    with rasterio.open(tmp_path / "src.tif") as a, rasterio.open(tmp_path / "sr.tif") as b:
        np.testing.assert_allclose(tuple(b.bounds), tuple(a.bounds), atol=1e-9)
        assert b.res == pytest.approx((1.0, 1.0))
