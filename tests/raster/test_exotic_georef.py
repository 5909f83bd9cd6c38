"""Georeferencing a GIS analyst checks on real GeoTIFFs: a result must overlay its source exactly.

RPCs (the rational polynomial coefficients of a satellite L1 image): GDAL's own RPC transformer
must put a ground point on the same spot of the source and of the result, i.e. at pixel-corner
coordinates scaled by the output's scale (and shifted by a window's offset).
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.rpc import RPC
from rasterio.transform import RPCTransformer

from ldcsr_core.geo import raster_io as rio
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster, upscale_window

from .conftest import TRANSFORM, UTM33, smooth_field

FAST = UpscaleOptions(mode="fast")
H, W = 24, 30
# A plausible first-order RPC of a small scene near (48.2 N, 16.3 E): lines run south, samples east.
RPCS = RPC(height_off=180.0, height_scale=400.0, lat_off=48.2, lat_scale=0.02, long_off=16.3,
           long_scale=0.03, line_off=11.0, line_scale=12.0, samp_off=14.0, samp_scale=15.0,
           line_num_coeff=[0.0, 0.01, -1.0, 0.002] + [0.0] * 16, line_den_coeff=[1.0] + [0.0] * 19,
           samp_num_coeff=[0.0, 1.0, 0.02, 0.0] + [0.0] * 16, samp_den_coeff=[1.0] + [0.0] * 19)
GROUND = [(16.3, 48.2, 180.0), (16.312, 48.191, 250.0), (16.289, 48.213, 120.0)]  # lon, lat, h


def _l1(path, *, transform=None):
    """A uint16 L1-like scene placed by RPCs (and optionally an approximate geotransform)."""
    prof = dict(driver="GTiff", width=W, height=H, count=3, dtype="uint16", rpcs=RPCS)
    if transform is not None:
        prof.update(crs=UTM33, transform=transform)
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(smooth_field(np.random.default_rng(1), H, W, 3, 300, 9000).round().astype("uint16"))
    return path


def _pixel(rpcs, lon, lat, h):
    """Pixel-corner (row, col) of a ground point by GDAL's RPC transformer."""
    return np.array(RPCTransformer(rpcs).rowcol(lon, lat, zs=h, op=float), float)


def _lands_scaled(src_rpcs, out_rpcs, scale, offset=(0, 0)):
    for lon, lat, h in GROUND:
        want = (_pixel(src_rpcs, lon, lat, h) - offset) * scale
        assert np.allclose(_pixel(out_rpcs, lon, lat, h), want, atol=1e-6), (lon, lat)


@pytest.mark.parametrize("transform", [None, TRANSFORM], ids=["rpcs-only", "rpcs-and-transform"])
def test_rpcs_move_onto_the_output_grid(tmp_path, tiny_model, transform):
    """Before: the output had no RPCs (an RPC-only L1 result was not placed at all)."""
    src = _l1(tmp_path / "l1.tif", transform=transform)
    upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=(2.5, 2.0), options=FAST,
                   output=OutputOptions())
    with rasterio.open(src) as s, rasterio.open(tmp_path / "o.tif") as o:
        assert o.rpcs is not None and (o.height, o.width) == (60, 60)
        _lands_scaled(s.rpcs, o.rpcs, np.array([2.5, 2.0]))
        assert (o.rpcs.lat_off, o.rpcs.long_scale, o.rpcs.line_num_coeff) == (
            s.rpcs.lat_off, s.rpcs.long_scale, s.rpcs.line_num_coeff)  # ground side unchanged
        if transform is not None:
            assert o.bounds == pytest.approx(s.bounds)
        else:
            assert o.crs is None and o.transform.is_identity and not o.gcps[0]


def test_rpcs_of_a_window_and_through_the_array_path(tmp_path, tiny_model):
    src = _l1(tmp_path / "l1.tif")
    with rasterio.open(src) as s:
        assert rio.georeferencing(s) == "rpcs"
        part = rio.read_raster(s, (3, 5, 12, 16))  # what the napari reader gives for a window
        _lands_scaled(s.rpcs, part.rpcs, 1.0, (3, 5))
        geo = upscale_window(s, model=tiny_model, scale=2, window=(3, 5, 12, 16), options=FAST)
        _lands_scaled(s.rpcs, geo.rpcs, 2.0, (3, 5))
        rio.write_raster(tmp_path / "w.tif", geo)
        with rasterio.open(tmp_path / "w.tif") as o:
            _lands_scaled(s.rpcs, o.rpcs, 2.0, (3, 5))


