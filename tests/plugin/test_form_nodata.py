"""The dock's Nodata field (as `ldcsr upscale --nodata`): black fill a layer's file does not declare
is nodata for Run, Check quality and the live lens alike; "none" makes a declared value data.
Before, a napari user could not tell the engine (the fill was super-resolved as data)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr._viewer import camera
from tests.plugin.lens_wait import wait_for_view


def _scene(viewer, **metadata):
    rng = np.random.default_rng(2)
    data = rng.integers(80, 200, (64, 64, 3)).astype(np.uint8)
    data[:, :20] = 0  # black fill on the left
    return viewer.add_image(data, name="fill", rgb=True, metadata=dict(metadata))


def _run(widget, qtbot, src, scale=2.0):
    assert widget.run(layer=src, scale=scale)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    return widget.last_result


@pytest.mark.viewer_hidden
def test_a_typed_nodata_is_what_a_declared_one_gives(ldcsr, qtbot):
    viewer, widget = ldcsr
    widget.set_mode("fast")
    undeclared, declared = _scene(viewer), _scene(viewer, nodata=0)
    plain = _run(widget, qtbot, undeclared)
    assert plain.metadata.get("nodata") is None and plain.data[:, :40].max() > 0  # fill computed over
    widget.form.nodata.value = "0"
    given = _run(widget, qtbot, undeclared)
    widget.form.nodata.value = ""
    from_file = _run(widget, qtbot, declared)
    assert given.metadata["nodata"] == 0 and np.array_equal(given.data, from_file.data)
    assert (given.data[:, :40] == 0).all()
    assert given.metadata["ldcsr"]["nodata"] == 0.0 and "nodata" not in from_file.metadata["ldcsr"]
    widget.form.nodata.value = "none"  # the declared value read as data: as the undeclared layer
    as_data = _run(widget, qtbot, declared)
    assert as_data.metadata.get("nodata") is None and np.array_equal(as_data.data, plain.data)


@pytest.mark.viewer_hidden
def test_a_nodata_the_layer_cannot_hold_is_said_and_nothing_runs(ldcsr, qtbot, notes):
    """Each refusal of the Nodata field quotes it one way, the field's name and what was typed:
    "Nodata '1=0,4=0': …". Before, a value the layer cannot hold was "nodata -1: …", a range
    "nodata range 300.0..400.0: …", each band's "nodata by band: …" and a word "Nodata must be a
    number, 'nan' or 'none' …, got 'abc'", beside "Nodata '0:': …" for a malformed range."""
    viewer, widget = ldcsr
    src = _scene(viewer)
    n = len(viewer.layers)
    for value, says in (("-1", "Nodata '-1': no uint8 pixel of layer 'fill' can hold it (uint8 holds whole "
                               "numbers 0..255)"),
                        ("abc", "Nodata 'abc': must be a number, 'nan' or 'none' (every value is data)"),
                        # a band it lacks (before: said once the model had loaded, the run begun)
                        ("1=0,4=0", "Nodata '1=0,4=0': layer 'fill' has no band 4 (it has 3)"),
                        ("300:400", "Nodata '300:400': no uint8 pixel of layer 'fill' can hold any value of it"),
                        ("nan", "Nodata 'nan': layer 'fill' has uint8 bands, which hold no NaN (give a number)"),
                        ("0,abc", "Nodata '0,abc': 'abc': must be a number, 'nan' or 'none' (every value is "
                                  "data); give a number"),
                        ("0:", "Nodata '0:': a range's ends must be numbers, got '0:'; give a number")):
        widget.form.nodata.value = value
        assert widget.run(layer=src, scale=2.0) is False  # refused before any work
        assert notes and notes[-1][0] == "error" and notes[-1][1].startswith(says), notes
        assert len(viewer.layers) == n
        # Check quality and Adapt too (before: said once the model had loaded, 'of the image')
        widget.set_scale(2.0)
        for start in (widget.check_quality, lambda: widget.adapt_to_layer(minutes=1)):
            assert start() is False and notes[-1][0] == "error" and notes[-1][1].startswith(says), notes[-1]
    assert widget.provider_calls == []  # no model loaded


def test_the_live_lens_uses_the_typed_nodata(ldcsr, qtbot):
    viewer, widget = ldcsr
    widget.set_mode("fast")
    src = _scene(viewer)
    camera(viewer).center, camera(viewer).zoom = (32.0, 32.0), 4.0
    widget.form.nodata.value = "0"
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    view = lens.view
    kept = lens.keep()
    widget.live.set_live(False)
    run = _run(widget, qtbot, src, scale=4.0)  # the lens's scale at this zoom
    assert run.data.shape[:2] == view.grid.out_shape
    view_fill = run.data[view.win.slices] == 0
    assert view_fill.any() and np.array_equal(kept.data == 0, view_fill)
    for tag in ("LDCSR_NODATA", "LDCSR_BANDS", "LDCSR_STRETCH"):  # its provenance says so, as the Run's
        assert kept.metadata["tags"][tag] == run.metadata["tags"][tag], tag


