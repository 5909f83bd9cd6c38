"""*Adapt to this layer*: the engine's scene adaptation in a worker, with progress and Cancel; a kept
model is saved to the user's model folder and selected for Run; a rejected or cancelled one is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ldcsr_core import adaptation
from ldcsr_core.adaptation import Recipe

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

# A step budget, not the time budget: 8 steps (about 1 s here) make a kept model, as a loaded machine
# makes it too (the minutes' budget gave 13 steps in 3 s on this machine, fewer under load)
FAST = Recipe(lr=2e-3, warmup=2, batch=2, crop_lr=12, max_steps=8)


def scene(h=72, w=120, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [128 + 60 * np.sin(xx / (3 + c) + c) + 30 * np.cos(yy / (2 + c)) for c in range(3)]
    return np.clip(np.stack(chans, -1) + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    d = tmp_path / "models"
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(d))
    monkeypatch.setattr(adaptation, "Recipe", lambda: FAST)
    return d



def _adapt_until_finished(widget, qtbot, timeout):
    """Adapt (×2, 10 min) to a new scene layer and wait for the adaptation's end; returns its progress."""
    widget.viewer.add_image(scene(), name="s")
    widget.set_scale(2.0)
    progress = []
    widget.adapter.progressed.connect(progress.append)
    with qtbot.waitSignal(widget.adapter.finished, timeout=timeout):
        assert widget.adapt_to_layer(minutes=10)
    return progress

def test_adapt_keeps_saves_and_selects_the_model_for_run(ldcsr, qtbot, notes, models_dir, tiny_model):
    import ldcsr_core

    viewer, widget = ldcsr
    data = scene()
    viewer.add_image(data, name="field 1")
    widget.set_scale(2.0)
    assert widget.adapt_button.text() == "Adapt to this layer (3 min)"
    progress = []
    widget.adapter.progressed.connect(lambda info: progress.append(info.fraction))
    busy = []  # modelAdapted comes once the adapter is free: a slot of it may start a Run
    widget.modelAdapted.connect(lambda _: busy.append((widget.busy, widget.run_button.isEnabled())))
    with qtbot.waitSignal(widget.modelAdapted, timeout=120_000) as sig:
        assert widget.adapt_to_layer(minutes=0.05)
        assert not widget.run_button.isEnabled() and widget.cancel_button.isEnabled()
    outcome = sig.args[0]
    r = outcome.result
    assert r.kept and r.gain_db > 0 and progress and progress == sorted(progress)
    files = list(models_dir.glob("*.safetensors"))
    assert [str(f) for f in files] == [outcome.path] and files[0].name.startswith("field_1-x2-")
    assert widget.model_source == outcome.path
    assert widget.status.startswith(f"Adapted model selected ({adaptation.db_text(r.gain_db)} dB): base ")
    assert "held-back strip of the whole layer" in widget.status
    assert busy == [(False, True)]
    assert widget.progress[1] == 1 and not [t for s, t in notes if s == "error"]
    # Check quality here on the pixels it was adapted on says that its figures overstate it
    with qtbot.waitSignal(widget.qualityChecked, timeout=120_000) as chk:
        widget.check_button.click()
    caution = chk.args[0].caution
    assert caution.startswith("this model was adapted to this scene at ×2") and widget.status.endswith(caution)
    # Run uses the adapted model (from the cache, not reloaded) and gets its pixels
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        widget.run()
    assert outcome.path not in widget.provider_calls
    want = ldcsr_core.upscale(data, 2.0, model=r.model, mode="fast")
    got = np.asarray(widget.last_result.data).astype(int)
    base = ldcsr_core.upscale(data, 2.0, model=tiny_model, mode="fast")
    assert np.abs(got - want).max() <= 1  # the widget's own window plan: rounding at most
    assert np.abs(got - base).mean() > 20 * np.abs(got - want).mean()
    from ldcsr_core.files import sha256_file  # its provenance names the saved file (before: sha256 none)

    made_by = widget.last_result.metadata["ldcsr"]["model"]
    assert (made_by["name"], made_by["weights_sha256"]) == (f"{tiny_model.name}-adapted-{Path(outcome.path).stem}",
                                                            sha256_file(outcome.path))
    # the Run's layer left the adapted model picked (it fell back to the built-in default)
    assert widget.model_source == outcome.path
    assert not [t for s, t in notes if "untested" in t]  # ×2, fast: what the guard checked
    widget.set_scale(3.0)  # beyond it: said before the run
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        widget.run()
    assert [t for s, t in notes if s == "warning" and t.startswith(
        "This model was adapted and checked at ×2 in fast mode only; at ×3 it is untested")]
    widget.set_scale(2.0)  # the layer's bands in another order than adapted on: said too
    widget.form.bands.value = "3,2,1"
    with qtbot.waitSignal(widget.runFinished, timeout=120_000):
        widget.run()
    assert [t for s, t in notes if s == "warning" and t.startswith(
        "This model was adapted and checked at ×2 in fast mode on bands 1,2,3 only; on bands 3,2,1 it is untested")]
    # a new widget lists the saved model in its picker
    from napari_ldcsr._form import user_models

    assert user_models() == [(files[0].name, str(files[0]))]
    from safetensors import safe_open

    with safe_open(str(files[0]), framework="numpy") as f:  # an in-memory layer: its pixels' checksum
        meta = f.metadata()
    assert len(meta["adapted_on_sha256"]) == 64 and meta["adapted_from"] == str(tiny_model.name)
    assert (meta["adapt_bands"], meta["adapt_band_count"], meta["adapt_stretch"]) == ("1,2,3", "3", "dtype")


