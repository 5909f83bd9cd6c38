"""Result layers over bands opened with ``channel_axis`` (a false-colour composite: the first band
translucent, the others 'additive'): a result never adds to its own source, read back from the
screen (``viewer.screenshot``)."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import Affine

from .test_lens import CountingModel, _look, _scene, small_viewer
from .test_lens import _wait_done as _wait_view


def _smooth(seed: int, base: float, h: int = 64, w: int = 64) -> np.ndarray:
    """A smooth band (its ×2 super-resolution is close to it: the screen colours stay comparable)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return base + 10 * np.sin(yy / 9.0 + seed) + 10 * np.cos(xx / 7.0 + seed)


def _centre(viewer, qtbot) -> np.ndarray:
    """The mean RGB of the middle 40×40 screen px (inside the layer: the run's region)."""
    qtbot.wait(100)
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(float)
    h, w = shot.shape[:2]
    return shot[h // 2 - 20:h // 2 + 20, w // 2 - 20:w // 2 + 20].reshape(-1, 3).mean(0)


def _wait_run(qtbot, widget):
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)


def test_a_lone_additive_band_result_is_not_added_to_its_source(ldcsr, qtbot, notes, bicubic_engine):
    """Bands given to napari with ``channel_axis`` (not a file's band group, so the picked band is
    super-resolved alone): its result covers its region (shows that band, as the band looks on its
    own) instead of being summed with the source (the band counted twice); the status line says so."""
    viewer, widget = ldcsr
    data = np.stack([_smooth(0, 60), _smooth(1, 100), _smooth(2, 80)]).astype(np.uint8)
    bands = viewer.add_image(data, channel_axis=0, name=["c0", "c1", "c2"], contrast_limits=[(0, 255)] * 3)
    assert [b.blending for b in bands] == ["translucent_no_depth", "additive", "additive"]
    viewer.reset_view()
    composite = _centre(viewer, qtbot)
    bands[0].visible = bands[2].visible = False
    alone = _centre(viewer, qtbot)  # c1 on its own (magenta)
    bands[0].visible = bands[2].visible = True
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_run(qtbot, widget)
    shown = _centre(viewer, qtbot)
    np.testing.assert_allclose(shown, alone, atol=3)  # not composite + c1 (R and B 90 levels higher)
    assert np.abs(composite + alone - shown).max() > 60
    result = widget.last_result
    assert result.blending == "translucent_no_depth" and bands[1].blending == "additive"
    assert widget.status.endswith(" · shown translucent_no_depth over 'c1', which blends additive (the band would "
                                  "count twice): its region shows this band alone; for the composite, make it "
                                  "additive and hide 'c1'")
    result.blending = "additive"  # as the status line says: the composite with the result in it
    bands[1].visible = False
    np.testing.assert_allclose(_centre(viewer, qtbot), composite, atol=3)
    assert not [t for s, t in notes if s in ("error", "warning")]


def _open_bands(viewer, qtbot, tmp_path, levels):
    """A GeoTIFF of smooth bands around ``levels`` opened as napari's composite (the first band
    translucent, the others additive): (its band layers, the composite at the screen's centre)."""
    path = tmp_path / "bands.tif"
    data = np.stack([_smooth(k, b) for k, b in enumerate(levels)]).astype(np.uint16)
    with rasterio.open(path, "w", driver="GTiff", height=64, width=64, count=len(levels), dtype="uint16",
                       crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4100000)) as dst:
        dst.write(data)
    bands = viewer.open(str(path), plugin="napari-ldcsr")
    for band in bands:
        band.contrast_limits = (0, 5000)
    viewer.reset_view()
    return bands, _centre(viewer, qtbot)


def test_a_band_group_with_its_bicubic_baselines_shows_the_composite(ldcsr, qtbot, notes, bicubic_engine,
                                                                     tmp_path):
    """A 4-band file (the reader's band group, run together): inside the result the screen shows the
    same composite as the source (the results replace the bands), also with the bicubic baselines
    added (they go below the results: each used to sit just below its own result, and the additive
    bands' baselines were summed with the results) and also with the results hidden (the baselines'
    composite)."""
    viewer, widget = ldcsr
    bands, composite = _open_bands(viewer, qtbot, tmp_path, (600, 1000, 800, 900))
    assert 60 < composite.min() and composite.max() < 180  # room to see a band counted twice
    widget.set_bicubic(True)
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_run(qtbot, widget)
    np.testing.assert_allclose(_centre(viewer, qtbot), composite, atol=3)
    last = widget.last
    assert list(viewer.layers) == [*bands, *last.bicubics, *last.results]
    assert [r.blending for r in last.results] == [b.blending for b in bands]  # as the sources: no note
    assert "shown" not in widget.status
    for r in last.results:
        r.visible = False
    np.testing.assert_allclose(_centre(viewer, qtbot), composite, atol=3)
    assert not [t for s, t in notes if s in ("error", "warning")]


