"""Output geometry, profiles and the atomic GeoTIFF writer (no model needed)."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import Affine
from rasterio.windows import Window

from ldcsr_core.geo import raster_io as lio
from ldcsr_core.rules import output_shape
from ldcsr_core.errors import InputError, LdcsrError, OutputExistsError, RasterIOError

from .conftest import TRANSFORM, UTM33, sha256, write_tif


class _Src:
    """The bits of a rasterio dataset that output_profile reads."""

    def __init__(self, h, w, transform=TRANSFORM, count=3, dtype="uint16", crs=UTM33):
        self.height, self.width, self.transform, self.count, self.crs = h, w, transform, count, crs
        self.dtypes = [dtype] * count
        self.profile = dict(driver="GTiff", height=h, width=w, count=count, dtype=dtype, crs=crs,
                            transform=transform, nodata=0, blockxsize=256, blockysize=256,
                            tiled=True, compress="jpeg", photometric="ycbcr")


@settings(max_examples=80, deadline=None)
@given(h=st.integers(100, 40000), w=st.integers(100, 40000), sy=st.floats(1.01, 8), sx=st.floats(1.01, 8),
       px=st.floats(0.1, 1000), rot=st.sampled_from([0.0, 0.37]))
def test_output_bounds_equal_input_bounds(h, w, sy, sx, px, rot):
    from affine import Affine

    t = Affine(px, rot, 431234.5, rot, -px * 1.3, 5123456.25)
    H, W = output_shape((h, w), (sy, sx))
    assert (H, W) == (round(h * sy), round(w * sx))
    prof = lio.output_profile(_Src(h, w, t), (H, W))
    t2 = prof["transform"]
    # Every corner of the output grid lands on the same map point as the input's corner.
    for (r, c), (R, C) in [((0, 0), (0, 0)), ((h, w), (H, W)), ((0, w), (0, W)), ((h, 0), (H, 0))]:
        x1, y1 = t * (c, r)
        x2, y2 = t2 * (C, R)
        # 1e-6 of an input pixel
        assert abs(x1 - x2) <= 1e-6 * px * 2 + 1e-9 * abs(x1)
        assert abs(y1 - y2) <= 1e-6 * px * 2 + 1e-9 * abs(y1)


def test_output_profile_storage():
    prof = lio.output_profile(_Src(100, 200), (250, 500))
    assert prof["driver"] == "GTiff" and prof["tiled"] and prof["blockxsize"] == 256
    assert lio.output_profile(_Src(1000, 2000), (2500, 5000))["blockysize"] == 512
    assert prof["compress"] == "deflate" and prof["predictor"] == 2
    assert "photometric" not in prof  # the input's JPEG/YCbCr storage does not carry over
    assert prof["crs"] == UTM33 and prof["nodata"] == 0 and prof["dtype"] == "uint16"
    assert prof["bigtiff"] == "IF_SAFER"
    big = lio.output_profile(_Src(20000, 20000), (40000, 40000))
    assert big["bigtiff"] == "YES"  # 40000² × 3 × 2 bytes > 4 GiB


def test_georeferencing_uses_affine_3s_operator_with_the_same_numbers(tmp_path):
    """affine 3 deprecates ``Affine * (x, y)`` (PendingDeprecationWarning, to be an error later):
    the bounds of every raster opened (raster_info) and the output transform are computed with
    ``@`` (georef.affine_apply). Before: raster_info warned on every file; numbers unchanged."""
    import warnings

    from ldcsr_core.geo.georef import scaled_transform

    t = Affine(10.0, 0.3, 500000.0, -0.2, -10.0, 5000000.0)
    p = write_tif(tmp_path / "r.tif", np.zeros((1, 10, 12)), dtype="uint8", transform=t)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PendingDeprecationWarning)
        warnings.simplefilter("error", DeprecationWarning)
        with rasterio.open(p) as ds:
            info = lio.raster_info(ds)
        out = scaled_transform(t, (10, 12), (25, 30))
    corners = [(x * t.a + y * t.b + t.c, x * t.d + y * t.e + t.f) for x, y in ((0, 0), (12, 0), (0, 10), (12, 10))]
    xs, ys = zip(*corners)
    assert info.bounds == (min(xs), min(ys), max(xs), max(ys))
    assert tuple(out)[:6] == (t.a * 0.4, t.b * 0.4, t.c, t.d * 0.4, t.e * 0.4, t.f)


def test_target_resolution_needs_projected_crs(tmp_path):
    data = np.zeros((1, 10, 10))
    p = write_tif(tmp_path / "utm.tif", data, dtype="uint8")
    with rasterio.open(p) as ds:
        info = lio.raster_info(ds)
    assert lio.scale_for_resolution(info, 2.5) == (4.0, 4.0)
    assert lio.scale_for_resolution(info, (5.0, 2.0)) == (5.0, 2.0)  # (tx, ty) → (sy, sx)
    assert lio.scale_for_resolution(info, 1.25) == (8.0, 8.0)
    # finer than x8: said as the target pixel size the user gave (was "scale must be in (1, 8], got 10.0")
    with pytest.raises(InputError, match=r"target pixel size 1 x 1 metre is x10 finer .* at most x8, "
                                         r"so the finest target is 1.25 x 1.25 metre"):
        lio.scale_for_resolution(info, 1.0)
    # too close to the input's to add a pixel: said as the target too (was "scale (1.0101…, 1.0101…)
    # does not enlarge a 10×10 input"), with the coarsest target that does
    from ldcsr_core.geo.job import plan_output

    with pytest.raises(InputError, match=r"^target pixel size 9.9 x 9.9 metre is too close to the input's 10 x 10 "
                                         r"metre: .* keep its 10 x 10 px; 9.0909 x 9.0909 metre or finer"):
        plan_output(info, target_resolution=9.9)
    assert plan_output(info, target_resolution=9.0909)[0] == (11, 11)
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    g = write_tif(tmp_path / "wgs84.tif", data, dtype="uint8", crs=CRS.from_epsg(4326),
                  transform=from_origin(16.0, 48.0, 1e-4, 1e-4))
    with rasterio.open(g) as ds:
        ginfo = lio.raster_info(ds)
    with pytest.raises(InputError, match="geographic CRS"):
        lio.scale_for_resolution(ginfo, 0.5)


def test_pixel_size_of_rotated_grids_and_local_metric_crs(tmp_path):
    from affine import Affine
    from rasterio.crs import CRS

    data = np.zeros((1, 10, 10))
    rot30 = Affine.translation(600000.0, 5340000.0) * Affine.rotation(30) * Affine.scale(10.0, -10.0)
    rot90 = Affine(0.0, 10.0, 600000.0, 10.0, 0.0, 5340000.0)
    for name, t in (("rot30", rot30), ("rot90", rot90)):
        p = write_tif(tmp_path / f"{name}.tif", data, dtype="uint8", transform=t)
        with rasterio.open(p) as ds:
            info = lio.raster_info(ds)
        np.testing.assert_allclose(info.res, (10.0, 10.0))  # not |a|, |e| (8.66 or 0)
        np.testing.assert_allclose(lio.scale_for_resolution(info, 5.0), (2.0, 2.0))
    local = CRS.from_wkt('LOCAL_CS["site grid",LOCAL_DATUM["site",0],UNIT["metre",1],'
                         'AXIS["X",EAST],AXIS["Y",NORTH]]')
    p = write_tif(tmp_path / "local.tif", data, dtype="uint8", crs=local)
    with rasterio.open(p) as ds:
        info = lio.raster_info(ds)
    assert info.units == "metre" and not info.is_geographic
    assert lio.scale_for_resolution(info, 5.0) == (2.0, 2.0)


def test_damaged_png_and_devices_are_refused(tmp_path):
    good = tmp_path / "good.png"
    data = np.random.default_rng(3).integers(0, 256, (3, 80, 80)).astype(np.uint8)
    with rasterio.open(good, "w", driver="PNG", width=80, height=80, count=3, dtype="uint8") as ds:
        ds.write(data)
    with lio.open_raster(good) as ds:
        np.testing.assert_array_equal(ds.read(), data)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(RasterIOError, match="cut.png is truncated or damaged"):
        lio.open_raster(cut)
    if os.path.exists("/dev/zero"):
        with pytest.raises(RasterIOError, match="not a regular file"):
            lio.open_raster("/dev/zero")


def test_open_raster_errors_are_os_errors(tmp_path):
    with pytest.raises(RasterIOError, match="not found") as ei:
        lio.open_raster(tmp_path / "nope.tif")
    assert isinstance(ei.value, OSError) and str(ei.value).startswith("input not found")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(RasterIOError, match="empty file"):
        lio.open_raster(tmp_path / "empty.tif")
    (tmp_path / "text.tif").write_text("not a tiff")
    with pytest.raises(OSError, match="cannot read"):
        lio.open_raster(tmp_path / "text.tif")
    with pytest.raises(RasterIOError, match="folder"):
        lio.open_raster(tmp_path)
    with pytest.raises(InputError, match=r"is a GDAL virtual path \(/vsizip/\), which ldcsr does not read"):
        lio.open_raster(f"/vsizip/{tmp_path / 'a.zip'}/s.tif")  # before: 'input not found'
    with pytest.raises(InputError, match="is a GDAL dataset name, not a file"):
        lio.open_raster(f"GTIFF_DIR:2:{tmp_path / 'a.tif'}")
    with pytest.raises(RasterIOError, match="input not found: scene:2.tif"):  # a name with a colon
        lio.open_raster("scene:2.tif")


def _write_rows(path, src_path, *, fail_at=None, exc=RuntimeError, overwrite=False):
    with rasterio.open(src_path) as src:
        prof = lio.output_profile(src, (90, 122), block=32)
        with lio.GeoTiffWriter(path, prof, src=src, tags={"LDCSR_X": 1},
                               overwrite=overwrite) as gw:
            bw = lio.BlockRowWriter(gw)
            for y in range(0, 90, 10):
                if fail_at is not None and y >= fail_at:
                    raise exc("boom")
                bw.push(y, np.full((src.count, 10, 122), y, src.dtypes[0]))
            bw.close()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_writer_is_atomic_and_copies_metadata(rasters, tmp_path):
    src = rasters["uint16_nodata"]
    before = sha256(src)
    out = tmp_path / "out.tif"
    _write_rows(out, src)
    assert sha256(src) == before
    with rasterio.open(out) as ds, rasterio.open(src) as s:
        assert ds.read(1)[85, 3] == 80
        assert ds.tags()["LDCSR_X"] == "1" and ds.tags()["SENSOR"] == "S2A"
        assert ds.descriptions == s.descriptions
        assert ds.tags(4)["WAVELENGTH"] == "842nm"
        assert ds.colorinterp[:3] == s.colorinterp[:3]
        assert ds.block_shapes[0] == (32, 32) and ds.compression.name == "deflate"
    assert _leftovers(tmp_path) == []
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


class _NoLibtiffSetters:
    """A loaded library without TIFFSetErrorHandler / TIFFSetWarningHandler (another rasterio
    wheel's GDAL, with a libtiff renamed in a way the code does not know, or one linked statically)."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        raise AttributeError(name)


def _unloadable(*args, **kwargs):
    raise OSError("cannot open shared object file")


@pytest.mark.parametrize("library", [_NoLibtiffSetters, _unloadable], ids=["missing symbol", "no library"])
def test_a_libtiff_that_cannot_be_routed_changes_nothing(rasters, tmp_path, monkeypatch, library):
    """libtiff_messages finds libtiff's handler setters by ctypes: where they are not found, its
    messages stay libtiff's own (on stderr), and the write goes on as before, whole."""
    from ldcsr_core.geo import libtiff_messages

    monkeypatch.setattr(libtiff_messages, "_routed", None)  # not tried yet in this process
    monkeypatch.setattr(libtiff_messages.ctypes, "CDLL", library)
    out = tmp_path / "out.tif"
    _write_rows(out, rasters["uint16_nodata"])  # the writer tries to route them first
    assert libtiff_messages._routed is False
    with rasterio.open(out) as ds:
        assert ds.read(1)[85, 3] == 80 and ds.tags()["LDCSR_X"] == "1"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_failure_or_ctrl_c_leaves_nothing(rasters, tmp_path, exc):
    out = tmp_path / "out.tif"
    with pytest.raises(exc):
        _write_rows(out, rasters["uint16_nodata"], fail_at=40, exc=exc)
    assert not out.exists() and _leftovers(tmp_path) == []
    # An existing output survives a failed overwrite untouched.
    _write_rows(out, rasters["uint16_nodata"])
    good = sha256(out)
    with pytest.raises(exc):
        _write_rows(out, rasters["uint16_nodata"], fail_at=20, exc=exc, overwrite=True)
    assert sha256(out) == good and _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["libtiff_routing", "flock", "mkstemp"])
