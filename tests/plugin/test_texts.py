"""What an analyst reads in the dock: every control says what it does when hovered, the one-line
texts keep their whole text in their tooltip, and a tooltip's words for a box's special values
are the ones the box shows."""

from __future__ import annotations

import re

import pytest
from qtpy.QtWidgets import (
    QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QLineEdit, QSlider,
)
from superqt import QLabeledSlider

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QSlider)


def _tip(control) -> str:
    """A control's tooltip; a part of a compound control (a labelled slider's slider and number,
    a spin box's text field) shows its whole's."""
    parent = control.parent()
    if isinstance(parent, (QLabeledSlider, QAbstractSpinBox)):
        return control.toolTip() or parent.toolTip()
    return control.toolTip()


def test_every_control_of_the_dock_has_a_tooltip(ldcsr):
    _, widget = ldcsr
    controls = [c for c in widget.findChildren(CONTROLS)]
    assert len(controls) > 25  # the form, Advanced, the rows, Compare and the live lens section
    missing = [f"{type(c).__name__} {getattr(c, 'text', lambda: '')()!r}" for c in controls if not _tip(c).strip()]
    assert missing == []
    form = widget.form
    for w in (*form.main, *form.advanced):  # magicgui's labels beside the boxes say it too
        assert (w.tooltip or "").strip(), w.label


def test_one_line_texts_keep_their_whole_text_in_their_tooltip(ldcsr):
    _, widget = ldcsr
    long = "cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB; bfloat16 (LDCSR_DTYPE); 16 threads (LDCSR_THREADS))"
    widget.device_label.setText("Device: detecting…")
    widget._show_device(long)
    assert widget.device == f"Device: {long}" == widget.device_label.toolTip()
    widget._set_status("Added 'scene ×2.00 (LDCSR fast)' (400×400 px) in 1.2 s")
    assert widget.status_label.toolTip() == widget.status
    live = widget.live.status_label
    assert live.text() == "Live lens off" == live.toolTip()
    widget.live.set_live(False)
    assert live.toolTip() == live.text()
    for line in (widget.status_label, widget.device_label, live):
        assert isinstance(line, QLabel)


def test_one_line_texts_keep_their_whole_height_in_a_squeezed_dock(ldcsr, qtbot):
    """In a window lower than the dock's least height (900 px with the linked panels open, or a
    laptop's), the lines got superqt's least height, the ellipsis's bare text (16 px for an 18 px
    line): the bottom of the text was cut, an underscore showed as a space ('float nd')."""
    viewer, widget = ldcsr
    widget._set_status("Saved 'float_nd' as /tmp/a_b.tif.")
    viewer.window._qt_window.resize(1400, 600)
    qtbot.wait(100)
    assert widget.height() <= widget.minimumSizeHint().height()  # the dock squeezed to its least height
    for line in (widget.status_label, widget.device_label, widget.live.status_label):
        margins = line.contentsMargins()
        assert line.height() >= line.fontMetrics().height() + margins.top() + margins.bottom()


def test_tooltips_name_the_values_the_boxes_show(ldcsr):
    from ldcsr_core.rules import MAX_SCALE, MIN_TILE_IN

    _, widget = ldcsr
    form = widget.form
    for box in (form.tile, form.samples):  # "auto" / "off": the word the box shows at its least value
        special = box.native.specialValueText()
        assert special and re.search(rf"\b{special}\b", box.tooltip), box.label
    assert f"at least {MIN_TILE_IN}" in form.tile.tooltip
    assert f"1.00-{MAX_SCALE:.2f}" in form.scale.tooltip
    minutes = widget.adapts.minutes
    assert f"{minutes.minimum():g} to {minutes.maximum():g} minutes" in minutes.toolTip()
    assert widget.live.mode_box.currentData() == "fast" and "fast preview by default" in widget.live.mode_box.toolTip()
    assert "fast preview" in widget.adapt_button.toolTip()  # the Mode choice's own words
    assert form.mode.native.findText("fast preview") >= 0


