"""What a source's pixel digests (``ldcsr_core.pixel_digest``: every byte read, ~0.4 s a GB on the GUI
thread) cost in ordinary use, in a real napari viewer (Xvfb), and the lens following a band layer's
siblings' pixels. The network is the bicubic stand-in where the test is of what is shown."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view

from .conftest import scene_with_lens


def test_blinking_leaving_the_grid_and_redrawing_with_the_lens_off_read_no_pixels(ldcsr, qtbot, digests,
                                                                                  bicubic_engine):
    """Before: each A/B blink showed the source already shown, so napari sliced it again and the lens and the
    grid's watch each digested it (2 reads of every byte a blink: 0.5 s a blink of a 108 MB GeoTIFF), and
    leaving the grid one more; a lens turned off went on digesting at each redraw. Turned on again, the lens
    still knows an edit made while it was off."""
    viewer, widget = ldcsr
    src, lens = scene_with_lens(ldcsr, qtbot)
    widget.set_compare(True)
    assert widget.comparing
    del digests[:]
    for _ in range(4):
        widget.compare.toggle_result()
    qtbot.wait(50)
    assert digests == [] and widget.last_result.visible
    widget.set_compare(False)
    assert digests == []
    camera(viewer).center, camera(viewer).zoom = (100.0, 100.0), 2.0
    wait_for_view(qtbot, lens)
    before = lens.live_layer.data.copy()
    widget.live.set_live(False)
    src.visible = False
    src.visible = True  # redrawn, the lens off
    src.data[60:140, 60:140] = 255 - src.data[60:140, 60:140]
    src.refresh()
    qtbot.wait(50)
    assert digests == []
    assert widget.live.set_live(True)
    wait_for_view(qtbot, lens)
    edited = lens.live_layer.data.copy()
    src.data = src.data.copy()  # the same pixels given anew: computed again
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    np.testing.assert_array_equal(edited, lens.live_layer.data)
    assert not np.array_equal(edited, before)
    widget.live.set_live(False)


@pytest.mark.parametrize("how", ["given other pixels", "edited in place"])
def test_the_lens_on_a_band_layer_follows_its_siblings_pixels(ldcsr, qtbot, notes, tiny_model, monkeypatch,
                                                               tmp_path, how):
    """Band 4 of a 4-band file is read with bands 3 and 2 (as a Run reads it): band 3's layer given other
    pixels, or edited in place and redrawn, is what the lens reads then, as a Run does. Before: the lens
    went on feeding the model band 3's old array (its view was not the Run's)."""
    import rasterio

    from ldcsr_core.rules import DEFAULT_TILE_OUT

    from .test_lens_bands import _bands, _kept_and_run

    viewer, widget = ldcsr
    monkeypatch.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)
    path = tmp_path / "four.tif"
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=4, dtype="uint16") as ds:
        ds.write(_bands(4))
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    widget.form.bands.value = "4,3,2"
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    widget.form.layer.value = layers[3]
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    before = lens.live_layer.data.copy()
    band3 = layers[2]
    if how == "given other pixels":
        band3.data = band3.data[::-1].copy()
    else:
        band3.data[:, :] = band3.data[::-1].copy()
        band3.refresh()
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    assert not np.array_equal(lens.live_layer.data, before)  # computed again, at once
    widget.live.set_live(False)
    kept, run, view = _kept_and_run(qtbot, widget, layers[3])
    np.testing.assert_array_equal(kept.data, run.data[view.win.slices])
    assert not np.array_equal(kept.data, before)
