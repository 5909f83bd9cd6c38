"""A source layer's pixels edited in place (``layer.data[…] = …; layer.refresh()``: the same array) or
given other ones, in a real napari viewer (Xvfb): what a Run's outcome, Compare and the live lens make of
it. The network is the bicubic stand-in (``bicubic_engine``) where the test is of what is shown."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from .test_widget import _errors, _wait_done


@pytest.fixture
def lens_setup(make_napari_viewer, qtbot, tiny_model):
    from .test_lens import _lens_setup

    yield from _lens_setup(make_napari_viewer, qtbot, tiny_model, 200)


def _scene_file(tmp_path, h=96, w=128):
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(yy * 7 + xx * 3) % 251, 120 + 60 * np.sin(xx / 6.0), (yy * 5) % 241]).astype(np.uint8)
    path = tmp_path / "ortho.tif"
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(400000.0, 3300000.0, 0.5, 0.5), photometric="RGB") as dst:
        dst.write(rgb)
    return path


@pytest.mark.parametrize("how", ["edited in place", "given other pixels"])
@pytest.mark.viewer_hidden
def test_a_streamed_result_is_not_opened_over_a_source_changed_during_the_run(ldcsr, qtbot, notes, tmp_path, monkeypatch,
                                                                           job_held_after_engine, how):
    """A layer read whole from its file, its result over the in-memory limit streamed from the file: the
    layer's pixels changed while the engine wrote it. Before: the file was opened over the layer as its
    result ('Added … saved as ortho_x2.00_ldcsr.tif'), saying nothing; now it is kept, said, not opened."""
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", str(10_000 / 2**20))
    viewer, widget = ldcsr
    (src,) = viewer.open(str(_scene_file(tmp_path)), plugin="napari-ldcsr")
    assert not src.multiscale
    done, release = job_held_after_engine
    widget.set_layer(src)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(done.is_set, timeout=120_000)
    try:
        if how == "edited in place":
            src.data[10:20, 10:20] = 0
            src.refresh()
        else:
            src.data = src.data[::-1].copy()
    finally:
        release.set()
    _wait_done(qtbot, widget)
    out = tmp_path / "ortho_x2.00_ldcsr.tif"
    said = ("'ortho' had its pixels edited during the run" if how == "edited in place"
            else "'ortho' was given other pixels during the run")
    kept = f"{said}; the result, of the pixels it held when the run began, was saved as {out} and not opened over it."
    assert out.is_file() and [lyr.name for lyr in viewer.layers] == ["ortho"] and widget.last_result is None
    assert widget.status == kept and _errors(notes) == [kept]


def _edit(layer):
    """What a console user does: a block set to 0 in the layer's own array, then a redraw."""
    layer.data[10:20, 10:20] = 0
    layer.refresh()


def test_compare_refuses_a_result_of_pixels_its_source_was_edited_away_from(ldcsr, qtbot, notes, bicubic_engine):
    """Before: the grid came up saying nothing, the old pixels' result beside the edited source and a
    baseline of the edited pixels (the edit is the same array: the run's record saw no change)."""
    from .test_lens import _scene

    viewer, widget = ldcsr
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    res = widget.last_result
    _edit(src)
    widget.set_compare(True)
    assert not widget.comparing and not widget.compare.compare_button.isChecked()
    assert notes[-1] == ("warning", "'scene' had its pixels edited since its run: its result is of the pixels it "
                                    "held then, so Compare would set it beside the new ones. Run LDCSR again, or put its "
                                    "pixels back, to compare.")
    assert [lyr.name for lyr in viewer.layers] == ["scene", res.name]  # no baseline of the edited pixels
    widget.set_layer(src)  # the linked panels leave that result out, as for pixels given
    widget.live.compare_button.setChecked(True)
    dock = widget.live.compare_dock
    assert dock.source is src and dock.result is None and dock.bicubic is None
    assert notes[-1][0] == "info" and notes[-1][1].startswith("'scene' had its pixels edited since its run:")
    widget.live.compare_button.setChecked(False)
    assert widget.run(layer=src, scale=2.0)  # a Run of the edited pixels compares again
    _wait_done(qtbot, widget)
    widget.set_compare(True)
    assert widget.comparing
    widget.set_compare(False)


