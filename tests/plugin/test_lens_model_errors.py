"""The live lens and a model file it cannot load (a copy cut short): said once per pick."""

from __future__ import annotations

import numpy as np

import ldcsr_core
from napari_ldcsr._viewer import camera


def test_a_truncated_model_is_said_once_per_pick(make_napari_viewer, qtbot, notes, tiny_model, tmp_path, monkeypatch):
    """A model file cut short (a copy interrupted), picked and the lens turned on: one 'Live lens
    stopped: …', not again as the camera moves; the built-in model picked, then the file again: said
    once more. Before: said twice as the lens was turned on (the view its first load failed for was
    cancelled by a camera event, and said its error all the same; the next view said it again)."""
    from tests.plugin.lens_wait import quiet, record_workers, view_done

    started = record_workers(monkeypatch)
    viewer, widget, _, cut = _lens_with_cut_model(make_napari_viewer, tiny_model, tmp_path)
    lens = widget.live.lens

    def stopped():
        return [t for s, t in notes if s == "error" and t.startswith("Live lens stopped")]

    def settled():  # what the lens says late is counted too: every worker it started (a cancelled view's
        # too) has ended, its error said or dropped by then, and no view waits for the debounce
        qtbot.waitUntil(lambda: lens.view is not None and quiet(lens, started), timeout=60_000)

    assert widget.add_checkpoint(str(cut))
    widget.live.live_box.setChecked(True)
    settled()
    assert len(stopped()) == 1 and f"{cut} is cut short" in stopped()[0], notes
    before = lens.view.gen
    camera(viewer).center = (20.0, 24.0)  # another view: the same error, not said again
    # once that view has run to its error (a later generation, its worker ended)
    qtbot.waitUntil(lambda: lens.view is not None and lens.view.gen > before and quiet(lens, started), timeout=60_000)
    assert len(stopped()) == 1 and lens.enabled, notes
    widget.form.model.value = widget.form.model.choices[0]  # the built-in model: the view is made
    qtbot.waitUntil(lambda: view_done(lens), timeout=60_000)
    assert widget.add_checkpoint(str(cut))  # picked again (the lens on): said again, once
    settled()
    assert len(stopped()) == 2 and stopped()[1] == stopped()[0], notes
    widget.live.set_live(False)


def _lens_with_cut_model(make_napari_viewer, tiny_model, tmp_path, names=("scene",)):
    """(viewer, widget, layers, the cut file, the 'Live lens stopped' notes' getter): layers ``names``
    over each other, the first picked, its camera on them; a model file cut short (a copy interrupted)."""
    from napari_ldcsr._widget import LdcsrWidget

    saved = ldcsr_core.save_model(tiny_model, tmp_path / "whole.safetensors", name="whole")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])

    def provider(source):  # the built-in model: the tiny one; a file: loaded as the engine loads it
        return tiny_model if source is None else ldcsr_core.load_model(source, device="cpu")

    viewer = make_napari_viewer(show=True)
    widget = LdcsrWidget(viewer, model_provider=provider)
    viewer.window.add_dock_widget(widget, name="LDCSR super-resolution")
    yy, xx = np.mgrid[0:64, 0:64]
    layers = [viewer.add_image((np.stack([np.sin(yy / (5.0 + i)), np.cos(xx / 4.0), np.sin((yy + xx) / 7.0)], -1)
                                * 90 + 128).astype(np.uint8), rgb=True, name=name) for i, name in enumerate(names)]
    widget.set_layer(layers[0])
    camera(viewer).center, camera(viewer).zoom = (30.0, 30.0), 4.0
    return viewer, widget, layers, cut


def test_a_model_error_is_said_again_on_another_layer(make_napari_viewer, qtbot, notes, tiny_model, tmp_path,
                                                       monkeypatch):
    """A model file cut short, the lens on: said once on the first layer; another layer picked, where the
    same model fails again: said again, once (not again as the camera moves there). Before: said once per
    pick of the model whatever the layer: on the other layer the lens stopped without a word."""
    from tests.plugin.lens_wait import quiet, record_workers

    started = record_workers(monkeypatch)
    viewer, widget, (first, other), cut = _lens_with_cut_model(make_napari_viewer, tiny_model, tmp_path,
                                                              ("first", "other"))
    lens = widget.live.lens

    def stopped():
        return [t for s, t in notes if s == "error" and t.startswith("Live lens stopped")]

    assert widget.add_checkpoint(str(cut))
    widget.live.live_box.setChecked(True)
    qtbot.waitUntil(lambda: lens.view is not None and quiet(lens, started), timeout=60_000)
    assert len(stopped()) == 1 and f"{cut} is cut short" in stopped()[0], notes
    widget.set_layer(other)  # the lens follows the pick: the same model fails there
    qtbot.waitUntil(lambda: lens.view is not None and lens.view.layer is other and quiet(lens, started), timeout=60_000)
    assert len(stopped()) == 2 and stopped()[1] == stopped()[0], notes
    before = lens.view.gen
    camera(viewer).center = (20.0, 24.0)  # another view of that layer: not said again
    qtbot.waitUntil(lambda: lens.view is not None and lens.view.gen > before and quiet(lens, started), timeout=60_000)
    assert len(stopped()) == 2 and lens.enabled and lens.layer is other, notes
    widget.live.set_live(False)
