"""The widget's "Live lens and linked compare" section: a lens toggle, Keep, linked panels.

:class:`LivePanel` follows the dock widget's form (layer, seed, model, nodata, stretch) and shares its
model cache, so the model the lens uses stays loaded and is the one a Run uses.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QEvent
from qtpy.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget,
)

from ldcsr_core.words import counted

from .._lines import StatusLine
from ..compare._compare import CompareDock
from ..compare._corner import give_corner_back, take_corner
from ._lens import LiveLens
from ._plan import idle_text

__all__ = ["LivePanel", "DOCK_SHARE"]

#: the linked panels' dock's share of the window's height when it opens
DOCK_SHARE = 0.4


class LivePanel(QWidget):
    """Controls of the live lens and of the linked comparison, for an ``LdcsrWidget``.

    The lens has its own mode (fast by default, as it recomputes on every camera stop) and
    follows the widget's layer, seed and model.
    """

    def __init__(self, widget, parent=None):
        super().__init__(parent)
        self.widget = widget
        self.viewer = widget.viewer
        self.lens = LiveLens(self.viewer, model_provider=widget.models.get, mode="fast",
                             seed=widget.seed, model_source=widget.model_source)
        self.compare_dock: CompareDock | None = None
        self._dock = None
        self._dock_height: int | None = None  # the panels' dock's last height

        self.live_box = QCheckBox("Live: super-resolve the view")
        self.live_box.setToolTip("While on, the part of the layer on screen is super-resolved when the camera "
                                 "stops (scale follows the zoom, up to ×8).")
        self.mode_box = QComboBox()
        self.mode_box.addItem("fast preview", "fast")
        self.mode_box.addItem("diffusion", "diffusion")
        self.mode_box.setToolTip("Live lens mode (fast preview by default; diffusion uses Advanced ▸ Seed)")
        self.keep_button = QPushButton("Keep")
        self.keep_button.setToolTip("Add the current live view as an ordinary result layer")
        self.compare_button = QPushButton("Linked panels: source | bicubic | LDCSR")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("Open three panels under the canvas (the picked layer, bicubic, and "
                                       "the last Run result or the live lens) whose cameras follow each other "
                                       "and the main view at any zoom")
        self.status_label = StatusLine("Live lens off")  # full text in its tooltip
        row = QHBoxLayout()
        row.addWidget(self.live_box)
        row.addWidget(self.mode_box)
        row.addWidget(self.keep_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.compare_button)
        layout.addWidget(self.status_label)

        self.live_box.toggled.connect(self.set_live)
        self.keep_button.clicked.connect(lambda: self.lens.keep())
        self.compare_button.toggled.connect(self.set_linked_compare)
        self.lens.tile_shown.connect(self._status)
        self.lens.view_done.connect(self._status)
        self.lens.idle.connect(self._status)
        self.lens.turned_off.connect(self._on_turned_off)
        form = widget.form
        form.layer.changed.connect(self._on_layer)
        widget.resultAdded.connect(self._on_result_added)
        self.mode_box.currentIndexChanged.connect(lambda *_: self.lens.set_mode(self.mode_box.currentData()))
        form.seed.changed.connect(lambda *_: self.lens.set_seed(widget.seed))
        form.nodata.changed.connect(self._on_nodata)
        form.bands.changed.connect(self._on_bands)
        form.stretch.changed.connect(lambda *_: self.lens.set_stretch(str(form.stretch.value)))
        form.model.changed.connect(lambda *_: self.lens.set_model(source=widget.model_source))
        self.keep_button.setEnabled(False)

    # ---------------------------------------------------------------- lens
    def set_live(self, on: bool) -> bool:
        """Turn the live lens on for the widget's layer, or off; the Live box follows (from code too; a
        refused layer unticks it)."""
        if on:
            ok = self.lens.set_layer(self.widget.layer) and self.lens.set_enabled(True)
        else:
            ok = self.lens.set_enabled(False) or True
        with _blocked(self.live_box):  # the box says whether the lens is on, however it was turned
            self.live_box.setChecked(bool(self.lens.enabled))
        self.keep_button.setEnabled(self.lens.enabled)
        self._status()
        return bool(ok) if on else True

    def _on_turned_off(self) -> None:
        """The lens stopped by itself (its layer went, or has no finite pixels): untick the box."""
        with _blocked(self.live_box):
            self.live_box.setChecked(False)
        self.keep_button.setEnabled(False)
        self._status()

    def _on_nodata(self, *_: Any) -> None:
        """The form's nodata, as a Run will use it; a value being typed that is not one yet is left
        to Run to refuse in words."""
        try:
            self.lens.set_nodata(self.widget.form.nodata_setting())
        except ValueError:
            pass

    def _on_bands(self, *_: Any) -> None:
        """The form's Bands, as a Run will feed them; a list being typed that is not one yet is left
        to Run to refuse in words."""
        from ldcsr_core.geo.radiometry import parse_bands

        try:
            self.lens.set_bands(parse_bands(self.widget.form.bands.value.strip() or None))
        except ValueError:
            pass

    def _on_layer(self, *_: Any) -> None:
        # its layer deleted, the picker moves on by itself (to the next image layer: after a Run, its
        # result), which the lens must not follow: it turns off (``LiveLens._on_removed``)
        gone = self.lens.layer is not None and self.lens.layer not in self.viewer.layers
        if self.lens.enabled and self.widget.layer is not self.lens.layer and not gone:
            if not self.lens.set_layer(self.widget.layer):
                self.set_live(False)
                with _blocked(self.live_box):
                    self.live_box.setChecked(False)
        dock = self.compare_dock  # open on the picked layer: another pick, they follow it
        if dock is not None and self.widget.layer is not None and self.widget.layer is not dock.source \
                and dock.source in self.viewer.layers:  # (their source deleted: ``compare/_follow``)
            self.set_linked_compare(True)

    def _status(self, *_: Any) -> None:
        v = self.lens.view
        if not self.lens.enabled:
            text = "Live lens off"
        elif v is None and self.viewer.dims.ndisplay != 2:
            text = "Live lens on: paused in the 3-D view (it super-resolves the 2-D view)"
        elif v is None and self.lens.layer is not None and not self.lens.layer.visible:
            text = f"Live lens on: paused while '{self.lens.layer.name}' is hidden"
        elif v is None:
            text = idle_text(self.viewer, self.lens.layer, self.lens.max_scale)
        else:
            n, k = len(v.composer.keys), len(set(v.composer.outputs))
            text = f"Live ×{v.step:g}: {k}/{counted(n, 'tile')}" + (f" in {v.done_s:.1f} s" if v.done_s is not None else "…")
        note = self.lens.note if self.lens.enabled else None
        if note:  # an adapted model beyond what its guard checked (said once as a warning, kept here)
            text += f" · adapted model: {note.split('; ', 1)[-1].split(' (', 1)[0]}"  # "at ×4 it is untested"
        self.status_label.setText(text)
        if note:  # the whole sentence, under the line
            self.status_label.setToolTip(f"{text}\n{note[0].upper() + note[1:]}.")

    # ---------------------------------------------------------------- linked compare
    def set_linked_compare(self, on: bool, *, uncheck: bool = False) -> None:
        """Open (or close) the linked panels for the widget's layer, its last Run result and the lens
        (``uncheck``: the button follows, as when the panels close because their source went)."""
        if not on:
            self._close_compare()
            if uncheck:
                with _blocked(self.compare_button):
                    self.compare_button.setChecked(False)
            return
        src = self.widget.layer
        if src is None:
            from .._viewer import notify

            notify("warning", "Pick an image layer first.")
            with _blocked(self.compare_button):
                self.compare_button.setChecked(False)
            return
        last = self.widget.last
        result = bicubic = None
        if last is not None and last.present(self.viewer) and last.source is src:
            if (changed := last.changed(self.viewer)) is not None:  # as Compare: not beside the new pixels
                _leaves_out(changed)
            else:
                result = last.result
                bicubic = last.bicubic if last.bicubic in self.viewer.layers else None
        self.open_compare(src, result, bicubic)

    def _on_result_added(self, *_: Any) -> None:
        """A Run finished: panels open on its source show its result (and baseline) from now on."""
        dock, last = self.compare_dock, self.widget.last
        if dock is not None and last is not None and last.source is dock.source and last.present(self.viewer):
            bicubic = last.bicubic if last.bicubic is not None and last.bicubic in self.viewer.layers else None
            self.open_compare(last.source, last.result, bicubic)

    def open_compare(self, source, result=None, bicubic=None) -> None:
        """(Re)open the linked panels on ``source`` (with a Run ``result`` and its ``bicubic``)."""
        self._close_compare(reopen=True)
        self.compare_dock = CompareDock(self.viewer, source, result=result, bicubic=bicubic,
                                        lens=self.lens,  # mirrors the live layer whenever there is one
                                        changed=lambda redraw=None: None if self.widget.last is None
                                        else self.widget.last.changed(self.viewer, redraw))
        self.compare_dock.resultStale.connect(self._on_result_stale)
        self._dock = self.viewer.window.add_dock_widget(self.compare_dock, area="bottom",
                                                        name="LDCSR linked compare")
        self.compare_dock.installEventFilter(self)  # napari's 'x' on their dock: ``eventFilter``
        self._size_dock()
        self.compare_dock.equalize()

    def _on_result_stale(self, why: str) -> None:
        """The panels' source was given other pixels or edited: they open again without the run's result and
        baseline, as they would be opened now (on the next turn of the event loop: napari is still telling
        the source's change)."""
        from qtpy.QtCore import QTimer

        dock = self.compare_dock

        def reopen() -> None:
            if dock is self.compare_dock and dock.source in self.viewer.layers:
                self.open_compare(dock.source)
                _leaves_out(why)

        QTimer.singleShot(0, reopen)

    def _size_dock(self) -> None:
        """Give the panels' dock the height it had before it was opened again (a Run finished, another
        layer picked), else :data:`DOCK_SHARE` of the window's. napari's bottom dock area spans the
        window's width, under the right-hand docks too, so the dock could only have what this widget
        (about 760 px high, in a right-hand dock) leaves: 87 px in a 900 px window. The right-hand docks
        take the bottom-right corner while the panels are open (the window's own setting comes back
        when the window's last panels close: ``compare/_corner``), the panels lie under the canvas and
        the left-hand docks. Done on the next turn of the event loop, once the main window has laid
        the new dock out."""
        from qtpy.QtCore import Qt, QTimer
        from qtpy.QtWidgets import QMainWindow

        dock, height = self._dock, self._dock_height
        window = dock.window()
        if isinstance(window, QMainWindow):
            take_corner(window, self)

        def size() -> None:
            window = dock.window() if dock is self._dock else None
            if isinstance(window, QMainWindow):
                window.resizeDocks([dock], [height or int(window.height() * DOCK_SHARE)], Qt.Orientation.Vertical)

        QTimer.singleShot(0, size)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        """The panels' dock closed by its title bar's 'x': napari takes the panels out of it (then deletes
        it). The panels close, the button and the window's corner follow; the dock's height is kept."""
        if obj is self.compare_dock and event.type() == QEvent.Type.ParentChange and obj.parent() is None:
            if self._dock is not None:
                self._dock_height = self._dock.height()
            self._dock = None  # napari removes and deletes it
            self._close_compare()
            with _blocked(self.compare_button):
                self.compare_button.setChecked(False)
        return super().eventFilter(obj, event)

    def dock_hidden(self) -> None:
        """The widget's dock was hidden (its title bar's hide button, the Plugins or Window menu): the
        panels close as when the widget closes, their button with them (shown again, the dock is as
        after the panels' own 'x'); the live lens goes on (its layer is in the layer list)."""
        if self.compare_dock is not None:
            self.set_linked_compare(False, uncheck=True)

    def _close_compare(self, reopen: bool = False) -> None:
        """Close the panels and their dock; unless they ``reopen`` at once, the window's bottom-right
        corner goes back to the area it had before they opened (once no other widget's panels are open)."""
        if self.compare_dock is not None:
            self.compare_dock.removeEventFilter(self)
            self.compare_dock.close_panels()
            if self._dock is not None:
                try:
                    self._dock_height = self._dock.height()
                    self.viewer.window.remove_dock_widget(self._dock)
                except (LookupError, RuntimeError, AttributeError):  # (RuntimeError: napari deleted it)
                    pass
        self.compare_dock = self._dock = None
        if not reopen:
            give_corner_back(self)

    def close(self) -> bool:
        self._close_compare()
        self.lens.close()
        return super().close()


def _leaves_out(changed: str) -> None:
    """Say that the LDCSR panel leaves out a result of pixels its source no longer holds (``changed``: why)."""
    from .._viewer import notify

    notify("info", f"{changed}: its result is of the pixels it held then, so the LDCSR panel leaves it out. "
                   "Run LDCSR again to see it there.")


class _blocked:
    def __init__(self, w):
        self.w = w

    def __enter__(self):
        self.w.blockSignals(True)

    def __exit__(self, *exc):
        self.w.blockSignals(False)
