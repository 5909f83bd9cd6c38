"""End to end on real GeoTIFFs: georeferencing, dtype, nodata/NaN/alpha, tags, inputs untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from ldcsr_core.geo import radiometry as rad
from ldcsr_core.errors import Cancelled, InputError, OutputExistsError
from ldcsr_core.geo.raster_io import AI_NOTICE
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster, upscale_window
from ldcsr_core.progress import polling

from .conftest import sha256

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")

TILE = 48  # two or more tiles on the 45×61 test scenes (pass tile=None for one tile: faster)


def _run(tiny_model, src, dst, *, mode="fast", seed=0, tile=None, bands=None, stretch="auto",
         overwrite=False, skip_complete=False, **kw):
    kw.setdefault("scale", 2.5)
    return upscale_raster(
        src, dst, model=tiny_model,
        options=UpscaleOptions(mode=mode, seed=seed, tile=tile, bands=bands, stretch=stretch),
        output=OutputOptions(overwrite=overwrite, skip_complete=skip_complete), **kw)


def _nearest_up(a, H, W):
    h, w = a.shape[-2:]
    return rad.upsample_nearest(a, rad.nearest_index(h, H, 0, H), rad.nearest_index(w, W, 0, W))


def _check_geo(src_path, dst_path, scale):
    with rasterio.open(src_path) as s, rasterio.open(dst_path) as d:
        assert d.crs == s.crs
        assert (d.height, d.width) == (round(s.height * scale[0]), round(s.width * scale[1]))
        px = abs(s.transform.a)
        for a, b in zip(s.bounds, d.bounds):
            assert abs(a - b) <= 1e-6 * px
        assert d.count == s.count and d.dtypes == s.dtypes
        if s.nodata is None and s.dtypes[0].startswith("float"):  # its invalid pixels are NaN: declared
            assert np.isnan(d.nodata)
        else:
            assert d.nodata == s.nodata
        bh, bw = d.block_shapes[0]  # tiled: square blocks, a multiple of 16 (DatasetBase.is_tiled is
        assert bh == bw and bw % 16 == 0 and d.compression is not None  # deprecated in rasterio 1.4)
        t = d.tags()
        assert t["LDCSR_NOTICE"] == AI_NOTICE and "AI-generated" in t["LDCSR_NOTICE"]
        assert t["LDCSR_MODE"] == "fast" and t["LDCSR_SEED"] == "0"
        assert float(t["LDCSR_SCALE_Y"]) == pytest.approx(d.height / s.height, abs=0)
        assert float(t["LDCSR_SCALE_X"]) == pytest.approx(d.width / s.width, abs=0)
        for k in ("LDCSR_MODEL", "LDCSR_WEIGHTS_SHA256", "LDCSR_SOFTWARE"):
            assert t[k]
        for k, v in s.tags().items():
            if k != "AREA_OR_POINT":
                assert t[k] == v
        assert d.descriptions == s.descriptions
        return s.read(masked=False), d.read(masked=False)


def test_uint16_four_band_with_nodata(rasters, tiny_model, tmp_path):
    src = rasters["uint16_nodata"]
    before = sha256(src)
    res = _run(tiny_model, src, tmp_path / "o.tif", scale=(2.5, 2.0), tile=TILE)
    assert res.status == "written" and res.tiles > 1
    assert sha256(src) == before
    assert sorted(p.suffix for p in src.parent.iterdir()) == [".tif"] * 5  # no sidecars left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif"]  # no temporary files left
    a, b = _check_geo(src, tmp_path / "o.tif", (2.5, 2.0))
    with rasterio.open(tmp_path / "o.tif") as d:
        assert d.tags(4)["WAVELENGTH"] == "842nm"
        assert [c.name for c in d.colorinterp] == ["red", "green", "blue", "undefined"]
    H, W = b.shape[1:]
    invalid_up = _nearest_up(a == 0, H, W)
    # Exactly the upsampled nodata pixels are nodata, per band; valid pixels are never 0.
    assert np.array_equal(b == 0, invalid_up)
    assert invalid_up[3].sum() > invalid_up[0].sum()  # NIR-only nodata kept on NIR only
    valid = b[~invalid_up]
    # Values stay in the scene's units (the stretch maps back), not in 0..255 or 0..1.
    assert valid.min() >= 1 and 3000 < np.median(valid) < 10000


def test_float32_nan_is_kept_and_does_not_spread(rasters, tiny_model, tmp_path):
    src = rasters["float32_nan"]
    _run(tiny_model, src, tmp_path / "o.tif", scale=2.0)
    a, b = _check_geo(src, tmp_path / "o.tif", (2.0, 2.0))
    assert b.dtype == np.float32
    nan_up = _nearest_up(np.isnan(a), *b.shape[1:])
    assert np.array_equal(np.isnan(b), nan_up)
    # The same scene without NaNs: outputs agree far from the hole (no contamination) and are
    # finite right up to its edge.
    clean = a.copy()
    clean[np.isnan(clean)] = 0.3
    with rasterio.open(src) as s:
        prof = s.profile
    p2 = tmp_path / "clean.tif"
    with rasterio.open(p2, "w", **prof) as ds:
        ds.write(clean)
    _run(tiny_model, p2, tmp_path / "o2.tif", scale=2.0)
    with rasterio.open(tmp_path / "o2.tif") as ds:
        c = ds.read()
    far = np.ones(b.shape[1:], bool)
    far[20 * 2 - 16 : 28 * 2 + 16, 30 * 2 - 16 : 41 * 2 + 16] = False
    far[: 2 * 2 + 16, : 3 * 2 + 16] = False
    assert np.isfinite(b[:, far]).all()
    # The stretch is fitted to the whole scene (slightly different with the hole), so compare
    # structure: correlation of the far-from-hole pixels.
    r = np.corrcoef(b[:, far].ravel(), c[:, far].ravel())[0, 1]
    assert r > 0.99


def test_float_output_declares_nan_nodata(rasters, tiny_model, tmp_path):
    """A float32 scene with NaN pixels and no declared nodata: the output declares NaN as nodata, so
    GDAL's (and QGIS's) mask is 0 exactly on its NaN pixels (before: no nodata, every pixel valid),
    and upscale_window's array says so too; an 8-bit scene without nodata still declares none."""
    src = rasters["float32_nan"]
    _run(tiny_model, src, tmp_path / "o.tif", scale=2.0)
    with rasterio.open(tmp_path / "o.tif") as d:
        assert d.nodata is not None and np.isnan(d.nodata)
        values, masks = d.read(), d.read_masks()
    assert np.isnan(values).any() and np.array_equal(masks == 0, np.isnan(values))
    geo = upscale_window(src, model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast"))
    assert geo.nodata is not None and np.isnan(geo.nodata)
    _run(tiny_model, rasters["gray"], tmp_path / "g.tif", scale=2.0)
    with rasterio.open(tmp_path / "g.tif") as d:
        assert d.nodata is None


def test_rgba_alpha_is_upsampled_as_a_mask(rasters, tiny_model, tmp_path):
    src = rasters["rgba"]
    _run(tiny_model, src, tmp_path / "o.tif", scale=2.0)
    a, b = _check_geo(src, tmp_path / "o.tif", (2.0, 2.0))
    with rasterio.open(tmp_path / "o.tif") as d:
        assert d.colorinterp[3].name == "alpha"
    assert np.array_equal(b[3], _nearest_up(a[3], *b.shape[1:]))
    assert set(np.unique(b[3]).tolist()) == {0, 255}


def test_grayscale(rasters, tiny_model, tmp_path):
    src = rasters["gray"]
    res = _run(tiny_model, src, tmp_path / "o.tif", scale=3.0)
    a, b = _check_geo(src, tmp_path / "o.tif", (3.0, 3.0))
    assert b.shape == (1, 135, 183) and b.dtype == np.uint8
    assert res.tags["LDCSR_BANDS"] == "[[1, 1, 1]]"


def test_int16_nodata_and_non_integer_scale(rasters, tiny_model, tmp_path):
    src = rasters["int16_nodata"]
    _run(tiny_model, src, tmp_path / "o.tif", scale=1.7)
    a, b = _check_geo(src, tmp_path / "o.tif", (1.7, 1.7))
    nd = -32768
    assert np.array_equal(b == nd, _nearest_up(a == nd, *b.shape[1:]))
    assert b[b != nd].min() > -4000 and b.max() < 4000


def test_all_nodata_tiles_are_skipped(tmp_path, tiny_model):
    from .conftest import write_tif

    data = np.zeros((3, 128, 128))
    data[:, 100:, 100:] = 500
    data[:, 100:, 110:] = 900
    src = write_tif(tmp_path / "sparse.tif", data, dtype="uint16", nodata=0)
    res = _run(tiny_model, src, tmp_path / "o.tif", scale=2.0, tile=64)
    assert res.tiles == 9 and res.skipped_tiles == 5
    with rasterio.open(tmp_path / "o.tif") as d:
        b = d.read()
    assert (b[:, :200, :] == 0).all() and (b[:, :, :200] == 0).all()
    assert (b[:, 200:, 200:] != 0).all()


def test_band_selection_keeps_band_order(rasters, tiny_model, tmp_path):
    src = rasters["uint16_nodata"]
    _run(tiny_model, src, tmp_path / "a.tif", scale=2.0)
    res = _run(tiny_model, src, tmp_path / "b.tif", scale=2.0, bands="4,3,2")
    assert res.tags["LDCSR_BANDS"] == "[[4, 3, 2], [1, 1, 1]]"
    with rasterio.open(tmp_path / "a.tif") as A, rasterio.open(tmp_path / "b.tif") as B:
        a, b = A.read().astype(float), B.read().astype(float)
        assert B.descriptions == A.descriptions
    for k in range(4):  # each output band still matches its own input band
        assert np.corrcoef(a[k].ravel(), b[k].ravel())[0, 1] > 0.9


def test_refusals_leave_no_files(rasters, tiny_model, tmp_path):
    src = rasters["gray"]
    with pytest.raises(InputError, match="is the input"):
        _run(tiny_model, src, src)
    with pytest.raises(InputError, match="scale"):
        _run(tiny_model, src, tmp_path / "o.tif", scale=0.5)
    (tmp_path / "o.tif").write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="exists"):
        _run(tiny_model, src, tmp_path / "o.tif")
    assert (tmp_path / "o.tif").read_bytes() == b"keep"
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        _run(tiny_model, src, tmp_path / "c.tif", callback=polling(cancel), tile=TILE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif"]


def test_a_raster_or_window_under_4_px_is_refused_as_upscale_refuses_it(tiny_model, tmp_path):
    """One rule (rules.check_input_side): before, upscale_raster wrote a 2x2 'super-resolution' of a
    1x1 raster (and of a 3-row strip, a window of 3 rows) where ldcsr_core.upscale refuses under 4x4."""
    import ldcsr_core
    from ldcsr_core.geo.pipeline import bicubic_window, upscale_window

    from .conftest import write_tif

    says = "is 40 px wide and 3 px high; at least 4×4 pixels are needed"
    strip = write_tif(tmp_path / "strip.tif", np.full((3, 3, 40), 90), dtype="uint8")
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError, match=f"^the raster {says}$"):
        _run(tiny_model, strip, tmp_path / "out" / "o.tif")
    assert list((tmp_path / "out").iterdir()) == []  # nothing made, not even a part file
    big = write_tif(tmp_path / "big.tif", np.full((3, 16, 40), 90), dtype="uint8")
    with rasterio.open(big) as ds:
        for run in (lambda: upscale_window(ds, model=tiny_model, scale=2, window=(0, 0, 3, 40)),
                    lambda: bicubic_window(ds, scale=2, window=(0, 0, 3, 40))):
            with pytest.raises(InputError, match=f"^the window {says}$"):
                run()
    with pytest.raises(InputError, match=f"^image {says}$"):
        ldcsr_core.upscale(np.zeros((3, 40, 3), np.uint8), 2, model=tiny_model)


