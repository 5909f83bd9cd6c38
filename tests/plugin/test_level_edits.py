"""A level of a multiscale layer edited in place (``layer.data[i][…] = …; layer.refresh()``), in a real napari
viewer (Xvfb): what the live lens, a Run and Check quality make of it. An in-memory layer's levels are its pixels
(level 0: the windows the lens reads; its coarsest: where the lens's stretch is fitted); a lazy layer of a big
GeoTIFF is read from its file by all three, whatever its levels hold."""

from __future__ import annotations

import numpy as np

from . import test_bigrun
from .test_lens import _lens_on, small_viewer

big = test_bigrun.big  # the fixture: a small RGB GeoTIFF the reader opens lazily


def test_an_edit_of_the_coarse_level_refits_the_lens_stretch(make_napari_viewer, qtbot, tiny_model):
    """A multiscale layer no Run takes (a list of NumPy levels): the lens's stretch is fitted on its coarsest level.
    Before, an edit of that level alone (brighter water, 300 → 900) left the lens's stretch and view as they were
    (only level 0's digest was followed); now the lens fits its stretch again on the edited level."""
    from .test_lens import _wait_done

    viewer = small_viewer(make_napari_viewer, qtbot)
    base = (300 + np.random.default_rng(0).normal(0, 20, (64, 64))).astype(np.uint16)
    coarse = base[::4, ::4].copy()
    src = viewer.add_image([base, base[::2, ::2].copy(), coarse], multiscale=True, name="sea")
    lens = _lens_on(viewer, qtbot, src, tiny_model, (30, 30), 4.0)
    before, shown = lens._pixels.stretch, lens.view.values.copy()
    src.data[-1][:] = coarse * 3  # the coarse level only: the lens reads level 0's windows as before
    src.refresh()
    qtbot.wait(100)
    _wait_done(qtbot, lens)
    now = lens._pixels.stretch
    assert now.hi[0] > 2 * before.hi[0], (before, now)
    assert now.lo[0] >= 2 * before.lo[0]
    assert not np.array_equal(lens.view.values, shown)  # level 0's pixels through the new stretch
    lens.close()


def test_an_edit_of_a_lazy_layer_is_said_once_not_to_be_used(big, ldcsr, qtbot, notes, tmp_path, bicubic_engine):
    """A big GeoTIFF opened lazily: its levels are dask arrays over the file, which take an edit in place (dask's
    ``__setitem__``: napari shows it), but a Run, Check quality and the lens read the file. Before, a Run after an
    edit gave the file's result saying nothing, and the lens read the edited level as a multiscale array of its own
    (another stretch, another feed than a Run's); now all three read the file, and the first of them to read it
    after the edit says so once, in plain words. A Save writes the pixels napari holds, the edit with them (what
    the message advises)."""
    from napari_ldcsr.io._lazy import RasterLevel
    from napari_ldcsr.io._writer import write_geotiff

    from .test_bigrun import _open_lazy
    from .test_lens import _wait_done as lens_done
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    widget.set_layer(src)
    widget.set_scale(2.0)
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    before = np.asarray(viewer.layers[-1].data[0]).copy()
    src.data[0][0:40, 0:40] = 0  # dask takes it: the layer shows it
    src.refresh()
    assert (np.asarray(src.data[0][0:40, 0:40]) == 0).all()
    said = ("warning", "'ortho' is read from its file ortho.tif: your edits of its pixels in napari are not used "
                       "(Run, Check quality and the live lens read the file). To upscale them, save the layer as a "
                       "new GeoTIFF and open that.")
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    np.testing.assert_array_equal(np.asarray(viewer.layers[-1].data[0]), before)  # the file's result, as said
    assert notes.count(said) == 1
    viewer.layers.selection.active = src
    assert widget.live.set_live(True)
    lens = widget.live.lens
    lens_done(qtbot, lens)
    assert all(isinstance(s, RasterLevel) for s in lens._pixels.feed.sources)  # the file, as a Run reads it
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000):
        assert widget.check_quality(src)
    assert notes.count(said) == 1  # once
    widget.live.set_live(False)
    saved = tmp_path / "edited.tif"
    write_geotiff(str(saved), src.data, {"name": src.name, "rgb": True, "metadata": dict(src.metadata),
                                         "scale": src.scale, "translate": src.translate})
    import rasterio

    with rasterio.open(saved) as ds:
        assert (ds.read()[:, 0:40, 0:40] == 0).all() and ds.read()[:, 40:, 40:].any()


def test_an_edit_of_a_lazy_layers_coarse_level_alone_is_said_with_advice_that_holds(big, ldcsr, qtbot, notes,
                                                                                   tmp_path, bicubic_engine):
    """A lazy layer whose coarser level alone was edited (``layer.data[-1][…] = 0``: napari shows it zoomed out).
    Before, a Run said the edit was not used and advised to "save the layer as a new GeoTIFF and open that", but a
    Save writes its full resolution, the file's pixels: the saved file was the original, the edit lost as the
    advice was followed. Now the warning says the coarse edit is neither used nor saved and to edit level 0; a later
    edit of level 0 still gets the first warning (a Save then keeps it)."""
    import rasterio

    from napari_ldcsr.io._writer import write_geotiff

    from .test_bigrun import _open_lazy
    from .test_widget import _wait_done

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    assert len(src.data) == 2
    src.data[-1][:, :] = 0
    src.refresh()
    widget.set_scale(2.0)
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    warned = [text for severity, text in notes if severity == "warning" and "'ortho' is read from" in text]
    assert warned == ["'ortho' is read from its file ortho.tif: your edits of its zoomed-out view in napari (a "
                      "coarser level) are not used, nor saved: Run, Check quality, the live lens and Save take its "
                      "full-resolution pixels, which are the file's. To upscale an edit, make it at full resolution "
                      "(layer.data[0]), save the layer as a new GeoTIFF and open that."]
    saved = tmp_path / "saved.tif"
    layer_data = {"name": src.name, "rgb": True, "metadata": dict(src.metadata), "scale": src.scale,
                  "translate": src.translate}
    write_geotiff(str(saved), src.data, layer_data)
    with rasterio.open(saved) as ds, rasterio.open(big) as orig:
        assert np.array_equal(ds.read(), orig.read())  # as said: the coarse edit is not saved
    src.data[0][0:40, 0:40] = 0  # then at full resolution: what a Save keeps
    src.refresh()
    assert widget.run(layer=src)
    _wait_done(qtbot, widget)
    warned = [text for severity, text in notes if severity == "warning" and "'ortho' is read from" in text]
    assert len(warned) == 2 and warned[1].endswith("To upscale them, save the layer as a new GeoTIFF and open that.")
    write_geotiff(str(saved), src.data, layer_data)
    with rasterio.open(saved) as ds:
        assert (ds.read()[:, 0:40, 0:40] == 0).all()
