"""The LDCSR dock widget: the settings form, Run/Cancel with progress, *Check quality here*, and Compare.

This module is the room that wires the feature rooms together: the form is ``_form`` (magicgui + superqt); a Run
is ``run/`` (``_prepare`` checks a request, ``_runner`` runs it in a napari ``thread_worker``, ``_run_events``
follows it, ``_results`` and ``_outcome`` make its layers, ``_selfcheck`` is the quality check); the Compare
group is ``compare/_controls`` and the live lens's section ``lens/_live_panel``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ldcsr_core.rules import check_tile
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from superqt import QCollapsible

from ._form import MODE_LABELS, RunSettings, SettingsForm
from ._lines import TIPS, StatusLine, TileBar, tipped
from ._viewer import notify, notify_removal
from .compare._controls import CompareControls
from .io._foreign import lost_georeferencing
from .io._save_controls import SaveControls
from .run import _outcome
from .run._adapt_controls import AdaptControls
from .run._check_controls import CheckControls
from .run._job import JobSpec, LayerSource, ModelCache, plain_message
from .run._prepare import all_nodata_notice, prepare_run, running_text, trained_range_notes
from .run._region import REGIONS
from .run._results import ProgressiveResult, RunLayers
from .run._runner import AdaptRunner, CheckRunner, JobRunner, start_device_probe
from .run._run_events import RunEventsMixin
from .run._teardown import TeardownMixin

if TYPE_CHECKING:
    import napari

__all__ = ["LdcsrWidget"]


class LdcsrWidget(TeardownMixin, RunEventsMixin, QWidget):
    """Dock widget: pick an image layer, a scale and a model, super-resolve, compare.

    Parameters
    ----------
    napari_viewer
        The viewer (injected by napari).
    model_provider
        ``source -> model`` callable (``source`` is None for the built-in default or a
        checkpoint path); defaults to ``ldcsr_core.load_model``. Tests inject a tiny model.
    tile
        Tile side in input pixels passed to the engine (None lets it choose).

    Signals
    -------
    resultAdded(layer)
        A run finished and its result layer is final.
    runFinished(str)
        A run ended: "done", "cancelled" or "failed" (both signals come once ``running`` is
        false: a slot may start the next run).
    qualityChecked(object)
        A *Check quality here* finished: its ``ldcsr_core.quality.SelfCheck`` (once the check
        is over, as ``modelAdapted`` once the adaptation is: a slot may start the next task).
    """

    resultAdded = Signal(object)
    runFinished = Signal(str)
    qualityChecked = Signal(object)
    modelAdapted = Signal(object)

    def __init__(self, napari_viewer: napari.viewer.Viewer, model_provider=None, tile: int | None = None) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.models = ModelCache(model_provider)
        self._preload_default = model_provider is None  # the shipped model, loaded in the background
        self.form = SettingsForm(napari_viewer)
        self.last: RunLayers | None = None
        self.runner = JobRunner(self.models, self)
        self.checker = CheckRunner(self.models, self)  # *Check quality here* (napari_ldcsr/run/_selfcheck.py)
        self.adapter = AdaptRunner(self.models, self)  # *Adapt to this layer* (napari_ldcsr/run/_adapt.py)
        self._job: tuple[Any, JobSpec, ProgressiveResult] | None = None
        self._stopped_why: str | None = None  # why the running job was cancelled, if a layer of it went
        self._ended: tuple | None = None  # how the running job ended ("done", its result layer), for _on_finished
        self._t_tiles: float | None = None
        self._build_ui()
        self.tile = tile
        self._connect_runner()
        self._connect_viewer()
        self._start_device_probe()
        # --- issue 10 hook: live lens + linked compare (napari_ldcsr/lens/_live_panel.py) ---
        from .lens._live_panel import LivePanel

        self.live = LivePanel(self)
        self.add_section("Live lens and linked compare", self.live, tooltip=TIPS["live"])
        self._shut = False
        self._watch_teardown()

    # ---------------------------------------------------------------- UI
    def _build_ui(self) -> None:
        self.setObjectName("LdcsrWidget")
        outer = QVBoxLayout(self)
        outer.addWidget(self.form.main.native)
        self.advanced_section = QCollapsible("Advanced")
        tipped(self.advanced_section.toggleButton(), TIPS["advanced"])
        self.advanced_section.addWidget(self.form.advanced.native)
        outer.addWidget(self.advanced_section)
        buttons = QHBoxLayout()
        self.run_button = tipped(QPushButton("Run"), TIPS["run"])
        self.cancel_button = tipped(QPushButton("Cancel"), TIPS["cancel"])
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)
        self.checks = CheckControls(self)  # *Check quality here* (napari_ldcsr/run/_check_controls.py)
        self.check_button = self.checks.button
        self.error_map_box = self.checks.error_map_box
        outer.addLayout(self.checks.row)
        self.adapts = AdaptControls(self)  # *Adapt to this layer* (napari_ldcsr/run/_adapt_controls.py)
        self.adapt_button = self.adapts.button
        outer.addLayout(self.adapts.row)
        self.saves = SaveControls(self)  # *Save layer as GeoTIFF…* (napari_ldcsr/io/_save_controls.py)
        outer.addLayout(self.saves.row)
        self.progress_bar = TileBar()  # empty while idle, then '3 / 8 tiles'
        outer.addWidget(self.progress_bar)
        self.status_label = StatusLine("Ready")  # elides instead of widening the dock; full text in its tooltip
        self.device_label = StatusLine("Device: detecting…")  # where the model runs: CUDA, Apple MPS, CPU
        outer.addWidget(self.status_label)
        outer.addWidget(self.device_label)

        self.compare = CompareControls(self)  # grid, blink, opacity (napari_ldcsr/compare/_controls.py)
        self.compare_button = self.compare.compare_button
        self.blink_button = self.compare.blink_button
        self.opacity_slider = self.compare.opacity_slider
        outer.addWidget(self.compare)
        self._sections = outer
        outer.addStretch(1)

        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(lambda: self.cancel())
        self.compare_button.toggled.connect(self.set_compare)
        self.form.region.changed.connect(self._update_enabled)
        self._update_enabled()

    def add_section(self, title: str, widget: QWidget, *, collapsed: bool = False, tooltip: str = "") -> QCollapsible:
        """Add a collapsible section (e.g. another tool's controls, its header's ``tooltip``) below the widget's own."""
        section = QCollapsible(title)
        tipped(section.toggleButton(), tooltip)
        section.addWidget(widget)
        if not collapsed:
            section.expand(animate=False)
        self._sections.insertWidget(self._sections.count() - 1, section)
        return section

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)  # its tooltip too (``StatusLine``)

    def _connect_viewer(self) -> None:
        ev = self.viewer.layers.events
        for name in ("inserted", "removed", "moved", "reordered", "renamed"):
            emitter = getattr(ev, name, None)
            if emitter is not None:
                emitter.connect(self.reset_choices)
        ev.removed.connect(self._on_layer_removed)
        self.reset_choices()

    def _on_layer_removed(self, event) -> None:
        """A source layer of the running job, or a result layer it is filling in, was removed:
        cancel the run at once (as Cancel does) and remove the rest of its partial result. The last
        run's picked band deleted: another band takes its place, in the grid too (``compare/_controls``). A layer a
        quality check reads stops the check (``run/_check_controls``)."""
        self.compare.follow_removal(event.value, getattr(event, "index", None))
        self.checks.follow_removal(event.value)  # a layer a quality check reads: the check stops
        why = None if self._job is None else self._job[2].stops_on_removal(event.value)
        if why is None or not self.runner.cancel():
            self._update_enabled()  # after ``follow_removal``
            return
        self._job[2].discard(later=True)  # napari may be removing more of them (a selection)
        self._stopped_why = why
        if event.value in self._job[2].source.layers:  # said unless the viewer is closing (notify_removal)
            self._set_status(f"{why}; nothing was added.")
            notify_removal(self.viewer, "warning", f"{why}; the result was not added.")
        else:  # the user's own way of saying "stop"
            self._set_status(f"Stopped: {why}; nothing was added.")
            notify_removal(self.viewer, "info", f"LDCSR run stopped: {why}; no layer was added.")
        self._update_enabled()

    def reset_choices(self, *_: Any) -> None:
        """Refresh the layer pickers from the viewer's layer list (napari also calls this)."""
        self.form.reset_choices()
        self._update_enabled()

    # ---------------------------------------------------------------- settings (public)
    @property
    def layer(self):
        """The image layer currently picked (or None)."""
        return self.form.layer.value

    def set_layer(self, layer) -> None:
        """Pick ``layer``; ValueError if it is not an image layer of this viewer."""
        if layer not in self.form.layer.choices:
            raise ValueError(f"{getattr(layer, 'name', layer)!r} is not an image layer of this viewer")
        self.form.layer.value = layer

    @property
    def scale(self) -> float:
        return float(self.form.scale.value)

    def set_scale(self, value: float) -> None:
        """Set the scale (an out-of-range value is reported and clamped)."""
        self.form.set_scale(value)

    @property
    def output_pixel_size(self) -> float | None:
        """Output pixel size in CRS units for a georeferenced layer, else None."""
        return self.form.output_pixel_size

    def set_output_pixel_size(self, value: float) -> None:
        """Type a target resolution: the scale follows (an out-of-range one is reported and
        clamped) and the box shows the pixel size that scale gives (ValueError for a layer that is
        not georeferenced)."""
        self.form.set_pixel(value)

    @property
    def mode(self) -> str:
        return str(self.form.mode.value)

    def set_mode(self, mode: str) -> None:
        """"diffusion" or "fast" (the label "fast preview" is accepted too)."""
        self.form.mode.value = {v: k for k, v in MODE_LABELS.items()}.get(mode, mode)

    @property
    def seed(self) -> int:
        return int(self.form.seed.value)

    def set_seed(self, seed: int) -> None:
        self.form.seed.value = int(seed)

    @property
    def tile(self) -> int | None:
        """Tile side in input pixels for the engine (None: the engine chooses; a side below
        ``MIN_TILE_IN`` is reported and raised to it)."""
        return int(self.form.tile.value) or None

    @tile.setter
    def tile(self, value: int | None) -> None:
        if value and (value < 0 or value != int(value)):  # the engine's words, not the box's range
            check_tile(value)
        self.form.tile.value = int(value or 0)

    @property
    def model_source(self) -> str | None:
        """The picked checkpoint path, or None for the built-in default."""
        return self.form.model_source

    def add_checkpoint(self, path: str) -> bool:
        """Add (or re-select) a checkpoint in the model picker (False + notification if not one)."""
        return self.form.add_checkpoint(path)

    def set_region(self, which: str, shapes=None) -> None:
        """``which`` is 'whole', 'view' or 'shapes' (with an optional Shapes layer)."""
        if which not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, got {which!r}")
        self.form.region.value = which
        if shapes is not None:
            self.form.shapes.value = shapes

    def set_bicubic(self, on: bool) -> None:
        """Add a bicubic baseline layer with every run."""
        self.form.bicubic.value = bool(on)

    def settings(self) -> RunSettings:
        """A snapshot of the current settings."""
        return self.form.settings()

    @property
    def status(self) -> str:
        """The status line's full text."""
        return self.status_label.text()

    @property
    def progress(self) -> tuple[int, int]:
        """(tiles done, tiles in total) of the current or last run."""
        return self.progress_bar.value(), self.progress_bar.maximum()

    @property
    def device(self) -> str:
        """The device line's text."""
        return self.device_label.text()

    # ---------------------------------------------------------------- run / cancel
    @property
    def running(self) -> bool:
        return self.runner.running

    def run(self, layer=None, scale: float | None = None) -> bool:
        """Start a run with the current settings (``layer``/``scale`` override the pickers).

        Returns True when a run was started; problems become napari notifications.
        """
        try:
            s = self.settings()
        except ValueError as exc:
            notify("error", plain_message(exc))
            return False
        layer, scale = (s.layer if layer is None else layer), (s.scale if scale is None else float(scale))
        if self.busy:  # a run, or a quality check or an adaptation (the Run button is off then too)
            notify("warning", "A run is already in progress; cancel it or wait for it to finish." if self.running
                   else "LDCSR is busy; wait for the run, check or adaptation to finish.")
            return False
        planned = prepare_run(self.viewer, s, layer, scale)  # napari_ldcsr/run/_prepare.py
        if isinstance(planned, str):
            notify("error", planned)
            return False
        spec, source = planned
        from .run._adapt import run_note

        # an adapted model used beyond its guard's check; a GeoTIFF read without its georeferencing; a scale below
        # ×1.25, a shipped model on pixels unlike its training imagery's
        empty = all_nodata_notice(spec, source, layer.name)  # its output all nodata: none of it untested
        for note in filter(None, (empty, run_note(spec, source), lost_georeferencing(layer),
                                  *([] if empty else trained_range_notes(spec, source, self.models)))):
            notify("warning", note)
        if spec.output_path is not None and s.bicubic:
            notify("info", "No bicubic baseline for a result streamed to a file.")
        if spec.samples > 1:  # K whole runs of the sampler: said before it starts, as QGIS and `ldcsr upscale` say it
            from .run._prepare import samples_notice

            notify("info", samples_notice(spec.samples))
        self._start(layer, spec, source)
        return True

    def _start(self, layer, spec: JobSpec, source: LayerSource) -> None:
        if self.comparing:
            self.set_compare(False)
        self._job = (layer, spec, ProgressiveResult(self.viewer, source, spec, opacity=self.compare.opacity))
        self._t_tiles = self._stopped_why = self._ended = None
        self.progress_bar.busy()  # until the first tile is done
        self._set_status(running_text(spec, source, cached=self.models.cached(spec.model_source) is not None))
        self.runner.start(source.pinned(), spec)  # its pixels as Run was pressed: another array given later is said
        self._update_enabled()

    def cancel(self) -> None:
        """Ask the running job, quality check (K samples of it can take as long as a Run) or adaptation to
        stop (the engine stops within one tile or training step); nothing is added or saved."""
        if self.runner.cancel() or self.checker.cancel() or self.adapter.cancel():
            self._set_status("Cancelling…")
            self.cancel_button.setEnabled(False)

    # ---------------------------------------------------------------- check quality here
    def check_quality(self, layer=None) -> bool:
        """*Check quality here*: the reduced-resolution self-check (``ldcsr_core.selfcheck``) of the
        picked layer's current view (the whole layer if small) at the current settings, in a worker
        thread; the gain over bicubic goes to the status line, the error maps (with "error map
        layer" ticked) to layers over the source. True when a check was started."""
        return self.checks.check_quality(layer)

    def adapt_to_layer(self, layer=None, minutes: float | None = None) -> bool:
        """*Adapt to this layer*: fine-tune the picked model on the layer's own pixels (the region
        *Check quality here* uses) for ``minutes`` (default: the row's box) in a worker thread; a
        model that beats the current one on a held-back strip is saved to the user's model folder
        and selected. True when an adaptation was started."""
        return self.adapts.adapt(layer, minutes)

    @property
    def busy(self) -> bool:
        """A run, a quality check or an adaptation is in progress."""
        return self.running or self.checker.running or self.adapter.running

    def _update_enabled(self, *_: Any) -> None:
        running = self.running
        adapter = getattr(self, "adapter", None)
        other = (getattr(self, "checker", None) is not None and self.checker.running) \
            or (adapter is not None and adapter.running)
        self.form.set_running(running or (adapter is not None and adapter.running))
        for button in (self.run_button, self.check_button, getattr(self, "adapt_button", None)):
            if button is not None:
                button.setEnabled(not running and not other)
        checker = getattr(self, "checker", None)
        self.cancel_button.setEnabled(any(r is not None and r.running and not r.cancelling
                                          for r in (self.runner, checker, adapter)))
        self.compare.update_enabled(self.last_result is not None)

    # ---------------------------------------------------------------- results and compare
    @property
    def last_result(self):
        """The most recent LDCSR result layer (if it and its source are still in the viewer): the
        picked band's, or the band's that took its place when its layers were deleted."""
        return self.last.result if self.last is not None and self.last.present(self.viewer) else None

    def ensure_bicubic(self):
        """The bicubic baseline layer of the last run (computed and added if needed)."""
        return _outcome.ensure_bicubic(self.viewer, self.last)

    @property
    def comparing(self) -> bool:
        """Whether the side-by-side grid is on."""
        return self.compare.comparing

    def set_compare(self, on: bool) -> None:
        """Side-by-side grid (source | bicubic | LDCSR) with one shared camera, or back."""
        self.compare.set_compare(on)
        self._update_enabled()

    def toggle_result(self) -> None:
        """Flip between the LDCSR result and the source underneath it (A/B blink)."""
        self.compare.toggle_result()

    def set_result_opacity(self, percent: int) -> None:
        """Opacity of the last result over its source, in percent."""
        self.opacity_slider.setValue(int(percent))

    # ---------------------------------------------------------------- device / teardown
    def _start_device_probe(self) -> None:
        """Find the device (imports torch) in a worker thread; its ``returned`` signal shows it.
        With the engine's own loader, the shipped model is loaded there too, so that the first Run
        or live view does not wait for torch and the weights."""
        start_device_probe(self.models if self._preload_default else None, self._show_device)

    def _show_device(self, text: str) -> None:
        if self.device_label.text().startswith("Device: detecting"):
            self.device_label.setText(f"Device: {text}")
