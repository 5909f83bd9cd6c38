"""What the user types or picks before a Run, in a real viewer: the Output pixel and Tile boxes,
a Shapes rectangle on pixel edges, layers LDCSR cannot super-resolve."""

from __future__ import annotations

import numpy as np
import pytest
from ldcsr_core.rules import MAX_SCALE, MIN_TILE_IN
from qtpy.QtCore import Qt

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

SAMPLE = ("napari-ldcsr", "neon_osbs")


def _errors(notes):
    return [text for sev, text in notes if sev in ("error", "warning")]


def _type(qtbot, box, text: str) -> None:
    """Type ``text`` into a magicgui spin box as a user does (select all, type, Return)."""
    line = box.native.lineEdit()
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_typed_output_pixel_shows_what_the_run_makes_and_out_of_range_is_clamped(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    (src,) = viewer.open_sample(*SAMPLE)  # 0.1 m pixels
    box = widget.form.pixel
    _type(qtbot, box, "0.03")
    assert widget.scale == pytest.approx(3.33)  # the scale box's two decimals
    assert widget.output_pixel_size == pytest.approx(0.1 / 3.33)  # what the run makes, not 0.03
    assert box.native.text() == "0.03003 m" and not _errors(notes)
    # finer than the ×8 limit: reported and clamped, as a scale typed in the scale box
    _type(qtbot, box, "0.005")
    assert widget.scale == MAX_SCALE and box.native.text() == "0.01250 m"
    assert "Output pixel 0.005 m" in _errors(notes)[-1] and "out of range" in _errors(notes)[-1]
    # coarser than the source (×1): the same
    n = len(_errors(notes))
    _type(qtbot, box, "0.5")
    assert widget.scale == 1.0 and box.native.text() == "0.10000 m"
    assert len(_errors(notes)) == n + 1 and "Output pixel 0.5 m" in _errors(notes)[-1]
    # in range again
    widget.set_output_pixel_size(0.025)
    assert widget.scale == pytest.approx(4.0) and box.native.text() == "0.02500 m"


def test_setters_clamp_values_beyond_the_boxes_too(ldcsr, qtbot, notes):
    """set_scale/set_output_pixel_size report and clamp any value, as documented, also beyond what
    the boxes take (scale 0…100, pixel 0…100 source pixels). Before, magicgui's 'value 1000000000.0
    is outside of the allowed range: (0.0, 100.0)' was raised, and for a layer that is not
    georeferenced '... (0.0, 0.0)'."""
    viewer, widget = ldcsr
    plain = viewer.add_image(np.zeros((40, 40), np.uint8), name="plain")
    for value, clamped in ((1e9, MAX_SCALE), (-3, 1.0), (float("nan"), 1.0)):
        widget.set_scale(2.0)
        n = len(notes)
        widget.set_scale(value)
        assert widget.scale == clamped
        assert notes[n:] == [("warning", f"Scale {value:g} is out of range: LDCSR scales between 1.00 and "
                                         f"{MAX_SCALE:.2f}. Using {clamped:.2f}.")]
    with pytest.raises(ValueError, match="^'plain' is not georeferenced: there is no output pixel size to type; "
                                         "set the scale instead$"):
        widget.set_output_pixel_size(0.5)
    (src,) = viewer.open_sample(*SAMPLE)  # 0.1 m pixels
    widget.set_layer(src)
    widget.set_output_pixel_size(1e6)  # coarser than the source by far: ×1
    assert widget.scale == 1.0 and "Output pixel 1e+06 m" in _errors(notes)[-1]
    widget.set_output_pixel_size(-1)  # no pixel size: the finest scale
    assert widget.scale == MAX_SCALE and "out of range" in _errors(notes)[-1]
    assert widget.form.pixel.native.text() == "0.01250 m" and plain in viewer.layers


def test_tile_below_the_minimum_is_reported_and_raised(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    box = widget.form.tile
    _type(qtbot, box, "7")
    assert widget.tile == MIN_TILE_IN and box.value == MIN_TILE_IN
    assert f"at least {MIN_TILE_IN} input pixels" in _errors(notes)[-1]
    n = len(notes)
    _type(qtbot, box, "64")  # typed digit by digit: only the complete value counts
    assert widget.tile == 64 and len(notes) == n
    _type(qtbot, box, "0")
    assert widget.tile is None and box.value == 0 and len(notes) == n  # 0 = auto stays
    widget.tile = 5
    assert widget.tile == MIN_TILE_IN and len(_errors(notes)) == n + 1
    # and a run with it works (the engine refused tiles below MIN_TILE_IN in the worker)
    src = viewer.add_image(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8), name="img")
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert widget.last_result is not None and len(_errors(notes)) == n + 1


def test_a_tile_above_4096_is_taken_as_the_engine_cli_and_qgis_take_it(ldcsr, qtbot, notes):
    """Before: the box stopped at 4096 (typing 10000 left 1000) and a script's widget.tile = 8192
    raised magicgui's 'value 8192 is outside of the allowed range: (0, 4096)', though --tile, QGIS's
    Tile size and the engine take any side of at least MIN_TILE_IN."""
    from ldcsr_core.errors import InputError

    _, widget = ldcsr
    widget.tile = 8192
    assert widget.tile == 8192
    _type(qtbot, widget.form.tile, "10000")
    assert widget.tile == 10000 and not _errors(notes)
    with pytest.raises(InputError, match=f"^tile must be a whole number of at least {MIN_TILE_IN} input pixels, "
                                         "got -1$"):
        widget.tile = -1
    assert widget.tile == 10000


def test_shapes_rectangle_on_pixel_edges_selects_just_those_pixels(ldcsr, qtbot, notes):
    """napari stores Shapes vertices as float32: edges at data columns 19.5 and 44.5 of a layer
    with scale 2.5 and translate (13.7, -40.2) come back as 44.50000122; that is no 26th column."""
    viewer, widget = ldcsr
    rng = np.random.default_rng(4)
    src = viewer.add_image(rng.random((60, 80), dtype=np.float32), name="img", scale=(2.5, 2.5),
                           translate=(13.7, -40.2))
    (y0, x0), (y1, x1) = (src.data_to_world((r, c)) for r, c in ((9.5, 19.5), (39.5, 44.5)))
    shapes = viewer.add_shapes([[[y0, x0], [y0, x1], [y1, x1], [y1, x0]]], shape_type="rectangle", name="roi")
    assert shapes.data[0].dtype == np.float32
    widget.set_region("shapes", shapes)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert widget.last_result.metadata["ldcsr"]["region"] == {"row0": 10, "col0": 20, "rows": 30, "cols": 25}
    assert widget.last_result.data.shape == (60, 50) and not _errors(notes)


def test_boolean_layers_are_refused(ldcsr, qtbot, notes):
    viewer, widget = ldcsr
    mask = viewer.add_image(np.zeros((32, 32), dtype=bool), name="mask")
    assert widget.run(layer=mask, scale=2.0) is False
    assert _errors(notes)[-1] == "'mask' is a boolean (mask) layer; LDCSR super-resolves images, not masks."
    n = len(notes)
    assert widget.check_quality(mask) is False and "boolean (mask)" in _errors(notes)[-1] and len(notes) > n
    assert len(viewer.layers) == 1 and not widget.busy


@pytest.mark.parametrize("dtype", ["float16"])  # (napari cannot show complex layers at all)
def test_half_float_layers_are_refused_before_any_work(ldcsr, qtbot, notes, dtype):
    """GeoTIFF and the engine's raster path have no float16: refused at once, not after the run."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.ones((32, 32), dtype=dtype), name="odd")
    assert widget.run(layer=src, scale=2.0) is False and widget.check_quality(src) is False
    assert _errors(notes)[-1] == (f"'odd' holds {dtype} pixels; LDCSR (like GeoTIFF) takes integer, float32 or "
                                  "float64 images: save it in one of those types first.")
    assert len(viewer.layers) == 1 and not widget.busy


def test_a_scale_that_does_not_enlarge_the_region_is_a_plain_message(ldcsr, qtbot, notes):
    """×1.01 of a 40×41 px layer rounds to 40×41 px: refused with a sentence, not a traceback."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.zeros((40, 41), dtype=np.uint8), name="small")
    widget.set_scale(1.01)
    assert widget.scale == pytest.approx(1.01)
    assert widget.run(layer=src) is False
    assert _errors(notes)[-1] == ("Scale 1.01 does not enlarge the 40×41 px region on each side (each must gain "
                                  "a whole pixel); choose 1.02 or more.")
    assert len(viewer.layers) == 1 and not widget.running
    # 40×200 px: 40 rows stay 40 at ×1.01 while the columns grow to 202. Before: run at ×1 in height
    wide = viewer.add_image(np.zeros((40, 200), dtype=np.uint8), name="wide")
    assert widget.run(layer=wide) is False
    assert _errors(notes)[-1] == ("Scale 1.01 does not enlarge the 40×200 px region on each side (each must gain "
                                  "a whole pixel); choose 1.02 or more.")
    assert len(viewer.layers) == 2 and not widget.running


def test_results_keep_the_sources_units_and_axis_labels(ldcsr, qtbot, notes):
    """A layer in metres: the result and its bicubic baseline are in metres too (else napari warns
    'Inconsistent units across layers' and drops the units of every layer)."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(5).integers(0, 255, (40, 41), dtype=np.uint8), name="img",
                           scale=(0.5, 0.5), units=("m", "m"), axis_labels=("north", "east"))
    widget.set_bicubic(True)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    out, bic = widget.last.result, widget.last.bicubic
    for layer in (out, bic):
        assert tuple(str(u) for u in layer.units) == ("meter", "meter")
        assert tuple(layer.axis_labels) == ("north", "east")
    assert not _errors(notes)


@pytest.mark.parametrize("bands, said", [("5,6,7", "band 5 does not exist: the image has bands 1..4"),
                                         ("0", "band 0 does not exist: the image has bands 1..4"),
                                         ("4,3,2", "band 4 is an alpha band (a mask), it cannot be a colour band")])
def test_bands_the_layer_does_not_have_are_refused_before_any_work(ldcsr, qtbot, notes, bands, said):
    """Bands (R,G,B) naming a band the layer lacks (or its alpha band): refused at once with the
    engine's sentence, as a nodata it cannot hold is. Before, the run started, loaded the model and
    copied the layer, then failed."""
    viewer, widget = ldcsr
    pixels = np.zeros((40, 40, 4), dtype=np.uint8)
    pixels[..., 3] = 255  # opaque: pixels of data (an alpha of 0 is nodata everywhere, said before a run since review36b)
    src = viewer.add_image(pixels, name="rgba")
    widget.form.bands.value = bands
    assert widget.run(layer=src, scale=2.0) is False and not widget.running
    assert _errors(notes)[-1] == f"'rgba' cannot be run with Bands {bands}: {said}"
    assert widget.provider_calls == [] and len(viewer.layers) == 1
    widget.form.bands.value = "3,2,1"  # bands it has: runs
    n = len(notes)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes[n:]) and len(viewer.layers) == 2


def test_bands_typed_with_spaces_between_them_are_those_bands(ldcsr, notes):
    """Bands (R,G,B) typed '3 2 1' is bands 3, 2, 1, and '1 2' two bands (refused by Run and Check quality alike in
    the words a comma list gets), the engine's parse_bands, as `ldcsr upscale --bands`. Before, the spaces were
    dropped and the digits read as one band: 'band 321 does not exist', and '1 2' was band 12, which a Sentinel-2
    stack has: a Run of band 12 alone."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.zeros((40, 40, 3), dtype=np.uint8), name="rgb")
    widget.form.bands.value = "1 2"
    assert widget.run(layer=src, scale=2.0) is False and widget.check_quality(src) is False
    assert _errors(notes) == ["Bands (R,G,B) must name 1 or 3 bands (e.g. '3,2,1'), got 2: '1 2'"] * 2
    for typed in ("3 2 1", " 3, 2 ,1 ", "3  2\t1"):
        widget.form.bands.value = typed
        assert widget.settings().bands == (3, 2, 1), typed
    assert widget.provider_calls == [] and not widget.busy


def test_a_quality_check_with_bands_an_array_lacks_names_no_file(ldcsr, qtbot, notes):
    """A layer made in memory has no file: Check quality with Bands it lacks says 'the image has
    bands 1..3' (the engine's rule for an array), as Run does. Before, 'the file has bands 1..3'. Since
    nodata36 it is refused at once, before the model loads (the look at its pixels for data reads its bands);
    before, the check started and failed: 'LDCSR could not check the quality: band 5 does not exist: …'."""
    viewer, widget = ldcsr
    src = viewer.add_image(np.zeros((40, 40, 3), dtype=np.uint8), name="rgb")
    widget.form.bands.value = "5,6,7"
    assert not widget.check_quality(src)
    assert notes == [("error", "band 5 does not exist: the image has bands 1..3")]
    assert widget.provider_calls == [] and not widget.busy


def test_a_layer_not_in_the_viewer_is_refused_before_any_work(ldcsr, qtbot, notes):
    """run(layer=...), check_quality(...), adapt_to_layer(...) with a layer removed since (a script's
    stale reference): refused at once (check_layer). Before, the whole run was computed, then 'was
    removed during the run; the result was not added.' while the status line kept '1 / 1 tiles ·
    finishing…'."""
    viewer, widget = ldcsr
    gone = viewer.add_image(np.zeros((40, 40), np.uint8), name="gone")
    viewer.layers.remove(gone)
    widget.set_scale(2.0)
    assert widget.run(layer=gone) is False and not widget.running
    assert widget.check_quality(gone) is False and widget.adapt_to_layer(gone, minutes=0.1) is False
    assert _errors(notes) == ["'gone' is not a layer of this viewer; pick one of its image layers."] * 3
    assert widget.provider_calls == [] and len(viewer.layers) == 0 and not widget.busy


def test_a_decimal_comma_typed_is_a_decimal_mark(ldcsr, qtbot, notes):
    """'2,5' typed in the Scale box (into its text or with the box focused, as napari's window sends keys) or pasted is
    ×2.5, and '0,04' in Output pixel 0.04 m, as with a point. Before, Qt took the comma for a thousands separator:
    'Scale 25 is out of range … Using 8.00.', and a Run at ×8."""
    from qtpy.QtGui import QKeySequence
    from qtpy.QtWidgets import QApplication

    viewer, widget = ldcsr
    box = widget.form.scale
    _type(qtbot, box, "2,5")
    assert widget.scale == 2.5 and box.native.text() == "2.50" and not _errors(notes)
    box.native.selectAll()
    qtbot.keyClicks(box.native, "3,75")
    qtbot.keyClick(box.native, Qt.Key.Key_Return)
    assert widget.scale == 3.75 and not _errors(notes)
    QApplication.clipboard().setText("1,5")
    box.native.selectAll()
    qtbot.keySequence(box.native, QKeySequence.StandardKey.Paste)
    qtbot.keyClick(box.native, Qt.Key.Key_Return)
    assert widget.scale == 1.5 and not _errors(notes)
    (src,) = viewer.open_sample(*SAMPLE)  # 0.1 m pixels
    widget.set_layer(src)
    _type(qtbot, widget.form.pixel, "0,04")
    assert widget.scale == 2.5 and widget.form.pixel.native.text() == "0.04000 m" and not _errors(notes)
