"""A 3/4-band uint8 GeoTIFF stored blue, green, red (colour interpretation) is shown red, green, blue
by the reader, eager and lazy (``io._raster_layers.rgb_order``: the engine's ``default_triplet``),
and a Run, the lens and Save keep the colours and the file's band order right. Before, the layer
showed the file's order (red and blue swapped), a Run's result likewise, and Save wrote the
blue band labelled red."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

from napari_ldcsr import _geometry as geo
from napari_ldcsr.io._lazy import lazy_layer_data
from napari_ldcsr.io._reader import layer_data_from_geotiff

RED, GREEN, BLUE = 200, 120, 10


@pytest.fixture(params=[("blue", "green", "red"), ("blue", "green", "red", "alpha")], ids=["bgr", "bgra"])
def bgr(tmp_path, request):
    ci = request.param
    n = 32
    data = np.zeros((len(ci), n, n), np.uint8)
    data[ci.index("red")], data[ci.index("green")], data[ci.index("blue")] = RED, GREEN, BLUE
    data[ci.index("red"), :, n // 2:] = 0  # a red left half: a swap cannot look right by chance
    if "alpha" in ci:
        data[3] = 255
    path = tmp_path / "bgr.tif"
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=len(ci), dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(500000, 4000000, 10, 10)) as ds:
        ds.write(data)
        ds.colorinterp = [getattr(ColorInterp, c) for c in ci]
        ds.descriptions = tuple(f"d_{c}" for c in ci)
        for b, c in enumerate(ci, 1):
            ds.update_tags(b, NAME=c)
    return path, ci


def _image(data, kwargs):
    from napari.layers import Image

    return Image(data, **{k: v for k, v in kwargs.items() if k != "cache"})


def _is_rgb_picture(rgb: np.ndarray) -> None:
    """``(H, W, 3+)`` shows red on its left half, green and blue everywhere (within the model's noise)."""
    n = rgb.shape[1]
    left, right = rgb[:, : n // 2 - 2].reshape(-1, rgb.shape[-1]), rgb[:, n // 2 + 2:].reshape(-1, rgb.shape[-1])
    assert abs(left[:, 0].mean() - RED) < 40 and right[:, 0].mean() < 40
    assert abs(rgb[..., 1].mean() - GREEN) < 40 and abs(rgb[..., 2].mean() - BLUE) < 40


def test_readers_show_red_green_blue(bgr):
    path, ci = bgr
    (data, kwargs, _), = layer_data_from_geotiff(path)
    (levels, lazy_kwargs, _), = lazy_layer_data(path)
    for arr, md in ((data, kwargs["metadata"]), (np.asarray(levels[0]), lazy_kwargs["metadata"])):
        _is_rgb_picture(arr)
        assert md["colorinterp"][:3] == ["red", "green", "blue"] and md["band_names"][:3] == ["d_red", "d_green", "d_blue"]
        assert [t["NAME"] for t in md["band_tags"]][:3] == ["red", "green", "blue"]
        assert md["file_bands"] == ([3, 2, 1, 4] if len(ci) == 4 else [3, 2, 1])
    assert kwargs["rgb"] and lazy_kwargs["rgb"]


def test_a_16_bit_file_stored_blue_green_red_is_one_rgb_layer_too(tmp_path):
    """As one stored red, green, blue is (before: three grey band layers, where an R, G, B file of the
    same type opened as one RGB layer)."""
    path = tmp_path / "bgr16.tif"
    data = np.stack([np.full((8, 8), v, np.uint16) for v in (100, 2000, 30000)])
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=3, dtype="uint16") as ds:
        ds.write(data)
        ds.colorinterp = [ColorInterp.blue, ColorInterp.green, ColorInterp.red]
    (arr, kwargs, _), = layer_data_from_geotiff(path)
    assert kwargs["rgb"] and arr.shape == (8, 8, 3) and list(arr[0, 0]) == [30000, 2000, 100]


def test_run_on_a_bgr_layer_is_the_cli_result_shown_red_green_blue(bgr, tiny_model, tmp_path):
    """The Run (eager and lazy layer) is the engine's result on the file, band for band, shown R, G, B."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    from napari_ldcsr.run._job import JobSpec, layer_source, run_job

    path, ci = bgr
    upscale_raster(path, tmp_path / "cli.tif", model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
    with rasterio.open(tmp_path / "cli.tif") as ds, rasterio.open(path) as src:
        cli, pixels = ds.read(), src.read()
        assert [c.name for c in ds.colorinterp] == list(ci)  # the engine keeps the file's band order
    order = [2, 1, 0, 3][: len(ci)]
    (data, kwargs, _), = layer_data_from_geotiff(path)
    (levels, lazy_kwargs, _), = lazy_layer_data(path)
    lazy = _image(levels, dict(lazy_kwargs, multiscale=True))
    for layer in (_image(data, kwargs), lazy):
        source = layer_source(None, layer)
        assert source.lazy == (layer is lazy)
        np.testing.assert_array_equal(source.bands(), pixels)  # the file, as it is
        spec = JobSpec(scale=2.0, region=geo.Region.whole(source.shape), mode="fast")
        result = run_job(source, spec, tiny_model)
        np.testing.assert_array_equal(result.data.data, cli)
        # the run's digest of the copy it read (in file order) is the layer's, shown R, G, B (a lazy one: its file)
        from ldcsr_core.pixel_digest import pixel_digest

        assert source.order is not None or layer is lazy
        assert result.pixel_digests == ((None,) if layer is lazy else (pixel_digest(layer.data, (0, 1, 2)),))
        shown, = source.split(result.data.data)
        np.testing.assert_array_equal(shown, np.moveaxis(cli[order], 0, -1))
        _is_rgb_picture(shown)
        np.testing.assert_array_equal(source.join([shown]), cli)
    # a streamed Run's file (the engine's, in file order) opens as its in-memory result shows
    (levels, _, _), = lazy_layer_data(tmp_path / "cli.tif")
    np.testing.assert_array_equal(np.asarray(levels[0]), shown)


def test_lens_feeds_and_save_writes_red_green_blue(bgr, tmp_path):
    from napari_ldcsr.io._writer import write_geotiff
    from napari_ldcsr.lens._lens_cache import LayerPixels

    path, ci = bgr
    (data, kwargs, _), = layer_data_from_geotiff(path)
    unit = LayerPixels(data, True).read(0, 0, 8, 8)  # the engine's input: R, G, B
    assert abs(unit[..., 0].mean() * 255 - RED) < 1 and abs(unit[..., 2].mean() * 255 - BLUE) < 1
    out = str(tmp_path / "saved.tif")
    write_geotiff(out, data, dict(kwargs, rgb=True))
    with rasterio.open(out) as ds, rasterio.open(path) as src:
        assert [c.name for c in ds.colorinterp] == ["red", "green", "blue", "alpha"][: len(ci)]
        assert ds.descriptions[:3] == ("d_red", "d_green", "d_blue") and ds.tags(1)["NAME"] == "red"
        for b, c in enumerate(ds.colorinterp, 1):  # each band holds the file's band of its colour
            np.testing.assert_array_equal(ds.read(b), src.read(src.colorinterp.index(c) + 1))
        assert ds.transform == src.transform and ds.crs == src.crs
