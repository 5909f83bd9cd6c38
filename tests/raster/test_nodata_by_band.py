"""Nodata that differs by band: the file's own (a VRT of single-band files, each with its own) and
``--nodata``'s syntax for ranges, several values and each band's (one engine rule,
``nodata_override.parse_nodata_text``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from .conftest import smooth_field, write_tif


def _by_band_vrt(folder: Path, data: np.ndarray, nodata: list) -> Path:
    """``data`` (bands×h×w, uint8) as one GeoTIFF per band, each declaring its ``nodata`` (None:
    none), stacked by a VRT that declares each band's (as gdalbuildvrt -separate makes it)."""
    count, h, w = data.shape
    bands = []
    for b in range(count):
        write_tif(folder / f"b{b + 1}.tif", data[b:b + 1], dtype="uint8", nodata=nodata[b])
        nd = "" if nodata[b] is None else f"<NoDataValue>{nodata[b]}</NoDataValue>"
        bands.append(f'<VRTRasterBand dataType="Byte" band="{b + 1}">{nd}<SimpleSource><SourceFilename '
                     f'relativeToVRT="1">b{b + 1}.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
                     "</VRTRasterBand>")
    vrt = folder / "s.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><SRS>EPSG:32633</SRS><GeoTransform>'
                   f'600000, 10, 0, 5340000, 0, -10</GeoTransform>{"".join(bands)}</VRTDataset>')
    return vrt


def _masks(path):
    with rasterio.open(path) as d:
        return d.read_masks(), d.dataset_mask(), d.nodata, d.read()


def _cli(*args):
    from ldcsr_core.cli import main

    return CliRunner().invoke(main, [*map(str, args)])


