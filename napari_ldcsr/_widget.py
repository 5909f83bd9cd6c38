"""The LDCSR dock widget (Qt). Geometry lives in ``_geometry``, engine calls in ``_job``."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtGui import QValidator
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import _geometry as geo
from ._job import MODES, JobResult, JobSpec, ModelCache, model_info, provenance, run_job

if TYPE_CHECKING:
    import napari
    import napari.layers

__all__ = ["LdcsrWidget", "ScaleSpinBox"]

SCALE_MIN, SCALE_MAX = 1.0, 8.0
MIN_SIDE = 4  # px: ldcsr_core.api.MIN_INPUT_SIDE (kept here so the GUI thread never imports torch)
REGIONS = ("Whole layer", "Current view", "Inside a Shapes rectangle")
DEFAULT_MODEL = "Built-in default"
LOAD_CHECKPOINT = "Load checkpoint…"


def _notify(level: str, message: str) -> None:
    from napari.utils import notifications

    {"info": notifications.show_info, "warning": notifications.show_warning}.get(
        level, notifications.show_error
    )(message)


class ScaleSpinBox(QDoubleSpinBox):
    """1.00-8.00 spin box that lets an out-of-range value be typed, then reports and clamps it."""

    outOfRange = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(SCALE_MIN, SCALE_MAX)
        self.setSingleStep(0.1)
        self.setDecimals(2)
        self.setValue(2.0)
        self.setKeyboardTracking(False)
        self.setCorrectionMode(QDoubleSpinBox.CorrectionMode.CorrectToNearestValue)

    def _parse(self, text: str) -> float | None:
        try:
            return float(text.strip().replace(",", "."))
        except ValueError:
            return None

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt override
        res = super().validate(text, pos)
        state = res[0] if isinstance(res, tuple) else res
        if state == QValidator.State.Invalid and self._parse(text) is not None:
            state = QValidator.State.Intermediate
        return (state, text, pos) if isinstance(res, tuple) else state

    def fixup(self, text: str) -> str:  # noqa: D102 - Qt override
        value = self._parse(text)
        if value is not None and not (self.minimum() <= value <= self.maximum()):
            self.outOfRange.emit(value)
            return self.textFromValue(min(max(value, self.minimum()), self.maximum()))
        return text


class _Relay(QObject):
    """Carries worker-thread callbacks to the GUI thread (queued signal connections)."""

    progress = Signal(int, int)
    model_ready = Signal(dict)


@dataclass
class _Outcome:
    result: JobResult | None = None
    error: str | None = None
    cancelled: bool = False


def _plain_message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller region, a smaller scale or a smaller tile"
    text = str(exc).strip() or type(exc).__name__
    try:
        from ldcsr_core.errors import LdcsrError
    except Exception:  # pragma: no cover - engine missing
        LdcsrError = ()  # type: ignore[assignment]  # noqa: N806
    if isinstance(exc, (ValueError, LdcsrError, OSError)):  # type: ignore[arg-type]
        return text
    return f"{type(exc).__name__}: {text}"


def _work(data, rgb: bool, spec: JobSpec, cache: ModelCache, relay: _Relay, cancel: threading.Event):
    """Worker-thread body: load (cached) model, run the engine; never raises."""
    try:
        from ldcsr_core.errors import Cancelled

        model = cache.get(spec.model_source)
        relay.model_ready.emit(model_info(model))
        if cancel.is_set():
            return _Outcome(cancelled=True)
        try:
            result = run_job(data, rgb, spec, model, progress=relay.progress.emit, cancel=cancel.is_set)
        except Cancelled:
            return _Outcome(cancelled=True)
        if cancel.is_set():
            return _Outcome(cancelled=True)
        return _Outcome(result=result)
    except Exception as exc:  # noqa: BLE001 - becomes a notification in the GUI thread
        return _Outcome(error=_plain_message(exc))


def _probe_device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return f"cpu ({torch.get_num_threads()} threads)"


def _grid(viewer):
    """The grid model (``viewer.canvas.grid`` since napari 0.9, ``viewer.grid`` before)."""
    canvas = getattr(viewer, "canvas", None)
    grid = getattr(canvas, "grid", None)
    return viewer.grid if grid is None else grid


def _camera(viewer):
    """The camera model (``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before)."""
    scene = getattr(viewer, "scene", None)
    camera = getattr(scene, "camera", None)
    return viewer.camera if camera is None else camera


def _canvas_size(viewer) -> tuple[float, float]:
    canvas = getattr(viewer, "canvas", None)
    if canvas is not None:
        if _grid(viewer).enabled and hasattr(canvas, "viewbox_size"):
            return tuple(canvas.viewbox_size(viewer.layers))  # type: ignore[return-value]
        return tuple(canvas.size)  # type: ignore[return-value]
    return tuple(getattr(viewer, "_canvas_size", (600, 800)))  # napari < 0.6


def _linear_part(layer) -> np.ndarray:
    """The rotate @ shear matrix of a 2-D layer's data->physical transform."""
    from napari.utils.transforms import Affine

    return Affine(rotate=layer.rotate, shear=layer.shear, ndim=2).linear_matrix


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
    """

    def __init__(
        self,
        napari_viewer: napari.viewer.Viewer,
        model_provider=None,
        tile: int | None = None,
    ) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.tile = tile
        self._cache = ModelCache(model_provider)
        self._worker = None
        self._cancel_event: threading.Event | None = None
        self._t_tiles: float | None = None
        self._last: dict[str, Any] | None = None  # source / result / bicubic of the latest run
        self._compare_state: dict[str, Any] | None = None
        self._prev_model_index = 0
        self._build_ui()
        self._connect_viewer()
        self._refresh_layers()
        self._start_device_probe()

    # ---------------------------------------------------------------- UI
    def _build_ui(self) -> None:
        self.setObjectName("LdcsrWidget")
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)

        self._layer_combo = QComboBox()
        self._layer_combo.setToolTip("Image layer to super-resolve")
        form.addRow("Image layer", self._layer_combo)

        self._scale = ScaleSpinBox()
        self._scale.setToolTip("Super-resolution factor (1.00-8.00); the output covers the same area")
        form.addRow("Scale ×", self._scale)

        self._pixel = QDoubleSpinBox()
        self._pixel.setDecimals(4)
        self._pixel.setKeyboardTracking(False)
        self._pixel.setToolTip("Output pixel size; type a target resolution to get the scale")
        form.addRow("Output pixel", self._pixel)

        self._model_combo = QComboBox()
        self._model_combo.addItem(DEFAULT_MODEL, None)
        self._model_combo.addItem(LOAD_CHECKPOINT, "__load__")
        self._model_combo.setToolTip("Official Lightning .ckpt or napari-ldcsr .safetensors")
        form.addRow("Model", self._model_combo)

        self._mode_combo = QComboBox()
        self._mode_combo.addItems(list(MODES))
        self._mode_combo.setToolTip("diffusion: 4-step sampler (best); fast preview: deterministic decoder")
        form.addRow("Mode", self._mode_combo)

        self._seed = QSpinBox()
        self._seed.setRange(0, 2**31 - 1)
        form.addRow("Seed", self._seed)

        self._region_combo = QComboBox()
        self._region_combo.addItems(list(REGIONS))
        form.addRow("Region", self._region_combo)
        self._shapes_combo = QComboBox()
        self._shapes_combo.setToolTip("Shapes layer whose selected (or last) rectangle bounds the region")
        form.addRow("Shapes layer", self._shapes_combo)

        self._bicubic_check = QCheckBox("Also add a bicubic baseline layer")
        form.addRow("", self._bicubic_check)

        buttons = QHBoxLayout()
        self._run_btn = QPushButton("Run")
        self._cancel_btn = QPushButton("Cancel")
        self._cancel_btn.setEnabled(False)
        buttons.addWidget(self._run_btn)
        buttons.addWidget(self._cancel_btn)
        outer.addLayout(buttons)

        self._progress = QProgressBar()
        self._progress.setRange(0, 1)
        self._progress.setValue(0)
        self._progress.setFormat("%v / %m tiles")
        outer.addWidget(self._progress)
        self._status = QLabel("Ready")
        self._status.setWordWrap(True)
        outer.addWidget(self._status)
        self._device = QLabel("Device: detecting…")
        outer.addWidget(self._device)

        compare = QGroupBox("Compare")
        cl = QVBoxLayout(compare)
        self._compare_btn = QPushButton("Side by side: source | bicubic | LDCSR")
        self._compare_btn.setCheckable(True)
        self._toggle_btn = QPushButton("Show source / result")
        op = QHBoxLayout()
        op.addWidget(QLabel("Result opacity"))
        self._opacity = QSlider(Qt.Orientation.Horizontal)
        self._opacity.setRange(0, 100)
        self._opacity.setValue(100)
        op.addWidget(self._opacity)
        cl.addWidget(self._compare_btn)
        cl.addWidget(self._toggle_btn)
        cl.addLayout(op)
        outer.addWidget(compare)
        outer.addStretch(1)

        self._layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        self._scale.valueChanged.connect(self._on_scale_changed)
        self._scale.outOfRange.connect(self._on_scale_out_of_range)
        self._pixel.valueChanged.connect(self._on_pixel_changed)
        self._model_combo.activated.connect(self._on_model_activated)
        self._region_combo.currentIndexChanged.connect(self._update_enabled)
        self._run_btn.clicked.connect(self.run)
        self._cancel_btn.clicked.connect(self.cancel)
        self._compare_btn.toggled.connect(self.set_compare)
        self._toggle_btn.clicked.connect(self.toggle_result)
        self._opacity.valueChanged.connect(self._on_opacity)
        self._update_enabled()

    def _connect_viewer(self) -> None:
        ev = self.viewer.layers.events
        for e in (ev.inserted, ev.removed, ev.moved, ev.reordered):
            e.connect(self._refresh_layers)
        ev.inserted.connect(self._on_inserted)
        for layer in self.viewer.layers:
            layer.events.name.connect(self._refresh_layers)

    def _disconnect_viewer(self) -> None:
        ev = self.viewer.layers.events
        for e in (ev.inserted, ev.removed, ev.moved, ev.reordered):
            e.disconnect(self._refresh_layers)
        ev.inserted.disconnect(self._on_inserted)
        for layer in self.viewer.layers:
            layer.events.name.disconnect(self._refresh_layers)

    def _on_inserted(self, event) -> None:
        event.value.events.name.connect(self._refresh_layers)

    # ---------------------------------------------------------------- layer pickers
    def _image_layers(self) -> list:
        from napari.layers import Image

        return [lyr for lyr in self.viewer.layers if isinstance(lyr, Image)]

    def _shapes_layers(self) -> list:
        from napari.layers import Shapes

        return [lyr for lyr in self.viewer.layers if isinstance(lyr, Shapes)]

    def _refresh_layers(self, *_: Any) -> None:
        for combo, layers in ((self._layer_combo, self._image_layers()), (self._shapes_combo, self._shapes_layers())):
            current = combo.currentText()
            names = [lyr.name for lyr in layers]
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            if current in names:
                combo.setCurrentIndex(names.index(current))
            combo.blockSignals(False)
        self._on_layer_changed()

    @property
    def layer(self):
        """The image layer currently picked (or None)."""
        name = self._layer_combo.currentText()
        return self.viewer.layers[name] if name in self.viewer.layers else None

    def set_layer(self, layer) -> None:
        index = self._layer_combo.findText(layer.name)
        if index < 0:
            raise ValueError(f"{layer.name!r} is not an image layer of this viewer")
        self._layer_combo.setCurrentIndex(index)

    # ---------------------------------------------------------------- scale <-> pixel size
    def _pixel_size(self) -> tuple[float, str] | None:
        layer = self.layer
        if layer is None:
            return None
        md = layer.metadata or {}
        if not md.get("crs") or not md.get("pixel_size"):
            return None
        px = float(np.mean(md["pixel_size"]))
        units = md.get("units") or "CRS units"
        units = {"metre": "m", "meter": "m", "metres": "m", "meters": "m"}.get(str(units).lower(), units)
        return px, str(units)

    def _on_layer_changed(self, *_: Any) -> None:
        ps = self._pixel_size()
        self._pixel.blockSignals(True)
        if ps is None:
            self._pixel.setEnabled(False)
            self._pixel.setSpecialValueText("— (not georeferenced)")
            self._pixel.setRange(0.0, 0.0)
            self._pixel.setValue(0.0)
        else:
            px, units = ps
            self._pixel.setSpecialValueText("")
            self._pixel.setEnabled(True)
            self._pixel.setRange(px / SCALE_MAX, px / SCALE_MIN)
            self._pixel.setSingleStep(px / 100.0)
            self._pixel.setDecimals(max(2, 3 - int(np.floor(np.log10(px / SCALE_MAX)))))
            self._pixel.setSuffix(f" {units}")
            self._pixel.setValue(geo.output_pixel_size(px, self._scale.value()))
        self._pixel.blockSignals(False)
        self._update_enabled()

    def _on_scale_changed(self, value: float) -> None:
        ps = self._pixel_size()
        if ps is not None:
            self._pixel.blockSignals(True)
            self._pixel.setValue(geo.output_pixel_size(ps[0], value))
            self._pixel.blockSignals(False)

    def _on_pixel_changed(self, value: float) -> None:
        ps = self._pixel_size()
        if ps is None or value <= 0:
            return
        scale = geo.scale_for_pixel_size(ps[0], value)
        self._scale.blockSignals(True)
        self._scale.setValue(min(max(scale, SCALE_MIN), SCALE_MAX))
        self._scale.blockSignals(False)

    def _on_scale_out_of_range(self, value: float) -> None:
        _notify(
            "warning",
            f"Scale {value:g} is out of range: LDCSR scales between {SCALE_MIN:.2f} and "
            f"{SCALE_MAX:.2f}. Using {min(max(value, SCALE_MIN), SCALE_MAX):.2f}.",
        )

    @property
    def scale(self) -> float:
        return float(self._scale.value())

    def set_scale(self, value: float) -> None:
        self._scale.setValue(value)

    def set_output_pixel_size(self, value: float) -> None:
        self._pixel.setValue(value)

    @property
    def output_pixel_size(self) -> float | None:
        return float(self._pixel.value()) if self._pixel.isEnabled() else None

    # ---------------------------------------------------------------- model / mode / region
    def _on_model_activated(self, index: int) -> None:
        if self._model_combo.itemData(index) != "__load__":
            self._prev_model_index = index
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Load LDCSR checkpoint", "", "LDCSR checkpoints (*.ckpt *.safetensors);;All files (*)"
        )
        if path:
            self.add_checkpoint(path)
        else:
            self._model_combo.setCurrentIndex(self._prev_model_index)

    def add_checkpoint(self, path: str) -> None:
        """Add (or re-select) a checkpoint file in the model picker."""
        if not str(path).lower().endswith((".ckpt", ".safetensors")):
            _notify("error", f"{os.path.basename(path)} is not a .ckpt or .safetensors checkpoint.")
            self._model_combo.setCurrentIndex(self._prev_model_index)
            return
        index = self._model_combo.findData(str(path))
        if index < 0:
            index = self._model_combo.count() - 1  # before "Load checkpoint…"
            self._model_combo.insertItem(index, os.path.basename(path), str(path))
            self._model_combo.setItemData(index, str(path), Qt.ItemDataRole.ToolTipRole)
        self._model_combo.setCurrentIndex(index)
        self._prev_model_index = index

    @property
    def model_source(self) -> str | None:
        data = self._model_combo.currentData()
        return None if data in (None, "__load__") else str(data)

    def set_mode(self, mode: str) -> None:
        label = {v: k for k, v in MODES.items()}.get(mode, mode)
        self._mode_combo.setCurrentText(label)

    @property
    def mode(self) -> str:
        return MODES[self._mode_combo.currentText()]

    def set_seed(self, seed: int) -> None:
        self._seed.setValue(int(seed))

    def set_region(self, which: str, shapes=None) -> None:
        """``which`` is 'whole', 'view' or 'shapes' (with an optional Shapes layer)."""
        self._region_combo.setCurrentIndex({"whole": 0, "view": 1, "shapes": 2}[which])
        if shapes is not None:
            self._shapes_combo.setCurrentText(shapes.name)

    def _update_enabled(self, *_: Any) -> None:
        running = self.running
        self._shapes_combo.setEnabled(self._region_combo.currentIndex() == 2 and not running)
        self._run_btn.setEnabled(not running)
        self._cancel_btn.setEnabled(running)
        for w in (self._layer_combo, self._scale, self._model_combo, self._mode_combo, self._seed, self._region_combo):
            w.setEnabled(not running)
        self._pixel.setEnabled(not running and self._pixel_size() is not None)
        has_result = self._last_layers_present()
        self._compare_btn.setEnabled(has_result or self._compare_btn.isChecked())
        self._toggle_btn.setEnabled(has_result)
        self._opacity.setEnabled(has_result)

    def _region(self, layer) -> geo.Region | str:
        """The pixel window to process, or a plain message explaining why there is none."""
        shape = layer.data.shape[:2]
        which = self._region_combo.currentIndex()
        if which == 0:
            return geo.Region.whole(shape)
        if which == 1:
            cam = _camera(self.viewer)
            box = geo.visible_world_box(cam.center, cam.zoom, _canvas_size(self.viewer))
            point = np.asarray(self.viewer.dims.point, dtype=float)
            displayed = list(self.viewer.dims.displayed)[-2:]
            pts = []
            for y in (box[0, 0], box[1, 0]):
                for x in (box[0, 1], box[1, 1]):
                    world = point.copy()
                    world[displayed] = (y, x)
                    pts.append(layer.world_to_data(world)[-2:])
            region = geo.region_from_data_points(np.array(pts), shape)
            return region or f"The current view shows no part of '{layer.name}'; pan or zoom to it."
        shapes = self.viewer.layers[self._shapes_combo.currentText()] if self._shapes_combo.currentText() in self.viewer.layers else None
        if shapes is None:
            return "Add a Shapes layer with a rectangle (or pick one) to use the Shapes region."
        if len(shapes.data) == 0:
            return f"Shapes layer '{shapes.name}' has no shape; draw a rectangle first."
        selected = sorted(shapes.selected_data)
        index = selected[-1] if selected else len(shapes.data) - 1
        verts = np.asarray(shapes.data[index], dtype=float)
        pts = [layer.world_to_data(shapes.data_to_world(v))[-2:] for v in verts]
        region = geo.region_from_data_points(np.array(pts), shape)
        return region or f"The rectangle in '{shapes.name}' does not overlap '{layer.name}'."

    # ---------------------------------------------------------------- run / cancel
    @property
    def running(self) -> bool:
        return self._worker is not None

    def _validate(self, layer, scale: float) -> str | None:
        from napari.layers import Image

        if self.running:
            return "A run is already in progress; cancel it or wait for it to finish."
        if layer is None:
            return "Pick an image layer first (open an image, or File ▸ Open Sample ▸ napari-ldcsr)."
        if not isinstance(layer, Image):
            kind = type(layer).__name__
            return f"'{layer.name}' is a {kind} layer; LDCSR super-resolves image layers only."
        if layer.multiscale:
            return f"'{layer.name}' is multiscale; LDCSR needs a single-resolution image layer."
        shape = layer.data.shape
        if not ((layer.rgb and len(shape) == 3 and shape[-1] in (3, 4)) or (not layer.rgb and len(shape) == 2)):
            return f"'{layer.name}' has shape {tuple(shape)}; LDCSR works on 2-D grey or RGB(A) images."
        if min(shape[:2]) < MIN_SIDE:
            return (
                f"'{layer.name}' is only {shape[0]}×{shape[1]} px; LDCSR needs at least "
                f"{MIN_SIDE}×{MIN_SIDE} px."
            )
        if not np.isfinite(scale) or not (SCALE_MIN <= scale <= SCALE_MAX):
            return f"Scale {scale:g} is out of range; choose a scale between {SCALE_MIN:.2f} and {SCALE_MAX:.2f}."
        if scale <= SCALE_MIN:
            return f"Scale {scale:.2f} would leave the image as it is; choose a scale above {SCALE_MIN:.2f}."
        return None

    def run(self, *_: Any, layer=None, scale: float | None = None) -> bool:
        """Start a run with the current settings (``layer``/``scale`` override the pickers).

        Returns True when a run was started; problems become napari notifications.
        """
        layer = self.layer if layer is None else layer
        scale = self.scale if scale is None else float(scale)
        problem = self._validate(layer, scale)
        if problem is None:
            region = self._region(layer)
            if isinstance(region, str):
                problem = region
            elif min(region.shape) < MIN_SIDE:
                problem = f"The region is only {region.rows}×{region.cols} px; it needs at least {MIN_SIDE}×{MIN_SIDE} px."
        if problem is not None:
            _notify("error" if not self.running else "warning", problem)
            return False
        spec = JobSpec(
            scale=scale,
            region=region,
            mode=self.mode,
            seed=int(self._seed.value()),
            model_source=self.model_source,
            tile=self.tile,
            bicubic=self._bicubic_check.isChecked(),
        )
        self._start(layer, spec)
        return True

    def _start(self, layer, spec: JobSpec) -> None:
        from napari.qt.threading import create_worker

        if self._compare_state is not None:
            self.set_compare(False)
        self._cancel_event = threading.Event()
        self._relay = _Relay()
        self._relay.progress.connect(self._on_progress)
        self._relay.model_ready.connect(self._on_model_ready)
        self._job_layer = layer
        self._t_tiles = None
        worker = create_worker(
            _work, layer.data, bool(layer.rgb), spec, self._cache, self._relay, self._cancel_event,
            _start_thread=False,
        )
        worker.returned.connect(self._on_returned)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._progress.setRange(0, 0)  # busy until the first tile is done
        cached = self._cache.cached(spec.model_source) is not None
        self._status.setText(
            f"Running ×{spec.scale:.2f} ({spec.mode}) on {spec.region.rows}×{spec.region.cols} px → "
            f"{spec.out_shape[0]}×{spec.out_shape[1]} px" + ("" if cached else " · loading model…")
        )
        self._update_enabled()
        worker.start()

    def cancel(self, *_: Any) -> None:
        """Ask the running job to stop (the engine stops within one tile); nothing is added."""
        if self._cancel_event is not None and self.running:
            self._cancel_event.set()
            self._status.setText("Cancelling…")
            self._cancel_btn.setEnabled(False)

    def _on_model_ready(self, info: dict) -> None:
        if "device" in info:
            self._device.setText(f"Device: {info['device']}")
        self._t_tiles = time.perf_counter()

    def _on_progress(self, done: int, total: int) -> None:
        if self._cancel_event is None or self._cancel_event.is_set():
            return
        self._progress.setRange(0, max(int(total), 1))
        self._progress.setValue(int(done))
        t0 = self._t_tiles or time.perf_counter()
        elapsed = time.perf_counter() - t0
        if done > 0 and total > done:
            left = elapsed / done * (total - done)
            self._status.setText(f"{done} / {total} tiles · about {_fmt_seconds(left)} left")
        elif done >= total:
            self._status.setText(f"{done} / {total} tiles · finishing…")

    def _on_returned(self, outcome: _Outcome) -> None:
        if outcome.cancelled:
            self._status.setText("Cancelled; nothing was added.")
            _notify("info", "LDCSR run cancelled; no layer was added.")
        elif outcome.error is not None:
            self._status.setText(f"Failed: {outcome.error}")
            _notify("error", f"LDCSR could not super-resolve '{self._job_layer.name}': {outcome.error}")
        elif outcome.result is not None:
            try:
                self._add_result(self._job_layer, outcome.result)
            except Exception as exc:  # noqa: BLE001 - never crash the viewer
                _notify("error", f"LDCSR could not add the result layer: {_plain_message(exc)}")

    def _on_finished(self) -> None:
        self._worker = None
        self._cancel_event = None
        if self._progress.maximum() == 0:
            self._progress.setRange(0, 1)
        self._update_enabled()

    # ---------------------------------------------------------------- results
    def _result_kwargs(self, src, result: JobResult, kind: str) -> dict:
        spec = result.spec
        scale_out, translate_out = geo.result_placement(
            src.scale[-2:], src.translate[-2:], spec.region.shape, spec.out_shape,
            offset=spec.region.offset, linear=_linear_part(src),
        )
        md = {k: v for k, v in (src.metadata or {}).items() if k not in ("path", "ldcsr")}
        if md.get("transform") is not None:
            md["transform"] = geo.result_transform(md["transform"], spec.region.shape, spec.out_shape, spec.region.offset)
            a, b, _, d, e, _ = md["transform"]
            md["pixel_size"] = (float(np.hypot(b, e)), float(np.hypot(a, d)))
        md["ldcsr"] = dict(provenance(result, src.name), kind=kind)
        label = "LDCSR" if kind == "ldcsr" else "bicubic"
        kwargs = {
            "name": f"{src.name} ×{spec.scale:.2f} ({label})",
            "rgb": bool(src.rgb),
            "scale": scale_out,
            "translate": translate_out,
            "rotate": src.rotate,
            "shear": src.shear,
            "affine": src.affine,
            "metadata": md,
            "contrast_limits": list(src.contrast_limits),
            "gamma": src.gamma,
            "blending": src.blending,
        }
        if not src.rgb:
            kwargs["colormap"] = src.colormap
        return kwargs

    def _add_result(self, src, result: JobResult) -> None:
        if src not in self.viewer.layers:
            _notify("warning", f"'{src.name}' was removed during the run; the result was not added.")
            return
        bic = None
        if result.bicubic is not None:
            bic = self.viewer.add_image(result.bicubic, **self._result_kwargs(src, result, "bicubic"))
        out = self.viewer.add_image(result.data, **self._result_kwargs(src, result, "ldcsr"))
        out.opacity = self._opacity.value() / 100.0
        self._last = {"source": src, "result": out, "bicubic": bic, "job": result}
        spec = result.spec
        self._status.setText(
            f"Added '{out.name}' ({spec.out_shape[0]}×{spec.out_shape[1]} px) in {_fmt_seconds(result.seconds)}"
        )
        self._progress.setValue(self._progress.maximum())
        self._update_enabled()

    def _last_layers_present(self) -> bool:
        return bool(
            self._last
            and self._last["source"] in self.viewer.layers
            and self._last["result"] in self.viewer.layers
        )

    @property
    def last_result(self):
        """The most recent LDCSR result layer (if still in the viewer)."""
        return self._last["result"] if self._last_layers_present() else None

    def _ensure_bicubic(self):
        last = self._last
        if last["bicubic"] is not None and last["bicubic"] in self.viewer.layers:
            return last["bicubic"]
        from ._job import bicubic, from_engine_output, to_engine_input

        job: JobResult = last["job"]
        src = last["source"]
        crop = np.asarray(src.data[job.spec.region.slices])
        image, rad = to_engine_input(crop, bool(src.rgb))
        data = from_engine_output(bicubic(image, job.spec.out_shape), rad)
        last["bicubic"] = self.viewer.add_image(data, **self._result_kwargs(src, job, "bicubic"))
        return last["bicubic"]

    # ---------------------------------------------------------------- compare
    @property
    def comparing(self) -> bool:
        return self._compare_state is not None

    def set_compare(self, on: bool) -> None:
        """Side-by-side grid (source, bicubic, LDCSR) with one shared camera, or back."""
        on = bool(on)
        if on == self.comparing:
            return
        grid = _grid(self.viewer)
        if on:
            if not self._last_layers_present():
                _notify("warning", "Run LDCSR first: there is no result to compare.")
                self._compare_btn.blockSignals(True)
                self._compare_btn.setChecked(False)
                self._compare_btn.blockSignals(False)
                return
            try:
                bic = self._ensure_bicubic()
            except Exception as exc:  # noqa: BLE001
                _notify("error", f"Could not compute the bicubic baseline: {_plain_message(exc)}")
                return
            layers = list(self.viewer.layers)
            cam = _camera(self.viewer)
            self._compare_state = {
                "order": layers,
                "visible": {lyr: lyr.visible for lyr in layers},
                "opacity": self._last["result"].opacity,
                "grid": (grid.enabled, tuple(grid.shape), grid.stride),
                "camera": (tuple(cam.center), cam.zoom),
            }
            trio = [self._last["source"], bic, self._last["result"]]
            for lyr in layers:
                lyr.visible = lyr in trio
            for target, lyr in enumerate(trio):  # contiguous, in reading order, on top
                self.viewer.layers.move(self.viewer.layers.index(lyr), len(self.viewer.layers) - 3 + target)
            self._last["result"].opacity = 1.0
            grid.shape = (1, 3)
            grid.stride = 1
            grid.enabled = True
            # napari versions differ in which end of the layer list fills the first cell
            if grid.position(self.viewer.layers.index(trio[0]), self.viewer.layers) != (0, 0):
                grid.stride = -1
            self._fit_camera(self._last["result"])
        else:
            state = self._compare_state
            self._compare_state = None
            enabled, shape, stride = state["grid"]
            grid.enabled = enabled
            grid.shape = shape
            grid.stride = stride
            cam = _camera(self.viewer)
            cam.center, cam.zoom = state["camera"]
            for target, lyr in enumerate(lyr for lyr in state["order"] if lyr in self.viewer.layers):
                self.viewer.layers.move(self.viewer.layers.index(lyr), target)
            for lyr, vis in state["visible"].items():
                if lyr in self.viewer.layers:
                    lyr.visible = vis
            if self._last and self._last["result"] in self.viewer.layers:
                self._last["result"].opacity = state["opacity"]
        self._compare_btn.blockSignals(True)
        self._compare_btn.setChecked(self.comparing)
        self._compare_btn.blockSignals(False)
        self._update_enabled()

    def _fit_camera(self, layer) -> None:
        """Centre the (shared) camera on ``layer`` and zoom so it fills a grid cell."""
        bounds = geo.world_bounds(layer.data_to_world, layer.data.shape[:2])
        extent = np.maximum(bounds[1] - bounds[0], 1e-12)
        cam = _camera(self.viewer)
        cam.center = tuple((bounds[0] + bounds[1]) / 2.0)
        cam.zoom = 0.95 * float(np.min(np.asarray(_canvas_size(self.viewer), dtype=float) / extent))

    def toggle_result(self, *_: Any) -> None:
        """Flip between the LDCSR result and the source underneath it (A/B blink)."""
        if not self._last_layers_present():
            return
        result = self._last["result"]
        result.visible = not result.visible
        self._last["source"].visible = True

    def _on_opacity(self, value: int) -> None:
        if self._last_layers_present():
            self._last["result"].opacity = value / 100.0

    # ---------------------------------------------------------------- device / teardown
    def _start_device_probe(self) -> None:
        """Find the device (imports torch) in a daemon thread; a GUI-thread timer shows it."""
        box: list[str] = []

        def probe() -> None:
            try:
                box.append(_probe_device())
            except Exception as exc:  # noqa: BLE001
                box.append(f"unknown ({_plain_message(exc)})")

        threading.Thread(target=probe, name="ldcsr-device-probe", daemon=True).start()

        def poll() -> None:
            if box:
                self._device_timer.stop()
                self._on_device(box[0])

        self._device_timer = QTimer(self)  # owned by the widget: never fires after it is gone
        self._device_timer.setInterval(100)
        self._device_timer.timeout.connect(poll)
        self._device_timer.start()

    def _on_device(self, text: str) -> None:
        if self._device.text().startswith("Device: detecting"):
            self._device.setText(f"Device: {text}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.cancel()
        super().closeEvent(event)


def _fmt_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60}:{seconds % 60:02d} min"