def test_a_model_made_worse_is_not_kept(ldcsr, qtbot, models_dir, worse_adaptation):
    viewer, widget = ldcsr
    viewer.add_image(scene(), name="s")
    widget.set_scale(2.0)
    before = widget.model_source
    with qtbot.waitSignal(widget.modelAdapted, timeout=120_000) as sig:
        widget.adapt_to_layer(minutes=0.05)
    assert sig.args[0].path is None and not sig.args[0].result.kept
    assert widget.status.startswith("Adaptation not kept (-") and "the current model stays" in widget.status
    assert widget.model_source == before and not models_dir.exists()


def test_cancel_stops_the_adaptation_and_saves_nothing(ldcsr, qtbot, models_dir):
    viewer, widget = ldcsr
    viewer.add_image(scene(), name="s")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.adapter.progressed, timeout=120_000):
        widget.adapt_to_layer(minutes=10)
    with qtbot.waitSignal(widget.adapter.finished, timeout=60_000):
        widget.cancel_button.click()
    assert widget.status == "Adaptation cancelled; no model was saved."
    assert not models_dir.exists() and widget.model_source is None
    assert widget.run_button.isEnabled() and widget.adapt_button.isEnabled()


def test_busy_widget_refuses_a_second_task(ldcsr, qtbot, notes, models_dir):
    viewer, widget = ldcsr
    viewer.add_image(scene(), name="s")
    widget.set_scale(2.0)
    with qtbot.waitSignal(widget.adapter.progressed, timeout=120_000):
        widget.adapt_to_layer(minutes=10)
    assert not widget.check_quality() and not widget.adapt_to_layer()
    assert ("warning", "LDCSR is busy; wait for the run, check or adaptation to finish.") in notes
    n = len(notes)  # a Run too (before, run() started one beside the adaptation: its button alone was off)
    assert not widget.run() and not widget.running
    assert notes[n:] == [("warning", "LDCSR is busy; wait for the run, check or adaptation to finish.")]
    with qtbot.waitSignal(widget.adapter.finished, timeout=60_000):
        widget.cancel()


def test_scales_above_the_adaptation_limit_are_refused_up_front(ldcsr, notes, models_dir):
    viewer, widget = ldcsr
    viewer.add_image(scene(), name="s")
    widget.set_scale(4.0)
    assert not widget.adapt_to_layer(minutes=0.05) and not widget.adapter.running
    assert any(s == "error" and t.startswith("Adaptation is offered up to ×2 (not ×4)") for s, t in notes)


def test_an_unwritable_model_folder_is_found_before_training(ldcsr, qtbot, notes, tmp_path, monkeypatch):
    """A model folder that cannot be made (here under a regular file) fails the adaptation at once,
    not after its minutes of training (whose model would be lost)."""
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(tmp_path / "afile" / "models"))
    viewer, widget = ldcsr
    progress = _adapt_until_finished(widget, qtbot, timeout=30_000)
    assert widget.status == (f"Adaptation failed: cannot save adapted models in {tmp_path / 'afile' / 'models'}: "
                             f"{tmp_path / 'afile'} is not a folder (set LDCSR_MODELS_DIR to a writable folder)")
    assert not progress and widget.model_source is None


def test_a_full_model_folder_is_found_before_training(ldcsr, qtbot, notes, models_dir, monkeypatch):
    """No room for the model on the model folder's disk: the adaptation fails at once with the
    sizes (the engine's check_save_room, as the CLI's); before, it trained, then failed to save."""
    import ldcsr_core.files

    monkeypatch.setattr(ldcsr_core.files, "free_bytes", lambda *a: 1000)
    viewer, widget = ldcsr
    progress = _adapt_until_finished(widget, qtbot, timeout=30_000)
    assert widget.status.startswith("Adaptation failed: not enough space for the adapted model in "), widget.status
    assert "1000 bytes free, it needs about" in widget.status
    assert not progress and widget.model_source is None