def test_a_source_edited_in_place_during_the_run_adds_nothing(ldcsr, qtbot, notes, bicubic_engine,
                                                               engine_held_at_second_tile):
    """As one given other pixels. Before: the result, partly of the old pixels, was added as the edited
    layer's ('Added …'), saying nothing."""
    from .test_source_changed_during_run import _held_run

    viewer, widget = ldcsr
    gate = engine_held_at_second_tile
    src = _held_run(viewer, widget, qtbot, gate)
    try:
        _edit(src)
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    said = "'scene' had its pixels edited during the run"
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and widget.last_result is None
    assert widget.status == f"{said}; nothing was added." and _errors(notes) == [f"{said}; the result was not added."]


@pytest.mark.parametrize("then", ["redrawn", "panned away and back"])
def test_the_live_lens_shows_the_pixels_of_an_edit_in_place(lens_setup, qtbot, bicubic_engine, then):
    """The lens's view of a source edited in place (then ``refresh()``) is the view of the edited pixels,
    as the lens of the same pixels given anew (``layer.data = copy``) paints it. Before: the lens kept
    its view of the old pixels and, panned away and back, showed the old pixels' cached tiles (the cache
    knew the layer by its array, which an edit keeps). The tiles are the bicubic stand-in's: which pixels
    the lens reads is tested, not the network."""
    from .lens_wait import wait_for_view
    from .test_lens import _look

    viewer, src, lens, model = lens_setup
    _look(viewer, src, (100, 100), 2.0)
    lens.set_enabled(True)
    wait_for_view(qtbot, lens)
    before = lens.live_layer.data.copy()
    src.data[60:140, 60:140] = 255 - src.data[60:140, 60:140]
    src.refresh()
    if then == "panned away and back":
        _look(viewer, src, (30, 30), 2.0)
        wait_for_view(qtbot, lens)
        _look(viewer, src, (100, 100), 2.0)
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    edited = lens.live_layer.data.copy()
    src.data = src.data.copy()  # the same pixels given anew: the lens computes them again
    qtbot.wait(100)
    wait_for_view(qtbot, lens)
    np.testing.assert_array_equal(edited, lens.live_layer.data)
    assert not np.array_equal(edited, before)


@pytest.mark.parametrize("how", ["edited in place", "given other pixels", "as read"])
@pytest.mark.parametrize("count", [3, 4])
@pytest.mark.viewer_hidden
def test_a_big_run_is_not_streamed_from_the_file_of_a_layer_that_no_longer_holds_its_pixels(
        ldcsr, qtbot, notes, tmp_path, monkeypatch, bicubic_engine, how, count):
    """A layer read whole from its file (RGB, or a 4-band file's band layers) whose result is over the
    in-memory limit streams from the file. Before: one edited or given other pixels since it was opened
    got the file's pixels' result ('Added …, saved as ortho_x2.00_ldcsr.tif', over the edited layer),
    saying nothing; now the Run is refused before any work, and says what to do."""
    viewer, widget = ldcsr
    path = _scene_file(tmp_path)
    if count == 4:
        with rasterio.open(path) as ds:
            profile, bands = dict(ds.profile, count=4, photometric="minisblack"), ds.read()
        path = tmp_path / "four.tif"
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.concatenate([bands, bands[:1]]))
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    assert len(layers) == (1 if count == 3 else 4) and not layers[0].multiscale
    src = layers[-1]
    if how == "edited in place":
        src.data[10:20, 10:20] = 0
    elif how == "given other pixels":
        src.data = src.data[::-1].copy()
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", str(10_000 / 2**20))
    started = widget.run(layer=src, scale=2.0)
    if how == "as read":  # streamed as before
        assert started
        _wait_done(qtbot, widget)
        assert widget.status.startswith(f"Added '{src.name} ×2.00 (LDCSR fast)'") and "saved as" in widget.status
        return
    assert not started and not widget.running
    assert sorted(p.name for p in tmp_path.iterdir() if "_x2" in p.name) == []
    assert notes[-1][0] == "error" and (
        f"it cannot be streamed from its file: '{src.name}' no longer holds the pixels of {path.name} (given other "
        "pixels or edited since it was opened), which a result this big is read from; save it as a GeoTIFF (Save "
        "layer as GeoTIFF…) and open that, or pick a smaller region or scale.") in notes[-1][1]