def _vrt_of(tmp_path, source, name="scene.vrt"):
    """A VRT mosaic of one source file (what gdalbuildvrt makes), next to it."""
    with rasterio.open(source) as s:
        h, w, n = s.height, s.width, s.count
    bands = "".join(f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename '
                    f'relativeToVRT="1">{source.name}</SourceFilename><SourceBand>{b}</SourceBand>'
                    '</SimpleSource></VRTRasterBand>' for b in range(1, n + 1))
    vrt = tmp_path / name
    vrt.write_text(f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><SRS>EPSG:32633</SRS>'
                   f'<GeoTransform>600000, 10, 0, 5340000, 0, -10</GeoTransform>{bands}</VRTDataset>')
    return vrt


def test_a_source_of_a_vrt_input_is_never_overwritten(rasters, tiny_model, tmp_path):
    """Writing over a file a VRT input reads would change the input, --overwrite or not."""
    import shutil

    base = shutil.copy(rasters["gray"], tmp_path / "base.tif")
    vrt, before = _vrt_of(tmp_path, base), sha256(base)
    for overwrite in (False, True):
        with pytest.raises(InputError, match="a file scene.vrt reads"):
            _run(tiny_model, vrt, base, overwrite=overwrite)
    assert sha256(base) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.tif", "scene.vrt"]


