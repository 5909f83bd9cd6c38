"""The settings form of the LDCSR widget: magicgui widgets, plus a superqt "Advanced" section.

:class:`SettingsForm` owns the pickers and boxes and their small rules (scale <-> output pixel
size, out-of-range scales, checkpoint entries); :meth:`SettingsForm.settings` snapshots them into
a :class:`RunSettings` for a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from ldcsr_core.geo.stretch import DEFAULT_PERCENTILES
from ldcsr_core.rules import MAX_SAMPLES, MAX_SCALE, MIN_TILE_IN, MODES, STRETCHES
from ldcsr_core.uncertainty import SPREAD_LIMITS
from qtpy.QtCore import QObject
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, SpinBox

from . import _geometry as geo
from ._workers import in_napari_words
from .run._region import REGIONS
from ._viewer import image_layers, notify, shapes_layers

__all__ = ["RunSettings", "SettingsForm", "MODE_LABELS", "DEFAULT_MODEL", "LOAD_CHECKPOINT",
           "ask_checkpoint_path"]

SCALE_MIN = 1.0
TYPED_SCALE_MAX = 100.0  # the scale box takes 0…this, so that out-of-range scales can be reported
MODE_LABELS = {"diffusion": "diffusion", "fast": "fast preview"}
DEFAULT_MODEL = "Built-in default"
LOAD_CHECKPOINT = "Load checkpoint…"
_LOAD = "\0load"  # value of the "Load checkpoint…" entry
_DEFAULT = ""  # value of the built-in default entry
_LO, _HI = DEFAULT_PERCENTILES  # of the percentile stretch, said in its tooltip
_UNITS = {"metre": "m", "meter": "m", "metres": "m", "meters": "m", "degree": "°", "degrees": "°"}


@dataclass(frozen=True)
class RunSettings:
    """A snapshot of the form: what the next run will use."""

    layer: object | None
    scale: float
    mode: str
    seed: int
    model_source: str | None
    region: str
    shapes: object | None
    tile: int | None
    bicubic: bool
    stretch: str = "auto"
    bands: tuple[int, ...] | None = None
    samples: int = 1
    nodata: float | str | None = None  # None: the layer's (its file's); "none": every value is data


def user_models() -> list[tuple[str, str]]:
    """(file name, path) of the adapted models in the user's model folder, newest first, each model
    once as ``ldcsr models`` lists them and none that is a built-in one: the engine's list
    (:func:`ldcsr_core.model_names.adapted_models`, QGIS's Model parameter's too)."""
    from ldcsr_core.model_names import adapted_models

    return [(p.name, str(p)) for p in adapted_models()]


def _model_folder_note() -> str:
    """Why the Model list holds no adapted model when the model folder is no folder (``LDCSR_MODELS_DIR``
    set to a file: :func:`ldcsr_core.adaptation.model_folder_problem`), for its tooltip; else ""."""
    from ldcsr_core.adaptation import model_folder_problem

    problem = model_folder_problem()
    return f".\n\nNote: {problem}" if problem else ""


def ask_checkpoint_path(parent=None) -> str | None:
    """Ask for a checkpoint file (Qt file dialog); None when the user cancels."""
    from qtpy.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(
        parent, "Load LDCSR checkpoint", "", "LDCSR checkpoints (*.ckpt *.safetensors *.sft);;All files (*)"
    )
    return path or None


def layer_pixel_size(layer) -> tuple[float, str] | None:
    """(mean pixel size, short unit name) of a georeferenced layer, else None."""
    md = getattr(layer, "metadata", None) or {}
    if not md.get("crs") or not md.get("pixel_size"):
        return None
    units = md.get("units") or "CRS units"
    return float(np.mean(md["pixel_size"])), str(_UNITS.get(str(units).lower(), units))


def in_range_scale(scale: float, what: str) -> float:
    """``scale`` clamped to SCALE_MIN…MAX_SCALE; an out-of-range one is reported (``what``: the
    typed value, e.g. "Scale 9.5")."""
    clamped = min(max(scale, SCALE_MIN), MAX_SCALE) if scale == scale else SCALE_MIN  # NaN: the least
    if clamped != scale:
        notify("warning", f"{what} is out of range: LDCSR scales between {SCALE_MIN:.2f} and "
                          f"{MAX_SCALE:.2f}. Using {clamped:.2f}.")
    return clamped


class EitherDecimalMark(QObject):
    """Lets a float spin box take a comma and a point alike as its decimal mark, typed or pasted (Ctrl+V): Qt took the
    one that is not its locale's for a thousands separator, so "2,5" typed in the Scale box was read as 25 (clamped to
    ×8), and "2.5" so under a locale that writes 2,5. A text that already holds the locale's mark is left as typed."""

    def __init__(self, box) -> None:
        super().__init__(box.native)
        self.line = box.native.lineEdit()
        self.point = box.native.locale().decimalPoint()
        self.other = "," if self.point == "." else "."
        for target in (box.native, self.line):  # the box forwards its keys to its line without filters
            target.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        from qtpy.QtCore import QEvent
        from qtpy.QtGui import QKeySequence
        from qtpy.QtWidgets import QApplication

        if event.type() != QEvent.Type.KeyPress:
            return False
        pasted = event.matches(QKeySequence.StandardKey.Paste)
        text = QApplication.clipboard().text() if pasted else event.text()
        line, start = self.line, self.line.selectionStart()
        kept = line.text() if start < 0 else line.text()[:start] + line.text()[start + len(line.selectedText()):]
        if self.other not in text or self.point in kept + text:  # what the key or paste leaves: no second mark
            return False
        self.line.insert(text.replace(self.other, self.point, 1))
        return True


