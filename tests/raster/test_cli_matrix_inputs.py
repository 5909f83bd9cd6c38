"""Issue 26, inputs: right results or a clear refusal, one table row per case.

Every row runs the real ``ldcsr`` command in a process of its own (``python -m ldcsr_core.cli``,
forked from an interpreter that imported torch once: :mod:`.forked`), so the exit status and
stderr are what a user sees (rasterio's warnings and GDAL's CPLE messages included, which pytest
would otherwise capture), then checks the file it wrote, if any.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.enums import ColorInterp

from . import forked
from .conftest import UTM33, smooth_field, write_tif

H, W = 20, 24
COLOURS = {0: (230, 25, 75, 255), 1: (60, 180, 75, 255), 2: (0, 130, 200, 255), 3: (255, 225, 25, 255)}
# Ground control points at the four corners and one inside, in pixel-corner coordinates.
GCPS = [GroundControlPoint(row=r, col=c, x=600000.0 + 10 * c, y=5340000.0 - 10 * r, id=str(i))
        for i, (r, c) in enumerate([(0, 0), (0, W), (H, 0), (H, W), (7.5, 11.25)])]
STRAY = ("NotGeoreferencedWarning", "Warning:", "CPLE_", "Traceback")


def ldcsr(*args, timeout=120):
    return forked.run(["-m", "ldcsr_core.cli", *args], timeout=timeout)


def _open(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rasterio.open(path)


def _indices():
    yy, xx = np.mgrid[0:H, 0:W]
    return ((yy // 5 + xx // 6) % 4).astype(np.uint8)  # class patches, indices 0..3


# --- input makers: (tmp_path) -> input path ---------------------------------------------------

def make_palette(tmp_path, *, nodata=None, name="classes.tif"):
    p = tmp_path / name
    with rasterio.open(p, "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8",
                       crs=UTM33, transform=rasterio.transform.from_origin(600000, 5340000, 10, 10),
                       nodata=nodata) as ds:
        ds.write(_indices(), 1)
        ds.write_colormap(1, COLOURS)
    return p


def make_palette_nodata(tmp_path):
    return make_palette(tmp_path, nodata=0, name="classes_nodata.tif")


def make_palette_png(tmp_path):
    p = tmp_path / "quantised.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(p, "w", driver="PNG", width=W, height=H, count=1, dtype="uint8") as ds:
            ds.write(_indices(), 1)
            ds.write_colormap(1, COLOURS)
    return p


def make_palette_band_of_two(tmp_path):
    p = tmp_path / "mixed.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(p, "w", driver="GTiff", width=W, height=H, count=2, dtype="uint8") as ds:
            ds.write(np.stack([_indices(), _indices()]))
            ds.write_colormap(1, COLOURS)
    return p


def _rgb(rng=None):
    rng = rng or np.random.default_rng(1)
    return smooth_field(rng, H, W, 3, 0, 255).round().astype(np.uint8)


def make_gcp_only(tmp_path, *, crs=UTM33, name="gcps.tif"):
    p = tmp_path / name
    with rasterio.open(p, "w", driver="GTiff", width=W, height=H, count=3, dtype="uint8",
                       gcps=GCPS, crs=crs, photometric="RGB") as ds:
        ds.write(_rgb())
    return p


def make_gcp_only_no_crs(tmp_path):
    """GCPs without a CRS of their own (gdal_translate -gcp without -a_srs makes these)."""
    from rasterio.crs import CRS

    p = make_gcp_only(tmp_path, crs=CRS(), name="gcps_no_crs.tif")  # rasterio's spelling of none
    with _open(p) as ds:
        assert ds.crs is None and len(ds.gcps[0]) == len(GCPS) and ds.gcps[1] is None
    return p


def _plain(path, driver, data):
    """A raster with no georeferencing at all (rasterio's warning about it silenced here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", driver=driver, width=W, height=H, count=data.shape[0],
                           dtype=data.dtype.name) as ds:
            ds.write(data)
    return path


def make_plain_png(tmp_path):
    return _plain(tmp_path / "photo.png", "PNG", _rgb())


def make_plain_tif(tmp_path):
    data = smooth_field(np.random.default_rng(2), H, W, 1, 100, 4000).astype(np.uint16)
    return _plain(tmp_path / "plain.tif", "GTiff", data)


def make_rgba(tmp_path):
    data = np.concatenate([_rgb(), np.full((1, H, W), 255, np.uint8)])
    data[3, :, :5] = 0
    return write_tif(tmp_path / "rgba.tif", data, dtype="uint8",
                     colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue,
                                  ColorInterp.alpha])


