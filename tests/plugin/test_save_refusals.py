"""Save refuses layers that hold no pixels to save as data (``io._writer.check_savable``): a Run's
result while the run is going, and the live lens's own layer; from the dock's button and from
File ▸ Save (napari's dialog with the GeoTIFF type picked calls the writer itself)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from napari_ldcsr._writer import write_geotiff, write_geotiff_bands
from tests.plugin.lens_wait import wait_for_view


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


def test_the_live_lens_layer_is_not_saved(ldcsr, qtbot, tmp_path):
    """The live layer holds display colours of a moving window (the dock's Save does not list it);
    File ▸ Save wrote them as a GeoTIFF without georeferencing or provenance. Keep is the way."""
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
