"""A scale that rounds to ×1 on one axis is refused everywhere the output size is planned
(``rules.output_shape``): the API, ``ldcsr upscale`` (exit 3), ``ldcsr info`` and a target pixel size."""

from __future__ import annotations

import numpy as np
import pytest

import ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import InputError
from ldcsr_core.rules import output_shape

from .conftest import write_tif
from .test_ldcsr_cli import assert_clean_error, run


@pytest.fixture
def low(tmp_path):
    """300 px wide, 96 px high: ×1.004 gives 301 × 96 px."""
    data = np.random.default_rng(0).integers(0, 255, (3, 96, 300))
    return write_tif(tmp_path / "low.tif", data, dtype="uint8")


def test_least_scale_adds_a_pixel_and_no_smaller_step_does():
    from ldcsr_core.rules import least_scale

    for n in (2, 4, 40, 96, 100, 999, 15000):
        s = least_scale(n)
        assert round(n * s) > n and round(n * round(s - 1e-4, 4)) <= n, (n, s)
    assert least_scale(96) == 1.0053
    assert least_scale(2_000_000) == 1.0001 and output_shape((2_000_000,) * 2, 1.0001) == (2_000_200,) * 2


def _info_output(path, *args) -> str:
    return next(ln for ln in run("info", path, *args).output.splitlines() if ln.startswith("output:"))


def test_the_pixel_size_suggested_for_a_wide_raster_adds_a_pixel_when_typed_back(tmp_path):
    """2,000,000 x 96 px of 10 m (a VRT, no pixel read): the coarsest target that adds a pixel is
    9.999995 m in width, rounded down in the digits it needs. Before: '10 x 9.89691 metre or finer'
    (6 digits, to the nearest), and 10 is the input's own pixel size."""
    vrt = tmp_path / "wide.vrt"
    vrt.write_text('<VRTDataset rasterXSize="2000000" rasterYSize="96"><SRS>EPSG:32633</SRS>'
                   "<GeoTransform>500000, 10, 0, 5000000, 0, -10</GeoTransform>"
                   + "".join(f'<VRTRasterBand dataType="Byte" band="{b}"/>' for b in (1, 2, 3)) + "</VRTDataset>")
    line = _info_output(vrt, "-r", "9.99999999,9.9")
    assert line.startswith("output:      not possible: target pixel size"), line
    tx, ty = line.split("px in width; ")[1].split(" metre or finer")[0].split(" x ")
    assert (tx, ty) == ("9.999995", "9.8969")
    assert _info_output(vrt, "-r", f"{tx},{ty}").startswith("output:      2000001 x 97 px")


def test_the_finest_target_suggested_is_not_refused_when_typed_back(tmp_path):
    """10.000003 m pixels: the finest target (x8) is 1.2500004 m rounded up to 1.25001. Before:
    '1.25 x 1.25 metre', itself refused as x8.0000024."""
    from rasterio.transform import from_origin

    p = write_tif(tmp_path / "odd.tif", np.zeros((3, 8, 8)), dtype="uint8",
                  transform=from_origin(600000.0, 5340000.0, 10.000003, 10.000003))
    line = _info_output(p, "-r", "1")
    assert "so the finest target is 1.25001 x 1.25001 metre" in line, line
    assert _info_output(p, "-r", "1.25001").startswith("output:      64 x 64 px")


@pytest.mark.parametrize("scale,words,need", [
    (1.004, "scale 1.004 does not enlarge the input's height: 300 x 96 px would give 301 x 96 px",
     "the smallest scale that enlarges both is 1.0053"),
    ((1.004, 2.0), "scale 1.004 in height, 2 in width does not enlarge the input's height: ",
     "it needs at least 1.0053 in height"),
    ((2.0, 1.001), "does not enlarge the input's width: 300 x 96 px would give 300 x 192 px",
     "it needs at least 1.0017 in width"),
    (1.001, "does not enlarge the input's height or width", "the smallest scale that enlarges both is 1.0053"),
])
def test_a_scale_that_keeps_an_axis_is_refused(scale, words, need):
    """Before: (96, 301) for ×1.004 (the model ran at ×1 in height); only both axes kept was refused."""
    with pytest.raises(InputError) as e:
        output_shape((96, 300), scale)
    assert words in str(e.value) and str(e.value).endswith(need)
    assert output_shape((96, 300), 1.0053) == (97, 302)
    assert output_shape((96, 300), (2.0, 1.0017)) == (192, 301)


