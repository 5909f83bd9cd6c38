"""A Run's result lies exactly over its source for the layers analysts have: placed by a rotated or
south-up GeoTIFF, a geographic CRS's unequal pixel sides, a flipped, sheared or moved layer, in a
viewer holding a stack with its axes rolled or showing the 3-D view. Corresponding pixel edges and
centres of source and result land on the same world point (the half-pixel convention)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

rasterio = pytest.importorskip("rasterio")
from affine import Affine  # noqa: E402

H, W = 40, 36


def _rgb(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)


def _geotiff(viewer, path, transform, crs="EPSG:32633"):
    data = np.moveaxis(_rgb(), -1, 0)
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=3, dtype="uint8", crs=crs,
                       transform=transform) as dst:
        dst.write(data)
    (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
    return layer


def _beside_rolled_stack(viewer):
    viewer.add_image(np.zeros((3, H, W), np.float32), name="stack")
    layer = viewer.add_image(_rgb(), rgb=True, translate=(1.0, 2.0))
    viewer.dims.order = (1, 0, 2)
    return layer


def _in_3d(viewer):
    layer = viewer.add_image(_rgb(), rgb=True, scale=(1.0, 2.0))
    viewer.dims.ndisplay = 3
    return layer


KINDS = {
    "rotated GeoTIFF": lambda v, p: _geotiff(v, p, Affine(0.47, 0.17, 600000, 0.17, -0.47, 5340000)),
    "south-up GeoTIFF": lambda v, p: _geotiff(v, p, Affine(0.5, 0, 600000, 0, 0.5, 5340000)),
    "EPSG:4326, unequal sides": lambda v, p: _geotiff(v, p, Affine(1e-3, 0, 10, 0, -7e-4, 50), crs="EPSG:4326"),
    "flipped, sheared, moved, in metres": lambda v, p: v.add_image(
        _rgb(), rgb=True, scale=(-0.5, 1.7), shear=(0.3,), translate=(7.5, -3.25), units=("m", "m"),
        affine=np.array([[0.94, -0.34, 7.0], [0.34, 0.94, -4.0], [0, 0, 1]])),
    "beside a stack, axes rolled": lambda v, p: _beside_rolled_stack(v),
    "3-D view": lambda v, p: _in_3d(v),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_result_lies_over_its_source(ldcsr, qtbot, notes, bicubic_engine, tmp_path, kind):
    viewer, widget = ldcsr
    src = KINDS[kind](viewer, tmp_path / "scene.tif")
    assert widget.run(layer=src, scale=2.5)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    res = widget.last_result
    assert res.data.shape[:2] == (100, 90) and not [t for s, t in notes if s == "error"]
    assert tuple(res.units) == tuple(src.units)
    for r, c in ((-0.5, -0.5), (H - 0.5, W - 0.5), (-0.5, W - 0.5), (H - 0.5, -0.5), (0, 0), (13, 7)):
        np.testing.assert_allclose(res.data_to_world(((r + 0.5) * 2.5 - 0.5, (c + 0.5) * 2.5 - 0.5))[-2:],
                                   src.data_to_world((r, c))[-2:], rtol=1e-12, atol=1e-9)
