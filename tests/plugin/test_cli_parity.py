"""One pipeline: the same GeoTIFF through `ldcsr upscale` and through the napari widget gives the
same pixels and the same georeferencing (16-bit, 4 bands, nodata; issue "one pipeline")."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import Affine

from napari_ldcsr import _geometry as geo

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


@pytest.fixture
def scene(tmp_path):
    """A 16-bit, 4-band (B, G, R, NIR) UTM scene with nodata = 0 in one corner and a stripe."""
    rng = np.random.default_rng(7)
    h, w = 36, 40
    yy, xx = np.mgrid[0:h, 0:w]
    bands = np.stack([800 + 40 * np.sin(xx / 5.0 + k) + 30 * np.cos(yy / 7.0) for k in range(4)])
    bands = (bands + rng.normal(0, 25, bands.shape)).astype(np.uint16)
    bands[3] += 2000  # NIR much brighter: per-band stretch matters
    bands[:, :6, :9] = 0  # nodata corner
    bands[:, 30, :] = 0  # nodata stripe
    path = tmp_path / "scene.tif"
    t = Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=4, dtype="uint16",
                       crs="EPSG:32633", transform=t, nodata=0) as dst:
        dst.write(bands)
        dst.descriptions = ("blue", "green", "red", "nir")
    return path


@pytest.fixture
def tiny_checkpoint(tiny_model, tmp_path):
    from ldcsr_core import save_model

    return save_model(tiny_model, tmp_path / "tiny.safetensors", name="tiny-test")


def test_cli_and_widget_give_the_same_raster(scene, tiny_checkpoint, tmp_path, make_napari_viewer, qtbot, notes):
    from ldcsr_core.cli import main

    from napari_ldcsr._widget import LdcsrWidget

    # --- the CLI
    cli_out = tmp_path / "cli_x2.tif"
    res = CliRunner().invoke(main, ["upscale", str(scene), "-o", str(cli_out), "--scale", "2", "--mode", "fast",
                                    "--model", str(tiny_checkpoint)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    with rasterio.open(cli_out) as ds:
        cli = ds.read()
        cli_transform, cli_crs, cli_nodata = ds.transform, ds.crs, ds.nodata
    assert cli.shape == (4, 72, 80) and cli.dtype == np.uint16
    assert (cli[:, 0, 0] == 0).all() and (cli[:, 60:62] == 0).all()  # nodata restored

    # --- the widget, on the layers the plugin reader opens (one per band)
    viewer = make_napari_viewer()
    widget = LdcsrWidget(viewer)  # the real model loader, as a user would have it
    viewer.window.add_dock_widget(widget)
    layers = viewer.open(str(scene), plugin="napari-ldcsr")
    assert [lyr.name for lyr in layers] == [f"scene [{b}]" for b in ("blue", "green", "red", "nir")]
    assert widget.add_checkpoint(str(tiny_checkpoint))
    widget.set_layer(layers[2])
    widget.set_mode("fast")
    widget.set_scale(2.0)
    assert widget.run()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not [t for s, t in notes if s in ("error", "warning")]
    results = widget.last.results
    assert [r.name for r in results] == [f"scene [{b}] ×2.00 (LDCSR fast)" for b in ("blue", "green", "red", "nir")]
    assert widget.last_result is results[2]
    napari_out = np.stack([np.asarray(r.data) for r in results])

    # equal pixels ...
    assert napari_out.dtype == cli.dtype
    np.testing.assert_array_equal(napari_out, cli)
    # ... and equal georeferencing: the layers' metadata, their placement, and a saved file
    for r in results:
        assert r.metadata["transform"] == pytest.approx(tuple(cli_transform)[:6], abs=1e-9)
        assert rasterio.crs.CRS.from_user_input(r.metadata["crs"]) == cli_crs
        assert r.metadata["nodata"] == cli_nodata == 0
        left, bottom, right, top = rasterio.transform.array_bounds(72, 80, cli_transform)
        np.testing.assert_allclose(geo.world_bounds(r.data_to_world, r.data.shape), [[-top, left], [-bottom, right]],
                                   atol=1e-6)
    saved = tmp_path / "napari_nir.tif"
    viewer.layers.selection = {results[3]}
    assert viewer.layers.save(str(saved), selected=True, plugin="napari-ldcsr") == [str(saved)]
    with rasterio.open(saved) as ds:
        assert ds.crs == cli_crs and ds.nodata == 0 and ds.descriptions == ("nir",)
        assert tuple(ds.transform)[:6] == pytest.approx(tuple(cli_transform)[:6], abs=1e-9)
        np.testing.assert_array_equal(ds.read(1), cli[3])
        assert ds.tags()["LDCSR_MODE"] == "fast" and "AI-generated" in ds.tags()["LDCSR_NOTICE"]


def test_the_command_line_resumes_a_streamed_run_of_the_same_request(tmp_path, tiny_checkpoint, monkeypatch,
                                                                     make_napari_viewer, qtbot, notes):
    """A whole-file Run streamed to a GeoTIFF is asked as ``ldcsr upscale`` asks it (the engine's
    ``request_of``: the scale per axis), so its ``LDCSR_REQUEST`` and ``LDCSR_JOB`` are the CLI's and the
    same command over it skips it, the file untouched. Before: napari asked ``{'scale': 2.0}`` where the
    CLI asks ``{'scale': (2.0, 2.0)}``, and the CLI refused it, 'output exists from another request' (exit 4)."""
    from ldcsr_core.cli import main
    from rasterio.transform import from_origin

    from napari_ldcsr._widget import LdcsrWidget
    from napari_ldcsr.io import _lazy

    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 64 * 64)  # opened lazily, and streamed (test_bigrun's)
    monkeypatch.setattr(_lazy, "TOP_LEVEL_SIDE", 64)
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", str(100_000 / 2**20))
    yy, xx = np.mgrid[0:96, 0:128]
    src = tmp_path / "ortho.tif"
    with rasterio.open(src, "w", driver="GTiff", height=96, width=128, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(400000.0, 3300000.0, 0.5, 0.5), photometric="RGB") as dst:
        dst.write(np.stack([(yy * 7 + xx * 3) % 251, 120 + 60 * np.sin(xx / 6.0), (yy * 5) % 241]).astype(np.uint8))
    viewer = make_napari_viewer()
    widget = LdcsrWidget(viewer)  # the real model loader: the CLI loads the same file
    viewer.window.add_dock_widget(widget)
    (layer,) = viewer.open(str(src), plugin="napari-ldcsr")
    assert widget.add_checkpoint(str(tiny_checkpoint))
    widget.set_layer(layer)
    widget.set_mode("fast")
    widget.set_scale(2.0)
    assert widget.run()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not [t for s, t in notes if s in ("error", "warning")]
    out = tmp_path / "ortho_x2.00_ldcsr.tif"
    assert widget.last_result.metadata["path"] == str(out)
    with rasterio.open(out) as ds:
        made, before = ds.tags(), out.stat().st_mtime_ns
    assert made["LDCSR_REQUEST"] == "{'scale': (2.0, 2.0)}"
    res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), "--scale", "2", "--mode", "fast",
                                    "--model", str(tiny_checkpoint)])
    assert res.exit_code == 0 and "1 skipped" in res.output, res.output
    assert out.stat().st_mtime_ns == before
    cli_out = tmp_path / "cli.tif"  # and a CLI output of it has the same request tags
    res = CliRunner().invoke(main, ["upscale", str(src), "-o", str(cli_out), "--scale", "2", "--mode", "fast",
                                    "--model", str(tiny_checkpoint)])
    with rasterio.open(cli_out) as ds:
        assert {k: ds.tags()[k] for k in ("LDCSR_REQUEST", "LDCSR_JOB")} == {
            k: made[k] for k in ("LDCSR_REQUEST", "LDCSR_JOB")}
