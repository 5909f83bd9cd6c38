"""``ldcsr info`` says what ``upscale`` would do with a file: where upscale refuses to read it,
info refuses too (the same exit status and words), without reading its pixels."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main

from .test_cli_faults import vrt

# What the runs do after the model loads, not its loading: each model loaded once for the module (no run or test here
# changes the model it is handed).
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")


def test_info_refuses_a_vrt_whose_source_is_missing_as_upscale_does(tmp_path, monkeypatch):
    """Before: info described the VRT (exit 0, an output of 128 x 128 px) that upscale refuses, exit 5."""
    monkeypatch.chdir(tmp_path)
    vrt(tmp_path / "scene.vrt", "gone.tif", 64)
    r = CliRunner().invoke(main, ["info", "scene.vrt"])
    assert r.exit_code == 5, r.output
    assert r.stdout == ""
    assert r.stderr.strip() == "Error: cannot read scene.vrt: gone.tif: No such file or directory"
    up = CliRunner().invoke(main, ["-q", "upscale", "scene.vrt", "-o", "o.tif", "-s", "2", "--mode", "fast"])
    said = [line for line in up.stderr.splitlines() if not line.startswith("note: ")]  # (its 10 m pixels' note)
    assert up.exit_code == 5 and said == [r.stderr.strip()], up.output
    (tmp_path / "gone.tif").symlink_to("elsewhere.tif")  # a source that is a broken link: as missing
    assert CliRunner().invoke(main, ["info", "scene.vrt"]).exit_code == 5


def test_info_describes_a_vrt_whose_sources_are_urls_or_dataset_names(tmp_path, monkeypatch):
    """Before (aae6e61): a VRT whose sources are names GDAL opens that are no files, and which GDAL lists
    as its files (``vrt://src.tif?bands=1``, ``GTIFF_DIR:1:src.tif``, a COG's URL), was refused by info,
    exit 5 'cannot read scene.vrt: vrt://src.tif?bands=1: No such file or directory', though upscale
    reads it (exit 0). A source that is a missing file is still refused (the test above)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    monkeypatch.chdir(tmp_path)
    with rasterio.open("src.tif", "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(600000, 5340000, 10, 10)) as d:
        d.write(np.arange(64 * 64, dtype=np.uint8).reshape(1, 64, 64))
    for source in ("vrt://src.tif?bands=1", "GTIFF_DIR:1:src.tif", "https://example.invalid/cog.tif"):
        path = vrt(tmp_path / "scene.vrt", source, 64)
        path.write_text(path.read_text().replace('relativeToVRT="1"', 'relativeToVRT="0"'))
        with rasterio.open(path) as ds:
            assert source in ds.files  # GDAL lists the name, which is no file
        r = CliRunner().invoke(main, ["info", "scene.vrt"])
        assert r.exit_code == 0, r.output
        assert "file:        scene.vrt" in r.stdout
        if "://" in source and not source.startswith("vrt"):
            continue  # no network here to read it
        up = CliRunner().invoke(main, ["-q", "upscale", "scene.vrt", "-o", "o.tif", "-s", "2", "--mode", "fast",
                                       "--overwrite"])
        assert up.exit_code == 0, up.output


def test_info_says_the_nan_nodata_a_float_output_of_a_file_without_one_declares(tmp_path, monkeypatch):
    """Before: `nodata: none` for a float32 file that declares none, whose output upscale writes
    declaring nodata NaN (its NaN pixels NaN): info's line said nothing of it."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    monkeypatch.chdir(tmp_path)
    a = np.random.default_rng(0).random((3, 32, 32)).astype("float32")
    a[:, :4] = np.nan
    with rasterio.open("f.tif", "w", driver="GTiff", width=32, height=32, count=3, dtype="float32",
                       crs="EPSG:32633", transform=from_origin(0, 320, 10, 10)) as d:
        d.write(a)
    for extra, said in (([], "none (the output declares nan: its invalid pixels are NaN)"),
                        (["--nodata", "none"], "none (--nodata; the file declares none; the output declares nan: "
                                                "its invalid pixels are NaN)")):
        r = CliRunner().invoke(main, ["info", "f.tif", *extra])
        assert r.exit_code == 0, r.output
        assert f"nodata:      {said}\n" in r.stdout, r.stdout
    up = CliRunner().invoke(main, ["-q", "upscale", "f.tif", "-o", "o.tif", "-s", "2", "--mode", "fast"])
    assert up.exit_code == 0, up.output
    with rasterio.open("o.tif") as o:
        assert np.isnan(o.nodata) and np.isnan(o.read(1)[:8]).all()
    with rasterio.open("f.tif", "r+") as d:  # a declared value: the output's, said as before
        d.nodata = -1
    assert "nodata:      -1.0\n" in CliRunner().invoke(main, ["info", "f.tif"]).stdout


def test_a_geographic_file_is_told_the_utm_zone_of_its_centre(tmp_path, monkeypatch):
    """A target pixel size on a GeoTIFF in EPSG:4326 over Sydney (southern hemisphere): the refusal
    suggests its UTM zone, 56 south. Before: 'reproject first (e.g. gdalwarp -t_srs EPSG:32633)', zone
    33 north (central Europe), for any file in degrees anywhere."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    monkeypatch.chdir(tmp_path)
    with rasterio.open("syd.tif", "w", driver="GTiff", width=32, height=32, count=3, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(151.1, -33.8, 1e-4, 1e-4)) as d:
        d.write(np.random.default_rng(0).integers(0, 255, (3, 32, 32)).astype("uint8"))
    said = "reproject first (e.g. gdalwarp -t_srs EPSG:32756, the UTM zone of its centre)"
    for args, code in ((["info", "syd.tif", "-r", "1"], 0),  # info: 'output: not possible: ...'
                       (["upscale", "syd.tif", "-o", "o.tif", "-r", "1", "--mode", "fast"], 3)):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == code and said in " ".join(r.output.split()), r.output
    assert not (tmp_path / "o.tif").exists()


@pytest.mark.parametrize("lon, lat, epsg", [
    (151.2, -33.9, 32756), (12.5, 48.2, 32633), (-0.1, 51.5, 32630), (0.0, 0.0, 32631), (-180.0, 10.0, 32601),
    (179.99, -10.0, 32760), (180.0, -0.1, 32701), (359.0, 60.0, 32630), (-74.0, 40.7, 32618), (10.0, 78.0, 32632),
])
def test_utm_epsg_by_the_six_degree_zones(lon, lat, epsg):
    """Zones 1-60 from 180° W, 326zz north (the equator too), 327zz south; Norway's and Svalbard's
    exceptions are not applied (10° E, 78° N is zone 32, not 33X)."""
    from ldcsr_core.geo.utm_zone import utm_epsg

    assert utm_epsg(lon, lat) == epsg


def test_info_says_the_output_s_size_in_a_unit_that_fits_it(tmp_path, monkeypatch):
    """A small scene's output is said in KiB or MiB, as the destination's free space and the refusals
    say sizes (files.human_bytes). Before: 'output: 128 x 128 px (x2 x, x2 y), ..., uint8, 0.00 GiB
    uncompressed' for every output under 5 MB."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from ldcsr_core.files import human_bytes
    from ldcsr_core.geo.geotiff_writer import output_nbytes
    from ldcsr_core.geo.raster_io import output_profile

    monkeypatch.chdir(tmp_path)
    with rasterio.open("s.tif", "w", driver="GTiff", width=64, height=48, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=from_origin(600000, 5340000, 10, 10)) as d:
        d.write(np.arange(3 * 48 * 64, dtype=np.uint8).reshape(3, 48, 64))
        size = output_nbytes(output_profile(d, (96, 128)))
    r = CliRunner().invoke(main, ["info", "s.tif"])
    assert r.exit_code == 0, r.output
    line = next(s for s in r.stdout.splitlines() if s.startswith("output:"))
    assert line.endswith(f", uint8, {human_bytes(size)} uncompressed") and "KiB" in line, line


def test_info_says_a_mask_the_file_has_besides_its_nodata(tmp_path, monkeypatch, tiny_model_file):
    """A file with no nodata but an internal mask (GDAL_TIFF_INTERNAL_MASK) or a .msk sidecar, whose masked pixels
    upscale keeps masked in the output. Before: `nodata: none` and nothing more, as of a file with neither."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    monkeypatch.chdir(tmp_path)
    for name, internal in (("internal.tif", True), ("sidecar.tif", False), ("plain.tif", None)):
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=bool(internal)), rasterio.open(
                name, "w", driver="GTiff", width=32, height=32, count=3, dtype="uint8", crs="EPSG:32633",
                transform=from_origin(0, 320, 10, 10)) as d:
            d.write(np.random.default_rng(0).integers(1, 255, (3, 32, 32), dtype=np.uint8))
            if internal is not None:
                d.write_mask(np.where(np.arange(32)[:, None] < 8, 0, 255).astype(np.uint8).repeat(32, 1))
    for name, said in (("internal.tif", "none, internal mask"), ("sidecar.tif", "none, mask file sidecar.tif.msk"),
                       ("plain.tif", "none")):
        r = CliRunner().invoke(main, ["info", name])
        assert r.exit_code == 0 and f"nodata:      {said}\n" in r.stdout, r.stdout
    up = CliRunner().invoke(main, ["-q", "upscale", "internal.tif", "-o", "o.tif", "-s", "2", "--mode", "fast",
                                   "--model", str(tiny_model_file)])
    assert up.exit_code == 0, up.output
    with rasterio.open("o.tif") as o:  # what the words say: the masked rows stay masked
        mask = o.dataset_mask()
        assert (mask[:16] == 0).all() and (mask[16:] == 255).all()