def make_vrt_of_the_output(tmp_path):
    """A VRT input whose source is the file given as the output (tmp_path/out/result.tif)."""
    (tmp_path / "out").mkdir()
    base = write_tif(tmp_path / "out" / "result.tif", _rgb(), dtype="uint8")
    vrt = tmp_path / "out" / "scene.vrt"
    bands = "".join(f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename '
                    f'relativeToVRT="1">{base.name}</SourceFilename><SourceBand>{b}</SourceBand>'
                    '</SimpleSource></VRTRasterBand>' for b in (1, 2, 3))
    vrt.write_text(f'<VRTDataset rasterXSize="{W}" rasterYSize="{H}"><SRS>EPSG:32633</SRS>'
                   f'<GeoTransform>600000, 10, 0, 5340000, 0, -10</GeoTransform>{bands}</VRTDataset>')
    return vrt


def make_msk_of_the_output(tmp_path):
    """An input named as the output's mask sidecar (tmp_path/out/result.tif.msk), which --overwrite removes."""
    (tmp_path / "out").mkdir()
    return write_tif(tmp_path / "out" / "result.tif.msk", _rgb(), dtype="uint8")


def input_kept(out, inp, r):
    assert not out.exists()
    with _open(inp) as i:
        np.testing.assert_array_equal(i.read(), _rgb())


def output_untouched(out, inp, r):
    with _open(out) as o:
        assert (o.height, o.width) == (H, W) and "LDCSR_NOTICE" not in o.tags()
        np.testing.assert_array_equal(o.read(), _rgb())


def make_vsizip(tmp_path):
    """A GeoTIFF inside a zip archive, named by GDAL's /vsizip/ path (GDAL itself would read it)."""
    import zipfile

    tif = write_tif(tmp_path / "scene.tif", _rgb(), dtype="uint8")
    with zipfile.ZipFile(tmp_path / "scenes.zip", "w") as z:
        z.write(tif, "scene.tif")
    tif.unlink()
    return f"/vsizip/{tmp_path / 'scenes.zip'}/scene.tif"


def make_subdataset_name(tmp_path):
    """A GDAL dataset name (a TIFF's first page, as gdalinfo lists subdatasets), not a file name."""
    return f"GTIFF_DIR:1:{write_tif(tmp_path / 'scene.tif', _rgb(), dtype='uint8')}"


def make_pages(tmp_path):
    """A TIFF of two full-size images (pages; GDAL appends the second as a subdataset)."""
    p = tmp_path / "stack.tif"
    for k in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(p, "w", driver="GTiff", width=W, height=H, count=3, dtype="uint8",
                               **({"APPEND_SUBDATASET": "YES"} if k else {})) as ds:
                ds.write(_rgb(np.random.default_rng(k)))
    return p


def first_page_only(out, inp, r):
    with _open(out) as o:
        assert (o.height, o.width) == (2 * H, 2 * W) and not o.subdatasets
    assert r.stderr.count("stack.tif holds 2 images") == 1, r.stderr


def make_empty_name(tmp_path):
    """An empty input path (an unset shell variable): as a path, the current folder."""
    return ""


def make_missing(tmp_path):
    return tmp_path / "missing.tif"


def make_dev_zero(tmp_path):
    return Path("/dev/zero")


def make_bad_safetensors(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x00" * 64)
    return p


def make_broken_safetensors(tmp_path):
    p = tmp_path / "broken.safetensors"
    header = b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}'  # no closing brace
    p.write_bytes(len(header).to_bytes(8, "little") + header + b"\x00" * 16)
    return p


class _Payload:
    """Anything torch would need to run code to unpickle."""

    def __reduce__(self):
        return (print, ("this would run",))


def make_pickled_ckpt(tmp_path):
    import torch

    p = tmp_path / "pickled.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "hook": _Payload()}, p)
    return p


# --- result checks: (out path, input path, completed process) -> None -------------------------

def no_output(out, inp, r):
    assert not out.exists()


