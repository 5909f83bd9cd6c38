"""A scale said for the user to type back (the ``ldcsr selfcheck -s`` that ends upscale's notes, the note's own
``×``) is the very scale the run took: ``-s 1.2345678`` was said ``×1.23457``/``-s 1.23457`` (``:g``), a pasted command
that measured another scale. Real GeoTIFFs through the real ``ldcsr upscale`` (fast mode, the shipped model)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin

from ldcsr_core.cli import main

from .conftest import write_tif


def _notes(tmp_path, scale: str, pixel: float) -> list[str]:
    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8",
                    transform=from_origin(600000.0, 5340000.0, pixel, pixel))
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", scale, "--mode", "fast",
                                  "--device", "cpu"])
    assert r.exit_code == 0 and (tmp_path / "o.tif").exists(), r.output
    return [line for line in r.output.splitlines() if line.startswith("note: ")]


def _evaluate(tmp_path, scales: str, side: int) -> list[str]:
    """The last 3 lines of ``ldcsr evaluate --scales SCALES`` (its table's rows, under its header) of a folder of two
    random ``side``-px PNGs."""
    from PIL import Image

    (tmp_path / "set").mkdir()
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (side, side, 3), dtype=np.uint8)).save(
            tmp_path / "set" / f"{i}.png")
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path / "set"), "--scales", scales, "--device", "cpu"])
    assert r.exit_code == 0, r.output
    return r.output.splitlines()[-3:]


# (the scale typed, the scene's pixel in metres: ×1.2345678 below the trained scales, its 1 m pixels inside the trained
# ground; ×2.3456789 of 10 m pixels makes 4.26 m ones, outside it)
@pytest.mark.parametrize("scale, pixel", [("1.2345678", 1.0), ("2.3456789", 10.0)])
def test_the_pasted_selfcheck_command_measures_the_scale_of_the_run(tmp_path, scale, pixel):
    (note,) = _notes(tmp_path, scale, pixel)
    pasted = re.search(r"ldcsr selfcheck \S+ -s (\S+) ", note).group(1)
    assert pasted == scale and float(pasted) == float(scale), note  # before: -s 1.23457, -s 2.34568
    assert f"×{scale} " in note, note  # the note says the scale as its command does


def test_a_scale_as_typed_back_reads_back_as_the_same_float():
    from ldcsr_core.words import scale_typed

    for value in (2.0, 1.1, 1.2345678, 0.1 + 0.2, 10 / 3, 123456789.0):
        assert float(scale_typed(value)) == value
    assert (scale_typed(2.0), scale_typed(1.2345678), scale_typed(4)) == ("2", "1.2345678", "4")


def test_the_pasted_selfcheck_command_of_a_target_resolution_run_measures_it_as_at_the_runs_scale(tmp_path):
    """'-r 0.07' of a 0.3 m scene of 60 px is ×4.2857 (257 px made): before, the note pasted '-s 4.29' (the shortest
    scale that makes 257 px), whose self-check degrades the scene to 13 px, not the 14 px of ×4.2857 (other figures
    than QGIS's report of that run, which checks at ×4.2857); now '-s 4.28', which makes 257 px and checks 14 px."""
    import json
    import shlex

    import rasterio

    from ldcsr_core.geo.georef import scale_for_resolution
    from ldcsr_core.geo.raster_io import raster_info

    src = write_tif(tmp_path / "in.tif", np.random.default_rng(3).integers(0, 255, (3, 60, 60)), dtype="uint8",
                    transform=from_origin(600000.0, 5340000.0, 0.3, 0.3))
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-r", "0.07", "--mode", "fast",
                                  "--device", "cpu"])
    (note,) = [line for line in r.output.splitlines() if line.startswith("note: ")]
    pasted = shlex.split(note.rsplit("; ", 1)[1].removesuffix(" measures it on the scene"))
    scale = pasted[pasted.index("-s") + 1]
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.shape == (round(60 * float(scale)),) * 2, note  # the pasted scale makes the run's size
    with rasterio.open(src) as ds:
        exact = sum(scale_for_resolution(raster_info(ds), 0.07)) / 2  # the run's scale (QGIS's report checks at it)

    def figures(*args):
        report = tmp_path / f"check{len(list(tmp_path.glob('check*')))}.json"
        done = CliRunner().invoke(main, [*args, "--json", str(report)])
        assert done.exit_code == 0, done.output
        (res,) = json.loads(report.read_text())
        return {k: v for k, v in res.items() if k not in ("scale", "seconds")}

    assert figures(*pasted[1:]) == figures("selfcheck", str(src), "-s", repr(exact), "--mode", "fast", "--device",
                                           "cpu"), note  # before: -s 4.29, SSIM 0.041 vs 0.051
    assert scale == "4.28" and f"at ×{scale} " in note, note


