"""The source layer changed while a Run is under way, in a real napari viewer (Xvfb): moved (napari's
transform mode, its scale or translate set in the console) or given other pixels (``layer.data = …``).
The network is the bicubic stand-in (``bicubic_engine``): the tests are of placement and outcome."""

from __future__ import annotations

import numpy as np
import pytest

from .test_widget import _errors, _wait_done

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _held_run(viewer, widget, qtbot, gate, **placement):
    src = viewer.add_image(np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8), name="scene",
                           **placement)
    widget.tile = 32
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)  # the partial result, with tile 1
    return src


def _held_model_load(widget, monkeypatch):
    """The run's worker held as it asks for the model (while it would load): ``(asked, go)`` events, the first set
    once it asks, the model loaded once the test sets the second (the layer changed meanwhile, before the worker
    copies it)."""
    import threading

    asked, go, real_get = threading.Event(), threading.Event(), widget.models.get

    def loading(source):
        asked.set()
        go.wait(30)
        return real_get(source)

    monkeypatch.setattr(widget.models, "get", loading)
    return asked, go


@pytest.mark.parametrize("move", ["translate", "scale", "rotate"])
def test_a_source_moved_during_the_run_gets_its_result_and_baseline_over_it(ldcsr, qtbot, notes, bicubic_engine,
                                                                             engine_held_at_second_tile, move):
    viewer, widget = ldcsr
    widget.set_bicubic(True)
    gate = engine_held_at_second_tile
    src = _held_run(viewer, widget, qtbot, gate, translate=(3.0, -2.0))
    try:
        setattr(src, move, {"translate": (40.0, 25.0), "scale": (2.0, 3.0), "rotate": 30.0}[move])
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    res, bic = widget.last_result, widget.last.bicubic
    assert not _errors(notes) and bic is not None
    for r, c in ((-0.5, -0.5), (63.5, 63.5), (-0.5, 63.5), (40, 7)):  # pixel edges and a centre
        there = src.data_to_world((r, c))
        for layer in (res, bic):
            np.testing.assert_allclose(layer.data_to_world(((r + 0.5) * 2 - 0.5, (c + 0.5) * 2 - 0.5)), there,
                                       atol=1e-9)


def test_a_source_given_other_pixels_during_the_run_adds_nothing(ldcsr, qtbot, notes, bicubic_engine,
                                                                 engine_held_at_second_tile):
    """The result would be of pixels the layer no longer holds (of another size here: it would not
    even lie over it): the run adds nothing and says why."""
    viewer, widget = ldcsr
    gate = engine_held_at_second_tile
    finished = []
    widget.runFinished.connect(finished.append)
    src = _held_run(viewer, widget, qtbot, gate)
    try:
        src.data = np.random.default_rng(4).integers(0, 255, (50, 40, 3), dtype=np.uint8)
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and widget.last_result is None
    said = "'scene' was given other pixels during the run"
    assert widget.status == f"{said}; nothing was added." and finished == ["failed"]
    assert _errors(notes) == [f"{said}; the result was not added."]
    assert widget.run_button.isEnabled()


def test_a_partial_result_the_user_moved_during_the_run_stays_where_they_put_it(ldcsr, qtbot, notes, bicubic_engine,
                                                                                 engine_held_at_second_tile):
    """As a renamed one keeps its name. Before (6b95e64): the run's end moved it back over its source
    (its source moved too here, which the baseline follows)."""
    viewer, widget = ldcsr
    widget.set_bicubic(True)
    gate = engine_held_at_second_tile
    src = _held_run(viewer, widget, qtbot, gate)
    part = viewer.layers[-1]
    try:
        part.translate = (0.0, 200.0)  # dragged aside, to look at it beside the source
        src.translate = (40.0, 25.0)
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert widget.last_result is part and not _errors(notes)
    np.testing.assert_array_equal(part.translate, (0.0, 200.0))
    np.testing.assert_allclose(widget.last.bicubic.data_to_world((-0.5, -0.5)), src.data_to_world((-0.5, -0.5)))