@pytest.mark.viewer_hidden
def test_a_geographic_layers_output_pixel_is_in_degrees(ldcsr, tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    viewer, widget = ldcsr
    path = tmp_path / "wgs84.tif"
    with rasterio.open(path, "w", driver="GTiff", width=24, height=20, count=3, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(10.0, 50.0, 0.0001, 0.0001)) as dst:
        dst.write(np.full((3, 20, 24), 100, np.uint8))
    layer = viewer.open(str(path), plugin="napari-ldcsr")[0]
    assert layer.metadata["units"] == "degree"  # as `ldcsr info` says it (raster_info, one rule)
    widget.set_layer(layer)
    widget.set_scale(2.5)
    assert widget.form.pixel.native.text() == "0.00004000 °"  # not "CRS units"


def test_durations_on_the_status_line_are_never_a_bare_zero():
    from napari_ldcsr.run._prepare import fmt_seconds, progress_text

    assert fmt_seconds(0.462) == "0.5 s"  # "Added '…' in 0.5 s", not "in 0 s"
    assert fmt_seconds(0.0) == "0.0 s" and fmt_seconds(9.96) == "10 s" and fmt_seconds(12.4) == "12 s"
    assert fmt_seconds(75) == "1:15 min"
    assert progress_text(3, 4, 0.6) == "3 / 4 tiles · about 0.2 s left"
    assert progress_text(1, 1, 0.6) == "1 / 1 tile · finishing…"  # before: '1 / 1 tiles'


@pytest.mark.viewer_hidden
def test_the_tile_bar_is_empty_until_a_run_and_counts_in_agreement(ldcsr, qtbot, notes, bicubic_engine):
    """Before: the bar read '0 / 1 tiles' before any run (as if one were going on), and a run of
    one tile ended at '1 / 1 tiles'. Now it is empty while idle, '1 / 1 tile' after that run."""
    import numpy as np

    viewer, widget = ldcsr
    assert widget.progress_bar.text() == ""
    layer = viewer.add_image(np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8), name="s", rgb=True)
    widget.set_layer(layer)
    widget.set_scale(2)
    assert widget.run() is True, notes
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert widget.status.startswith("Added "), widget.status
    assert widget.progress == (1, 1) and widget.progress_bar.text() == "1 / 1 tile"
    widget.progress_bar.tiles(2, 5)
    assert widget.progress_bar.text() == "2 / 5 tiles"


def test_a_fill_value_to_declare_is_said_by_the_nodata_field(ldcsr, qtbot, tmp_path, notes):
    """A float layer whose fill (-3.4e38) its file does not declare: the Run's refusal, the check's
    and the live lens's say the form's Nodata field. Before: '(ldcsr --nodata VALUE; nodata=VALUE
    in Python; in QGIS the layer's Transparency properties)', none of them napari's."""
    import numpy as np
    import rasterio
    from rasterio.transform import Affine

    viewer, widget = ldcsr
    data = np.random.default_rng(0).uniform(0, 100, (1, 48, 48)).astype("float32")
    data[:, :, :16] = -3.4e38
    path = tmp_path / "f.tif"
    with rasterio.open(path, "w", driver="GTiff", height=48, width=48, count=1, dtype="float32",
                       crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4000000)) as ds:
        ds.write(data)
    layer = viewer.open(str(path), plugin="napari-ldcsr")[0]
    widget.set_scale(2.0)
    assert widget.run(layer=layer)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert widget.check_quality(layer)
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    widget.live.set_live(True)
    qtbot.waitUntil(lambda: len(notes) >= 3, timeout=60_000)
    said = [t for _, t in notes]
    assert len(said) == 3 and all("Give it as nodata (the Nodata field under Advanced) and run again" in t
                                  for t in said), said
    assert not [t for t in said if "--" in t or "=" in t or "Python" in t]


@pytest.mark.viewer_hidden
def test_a_malformed_band_list_or_nodata_is_said_by_its_field(ldcsr, notes):
    """The form's fields are 'Bands (R,G,B)' and 'Nodata' (Advanced): a Run's and a check's refusal of
    what was typed there name them so (the engine's words, front_end's table). Before: 'bands must
    name 1 or 3 bands ...' and 'nodata must be a number ...', the Python parameters' names."""
    import numpy as np

    viewer, widget = ldcsr
    layer = viewer.add_image(np.zeros((16, 16), np.uint8), name="flat")
    for field, value, says in (
            ("bands", "3,2", "Bands (R,G,B) must name 1 or 3 bands (e.g. '3,2,1'), got 2: '3,2'"),
            ("bands", "red", "Bands (R,G,B) must be 1-based band numbers like '3,2,1', got 'red'"),
            # spaces separate bands as commas do (before, '3 2' was band 32: 'band 32 does not exist')
            ("bands", "3 2", "Bands (R,G,B) must name 1 or 3 bands (e.g. '3,2,1'), got 2: '3 2'"),
            ("nodata", "abc", "Nodata 'abc': must be a number, 'nan' or 'none' (every value is data)")):
        getattr(widget.form, field).value = value
        for start in (widget.run, widget.check_quality):
            notes.clear()
            assert start(layer) is False
            assert [t for s, t in notes if s == "error"] == [says], notes
        getattr(widget.form, field).value = ""
    assert len(viewer.layers) == 1


@pytest.mark.viewer_hidden
def test_a_stretch_the_layer_cannot_take_is_said_by_the_stretch_field(ldcsr, qtbot, notes):
    """Stretch 'dtype' on a float layer: napari's Stretch box, not Python's parameter. Before:
    "LDCSR could not super-resolve 'f': stretch='dtype' needs integer bands ..."."""
    import numpy as np

    viewer, widget = ldcsr
    layer = viewer.add_image(np.random.default_rng(0).uniform(0, 1, (32, 32)).astype("float32"), name="f")
    widget.form.stretch.value = "dtype"
    assert widget.run(layer=layer, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert [t for s, t in notes if s == "error"] == [
        "LDCSR could not super-resolve 'f': Stretch 'dtype' needs integer bands; use 'percentile' for float data"]