def test_replacing_an_output_drops_the_old_files_sidecars(rasters, tiny_model, tmp_path):
    """GDAL reads NAME.aux.xml (statistics, metadata), NAME.ovr (overviews) and NAME.msk with NAME:
    those of a replaced output describe the old image and must not be applied to the new one."""
    out = tmp_path / "o.tif"
    _run(tiny_model, rasters["gray"], out, scale=2)
    with rasterio.open(out) as ds:  # external overviews, as gdaladdo -ro makes them: a TIFF
        small = ds.read(out_shape=(ds.count, ds.height // 2, ds.width // 2))
    with rasterio.open(tmp_path / "o.tif.ovr", "w", driver="GTiff", width=small.shape[2],
                       height=small.shape[1], count=small.shape[0], dtype=small.dtype) as ovr:
        ovr.write(small)
    aux = tmp_path / "o.tif.aux.xml"
    aux.write_text('<PAMDataset><Metadata><MDI key="STALE">yes</MDI></Metadata></PAMDataset>')
    with rasterio.open(out) as ds:
        assert ds.overviews(1) and ds.tags()["STALE"] == "yes"  # GDAL applies both to o.tif
    _run(tiny_model, rasters["gray"], out, scale=4, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif"]
    with rasterio.open(out) as ds:
        assert not ds.overviews(1) and "STALE" not in ds.tags() and ds.tags()["LDCSR_SCALE_X"] != "2.0"
    # without --overwrite, a sidecar left next to the output's name is refused like an output
    out.unlink()
    aux.write_text('<PAMDataset><Metadata><MDI key="STALE">yes</MDI></Metadata></PAMDataset>')
    with pytest.raises(OutputExistsError, match="o.tif.aux.xml"):
        _run(tiny_model, rasters["gray"], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif.aux.xml"]


def test_a_failed_replacement_keeps_the_old_file_with_its_own_sidecars(rasters, tiny_model, tmp_path, monkeypatch):
    """--overwrite whose final rename fails (EIO, injected for the raster only) leaves the old output
    and its old sidecars as they were, and none of the new ones. Before: the sidecars were moved (the
    new file's .aux.xml in place, the old .ovr removed) before the raster's rename failed, so the old
    image was left with the new file's metadata and without its overviews."""
    import errno
    import os

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out = tmp_path / "o.tif"
    _run(tiny_model, rasters["gray"], out, scale=2)
    old = {out.name: out.read_bytes(), "o.tif.aux.xml": b"<PAMDataset>old</PAMDataset>", "o.tif.ovr": b"old ovr"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    commit, replace = GeoTiffWriter.commit, os.replace

    def commit_with_a_sidecar(self):  # GDAL's .aux.xml for the new file (e.g. metadata a TIFF cannot hold)
        Path(f"{self.tmp_path}.aux.xml").write_bytes(b"<PAMDataset>new</PAMDataset>")
        commit(self)

    def failing(src, dst):
        if Path(dst) == out:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        replace(src, dst)

    monkeypatch.setattr(GeoTiffWriter, "commit", commit_with_a_sidecar)
    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(RasterIOError, match=f"cannot write {out}: Input/output error"):
        _run(tiny_model, rasters["gray"], out, scale=4, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old
    monkeypatch.setattr(os, "replace", replace)  # the same run without the failure: the new file alone
    _run(tiny_model, rasters["gray"], out, scale=4, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif", "o.tif.aux.xml"]
    assert (tmp_path / "o.tif.aux.xml").read_bytes() == b"<PAMDataset>new</PAMDataset>"


def test_resume_skips_complete_output(rasters, tiny_model, tmp_path):
    src = rasters["gray"]
    _run(tiny_model, src, tmp_path / "o.tif")
    mtime = (tmp_path / "o.tif").stat().st_mtime_ns
    res = _run(tiny_model, src, tmp_path / "o.tif", skip_complete=True)
    assert res.status == "skipped" and (tmp_path / "o.tif").stat().st_mtime_ns == mtime
    # fast mode ignores the seed: the same request; another tile is another request
    assert _run(tiny_model, src, tmp_path / "o.tif", skip_complete=True, seed=1).status == "skipped"
    with pytest.raises(OutputExistsError, match="exists"):  # another request: not "complete"
        _run(tiny_model, src, tmp_path / "o.tif", skip_complete=True, tile=32)


def test_resume_takes_the_files_read_with_the_input_as_part_of_it(rasters, tiny_model, tmp_path):
    """A world file corrected, a VRT's source changed: GDAL reads them with the input, so they make
    the output. Before: the request's fingerprint had only the input file, so the rerun skipped the
    output ('complete output already there') placed by the old world file, 100 km off."""
    import os
    import shutil

    def changed(path, text=None):  # rewritten, a second later (never the same modification time)
        t = path.stat().st_mtime_ns
        if text is not None:
            path.write_text(text)
        os.utime(path, ns=(t + 10**9, t + 10**9))

    (tmp_path / "in").mkdir()
    photo, base = tmp_path / "in" / "photo.tif", tmp_path / "in" / "base.tif"
    shutil.copy(rasters["gray"], base)
    with rasterio.open(base) as ds, pytest.warns(rasterio.errors.NotGeoreferencedWarning), \
            rasterio.open(photo, "w", driver="GTiff", width=61, height=45, count=1, dtype="uint8") as out:
        out.write(ds.read())  # placed by its world file only, as a scan often is
    world = tmp_path / "in" / "photo.tfw"
    world.write_text("10\n0\n0\n-10\n600005\n5339995\n")
    vrt = tmp_path / "in" / "v.vrt"
    vrt.write_text('<VRTDataset rasterXSize="61" rasterYSize="45"><VRTRasterBand dataType="Byte" band="1">'
                   '<SimpleSource><SourceFilename relativeToVRT="1">base.tif</SourceFilename>'
                   '<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>')
    for src in (photo, vrt):
        _run(tiny_model, src, tmp_path / f"{src.stem}.tif")
        assert _run(tiny_model, src, tmp_path / f"{src.stem}.tif", skip_complete=True).status == "skipped"
    changed(world, "10\n0\n0\n-10\n700005\n4339995\n")
    with rasterio.open(photo) as ds:
        assert ds.transform.f == 4340000  # GDAL places it by the corrected one
    with rasterio.open(base, "r+") as ds:
        ds.write(255 - ds.read())
    changed(base)
    for src in (photo, vrt):
        with pytest.raises(OutputExistsError, match="from another request"):
            _run(tiny_model, src, tmp_path / f"{src.stem}.tif", skip_complete=True)


def test_per_band_nodata_of_a_vrt_is_kept_for_every_band(tmp_path, tiny_model):
    from .conftest import write_tif
    data = np.random.default_rng(4).integers(10, 250, (3, 48, 48)).astype(np.uint8)
    data[0, :8, :8] = 1   # band 1's nodata
    data[1, -8:, -8:] = 2  # band 2's nodata: another value (a VRT can say so, a GeoTIFF cannot)
    write_tif(tmp_path / "src.tif", data, dtype="uint8")
    bands = "".join(
        f'<VRTRasterBand dataType="Byte" band="{b}"><NoDataValue>{b}</NoDataValue><SimpleSource>'
        f'<SourceFilename relativeToVRT="1">src.tif</SourceFilename><SourceBand>{b}</SourceBand>'
        f'</SimpleSource></VRTRasterBand>' for b in (1, 2, 3))
    vrt = tmp_path / "pb.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="48" rasterYSize="48"><SRS>EPSG:32633</SRS>'
                   f'<GeoTransform>600000, 10, 0, 5340000, 0, -10</GeoTransform>{bands}</VRTDataset>')
    out = tmp_path / "o.tif"
    upscale_raster(vrt, out, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
    with rasterio.open(out) as ds:
        assert ds.nodata == 1  # one value for all bands in a GeoTIFF
        o = ds.read()
        masks = ds.read_masks()
    assert (o[0, :16, :16] == 1).all() and (o[1, -16:, -16:] == 1).all()  # both bands' holes marked
    assert (masks[1, -16:, -16:] == 0).all() and masks[1, :-16].all()
    assert (o[1, :-16] != 1).all() and (o[2] != 1).all()  # valid pixels never read as nodata


def test_gdal_mask_band_is_restored(tmp_path, tiny_model):
    from .conftest import smooth_field, write_tif

    data = smooth_field(np.random.default_rng(3), 40, 50, 3, 0, 255).round()
    src = write_tif(tmp_path / "masked.tif", data, dtype="uint8")
    mask = np.full((40, 50), 255, np.uint8)
    mask[10:20, 5:30] = 0
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(src, "r+") as ds:
        ds.write_mask(mask)
    _run(tiny_model, src, tmp_path / "o.tif", scale=2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masked.tif", "o.tif"]
    with rasterio.open(tmp_path / "o.tif") as d:
        assert [f.name for f in d.mask_flag_enums[0]] == ["per_dataset"]
        got = d.dataset_mask()
    np.testing.assert_array_equal(got, _nearest_up(mask, 80, 100))


def test_the_size_said_before_a_write_is_that_of_the_file_written(tiny_model, tmp_path, monkeypatch):
    """"needs about N uncompressed" (the free-space check before any compute, and the writer's as it
    opens) is the size of what is written: here an uncompressed 400x400 3-band output in 256² tiles
    (padded to 512x512) with an internal mask (1 bit a pixel; GDAL deflates it), within 2 % of the
    file's real size. Before: 468.8 kB (400x400x3, no padding, no mask) for a file of 775.5 kB."""
    from rasterio.transform import from_origin

    from ldcsr_core.geo import geotiff_writer

    src = tmp_path / "masked.tif"
    rng = np.random.default_rng(0)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(
            src, "w", driver="GTiff", width=200, height=200, count=3, dtype="uint8", crs="EPSG:32633",
            transform=from_origin(600000, 5340000, 10, 10)) as ds:
        ds.write(rng.integers(0, 256, (3, 200, 200), dtype=np.uint8))
        ds.write_mask(np.where(rng.random((200, 200)) < 0.3, 0, 255).astype(np.uint8))
    said, check = [], geotiff_writer.check_free_space

    def recording(folder, nbytes, **kw):
        said.append(nbytes)
        return check(folder, nbytes, **kw)

    monkeypatch.setattr(geotiff_writer, "check_free_space", recording)
    out = tmp_path / "o.tif"
    upscale_raster(src, out, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"),
                   output=OutputOptions(compress="none", block=256))
    with rasterio.open(out) as ds:
        assert ds.shape == (400, 400) and ds.block_shapes[0] == (256, 256) and ds.compression is None
        assert ds.mask_flag_enums[0] == [rasterio.enums.MaskFlags.per_dataset]
    real = out.stat().st_size
    assert len(said) == 2 and said[0] == said[1], said  # the run's check and the writer's
    assert abs(said[0] - real) < 0.02 * real, (said, real)


def test_the_tight_space_warning_is_said_once_per_file(rasters, tiny_model, tmp_path, monkeypatch, caplog):
    """A destination with less room than the uncompressed output (only compression may make it fit):
    before, the warning came twice per output, from the run's check before any compute and again
    from the writer as it opened; now once, the writer's."""
    import logging

    from ldcsr_core.geo import geotiff_writer

    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 20_000)
    with caplog.at_level(logging.WARNING):
        upscale_raster(rasters["rgba"], tmp_path / "o.tif", model=tiny_model, scale=2,
                       options=UpscaleOptions(mode="fast"))  # 90x122 px x 4 bands in 96² tiles: 48.0 kB
    said = [r.getMessage() for r in caplog.records if "fits only if it compresses well" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("o.tif needs about"), said
