"""Linked comparison panels: same world box at any zoom, with Run results and with the live lens."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr import _geometry as geo
from napari_ldcsr.compare._compare import CompareDock
from napari_ldcsr._viewer import canvas_size
from tests.plugin.lens_wait import wait_for_view


def _source_and_result(viewer):
    rng = np.random.default_rng(1)
    img = rng.integers(60, 120, (120, 160, 3), dtype=np.uint8)
    img[50:54, 70:74] = 255  # a white marker
    src = viewer.add_image(img, rgb=True, name="scene", scale=(0.5, 0.5), translate=(3.0, -4.0))
    region = geo.Region(30, 40, 50, 60)
    out = np.repeat(np.repeat(img[region.slices], 2, 0), 2, 1)  # stands in for a ×2 Run result
    s_out, t_out = geo.result_placement(src.scale, src.translate, region.shape, out.shape[:2], region.offset)
    res = viewer.add_image(out, rgb=True, name="scene ×2 (LDCSR)", scale=s_out, translate=t_out)
    return src, res


def _marker_centre(shot: np.ndarray) -> np.ndarray:
    white = np.all(shot[..., :3] > 240, axis=-1)
    ys, xs = np.nonzero(white)
    assert ys.size > 0, "marker not visible"
    return np.array([ys.mean(), xs.mean()])


def test_panels_show_the_same_world_box_at_8x(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1200, 800)
    src, res = _source_and_result(viewer)
    dock = CompareDock(viewer, src, result=res)
    viewer.window.add_dock_widget(dock, area="bottom", name="Compare")
    dock.equalize()
    qtbot.wait(300)
    # zoom the main viewer to 8 screen px per source pixel on the marker, inside the result
    viewer.camera.center = tuple(src.data_to_world((51.5, 71.5)))
    viewer.camera.zoom = 8.0 / 0.5
    qtbot.wait(300)
    boxes = dock.visible_boxes()
    sizes = {n: canvas_size(m) for n, m in dock.models.items()}
    assert len(set(sizes.values())) == 1, sizes  # equal panels
    for name, m in dock.models.items():
        np.testing.assert_allclose(m.camera.center[-2:], viewer.camera.center[-2:], atol=1e-9)
        assert m.camera.zoom == pytest.approx(viewer.camera.zoom)
        np.testing.assert_allclose(boxes[name], boxes["source"], atol=1e-9)
    # what is drawn agrees: the marker sits at the same place in each panel's picture
    shots = {n: q.screenshot(flash=False) for n, q in dock.qt_viewers.items()}
    centres = {n: _marker_centre(s) for n, s in shots.items()}
    for n in centres:
        np.testing.assert_allclose(centres[n], centres["source"], atol=2.0)
    # pan in one panel: the main viewer and the other panels follow
    dock.models["LDCSR"].camera.center = tuple(src.data_to_world((40.0, 60.0)))
    np.testing.assert_allclose(viewer.camera.center[-2:], src.data_to_world((40.0, 60.0)), atol=1e-9)
    np.testing.assert_allclose(dock.models["bicubic"].camera.center[-2:], viewer.camera.center[-2:], atol=1e-9)
    # the result panel shows source + result, the bicubic panel the source with cubic interpolation
    assert [l.data is res.data for l in dock.models["LDCSR"].layers] == [False, True]
    assert dock.models["bicubic"].layers[0].interpolation2d == "cubic"
    dock.close_panels()
    viewer.camera.zoom = 3.0  # unlinked: nothing breaks


def test_compare_follows_the_live_lens(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    """(The tiles are the bicubic stand-in's: the panel's mirror of the live layer is tested, not the network.)"""
    from napari_ldcsr.lens._lens import LiveLens

    viewer = make_napari_viewer(show=True)
    viewer.window.resize(700, 500)
    src, _ = _source_and_result(viewer)
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    dock = CompareDock(viewer, src, lens=lens)
    viewer.window.add_dock_widget(dock, area="bottom", name="Compare")
    viewer.camera.center = tuple(src.data_to_world((60, 80)))
    viewer.camera.zoom = 2.0 / 0.5
    lens.set_enabled(True)
    wait_for_view(qtbot, lens, timeout=120_000)
    qtbot.wait(50)
    mirror = dock.models["LDCSR"].layers[-1]
    live = lens.live_layer
    assert mirror.data is live.data
    np.testing.assert_allclose(mirror.data_to_world((0, 0)), live.data_to_world((0, 0)), atol=1e-9)
    np.testing.assert_allclose(mirror.scale, live.scale)
    # the source removed: the panels close quietly
    lens.close()
    viewer.layers.remove(src)
    assert dock.qt_viewers == {}


def test_the_panels_show_a_hidden_or_faded_source_whole(make_napari_viewer, qtbot):
    """Before: the panels copied the main view's display of the source, so a source the user had
    hidden (to look at the result alone) left the source panel empty, and one faded to 40 % showed
    darker there than the opaque result beside it. Now each panel shows its layers whole."""
    viewer = make_napari_viewer(show=True)
    src, res = _source_and_result(viewer)
    src.visible, src.opacity = False, 0.4
    dock = CompareDock(viewer, src, result=res)
    viewer.window.add_dock_widget(dock, area="bottom", name="Compare")
    for name, model in dock.models.items():
        assert [(lyr.visible, lyr.opacity) for lyr in model.layers] == [(True, 1.0)] * len(model.layers), name
    dock.close_panels()


def test_the_live_lens_takes_and_follows_its_sources_opacity(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    """Before: the lens's layer stayed an opaque patch on a source faded to see a layer beneath it
    (hiding there what the source let through around it). (The tiles are the bicubic stand-in's: the
    opacity is tested, not the network.)"""
    from napari_ldcsr.lens._lens import LiveLens

    viewer = make_napari_viewer(show=True)
    viewer.window.resize(500, 400)
    src = viewer.add_image(np.random.default_rng(1).integers(60, 120, (48, 48, 3), dtype=np.uint8), rgb=True,
                           name="scene", opacity=0.4)
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    viewer.camera.center = (24.0, 24.0)
    viewer.camera.zoom = 8.0
    lens.set_enabled(True)
    wait_for_view(qtbot, lens, timeout=120_000)
    assert lens.live_layer.opacity == pytest.approx(0.4)
    src.opacity = 0.7
    assert lens.live_layer.opacity == pytest.approx(0.7)
    lens.close()


def _live_mirrors(dock) -> list:
    """The LDCSR panel's mirrors of a live lens layer that are shown."""
    return [lyr for lyr in dock.models["LDCSR"].layers if "(live LDCSR)" in lyr.name and lyr.visible]