@pytest.mark.viewer_hidden
def test_a_run_over_nodata_only_says_its_result_is_empty(ldcsr, qtbot, notes):
    """A layer that is nodata everywhere: the status line says the result is empty, by the engine's
    count of nodata-only tiles (job.empty_note; ldcsr upscale's '(N empty)'). Before, a plain
    "Added 'blank ×2.00 (LDCSR fast)' (80×80 px) in 0 s"."""
    viewer, widget = ldcsr
    blank = viewer.add_image(np.zeros((40, 40, 3), np.uint8), name="blank", rgb=True)
    widget.form.nodata.value = "0"
    out = _run(widget, qtbot, blank)
    assert np.all(out.data == 0) and out.metadata["nodata"] == 0
    assert widget.status.startswith("Added 'blank") and widget.status.endswith(" · empty: nodata everywhere")
    _run(widget, qtbot, _scene(viewer))  # data in every tile: nothing said
    assert widget.status.startswith("Added 'fill") and "empty" not in widget.status


def test_the_field_takes_ranges_and_values_by_band_as_the_cli_does(ldcsr, qtbot, notes):
    """'0:5' and '1=0,2=0,3=0' (ldcsr upscale --nodata's syntax, the tooltip's promise) for Run and
    the live lens. Before, Run refused them ('Nodata must be a number …') and the lens kept the
    layer's own nodata."""
    viewer, widget = ldcsr
    widget.set_mode("fast")
    src = _scene(viewer)
    src.data[:, 20:24] = 3  # dark fill, inside the range only
    src.refresh()
    widget.form.nodata.value = "0"
    single = _run(widget, qtbot, src)
    widget.form.nodata.value = "0:5"
    ranged = _run(widget, qtbot, src)
    assert (ranged.data[:, :48] == 0).all() and not (single.data[:, 40:48] == 0).all()
    assert ranged.metadata["ldcsr"]["nodata"] != single.metadata["ldcsr"]["nodata"]
    assert widget.live.lens.nodata == widget.form.nodata_setting() != 0.0  # the lens follows the field
    widget.form.nodata.value = "1=0,2=0,3=0"
    by_band = _run(widget, qtbot, src)
    assert np.array_equal(by_band.data, single.data)  # every band's 0: as the one value 0
    widget.form.nodata.value = "0:"
    assert widget.run(layer=src, scale=2.0) is False
    assert notes[-1][0] == "error" and notes[-1][1].startswith("Nodata '0:': a range's ends must be numbers"), notes[-1]


@pytest.mark.parametrize("text", ["0:5", "1=0:5,2=0:5,3=0:5"])
def test_the_lens_with_a_range_or_each_bands_nodata_shows_a_runs_pixels(ldcsr, qtbot, notes, tiny_model,
                                                                       monkeypatch, text):
    """The live lens on a layer with Nodata '0:5' or each band's. Before, it stopped with
    'TypeError: float() argument must be a string or a real number, not 'tuple'' at each change
    (the form's value reached the lens, which took one number)."""
    from ldcsr_core.rules import DEFAULT_TILE_OUT

    viewer, widget = ldcsr
    monkeypatch.setattr(tiny_model, "tile_max", DEFAULT_TILE_OUT)  # a Run plans the lens's windows
    src = _scene(viewer)
    src.data[:, 20:24] = 3  # dark fill, inside the range only
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    widget.form.layer.value = src
    assert widget.live.set_live(True)
    lens = widget.live.lens
    wait_for_view(qtbot, lens)
    widget.form.nodata.value = text
    wait_for_view(qtbot, lens)
    view, kept = lens.view, lens.keep()
    widget.live.set_live(False)
    run = _run(widget, qtbot, src, scale=view.step)
    np.testing.assert_array_equal(kept.data, run.data[view.win.slices])
    assert (kept.data[:, : 48 - view.win.x0] == 0).all()  # the fill and the dark columns: nodata
    assert kept.metadata["tags"]["LDCSR_NODATA"] == run.metadata["tags"]["LDCSR_NODATA"]
    # the value written on its nodata, as the Run's result declares it (what Save writes); was the layer's
    assert kept.metadata.get("nodata") == run.metadata.get("nodata") == 0
    assert not [t for s, t in notes if s in ("warning", "error")]


@pytest.mark.viewer_hidden
def test_a_result_of_a_range_nodata_saves_and_runs_again(ldcsr, qtbot, notes, tmp_path):
    """A result of Nodata '0:5' or '0,255' records the one value the engine wrote on its nodata (0),
    so Save writes it and a Run of the result reads it. Before, the layer's nodata was the form's
    (a range, two values): Save failed ('TypeError: float() argument must be …, not 'tuple''), and
    so did a Run of the result."""
    import rasterio

    viewer, widget = ldcsr
    src = _scene(viewer)
    for text in ("0:5", "0,255"):
        widget.form.nodata.value = text
        result = _run(widget, qtbot, src)
        assert result.metadata["nodata"] == 0.0
        viewer.layers.selection.active = result
        assert widget.saves.save(str(tmp_path / "out.tif"))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
        with rasterio.open(tmp_path / "out.tif") as ds:
            assert ds.nodata == 0.0 and (ds.read()[:, :, :40] == 0).all()
        widget.form.nodata.value = ""
        again = _run(widget, qtbot, result)  # its nodata: the result's
        assert again.metadata["nodata"] == 0.0 and (again.data[:, :80] == 0).all()
    assert not [t for s, t in notes if s in ("warning", "error")]