def test_ctrl_c_as_the_part_file_is_made_leaves_nothing(rasters, tmp_path, monkeypatch, where):
    """A Ctrl-C (SIGHUP) the moment the part file appears: before, one between its creation and the
    writer's open dataset (routing libtiff's messages, locking it) left the part file behind, and one
    that comes while tempfile.mkstemp's os.open makes it still did (Python runs the handler as the call
    returns: the file is there, its name and descriptor not yet known)."""
    import fcntl
    import os

    from ldcsr_core.files import PART_SUFFIX
    from ldcsr_core.geo import geotiff_writer

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    if where == "flock":
        monkeypatch.setattr(fcntl, "flock", interrupt)
    elif where == "mkstemp":
        real_open, signalled = os.open, []

        def signalled_open(name, *a, **k):
            fd = real_open(name, *a, **k)
            if str(name).endswith(PART_SUFFIX) and not signalled:  # the part file made: the one signal
                signalled.append(fd)
                raise KeyboardInterrupt
            return fd

        monkeypatch.setattr(os, "open", signalled_open)
    else:
        monkeypatch.setattr(geotiff_writer, "route_libtiff_messages", interrupt)
    out = tmp_path / "out.tif"
    with pytest.raises(KeyboardInterrupt):
        _write_rows(out, rasters["gray"])
    assert not out.exists() and _leftovers(tmp_path) == []
    if where == "mkstemp":
        os.close(signalled[0])  # (what the interrupted os.open opened: lost in a real run, which ends)