def test_the_live_lens_over_an_additive_band_is_not_added_to_it(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    """(The tiles are the bicubic stand-in's: the layers' blending is tested, not the network.)"""
    from napari_ldcsr.lens._lens import LiveLens

    viewer = small_viewer(make_napari_viewer, qtbot)
    scene = _scene()
    bands = viewer.add_image(np.moveaxis(scene, -1, 0), channel_axis=0, name=["r", "g", "b"])
    lens = LiveLens(viewer, model_provider=lambda source: CountingModel(tiny_model), debounce_ms=30)
    try:
        lens.set_layer(bands[1])
        lens.set_enabled(True)
        _look(viewer, bands[1], (100, 100), 4.0)
        _wait_view(qtbot, lens)
        assert bands[1].blending == "additive" and lens.live_layer.blending == "translucent_no_depth"
        assert lens.keep().blending == "translucent_no_depth"
    finally:
        lens.close()
        qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)


def _band_group_run(viewer, widget, qtbot, tmp_path):
    """A 3-band GeoTIFF opened as a composite, run as a band group, its results halved so that they
    differ from the source on screen: (band layers, source composite, results' composite)."""
    bands, composite = _open_bands(viewer, qtbot, tmp_path, (600, 1000, 800))
    assert widget.run(layer=bands[1], scale=2.0)
    _wait_run(qtbot, widget)
    for r in widget.last.results:
        r.data = (r.data // 2).astype(r.data.dtype)
    return bands, composite, _centre(viewer, qtbot)


def test_show_source_result_flips_a_band_groups_composite_as_one(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """*Show source / result* after a band group's run shows the source's composite, then the
    results' (it used to hide only the picked band's result: the region then showed the other
    bands' results without that band, neither the source nor the result)."""
    viewer, widget = ldcsr
    bands, composite, results = _band_group_run(viewer, widget, qtbot, tmp_path)
    assert np.abs(results - composite).max() > 20
    widget.toggle_result()  # the source
    np.testing.assert_allclose(_centre(viewer, qtbot), composite, atol=3)
    assert not any(r.visible for r in widget.last.results) and all(b.visible for b in bands)
    widget.toggle_result()  # the result
    np.testing.assert_allclose(_centre(viewer, qtbot), results, atol=1)
    assert not [t for s, t in notes if s in ("error", "warning")]


def test_result_opacity_fades_a_band_groups_composite(ldcsr, qtbot, notes, bicubic_engine, tmp_path):
    """*Result opacity* over a band group's run sets every band's result, which fades the results'
    composite over the source's (at 50 %: their mean on screen); it used to set the picked band's
    alone, which only dimmed that band inside the region."""
    viewer, widget = ldcsr
    bands, composite, results = _band_group_run(viewer, widget, qtbot, tmp_path)
    widget.set_result_opacity(50)
    np.testing.assert_allclose(_centre(viewer, qtbot), (composite + results) / 2, atol=3)
    assert [r.opacity for r in widget.last.results] == [0.5] * 3
    assert not [t for s, t in notes if s in ("error", "warning")]


def test_a_band_group_reordered_by_the_user_shows_the_same_composite(ldcsr, qtbot, notes, bicubic_engine,
                                                                      tmp_path):
    """The user moved the first (translucent) band to the top of the list: the screen shows that
    band alone, as it covers the additive bands beneath. A run's layers stack as their sources do
    (not in band order), so its region shows the same: in band order the first band's result went
    lowest and the other three were added to it (the composite of all four bands)."""
    viewer, widget = ldcsr
    bands, _ = _open_bands(viewer, qtbot, tmp_path, (600, 1000, 800, 900))
    viewer.layers.move(viewer.layers.index(bands[0]), len(viewer.layers))
    assert viewer.layers[-1] is bands[0]
    shown = _centre(viewer, qtbot)
    widget.set_bicubic(True)
    assert widget.run(layer=bands[2], scale=2.0)
    _wait_run(qtbot, widget)
    np.testing.assert_allclose(_centre(viewer, qtbot), shown, atol=3)
    last = widget.last
    for r in last.results:
        r.visible = False
    np.testing.assert_allclose(_centre(viewer, qtbot), shown, atol=3)  # the baselines' block too
    assert [lyr.name for lyr in viewer.layers][:4] == [b.name for b in bands[1:] + bands[:1]]
    assert not [t for s, t in notes if s in ("error", "warning")]
