"""An input whose every pixel is nodata, as ``ldcsr upscale`` says it and writes it: no note that its result is
untested ending in a ``ldcsr selfcheck`` command (which refuses a scene without data), and an output that says no
pixel of it was synthesised (``LDCSR_NOTICE``: ``raster_io.NODATA_NOTICE``, not the AI-generated notice), still
taken as complete by a rerun."""

from __future__ import annotations

import numpy as np
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.geo.pipeline import upscale_window
from ldcsr_core.geo.raster_io import AI_NOTICE, NODATA_NOTICE

from .conftest import write_tif


def _upscale(src, dst, model, *more):
    return CliRunner().invoke(main, ["upscale", str(src), "-o", str(dst), "--mode", "fast", "-m", str(model), *more])


def test_no_selfcheck_is_suggested_for_an_input_all_nodata(tmp_path, tiny_model_file):
    """Before: at ×1.1 'note: ×1.1 is below the scales … ; ldcsr selfcheck s.tif -s 1.1 --mode fast measures it on
    the scene' of an input all nodata, a command that refuses it; now no such note (none of its output is the
    model's), and an input with data keeps it."""
    empty = write_tif(tmp_path / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    r = _upscale(empty, tmp_path / "o.tif", tiny_model_file, "-s", "1.1")
    assert r.exit_code == 0, r.output
    assert "every pixel of" in r.stderr and "ldcsr selfcheck" not in r.stderr and "untested" not in r.stderr, r.stderr
    data = write_tif(tmp_path / "d.tif", np.random.default_rng(0).integers(1, 255, (3, 64, 64)), dtype="uint8",
                     nodata=0)
    r = _upscale(data, tmp_path / "do.tif", tiny_model_file, "-s", "1.1")
    assert r.exit_code == 0 and f"ldcsr selfcheck {data} -s 1.1" in r.stderr, r.stderr


def test_an_output_all_nodata_says_no_pixel_was_synthesised(tmp_path, tiny_model_file, tiny_model):
    """Before: its LDCSR_NOTICE said 'AI-generated: the pixels of this image were synthesised by a super-resolution
    model …' though no model ran on any of it; now NODATA_NOTICE, `ldcsr info`'s provenance line says so, and a
    rerun skips it as complete; an output partly nodata, and one of data, keep the AI-generated notice."""
    empty = write_tif(tmp_path / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    r = _upscale(empty, tmp_path / "o.tif", tiny_model_file, "-s", "2")
    assert r.exit_code == 0, r.output
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.tags()["LDCSR_NOTICE"] == NODATA_NOTICE
    info = CliRunner().invoke(main, ["info", str(tmp_path / "o.tif")])
    assert f"provenance:  {NODATA_NOTICE} (" in info.output and "AI-generated" not in info.output, info.output
    r = _upscale(empty, tmp_path / "o.tif", tiny_model_file, "-s", "2")
    assert r.exit_code == 0 and "complete output already there" in r.stderr, r.stderr
    part = np.random.default_rng(0).integers(1, 255, (3, 96, 96))
    part[:, :, 48:] = 0
    part = write_tif(tmp_path / "p.tif", part, dtype="uint8", nodata=0)
    r = _upscale(part, tmp_path / "po.tif", tiny_model_file, "-s", "2", "--tile", "32")
    assert r.exit_code == 0 and " empty)" in r.stderr, r.stderr
    with rasterio.open(tmp_path / "po.tif") as out:
        assert out.tags()["LDCSR_NOTICE"] == AI_NOTICE
    with rasterio.open(empty) as ds:  # the API's result of an array alike
        assert upscale_window(ds, model=tiny_model, scale=2).tags["LDCSR_NOTICE"] == NODATA_NOTICE


def test_the_note_of_a_mask_or_nan_says_what_would_change_it(tmp_path, tiny_model_file):
    """Before: 'is the nodata right? --nodata VALUE, or none: every value is data' of a mask of zeros and of NaN
    pixels, where --nodata none leaves every pixel nodata; now the mask named, and NaN said nodata always."""
    import rasterio
    from rasterio.transform import from_origin

    masked = tmp_path / "m.tif"
    with rasterio.open(masked, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=from_origin(5e5, 4e6, 10, 10)) as ds:
        ds.write(np.full((3, 64, 64), 90, np.uint8))
        ds.write_mask(np.zeros((64, 64), np.uint8))
    nan = write_tif(tmp_path / "n.tif", np.full((3, 64, 64), np.nan), dtype="float64", nodata=float("nan"))
    for src, words in ((masked, "(is its mask right? its mask or alpha band marks every pixel as nodata)"),
                       (nan, "every value is data; NaN, not a number, is nodata always)")):
        r = _upscale(src, tmp_path / f"{src.stem}o.tif", tiny_model_file, "-s", "2", "--nodata", "none")
        assert r.exit_code == 0 and "1 tile (empty: nodata everywhere)" in r.stderr, r.stderr  # --nodata none: still
        assert f"every pixel of {src} is nodata, so its output will be all nodata" in r.stderr and words in r.stderr