def test_the_run_digests_the_copy_it_reads_in_its_worker(ldcsr, qtbot, notes, bicubic_engine, monkeypatch):
    """A Run's record of its source's pixels (the engine's pixel digest: every byte read, 0.4-0.5 s a GB) is taken
    in the run's worker, of the copy of the layer the run reads. Before, it was taken on the GUI thread as Run was
    pressed (the viewer frozen that long), of the layer then: an edit made before the worker copied the layer (here
    while the model loads) was in the result, yet the run said the layer 'had its pixels edited during the run' and
    added nothing. Now the result of the edited pixels is added, and an edit after the copy is still said."""
    import threading

    import ldcsr_core.pixel_digest as pd

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(3).integers(1, 255, (64, 64, 3), dtype=np.uint8), name="scene")
    gui, on_gui = threading.current_thread(), []
    real_digest = pd.pixel_digest

    def watched(data, *args, **kwargs):
        if threading.current_thread() is gui and data is src.data:
            on_gui.append(data.shape)
        return real_digest(data, *args, **kwargs)

    monkeypatch.setattr(pd, "pixel_digest", watched)
    real_get = widget.models.get
    asked, go = _held_model_load(widget, monkeypatch)
    assert widget.run(layer=src, scale=2.0)
    assert on_gui == []  # nothing digested as Run was pressed
    qtbot.waitUntil(asked.is_set, timeout=10_000)
    src.data[8:24, 8:24] = 0  # before the worker copies the layer: the run's pixels
    src.refresh()
    go.set()
    _wait_done(qtbot, widget)
    assert not _errors(notes), notes
    out = widget.last_result
    assert out is not None and (np.asarray(out.data)[20:44, 20:44] == 0).all()  # of the edited pixels
    monkeypatch.setattr(widget.models, "get", real_get)
    assert widget.run(layer=src, scale=2.0)
    _wait_done(qtbot, widget)
    np.testing.assert_array_equal(np.asarray(widget.last_result.data), np.asarray(out.data))  # as a run of them
    widget.set_compare(True)
    assert widget.comparing  # the record says the pixels it read: the source holds them


def test_the_baseline_and_placeholder_are_of_the_pixels_the_run_read(ldcsr, qtbot, notes, bicubic_engine,
                                                                   engine_held_at_second_tile):
    """A dask layer over a NumPy array whose values change under it during the run (not seen: a dask layer is
    known by its task graph). Before, the run's bicubic baseline read the layer again at its end: the result was
    of the pixels the run copied, its baseline beside it of the new ones (zeros here); now the baseline is made of
    the run's own copy, as its result is, so the two are of the same pixels (the placeholder too, made of it)."""
    import dask.array as da
    from ldcsr_core.pixel_digest import pixel_digest

    from napari_ldcsr.run._job import bicubic_job, layer_source

    viewer, widget = ldcsr
    widget.set_bicubic(True)
    widget.tile = 32
    held = np.random.default_rng(5).integers(1, 255, (64, 64, 3), dtype=np.uint8)
    before = held.copy()

    class Store:  # what the dask reads (a file, a zarr store...), held by the graph
        shape, dtype, ndim = held.shape, held.dtype, held.ndim

        def __getitem__(self, key):
            return held[key].copy()

    src = viewer.add_image(da.from_array(Store(), chunks=32, meta=held[:0, :0, :0]), name="scene")
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=5_000)
    shown = np.asarray(viewer.layers[-1].data).copy()  # the placeholder, with tile 1
    try:
        held[...] = 0  # what the dask reads, after the run copied it
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert not _errors(notes), notes
    bic, res = widget.last.bicubic, widget.last_result
    assert bic is not None and res is not None
    expected = bicubic_job(layer_source(viewer, viewer.add_image(before, name="copy")), widget.last.job.spec)
    np.testing.assert_array_equal(np.asarray(bic.data), np.moveaxis(expected.data, 0, -1))
    assert np.asarray(res.data).max() > 0 and np.asarray(bic.data).max() > 0
    assert pixel_digest(shown[64:, 64:]) == pixel_digest(np.repeat(np.repeat(before[32:, 32:], 2, 0), 2, 1))


def test_a_source_given_other_bands_as_its_copy_is_digested_is_said_as_such(ldcsr, qtbot, notes, bicubic_engine,
                                                                              monkeypatch):
    """``layer.data = rgba`` for an RGB layer just after the run's worker copied it, as it digests its copy (about
    1 s a GB): before, the digest read the copy with the layer's new band count and the run failed, "LDCSR could
    not super-resolve 'scene': IndexError: band index 4 out of range (not in (1, 2, 3))"; now the copy is read as
    it is and the run ends as for other pixels given during it: nothing added, said in plain words."""
    import threading

    from napari_ldcsr.run._layer_source import LayerSource

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(1, 255, (64, 96, 3), dtype=np.uint8), name="scene")
    at, go, real = threading.Event(), threading.Event(), LayerSource.copy_digests

    def held(self, ds, **kwargs):
        at.set()
        go.wait(30)
        return real(self, ds, **kwargs)

    monkeypatch.setattr(LayerSource, "copy_digests", held)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(at.is_set, timeout=30_000)
    src.data = np.random.default_rng(6).integers(1, 255, (64, 96, 4), dtype=np.uint8)
    go.set()
    _wait_done(qtbot, widget)
    assert notes == [("warning", "'scene' was given other pixels during the run; the result was not added.")]
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and widget.last_result is None


