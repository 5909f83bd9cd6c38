"""napari's Run of a layer whose every pixel is nodata: the engine's note (``geo.empty_input.all_nodata_note``, as
``ldcsr upscale`` and QGIS say it, in napari's words) as Run is pressed, before the model loads, and no note that
its result is untested (Check quality refuses it); a layer with data says nothing of it."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

NOTE = ("Every pixel of '{}' is nodata, so its output will be all nodata, none of it made by the model (is the nodata "
        "right? the Nodata field under Advanced: a value, or none: every value is data).")


def _open(viewer, path, data):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=3, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(6e5, 534e4, 10, 10), nodata=0) as ds:
        ds.write(data)
    (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
    return layer


def test_a_run_of_a_layer_all_nodata_says_so_before_the_model_loads(ldcsr, notes, qtbot, tmp_path):
    """Before: nothing said as Run was pressed but 'Scale 1.10 is below …; Check quality here measures it on this
    layer' (a check that refuses it), then the model loaded and the result said 'empty: nodata everywhere'; now the
    engine's note first, as Run starts, and no untested note."""
    viewer, widget = ldcsr
    layer = _open(viewer, tmp_path / "s.tif", np.zeros((3, 48, 48), np.uint8))
    assert widget.run(layer=layer, scale=1.1)
    said = list(notes)  # as Run returns (said before it started)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert said == [("warning", NOTE.format("s"))], said
    notes.clear()
    data = _open(viewer, tmp_path / "d.tif", np.random.default_rng(0).integers(1, 255, (3, 48, 48), dtype=np.uint8))
    assert widget.run(layer=data, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not [t for _, t in notes if "nodata" in t], notes


def test_the_look_for_data_never_copies_a_large_layer_whole(ldcsr, monkeypatch):
    """The look runs on the GUI thread as Run is pressed. Before: a 4000×4000 RGB layer (48 MB) whose centre is nodata
    was copied whole into a dataset (then its look, about 1 s; 8000×8000: 1.7–2.6 s, 183 MiB more); now a decimated
    look finds its data in a copy of about a million pixels, and a layer with data only in its last pixel, or none, is
    looked at in strips, never copied whole; the answers are the same."""
    import ldcsr_core.geo.raster_io as raster_io
    from napari_ldcsr.run._prepare import all_nodata_notice, prepare_run

    viewer, widget = ldcsr
    copies = []
    made = raster_io.dataset_from_array

    def counted(array, **kwargs):
        copies.append(np.asarray(array).size)
        return made(array, **kwargs)

    monkeypatch.setattr(raster_io, "dataset_from_array", counted)
    side = 4000
    layer = viewer.add_image(np.zeros((side, side, 3), np.uint8), rgb=True, name="big", metadata={"nodata": 0})
    layer.data[:300, :300] = 90  # data in a corner, none at the centre
    spec, source = prepare_run(viewer, widget.settings(), layer, 2.0)
    assert all_nodata_notice(spec, source, "big") == ""
    assert 0 < max(copies) <= 3 * (1 << 20) + 3 * side, copies  # the centre's, then about a million pixels
    layer.data[:300, :300] = 0
    layer.data[-1, -1] = 5  # one pixel of data, in the last strip
    copies.clear()
    assert all_nodata_notice(*prepare_run(viewer, widget.settings(), layer, 2.0), "big") == ""
    layer.data[-1, -1] = 0
    assert all_nodata_notice(*prepare_run(viewer, widget.settings(), layer, 2.0), "big").startswith(
        "Every pixel of 'big' is nodata")
    assert max(copies) <= 3 * 4 * (1 << 20) < layer.data.size / 3, copies  # strips of 4 MP, never the whole layer


def test_a_large_layer_all_nodata_is_looked_at_in_place_not_copied_in_strips(ldcsr, notes, monkeypatch):
    """Before: a large in-memory layer that is all nodata was copied, strip by strip, into datasets the engine then
    read (a decimated read of each, then all of it) on the GUI thread as Run was pressed: 2.7-3.2 s for a 0.5 GB RGB
    layer (13000×13000, nodata 0), the window frozen. Now its strips are looked at in the layer's own array (the
    engine's rule of values, nodata_masks.values_invalid): 0.05-0.06 s there (machine loaded); only the centre's few
    blocks are copied, and the note and the answers are the same (data in its last pixel: none said)."""
    import ldcsr_core.geo.raster_io as raster_io
    from napari_ldcsr.run._prepare import all_nodata_notice, prepare_run

    viewer, widget = ldcsr
    copies = []
    made = raster_io.dataset_from_array
    monkeypatch.setattr(raster_io, "dataset_from_array", lambda array, **kw: copies.append(np.asarray(array).size)
                        or made(array, **kw))
    monkeypatch.setattr(type(widget), "_start", lambda self, *a: None)  # (the run itself: not looked at here)
    layer = viewer.add_image(np.zeros((3000, 3000, 3), np.uint8), rgb=True, name="big", metadata={"nodata": 0})
    assert widget.run(layer=layer, scale=1.5)
    assert notes == [("warning", NOTE.format("big"))], notes
    assert sum(copies) <= 3 * 256 * 256 < layer.data.size / 100, copies  # the centre's alone
    layer.data[-1, -1, 2] = 5  # one value of data, in the last strip
    copies.clear()
    assert all_nodata_notice(*prepare_run(viewer, widget.settings(), layer, 1.5), "big") == ""
    assert sum(copies) <= 3 * 256 * 256, copies
