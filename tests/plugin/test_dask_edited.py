"""A dask-backed image layer (``viewer.add_image(dask_array)``: napari keeps the dask array as ``layer.data``)
edited in place (``layer.data[…] = …``: dask gives the same object another task graph), in a real napari viewer
(Xvfb): what the live lens and Compare make of it. Its pixels are never read to digest them (the engine's
``pixel_digest``: the graph's name). An xarray layer (napari keeps the ``DataArray``) as the array it holds.
The network is the bicubic stand-in where the test is of what is shown."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view

from .test_lens import _scene
from .test_widget import _wait_done


@pytest.fixture(autouse=True)
def threaded_dask():
    """Dask's default scheduler for arrays (threads), whatever an earlier test in this process left set: after the
    tests/raster Dask files, dask's config still named 'dask.distributed' with no client active, and these failed
    ('Requested dask.distributed scheduler but no Client active') when run after them in one process."""
    import dask

    with dask.config.set(scheduler="threads"):
        yield


def _dask_layer(viewer):
    import dask.array as da

    layer = viewer.add_image(da.from_array(_scene(), chunks=(64, 64, 3)), rgb=True, name="scene")
    assert type(layer.data).__module__.startswith("dask.")
    return layer


def test_the_live_lens_shows_the_pixels_of_a_dask_layer_edited_in_place(ldcsr, qtbot, bicubic_engine):
    """Before: the lens kept its view (and cached tiles) of the old pixels, a dask array's digest being None."""
    viewer, widget = ldcsr
    src = _dask_layer(viewer)
    camera(viewer).center, camera(viewer).zoom = (100.0, 100.0), 2.0
    widget.set_layer(src)
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    before = lens.live_layer.data.copy()
    src.data[60:140, 60:140] = 0
    src.refresh()
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    edited = lens.live_layer.data.copy()
    src.data = np.asarray(src.data)  # the same pixels given anew: the lens computes them again
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    np.testing.assert_array_equal(edited, lens.live_layer.data)
    assert not np.array_equal(edited, before)
    widget.live.set_live(False)


def test_compare_refuses_a_run_of_a_dask_layer_edited_since(ldcsr, qtbot, notes, bicubic_engine):
    """Before: Compare set the old pixels' result beside the edited layer, saying nothing. Now refused, without
    offering to put the pixels back (that makes the dask array another graph again)."""
    viewer, widget = ldcsr
    src = _dask_layer(viewer)
    widget.set_layer(src)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    widget.set_compare(True)
    assert widget.comparing
    widget.set_compare(False)
    src.data[10:20, 10:20] = 0
    src.refresh()
    widget.set_compare(True)
    assert not widget.comparing
    assert notes[-1] == ("warning", "'scene' had its dask array edited since its run: its result is of the pixels "
                                    "it held then, so Compare would set it beside the new ones. Run LDCSR again to "
                                    "compare.")


@pytest.mark.parametrize("holds", ["numpy", "dask"])
def test_compare_refuses_a_run_of_an_xarray_layer_edited_since(ldcsr, qtbot, notes, bicubic_engine, holds):
    """An xarray layer's edit in place writes to the array it holds. Before: not seen (its digest was None)."""
    xr = pytest.importorskip("xarray")
    import dask.array as da

    viewer, widget = ldcsr
    pixels = _scene() if holds == "numpy" else da.from_array(_scene(), chunks=(64, 64, 3))
    src = viewer.add_image(xr.DataArray(pixels, dims=("y", "x", "c")), rgb=True, name="scene")
    assert type(src.data).__name__ == "DataArray"
    widget.set_layer(src)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    src.data[10:20, 10:20] = 0
    src.refresh()
    widget.set_compare(True)
    assert not widget.comparing
    edited = "had its pixels edited" if holds == "numpy" else "had its dask array edited"
    assert notes[-1][0] == "warning" and notes[-1][1].startswith(f"'scene' {edited} since its run: ")
