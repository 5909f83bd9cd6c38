"""The live lens feeds the model the bands a Run feeds it (the form's *Bands*, the engine's
``plan_bands`` through ``LayerSource.band_plan``): an RGB layer's channels in the triplet the form
names, a band layer of a multi-band file with its file's other bands. Before, the lens ignored
*Bands* and super-resolved a band layer alone: with Bands 3,2,1 or 4,3,2 it showed other pixels
than the Run it previews (the model's cross-band detail differs)."""

from __future__ import annotations

import numpy as np
import pytest

from ldcsr_core.rules import DEFAULT_TILE_OUT
from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view


def _bands(n: int) -> np.ndarray:
    """``n`` 64² uint16 bands, each its own pattern and range."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:64, 0:64]
    waves = [np.sin(yy / 5.0), np.cos(xx / 4.0), np.sin((yy + xx) / 7.0), np.cos((yy - xx) / 6.0)]
    return np.stack([(w * 0.4 + 0.5 + rng.normal(0, 0.05, w.shape)) * (1000 + 1500 * i) + 300 * i
                     for i, w in enumerate(waves[:n])]).clip(0, 65535).astype(np.uint16)


def _kept_and_run(qtbot, widget, src):
    """The lens's kept view of ``src`` and a Run of it at the view's scale (its picked band's result)."""
    camera(widget.viewer).center, camera(widget.viewer).zoom = (30.0, 30.0), 4.0
    widget.form.layer.value = src
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    view, kept = lens.view, lens.keep()
    widget.live.set_live(False)
    assert widget.run(layer=src, scale=view.step)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    run = widget.last_result
    assert run.data.shape[:2] == view.grid.out_shape
    return kept, run, view


@pytest.mark.parametrize("bands", ["3,2,1", "2"])
def test_the_lens_feeds_an_rgb_layer_as_the_forms_bands_say(ldcsr, qtbot, notes, tiny_model, monkeypatch, bands):
    viewer, widget = ldcsr
    monkeypatch.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)  # a Run plans the lens's windows
    src = viewer.add_image(np.moveaxis(_bands(3), 0, -1), name="scene", rgb=True)
    widget.form.bands.value = bands
    kept, run, view = _kept_and_run(qtbot, widget, src)
    np.testing.assert_array_equal(kept.data, run.data[view.win.slices])
    assert kept.metadata["tags"]["LDCSR_BANDS"] == run.metadata["tags"]["LDCSR_BANDS"]
    assert not [t for s, t in notes if s in ("warning", "error")]
    widget.form.bands.value = "4"  # a band the layer lacks: the lens says so, as Run does, and stays off
    assert not widget.live.set_live(True) and not widget.live.lens.enabled
    assert notes[-1] == ("warning", "Live lens off: 'scene': band 4 does not exist: the image has bands 1..3.")


@pytest.mark.parametrize("lazy", [False, True])
def test_the_lens_feeds_a_band_layer_with_its_files_bands(ldcsr, qtbot, notes, tiny_model, monkeypatch, tmp_path,
                                                          lazy):
    import rasterio

    import napari_ldcsr.io._lazy as lazy_io

    viewer, widget = ldcsr
    monkeypatch.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)
    monkeypatch.setattr(lazy_io, "LAZY_MIN_PIXELS", 32 * 32 if lazy else lazy_io.LAZY_MIN_PIXELS)
    path = tmp_path / "four.tif"
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=4, dtype="uint16") as ds:
        ds.write(_bands(4))
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    assert len(layers) == 4 and all(layer.multiscale == lazy for layer in layers)
    widget.form.bands.value = "4,3,2"
    kept, run, view = _kept_and_run(qtbot, widget, layers[3])  # band 4, fed with bands 3 and 2
    np.testing.assert_array_equal(kept.data, run.data[view.win.slices])
    assert kept.metadata["tags"]["LDCSR_BANDS"] == "[[4, 3, 2]]"  # the triplet it computed, of the Run's
    # the source a Run names, its file (before: the band layer's name, 'four [band 4]')
    assert kept.metadata["tags"]["LDCSR_SOURCE"] == run.metadata["tags"]["LDCSR_SOURCE"] == "four.tif"
    assert not [t for s, t in notes if s in ("warning", "error")]