def test_selfcheck_and_evaluate_say_the_scale_given_as_typed(tmp_path):
    """'ldcsr selfcheck -s 1.2345678' said '×1.23457: LDCSR …' (:g), in its HTML report too (and QGIS logged 'self-check
    at ×1.1111111111111112' then '×1.11111: …'), and 'ldcsr evaluate --scales 1.234,1.2345' gave two rows '1.23';
    now the scale whole, each its own row, and the JSON report's scale the number given."""
    import json

    src = write_tif(tmp_path / "in.tif", np.random.default_rng(0).integers(0, 255, (3, 60, 60)), dtype="uint8")
    check = ["selfcheck", str(src), "-s", "1.2345678", "--mode", "fast", "--device", "cpu", "--json"]
    r = CliRunner().invoke(main, [*check, str(tmp_path / "q.json")])
    assert r.exit_code == 0 and r.output.startswith("×1.2345678: LDCSR "), r.output  # before: ×1.23457
    assert json.loads((tmp_path / "q.json").read_text())[0]["scale"] == 1.2345678  # a number, as given
    assert CliRunner().invoke(main, [*check, str(tmp_path / "q.html")]).exit_code == 0
    assert "<td>×1.2345678</td>" in (tmp_path / "q.html").read_text()

    table = _evaluate(tmp_path, "1.234,1.2345,2", 48)
    assert [line.split()[0] for line in table] == ["1.234", "1.2345", "2.00"], table  # before: 1.23, 1.23, 2.00


def test_a_target_resolution_runs_ground_note_says_the_pixel_it_makes(tmp_path):
    """'-r 0.07' of 0.3 m pixels runs at ×4.2857 and writes 0.07 m pixels; its note, which says the scale as its pasted
    selfcheck command (×4.28), said 'make ones of 0.0701 m' (0.3 / 4.28), a pixel the run does not make; now 0.07 m,
    of one input and of a batch alike."""
    import rasterio

    def note(*inputs, out):
        r = CliRunner().invoke(main, ["upscale", *map(str, inputs), "-o", str(out), "-r", "0.07", "--mode", "fast",
                                      "--device", "cpu"])
        assert r.exit_code == 0, r.output
        (said,) = [line for line in r.output.splitlines() if line.startswith("note: ")]
        return said

    scenes = [write_tif(tmp_path / f"{n}.tif", np.random.default_rng(n).integers(0, 255, (3, n, n)), dtype="uint8",
                        transform=from_origin(600000.0, 5340000.0, 0.3, 0.3)) for n in (60, 48)]
    one = note(scenes[0], out=tmp_path / "o.tif")
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert f"{ds.res[0]:.3g}" == "0.07"  # the pixel the run writes
    assert "at ×4.28 the scene's 0.3 m pixels make ones of 0.07 m on the ground" in one, one  # before: 0.0701 m
    (tmp_path / "out").mkdir()
    batch = note(*scenes, out=tmp_path / "out")
    assert batch.startswith("note: 2 of 2 inputs (60.tif, 48.tif) make pixels of 0.07 m (of 0.3 m at ×"), batch


def test_evaluates_table_stays_aligned_with_a_scale_typed_whole(tmp_path):
    """'ldcsr evaluate --scales 2,3.14159' printed '3.14159' in the 6-wide scale column, each cell of its row one
    place right of the header's; now the column is as wide as its widest scale, every row's cells under their header."""
    header, *rows = _evaluate(tmp_path, "2,3.14159", 64)
    assert [row.split()[0] for row in rows] == ["2.00", "3.14159"], (header, rows)

    def ends(line):  # where its cells end (each right-aligned under its header)
        return [i + 1 for i, c in enumerate(line) if c != " " and (i + 1 == len(line) or line[i + 1] == " ")]

    assert len(rows[0]) == len(rows[1]) == len(header) and ends(rows[0]) == ends(rows[1]), (header, rows)
