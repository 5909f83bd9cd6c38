"""A float layer's result declares what `ldcsr upscale` declares on the same file with the same Nodata:
with Nodata 'none' (or a file without nodata), NaN, the value its invalid pixels are written (the
engine's declared_nodata). Before, the result layer (and a kept lens view) recorded None: its
metadata said no nodata where the CLI's file (and the streamed result's own file) declared NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view


def _dem(path, nodata):
    """A float32 elevation-like band: a fill column block at -9999 and two NaN pixels."""
    yy, xx = np.mgrid[0:48, 0:48]
    z = (120 + 15 * np.sin(xx / 5.0) + 10 * np.cos(yy / 7.0)).astype(np.float32)[None]
    z[0, :, :8] = -9999
    z[0, 30, 30] = z[0, 12, 40] = np.nan
    with rasterio.open(path, "w", driver="GTiff", height=48, width=48, count=1, dtype="float32",
                       crs="EPSG:32633", transform=from_origin(500000.0, 4100000.0, 10, 10),
                       nodata=nodata) as ds:
        ds.write(z)
    return path


def _run(widget, qtbot, layer):
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    return widget.last_result


def _same(a, b) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("file_nodata, text", [(-9999.0, "none"), (None, "")])
def test_a_float_results_nodata_is_what_the_cli_file_declares(ldcsr, qtbot, notes, tiny_model, tmp_path,
                                                              file_nodata, text):
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    viewer, widget = ldcsr
    path = _dem(tmp_path / "dem.tif", file_nodata)
    # `ldcsr upscale`'s raster path, with the same in-memory model and settings
    upscale_raster(path, tmp_path / "cli.tif", model=tiny_model, scale=2.0,
                   options=UpscaleOptions(mode="fast", nodata=text or None))
    with rasterio.open(tmp_path / "cli.tif") as ds:
        cli, cli_nodata = ds.read(1), ds.nodata
    assert math.isnan(cli_nodata) and np.isnan(cli).any()  # NaN: the value on its invalid pixels

    (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
    widget.form.nodata.value = text
    result = _run(widget, qtbot, layer)
    np.testing.assert_array_equal(result.data, cli)  # the same pixels (NaN where invalid) ...
    assert _same(result.metadata["nodata"], cli_nodata), result.metadata["nodata"]  # ... declared alike
    viewer.layers.selection.active = result
    assert widget.saves.save(str(tmp_path / "saved.tif"))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    with rasterio.open(tmp_path / "saved.tif") as ds:
        assert _same(ds.nodata, cli_nodata)
        np.testing.assert_array_equal(ds.read(1), cli)
    widget.form.nodata.value = ""
    again = _run(widget, qtbot, result)  # the result's own nodata
    assert _same(again.metadata["nodata"], cli_nodata)

    # a kept view of the live lens, as the Run's result
    widget.form.nodata.value = text
    camera(viewer).center = tuple(layer.data_to_world((24.0, 24.0)))
    camera(viewer).zoom = 4.0 / abs(float(layer.scale[-1]))
    widget.form.layer.value = layer
    assert widget.live.set_live(True)
    wait_for_view(qtbot, widget.live.lens)
    kept = widget.live.lens.keep()
    widget.live.set_live(False)
    assert _same(kept.metadata["nodata"], cli_nodata), kept.metadata["nodata"]
    assert not [t for s, t in notes if s in ("warning", "error")]