def test_cancel_after_the_model_was_saved_keeps_it_and_says_so(ldcsr, qtbot, models_dir, monkeypatch):
    """Cancel pressed once the kept model is saved (superqt then drops the worker's ``returned``):
    the model is complete, so it is kept and selected, and the status says the Cancel came too late."""
    from napari_ldcsr.run import _adapt

    from .conftest import hold_after

    done, release = hold_after(monkeypatch, _adapt, "run_adapt")
    viewer, widget = ldcsr
    viewer.add_image(scene(), name="field 1")
    widget.set_scale(2.0)
    assert widget.adapt_to_layer(minutes=0.05)
    try:
        qtbot.waitUntil(done.is_set, timeout=120_000)
        widget.cancel()
        assert widget.status == "Cancelling…"
    finally:
        release.set()
    qtbot.waitUntil(lambda: not widget.adapter.running, timeout=30_000)
    (saved,) = models_dir.glob("*.safetensors")
    assert widget.model_source == str(saved)
    assert widget.status.startswith("Cancel came too late, the model was saved already and is kept. "
                                    "Adapted model selected (")
    assert widget.run_button.isEnabled()


def test_an_adapted_model_never_writes_over_an_earlier_one_of_the_same_name(tmp_path, monkeypatch):
    """Names are ``<layer>-x<scale>-<second>``: two adaptations of same-named layers (two viewers,
    two layers called 'scene') finishing in the same second had one name, and the second was
    saved over the first (``save(..., overwrite=True)``)."""
    from ldcsr_core.files import atomic_write_bytes
    from napari_ldcsr.run import _adapt

    class Kept:  # an adaptation the guard kept: its save as AdaptResult.save does it
        def __init__(self, tag):
            self.tag = tag

        def save(self, path, *, name, overwrite=True):
            return atomic_write_bytes(path, f"{self.tag} {name}".encode(), overwrite=overwrite)

    monkeypatch.setattr(_adapt, "model_file_name", lambda layer, scale, when=None: "scene-x2-20261205-203000.safetensors")
    paths = [_adapt._save_new(Kept(i), tmp_path, "scene", 2.0, "v4") for i in range(3)]
    assert [p.name for p in paths] == ["scene-x2-20261205-203000.safetensors", "scene-x2-20261205-203000-2.safetensors",
                                       "scene-x2-20261205-203000-3.safetensors"]
    assert [p.read_text() for p in paths] == [f"{i} v4-adapted-{p.stem}" for i, p in enumerate(paths)]


def test_a_model_folder_in_the_built_in_models_folder_is_refused_before_training(ldcsr, qtbot, tmp_path, monkeypatch):
    """LDCSR_MODELS_DIR set to the package's weights folder (a copy here): the adapted model was saved
    there, then listed by 'ldcsr models' as a built-in one. Now the adaptation fails at once (the
    engine's check_save_room), nothing written."""
    import shutil

    from ldcsr_core import builtin_models

    shipped = builtin_models.default_model_path()
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in (builtin_models.BUILTIN_SUMS, shipped.name):
        shutil.copy(shipped.parent / name, weights)
    monkeypatch.setattr(builtin_models, "default_model_path", lambda: weights / shipped.name)
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(weights))
    viewer, widget = ldcsr
    progress = _adapt_until_finished(widget, qtbot, timeout=60_000)
    assert widget.status.startswith(f"Adaptation failed: cannot save the adapted model in {weights}: it is the folder "
                                    "of the built-in models"), widget.status
    assert not progress and sorted(p.name for p in weights.iterdir()) == sorted([builtin_models.BUILTIN_SUMS, shipped.name])


def test_a_layer_given_other_pixels_while_the_model_loads_is_adapted_to_as_pressed(ldcsr, qtbot, notes, models_dir,
                                                                                   monkeypatch):
    """``layer.data = …`` (a smaller array) while Adapt's model loads (review35h): the adaptation is of the pixels the
    button was pressed on, as a Run's and a check's are; before, it read the new array with the old one's region and
    failed with an engine error ('Adaptation failed: the window of rows 0–72 and columns 0–120 is not inside the
    scene of 50 rows × 40 columns')."""
    from .test_source_changed_during_run import _held_model_load

    viewer, widget = ldcsr
    src = viewer.add_image(scene(), name="field")
    widget.set_scale(2.0)
    asked, go = _held_model_load(widget, monkeypatch)
    with qtbot.waitSignal(widget.adapter.finished, timeout=120_000):
        assert widget.adapt_to_layer(minutes=0.05)
        qtbot.waitUntil(asked.is_set, timeout=10_000)
        src.data = np.zeros((50, 40, 3), np.uint8)
        go.set()
    assert not widget.status.startswith("Adaptation failed"), widget.status
    assert "held-back strip of the whole layer" in widget.status and not [t for s, t in notes if s == "error"]
