"""`--nodata` / ``UpscaleOptions(nodata=...)``: the user's nodata instead of the file's.

Before, a scene whose black fill the file does not declare could not be told apart from data (the
model rang into the fill, the output had no nodata), and a declared value that is real data could
not be switched off; the only advice was to edit the input file."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.enums import ColorInterp

from .conftest import exact_nodata_vrt, sha256, smooth_field, write_tif

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")

RGB = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]


@pytest.fixture()
def scenes(tmp_path):
    """The same uint8 scene with black fill on its left and top: undeclared, and declared 0."""
    data = smooth_field(np.random.default_rng(3), 80, 80, 3, 20, 230).round().astype(np.uint8)
    data[:, :, :24] = 0
    data[:, :12, :] = 0
    return (write_tif(tmp_path / "fill.tif", data, dtype="uint8", colorinterp=RGB),
            write_tif(tmp_path / "declared.tif", data, dtype="uint8", nodata=0, colorinterp=RGB))


def _run(*args):
    from ldcsr_core.cli import main

    return CliRunner().invoke(main, ["upscale", *map(str, args), "-s", "2", "--mode", "fast"])


def _read(path):
    with rasterio.open(path) as d:
        return d.read(), d.nodata, d.tags()


def test_nodata_given_on_the_command_line_is_what_declaring_it_in_the_file_gives(scenes, tmp_path,
                                                                                  tiny_model_file):
    fill, declared = scenes
    before = sha256(fill)
    for src, out, extra in ((fill, "plain.tif", []), (fill, "given.tif", ["--nodata", "0"]),
                            (declared, "file.tif", [])):
        r = _run(src, "-o", tmp_path / out, "--model", tiny_model_file, *extra)
        assert r.exit_code == 0, r.output
    plain, given, file_ = (_read(tmp_path / n) for n in ("plain.tif", "given.tif", "file.tif"))
    assert sha256(fill) == before  # the input is not changed
    assert plain[1] is None and plain[0][:, 24:, :48].max() > 0  # undeclared: the fill is computed over
    assert given[1] == 0 and np.array_equal(given[0], file_[0])  # as if the file declared it
    assert (given[0][:, :24, :] == 0).all() and (given[0][:, :, :48] == 0).all()
    assert given[2]["LDCSR_NODATA"] == '{"used": "0.0", "file": null}'
    assert "LDCSR_NODATA" not in file_[2]


def test_nodata_none_reads_a_declared_value_as_data(scenes, tmp_path, tiny_model_file):
    fill, declared = scenes
    for src, out, extra in ((declared, "none.tif", ["--nodata", "none"]), (fill, "plain.tif", [])):
        r = _run(src, "-o", tmp_path / out, "--model", tiny_model_file, *extra)
        assert r.exit_code == 0, r.output
    none, plain = _read(tmp_path / "none.tif"), _read(tmp_path / "plain.tif")
    assert none[1] is None and np.array_equal(none[0], plain[0])
    assert none[2]["LDCSR_NODATA"] == '{"used": null, "file": "0.0"}'


def test_a_nodata_the_bands_cannot_hold_is_refused(scenes, tmp_path, tiny_model_file):
    fill, _ = scenes
    for value, code, says in (("-1", 3, "no uint8 pixel of"), ("300", 3, "uint8 holds whole numbers 0..255"),
                              ("0.5", 3, "no uint8 pixel"), ("nan", 3, "hold no NaN"),
                              ("inf", 2, "finite or nan"), ("abc", 2, "must be a number, 'nan' or 'none'")):
        r = _run(fill, "-o", tmp_path / "o.tif", "--nodata", value, "--model", tiny_model_file)
        assert r.exit_code == code and says in r.output, (value, r.output)
        assert not (tmp_path / "o.tif").exists()


def test_another_nodata_is_another_request_for_a_resumed_batch(scenes, tmp_path, tiny_model_file):
    fill, _ = scenes
    out = tmp_path / "o.tif"
    assert _run(fill, "-o", out, "--model", tiny_model_file).exit_code == 0
    r = _run(fill, "-o", out, "--model", tiny_model_file, "--nodata", "0")
    assert r.exit_code == 4 and "from another request" in r.output, r.output
    assert _read(out)[1] is None
    r = _run(fill, "-o", out, "--model", tiny_model_file, "--nodata", "0")
    assert r.exit_code == 4  # still not the same request: not skipped as complete
    assert _run(fill, "-o", out, "--model", tiny_model_file, "--nodata", "0", "--overwrite").exit_code == 0
    assert _read(out)[1] == 0


def test_the_api_and_a_float_scene_with_a_fill_value(tmp_path, tiny_model):
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    data = smooth_field(np.random.default_rng(1), 40, 40, 3, 0.0, 0.4).astype(np.float32)
    data[:, :8, :] = -9999.0  # a clipped product's fill, undeclared
    src = write_tif(tmp_path / "f.tif", data, dtype="float32", colorinterp=RGB)
    res = upscale_window(src, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast", nodata=-9999))
    assert res.nodata == -9999.0 and (res.data[:, :16, :] == -9999.0).all()
    valid = res.data[:, 16:, :]
    assert valid.min() > -1 and valid.max() < 2  # the fill did not leak into the stretch or the data


def test_a_colour_table_raster_keeps_its_own_transparency(tmp_path, tiny_model_file):
    from .test_cli_matrix_inputs import make_palette

    r = _run(make_palette(tmp_path), "-o", tmp_path / "o.tif", "--nodata", "0", "--model", tiny_model_file)
    assert r.exit_code == 3 and "nodata cannot be set on a raster with a colour table" in r.output, r.output
    assert not (tmp_path / "o.tif").exists()


def test_selfcheck_with_nodata_scores_what_a_declared_nodata_scores(scenes, tiny_model_file):
    from ldcsr_core.cli import main

    fill, declared = scenes
    lines = {}
    for name, src, extra in (("given", fill, ["--nodata", "0"]), ("file", declared, []), ("plain", fill, [])):
        r = CliRunner().invoke(main, ["selfcheck", str(src), "-s", "2", "--mode", "fast", "--model",
                                      str(tiny_model_file), "--max-pixels", "100000", *extra])
        assert r.exit_code == 0, r.output
        lines[name] = [ln for ln in r.output.splitlines() if "dB" in ln]
    assert lines["given"] == lines["file"] and "nodata, not scored" in lines["given"][0]
    assert lines["plain"] != lines["given"] and "nodata" not in lines["plain"][0]


def test_adapt_reads_the_scene_with_the_nodata_given(scenes, tiny_model, monkeypatch):
    """The adaptation's crops and guard see the same pixels as a file that declares the value."""
    import ldcsr_core.quality as q
    from ldcsr_core.adaptation import adapt

    fill, declared = scenes
    seen = []
    real = q.RGBScene.rgb_valid

    def spy(self, box):
        rgb, valid = real(self, box)
        seen.append((rgb.copy() if rgb is not None else None, None if valid is None else valid.copy()))
        return rgb, valid

    monkeypatch.setattr(q.RGBScene, "rgb_valid", spy)
    runs = []
    for src, nd in ((fill, 0), (declared, None)):
        seen.clear()
        try:
            adapt(src, 2, tiny_model, steps=1, nodata=nd)
        except Exception as e:  # too little data left for this tiny scene's guard is fine: reading is the point
            assert "nodata" in str(e) or "strip" in str(e) or "small" in str(e), e
        runs.append(list(seen))
    assert runs[0] and len(runs[0]) == len(runs[1])
    for (ra, va), (rb, vb) in zip(*runs):
        assert np.array_equal(ra, rb) and (va is None) == (vb is None)
        assert va is None or np.array_equal(va, vb)


