"""The linked panels show their layers as the main view does: the contrast limits, gamma and
colormap the user sets on the source or the result there (a uint16 scene stretched to see into its
shadows) reach the panels, the live lens's view too."""

from __future__ import annotations

import numpy as np

from napari_ldcsr import _geometry as geo
from napari_ldcsr.compare._compare import CompareDock
from tests.plugin.lens_wait import wait_for_view


def _gray16(viewer):
    img = np.random.default_rng(4).integers(1000, 9000, (40, 48), dtype=np.uint16)
    src = viewer.add_image(img, name="scene", contrast_limits=(2000, 6000), translate=(7.0, -3.0), scale=(10, 10))
    region = geo.Region(8, 10, 20, 24)
    out = np.repeat(np.repeat(img[region.slices], 3, 0), 3, 1)  # stands in for a ×3 Run result
    s_out, t_out = geo.result_placement(src.scale, src.translate, region.shape, out.shape[:2], region.offset)
    kw = {"scale": s_out, "translate": t_out, "contrast_limits": (2000, 6000)}
    return src, viewer.add_image(out, name="scene ×3 (LDCSR)", **kw), viewer.add_image(out.copy(), name="bic", **kw)


def _display(layer):
    return [float(v) for v in layer.contrast_limits], float(layer.gamma), layer.colormap.name


def test_the_panels_follow_the_contrast_set_in_the_main_view(make_napari_viewer, qtbot):
    """Before: each panel kept the contrast, gamma and colormap its layers had when it opened, so a
    source stretched in the main view was compared, in the panels, at its old stretch."""
    viewer = make_napari_viewer(show=True)
    src, res, bic = _gray16(viewer)
    dock = CompareDock(viewer, src, result=res, bicubic=bic)
    viewer.window.add_dock_widget(dock, area="bottom", name="Compare")
    src.contrast_limits, src.gamma, src.colormap = (1000, 3000), 0.6, "viridis"
    res.contrast_limits = (1200, 3300)
    bic.colormap = "magma"
    for layer in (src, res, bic):
        mirrors = [m for model in dock.models.values() for m in model.layers if m.data is layer.data]
        assert mirrors and all(_display(m) == _display(layer) for m in mirrors), layer.name
    dock.close_panels()
    src.contrast_limits = (1000, 2000)  # closed: followed no more, nothing breaks
    assert [_display(m) for m in dock.models["source"].layers] == []


def test_the_panels_live_view_follows_its_sources_contrast(ldcsr, qtbot, bicubic_engine):
    """The lens paints its view again in the source's new contrast; before, the LDCSR panel kept
    the old painting (the live layer's new pixels were not mirrored) next to the main view's new one.
    (The tiles are the bicubic stand-in's: the painting and its mirror is tested, not the network.)"""
    viewer, widget = ldcsr
    viewer.window.resize(800, 600)
    src, _, _ = _gray16(viewer)
    widget.set_layer(src)
    viewer.camera.center = tuple(src.data_to_world((20, 24)))
    viewer.camera.zoom = 0.6
    widget.live.live_box.setChecked(True)
    widget.live.compare_button.setChecked(True)
    lens, dock = widget.live.lens, widget.live.compare_dock
    wait_for_view(qtbot, lens)
    before = np.array(lens.live_layer.data)
    src.contrast_limits = (1000, 3000)
    qtbot.waitUntil(lambda: not np.array_equal(lens.live_layer.data, before))  # the lens painted it again
    live = lens.live_layer
    mirror = [m for m in dock.models["LDCSR"].layers if m.name == live.name]
    assert len(mirror) == 1 and np.array_equal(mirror[0].data, live.data)
    assert _display(mirror[0]) == _display(live)
    assert _display(dock.models["LDCSR"].layers[0]) == _display(src)