class SettingsForm:
    """Pickers and boxes for a run (magicgui): ``main`` is always shown, ``advanced`` collapses.

    The layer pickers are typed as napari ``Image``/``Shapes`` layers and list the viewer's layers
    of that type; :meth:`reset_choices` (connected to the layer list's events by the widget)
    keeps them current.
    """

    def __init__(self, viewer) -> None:
        from napari.layers import Image, Shapes

        self.viewer = viewer
        self.layer = ComboBox(label="Image layer", annotation=Image,
                              choices=lambda _w: image_layers(self.viewer),
                              tooltip="Image layer to super-resolve")
        # The box accepts any typed value, so that an out-of-range one can be reported and clamped.
        self.scale = FloatSpinBox(label="Scale ×", value=2.0, min=0.0, max=TYPED_SCALE_MAX, step=0.1,
                                  tooltip=f"Super-resolution factor ({SCALE_MIN:.2f}-{MAX_SCALE:.2f}): ×2 makes "
                                          "pixels half as wide, so twice as many across; the output covers "
                                          "the same area")
        self.pixel = FloatSpinBox(label="Output pixel", value=0.0, min=0.0, max=0.0,
                                  tooltip="Output pixel size in the layer's map units (shown after the number; "
                                          "georeferenced layers only); type a target resolution and the "
                                          "scale follows")
        self.model = ComboBox(label="Model", choices=[(DEFAULT_MODEL, _DEFAULT), *user_models(), (LOAD_CHECKPOINT, _LOAD)],
                              tooltip="Which trained weights to use: Built-in default (shipped with LDCSR), "
                                      "the models in your model folder (where 'Adapt to this layer' saves), "
                                      "newest first, or Load checkpoint… for an official LDCSR .ckpt or a napari-ldcsr .safetensors "
                                      "file" + _model_folder_note())
        self.mode = ComboBox(label="Mode", choices=[(MODE_LABELS[m], m) for m in MODES],
                             tooltip="diffusion: the model's generative sampler, started from random noise "
                                     "(Seed): sharper detail, some of it may be invented; fast preview: one "
                                     "deterministic pass, the most faithful to the input (highest PSNR) and "
                                     "several times faster")
        self.region = ComboBox(label="Region", choices=[(label, key) for key, label in REGIONS.items()],
                               tooltip="Which pixels a Run super-resolves: the whole layer, the part on "
                                       "screen (2-D view), or inside a rectangle of the Shapes layer below")
        self.shapes = ComboBox(label="Shapes layer", annotation=Shapes,
                               choices=lambda _w: shapes_layers(self.viewer),
                               tooltip="Shapes layer whose selected (or last) rectangle bounds the region")
        self.seed = SpinBox(label="Seed", value=0, min=0, max=2**31 - 1,
                            tooltip="Diffusion mode: the number the random noise is drawn from (same seed, "
                                    "same pixels; another seed, other invented detail). Fast preview "
                                    "ignores it")
        # no maximum but the box's own (the engine's rule: at least MIN_TILE_IN, as --tile and QGIS)
        self.tile = SpinBox(label="Tile (input px)", value=0, min=0, max=2**31 - 1, step=32,
                            tooltip=f"The layer is computed in square pieces (tiles) blended at their "
                                    f"seams: the side of a piece in input pixels, at least {MIN_TILE_IN} "
                                    "(smaller ones use less memory); auto lets the engine choose. Fast "
                                    "preview only: diffusion mode always uses its fixed windows (one "
                                    "picture per seed). The live lens plans its own tiles")
        self.bicubic = CheckBox(text="Also add a bicubic baseline layer",
                                tooltip="With each Run, also add the same pixels enlarged by plain bicubic "
                                        "interpolation (no model), to compare against (not for a result "
                                        "streamed to a file)")
        self.samples = SpinBox(label="Uncertainty: samples", value=1, min=1, max=MAX_SAMPLES,
                               tooltip="Diffusion mode: K > 1 runs the sampler K times (seeds Seed…Seed+K-1); "
                                       "the result is their mean, and a spread layer (magma) shows where they "
                                       "disagree, i.e. where detail is invented; " + SPREAD_LIMITS + ". K times slower. "
                                       "off = 1 sample")
        self.samples.native.setSpecialValueText("off")
        self.stretch = ComboBox(label="Stretch", choices=list(STRETCHES), value="auto",
                                tooltip="How the layer's values are mapped to the 0-255 range of the 8-bit "
                                        "images the model was trained on, and back (as `ldcsr upscale "
                                        "--stretch`): auto = 8-bit as is, other types as percentile; "
                                        f"percentile = each band's {_LO:g}-{_HI:g} % of the whole layer; dtype = "
                                        "the type's full range (e.g. 0-65535, integers only)")
        self.bands = LineEdit(label="Bands (R,G,B)", value="",
                              tooltip="Multi-band files: the file's band numbers (the first is 1) the model "
                                      "sees as red, green, blue, e.g. 4,3,2 (as `ldcsr upscale --bands`); "
                                      "a Run still super-resolves all bands, three at a time. Empty = red, "
                                      "green, blue by colour interpretation, 4,3,2 for Sentinel-2, else the "
                                      "first three. The live lens feeds the model as a Run does")
        self.nodata = LineEdit(label="Nodata", value="",
                               tooltip="Value that marks no data, as `ldcsr upscale --nodata`: e.g. 0 for black "
                                       "fill the file does not declare, 'none' when the file's value is real "
                                       "data, a range 0:5, several 0,255, each band's 1=0,2=255; empty = the "
                                       "layer's own (its file's)")
        for box in (self.scale, self.pixel, self.tile):  # a typed value counts when it is complete
            box.native.setKeyboardTracking(False)
        self._marks = [EitherDecimalMark(box) for box in (self.scale, self.pixel)]
        self.scale.native.setDecimals(2)
        self.tile.native.setSpecialValueText("auto")
        self.main = Container(widgets=[self.layer, self.scale, self.pixel, self.model, self.mode,
                                       self.region, self.shapes])
        self.advanced = Container(widgets=[self.seed, self.tile, self.stretch, self.bands, self.nodata,
                                           self.bicubic, self.samples])
        self._model_value = _DEFAULT
        self.layer.changed.connect(self._sync_pixel)
        self.scale.changed.connect(self._on_scale)
        self.pixel.changed.connect(self._on_pixel)
        self.tile.changed.connect(self._on_tile)
        self.model.changed.connect(self._on_model)
        self.region.changed.connect(self._sync_enabled)
        self._sync_pixel()
        self._sync_enabled()

    # ------------------------------------------------------------------ choices
    def reset_choices(self, *_) -> None:
        """Refresh the layer pickers from the viewer's layer list (keeps the current picks). The
        model picker is left alone: magicgui would reset it to the models it was built with, so
        a loaded or adapted model fell back to the built-in default whenever a layer was added."""
        for w in self.main:
            if w is not self.model and hasattr(w, "reset_choices"):
                w.reset_choices()
        self._sync_pixel()

    # ------------------------------------------------------------------ scale <-> pixel size
    def _sync_pixel(self, *_) -> None:
        ps = layer_pixel_size(self.layer.value)
        box = self.pixel
        with box.changed.blocked():
            if ps is None:
                box.native.setSpecialValueText("— (not georeferenced)")
                box.min, box.max = 0.0, 0.0
                box.value = 0.0
                box.enabled = False
            else:
                px, units = ps
                box.native.setSpecialValueText("")
                box.native.setDecimals(max(2, 3 - int(np.floor(np.log10(px / MAX_SCALE)))))
                # any typed target is taken (as by the scale box), so that an out-of-range one is reported
                box.min, box.max = 0.0, px * TYPED_SCALE_MAX
                box.step = px / 100.0
                box.native.setSuffix(f" {units}")
                box.value = geo.output_pixel_size(px, self.scale.value)
                box.enabled = True

    def _on_scale(self, value: float) -> None:
        clamped = in_range_scale(value, f"Scale {value:g}")
        if clamped != value:
            self.scale.value = clamped  # re-enters with the clamped value
            return
        self._show_pixel()

    def set_scale(self, value: float) -> None:
        """Set the scale as if typed in its box, beyond the box's own range too (reported and clamped)."""
        self.scale.value = in_range_scale(float(value), f"Scale {float(value):g}")

    def set_pixel(self, value: float) -> None:
        """Type a target output pixel size, beyond the box's own range too (the scale follows,
        reported and clamped); ValueError for a layer that is not georeferenced."""
        if layer_pixel_size(self.layer.value) is None:
            name = getattr(self.layer.value, "name", None)
            raise ValueError(f"{'no layer is picked' if name is None else repr(name) + ' is not georeferenced'}: "
                             "there is no output pixel size to type; set the scale instead")
        self._on_pixel(float(value))

    def _on_pixel(self, value: float) -> None:
        """A typed target pixel size: the scale follows (an out-of-range one is reported and
        clamped), then the box shows the pixel size that scale really gives."""
        ps = layer_pixel_size(self.layer.value)
        if ps is None:
            return
        scale = geo.scale_for_pixel_size(ps[0], value) if value > 0 else float("inf")
        self.scale.value = in_range_scale(scale, f"Output pixel {value:g} {ps[1]} (scale {scale:.2f})")
        self._show_pixel()  # also when the scale box kept its value (its 2 decimals)

    def _show_pixel(self) -> None:
        """Show the output pixel size the current scale gives (georeferenced layers)."""
        ps = layer_pixel_size(self.layer.value)
        if ps is not None:
            with self.pixel.changed.blocked():
                self.pixel.value = geo.output_pixel_size(ps[0], self.scale.value)

    def _on_tile(self, value: int) -> None:
        if 0 < value < MIN_TILE_IN:
            notify("warning", f"Tile {value} is too small: tiles are at least {MIN_TILE_IN} input pixels "
                              f"(0 = auto). Using {MIN_TILE_IN}.")
            self.tile.value = MIN_TILE_IN

    @property
    def output_pixel_size(self) -> float | None:
        """Output pixel size for the current layer and scale (None if not georeferenced)."""
        ps = layer_pixel_size(self.layer.value)
        return None if ps is None else geo.output_pixel_size(ps[0], self.scale.value)

    # ------------------------------------------------------------------ model
    def _on_model(self, value: str) -> None:
        if value != _LOAD:
            self._model_value = value
            return
        path = ask_checkpoint_path(self.main.native)
        if path:
            self.add_checkpoint(path)
        else:
            self._select_model(self._model_value)

    def _select_model(self, value: str) -> None:
        with self.model.changed.blocked():
            self.model.value = value
        self._model_value = value

    def add_checkpoint(self, path: str) -> bool:
        """Add (or re-select) a checkpoint file in the model picker; False (and a notification) if
        it is neither a ``.ckpt`` nor in our format (:func:`~ldcsr_core.model_metadata.is_safetensors`,
        the rule of ``--model`` and of the model folder's list: ``m.sft`` too)."""
        from ldcsr_core.model_metadata import is_safetensors

        path = str(path)
        if not (path.lower().endswith(".ckpt") or is_safetensors(path)):
            notify("error", f"{os.path.basename(path)} is not a .ckpt or .safetensors checkpoint.")
            self._select_model(self._model_value)
            return False
        from ldcsr_core.builtin_models import model_identity

        choices = [(self.model.native.itemText(i), self.model.native.itemData(i))
                   for i in range(self.model.native.count())]
        listed = {model_identity(v): v for _, v in choices if v not in (_DEFAULT, _LOAD)}
        path = listed.get(model_identity(path), path)  # one model file, one entry (a link to a listed one)
        if path not in [v for _, v in choices]:
            choices.insert(len(choices) - 1, (os.path.basename(path), path))  # before "Load…"
            with self.model.changed.blocked():
                self.model.choices = choices
        self._select_model(path)
        self.model.changed.emit(path)  # its followers (the live lens) take it too, as for a picked one
        return True

    @property
    def model_source(self) -> str | None:
        """The picked checkpoint path, or None for the built-in default."""
        value = self.model.value
        return None if value in (_DEFAULT, _LOAD, None) else str(value)

    # ------------------------------------------------------------------ state
    def _sync_enabled(self, *_) -> None:
        self.shapes.enabled = self.region.value == "shapes" and self.main.enabled

    def set_running(self, running: bool) -> None:
        """Lock the form while a run is in progress."""
        for w in (*self.main, *self.advanced):
            w.enabled = not running
        if not running:
            self._sync_pixel()
            self._sync_enabled()
        else:
            self.shapes.enabled = False

    @in_napari_words  # a malformed band list or nodata is said naming the form's field
    def settings(self) -> RunSettings:
        """A snapshot of the current settings (ValueError for a malformed band list or nodata)."""
        from ldcsr_core.geo.radiometry import parse_bands

        return RunSettings(
            layer=self.layer.value,
            scale=float(self.scale.value),
            mode=str(self.mode.value),
            seed=int(self.seed.value),
            model_source=self.model_source,
            region=str(self.region.value),
            shapes=self.shapes.value,
            tile=int(self.tile.value) or None,
            bicubic=bool(self.bicubic.value),
            stretch=str(self.stretch.value),
            bands=parse_bands(self.bands.value.strip() or None),
            samples=int(self.samples.value),
            nodata=self.nodata_setting(),
        )

    def nodata_setting(self):
        """The Nodata field as ``ldcsr upscale --nodata`` reads it (ranges, values by band): None when
        empty (the layer's own); ValueError when malformed."""
        from ldcsr_core.geo.nodata_override import parse_nodata_text

        text = self.nodata.value.strip()
        return parse_nodata_text(text) if text else None