class _CloseInterrupted:
    """A dataset whose close is cut by a Ctrl-C (a second one while the first one's cleanup flushes it)."""

    def __init__(self, ds):
        self._ds = ds

    def __getattr__(self, name):
        return getattr(self._ds, name)

    def close(self):
        self._ds.close()
        raise KeyboardInterrupt


def test_ctrl_c_while_a_failed_write_is_cleaned_up_leaves_nothing(rasters, tmp_path):
    """A Ctrl-C in the writer's cleanup itself, as it closes the dataset (a second Ctrl-C while a large
    part file is flushed): the part file is still removed, its lock and claim given up. Before: it was
    left ('.out.tif.xxxxxxxx.ldcsr-part', until a later run in that folder), its descriptor open."""
    from ldcsr_core.output_claims import OutputClaim

    out = tmp_path / "out.tif"
    with rasterio.open(rasters["gray"]) as src, pytest.raises(KeyboardInterrupt):
        with lio.GeoTiffWriter(out, lio.output_profile(src, (90, 122), block=32), src=src) as gw:
            gw.dataset = _CloseInterrupted(gw.dataset)
            raise KeyboardInterrupt  # the first Ctrl-C
    assert not out.exists() and _leftovers(tmp_path) == []
    assert gw._lock_fd is None and gw._claim is None and gw.dataset is None
    OutputClaim.of(out, wait=False).release()  # free again