def test_panels_show_no_other_bands_lens_after_a_band_repick(ldcsr, qtbot, bicubic_engine, tmp_path):
    """The picked band's result deleted: the panels go on with the run's next band; the lens still
    looks at the widget's layer (the deleted result's band), so its live layer is not drawn over
    the other band's source and result in the LDCSR panel (it was, on main)."""
    from .test_result_removal import _bands
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    bands = _bands(viewer, tmp_path)
    widget.set_layer(bands[1])
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_done(qtbot, widget)
    lens = widget.live.lens
    viewer.camera.center = tuple(bands[1].data_to_world((32, 32)))
    viewer.camera.zoom *= 4
    widget.live.live_box.setChecked(True)
    widget.live.compare_button.setChecked(True)
    wait_for_view(qtbot, lens)
    qtbot.wait(20)
    assert len(_live_mirrors(widget.live.compare_dock)) == 1  # the lens's band is the panels' source
    viewer.layers.remove(widget.last.results[1])
    qtbot.waitUntil(lambda: widget.live.compare_dock is not None and widget.live.compare_dock.source is bands[0])
    wait_for_view(qtbot, lens)
    qtbot.wait(20)
    dock = widget.live.compare_dock
    assert lens.layer is bands[1] and dock.result is widget.last.results[0]
    assert _live_mirrors(dock) == []


def test_panels_follow_another_picked_layer(ldcsr, qtbot):
    """Open on the widget's layer, another layer picked: the panels show that one (on main they
    stayed on the first, and their LDCSR panel mirrored the lens of the newly picked layer)."""
    viewer, widget = ldcsr
    rng = np.random.default_rng(2)
    a = viewer.add_image(rng.integers(0, 255, (24, 30, 3), dtype=np.uint8), rgb=True, name="a")
    b = viewer.add_image(rng.integers(0, 255, (20, 28, 3), dtype=np.uint8), rgb=True, name="b", scale=(2, 2))
    widget.set_layer(a)
    widget.live.compare_button.setChecked(True)
    first = widget.live.compare_dock
    assert first.source is a
    widget.set_layer(b)
    dock = widget.live.compare_dock
    assert dock.source is b and [lyr.data is b.data for lyr in dock.models["source"].layers] == [True]
    assert first.qt_viewers == {} and widget.live.compare_button.isChecked()
    assert list(viewer.layers) == [a, b]  # nothing added to the user's list


