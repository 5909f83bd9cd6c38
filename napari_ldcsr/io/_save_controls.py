"""The dock widget's *Save layer as GeoTIFF…* button: the selected image layer (or several selected
2-D layers, as the bands of one file) written, in a worker thread, by this plugin's GeoTIFF writer,
with its georeferencing.

napari's *File ▸ Save Selected Layers…* lists napari's own TIFF writer first, and a name typed
with that filter selected becomes a plain TIFF without CRS or geotransform; this button always
writes a georeferenced GeoTIFF (:func:`napari_ldcsr.io._writer.write_geotiff`).
"""

from __future__ import annotations

import os
import re

from ldcsr_core.rules import GEOTIFF_SUFFIXES
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QPushButton

from .._viewer import notify
from ._foreign import lost_georeferencing

__all__ = ["SaveControls", "geotiff_name"]

TOOLTIP = ("Write the selected image layer as a georeferenced GeoTIFF (CRS, pixel size, nodata, band "
           "names and LDCSR provenance kept; tiled, compressed, written atomically). Several selected "
           "single-band layers that lie over each other (e.g. the bands of a result) become the bands "
           "of one file.")


def geotiff_name(path: str) -> str:
    """``path`` with a ``.tif`` extension unless it already ends in one the engine writes
    (:data:`ldcsr_core.rules.GEOTIFF_SUFFIXES`, any letter case)."""
    return path if path.lower().endswith(GEOTIFF_SUFFIXES) else path + ".tif"


def _default_name(layer) -> str:
    """A file name for ``layer``: its name made safe, next to the file it came from (never that file)."""
    name = re.sub(r"[^\w.+-]+", "_", layer.name).strip("._") or "layer"
    src = (layer.metadata or {}).get("path")
    path = os.path.join(os.path.dirname(str(src)) if src else os.getcwd(), name + ".tif")
    return path[:-4] + "_copy.tif" if src and os.path.abspath(path) == os.path.abspath(str(src)) else path


class SaveControls:
    """The save row of an ``LdcsrWidget`` (``row`` is a layout for the widget to add); it reports in
    the widget's status line. ``saving`` is true while a write runs (one at a time)."""

    def __init__(self, widget) -> None:
        self.widget = widget
        self.row = QHBoxLayout()
        self.button = QPushButton("Save layer as GeoTIFF…")
        self.button.setToolTip(TOOLTIP)
        self.row.addWidget(self.button)
        self.button.clicked.connect(lambda: self.save())
        self._worker = None
        widget.viewer.layers.selection.events.changed.connect(self.update_enabled)
        self.update_enabled()

    @property
    def saving(self) -> bool:
        return self._worker is not None

    def layers(self) -> list:
        """The selected image layers, in layer-list order."""
        from .._viewer import image_layers

        selection = self.widget.viewer.layers.selection
        return [lyr for lyr in image_layers(self.widget.viewer) if lyr in selection]

    def update_enabled(self, *_) -> None:
        try:
            n = len(self.layers())
            self.button.setText(f"Save {n} layers as one GeoTIFF…" if n > 1 else "Save layer as GeoTIFF…")
            self.button.setEnabled(n > 0 and not self.saving)
        except RuntimeError:  # the button was deleted with the widget
            pass

    def save(self, path: str | None = None) -> bool:
        """Write the selected image layer to ``path`` (None: ask with a file dialog) in a worker
        thread; True when a write was started. The outcome goes to the status line, a failure also
        to a notification; nothing is left under ``path`` when it fails."""
        from .._workers import create_worker

        from ._writer import write_geotiff, write_geotiff_bands

        layers = self.layers()
        if not layers:
            notify("warning", "Select an image layer to save.")
            return False
        layer = layers[0]
        if self.saving:
            notify("warning", "A save is running; wait for it to finish.")
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.widget, "Save layer as GeoTIFF", _default_name(layer),
                                                  "GeoTIFF (*.tif *.tiff)")
            if not path:
                return False
        path = geotiff_name(os.fspath(path))
        if note := lost_georeferencing(layer):  # written all the same, on its pixel grid
            notify("warning", note)
        if len(layers) == 1:
            name, args = f"'{layer.name}'", (write_geotiff, path, *layer.as_layer_data_tuple()[:2])
        else:
            name = f"{len(layers)} layers"  # the bands of one file
            args = (write_geotiff_bands, path, [lyr.as_layer_data_tuple() for lyr in layers])
        self._worker = worker = create_worker(*args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda _: self._done(f"Saved {name} as {path}."))
        verb = "was" if len(layers) == 1 else "were"
        worker.errored.connect(lambda exc: self._failed(f"{name} {verb}", exc))
        worker.finished.connect(self._finished)
        self.widget._set_status(f"Saving {name} as {path}…")
        self.update_enabled()
        worker.start()
        return True

    def _done(self, text: str) -> None:
        try:
            self.widget._set_status(text)
        except RuntimeError:
            pass

    def _failed(self, who: str, exc: BaseException) -> None:
        from ..run._job import plain_message

        text = f"{who} not saved: {plain_message(exc).removeprefix('not saved: ')}"
        self._done(text)
        notify("error", text)

    def _finished(self) -> None:
        self._worker = None
        self.update_enabled()
