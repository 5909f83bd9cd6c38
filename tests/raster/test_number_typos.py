"""A scale or pixel size typed with an underscore (``-s 1.2_5``) is refused as no number: Python's ``float`` reads
``1.2_5`` as 1.25 (its digit separator), so ``ldcsr`` ran ×1.25 where the user meant ×1.25 or ×1.2 and mistyped (a
whole number grouped so, ``--seed 1_000``, stays read as its digits say, 1000, as ``int`` does). The real CLI on a real
GeoTIFF."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif


@pytest.mark.parametrize("command, option, typed", [
    ("upscale", "-s", "1.2_5"), ("upscale", "-r", "0.0_7"), ("selfcheck", "-s", "1.2_5"), ("adapt", "-s", "2_0"),
    ("evaluate", "--scales", "2,2_5"), ("train", "--scale-range", "1.2 2_5"),
])
def test_a_scale_or_pixel_size_with_an_underscore_is_no_number(tmp_path, command, option, typed):
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8")
    args = {"upscale": [str(src), "-o", str(tmp_path / "o.tif")], "selfcheck": [str(src)],
            "adapt": [str(src), "-o", str(tmp_path / "m.safetensors")], "evaluate": [str(tmp_path)],
            "train": [str(tmp_path), "--out", str(tmp_path / "m.safetensors")]}[command]
    r = CliRunner().invoke(main, [command, *args, option, *typed.split(), "--device", "cpu"])
    what = "target resolution" if option == "-r" else "scale"
    # before: ×1.25, ×1.25 checked, a 20x scale 'must be > 1 and <= 8', '2_0 is not in the range', …
    assert r.exit_code == 2 and f"{what} must be a number, got '{typed.split()[-1].split(',')[-1]}'" in r.output, \
        r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]  # nothing written


def test_selfcheck_says_a_bad_scale_in_upscales_words(tmp_path):
    """Before: ''abc' is not a valid float range' and '9.0 is not in the range 1.0<x<=8.0' (click's words), where
    upscale -s says 'scale must be a number' and 'scale must be > 1 and <= 8'."""
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8")
    for typed, said in (("abc", "scale must be a number, got 'abc'"), ("9", "scale must be > 1 and <= 8, got '9'"),
                        ("2,3", "scale must be one number, got '2,3'")):
        r = CliRunner().invoke(main, ["selfcheck", str(src), "-s", typed])
        assert r.exit_code == 2 and said in r.output, r.output


@pytest.mark.parametrize("command, option, typed", [
    ("upscale", "-s", "1 .5"), ("upscale", "-r", "1 0"), ("upscale", "-s", "2, 2 .5"), ("selfcheck", "-s", "1. 5"),
    ("adapt", "-s", "2 .5"), ("evaluate", "--scales", "2, 2 .5"),
])
def test_a_blank_inside_a_scale_or_pixel_size_is_no_number(tmp_path, command, option, typed):
    """Before: blanks were taken out before reading ('-r "1 0"' ran 10 m pixels, '-s "1 .5"' ×1.5, a typo of 1.5 or 1,
    which QGIS's field refuses); now only those around a number or a comma are ('-s " 2, 3 "' is still ×2 × ×3)."""
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8")
    args = {"upscale": [str(src), "-o", str(tmp_path / "o.tif")], "selfcheck": [str(src)],
            "adapt": [str(src), "-o", str(tmp_path / "m.safetensors")], "evaluate": [str(tmp_path)]}[command]
    r = CliRunner().invoke(main, [command, *args, option, typed, "--device", "cpu"])
    what = "target resolution" if option == "-r" else "scale"
    wrong = typed if command != "evaluate" else typed.split(",")[-1].strip()
    assert r.exit_code == 2 and f"{what} must be a number, got '{wrong}'" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]  # nothing written


def test_blanks_around_a_scale_and_its_comma_are_read(tmp_path):
    from ldcsr_core.cli.options import PairType, ScaleListType

    assert PairType("scale").convert(" 2 , 3 ", None, None) == (2.0, 3.0)
    assert ScaleListType().convert(" 2, 2.5 ,4", None, None) == [2.0, 2.5, 4.0]


@pytest.mark.parametrize("command", ["selfcheck", "train"])
def test_an_empty_scale_where_one_number_is_asked_says_one_number(tmp_path, command):
    """Before: "scale must be one number or 'X,Y', got ''" (upscale's words) for an option that refuses 'X,Y'."""
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8")
    args = {"selfcheck": [str(src), "-s", " "],
            "train": [str(tmp_path), "--out", str(tmp_path / "m.safetensors"), "--scale-range", "", "4"]}[command]
    r = CliRunner().invoke(main, [command, *args])
    assert r.exit_code == 2 and "scale must be one number, got '" in r.output and "X,Y" not in r.output, r.output


@pytest.mark.parametrize("option, typed, shape", [("-s", "２．５", (100, 120)), ("-s", "２．５,３", (120, 120)),
                                                   ("-r", "４．０", (100, 120))])
def test_a_full_width_decimal_point_is_read_as_a_point(tmp_path, option, typed, shape):
    """'２．５' as a Japanese or Chinese input method types it (full-width digits and point): before, 'scale must be a
    number, got '２．５'' (exit 2), while '２.５' ran ×2.5 (float reads full-width digits); now ×2.5 (-r ４．０: 4 m
    pixels of 10 m ones), as QGIS's fields read it."""
    import rasterio

    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 48)), dtype="uint8")
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), option, typed, "--mode", "fast",
                                  "--device", "cpu"])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.shape == shape


def test_a_full_width_point_is_read_by_every_scale_option_and_no_other_form_is():
    """selfcheck/adapt -s, evaluate --scales, train --scale-range (ScaleType, ScaleListType) read '２．５' as upscale
    does; a superscript ('2⁵', which NFKC reads as 25) or the ideographic full stop ('２。５') stay no number."""
    import click

    from ldcsr_core.cli.options import ScaleListType, ScaleType

    assert ScaleType().convert("２．５", None, None) == 2.5
    assert ScaleListType().convert("２,３．５", None, None) == [2.0, 3.5]
    for typed in ("2⁵", "２。５", "1．2．5"):
        with pytest.raises(click.BadParameter, match="scale must be a number"):
            ScaleType().convert(typed, None, None)


def test_a_full_width_comma_parts_what_it_types_as_a_comma_does(tmp_path):
    """The same input method types the comma between a pair's or list's numbers full-width too ('２．５，３'): before,
    'scale must be a number, got '２．５，３'' (exit 2; '２．５,３' ran), evaluate --scales '２，３．５' and selfcheck
    --window '０，０，３２，３２' alike; now read as their ',' (X ×2.5, Y ×3), a scale option of one number says it takes
    one, and the ideographic comma ('２、３') stays no number."""
    import click
    import rasterio

    from ldcsr_core.cli.options import ScaleListType, ScaleType
    from ldcsr_core.cli.selfcheck_cmd import parse_window

    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 48)), dtype="uint8")
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "２．５，３", "--mode",
                                  "fast", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.shape == (120, 120)  # (X ×2.5, Y ×3, as "２．５,３")
    assert ScaleListType().convert("２，３．５", None, None) == [2.0, 3.5]
    assert parse_window("０，０，３２，３２") == (0, 0, 32, 32)
    with pytest.raises(click.BadParameter, match="scale must be one number, got"):
        ScaleType().convert("２，３", None, None)
    with pytest.raises(click.BadParameter, match="scale must be a number, got"):
        ScaleType().convert("２、３", None, None)