def test_a_band_layer_closed_or_opened_again_changes_what_the_lens_feeds(ldcsr, qtbot, tmp_path):
    """As a Run reads a band layer with its file's other bands only while they are all open, so does
    the lens: band 2 goes in with bands 1 and 3, alone once band 3 is closed, with them again once
    it is back."""
    import rasterio

    viewer, widget = ldcsr
    path = tmp_path / "four.tif"
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=4, dtype="uint16") as ds:
        ds.write(_bands(4))
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    widget.form.layer.value = layers[1]
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    assert lens._pixels.plan.groups == ((0, 1, 2),)
    viewer.layers.remove(layers[2])
    wait_for_view(qtbot, lens)
    assert lens._pixels.plan.groups == ((0, 0, 0),) and lens._pixels.plan.count == 1
    viewer.add_layer(layers[2])
    wait_for_view(qtbot, lens)
    assert lens._pixels.plan.groups == ((0, 1, 2),)
    # the file opened again: a Run still reads the first band layers, so the lens reads nothing
    # again (before: each of the 4 new band layers refitted the source, 3 of them computed the view)
    pixels, version = lens._pixels, lens._version
    assert len(viewer.open(str(path), plugin="napari-ldcsr")) == 4
    assert lens._pixels is pixels and lens._version == version
    wait_for_view(qtbot, lens)
    widget.live.set_live(False)


def test_an_adapted_model_on_other_bands_is_said_by_the_lens_as_by_run(ldcsr, qtbot, notes, tiny_model, tmp_path):
    """The lens feeds the form's Bands now, so it says what Run says of a model adapted on other bands
    (before: only another scale step or diffusion mode was said)."""
    from ldcsr_core.checkpoints import save_model

    viewer, widget = ldcsr
    path = save_model(tiny_model, tmp_path / "adapted.safetensors", name="a",
                      extra={"adapt_scale": "4", "adapt_bands": "1,2,3", "adapt_band_count": "3"})
    src = viewer.add_image(np.moveaxis(_bands(3), 0, -1), name="scene", rgb=True)
    widget.set_layer(src)
    assert widget.add_checkpoint(str(path))
    widget.form.bands.value = "3,2,1"
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    assert widget.live.set_live(True)
    wait_for_view(qtbot, widget.live.lens)
    widget.live.set_live(False)
    lens_said = [t for s, t in notes if s == "warning" and t.startswith("Live lens: ")]
    assert len(lens_said) == 1 and "on bands 3,2,1 it is untested" in lens_said[0], notes
    assert widget.run(layer=src, scale=4.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    run_said = [t for s, t in notes if s == "warning" and not t.startswith("Live lens")]
    assert run_said == [lens_said[0].removeprefix("Live lens: t").join(("T", ""))]


def test_a_sibling_bands_file_gone_stops_the_lens_in_one_line(ldcsr, qtbot, notes, monkeypatch, tmp_path):
    """The lens reads band 4's siblings (Bands 4,3,2) from its lazy file in its worker; a file gone
    from under it (moved away, a share disconnected: a thread with no handle open cannot open it) is
    said once, 'Live lens stopped: …'. Before, the worker's error was also raised again in Qt's event
    loop (napari's traceback dialog)."""
    import threading

    import rasterio
    from rasterio.errors import RasterioIOError

    import napari_ldcsr.io._lazy as lazy_io

    viewer, widget = ldcsr
    monkeypatch.setattr(lazy_io, "LAZY_MIN_PIXELS", 32 * 32)
    path = tmp_path / "four.tif"
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=4, dtype="uint16") as ds:
        ds.write(_bands(4))
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    real = lazy_io.RasterLevel._dataset

    def gone(self):  # the viewer's own reads (main thread) keep their handle
        if threading.current_thread() is threading.main_thread():
            return real(self)
        raise RasterioIOError(f"{self.path}: No such file or directory")

    monkeypatch.setattr(lazy_io.RasterLevel, "_dataset", gone)
    widget.form.bands.value = "4,3,2"
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    widget.form.layer.value = layers[3]
    assert widget.live.set_live(True)
    qtbot.waitUntil(lambda: any(s == "error" for s, _ in notes), timeout=30_000)
    widget.live.set_live(False)
    assert [(s, t) for s, t in notes if s in ("warning", "error")] == \
        [("error", f"Live lens stopped: {path}: No such file or directory")]


