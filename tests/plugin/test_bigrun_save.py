"""A streamed Run's files (its result, its spread) are not taken by a save while the run writes them."""

from __future__ import annotations

import numpy as np
import pytest

from . import test_bigrun
from .test_bigrun import _errors, _open_lazy, _stream_with_samples

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

big = test_bigrun.big  # the fixture: a small RGB GeoTIFF opened lazily, results over 100 kB streamed


def test_the_file_a_streamed_run_writes_is_not_taken_by_a_save(big, ldcsr, qtbot, notes, engine_held_at_second_tile):
    """While a Run streams to ortho_x2.50_ldcsr.tif, saving a layer under that name is refused;
    before, the save wrote it and the run, at its end, failed on 'output exists ... (use
    --overwrite to replace it)', its result lost."""
    from ldcsr_core.errors import OutputExistsError
    from napari.plugins.io import save_layers

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    widget.tile = 32
    gate = engine_held_at_second_tile
    widget.set_scale(2.5)
    assert widget.run(layer=src)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    out = big.with_name("ortho_x2.50_ldcsr.tif")
    other = viewer.add_image(np.zeros((8, 8), np.uint8), name="other")
    with pytest.raises(OutputExistsError, match=r"ortho_x2\.50_ldcsr\.tif is the file a Run is streaming its result to"):
        save_layers(str(out), [other], plugin="napari-ldcsr")
    assert not out.exists()
    gate.release.set()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert not _errors(notes), notes
    assert widget.last_result.metadata["path"] == str(out) and out.exists()
    from napari_ldcsr._viewer import STREAMING

    assert not STREAMING  # the file is the result layer's now (its metadata["path"])


def test_the_spread_file_a_streamed_run_writes_is_not_taken_by_a_save(big, ldcsr, qtbot, notes,
                                                                      engine_held_at_second_tile):
    """The same for the spread file of a streamed run with samples (``<name>_spread.tif``)."""
    from ldcsr_core.errors import OutputExistsError
    from napari.plugins.io import save_layers

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    widget.tile = 32
    _stream_with_samples(widget, src)
    assert widget.run()
    qtbot.waitUntil(engine_held_at_second_tile.second_started.is_set, timeout=60_000)
    spread = big.with_name("ortho_x2.00_ldcsr_spread.tif")
    other = viewer.add_image(np.zeros((8, 8), np.uint8), name="other")
    with pytest.raises(OutputExistsError, match="ortho_x2.00_ldcsr_spread.tif is the file a Run is streaming"):
        save_layers(str(spread), [other], plugin="napari-ldcsr")
    engine_held_at_second_tile.release.set()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes), notes
    assert sorted(p.name for p in big.parent.iterdir()) == ["ortho.tif", "ortho_x2.00_ldcsr.tif", spread.name]