def test_info_shows_the_nodata_upscale_would_use(scenes):
    """No nodata is said 'none', as info says it everywhere else (the file declares none). Before:
    'nodata:      None', Python's word, for a file without nodata and for --nodata none."""
    from ldcsr_core.cli import main

    fill, declared = scenes
    for src, extra, line in ((fill, ["--nodata", "0"], "nodata:      0.0 (--nodata; the file declares none)"),
                             (declared, ["--nodata", "none"], "nodata:      none (--nodata; the file declares 0.0)"),
                             (fill, [], "nodata:      none\n"),
                             (declared, [], "nodata:      0.0\n")):
        r = CliRunner().invoke(main, ["info", str(src), *extra])
        assert r.exit_code == 0 and line in r.output, r.output
    r = CliRunner().invoke(main, ["info", str(fill), "--nodata", "-5"])
    assert r.exit_code == 3 and "no uint8 pixel" in r.output


def _wide_nodata_scene(tmp_path, dtype, nodata):
    """A 64-bit integer scene whose left columns are its nodata value, declared exactly (by a VRT:
    rasterio's writer cannot set such a nodata, it writes -2**63 as -9)."""
    data = smooth_field(np.random.default_rng(4), 16, 20, 3, 200, 4000).round().astype(dtype)
    data[:, :, :6] = np.array(nodata, dtype)
    return exact_nodata_vrt(tmp_path, data, nodata, georef=False)


