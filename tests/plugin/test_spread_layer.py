"""Advanced ▸ "Uncertainty: samples": the spread of K diffusion samples as a layer exactly over the result."""

from __future__ import annotations

import numpy as np

from napari_ldcsr import _geometry as geo
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _bounds(layer):
    return geo.world_bounds(layer.data_to_world, layer.data.shape[:2])


def test_spread_layer_lies_exactly_over_the_result(ldcsr, qtbot, notes, tiny_model):
    viewer, widget = ldcsr
    rng = np.random.default_rng(3)
    data = rng.integers(40, 200, (40, 48, 3), dtype=np.uint8)
    src = viewer.add_image(data, name="scene", scale=(0.5, 0.5), translate=(100.0, -20.0))
    widget.set_mode("diffusion")
    widget.set_scale(2.0)
    widget.form.samples.value = 3
    assert widget.settings().samples == 3
    assert widget.run(layer=src)
    qtbot.waitUntil(lambda: not widget.running, timeout=300_000)
    assert not [t for s, t in notes if s in ("error", "warning")]
    result, spread = widget.last.result, widget.last.spread
    assert spread is not None and spread in viewer.layers and result in viewer.layers
    assert viewer.layers.index(spread) == viewer.layers.index(result) + 1  # just above the result
    assert spread.name == "scene ×2.00 (LDCSR spread, diffusion, seed 0, 3 samples)"
    assert spread.colormap.name == "magma" and not spread.rgb and spread.blending == "additive"
    # exactly over the result: same grid, same placement
    assert spread.data.shape == result.data.shape[:2] == (80, 96)
    np.testing.assert_allclose(spread.scale, result.scale)
    np.testing.assert_allclose(spread.translate, result.translate)
    np.testing.assert_allclose(spread.affine.affine_matrix, result.affine.affine_matrix)
    np.testing.assert_allclose(_bounds(spread), _bounds(result), atol=1e-9)
    np.testing.assert_allclose(_bounds(spread), _bounds(src), atol=1e-9)
    # the pixels: the engine's spread (grey levels), and the result is the mean of the samples
    from ldcsr_core.geo.pipeline import UpscaleOptions
    from ldcsr_core.geo.spread import upscale_window_spread

    from napari_ldcsr.run._job import layer_source

    with layer_source(viewer, src).dataset() as ds:
        ref = upscale_window_spread(ds, model=tiny_model, scale=2.0, options=UpscaleOptions(samples=3))
    np.testing.assert_allclose(spread.data, ref.spread.data.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.moveaxis(result.data, -1, 0), ref.mean.data)
    assert spread.data.mean() > 0.05 and spread.contrast_limits[1] > 0
    md = spread.metadata["ldcsr"]
    assert md["kind"] == "spread" and md["samples"] == 3 and md["mode"] == "diffusion"
    assert spread.metadata["tags"]["LDCSR_SAMPLES"] == "3"


def test_samples_need_diffusion_mode(ldcsr, notes):
    viewer, widget = ldcsr  # the fixture picks "fast"
    src = viewer.add_image(np.zeros((16, 16), np.uint8), name="flat")
    widget.form.samples.value = 2
    assert widget.run(layer=src) is False
    assert any("needs mode 'diffusion'" in t for s, t in notes if s == "error")
    assert len(viewer.layers) == 1


def _scene_file(tmp_path):
    """A georeferenced RGB GeoTIFF with nodata 0 and named bands (its corner is nodata)."""
    import rasterio
    from rasterio.transform import from_origin

    yy, xx = np.mgrid[0:40, 0:48]
    rgb = np.stack([(yy * 7 + xx * 3) % 251, 120 + 60 * np.sin(xx / 6.0), (yy * 5) % 241]).astype(np.uint8)
    rgb[:, :6, :6] = 0
    path = tmp_path / "scene.tif"
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(4e5, 33e5, 0.5, 0.5), nodata=0, photometric="RGB") as dst:
        dst.write(rgb)
        dst.descriptions = ("R", "G", "B")
        dst.update_tags(TIFFTAG_DATETIME="2019:05:01 10:03:11", CAPTION="Gainesville")
        dst.update_tags(ns="IMAGERY", ACQUISITIONDATETIME="2019-05-01T10:03:11Z", SATELLITEID="S2A")
    return path


def _spread_run(viewer, widget, qtbot, notes, tmp_path):
    """The scene file opened by LDCSR's reader and run at ×2 with 2 samples: (source, spread layer)."""
    (src,) = viewer.open(str(_scene_file(tmp_path)), plugin="napari-ldcsr")
    widget.set_mode("diffusion")
    widget.form.samples.value = 2
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not [t for s, t in notes if s in ("error", "warning")]
    return src, widget.last.spread