@pytest.mark.parametrize("shape", [(50, 40, 3), (64, 96, 4)])
def test_a_source_given_other_pixels_before_the_worker_copies_it_is_said_as_such(ldcsr, qtbot, notes, bicubic_engine,
                                                                                  monkeypatch, shape):
    """``layer.data = …`` (smaller, or RGBA) while the model loads, before the run's worker copies the layer: before,
    the worker copied the new array and ran the region of the old on it, "LDCSR could not super-resolve 'scene': the
    window of rows 0–64 and columns 0–96 is not inside the raster of 50 rows × 40 columns" (or GDAL's "Must set color
    interpretation for all bands. …"); now the worker reads the pixels Run was pressed on, and the run ends as for
    other pixels given during it: nothing added, said in plain words."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(1, 255, (64, 96, 3), dtype=np.uint8), name="scene")
    asked, go = _held_model_load(widget, monkeypatch)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(asked.is_set, timeout=10_000)
    src.data = np.random.default_rng(6).integers(1, 255, shape, dtype=np.uint8)
    go.set()
    _wait_done(qtbot, widget)
    assert notes == [("warning", "'scene' was given other pixels during the run; the result was not added.")]
    assert [lyr.name for lyr in viewer.layers] == ["scene"] and widget.last_result is None


def test_a_source_given_other_pixels_during_the_run_frees_the_old_ones(ldcsr, qtbot, notes, bicubic_engine,
                                                                       engine_held_at_second_tile):
    """``layer.data = …`` during the run: the run reads its own copy, so the old array is freed then, as before the
    run pinned the arrays Run was pressed on (review35c); with the pin it stayed in memory to the run's end (a 300 MB
    layer: RSS 1894 MB after the new array was given, 1608 MB before the pin), beside the run's copy of it."""
    import gc
    import weakref

    viewer, widget = ldcsr
    pixels = np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    old = weakref.ref(pixels)
    src = viewer.add_image(pixels, name="scene")
    del pixels
    widget.tile = 32
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    try:
        src.data = np.zeros((50, 40, 3), np.uint8)
        gc.collect()
        assert old() is None  # nothing of the run holds it: its copy is its own
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert notes == [("warning", "'scene' was given other pixels during the run; the result was not added.")]


def test_a_source_given_other_pixels_during_a_streamed_run_frees_the_old_ones(ldcsr, qtbot, notes, tmp_path,
                                                                              monkeypatch, bicubic_engine,
                                                                              engine_held_at_second_tile):
    """A layer the reader read whole from its GeoTIFF, whose result is over the in-memory limit, is streamed from
    its file; ``layer.data = …`` meanwhile frees the old array as an in-memory run's does (review35h: the run's
    pinned source held it to the run's end, as :meth:`LayerSource.unpin` was only called for an in-memory run)."""
    import gc
    import weakref

    import rasterio
    from rasterio.transform import from_origin

    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", "0.01")
    path = tmp_path / "scene.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=from_origin(600000, 5340000, 10, 10), photometric="rgb") as dst:
        dst.write(np.random.default_rng(3).integers(0, 255, (3, 64, 64), dtype=np.uint8))
    viewer, widget = ldcsr
    src, = viewer.open(str(path), plugin="napari-ldcsr")
    assert not src.multiscale  # read whole: its array is the layer's
    old = weakref.ref(src.data)
    widget.tile = 32
    gate = engine_held_at_second_tile
    assert widget.run(layer=src, scale=2.0)  # 128×128×3 = 48 KiB > 10 KiB: streamed to a file
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    try:
        assert widget._job[1].output_path is not None
        src.data = np.zeros((50, 40, 3), np.uint8)
        gc.collect()
        assert old() is None  # the run streams its file: nothing of it holds the layer's old pixels
    finally:
        gate.release.set()
    _wait_done(qtbot, widget)
    assert notes == [("warning", "'scene' was given other pixels during the run; the result, of the pixels it held when "
                                 f"the run began, was saved as {tmp_path / 'scene_x2.00_ldcsr.tif'} and not opened over it.")]