def test_writer_refuses_existing_and_missing_folder(rasters, tmp_path):
    out = tmp_path / "out.tif"
    out.write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="exists") as ei:
        _write_rows(out, rasters["gray"])
    assert isinstance(ei.value, FileExistsError)
    with pytest.raises(RasterIOError, match="folder does not exist"):
        _write_rows(tmp_path / "missing" / "o.tif", rasters["gray"])
    assert out.read_bytes() == b"x"


def test_writer_refuses_a_folder_as_its_output_before_writing(rasters, tmp_path):
    """An output name that is a folder (napari's File > Save, write_raster, --overwrite or not):
    before, the whole file was written and the final rename failed with '[Errno 21] Is a
    directory: '.out.tif.xxxx.ldcsr-part' -> 'out.tif''."""
    folder = tmp_path / "out.tif"
    (folder / "inside").mkdir(parents=True)
    for overwrite in (False, True):
        with pytest.raises(RasterIOError, match=f"output path is a folder: {folder}$"):
            _write_rows(folder, rasters["gray"], overwrite=overwrite)
    assert _leftovers(tmp_path) == [] and [p.name for p in folder.iterdir()] == ["inside"]


def test_block_row_writer_checks_order_and_completeness(rasters, tmp_path):
    with rasterio.open(rasters["gray"]) as src:
        prof = lio.output_profile(src, (64, 64), block=16)
        with pytest.raises(LdcsrError, match="out of order"):
            with lio.GeoTiffWriter(tmp_path / "a.tif", prof) as gw:
                bw = lio.BlockRowWriter(gw)
                bw.push(0, np.zeros((1, 5, 64), np.uint8))
                bw.push(6, np.zeros((1, 5, 64), np.uint8))
        with pytest.raises(LdcsrError, match="incomplete"):
            with lio.GeoTiffWriter(tmp_path / "b.tif", prof) as gw:
                bw = lio.BlockRowWriter(gw)
                bw.push(0, np.zeros((1, 40, 64), np.uint8))
                bw.close()
    assert list(tmp_path.iterdir()) == []