def test_spread_layer_saves_with_nan_nodata_and_its_own_band_name(ldcsr, qtbot, notes, tmp_path):
    """The spread is NaN where the source is invalid and a genuine 0 elsewhere: it is saved with
    nodata NaN (as the CLI's spread file), not the source's nodata 0, under its own band name, and
    with the scene's tags and IMAGERY domain as the result and the CLI's spread file (before: the
    layer's tags were the spread's provenance alone, the scene's CAPTION lost)."""
    import rasterio
    from napari.plugins.io import save_layers

    viewer, widget = ldcsr
    src, spread = _spread_run(viewer, widget, qtbot, notes, tmp_path)
    assert np.isnan(spread.data).sum() == 144 and spread.metadata["band_names"] == ["spread (mean over R, G, B)"]
    out = tmp_path / "spread.tif"
    save_layers(str(out), [spread], plugin="napari-ldcsr")
    with rasterio.open(out) as dst:
        assert np.isnan(dst.nodata) and dst.descriptions == ("spread (mean over R, G, B)",)
        assert np.ma.count_masked(dst.read(1, masked=True)) == 144 and dst.dtypes == ("float32",)
        assert dst.tags()["CAPTION"] == "Gainesville" and "LDCSR_PROVENANCE" in dst.tags()
        assert "TIFFTAG_DATETIME" not in dst.tags()
        assert dst.tags(ns="IMAGERY") == {"ACQUISITIONDATETIME": "2019-05-01T10:03:11Z", "SATELLITEID": "S2A"}


def test_spread_and_error_map_layers_keep_the_crs_unit(ldcsr, qtbot, notes, tmp_path, tiny_model):
    """metadata['units'] is the CRS's unit (the reader's, as `ldcsr info` names it), by which the form
    shows a layer's output pixel size. The spread layer and the self-check error maps put what their
    values are there, so with one of them picked the Output pixel box read '0.25 standard deviation
    over the samples, in the source's units' instead of '0.25 m'. They keep the unit now and say
    what their values are under 'values'."""
    from napari_ldcsr._form import layer_pixel_size
    from napari_ldcsr.run import _selfcheck

    viewer, widget = ldcsr
    src, spread = _spread_run(viewer, widget, qtbot, notes, tmp_path)
    assert src.metadata["units"] in ("metre", "meter") and layer_pixel_size(src) == (0.5, "m")
    assert spread.metadata["units"] == src.metadata["units"] and layer_pixel_size(spread) == (0.25, "m")
    assert spread.metadata["values"] == "standard deviation over the samples, in the source's units"
    widget.form.layer.value = spread
    assert widget.form.pixel.native.suffix() == " m"

    import ldcsr_core
    from napari.layers import Image

    r = ldcsr_core.selfcheck(tmp_path / "scene.tif", 2.0, model=tiny_model, mode="fast")
    kw = _selfcheck.error_kwargs(src, geo.Region.whole(src.data.shape[:2]), r, "model")
    assert kw["metadata"]["units"] == src.metadata["units"] and layer_pixel_size(Image(r.error_model, **kw)) == (0.5, "m")
    assert kw["metadata"]["values"].startswith("|restored - source| averaged over RGB, 0..255")


def test_the_spread_names_its_bands_as_the_command_line_does(ldcsr, qtbot, notes, tiny_model, tmp_path):
    """A red, green, blue GeoTIFF without band names: napari's spread layer and its Save say `spread (mean
    over red, green, blue)`, and the command line's spread file names each band it holds the same way,
    `spread of red` … (the engine's one rule, ``sampling.spread_band_names``/``spread_mean_name``); before,
    the command line's said `spread of band 1` …, as if the colours were unknown."""
    import rasterio
    from click.testing import CliRunner
    from napari.plugins.io import save_layers

    import ldcsr_core
    from ldcsr_core.cli import main

    path = _scene_file(tmp_path)
    with rasterio.open(path, "r+") as dst:
        dst.descriptions = (None, None, None)  # the colours alone say which band is which
    viewer, widget = ldcsr
    (src,) = viewer.open(str(path), plugin="napari-ldcsr")
    widget.set_mode("diffusion")
    widget.form.samples.value = 2
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    save_layers(str(tmp_path / "napari_spread.tif"), [widget.last.spread], plugin="napari-ldcsr")
    model = ldcsr_core.save_model(tiny_model, tmp_path / "tiny.safetensors", name="tiny")
    r = CliRunner().invoke(main, ["upscale", str(path), "-o", str(tmp_path / "cli.tif"), "-s", "2", "--samples", "2",
                                  "--model", str(model), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "cli_spread.tif") as cli, rasterio.open(tmp_path / "napari_spread.tif") as saved:
        assert cli.descriptions == ("spread of red", "spread of green", "spread of blue")
        assert saved.descriptions == ("spread (mean over red, green, blue)",)
        assert widget.last.spread.metadata["band_names"] == list(saved.descriptions)


def test_a_run_of_k_samples_says_what_they_cost_before_it_starts(ldcsr, qtbot, notes):
    """A Run with "Uncertainty: samples" 3: before, napari started a run 3 times as long as one sample without a word
    (QGIS said it); now a notice says it before the run starts, in the engine's words (uncertainty.samples_cost);
    one sample, nothing."""
    from ldcsr_core.uncertainty import samples_cost

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(3).integers(40, 200, (40, 48, 3), dtype=np.uint8), name="scene")
    widget.set_mode("diffusion")
    widget.set_scale(2.0)
    for samples, said in ((1, []), (3, [f"{samples_cost(3)}."])):
        widget.form.samples.value = samples
        seen = len(notes)
        assert widget.run(layer=src)
        assert [t for _, t in notes[seen:] if "samples for the uncertainty map" in t] == said  # before it runs
        qtbot.waitUntil(lambda: not widget.running, timeout=300_000)
    assert said == ["3 samples for the uncertainty map: each is a whole run of the diffusion sampler, so this run "
                    "takes about 3 times as long as one sample would."]