def test_upscale_refuses_a_scale_that_keeps_an_axis():
    tiny = ldcsr_core.build_model(tiny_test_config(), seed=0)
    with pytest.raises(InputError, match="does not enlarge the input's height"):
        ldcsr_core.upscale(np.zeros((96, 300, 3), np.uint8), 1.004, model=tiny)


def test_upscale_and_info_refuse_a_scale_that_keeps_the_height(low, tmp_path):
    """Before: exit 0, a 301 × 96 px output tagged LDCSR_SCALE_Y=1.0; info showed 'x1 y'."""
    out = tmp_path / "o.tif"
    r = run("upscale", low, "-o", out, "-s", "1.004", "--mode", "fast")
    assert_clean_error(r, "scale 1.004 does not enlarge the input's height", "1.0053", code=3)
    assert not out.exists()
    info = run("info", low, "-s", "1.004")
    assert info.exit_code == 0, info.output
    line = next(ln for ln in info.output.splitlines() if ln.startswith("output:"))
    assert line.startswith("output:      not possible: scale 1.004 does not enlarge the input's height"), line
    line = next(ln for ln in run("info", low, "-s", "1.0053").output.splitlines() if ln.startswith("output:"))
    assert line.startswith("output:      302 x 97 px"), line


def test_a_target_pixel_size_that_keeps_the_height_is_refused_in_its_terms(low):
    """9.9 x 9.95 m of 10 m pixels: 303 px wide but 96 px high. Before: accepted (×1 in height)."""
    r = run("info", low, "-r", "9.9,9.95")
    line = next(ln for ln in r.output.splitlines() if ln.startswith("output:"))
    assert line.startswith("output:      not possible: target pixel size 9.9 x 9.95 metre is too close"), line
    assert "would keep its 96 px in height; 9.96677 x 9.8969 metre or finer adds a pixel on each axis" in line
    line = next(ln for ln in run("info", low, "-r", "9.96677,9.8969").output.splitlines() if ln.startswith("output:"))
    assert line.startswith("output:      301 x 97 px"), line


def test_an_out_shape_that_keeps_an_axis_is_refused_as_a_scale_is(low, tmp_path):
    """out_shape (96, 400) of a 96 × 300 px input is ×1 in height: refused by every building block
    that takes an out_shape, with output_shape's words for a scale. Before: only an out_shape keeping
    both axes was refused; upscale_window wrote 400 × 96 px (the model ran at ×1 in height)."""
    from ldcsr_core.geo.bicubic import bicubic_window
    from ldcsr_core.geo.pipeline import upscale_raster, upscale_window
    from ldcsr_core.tileplan import plan_tiles

    tiny = ldcsr_core.build_model(tiny_test_config(), seed=0)
    words = ("out_shape (96, 400) does not enlarge the input's height: 300 x 96 px would give 400 x 96 px "
             "(width x height, whole pixels; each axis must gain one); the smallest out_shape is (97, 301)")
    out = tmp_path / "o.tif"
    for call in (lambda: output_shape((96, 300), out_shape=(96, 400)),
                 lambda: plan_tiles((96, 300), (96, 400)),
                 lambda: ldcsr_core.plan_for_model(tiny, (96, 300), (96, 400)),
                 lambda: ldcsr_core.upscale(np.zeros((96, 300, 3), np.uint8), out_shape=(96, 400), model=tiny),
                 lambda: upscale_window(low, model=tiny, out_shape=(96, 400)),
                 lambda: bicubic_window(low, out_shape=(96, 400)),
                 lambda: upscale_raster(low, out, model=tiny, out_shape=(96, 400))):
        with pytest.raises(InputError) as e:
            call()
        assert str(e.value) == words
    assert not out.exists()
    with pytest.raises(InputError, match=r"^out_shape \(200, 300\) does not enlarge the input's width: .*"
                                         r"the smallest out_shape is \(97, 301\)$"):
        upscale_window(low, model=tiny, out_shape=(200, 300))
    with pytest.raises(InputError, match=r"out_shape \(48, 48\) does not enlarge the input's height or width"):
        output_shape((96, 300), out_shape=(48, 48))
    assert output_shape((96, 300), out_shape=(97, 301)) == (97, 301)
    from ldcsr_core.tileplan import plan_grid  # the napari lens's per-axis plan, the same rule

    with pytest.raises(InputError, match=r"^out_shape \(96, 400\) does not enlarge the input's height: "):
        plan_grid((96, 300), (96, 400))