def test_a_band_groups_result_covers_its_source_in_the_panels(ldcsr, qtbot, bicubic_engine, tmp_path):
    """A band group run: the picked band's result and baseline blend additively in the main
    viewer's composite (only the lowest band's covers); mirrored alone over their source in the
    panels they cover it. On main they kept 'additive' there, so the LDCSR and bicubic panels
    showed the band summed with itself (about twice as bright as the source panel)."""
    from .test_result_removal import _bands
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    viewer.window.resize(900, 700)
    bands = _bands(viewer, tmp_path)
    widget.set_layer(bands[1])
    widget.set_bicubic(True)
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_done(qtbot, widget)
    assert str(widget.last.result.blending) == "additive"  # its blending in the composite
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    assert dock.bicubic is widget.last.bicubic and dock.result is widget.last.result
    assert not dock.bicubic.visible  # hidden in the main viewer, shown in its panel:
    assert [(lyr.data is dock.bicubic.data, lyr.visible) for lyr in dock.models["bicubic"].layers] == \
        [(False, True), (True, True)]
    dock.equalize()
    viewer.camera.center = tuple(bands[1].data_to_world((32, 32)))
    viewer.camera.zoom *= 3
    qtbot.wait(300)
    means = {}
    for name, qtv in dock.qt_viewers.items():
        shot = qtv.screenshot(flash=False)[..., :3].astype(float)
        h, w = shot.shape[:2]
        means[name] = shot[h // 3: 2 * h // 3, w // 3: 2 * w // 3].mean()
    assert means["LDCSR"] == pytest.approx(means["source"], rel=0.1), means
    assert means["bicubic"] == pytest.approx(means["source"], rel=0.1), means


@pytest.mark.parametrize("by_run", [True, False], ids=["baseline made by the run", "made by Compare"])
def test_blink_and_opacity_show_the_source_not_the_baseline(ldcsr, qtbot, bicubic_engine, by_run):
    """Show source / result and Result opacity show the source under the result, also when a
    bicubic baseline (made by the run or by Compare) lies between them: it is added hidden, shown
    in the grid only. On main it was visible, so the blink's 'source' was the bicubic baseline and
    the opacity slider faded the result into the baseline."""
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    img = np.random.default_rng(3).integers(0, 255, (30, 36, 3), dtype=np.uint8)
    src = viewer.add_image(img, rgb=True, name="scene", scale=(0.7, 1.3), rotate=23)
    widget.set_bicubic(by_run)
    assert widget.run(layer=src, scale=2.5)
    _wait_done(qtbot, widget)
    last = widget.last
    widget.set_compare(True)
    assert [lyr for lyr in viewer.layers if lyr.visible] == [src, last.bicubic, last.result]  # the grid
    widget.set_compare(False)
    widget.compare.toggle_result()
    assert [lyr for lyr in viewer.layers if lyr.visible] == [src]
    widget.compare.toggle_result()
    widget.set_result_opacity(40)
    assert [lyr for lyr in viewer.layers if lyr.visible] == [src, last.result] and last.result.opacity == 0.4


def test_panels_show_each_new_runs_result(ldcsr, qtbot, bicubic_engine):
    """Panels open on a layer show the result of a Run of it as it finishes (on main they kept
    what they were opened with: no result, or an earlier run's while another was the last)."""
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (20, 24, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    assert widget.live.compare_dock.result is None
    for scale, bicubic in ((3.0, True),):
        widget.set_bicubic(bicubic)
        assert widget.run(layer=src, scale=scale)
        _wait_done(qtbot, widget)
        dock, last = widget.live.compare_dock, widget.last
        assert dock.source is src and dock.result is last.result and dock.bicubic is last.bicubic
        assert [lyr.data is last.result.data for lyr in dock.models["LDCSR"].layers] == [False, True]


def test_the_panels_live_view_goes_with_the_lenss(ldcsr, qtbot, bicubic_engine):
    """The LDCSR panel's copy of the live layer is hidden when the lens hides its layer (zoomed out
    below ×1.25), shown again with it, renamed with it, and gone when the lens is turned off.
    Before, it stayed on in the panel after the lens was off or had hidden its layer (a stale
    super-resolved window where the main view showed the source) and kept its first name. (The
    tiles are the bicubic stand-in's: the panel's mirror of the live layer is tested, not the network.)"""
    from napari_ldcsr._viewer import camera

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8), rgb=True,
                           name="scene")
    camera(viewer).center, camera(viewer).zoom = (32.0, 32.0), 4.0
    lens = widget.live.lens

    def shown():
        wait_for_view(qtbot, lens)

    assert widget.live.set_live(True)
    shown()
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    assert [m.name for m in _live_mirrors(dock)] == ["scene (live LDCSR)"]
    camera(viewer).zoom = 0.5  # below ×1.25: the lens hides its layer
    qtbot.waitUntil(lambda: not lens.live_layer.visible, timeout=10_000)
    assert _live_mirrors(dock) == []
    camera(viewer).zoom = 4.0
    shown()
    src.name = "harbour"
    assert [m.name for m in _live_mirrors(dock)] == ["harbour (live LDCSR)"]
    widget.live.set_live(False)
    assert lens.live_layer is None and _live_mirrors(dock) == []
    widget.live.set_linked_compare(False)