def test_info_says_the_rpcs_are_carried_over(tmp_path):
    from ldcsr_core.cli import main

    r = CliRunner().invoke(main, ["info", str(_l1(tmp_path / "l1.tif"))])
    assert r.exit_code == 0, r.output
    assert "georef:      rational polynomial coefficients (RPCs) only (carried over" in r.output
    assert "none (the output gets none either)" not in r.output


def test_info_names_the_crs_of_a_scene_placed_by_gcps(tmp_path):
    """Before: `crs:         none` of a scene whose ground control points are in EPSG:32633, the CRS its output
    carries; now `crs:         EPSG:32633 (of its ground control points)`."""
    from ldcsr_core.cli import main

    r = CliRunner().invoke(main, ["info", str(_point_gcps_scene(tmp_path / "g.tif"))])
    assert r.exit_code == 0, r.output
    assert "\ncrs:         EPSG:32633 (of its ground control points)\n" in r.output, r.output


def _point_gcps_scene(path):
    """A scene placed by GCPs whose pixels are points (``AREA_OR_POINT=Point``): its tiepoints are
    stored in the file as PixelIsPoint, half a pixel before the corner coordinates GDAL reports."""
    from rasterio.control import GroundControlPoint

    corners = [(0, 0), (0, W), (H, 0), (H, W), (9.25, 13.5)]
    stored = [GroundControlPoint(row=r - 0.5, col=c - 0.5, x=600000.0 + 10 * c, y=5340000.0 - 10 * r)
              for r, c in corners]
    with rasterio.Env(GTIFF_POINT_GEO_IGNORE=True):  # the tiepoints as they are stored
        with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=3, dtype="uint16",
                           gcps=stored, crs=UTM33) as ds:
            ds.update_tags(AREA_OR_POINT="Point")
            ds.write(smooth_field(np.random.default_rng(2), H, W, 3, 300, 9000).round().astype("uint16"))
    return path


def _rowcols(gcps):
    return np.array([(g.row, g.col) for g in gcps])


def test_gcps_of_a_point_scene_stay_on_their_pixels(tmp_path, tiny_model):
    """Before: GDAL's writer moved a PixelIsPoint raster's GCPs by one output pixel (+0.5 where
    it should take 0.5 away), so the result and every array round trip were misplaced."""
    src = _point_gcps_scene(tmp_path / "pt.tif")
    upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=(2.5, 2.0), options=FAST,
                   output=OutputOptions())
    with rasterio.open(src) as s, rasterio.open(tmp_path / "o.tif") as o:
        assert _rowcols(s.gcps[0])[0].tolist() == [0.0, 0.0]  # GDAL reports corner coordinates
        assert o.tags()["AREA_OR_POINT"] == "Point" and o.gcps[1] == s.gcps[1]
        assert np.allclose(_rowcols(o.gcps[0]), _rowcols(s.gcps[0]) * [2.5, 2.0], atol=1e-9)
        assert [(g.x, g.y) for g in o.gcps[0]] == [(g.x, g.y) for g in s.gcps[0]]
        want = _rowcols(s.gcps[0])
    rio.write_raster(tmp_path / "rt.tif", rio.read_raster(src))  # the napari reader and writer
    with rasterio.open(tmp_path / "rt.tif") as o:
        assert np.allclose(_rowcols(o.gcps[0]), want, atol=1e-9)


