"""A save never replaces the file an open layer was read from, whichever reader opened it."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine


def test_a_file_opened_by_another_reader_is_not_replaced(make_napari_viewer, tmp_path):
    """napari's own reader (or another plugin's) keeps the file in ``layer.source.path``, not in
    this plugin's ``metadata["path"]``; before, saving another layer under that name replaced
    the open layer's input file."""
    from ldcsr_core.errors import OutputExistsError
    from napari.plugins.io import save_layers

    scene = tmp_path / "scene.tif"
    with rasterio.open(scene, "w", driver="GTiff", height=20, width=24, count=1, dtype="uint8", crs="EPSG:32633",
                       transform=Affine(10, 0, 5e5, 0, -10, 4e6)) as dst:
        dst.write(np.full((1, 20, 24), 7, np.uint8))
    before = scene.read_bytes()
    viewer = make_napari_viewer()
    (opened,) = viewer.open(str(scene), plugin="napari")
    assert not opened.metadata.get("path") and opened.source.path == str(scene)
    other = viewer.add_image(np.zeros((20, 24), np.uint8), name="other")
    with pytest.raises(OutputExistsError, match=r"scene\.tif is the source file of the open layer 'scene'"):
        save_layers(str(scene), [other], plugin="napari-ldcsr")
    assert scene.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scene.tif"]