def test_the_panels_open_high_enough_to_see_and_keep_the_users_height(ldcsr, qtbot, bicubic_engine):
    """napari docked the linked panels at their least height: 86 px in a 1400x900 window (50 px at
    1280x800), panels a thin strip. They open at DOCK_SHARE of the window's height, and a Run that
    opens them again on its result keeps the height the user gave them."""
    from qtpy.QtCore import Qt

    from napari_ldcsr.lens._live_panel import DOCK_SHARE

    from .test_widget import _wait_done

    viewer, widget = ldcsr
    window = viewer.window._qt_window
    window.resize(1400, 900)
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 48, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    dock = widget.live._dock
    # laid out: the dock at its share of the window's height, the panels' canvases with it
    qtbot.waitUntil(lambda: abs(dock.height() - DOCK_SHARE * window.height()) < 0.05 * window.height()
                    and min(canvas_size(m)[0] for m in widget.live.compare_dock.models.values()) > 200)
    window.resizeDocks([dock], [250], Qt.Orientation.Vertical)  # the user drags its edge
    qtbot.waitUntil(lambda: abs(dock.height() - 250) <= 2)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    assert widget.live._dock is not dock and widget.live.compare_dock.result is widget.last.result
    qtbot.waitUntil(lambda: abs(widget.live._dock.height() - 250) <= 2)  # laid out at the user's height


def test_a_run_after_the_panels_were_closed_by_their_x_shows_its_result(ldcsr, qtbot, bicubic_engine):
    """The dock's title-bar 'x' (napari deletes the dock) closes the panels, then a Run and the Linked
    panels button: they open again on its result. Before: 'RuntimeError: wrapped C/C++ object of type
    QtViewerDockWidget has been deleted' (the closed dock's height read for the next opening) in
    napari's console, the panels not reopened."""
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 48, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    qtbot.wait(100)
    closed = widget.live._dock
    closed.destroyOnClose()  # what its 'x' does
    qtbot.wait(100)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    qtbot.wait(100)
    assert widget.live.compare_dock is None  # closed by the user: a Run leaves them closed
    widget.live.compare_button.click()
    assert widget.live._dock is not closed and widget.live.compare_dock.result is widget.last.result
    qtbot.waitUntil(lambda: widget.live._dock.isVisible())


@pytest.mark.parametrize("how", ["button", "x", "widget removed"])
def test_closed_panels_give_the_window_its_bottom_right_corner_back(ldcsr, qtbot, how):
    """While open, the panels' dock lies under the canvas (the right-hand docks take the window's
    bottom-right corner); closed by the button, by their dock's 'x' or with the widget, the window
    has its own corner setting again, so a bottom dock opened later (napari's console, another
    plugin's) spans the window's width as it did. Before: the right-hand docks kept the corner for
    good once the panels had opened."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QLabel

    viewer, widget = ldcsr
    window = viewer.window._qt_window
    window.resize(1400, 900)
    corner = Qt.Corner.BottomRightCorner
    before = window.corner(corner)
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 48, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    widget.live.compare_button.setChecked(True)
    widget.live.set_linked_compare(True)  # opened again (as a Run or another pick does)
    qtbot.waitUntil(lambda: window.corner(corner) == Qt.DockWidgetArea.RightDockWidgetArea != before)
    if how == "button":
        widget.live.compare_button.setChecked(False)
    elif how == "x":
        widget.live._dock.destroyOnClose()  # what its 'x' does
    else:
        viewer.window.remove_dock_widget(widget)
    qtbot.waitUntil(lambda: window.corner(corner) == before)
    other = viewer.window.add_dock_widget(QLabel("another bottom dock"), area="bottom", name="other")
    qtbot.waitUntil(lambda: other.width() > 0.95 * window.width())  # laid out across the window


def test_the_linked_panels_button_follows_the_panels_closed_by_their_x(ldcsr, qtbot):
    """Their dock's 'x' closes the panels: the button unticks (a click opens them again) and the
    panels' cameras are unlinked. Before: the button stayed checked on no panels, and the first
    click on it only unchecked it."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 48, 3), dtype=np.uint8), rgb=True)
    widget.set_layer(src)
    button = widget.live.compare_button
    button.setChecked(True)
    qtbot.wait(100)
    panels = widget.live.compare_dock
    widget.live._dock.destroyOnClose()  # what its 'x' does
    qtbot.waitUntil(lambda: not button.isChecked() and widget.live.compare_dock is None)
    assert panels.link is None and panels.qt_viewers == {}
    button.click()
    assert button.isChecked() and widget.live.compare_dock is not None
    qtbot.waitUntil(lambda: widget.live._dock.isVisible())