def test_source_statistics_are_not_the_results_and_print_size_is_kept(tmp_path, tiny_model):
    """Before: the source bands' STATISTICS_* (from `gdalinfo -stats` or QGIS, here in an .aux.xml)
    were copied onto the result, whose pixels differ (QGIS stretches a layer by them), and a
    scanned map's 300 dpi stayed 300 dpi with twice the pixels (printed twice as large)."""
    from .conftest import write_tif

    src = write_tif(tmp_path / "map.tif", smooth_field(np.random.default_rng(3), H, W, 3, 20, 230),
                    dtype="uint8", tags={"TIFFTAG_XRESOLUTION": "300", "TIFFTAG_YRESOLUTION": "300",
                                         "TIFFTAG_RESOLUTIONUNIT": "2 (pixels/inch)"},
                    band_tags={1: {"WAVELENGTH": "665nm"}})
    with rasterio.open(src) as s:
        s.stats()  # GDAL stores them in map.tif.aux.xml, as gdalinfo -stats does
    with rasterio.open(src) as s:
        assert "STATISTICS_MEAN" in s.tags(1)
    upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=(2.0, 2.5), options=FAST,
                   output=OutputOptions())
    geo = upscale_window(src, model=tiny_model, scale=(2.0, 2.5), options=FAST)
    rio.write_raster(tmp_path / "w.tif", geo)
    for out in ("o.tif", "w.tif"):
        with rasterio.open(tmp_path / out) as o:
            assert not [k for b in (1, 2, 3) for k in o.tags(b) if k.startswith("STATISTICS_")], out
            t = o.tags()
            assert (float(t["TIFFTAG_XRESOLUTION"]), float(t["TIFFTAG_YRESOLUTION"])) == (750.0, 600.0), out
    with rasterio.open(tmp_path / "o.tif") as o:
        assert o.tags(1)["WAVELENGTH"] == "665nm"  # other band metadata is kept
    assert geo.band_tags == ({"WAVELENGTH": "665nm"}, {}, {})  # the array path too (it had none)
    assert rio.read_raster(src).band_tags == geo.band_tags
    with rasterio.open(tmp_path / "w.tif") as o:
        assert o.tags(1) == {"WAVELENGTH": "665nm"}