def is_rgb_not_palette(count):
    def check(out, inp, r):
        with _open(out) as o:
            assert o.count == count
            assert [c.name for c in o.colorinterp][:3] == ["red", "green", "blue"]
            assert "palette" not in [c.name for c in o.colorinterp]
            with pytest.raises(ValueError):
                o.colormap(1)  # no colour table
            assert o.tags()["LDCSR_PALETTE_EXPANDED"] == ("RGBA" if count == 4 else "RGB")
            assert (o.height, o.width) == (2 * H, 2 * W)
        tifffile = pytest.importorskip("tifffile")
        with tifffile.TiffFile(out) as t:  # the TIFF says RGB itself, not only GDAL's metadata
            assert t.pages[0].photometric == tifffile.PHOTOMETRIC.RGB
            assert t.pages[0].colormap is None
        with _open(out) as o:
            if count == 4:  # the alpha comes from the table (nodata index 0), nearest-upsampled
                assert o.colorinterp[3] == ColorInterp.alpha
                want = np.where(_indices() == 0, 0, 255).repeat(2, 0).repeat(2, 1)
                np.testing.assert_array_equal(o.read(4), want)
    return check


def has_no_georeferencing(out, inp, r):
    with _open(out) as o:
        assert o.transform.is_identity, o.transform  # not a made-up (0.5, 0, 0, 0, 0.5, 0)
        assert o.crs is None
        assert not o.gcps[0]
    for bad in STRAY:
        assert bad not in r.stderr, r.stderr


def has_scaled_gcps(gcp_crs=UTM33):
    def check(out, inp, r):
        sx, sy = 2.0, 1.5  # --scale 2,1.5 is X,Y
        with _open(out) as o:
            assert (o.height, o.width) == (round(H * sy), round(W * sx))
            assert o.transform.is_identity and o.crs is None  # GCPs only, as the input
            gcps, crs = o.gcps
            assert crs == gcp_crs
            assert len(gcps) == len(GCPS)
            for g, want in zip(gcps, GCPS):
                assert g.row == pytest.approx(want.row * o.height / H)
                assert g.col == pytest.approx(want.col * o.width / W)
                assert (g.x, g.y) == (want.x, want.y)
        for bad in STRAY:
            assert bad not in r.stderr, r.stderr
    return check


def alpha_kept_quietly(out, inp, r):
    with _open(out) as o:
        assert o.colorinterp[3] == ColorInterp.alpha
        assert (o.read(4)[:, :10] == 0).all() and (o.read(4)[:, 10:] == 255).all()
    for bad in STRAY:
        assert bad not in r.stderr, r.stderr


def one_line_error(*absent):
    def check(out, inp, r):
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        assert [ln for ln in lines if ln.startswith("Error")] == [lines[-1]], r.stderr
        assert "Traceback" not in r.stderr
        for a in absent:
            assert a not in r.stderr, r.stderr
        assert "this would run" not in r.stdout + r.stderr  # nothing was unpickled
    return check


def quiet_stderr(out, inp, r):
    for bad in STRAY:
        assert bad not in r.stderr, r.stderr


UP = ("upscale", "{in}", "-o", "{out}", "--mode", "fast", "--model", "{model}", "--device", "cpu")

