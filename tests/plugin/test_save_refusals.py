"""Save refuses layers that hold no pixels to save as data (``io._writer.check_savable``): a Run's
result while the run is going, and the live lens's own layer; from the dock's button and from
File ▸ Save (napari's dialog with the GeoTIFF type picked calls the writer itself)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from napari_ldcsr._writer import write_geotiff, write_geotiff_bands
from tests.plugin.lens_wait import wait_for_view


@pytest.mark.viewer_hidden
def test_a_result_still_being_computed_is_not_saved(ldcsr, qtbot, tmp_path, notes, engine_held_at_second_tile):
    """napari selects a Run's result layer as it appears; Save pressed during the run wrote its
    placeholders and tile previews as an LDCSR GeoTIFF and said 'Saved'. Now refused in words,
    from the button and from File ▸ Save; once the run is done the same layer saves."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8), name="s")
    widget.tile = 32
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)
    (part,) = viewer.layers.selection
    assert part is viewer.layers[-1] and widget.saves.button.isEnabled()
    path = tmp_path / "part.tif"
    assert widget.saves.save(str(path))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=30_000)
    said = ("'s ×2.00 (LDCSR fast)' was not saved: 's ×2.00 (LDCSR fast)' is still being computed (its tiles are "
            "previews until the run ends); save it when the run has finished")
    assert widget.status == said and notes[-1] == ("error", said)
    with pytest.raises(ValueError, match="still being computed"):  # File ▸ Save, GeoTIFF picked
        write_geotiff(str(path), *part.as_layer_data_tuple()[:2])
    assert not path.exists() and list(tmp_path.iterdir()) == []
    gate.release.set()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert viewer.layers.save(str(path), selected=True, plugin="napari-ldcsr") == [str(path)]
    with rasterio.open(path) as ds:
        np.testing.assert_array_equal(np.moveaxis(ds.read(), 0, -1), part.data)


def test_the_live_lens_layer_is_not_saved(ldcsr, qtbot, tmp_path, bicubic_engine):
    """The live layer holds display colours of a moving window (the dock's Save does not list it);
    File ▸ Save wrote them as a GeoTIFF without georeferencing or provenance. Keep is the way.
    (The tiles are the bicubic stand-in's: the refusal is tested, not the network.)"""
    from napari_ldcsr._viewer import camera

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(1).integers(0, 255, (96, 96), dtype=np.uint8), name="s")
    camera(viewer).center, camera(viewer).zoom = (48.0, 48.0), 4.0
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    live = lens.live_layer
    with pytest.raises(ValueError, match="live lens's view of another layer .* press Keep"):
        write_geotiff(str(tmp_path / "live.tif"), *live.as_layer_data_tuple()[:2])
    with pytest.raises(ValueError, match="live lens's view"):  # nor as a band of one file
        write_geotiff_bands(str(tmp_path / "bands.tif"), [lyr.as_layer_data_tuple() for lyr in (src, live)])
    assert list(tmp_path.iterdir()) == []
    widget.live.set_live(False)


@pytest.mark.viewer_hidden
def test_a_name_windows_takes_for_a_device_is_not_saved_on_a_disk_windows_reads(ldcsr, qtbot, tmp_path, notes,
                                                                                 monkeypatch):
    """Save as usb/CON (the dialog adds .tif) or into a new folder usb/NUL on a USB stick's FAT: before, saved and said
    'Saved' of a file (and folder) Windows cannot open; now refused in the engine's words (ldcsr upscale's), nothing
    made. (The disk's type simulated as the engine's tests do.)"""
    from tests.raster.test_output_names import _mounted_as

    viewer, widget = ldcsr
    usb = tmp_path / "usb"
    usb.mkdir()
    _mounted_as(monkeypatch, usb, "vfat")
    layer = viewer.add_image(np.random.default_rng(1).integers(0, 255, (24, 24), dtype=np.uint8), name="s")
    viewer.layers.selection.active = layer
    for path, said in ((usb / "CON", "output name CON.tif names a Windows device (CON, the console) whatever follows "
                        "its first dot: on this disk (vfat), which Windows reads, it would be written to the device, "
                        "or be a file Windows cannot open; choose another name, such as CON_1.tif"),
                       (usb / "nul" / "s.tif", "folder name nul names a Windows device (NUL, ")):
        assert widget.saves.save(str(path))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
        assert widget.status.startswith(f"'s' was not saved: {said}"), widget.status
        assert notes[-1] == ("error", widget.status)
    with pytest.raises(OSError, match="output name aux.tif names a Windows device"):  # File ▸ Save, GeoTIFF picked
        write_geotiff(str(usb / "aux.tif"), *layer.as_layer_data_tuple()[:2])
    assert list(usb.iterdir()) == []