def test_block_row_writer_writes_whole_blocks(rasters, tmp_path, monkeypatch):
    windows = []
    with rasterio.open(rasters["gray"]) as src:
        prof = lio.output_profile(src, (70, 64), block=16)
        with lio.GeoTiffWriter(tmp_path / "c.tif", prof) as gw:
            orig = gw.write
            monkeypatch.setattr(gw, "write", lambda a, w: (windows.append(w), orig(a, w)))
            bw = lio.BlockRowWriter(gw)
            for y0, n in [(0, 7), (7, 20), (27, 30), (57, 13)]:
                bw.push(y0, np.full((1, n, 64), y0, np.uint8))
            bw.close()
    assert [(w.row_off, w.height) for w in windows] == [(0, 16), (16, 16), (32, 16), (48, 16),
                                                        (64, 6)]
    with rasterio.open(tmp_path / "c.tif") as ds:
        col = ds.read(1, window=Window(0, 0, 1, 70))[:, 0]
    assert col[0] == 0 and col[7] == 7 and col[27] == 27 and col[69] == 57


def test_a_container_of_subdatasets_says_so(tmp_path):
    import shutil
    import subprocess
    gdal_translate = shutil.which("gdal_translate")
    if gdal_translate is None:
        pytest.skip("needs gdal_translate to make a netCDF file")
    src = write_tif(tmp_path / "a.tif", np.zeros((3, 8, 8)), dtype="uint8")
    nc = tmp_path / "a.nc"
    subprocess.run([gdal_translate, "-q", "-of", "netCDF", str(src), str(nc)], check=True)
    with pytest.raises(InputError, match=r"container of 3 rasters \(subdatasets\)"):
        lio.open_raster(nc)


def test_band_scales_offsets_and_units_survive_the_array_path(tmp_path, tiny_model):
    """read_raster / upscale_window -> write_raster keep the bands' GDAL scale, offset and units
    (physical value = raw × scale + offset): dropping them changes what every value means."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window
    from ldcsr_core.geo.raster_io import read_raster, write_raster

    src = tmp_path / "s.tif"
    with rasterio.open(src, "w", driver="GTiff", width=40, height=36, count=2, dtype="uint16",
                       crs="EPSG:32633", transform=Affine(10, 0, 0, 0, -10, 0)) as ds:
        ds.write((np.arange(2 * 36 * 40).reshape(2, 36, 40) % 3000).astype(np.uint16))
        ds.scales, ds.offsets, ds.units = (1e-4, 2e-4), (-0.1, 0.0), ("refl", "K")
    for name, geo in (("copy.tif", read_raster(src)),
                      ("sr.tif", upscale_window(src, scale=2, model=tiny_model, options=UpscaleOptions(mode="fast")))):
        assert (geo.scales, geo.offsets, geo.units) == ((1e-4, 2e-4), (-0.1, 0.0), ("refl", "K"))
        write_raster(tmp_path / name, geo)
        with rasterio.open(tmp_path / name) as o:
            assert (o.scales, o.offsets, o.units) == ((1e-4, 2e-4), (-0.1, 0.0), ("refl", "K"))
    plain = read_raster(tmp_path / "copy.tif")
    write_raster(tmp_path / "plain.tif", plain.__class__(plain.data, plain.transform, plain.crs))
    with rasterio.open(tmp_path / "plain.tif") as o:
        assert o.scales == (1.0, 1.0) and o.offsets == (0.0, 0.0)


def test_an_output_folder_removed_mid_write_is_said_in_words(rasters, tmp_path):
    """The folder deleted while the output is written: one error naming the output and what happened, not the hidden
    part file, in the words the CLI says (napari, QGIS and API callers get them from the engine); nothing is reported
    written. Before: 'cannot write out/o.tif: its part file was removed while it was written (was out deleted or
    cleaned?)'."""
    import shutil

    folder = tmp_path / "out"
    folder.mkdir()
    with rasterio.open(rasters["gray"]) as src:
        prof = lio.output_profile(src, (64, 64), block=16)
        with pytest.raises(RasterIOError) as ei:
            with lio.GeoTiffWriter(folder / "o.tif", prof) as gw:
                gw.write(np.zeros((1, 64, 64), np.uint8), Window(0, 0, 64, 64))
                shutil.rmtree(folder)
    msg = str(ei.value)
    assert msg == (f"the output folder {folder} was removed or renamed during the run; {folder / 'o.tif'} was not "
                   "written (make the folder again, or give it its name back, and run again)"), msg
    assert not folder.exists()


