"""A save never replaces the file an open layer was read from, whichever reader opened it."""

import os
import re

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


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


def test_a_result_is_not_saved_over_its_input_after_the_source_layer_was_closed(ldcsr, qtbot, tmp_path):
    """A Run's result of scene.tif, its source layer removed: scene.tif is still the result's
    input (the CLI refuses an output that is its input, --overwrite or not). Before, saving the
    result under that name (the Save button, File > Save) replaced scene.tif with the result."""
    from ldcsr_core.errors import OutputExistsError

    from napari_ldcsr.io._writer import write_geotiff
    from tests.plugin.test_save_button import _scene

    viewer, widget = ldcsr
    src = _scene(tmp_path / "scene.tif")
    before = src.read_bytes()
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run()
    result = widget.last_result
    viewer.layers.remove(layer)
    said = f"not saved: {src} is the input '{result.name}' was made from; choose another name"
    with pytest.raises(OutputExistsError, match=re.escape(said)):
        write_geotiff(str(src), *result.as_layer_data_tuple()[:2])
    viewer.close()  # and with no viewer open
    with pytest.raises(OutputExistsError, match=re.escape(said)):
        write_geotiff(str(src), *result.as_layer_data_tuple()[:2])
    assert src.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["scene.tif"]
    assert result.metadata["source_files"] == [str(src)]


def test_a_file_an_open_vrt_layer_reads_is_not_replaced_nor_its_sidecar_removed(make_napari_viewer, tmp_path):
    """A layer opened from a VRT reads its sources as it is drawn. Before: only the VRT's own name was refused, so
    saving another layer as a source (base.tif) replaced it under the open layer (the CLI refuses that output: 'output
    path is a file v.vrt reads'), and saving as o.tif removed o.tif.msk, a source too, as the old o.tif's mask."""
    import rasterio.shutil

    from ldcsr_core.errors import OutputExistsError
    from napari.plugins.io import save_layers

    base = tmp_path / "base.tif"
    with rasterio.open(base, "w", driver="GTiff", height=20, width=24, count=1, dtype="uint8", crs="EPSG:32633",
                       transform=Affine(10, 0, 5e5, 0, -10, 4e6)) as dst:
        dst.write(np.full((1, 20, 24), 7, np.uint8))
    msk = tmp_path / "o.tif.msk"
    rasterio.shutil.copy(base, msk, driver="GTiff")
    for source, vrt in ((base, tmp_path / "v.vrt"), (msk, tmp_path / "m.vrt")):
        rasterio.shutil.copy(source, vrt, driver="VRT")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    viewer = make_napari_viewer()
    viewer.open([str(tmp_path / "v.vrt"), str(tmp_path / "m.vrt")], plugin="napari-ldcsr")
    other = viewer.add_image(np.zeros((20, 24), np.uint8), name="other")
    with pytest.raises(OutputExistsError, match=r"not saved: .*base\.tif is a file v\.vrt reads, the source file of "
                                                r"the open layer 'v'; choose another name"):
        save_layers(str(base), [other], plugin="napari-ldcsr")
    with pytest.raises(OutputExistsError, match=r"o\.tif\.msk is a file m\.vrt reads, the source file of the open "
                                                r"layer 'm' and a sidecar of the output .*o\.tif: GDAL would read it"):
        save_layers(str(tmp_path / "o.tif"), [other], plugin="napari-ldcsr")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_save_looks_at_each_source_of_an_open_vrt_layer_once(make_napari_viewer, tmp_path, monkeypatch):
    """A Save compares its name and its sidecars' with every file the open layers read. Before: each pair was compared
    afresh (same_file looked at both files each time): each source of a VRT layer was looked at five times, 0.8 s a
    Save on napari's thread with a VRT of 1000 sources (3.7 s the first); now once for the Save (once more as GDAL
    lists it), as the CLI's check_not_read since e965293. What is refused is unchanged (the test above)."""
    from collections import Counter

    import rasterio.shutil
    from ldcsr_core import files
    from napari.plugins.io import save_layers

    sources = []
    for i in range(6):
        sources.append(tmp_path / f"s{i}.tif")
        with rasterio.open(sources[-1], "w", driver="GTiff", height=4, width=4, count=1, dtype="uint8",
                           crs="EPSG:32633", transform=Affine(10, 0, 5e5 + 40 * i, 0, -10, 4e6)) as dst:
            dst.write(np.full((1, 4, 4), i, np.uint8))
    vrt = tmp_path / "v.vrt"
    with rasterio.open(sources[0]) as first:
        xml = "".join(f'<SimpleSource><SourceFilename relativeToVRT="1">{p.name}</SourceFilename><SourceBand>1'
                      f'</SourceBand><DstRect xOff="{4 * i}" yOff="0" xSize="4" ySize="4"/></SimpleSource>'
                      for i, p in enumerate(sources))
        vrt.write_text(f'<VRTDataset rasterXSize="24" rasterYSize="4"><SRS>{first.crs.to_wkt()}</SRS><GeoTransform>'
                       f'500000,10,0,4000000,0,-10</GeoTransform><VRTRasterBand dataType="Byte" band="1">{xml}'
                       '</VRTRasterBand></VRTDataset>')
    viewer = make_napari_viewer()
    viewer.open(str(vrt), plugin="napari-ldcsr")
    other = viewer.add_image(np.zeros((4, 24), np.uint8), name="other")
    looked = Counter()
    keys = files.file_keys
    monkeypatch.setattr(files, "file_keys", lambda p: looked.update([os.path.basename(p)]) or keys(p))
    save_layers(str(tmp_path / "o.tif"), [other], plugin="napari-ldcsr")
    assert (tmp_path / "o.tif").exists()
    assert 1 <= min(looked[p.name] for p in sources) and max(looked[p.name] for p in sources) <= 2, looked