CASES = [
    # id, input maker, args, exit status, message fragment (stdout+stderr), check
    ("palette-expanded-to-rgb", make_palette, (*UP, "-s", "2"), 0,
     "expanded to RGB", is_rgb_not_palette(3)),
    ("palette-with-nodata-to-rgba", make_palette_nodata, (*UP, "-s", "2"), 0,
     "expanded to RGBA", is_rgb_not_palette(4)),
    ("palette-png-to-rgb", make_palette_png, (*UP, "-s", "2"), 0,
     "colour table", is_rgb_not_palette(3)),
    ("palette-band-among-several-refused", make_palette_band_of_two, (*UP, "-s", "2"), 3,
     "gdal_translate -b 1 -expand rgb", no_output),
    ("info-palette", make_palette, ("info", "{in}"), 0, "expanded to RGB", quiet_stderr),
    ("gcps-carried-over-scaled", make_gcp_only, (*UP, "-s", "2,1.5"), 0,
     "1 written", has_scaled_gcps()),
    ("gcps-without-crs-carried-over-scaled", make_gcp_only_no_crs, (*UP, "-s", "2,1.5"), 0,
     "1 written", has_scaled_gcps(None)),
    ("vrt-source-as-output-refused", make_vrt_of_the_output, (*UP, "-s", "2", "--overwrite"), 2,
     "output path is a file scene.vrt reads", output_untouched),
    ("output-sidecar-as-input-refused", make_msk_of_the_output, (*UP, "-s", "2", "--overwrite"), 2,
     "result.tif.msk is the input and a sidecar of the output", input_kept),
    ("png-gets-no-geotransform", make_plain_png, (*UP, "-s", "2"), 0, "1 written",
     has_no_georeferencing),
    ("plain-tif-gets-no-geotransform", make_plain_tif, (*UP, "-s", "2"), 0, "1 written",
     has_no_georeferencing),
    ("info-plain-png-quiet", make_plain_png, ("info", "{in}"), 0, "georef:      none",
     quiet_stderr),
    ("rgba-alpha-accepted-by-gdal", make_rgba, (*UP, "-s", "2"), 0, "1 written",
     alpha_kept_quietly),
    ("info-missing-is-usage-error", make_missing, ("info", "{in}"), 2, "input not found",
     no_output),
    ("vsizip-upscale-says-what-it-is", make_vsizip, (*UP, "-s", "2"), 2,
     "is a GDAL virtual path (/vsizip/), which ldcsr does not read: extract it first", no_output),
    ("vsizip-info-says-what-it-is", make_vsizip, ("info", "{in}"), 2,
     "is a GDAL virtual path (/vsizip/)", one_line_error("not found")),
    ("subdataset-name-says-what-it-is", make_subdataset_name, (*UP, "-s", "2"), 2,
     "is a GDAL dataset name, not a file, which ldcsr does not read: convert it to a GeoTIFF first",
     one_line_error("not found")),
    ("tiff-pages-said-first-only", make_pages, (*UP, "-s", "2"), 0,
     "only the first is read and super-resolved; for another, convert it first, e.g. gdal_translate "
     "'GTIFF_DIR:2:", first_page_only),
    ("info-tiff-pages", make_pages, ("info", "{in}"), 0, "pages:       stack.tif holds 2 images",
     quiet_stderr),
    ("upscale-empty-input-is-usage-error", make_empty_name, (*UP, "-s", "2"), 2,
     "the input path is empty", one_line_error("folder")),
    ("models-dev-zero-refused-not-hung", make_dev_zero, ("models", "{in}"), 6,
     "not a regular file", one_line_error()),
    # --model on a device: the engine's words and exit 6, as `models`/`convert` say (before: exit 2,
    # "checkpoint file '/dev/zero' does not exist")
    ("upscale-model-dev-zero-not-a-checkpoint", make_dev_zero,
     ("upscale", "{rgb}", "-o", "{out}", "-s", "2", "--model", "{in}"), 6,
     "/dev/zero is not a regular file, so not a checkpoint", one_line_error("does not exist")),
    ("models-bad-safetensors", make_bad_safetensors, ("models", "{in}"), 6,
     "not a safetensors file", one_line_error()),
    ("models-broken-safetensors-header", make_broken_safetensors, ("models", "{in}"), 6,
     "not a readable safetensors file", one_line_error()),
    ("upscale-bad-safetensors", make_bad_safetensors,
     ("upscale", "{rgb}", "-o", "{out}", "-s", "2", "--model", "{in}"), 6,
     "not a safetensors file", one_line_error()),
    ("pickled-ckpt-upscale", make_pickled_ckpt,
     ("upscale", "{rgb}", "-o", "{out}", "-s", "2", "--model", "{in}"), 6,
     "refusing to load", one_line_error("weights_only", "ldcsr convert", "torch.serialization")),
    ("pickled-ckpt-convert", make_pickled_ckpt, ("convert", "{in}", "{model_out}"), 6,
     "refusing to load", one_line_error("weights_only", "ldcsr convert", "torch.serialization")),
    ("pickled-ckpt-models", make_pickled_ckpt, ("models", "{in}"), 6,
     "refusing to load", one_line_error("weights_only", "ldcsr convert")),
]


