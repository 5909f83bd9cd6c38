"""A 64-bit integer GeoTIFF whose nodata float64 cannot hold (uint64's 2^64 - 1, int64's -2^63)
opens in napari as the 32-bit bands converting it makes (the engine's ``wide_nodata.read_narrowed``),
with a warning saying so, and runs right: its fill kept out of the model and marked on the result.
Before: the reader refused the file, '... e.g. gdal_translate -ot UInt32 -a_nodata 4294967295 in.tif
out.tif ..., or give the nodata yourself (--nodata VALUE, or none ...)', a terminal's words."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.shutil

from tests.raster.conftest import exact_nodata_vrt, smooth_field

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _wide_scene(tmp_path, dtype, nodata, hi=219):
    """32×32 px, 3 bands of ``dtype``, the left 8 columns ``nodata``, declared exactly (a GeoTIFF
    copied from a VRT: rasterio's writer takes no such nodata)."""
    data = smooth_field(np.random.default_rng(8), 32, 32, 3, 20, hi).round().astype(dtype)
    data[:, :, :8] = np.array(nodata, dtype)
    src = tmp_path / f"{dtype}.tif"
    rasterio.shutil.copy(exact_nodata_vrt(tmp_path, data, nodata), src, driver="GTiff")
    return src, data


@pytest.mark.parametrize("dtype, nodata, as_type, as_nodata", [("uint64", 2**64 - 1, "UInt32", 4294967295),
                                                               ("int64", -2**63, "Int32", -2147483648)])
def test_a_64_bit_nodata_file_opens_as_32_bits_and_runs_right(ldcsr, qtbot, tmp_path, notes, dtype, nodata,
                                                                 as_type, as_nodata):
    viewer, widget = ldcsr
    src, data = _wide_scene(tmp_path, dtype, nodata)
    before = src.read_bytes()
    layers = viewer.open(str(src), plugin="napari-ldcsr")
    assert len(layers) == 3 and all(lyr.data.dtype == as_type.lower() for lyr in layers)
    assert all(lyr.metadata["nodata"] == as_nodata for lyr in layers)
    assert (layers[0].data[:, :8] == as_nodata).all() and np.array_equal(layers[0].data[:, 8:], data[0, :, 8:])
    said = [t for s, t in notes if s == "warning" and f"its nodata {nodata} ({dtype} bands)" in t]
    assert len(said) == 1 and f"opened as {as_type} bands with nodata {as_nodata}" in said[0], notes
    assert "--nodata" not in said[0] and "gdal_translate" not in said[0]
    widget.set_mode("fast")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        assert widget.run(layer=layers[0])
    result = widget.last_result
    assert result.data.dtype == as_type.lower() and result.metadata["nodata"] == as_nodata
    assert (result.data[:, :16] == as_nodata).all()  # the fill stays nodata
    assert 0 < result.data[:, 16:].min() and result.data[:, 16:].max() < 1000  # no halo of fill values
    viewer.layers.selection.active = result
    assert widget.saves.save(str(tmp_path / "sr.tif"))
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    with rasterio.open(tmp_path / "sr.tif") as out:
        assert out.dtypes[0] == as_type.lower() and out.nodata == as_nodata and out.shape == (64, 64)
        assert not out.read_masks(1)[:, :16].any() and out.read_masks(1)[:, 16:].all()
    assert src.read_bytes() == before


def test_a_result_too_big_for_memory_is_refused_in_napari_words(ldcsr, tmp_path, notes, monkeypatch):
    """A result above the in-memory limit streams from the layer's file, which the layer is not (its
    bands were made 32 bits): refused before any work, saying what to do in napari. Before the reader
    took such files, the file's refusal in a terminal's words ('gdal_translate ...', '--nodata ...')."""
    viewer, widget = ldcsr
    src, _ = _wide_scene(tmp_path, "uint64", 2**64 - 1)
    layers = viewer.open(str(src), plugin="napari-ldcsr")
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", "0.001")
    widget.set_scale(2.0)
    n = len(viewer.layers)
    assert widget.run(layer=layers[0]) is False and len(viewer.layers) == n
    severity, text = notes[-1]
    assert severity == "error" and text.endswith(
        "and it cannot be streamed from its file: its file's 64-bit bands are opened as 32-bit ones (the file's "
        "nodata cannot be read exactly); save the layer as a GeoTIFF (Save layer as GeoTIFF…) and open that, or "
        "pick a smaller region or scale."), text


def test_a_64_bit_nodata_file_whose_values_need_64_bits_is_refused_in_one_line(ldcsr, tmp_path):
    from ldcsr_core.errors import InputError

    viewer, _ = ldcsr
    src, _ = _wide_scene(tmp_path, "uint64", 2**64 - 1, hi=2**40)
    with pytest.raises(InputError, match=r"uint64.tif: its nodata 18446744073709551615 \(uint64 bands\) cannot be "
                                         r"read .*its values \(\d+\.\.\d+\) do not fit in UInt32 bands"):
        viewer.open(str(src), plugin="napari-ldcsr")


def test_a_64_bit_nodata_file_above_the_lazy_size_is_refused_before_it_is_read(ldcsr, tmp_path, monkeypatch):
    """A file above the size napari opens lazily (36 MP) cannot be opened so as 32-bit bands, and read
    whole it needed ~3.5 times its 64-bit size in memory (a 20000² 3-band file: ~34 GB): refused before
    any pixel is read, saying how to convert it, as before 64-bit files were read (then in a terminal's
    words only). Before: read whole, whatever its size. At the limit it still opens whole."""
    from ldcsr_core.errors import InputError

    viewer, _ = ldcsr
    src, _ = _wide_scene(tmp_path, "uint64", 2**64 - 1)
    before = src.read_bytes()
    monkeypatch.setattr("napari_ldcsr.io._lazy.LAZY_MIN_PIXELS", 32 * 32 - 1)
    reads = []
    monkeypatch.setattr("ldcsr_core.geo.raster_io.read_raster", lambda *a, **k: reads.append(a))
    with pytest.raises(InputError, match=r"^uint64.tif: its nodata 18446744073709551615 \(uint64 bands\) cannot be "
                                         r"read .* at 32×32 px it is too big to be read whole as UInt32 bands .*: "
                                         r"if its values fit in UInt32 \(0..4294967294; .* gdalinfo -mm in.tif shows "
                                         r"them\), convert it first .*gdal_translate -ot UInt32 -a_nodata 4294967295 "
                                         r"in.tif out.tif; one beyond that range would be changed, clamped\), then "
                                         r"open the new file$"):
        viewer.open(str(src), plugin="napari-ldcsr")
    assert reads == [] and len(viewer.layers) == 0 and src.read_bytes() == before
    monkeypatch.undo()
    monkeypatch.setattr("napari_ldcsr.io._lazy.LAZY_MIN_PIXELS", 32 * 32)
    assert [lyr.data.dtype for lyr in viewer.open(str(src), plugin="napari-ldcsr")] == [np.uint32] * 3