@pytest.mark.parametrize("then, said", [
    ("a folder made at its name", "output path is a folder: {out} (made while this run worked"),
    # before: 'cannot write {out}: its part file was removed before it was renamed into place (was ... deleted or cleaned?)'
    ("its folder removed", "the output folder {folder} was removed or renamed during the run; {out} was not written"),
    ("its part file removed", "cannot write {out}: its part file was removed before it was renamed into place (was "
                              "{folder} cleaned meanwhile?)"),
])
def test_a_rename_that_fails_once_the_file_is_written_is_said_in_words(rasters, tmp_path, monkeypatch, then, said):
    """The output finished and checked, then its name taken by a folder (--overwrite: napari's Save,
    QGIS) or its folder deleted before the rename. Before: errno's words naming the hidden part file,
    "[Errno 21] Is a directory: '.../.out.tif.xxxxxxxx.ldcsr-part' -> 'out.tif'"."""
    import shutil

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "out.tif"
    finish = lio.GeoTiffWriter._finish

    def finish_then(self):
        finish(self)
        if then.startswith("a folder"):
            out.mkdir()
        else:
            self.tmp_path.unlink() if then == "its part file removed" else shutil.rmtree(folder)

    monkeypatch.setattr(lio.GeoTiffWriter, "_finish", finish_then)
    with pytest.raises(RasterIOError) as ei:
        _write_rows(out, rasters["gray"], overwrite=True)
    msg = str(ei.value)
    assert msg.startswith(said.format(out=out, folder=folder)) and "ldcsr-part" not in msg and "Errno" not in msg, msg
    assert not folder.exists() or (_leftovers(folder) == [] and (list(out.iterdir()) == [] if out.is_dir()
                                                                 else not out.exists()))


def test_a_folder_made_at_the_name_without_overwrite_is_said_as_a_folder(rasters, tmp_path, monkeypatch):
    """Without --overwrite (the CLI's and upscale_raster's default) a folder made at the output's
    name while the run worked is said as with it: a folder is never replaced, so 'use --overwrite'
    would only meet the refusal 'output path is a folder' up front. Before: exit 4, 'output exists:
    out.tif (it appeared while this run worked; use --overwrite to replace it)'."""
    out = tmp_path / "out.tif"
    finish = lio.GeoTiffWriter._finish

    def finish_then(self):
        finish(self)
        (out / "kept").mkdir(parents=True)

    monkeypatch.setattr(lio.GeoTiffWriter, "_finish", finish_then)
    with pytest.raises(RasterIOError) as ei:
        _write_rows(out, rasters["gray"])
    assert ei.value.errno == errno.EISDIR and str(ei.value) == (
        f"output path is a folder: {out} (made while this run worked; the output was not written)")
    assert _leftovers(tmp_path) == [] and list(out.iterdir()) == [out / "kept"]