@pytest.mark.parametrize("nodata", [[None, 0, 255], [0, 255, 255]])
def test_each_bands_own_nodata_is_marked_on_the_output(tmp_path, tiny_model_file, nodata):
    """A VRT whose bands declare different nodata (band 1 none, 2 0, 3 255; or 0, 255, 255 with
    band 2's fill wider than the others' and real zeros in its data): the output declares the first
    band's that has one and writes it on each band's nodata pixels, so GDAL's masks of the output
    (read_masks, dataset_mask) are exactly the input's, scaled. Before: band 1 without one, a
    warning, and the other bands' fill got model values (the output had no nodata)."""
    data = smooth_field(np.random.default_rng(5), 24, 24, 3, 20, 230).round().astype(np.uint8)
    data[1, 16:, 16:] = 0  # real zeros (band 2's nodata is 0 only in the first case)
    for b, nd in enumerate(nodata):
        if nd is not None:
            data[b, :, :6] = nd
    data[1, :4] = nodata[1]  # band 2 only: its top rows too
    src = _by_band_vrt(tmp_path, data, nodata)
    r = _cli("upscale", src, "-o", tmp_path / "o.tif", "-s", "2", "--mode", "fast", "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert "band 1 has no nodata" not in r.output
    (m_in, d_in, _, _), (m_out, d_out, nd_out, out) = _masks(src), _masks(tmp_path / "o.tif")
    assert nd_out == next(v for v in nodata if v is not None)
    assert (m_in == 0).any(axis=(1, 2)).tolist() == [v is not None for v in nodata]
    assert np.array_equal(m_out, m_in.repeat(2, 1).repeat(2, 2))
    assert np.array_equal(d_out, d_in.repeat(2, 0).repeat(2, 1))
    assert (out[m_out == 0] == nd_out).all()
    with rasterio.open(tmp_path / "o.tif") as d:
        assert "LDCSR_NODATA" not in d.tags()  # the file's own, not the user's
    r = _cli("upscale", src, "-o", tmp_path / "g.tif", "-s", "2", "--mode", "fast", "--model", tiny_model_file,
             "--nodata", "7")
    with rasterio.open(tmp_path / "g.tif") as d:  # the file's, as it declares them: by band
        file = {str(b): f"{v:.1f}" for b, v in enumerate(nodata, 1) if v is not None}
        assert d.tags()["LDCSR_NODATA"] == json.dumps({"used": "7.0", "file": file})
    from ldcsr_core import load_model
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    geo = upscale_window(src, model=load_model(tiny_model_file), scale=2, options=UpscaleOptions(mode="fast", nodata=7))
    assert geo.nodata == 7 and geo.tags["LDCSR_NODATA"] == json.dumps({"used": "7.0", "file": file})
    r = _cli("info", src)
    text = {None: "none", 0: "0.0", 255: "255.0"}
    want = (f"band 1: {text[nodata[0]]}; band 2: {text[nodata[1]]}; band 3: {text[nodata[2]]}"
            if nodata[0] is None else "band 1: 0.0; bands 2,3: 255.0")
    assert f"nodata:      {want} (the file's, by band; the output declares {nd_out:.1f}" in r.output, r.output


def test_the_nodata_option_says_ranges_several_values_and_each_bands(tmp_path, tiny_model_file):
    """--nodata 0:5 (a range), 0,255 (several), 1=0:5,2=0,3=none (each band's) are read by the engine's
    one rule (parse_nodata_text) and give what UpscaleOptions(nodata=) gives; a malformed one is exit 2
    saying the syntax. Before: the command line took a number or 'none' only ('0:5': exit 2, 'nodata
    must be a number'), where QGIS could set ranges and values by band."""
    from ldcsr_core.geo.nodata_override import NO_NODATA, NodataRange, parse_nodata_text

    assert parse_nodata_text("0") == 0.0 and parse_nodata_text(" none ") == NO_NODATA
    assert parse_nodata_text("0:5") == (NodataRange(0, 5),)
    assert parse_nodata_text("-inf:-9000,255") == (NodataRange(float("-inf"), -9000), 255.0)
    assert parse_nodata_text("1=0:5,1=9,2=0,3=none") == {1: (NodataRange(0, 5), 9.0), 2: (0.0,), 3: ()}
    assert parse_nodata_text("2=none") == NO_NODATA
    rng = np.random.default_rng(9)
    data = smooth_field(rng, 24, 24, 3, 20, 230).round().astype(np.uint8)
    data[:, :, :6] = rng.integers(0, 6, (3, 24, 6))
    data[1, :, :6] = 0
    src = write_tif(tmp_path / "noisy.tif", data, dtype="uint8")
    run = ["upscale", src, "-s", "2", "--mode", "fast", "--model", tiny_model_file]
    for i, (text, api) in enumerate((("0:5", (NodataRange(0, 5),)), ("1=0:5,2=0,3=none", {1: NodataRange(0, 5),
                                                                                             2: 0}))):
        r = _cli(*run, "-o", tmp_path / f"c{i}.tif", "--nodata", text)
        assert r.exit_code == 0, r.output
        from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster
        from ldcsr_core import load_model

        upscale_raster(src, tmp_path / f"a{i}.tif", model=load_model(tiny_model_file), scale=2,
                       options=UpscaleOptions(mode="fast", nodata=api))
        (m_c, _, nd_c, c), (m_a, _, nd_a, a) = _masks(tmp_path / f"c{i}.tif"), _masks(tmp_path / f"a{i}.tif")
        assert nd_c == nd_a == 0 and np.array_equal(c, a) and np.array_equal(m_c, m_a)
        assert (m_c[:2, :, :12] == 0).all() and (m_c[:2, :, 12:] != 0).all() and bool((m_c[2] != 0).all()) == (i == 1)
    r = _cli("info", src, "--nodata", "1=0:5,2=0,3=none")
    assert ("nodata:      band 1: 0.0..5.0; band 2: 0.0; band 3: none (--nodata; the file declares none; the "
            "output declares 0.0 and writes it on each band's nodata pixels)") in r.output, r.output
    for bad, says in (("0:", "a range's ends must be numbers"), ("1=0,5", "give every value by band"),
                      ("0=1", "bands are numbered from 1"), ("0,none", "'none' stands alone"),
                      ("5:0", "the first not above the second")):
        r = _cli(*run, "-o", tmp_path / "x.tif", "--nodata", bad)
        assert r.exit_code == 2 and says in r.output and "LO:HI" in r.output, (bad, r.output)
    assert not (tmp_path / "x.tif").exists()
    r = _cli("upscale", "--help")
    assert "1=0,2=255" in " ".join(r.output.split())


def test_reading_such_a_file_gives_one_nodata_that_says_each_bands(tmp_path):
    """read_raster (napari's reader) of that VRT: a GeoArray has one nodata, so each band's nodata
    pixels hold the value its output would declare (band 3's 255 fill becomes 0) and a data pixel of
    that value is moved one unit off it: the array's nodata pixels are exactly the file's, per band.
    Before: the GeoArray's nodata was band 1's, none, so napari ran every band's fill as data."""
    from ldcsr_core.geo.raster_io import read_raster

    data = smooth_field(np.random.default_rng(6), 16, 16, 3, 20, 230).round().astype(np.uint8)
    data[0, 8:, 8:] = 0  # data on band 1, which has no nodata
    data[1, :, :4] = 0
    data[2, :, :4] = 255
    src = _by_band_vrt(tmp_path, data, [None, 0, 255])
    geo = read_raster(src)
    masks = _masks(src)[0]
    assert geo.nodata == 0 and np.array_equal(geo.data == 0, masks == 0)
    assert (geo.data[0, 8:, 8:] == 1).all() and np.array_equal(geo.data[:, :, 4:][masks[:, :, 4:] != 0],
                                                               np.where(data == 0, 1, data)[:, :, 4:][masks[:, :, 4:] != 0])


def test_a_negative_zero_nodata_is_said_zero(tmp_path):
    """--nodata 1=-0 (or a file's -0.0) is the nodata 0: GDAL masks the same pixels with -0.0 and
    0.0, float bands too, so it is said '0.0' (nodata_text: info, QGIS's log, napari's notes).
    Before: 'band 1: -0.0; ... the output declares -0.0'."""
    from ldcsr_core.geo.nodata_override import NodataRange, nodata_text, parse_nodata_text

    assert nodata_text(parse_nodata_text("1=-0,2=none")) == "band 1: 0.0; band 2: none"
    assert nodata_text(-0.0) == "0.0" and str(NodataRange(-0.0, 5)) == "0.0..5.0"
    assert nodata_text((-0.0, 255.0)) == "0.0 and 255.0" and nodata_text(float("nan")) == "nan"
    data = np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8)
    write_tif(tmp_path / "a.tif", data, dtype="uint8", nodata=None)
    r = _cli("info", tmp_path / "a.tif", "--nodata", "1=-0")
    assert r.exit_code == 0 and ("nodata:      band 1: 0.0; bands 2,3: none (--nodata; the file declares none; "
                                 "the output declares 0.0") in r.output, r.output
    write_tif(tmp_path / "f.tif", data, dtype="float32", nodata=-0.0)
    r = _cli("info", tmp_path / "f.tif")
    assert r.exit_code == 0 and "nodata:      0.0\n" in r.output, r.output


def test_each_bands_nodata_may_be_a_numpy_number(tmp_path):
    """A band's nodata given as a NumPy number ({1: np.float32(0)}, as a value read with NumPy is),
    as a plain number is: the same nodata and the same request. Before: numpy's 'The truth value of
    an empty array is ambiguous' (a ValueError, not an InputError) from UpscaleOptions."""
    from ldcsr_core.geo.job import UpscaleOptions, request_fingerprints
    from ldcsr_core.geo.nodata_override import parse_nodata

    assert parse_nodata({1: np.float32(0), 3: np.uint8(255)}) == parse_nodata({1: 0, 3: 255}) == {1: (0.0,), 3: (255.0,)}
    assert parse_nodata({2: [np.float64(5), 7]}) == {2: (5.0, 7.0)}
    src = write_tif(tmp_path / "s.tif", np.zeros((3, 8, 8), np.uint8), dtype="uint8")

    def fingerprints(nodata):
        return request_fingerprints(src, model=None, options=UpscaleOptions(nodata=nodata),
                                    request={"scale": (2.0, 2.0)}, out_shape=(16, 16))

    assert fingerprints({1: np.float32(0), 2: None})[0] == fingerprints({1: 0.0})[0]  # the one written
