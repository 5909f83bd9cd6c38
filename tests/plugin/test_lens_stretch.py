"""The live lens fits a Run's stretch (``ldcsr upscale``'s): the engine's per-band one, on the sample
a Run of the layer fits it on, so the lens and a Run show the same pixels of the same area. Before,
the lens stretched every band with one min–max of the whole layer: a 16-bit RGB layer whose bands
span different ranges came out in other colours than its Run (the blue band's unit input off by up
to 0.86), and a grey band with other contrast."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ldcsr_core.rules import DEFAULT_TILE_OUT
from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view


def _layer(kind: str) -> tuple[np.ndarray, bool]:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:64, 0:64]
    base = np.stack([np.sin(yy / 5.0), np.cos(xx / 4.0), np.sin((yy + xx) / 7.0)], -1) * 0.4 + 0.5
    base = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1)
    if kind == "uint8 RGB":
        return (base * 255).astype(np.uint8), True
    # a sensor's bands: each its own range (a dark blue band, a bright third one), a few hot pixels
    u16 = (base * [1000, 2000, 7000] + [200, 1000, 5000]).astype(np.uint16)
    u16[5, 7], u16[40, 33] = 60000, 9
    return (u16, True) if kind == "uint16 RGB" else (u16[..., 2], False)


@pytest.mark.parametrize("kind", ["uint16 RGB", "uint16 grey", "uint8 RGB"])
def test_the_lens_shows_the_pixels_of_a_run_of_the_same_area(ldcsr, qtbot, notes, tiny_model, monkeypatch, kind):
    viewer, widget = ldcsr
    monkeypatch.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)  # a Run plans the lens's windows
    data, rgb = _layer(kind)
    src = viewer.add_image(data, name="scene", rgb=rgb)
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    view = lens.view
    kept_layer = lens.keep()
    kept = kept_layer.data
    widget.live.set_live(False)
    assert widget.run(layer=src, scale=view.step)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    run = widget.last_result.data
    assert run.shape[:2] == view.grid.out_shape and kept.dtype == run.dtype == data.dtype
    np.testing.assert_array_equal(kept, run[view.win.slices])
    # and the kept view says how it read the layer as the Run's output does (Save writes these tags)
    run_tags, kept_tags = widget.last_result.metadata["tags"], kept_layer.metadata["tags"]
    for tag in ("LDCSR_BANDS", "LDCSR_STRETCH"):
        assert kept_tags[tag] == run_tags[tag], tag
    assert not [t for s, t in notes if s in ("warning", "error")]


def test_the_lens_follows_the_forms_stretch(ldcsr, qtbot, notes):
    """*Stretch* (Advanced) reaches the lens as it reaches a Run: 'dtype' maps a 16-bit band by its
    type's whole range, so the lens's view of it changes (new tiles, not the cached ones)."""
    viewer, widget = ldcsr
    data, _ = _layer("uint16 grey")
    viewer.add_image(data, name="grey")
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    assert widget.live.set_live(True)
    lens = widget.live.lens

    def done(after=None):
        qtbot.waitUntil(lambda: lens.view is not None and lens.view is not after and lens.view.composer.complete
                        and not lens.busy, timeout=60_000)
        return lens.view

    first = done()
    assert lens.layer is not None and lens._pixels.stretch.hi[0] < 65535
    widget.form.stretch.value = "dtype"
    second = done(first)
    assert lens._pixels.stretch.to_dict()["hi"] == [65535.0]
    assert second.prefix != first.prefix and not np.array_equal(second.values, first.values)
    widget.live.set_live(False)


def test_a_lazy_layers_stretch_is_its_runs_and_a_file_gone_is_one_line(ldcsr, qtbot, notes, tmp_path, monkeypatch):
    """A big GeoTIFF opened lazily: the lens fits the stretch on its file as a Run of it does (the
    engine's ``SceneReader``), each channel its file band's (a file stored blue, green, red); a file
    moved away since it was opened turns the lens off with one line, not a traceback."""
    import os

    import rasterio
    from rasterio.enums import ColorInterp

    import napari_ldcsr.io._lazy as lazy
    from ldcsr_core.geo.raster_io import open_raster
    from ldcsr_core.geo.scene_io import SceneReader
    from napari_ldcsr.io._reader import read_geotiff

    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 100 * 100)
    viewer, widget = ldcsr
    path = tmp_path / "bgr.tif"
    data = np.moveaxis(_layer("uint16 RGB")[0], -1, 0)[::-1]  # stored blue, green, red
    with rasterio.open(path, "w", driver="GTiff", height=128, width=128, count=3, dtype="uint16") as ds:
        ds.write(np.tile(data, (1, 2, 2)))
        ds.colorinterp = [ColorInterp.blue, ColorInterp.green, ColorInterp.red]
    (levels, kwargs, _), = read_geotiff(str(path))
    assert kwargs["multiscale"] and kwargs["rgb"]
    src = viewer.add_image(levels, **kwargs)
    camera(viewer).center, camera(viewer).zoom = (60.0, 60.0), 4.0
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    with open_raster(str(path)) as ds:
        run = SceneReader(ds).stretch
    assert lens._pixels.stretch == run  # by file band, as the Run records it
    tags = lens.keep().metadata["tags"]  # as a Run of the file records its reading: by file band
    assert tags["LDCSR_BANDS"] == "[[3, 2, 1]]" and json.loads(tags["LDCSR_STRETCH"]) == run.to_dict()
    widget.live.set_live(False)
    os.rename(path, tmp_path / "moved.tif")
    src.data = levels  # new pixels: the stretch is fitted again
    assert not widget.live.set_live(True) and not lens.enabled
    assert notes[-1] == ("warning", f"Live lens off: 'bgr': input not found: {path}.")


def test_a_lazy_layer_of_nodata_only_turns_the_lens_off_in_words(ldcsr, qtbot, notes, tmp_path, monkeypatch):
    import rasterio

    import napari_ldcsr.io._lazy as lazy
    from napari_ldcsr.io._reader import read_geotiff

    monkeypatch.setattr(lazy, "LAZY_MIN_PIXELS", 100 * 100)
    viewer, widget = ldcsr
    path = tmp_path / "fill.tif"
    with rasterio.open(path, "w", driver="GTiff", height=128, width=128, count=1, dtype="uint16", nodata=0) as ds:
        ds.write(np.zeros((1, 128, 128), np.uint16))
    (levels, kwargs, _), = read_geotiff(str(path))
    viewer.add_image(levels, **kwargs)
    assert not widget.live.set_live(True) and not widget.live.lens.enabled
    assert notes[-1] == ("warning", "Live lens off: 'fill': the layer has no valid (non-nodata) pixel values.")