def test_a_target_resolution_for_a_scene_placed_by_gcps_or_rpcs_says_why_not(tmp_path):
    """Before: 'has no CRS, so its pixel size is unknown', also for GCPs in EPSG:4326."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.pipeline import plan_output

    gcp = _point_gcps_scene(tmp_path / "g.tif")
    for path, how in ((gcp, "ground control points"), (_l1(tmp_path / "l1.tif"), "(RPCs)")):
        with rasterio.open(path) as s:
            with pytest.raises(InputError, match=rf"placed by .*{how}.*give a scale instead"):
                plan_output(rio.raster_info(s), target_resolution=0.5)


def test_a_world_file_or_rpb_by_the_outputs_stem_is_refused_never_removed(tmp_path, tiny_model, rasters):
    """GDAL places o.tif by o.tfw (when it has no geotransform of its own) and by o.RPB (always,
    over its own RPCs). Before: a plain picture's result read back placed in UTM by a stale o.tfw."""
    from ldcsr_core.errors import OutputExistsError

    from .conftest import write_tif

    (tmp_path / "in").mkdir()
    plain = write_tif(tmp_path / "in" / "plain.tif", smooth_field(np.random.default_rng(4), H, W, 3, 0, 255),
                      dtype="uint8", crs=None, transform=rasterio.Affine.identity())
    out = tmp_path / "o.tif"
    world = tmp_path / "o.tfw"
    world.write_text("10\n0\n0\n-10\n600005\n5339995\n")
    for overwrite in (False, True):
        with pytest.raises(OutputExistsError, match="o.tfw exists: GDAL would read it as the placement"):
            upscale_raster(plain, out, model=tiny_model, scale=2, options=FAST,
                           output=OutputOptions(overwrite=overwrite))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "o.tfw"]
    # a result with a geotransform of its own is placed by it, not by the world file
    upscale_raster(rasters["gray"], out, model=tiny_model, scale=2, options=FAST, output=OutputOptions())
    with rasterio.open(rasters["gray"]) as s, rasterio.open(out) as o:
        assert o.bounds == pytest.approx(s.bounds) and o.transform.c == s.transform.c
    out.unlink()
    world.unlink()
    (tmp_path / "o.RPB").write_text("stale")  # GDAL would take its RPCs over the output's own
    with pytest.raises(OutputExistsError, match="o.RPB exists"):
        upscale_raster(rasters["gray"], out, model=tiny_model, scale=2, options=FAST,
                       output=OutputOptions(overwrite=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "o.RPB"]


@pytest.mark.parametrize("rpcs", [None, RPCS], ids=["crs-only", "rpcs-and-crs"])
def test_a_crs_without_a_geotransform_gets_no_made_up_one(tmp_path, tiny_model, rpcs):
    """A GeoTIFF with a CRS but no geotransform (``gdal_translate -a_srs`` of a photo; an L1 scene
    with its RPCs). Before: the output got a made-up one, 0.5 m pixels from (0, 0) in UTM (QGIS shows
    the source flipped on its pixel grid, so the result did not overlay it), and a target
    resolution was planned from 1 m pixels (GDAL's identity)."""
    from ldcsr_core.cli import main
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.pipeline import plan_output

    src = tmp_path / "photo.tif"
    with rasterio.open(src, "w", driver="GTiff", width=W, height=H, count=3, dtype="uint8", crs=UTM33,
                       rpcs=rpcs) as ds:
        ds.write(smooth_field(np.random.default_rng(5), H, W, 3, 0, 255).round().astype("uint8"))
    with rasterio.open(src) as s:
        assert s.crs == UTM33 and s.transform.is_identity
        assert rio.georeferencing(s) == ("none" if rpcs is None else "rpcs")
        why = "has a CRS but no geotransform, so its pixel size is unknown" if rpcs is None else "placed by"
        with pytest.raises(InputError, match=why):
            plan_output(rio.raster_info(s), target_resolution=0.5)
        geo = upscale_window(s, model=tiny_model, scale=2, options=FAST)
        assert geo.transform.is_identity and geo.crs == UTM33
        with rio.dataset_from_array(s.read(), crs=UTM33, rpcs=rpcs) as arr:  # the array path alike
            assert rio.georeferencing(arr) == rio.georeferencing(s)
            assert upscale_window(arr, model=tiny_model, scale=2, options=FAST).transform.is_identity
    upscale_raster(src, tmp_path / "o.tif", model=tiny_model, scale=2, options=FAST, output=OutputOptions())
    rio.write_raster(tmp_path / "w.tif", geo)
    for out in ("o.tif", "w.tif"):
        with rasterio.open(tmp_path / out) as o:
            assert (o.height, o.width) == (2 * H, 2 * W)
            assert o.transform.is_identity, o.transform  # none, as the source: not (0.5, 0, 0, 0, 0.5, 0)
            assert o.crs == UTM33 and (o.rpcs is not None) == (rpcs is not None)
    r = CliRunner().invoke(main, ["info", str(src)])
    assert r.exit_code == 0, r.output
    assert "pixel size:  unknown (no geotransform)" in r.output and "metre" not in r.output
    assert "bounds:      unknown (no geotransform)" in r.output


def test_an_identity_geotransform_a_vrt_declares_beside_its_crs_is_one(tmp_path, rasters):
    """GDAL reports the identity for a raster without a geotransform, but a VRT may declare it: that
    one places the raster (the output gets it scaled, as any declared geotransform)."""
    vrt = tmp_path / "ident.vrt"
    vrt.write_text('<VRTDataset rasterXSize="61" rasterYSize="45"><SRS>EPSG:32633</SRS><GeoTransform>0, 1, 0, 0, '
                   '0, 1</GeoTransform><VRTRasterBand dataType="Byte" band="1"><SimpleSource><SourceFilename>'
                   f'{rasters["gray"]}</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>'
                   '</VRTDataset>')
    with rio.open_raster(vrt) as s:
        assert s.transform.is_identity and rio.georeferencing(s) == "transform"


@pytest.mark.parametrize("a,e", [(10.0, 10.0), (-10.0, -10.0)], ids=["south-up", "east-left"])
def test_info_gives_the_bounds_west_south_east_north(tmp_path, a, e):
    """Before: rasterio's bounds as they come, for a south-up grid bottom 5340240 above top 5340000
    (for an east-left one left east of right), unlabelled."""
    from ldcsr_core.cli import main

    src = tmp_path / "s.tif"
    with rasterio.open(src, "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8", crs=UTM33,
                       transform=rasterio.Affine(a, 0, 600000, 0, e, 5340000)) as ds:
        ds.write(np.zeros((1, H, W), np.uint8))
    r = CliRunner().invoke(main, ["info", str(src)])
    assert r.exit_code == 0, r.output
    west, east = sorted((600000, 600000 + a * W))
    south, north = sorted((5340000, 5340000 + e * H))
    want = ", ".join(f"{v:.6f}" for v in (west, south, east, north))
    assert f"bounds:      {want} (west, south, east, north)" in r.output, r.output


@pytest.mark.parametrize("t", [(0.0, 0.0, 600000.0, 0.0, 0.0, 5340000.0), (10.0, 0.0, 600000.0, 0.0, 0.0, 5340000.0),
                               (10.0, 20.0, 600000.0, 5.0, 10.0, 5340000.0)],
                         ids=["pixel-size-0", "row-step-0", "rows-along-columns"])
def test_a_singular_geotransform_is_refused_in_one_line(tmp_path, tiny_model, tiny_model_file, t):
    """A geotransform that places no grid (determinant 0). Before: copied through, scaled, so the
    output's pixels lay on one point or line too; 'ldcsr info' said 'pixel size: 0 x 0 metre', and
    '-r 5' of the rows-along-columns one wrote a 179 x 286 px output planned from it."""
    from ldcsr_core.cli import main
    from ldcsr_core.errors import InputError

    src, out = tmp_path / "s.tif", tmp_path / "o.tif"
    with rasterio.open(src, "w", driver="GTiff", width=W, height=H, count=3, dtype="uint8", crs=UTM33,
                       transform=rasterio.Affine(*t)) as ds:
        ds.write(smooth_field(np.random.default_rng(3), H, W, 3, 0, 255).round().astype("uint8"))
    with rasterio.open(src) as s:
        assert tuple(s.transform)[:6] == t and rio.georeferencing(s) == "singular"
        with pytest.raises(InputError, match="its geotransform .* is singular"):
            upscale_window(s, model=tiny_model, scale=2, options=FAST)
        with pytest.raises(InputError, match=r"the array: its geotransform .* is singular"):
            rio.dataset_from_array(s.read(), transform=t, crs=UTM33)
    for how in (["-s", "2.5"], ["-r", "5"]):
        r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(out), *how, "--mode", "fast",
                                      "--model", str(tiny_model_file)])
        assert r.exit_code == 3, r.output
        assert "is singular" in r.output and "gdal_edit -unsetgt" in r.output and not out.exists()
    r = CliRunner().invoke(main, ["info", str(src)])
    assert r.exit_code == 0, r.output
    assert "pixel size:  unknown (singular geotransform)" in r.output
    assert "output:      not possible: " in r.output and "is singular" in r.output