def test_a_lazy_band_layer_whose_siblings_are_closed_is_refused_by_the_lens_as_by_run(ldcsr, qtbot, notes,
                                                                                    monkeypatch, tmp_path):
    """A Run of a lazy band layer reads its file's bands together while they are all open, and refuses
    once they are not ('… open the file again'); the lens previews that Run, so it says the same and
    stays off, and Check quality and Adapt refuse it too. Before, the lens read the siblings from the
    file and showed a preview no Run made; Check quality checked the file's bands 1,2,3 as band 4's."""
    import rasterio
    from types import SimpleNamespace

    from napari.layers import Layer

    import napari_ldcsr.io._lazy as lazy_io
    from napari_ldcsr.io._reader import read_geotiff
    from napari_ldcsr.lens._plan import band_group_change

    viewer, widget = ldcsr
    monkeypatch.setattr(lazy_io, "LAZY_MIN_PIXELS", 32 * 32)
    path = tmp_path / "four.tif"
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=4, dtype="uint16") as ds:
        ds.write(_bands(4))
    read = read_geotiff(str(path))
    band4 = viewer.add_layer(Layer.create(*read[3]))  # band 4 alone: its siblings are not open
    assert band4.multiscale
    widget.form.bands.value = "4,3,2"
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    widget.form.layer.value = band4
    assert not widget.live.set_live(True) and not widget.live.lens.enabled
    said = ("its source file has 4 bands and only 1 of them is open as layers (all bands of a file are "
            "super-resolved together; open the file again)")
    assert notes[-1] == ("warning", f"Live lens off: '{band4.name}': {said}.")
    refused = f"'{band4.name}' cannot be super-resolved: {said}."
    # Run refuses it in the same words, and so do Check quality and Adapt (before: they read the file's
    # bands 1,2,3 and laid their error maps over band 4's layer)
    for start in (lambda: widget.run(layer=band4, scale=2.0), widget.check_quality,
                  lambda: widget.adapt_to_layer(minutes=1)):
        assert not start() and notes[-1] == ("error", refused), notes[-1]
    # a sibling closed while the lens showed band 4 makes the lens read it again (and so refuse it)
    group = [Layer.create(*r) for r in read]
    assert band_group_change(SimpleNamespace(layers=group[:2] + group[3:]), group[3], object(), group[2])
    assert not band_group_change(SimpleNamespace(layers=group), group[3], object(), group[2])


def test_a_value_the_model_makes_equal_to_nodata_is_moved_off_it_by_the_lens_as_by_run(
        ldcsr, qtbot, notes, tiny_model, monkeypatch, tmp_path):
    """A Run moves a valid output pixel that lands on the nodata value (7 here) off it (8), so it is not
    read as nodata; the lens did so only in tiles with an invalid pixel, so its kept view held 7s
    (nodata, once saved) where the Run has 8s."""
    import rasterio

    viewer, widget = ldcsr
    monkeypatch.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)
    path = tmp_path / "grey.tif"
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=1, dtype="uint16", nodata=7) as ds:
        ds.write(_bands(1))
    src, = viewer.open(str(path), plugin="napari-ldcsr")
    kept, run, view = _kept_and_run(qtbot, widget, src)
    assert (run.data[view.win.slices] == 8).any()  # the Run moved some off 7
    np.testing.assert_array_equal(kept.data, run.data[view.win.slices])