@pytest.mark.parametrize("dtype,nodata,fix,fits", [
    ("uint64", 2**64 - 1, "-ot UInt32 -a_nodata 4294967295", "UInt32 (0..4294967294"),
    ("int64", -2**63, "-ot Int32 -a_nodata -2147483648", "Int32 (-2147483647..2147483647"),
    ("int64", 2**53 + 1, "-ot Int32 -a_nodata 2147483647", "Int32 (-2147483648..2147483646")])
def test_a_64_bit_nodata_float64_cannot_hold_is_refused(tmp_path, tiny_model, tiny_model_file, dtype, nodata, fix,
                                                        fits):
    """GDAL passes nodata as float64. Before: uint64's 2**64 - 1 read as none (its nodata pixels
    were super-resolved as data: 6e17 in the output, no nodata), int64's -2**63 was written on the
    output as nodata -9 (its nodata pixels unmarked), 2**53 + 1 as 2**53; each after three lines of
    GDAL's 'GetNoDataValue() returns an approximate value'. The refusal says when its conversion keeps
    every value and how to see it (the conversion clamps a value beyond the 32-bit type onto its
    ends: one valid could become nodata), and that the nodata given instead is for a file none of
    whose pixels holds its own ('none' on a file that holds it super-resolves that fill as data).
    Before: 'convert the bands first if their data fit in 32 bits, ...' and '... or give the nodata
    yourself (--nodata VALUE, or none: every value is data)', unqualified."""
    from ldcsr_core.cli import main
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window
    from ldcsr_core.geo.raster_io import dataset_from_array, open_raster

    src, out = _wide_nodata_scene(tmp_path, dtype, nodata), tmp_path / "o.tif"
    with rasterio.open(src) as s:  # a dataset opened without open_raster is held to the same rule
        assert not s.read_masks(1)[:, :6].any() and s.read_masks(1)[:, 6:].all()  # GDAL knows it exactly
        with pytest.raises(InputError, match=f"its nodata {nodata} .{dtype} bands. cannot be read"):
            upscale_window(s, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"))
    run = ["upscale", str(src), "-o", str(out), "-s", "2", "--mode", "fast", "--model", str(tiny_model_file)]
    r = CliRunner().invoke(main, run)
    assert r.exit_code == 3, r.output
    assert (f"s.vrt: its nodata {nodata} ({dtype} bands) cannot be read or written exactly: GDAL passes "
            f"nodata values as float64") in r.output
    assert (f"; if its values fit in {fits}; gdalinfo -mm in.tif shows them), convert the bands first: gdal_translate "
            f"{fix} in.tif out.tif (its nodata pixels take the new value, its values unchanged; one beyond that range "
            "would be changed, clamped); or, if no pixel holds that nodata, give the nodata yourself (--nodata VALUE, "
            "or none: every value is data)\n") in r.output, r.output
    assert "approximate" not in r.output and not out.exists()
    r = CliRunner().invoke(main, [*run, "--nodata", "none"])
    assert r.exit_code == 0, r.output  # the user's nodata replaces the file's
    with pytest.raises(InputError, match=rf"nodata '4611686018427387904': on the {dtype} bands of .*b.tif it cannot"):
        open_raster(tmp_path / "b.tif", nodata=2.0**62)
    with pytest.raises(InputError, match=r"the array: the nodata -9.2233720368547758e\+18 \(int64 bands\) cannot"):
        dataset_from_array(np.zeros((3, 4, 4), "int64"), nodata=-2**63)


def test_a_float32_nodata_float32_cannot_hold_masks_what_gdal_masks(tmp_path, tiny_model_file):
    """A float32 band's nodata is the float32 nearest to the value given (-3.4e38, the usual fill,
    is -3.3999999521443642e+38 in float32), as GDAL and QGIS mask it, whatever numpy's promotion
    rules. Before: compared with numpy's (NEP 50 in numpy 2: in float32; numpy 1.x: in float64), so
    under numpy 1.24 (QGIS's Debian numpy) '--nodata -3.4e38' masked nothing and the run failed
    'values reach -3.4e+38 ... Give it as nodata'. Run it under both interpreters."""
    from ldcsr_core.geo.radiometry import is_nodata, valid_mask

    data = smooth_field(np.random.default_rng(6), 16, 20, 3, 0, 1).astype("float32")
    data[:, :, :6] = np.float32(-3.4e38)
    data[0, 10, 10] = np.float32(0.1)
    src, declared = (write_tif(tmp_path / f"{n}.tif", data, dtype="float32") for n in ("f", "d"))
    for nodata in (-3.4e38, np.float64(-3.4e38), 0.1, np.float64(0.1)):
        with rasterio.open(declared, "r+") as ds:
            ds.nodata = nodata
        with rasterio.open(declared) as ds:
            gdal_valid = ds.read_masks() > 0
        assert np.array_equal(valid_mask(data, nodata), gdal_valid), nodata
        assert is_nodata(data, nodata).sum() == (~gdal_valid).sum() > 0
    assert not is_nodata(data, 1e39).any() and not is_nodata(np.array([np.inf], "float32"), 1e39).any()
    r = _run(src, "-o", tmp_path / "o.tif", "--model", tiny_model_file, "--nodata", "-3.4e38")
    assert r.exit_code == 0, r.output
    out, nodata, _ = _read(tmp_path / "o.tif")
    assert np.float32(nodata) == np.float32(-3.4e38)
    assert (out[:, :, :12] == np.float32(-3.4e38)).all() and (np.abs(out[:, :, 12:]) < 10).all()


def test_several_nodata_values_are_each_nodata_and_the_first_is_declared(tmp_path, tiny_model):
    """QGIS's file nodata with an 'Additional no data value' (0 and 255): one engine rule,
    UpscaleOptions(nodata=(0, 255)), gives what one fill value declared gives (the 255 fill kept out
    of the model and written as 0, the output's nodata). Before: a tuple was refused ('nodata must
    be a number'), so QGIS used the file's value alone and super-resolved the 255 fill as data."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.nodata_override import parse_nodata
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    data = smooth_field(np.random.default_rng(9), 40, 40, 3, 20, 230).round().astype(np.uint8)
    data[:, :, :8] = 0
    one = data.copy()
    data[:, :, 32:] = 255
    one[:, :, 32:] = 0
    two = write_tif(tmp_path / "two.tif", data, dtype="uint8", nodata=0, colorinterp=RGB)
    ref = write_tif(tmp_path / "one.tif", one, dtype="uint8", nodata=0, colorinterp=RGB)
    opts = {"model": tiny_model, "scale": 2}
    upscale_raster(two, tmp_path / "o2.tif", options=UpscaleOptions(mode="fast", nodata=[0, 255.0, 0]), **opts)
    upscale_raster(ref, tmp_path / "o1.tif", options=UpscaleOptions(mode="fast"), **opts)
    (a, nd_a, tags), (b, nd_b, _) = _read(tmp_path / "o2.tif"), _read(tmp_path / "o1.tif")
    assert nd_a == nd_b == 0 and np.array_equal(a, b) and (a[:, :, 64:] == 0).all()
    assert tags["LDCSR_NODATA"] == '{"used": ["0.0", "255.0"], "file": "0.0"}'
    assert parse_nodata((7,)) == 7.0 and parse_nodata([float("nan"), float("nan"), 1])[1] == 1.0
    for bad, says in (((0, "none"), "nodata values must be numbers"), ((), "none given")):
        with pytest.raises(InputError, match=says):
            parse_nodata(bad)
    with pytest.raises(InputError, match="nodata '300': no uint8 pixel"):
        upscale_raster(two, tmp_path / "o3.tif", options=UpscaleOptions(mode="fast", nodata=(0, 300)), **opts)


def test_nodata_ranges_and_values_by_band_are_each_bands_nodata(tmp_path, tiny_model):
    """QGIS's no-data ranges (a noisy dark border, 0..5) and values set by band: one engine rule,
    UpscaleOptions(nodata=(NodataRange(0, 5),)) or {band: values}, gives what the same pixels
    declared as one value give (kept out of the model, the output's nodata on them). Before: neither
    could be said (a range or a dict was 'nodata must be a number'), so QGIS warned and ran with the
    file's nodata: the border was super-resolved as data."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.nodata_override import NodataRange
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    rng = np.random.default_rng(9)
    data = smooth_field(rng, 40, 40, 3, 20, 230).round().astype(np.uint8)
    noisy = data.copy()
    noisy[:, :, :8] = rng.integers(0, 6, (3, 40, 8))
    data[:, :, :8] = 0
    src = write_tif(tmp_path / "noisy.tif", noisy, dtype="uint8", colorinterp=RGB)
    ref = write_tif(tmp_path / "ref.tif", data, dtype="uint8", nodata=0, colorinterp=RGB)
    opts = {"model": tiny_model, "scale": 2}
    upscale_raster(ref, tmp_path / "ref_o.tif", options=UpscaleOptions(mode="fast"), **opts)
    want, _, _ = _read(tmp_path / "ref_o.tif")
    for i, nodata in enumerate([NodataRange(0, 5), NodataRange(float("-inf"), 5),  # unbounded below (QGIS's NaN end)
                                {1: NodataRange(0, 5.5), 2: (NodataRange(0, 5),), 3: [0, 5]}]):
        if i == 2:
            noisy[2, :, :8] = rng.choice([0, 5], (40, 8))  # band 3: two values, not a range
            src = write_tif(tmp_path / "noisy3.tif", noisy, dtype="uint8", colorinterp=RGB)
        upscale_raster(src, tmp_path / f"o{i}.tif", options=UpscaleOptions(mode="fast", nodata=nodata), **opts)
        got, nd, tags = _read(tmp_path / f"o{i}.tif")
        assert nd == 0 and np.array_equal(got, want), i
    assert tags["LDCSR_NODATA"] == ('{"used": {"1": "0.0..5.5", "2": "0.0..5.0", "3": ["0.0", "5.0"]}, '
                                    '"file": null}')
    upscale_raster(src, tmp_path / "b1.tif", options=UpscaleOptions(mode="fast", nodata={1: NodataRange(0, 5)}),
                   **opts)
    got, nd, tags = _read(tmp_path / "b1.tif")  # band 1's alone: the others' border is data
    assert nd == 0 and (got[0, :, :16] == 0).all() and (got[1:, :, 16:] != 0).all() and (got[1:, :, :16] != 0).any()
    for bad, says in (({4: 0}, "nodata '4=0': .*noisy3.tif has no band 4 .it has 3."),
                      (NodataRange(300, 400), "nodata '300:400': no uint8 pixel of .* can hold any"),
                      ({0: 1}, "bands are numbered from 1")):
        with pytest.raises(InputError, match=says):
            upscale_raster(src, tmp_path / "x.tif", options=UpscaleOptions(mode="fast", nodata=bad), **opts)
    with pytest.raises(InputError, match="the first not above the second"):
        NodataRange(5, 0)
    assert not (tmp_path / "x.tif").exists()
