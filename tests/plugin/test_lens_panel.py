"""The Live lens section of the dock in a real napari viewer: its box, Keep and Compare buttons and status
line follow the lens, whether it is driven from the dock or from code."""

from __future__ import annotations

import numpy as np
import pytest

from tests.plugin.test_lens import _look, _scene, _wait_done


def test_widget_section_drives_the_lens_and_the_linked_panels(ldcsr, qtbot, notes, bicubic_engine):
    """(The lens's tiles are the bicubic stand-in's: the section's state is tested, not the network.)"""
    viewer, widget = ldcsr
    panel = widget.live
    labels = viewer.add_labels(np.zeros((40, 40), np.int32), name="labels")
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    widget.set_layer(src)
    viewer.window.resize(520, 400)
    _look(viewer, src, (100, 100), 2.0)
    panel.live_box.setChecked(True)
    assert panel.lens.enabled and panel.lens.mode == "fast" and panel.keep_button.isEnabled()
    qtbot.waitUntil(lambda: panel.lens.view is not None and panel.lens.view.composer.complete
                    and not panel.lens.busy, timeout=120_000)
    assert "tiles in" in panel.status_label.text()
    panel.keep_button.click()
    assert any("kept" in l.name for l in viewer.layers)
    panel.compare_button.setChecked(True)
    assert panel.compare_dock is not None and len(panel.compare_dock.models["LDCSR"].layers) == 2
    panel.compare_button.setChecked(False)
    assert panel.compare_dock is None
    panel.live_box.setChecked(False)
    assert panel.lens.live_layer is None
    # unsupported layers: a notification, and the box unticks itself
    stack = viewer.add_image(np.zeros((3, 40, 40), np.float32), name="stack")
    widget.set_layer(stack)
    n = len(viewer.layers)
    panel.live_box.setChecked(True)
    assert not panel.live_box.isChecked() and not panel.lens.enabled
    assert len(viewer.layers) == n and any("is a stack of 3 grey pictures" in t for _, t in notes)
    assert panel.lens.set_layer(labels) is False and any("Labels" in t for _, t in notes)


def test_an_adapted_model_beyond_its_check_is_said_once_per_step_and_mode(ldcsr, qtbot, notes, tiny_model, tmp_path,
                                                                          bicubic_engine):
    """The lens ran a model adapted (and checked) at ×2 in fast mode at its zoom's ×4, or in
    diffusion mode, without a word; it says so once per (model, step, mode), not per view. (The tiles are
    the bicubic stand-in's: what is said of the model is tested, not its pixels.)"""
    from ldcsr_core.checkpoints import save_model

    viewer, widget = ldcsr
    panel = widget.live
    path = save_model(tiny_model, tmp_path / "adapted.safetensors", name="a", extra={"adapt_scale": "2"})
    src = viewer.add_image(_scene(), rgb=True, name="scene")
    widget.set_layer(src)
    assert widget.add_checkpoint(str(path)) and panel.lens.model_source == str(path)
    viewer.window.resize(520, 400)

    def look(center, ratio):
        before = panel.lens.view
        _look(viewer, src, center, ratio)
        qtbot.waitUntil(lambda: panel.lens.view is not None and panel.lens.view is not before
                        and panel.lens.view.composer.complete and not panel.lens.busy, timeout=120_000)

    def said():
        return [t for s, t in notes if s == "warning" and t.startswith("Live lens: this model was adapted")]

    _look(viewer, src, (100, 100), 2.0)
    panel.live_box.setChecked(True)
    _wait_done(qtbot, panel.lens)
    assert said() == [] and "untested" not in panel.status_label.text()  # ×2, fast: what was checked
    look((100, 100), 4.0)
    assert panel.lens.view.step == 4.0 and len(said()) == 1 and "at ×4 it is untested" in said()[0]
    assert "· adapted model: at ×4 it is untested" in panel.status_label.text()
    look((60, 70), 4.0)  # another view at the same step: not said again, still shown
    assert len(said()) == 1 and "at ×4 it is untested" in panel.status_label.text()
    look((100, 100), 2.0)
    assert len(said()) == 1 and "untested" not in panel.status_label.text()
    panel.mode_box.setCurrentIndex(panel.mode_box.findData("diffusion"))  # said as the view starts
    assert len(said()) == 2 and "in diffusion mode it is untested" in said()[1]
    panel.live_box.setChecked(False)


