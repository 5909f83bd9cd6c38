"""The LDCSR dock widget: the settings form, Run/Cancel with progress, and Compare.

The pieces live in small modules: the form in ``_form`` (magicgui + superqt), the worker in
``_runner`` (napari ``thread_worker`` + superqt ``ensure_main_thread``), the engine job in
``_job``, regions in ``_region``, result layers in ``_results`` and the grid/blink comparison in
``_sidebyside`` (the last four Qt-free). This module lays them out and wires them together.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from ldcsr_core.rules import MIN_INPUT_SIDE
from ldcsr_core.threads import release_pool
from qtpy.QtCore import QEvent, Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)
from superqt import QCollapsible, QElidingLabel, QLabeledSlider

from .compare import _sidebyside as sbs
from ._form import MODE_LABELS, RunSettings, SettingsForm
from .run._bigrun import open_streamed, plan_run
from .run._job import JobResult, JobSpec, LayerSource, ModelCache, bicubic_job, check_layer, layer_source, plain_message
from .run._runner import CheckRunner, JobRunner, probe_device
from .run._region import REGIONS, region_for
from .run._results import ProgressiveResult, RunLayers, result_kwargs
from ._viewer import notify

if TYPE_CHECKING:
    import napari

__all__ = ["LdcsrWidget"]


def _fmt_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d} min"


class LdcsrWidget(QWidget):
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
        A run ended: "done", "cancelled" or "failed".
    qualityChecked(object)
        A *Check quality here* finished: its ``ldcsr_core.quality.SelfCheck``.
    """

    resultAdded = Signal(object)
    runFinished = Signal(str)
    qualityChecked = Signal(object)

    def __init__(self, napari_viewer: napari.viewer.Viewer, model_provider=None, tile: int | None = None) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.models = ModelCache(model_provider)
        self._preload_default = model_provider is None  # the shipped model, loaded in the background
        self.form = SettingsForm(napari_viewer)
        self.last: RunLayers | None = None
        self.runner = JobRunner(self.models, self)
        self.checker = CheckRunner(self.models, self)  # *Check quality here* (napari_ldcsr/_selfcheck.py)
        self._job: tuple[Any, JobSpec, ProgressiveResult] | None = None
        self._t_tiles: float | None = None
        self._grid: sbs.GridState | None = None
        self._build_ui()
        self.tile = tile
        self._connect_runner()
        self._connect_viewer()
        self._start_device_probe()
        # --- issue 10 hook: live lens + linked compare (napari_ldcsr/_live_panel.py) ---
        from .lens._live_panel import LivePanel

        self.live = LivePanel(self)
        self.add_section("Live lens and linked compare", self.live)
        self._shut = False
        self._watch_teardown()

    # ---------------------------------------------------------------- UI
    def _build_ui(self) -> None:
        self.setObjectName("LdcsrWidget")
        outer = QVBoxLayout(self)
        outer.addWidget(self.form.main.native)
        self.advanced_section = QCollapsible("Advanced")
        self.advanced_section.addWidget(self.form.advanced.native)
        outer.addWidget(self.advanced_section)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)
        from .run._selfcheck import TOOLTIP

        check_row = QHBoxLayout()
        self.check_button = QPushButton("Check quality here")
        self.check_button.setToolTip(TOOLTIP)
        self.error_map_box = QCheckBox("error map layer")
        self.error_map_box.setChecked(True)
        check_row.addWidget(self.check_button)
        check_row.addWidget(self.error_map_box)
        outer.addLayout(check_row)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%v / %m tiles")
        outer.addWidget(self.progress_bar)
        self.status_label = QElidingLabel("Ready")
        self.device_label = QElidingLabel("Device: detecting…")
        for label in (self.status_label, self.device_label):  # elide instead of widening the dock
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            outer.addWidget(label)

        compare = QGroupBox("Compare")
        cl = QVBoxLayout(compare)
        self.compare_button = QPushButton("Side by side: source | bicubic | LDCSR")
        self.compare_button.setCheckable(True)
        self.blink_button = QPushButton("Show source / result")
        op = QHBoxLayout()
        op.addWidget(QLabel("Result opacity"))
        self.opacity_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(100)
        op.addWidget(self.opacity_slider)
        cl.addWidget(self.compare_button)
        cl.addWidget(self.blink_button)
        cl.addLayout(op)
        outer.addWidget(compare)
        self._sections = outer
        outer.addStretch(1)

        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(lambda: self.cancel())
        self.check_button.clicked.connect(lambda: self.check_quality())
        self.compare_button.toggled.connect(self.set_compare)
        self.blink_button.clicked.connect(lambda: self.toggle_result())
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.form.region.changed.connect(self._update_enabled)
        self._update_enabled()

    def add_section(self, title: str, widget: QWidget, *, collapsed: bool = False) -> QCollapsible:
        """Add a collapsible section (e.g. another tool's controls) below the widget's own."""
        section = QCollapsible(title)
        section.addWidget(widget)
        if not collapsed:
            section.expand(animate=False)
        self._sections.insertWidget(self._sections.count() - 1, section)
        return section

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text)

    def _connect_viewer(self) -> None:
        ev = self.viewer.layers.events
        for name in ("inserted", "removed", "moved", "reordered", "renamed"):
            emitter = getattr(ev, name, None)
            if emitter is not None:
                emitter.connect(self.reset_choices)
        self.reset_choices()

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
        self.form.scale.value = float(value)

    @property
    def output_pixel_size(self) -> float | None:
        """Output pixel size in CRS units for a georeferenced layer, else None."""
        return self.form.output_pixel_size

    def set_output_pixel_size(self, value: float) -> None:
        """Type a target resolution: the scale follows."""
        self.form.pixel.value = float(value)

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
        """Tile side in input pixels for the engine (None: the engine chooses)."""
        return int(self.form.tile.value) or None

    @tile.setter
    def tile(self, value: int | None) -> None:
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
        layer = s.layer if layer is None else layer
        scale = s.scale if scale is None else float(scale)
        if self.running:
            notify("warning", "A run is already in progress; cancel it or wait for it to finish.")
            return False
        problem = check_layer(layer, scale)
        if problem is None:
            region = region_for(self.viewer, layer, s.region, s.shapes)
            if isinstance(region, str):
                problem = region
            elif min(region.shape) < MIN_INPUT_SIDE:
                problem = (f"The region is only {region.rows}×{region.cols} px; it needs at least "
                           f"{MIN_INPUT_SIDE}×{MIN_INPUT_SIDE} px.")
        if problem is not None:
            notify("error", problem)
            return False
        try:
            spec = JobSpec(scale=scale, region=region, mode=s.mode, seed=s.seed, model_source=s.model_source,
                           tile=s.tile, bicubic=s.bicubic, stretch=s.stretch, bands=s.bands, samples=s.samples)
        except ValueError as exc:
            notify("error", plain_message(exc))
            return False
        source = layer_source(self.viewer, layer)
        spec = plan_run(source, spec)  # big results stream to a GeoTIFF (napari_ldcsr/_bigrun.py)
        if isinstance(spec, str):
            notify("error", spec)
            return False
        if spec.output_path is not None and s.bicubic:
            notify("info", "No bicubic baseline for a result streamed to a file.")
        self._start(layer, spec, source)
        return True

    def _start(self, layer, spec: JobSpec, source: LayerSource) -> None:
        if self.comparing:
            self.set_compare(False)
        self._job = (layer, spec, ProgressiveResult(self.viewer, source, spec,
                                                    opacity=self.opacity_slider.value() / 100.0))
        self._t_tiles = None
        self.progress_bar.setRange(0, 0)  # busy until the first tile is done
        cached = self.models.cached(spec.model_source) is not None
        bands = f" · {len(source.layers)} band layers" if source.layout == "bands" else ""
        to_file = f" · streaming to {os.path.basename(spec.output_path)}" if spec.output_path else ""
        self._set_status(
            f"Running ×{spec.scale:.2f} ({spec.mode}) on {spec.region.rows}×{spec.region.cols} px → "
            f"{spec.out_shape[0]}×{spec.out_shape[1]} px{bands}{to_file}" + ("" if cached else " · loading model…"))
        self.runner.start(source, spec)
        self._update_enabled()

    def cancel(self) -> None:
        """Ask the running job to stop (the engine stops within one tile); nothing is added."""
        if self.runner.cancel():
            self._set_status("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _connect_runner(self) -> None:
        r = self.runner
        r.modelReady.connect(self._on_model_ready)
        r.progressed.connect(self._on_progress)
        r.rowsReady.connect(self._on_rows)
        r.tileReady.connect(self._on_tile)
        r.succeeded.connect(self._on_result)
        r.failed.connect(self._on_failed)
        r.cancelled.connect(self._on_cancelled)
        r.finished.connect(self._on_finished)
        self.checker.succeeded.connect(self._on_checked)
        self.checker.failed.connect(lambda exc: self._set_status(f"Check failed: {plain_message(exc)}"))
        self.checker.failed.connect(lambda exc: notify("error", f"LDCSR could not check the quality: {plain_message(exc)}"))
        self.checker.finished.connect(self._update_enabled)

    # ---------------------------------------------------------------- check quality here
    def check_quality(self, layer=None) -> bool:
        """*Check quality here*: the reduced-resolution self-check (``ldcsr_core.selfcheck``) of the
        picked layer's current view (the whole layer if small) at the current settings, in a worker
        thread; the gain over bicubic goes to the status line, the error maps (with "error map
        layer" ticked) to layers over the source. True when a check was started."""
        from .run._selfcheck import prepare_check

        if self.running or self.checker.running:
            notify("warning", "LDCSR is busy; wait for the run or the check to finish.")
            return False
        request = prepare_check(self.viewer, self.settings, layer)
        if isinstance(request, str):
            notify("error", request)
            return False
        self._set_status(f"Checking ×{request.scale:.2f} ({request.mode}) on {request.where}…")
        self.checker.start(layer_source(self.viewer, request.layer), request)
        self._update_enabled()
        return True

    def _on_checked(self, result, request) -> None:
        from .run._selfcheck import show_check

        self._set_status(show_check(self.viewer, request, result, maps=self.error_map_box.isChecked()))
        self.status_label.setToolTip(f"{result.line()}\nLimits: {result.to_dict()['limits']}.")
        self.qualityChecked.emit(result)

    def _on_model_ready(self, info: dict) -> None:
        if "device" in info:
            self.device_label.setText(f"Device: {info['device']}")
        self._t_tiles = time.perf_counter()

    def _on_progress(self, info) -> None:
        done, total = info.done, info.total
        self.progress_bar.setRange(0, max(int(total), 1))
        self.progress_bar.setValue(int(done))
        elapsed = time.perf_counter() - (self._t_tiles or time.perf_counter())
        if 0 < done < total:
            left = elapsed / done * (total - done)
            self._set_status(f"{done} / {total} tiles · about {_fmt_seconds(left)} left")
        elif done >= total:
            self._set_status(f"{done} / {total} tiles · finishing…")

    def _on_rows(self, y0: int, rows) -> None:
        try:
            self._job[2].rows(y0, rows)
        except Exception as exc:  # noqa: BLE001 - a preview must never crash the viewer
            notify("warning", f"LDCSR could not show finished rows: {plain_message(exc)}")

    def _on_tile(self, box, colour, values) -> None:
        try:
            self._job[2].tile(box, colour, values)
        except Exception as exc:  # noqa: BLE001 - a preview must never crash the viewer
            notify("warning", f"LDCSR could not show a finished tile: {plain_message(exc)}")

    def _on_result(self, result: JobResult) -> None:
        layer, spec, partial = self._job
        try:
            outs = partial.finish(result) if result.path is None else self._open_streamed(result)
            if outs is None:
                notify("warning", f"'{layer.name}' was removed during the run; the result was not added.")
                self.runFinished.emit("failed")
                return
            picked = partial.source.layers.index(layer)
            bics = []
            if result.bicubic is not None:
                bics = self._add_bicubic(partial.source, spec, result.bicubic, outs)
            self.last = RunLayers(layer, outs[picked], bics[picked] if bics else None, result, partial.source,
                                  outs, bics)
            if result.spread is not None:  # uncertainty map (samples > 1), above the results
                from .run._spread import add_spread_layer

                self.last.spread = add_spread_layer(self.viewer, layer, spec, result.spread, outs)
        except Exception as exc:  # noqa: BLE001 - never crash the viewer
            partial.discard()
            notify("error", f"LDCSR could not add the result layer: {plain_message(exc)}")
            self.runFinished.emit("failed")
            return
        out = outs[picked]
        saved = f", saved as {os.path.basename(result.path)}," if result.path else ""
        self._set_status(f"Added '{out.name}' ({spec.out_shape[0]}×{spec.out_shape[1]} px){saved} "
                         f"in {_fmt_seconds(result.seconds)}")
        self.progress_bar.setValue(self.progress_bar.maximum())
        self.resultAdded.emit(out)
        self.runFinished.emit("done")

    def _open_streamed(self, result: JobResult) -> list | None:
        """Open a streamed result lazily over its source (None if the source layers are gone)."""
        source = self._job[2].source
        if not all(src in self.viewer.layers for src in source.layers):
            notify("info", f"The result was saved as {result.path}.")
            return None
        return open_streamed(self.viewer, source, result)

    def _on_failed(self, exc: BaseException) -> None:
        layer, _, partial = self._job
        partial.discard()
        message = plain_message(exc)
        self._set_status(f"Failed: {message}")
        notify("error", f"LDCSR could not super-resolve '{layer.name}': {message}")
        self.runFinished.emit("failed")

    def _on_cancelled(self) -> None:
        self._job[2].discard()
        self._set_status("Cancelled; nothing was added.")
        notify("info", "LDCSR run cancelled; no layer was added.")
        self.runFinished.emit("cancelled")

    def _on_finished(self) -> None:
        self._job = None
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)
        self._update_enabled()

    def _add_bicubic(self, source, spec: JobSpec, geo_array, results: list) -> list:
        """Add the bicubic baseline layers, each just below its LDCSR result."""
        from napari.layers import Image

        layers = []
        for src, data, above in zip(source.layers, source.split(geo_array.data), results):
            kwargs = result_kwargs(src, spec, "bicubic", run_info=above.metadata.get("ldcsr"))
            kwargs["metadata"]["tags"] = dict(geo_array.tags)
            layer = Image(data, **kwargs)
            self.viewer.layers.insert(self.viewer.layers.index(above), layer)
            layers.append(layer)
        return layers

    def _update_enabled(self, *_: Any) -> None:
        running = self.running
        self.form.set_running(running)
        checking = getattr(self, "checker", None) is not None and self.checker.running
        self.run_button.setEnabled(not running and not checking)
        self.check_button.setEnabled(not running and not checking)
        self.cancel_button.setEnabled(running and not self.runner.cancelling)
        has_result = self.last_result is not None
        self.compare_button.setEnabled(has_result or self.compare_button.isChecked())
        self.blink_button.setEnabled(has_result)
        self.opacity_slider.setEnabled(has_result)

    # ---------------------------------------------------------------- results and compare
    @property
    def last_result(self):
        """The most recent LDCSR result layer (if it and its source are still in the viewer)."""
        return self.last.result if self.last is not None and self.last.present(self.viewer) else None

    def ensure_bicubic(self):
        """The bicubic baseline layer of the last run (computed and added if needed)."""
        last = self.last
        if last.bicubic is not None and last.bicubic in self.viewer.layers:
            return last.bicubic
        if last.job.path is not None:
            raise ValueError("the result was streamed to a file; its bicubic baseline would not fit in memory")
        geo_array = bicubic_job(last.layer_source, last.job.spec)
        present = [r for r in last.results if r in self.viewer.layers]
        if len(present) != len(last.results):  # some band results were removed: just the picked one
            source = LayerSource((last.source,), "gray")
            data = geo_array.data[last.layer_source.layers.index(last.source)][None]
            geo_array = type(geo_array)(data, geo_array.transform, tags=geo_array.tags)
            present = [last.result]
        else:
            source = last.layer_source
        last.bicubics = self._add_bicubic(source, last.job.spec, geo_array, present)
        last.bicubic = last.bicubics[present.index(last.result)]
        return last.bicubic

    @property
    def comparing(self) -> bool:
        """Whether the side-by-side grid is on."""
        return self._grid is not None

    def set_compare(self, on: bool) -> None:
        """Side-by-side grid (source | bicubic | LDCSR) with one shared camera, or back."""
        on = bool(on)
        if on != self.comparing:
            if on:
                self._enter_compare()
            else:
                state, self._grid = self._grid, None
                sbs.leave_grid(self.viewer, state)
        self.compare_button.blockSignals(True)
        self.compare_button.setChecked(self.comparing)
        self.compare_button.blockSignals(False)
        self._update_enabled()

    def _enter_compare(self) -> None:
        if self.last_result is None:
            notify("warning", "Run LDCSR first: there is no result to compare.")
            return
        try:
            bic = self.ensure_bicubic()
        except Exception as exc:  # noqa: BLE001
            notify("error", f"Could not compute the bicubic baseline: {plain_message(exc)}")
            return
        self._grid = sbs.enter_grid(self.viewer, self.last.source, bic, self.last.result)

    def toggle_result(self) -> None:
        """Flip between the LDCSR result and the source underneath it (A/B blink)."""
        if self.last_result is not None:
            sbs.blink(self.last.source, self.last.result)

    def set_result_opacity(self, percent: int) -> None:
        """Opacity of the last result over its source, in percent."""
        self.opacity_slider.setValue(int(percent))

    def _on_opacity(self, value: int) -> None:
        if self.last_result is not None:
            self.last.result.opacity = value / 100.0

    # ---------------------------------------------------------------- device / teardown
    def _start_device_probe(self) -> None:
        """Find the device (imports torch) in a worker thread; its ``returned`` signal shows it.
        With the engine's own loader, the shipped model is loaded there too, so that the first Run
        or live view does not wait for torch and the weights."""
        from napari.qt.threading import create_worker

        models = self.models if self._preload_default else None

        def probe() -> str:
            text = probe_device()
            if models is not None:
                try:
                    models.get(None)
                except Exception:  # noqa: BLE001 - reported by the Run that needs the model
                    pass
            release_pool()  # no idle OpenMP workers left behind (see ldcsr_core.threads)
            return text

        worker = create_worker(probe, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._show_device)
        worker.errored.connect(lambda exc: self._show_device(f"unknown ({plain_message(exc)})"))
        worker.start()

    def _show_device(self, text: str) -> None:
        if self.device_label.text().startswith("Device: detecting"):
            self.device_label.setText(f"Device: {text}")

    def _watch_teardown(self) -> None:
        """Shut down when the viewer's window is destroyed or the application quits (the widget's
        own removal is seen in :meth:`event`)."""
        from qtpy.QtWidgets import QApplication

        window = getattr(getattr(self.viewer, "window", None), "_qt_window", None)
        if window is not None:
            window.destroyed.connect(self.shutdown)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def shutdown(self, *_: Any) -> None:
        """Stop every worker of the widget (the Run, the live lens) and wait for their threads to
        end, so that none outlives the viewer: a Run stops within one tile and a streamed Run's part
        file is removed on the way. Called when the viewer closes, the application quits, or the
        widget is removed from its dock; safe to call more than once."""
        if self._shut:
            return
        self._shut = True
        try:
            self.cancel()
            self.checker.cancel()
            self.live.close()
        except RuntimeError:  # Qt parts already deleted: nothing left to stop there
            pass
        from qtpy.QtCore import QThreadPool

        self.runner.wait()
        QThreadPool.globalInstance().waitForDone(60_000)  # the lens's and the probe's workers too

    def event(self, ev) -> bool:  # noqa: D401 - Qt override
        # napari's remove_dock_widget unparents the widget before deleting its dock.
        if ev.type() == QEvent.Type.ParentChange and self.parent() is None \
                and getattr(self, "_shut", True) is False:
            self.shutdown()
        return super().event(ev)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.cancel()
        self.live.close()  # issue 10 hook
        super().closeEvent(event)