@pytest.mark.parametrize("crs, unit", [
    ("EPSG:2263", "US survey foot"), ("EPSG:32633", "metre"),
    ("+proj=tmerc +lat_0=0 +lon_0=-75 +k=0.9996 +x_0=500000 +y_0=0 +datum=WGS84 +units=us-ft +no_defs",
     "US survey foot"),
    ("+proj=utm +zone=33 +datum=WGS84 +units=ft +no_defs", "foot")])
def test_ldcsr_info_names_an_erdas_img_s_unit_as_a_geotiff_s(tmp_path, crs, unit):
    """An ERDAS .img's pixel size is in its CRS's unit, named as a GeoTIFF's (EPSG's name, by the unit's
    length): GDAL's HFA driver names it as ERDAS does, even where it knows the EPSG code. Before:
    'meters' for EPSG:32633 ('metre' in a GeoTIFF), 'us_survey_feet' and 'international_feet' for the
    two CRSs in feet without an EPSG code (EPSG:2263's was right), in every message that names the unit."""
    from ldcsr_core.cli import main

    said = {}
    for driver, name in (("HFA", "s.img"), ("GTiff", "s.tif")):
        with rasterio.open(tmp_path / name, "w", driver=driver, width=32, height=24, count=1, dtype="uint8",
                           crs=rasterio.crs.CRS.from_user_input(crs),
                           transform=rasterio.Affine(10, 0, 1000, 0, -10, 2000)) as ds:
            ds.write(np.zeros((1, 24, 32), np.uint8))
        r = CliRunner().invoke(main, ["info", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert f"pixel size:  10 x 10 {unit}\n" in r.output and f"pixel 5 x 5 {unit}, " in r.output, r.output
        with rasterio.open(tmp_path / name) as ds:
            said[driver] = rio.raster_info(ds).units
    assert said == {"HFA": unit, "GTiff": unit}