@pytest.mark.parametrize("maker,args,code,fragment,check",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_input_matrix(tmp_path, tiny_model_file, rasters, maker, args, code, fragment, check):
    inp = maker(tmp_path)
    out = tmp_path / "out" / "result.tif"
    out.parent.mkdir(exist_ok=True)
    subst = {"{in}": inp, "{out}": out, "{model}": tiny_model_file, "{rgb}": rasters["rgba"],
             "{model_out}": out.with_suffix(".safetensors")}
    r = ldcsr(*[subst.get(a, a) for a in args], timeout=120)
    msg = r.stdout + r.stderr
    assert r.returncode == code, msg
    assert fragment in msg, msg
    if code != 0:
        assert "Error" in r.stderr and "Traceback" not in r.stderr, r.stderr
    check(out, inp, r)


# --- the same path outside the command line (library, napari reader) --------------------------

def test_palette_dataset_not_opened_through_open_raster_is_refused(tmp_path):
    """A paletted dataset opened by plain rasterio reaches the pipeline unexpanded: refused."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.pipeline import bicubic_window

    p = make_palette(tmp_path)
    with rasterio.open(p) as ds, pytest.raises(InputError, match="colour table"):
        bicubic_window(ds, scale=2)


def test_library_window_keeps_gcps_and_writes_no_transform(tmp_path):
    """``upscale_window``'s twin on a window of a GCP raster: GCPs moved onto the window's output
    grid; a write of the result keeps them and invents no geotransform."""
    from ldcsr_core.geo.pipeline import bicubic_window
    from ldcsr_core.geo.raster_io import open_raster, read_raster, write_raster

    with open_raster(make_gcp_only(tmp_path)) as ds:
        geo = bicubic_window(ds, scale=2, window=(4, 6, 10, 12))
    assert geo.transform.is_identity and geo.crs is None
    gcps, crs = geo.gcps
    assert crs == UTM33
    for g, want in zip(gcps, GCPS):
        assert (g.row, g.col) == (pytest.approx((want.row - 4) * 2), pytest.approx((want.col - 6) * 2))
    out = write_raster(tmp_path / "w.tif", geo)
    back = read_raster(out)
    assert back.transform.is_identity and back.crs is None
    assert [(g.row, g.col, g.x, g.y) for g in back.gcps[0]] == [(g.row, g.col, g.x, g.y) for g in gcps]


def test_plain_picture_array_round_trip_invents_no_georeferencing(tmp_path):
    from ldcsr_core.geo.pipeline import bicubic_window
    from ldcsr_core.geo.raster_io import dataset_from_array, write_raster

    with dataset_from_array(_rgb(), colorinterp=["red", "green", "blue"]) as ds:
        geo = bicubic_window(ds, scale=2)
    assert geo.transform.is_identity and geo.gcps is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NotGeoreferencedWarning from our own write either
        out = write_raster(tmp_path / "a.tif", geo)
    with _open(out) as o:
        assert o.transform.is_identity and o.crs is None and not o.gcps[0]


def test_rgba_array_write_uses_an_alpha_gdal_accepts(tmp_path, caplog):
    from ldcsr_core.geo.raster_io import GTIFF_ALPHA, GeoArray, write_raster
    from rasterio.transform import from_origin

    assert GTIFF_ALPHA in ("YES", "NON-PREMULTIPLIED", "PREMULTIPLIED")
    data = np.concatenate([_rgb(), np.full((1, H, W), 255, np.uint8)])
    geo = GeoArray(data, from_origin(0, 100, 1, 1), UTM33,
                   colorinterp=("red", "green", "blue", "alpha"))
    with caplog.at_level("WARNING", logger="rasterio"):
        out = write_raster(tmp_path / "rgba.tif", geo)
    assert not [r for r in caplog.records if "ALPHA" in r.getMessage()], caplog.text
    with _open(out) as o:
        assert o.colorinterp[3] == ColorInterp.alpha


def test_napari_reader_shows_a_palette_as_rgb(tmp_path):
    pytest.importorskip("napari_ldcsr")
    from napari_ldcsr.io._reader import layer_data_from_geotiff

    (data, kwargs, kind), = layer_data_from_geotiff(make_palette(tmp_path))
    assert kind == "image" and kwargs.get("rgb") is True
    lut = np.array([COLOURS[i][:3] for i in range(4)], np.uint8)
    np.testing.assert_array_equal(data, lut[_indices()])  # the table's colours, not indices


def test_napari_lazy_reader_shows_a_palette_as_rgb(tmp_path):
    pytest.importorskip("dask")
    from napari_ldcsr.io._lazy import lazy_layer_data

    (levels, kwargs, _), = lazy_layer_data(make_palette(tmp_path))
    assert kwargs.get("rgb") is True
    lut = np.array([COLOURS[i][:3] for i in range(4)], np.uint8)
    np.testing.assert_array_equal(np.asarray(levels[0]), lut[_indices()])


def test_library_gcps_without_crs_round_trip(tmp_path):
    """GCPs that have no CRS survive a read, a super-resolved window and a write (rasterio needs a
    CRS object to write GCPs: an empty one, read back as none)."""
    from ldcsr_core.geo.pipeline import bicubic_window
    from ldcsr_core.geo.raster_io import open_raster, read_raster, write_raster

    with open_raster(make_gcp_only_no_crs(tmp_path)) as ds:
        geo = bicubic_window(ds, scale=2)
    assert geo.gcps[1] is None and len(geo.gcps[0]) == len(GCPS)
    back = read_raster(write_raster(tmp_path / "w.tif", geo))
    assert back.crs is None and back.gcps[1] is None and back.transform.is_identity
    assert [(g.row, g.col, g.x, g.y) for g in back.gcps[0]] == [(g.row, g.col, g.x, g.y)
                                                                 for g in geo.gcps[0]]
