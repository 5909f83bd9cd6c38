"""A transposed view (napari's *Transpose* button: the last two axes swapped on screen): the live
lens, the current-view region, the side-by-side grid and the linked panels look where the user looks.

The camera's center and the canvas's (height, width) then run along the layer's (x, y)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr._viewer import camera, canvas_size, transposed
from napari_ldcsr.lens._plan import visible_data_box
from napari_ldcsr.run._region import view_region


def _transposed_view(viewer, layer, centre_rc, zoom):
    """Transpose the view and look at data pixel ``centre_rc`` of ``layer`` (unit scale, no offset)."""
    viewer.dims.order = (1, 0)
    assert transposed(viewer)
    cam = camera(viewer)
    cam.center = (float(centre_rc[1]), float(centre_rc[0]))  # displayed order: (x, y)
    cam.zoom = zoom
    h, w = canvas_size(viewer)
    half_rows, half_cols = w / (2 * zoom), h / (2 * zoom)  # screen columns run along the rows
    return np.array([[centre_rc[0] - half_rows, centre_rc[1] - half_cols],
                     [centre_rc[0] + half_rows, centre_rc[1] + half_cols]])


def test_lens_and_view_region_follow_a_transposed_view(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(900, 500)
    qtbot.wait(50)
    src = viewer.add_image(np.zeros((600, 500), np.uint8), name="tall")
    truth = _transposed_view(viewer, src, (300.0, 250.0), 4.0)
    h, w = canvas_size(viewer)
    assert h != w  # else a swap could not be seen
    box, zoom = visible_data_box(viewer, src)
    np.testing.assert_allclose(box, truth, atol=1e-6)
    assert zoom == pytest.approx(4.0)
    region = view_region(viewer, src)
    assert (region.row0, region.col0) == tuple(np.floor(truth[0] + 0.5).astype(int))
    assert (region.row0 + region.rows, region.col0 + region.cols) == tuple(np.ceil(truth[1] + 0.5).astype(int))


def test_side_by_side_and_linked_panels_follow_a_transposed_view(make_napari_viewer, qtbot):
    from napari_ldcsr.compare._compare import CompareDock
    from napari_ldcsr.compare._sidebyside import fit_camera

    viewer = make_napari_viewer(show=True)
    src = viewer.add_image(np.zeros((300, 100), np.uint8), name="tall", translate=(1000.0, 0.0))
    viewer.dims.order = (1, 0)
    fit_camera(viewer, src)
    cam = camera(viewer)
    np.testing.assert_allclose(cam.center[-2:], (49.5, 1149.5))  # displayed order: (x, y)
    h, w = canvas_size(viewer)
    assert cam.zoom == pytest.approx(0.95 * min(h / 100, w / 300))
    dock = CompareDock(viewer, src)
    viewer.window.add_dock_widget(dock, area="bottom", name="Compare")
    assert all(tuple(m.dims.order) == (1, 0) for m in dock.models.values())
    viewer.dims.order = (0, 1)
    assert all(tuple(m.dims.order) == (0, 1) for m in dock.models.values())
    dock.close_panels()
    viewer.dims.order = (1, 0)  # unlinked: nothing breaks