def test_the_live_layer_is_no_source(ldcsr, qtbot, notes):
    """The live layer (display colours of a window of another layer) is not offered in the layer
    picker and is refused by Run and by the lens: picking it used to point the lens at its own layer,
    which it then removed (the lens went dark with its box still ticked)."""
    viewer, widget = ldcsr
    panel = widget.live
    src = viewer.add_image(_scene(64, 64), rgb=True, name="scene")
    widget.set_layer(src)
    viewer.window.resize(520, 400)
    _look(viewer, src, (32, 32), 2.0)
    panel.live_box.setChecked(True)
    _wait_done(qtbot, panel.lens)
    live = panel.lens.live_layer
    assert live is not None and live not in widget.form.layer.choices
    with pytest.raises(ValueError):
        widget.set_layer(live)
    n = len(viewer.layers)
    assert widget.run(layer=live, scale=2.0) is False
    assert notes[-1] == ("error", "'scene (live LDCSR)' is the live lens's view of another layer; "
                                  "pick that layer instead.")
    assert len(viewer.layers) == n and panel.lens.layer is src and panel.lens.live_layer is live
    panel.live_box.setChecked(False)


def test_an_all_nan_layer_turns_the_lens_off_with_a_message(ldcsr, qtbot, notes):
    """Every pixel NaN: the lens has no stretch to fit; it says so and unticks (it raised a
    ValueError out of the checkbox's slot: a traceback)."""
    viewer, widget = ldcsr
    panel = widget.live
    src = viewer.add_image(np.full((40, 41), np.nan, np.float32), name="empty")
    widget.set_layer(src)
    _look(viewer, src, (20, 20), 3.0)
    panel.live_box.setChecked(True)
    assert not panel.live_box.isChecked() and not panel.lens.enabled and panel.lens.live_layer is None
    assert notes[-1] == ("warning", "Live lens off: 'empty': the layer has no finite pixel values.")
    # its pixels become all NaN while the lens is on: the same
    src.data = np.random.default_rng(0).random((40, 41), dtype=np.float32)
    panel.live_box.setChecked(True)
    _wait_done(qtbot, panel.lens)
    src.data = np.full((40, 41), np.nan, np.float32)
    assert not panel.lens.enabled and panel.lens.live_layer is None
    assert notes[-1] == ("warning", "Live lens off: 'empty': the layer has no finite pixel values.")
    assert not panel.live_box.isChecked() and not panel.keep_button.isEnabled()  # the box follows
    assert panel.status_label.text() == "Live lens off"
    # removing the lens's layer unticks the box too
    src.data = np.random.default_rng(0).random((40, 41), dtype=np.float32)
    panel.live_box.setChecked(True)
    _wait_done(qtbot, panel.lens)
    assert panel.live_box.isChecked() and panel.lens.enabled
    viewer.layers.remove(src)
    assert not panel.live_box.isChecked() and not panel.lens.enabled
    qtbot.waitUntil(lambda: notes[-1] == ("info", "Live lens off: 'empty' was removed."), timeout=5_000)


def test_a_hidden_source_hides_the_live_view_and_pauses_the_lens(ldcsr, qtbot, bicubic_engine):
    """The source hidden (its eye in the layer list): the live layer is hidden with it and nothing is
    computed while it stays hidden (panning too); shown again, the view is back. Before, the live
    view of the hidden layer stayed on screen and kept following the camera: comparing two dates by
    hiding one, its super-resolved window still covered the other. (The tiles are the bicubic
    stand-in's, each engine call one of ``bicubic_engine``: the pausing is tested, not the network.)"""
    viewer, widget = ldcsr
    viewer.window.resize(520, 400)
    src = viewer.add_image(_scene(200, 200), rgb=True, name="2019")
    _look(viewer, src, (40, 40), 4.0)
    assert widget.live.set_live(True)
    lens = widget.live.lens
    _wait_done(qtbot, lens)
    live, calls = lens.live_layer, len(bicubic_engine)
    src.visible = False
    assert not live.visible and lens.view is None
    assert widget.live.status_label.text() == "Live lens on: paused while '2019' is hidden"
    _look(viewer, src, (160, 160), 4.0)  # a pan to tiles not seen yet while it is hidden: nothing computed
    qtbot.wait(300)
    assert not live.visible and len(bicubic_engine) == calls and not lens.busy
    src.visible = True
    _wait_done(qtbot, lens)
    assert lens.live_layer is live and live.visible and len(bicubic_engine) > calls
    widget.live.set_live(False)


def test_the_live_box_follows_the_lens_turned_on_or_off_from_code(ldcsr, qtbot, notes):
    """``widget.live.set_live(True)`` (a script, the console): before, the lens came on but the Live box
    stayed unticked, so the dock said it was off."""
    viewer, widget = ldcsr
    panel = widget.live
    src = viewer.add_image(np.random.default_rng(1).random((40, 41), dtype=np.float32), name="field")
    widget.set_layer(src)
    _look(viewer, src, (20, 20), 3.0)
    assert panel.set_live(True) and panel.lens.enabled
    assert panel.live_box.isChecked() and panel.keep_button.isEnabled()
    _wait_done(qtbot, panel.lens)
    assert panel.set_live(False) and not panel.lens.enabled
    assert not panel.live_box.isChecked() and not panel.keep_button.isEnabled()
