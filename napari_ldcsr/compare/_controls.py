"""The dock widget's "Compare" group: the side-by-side grid (source | bicubic | LDCSR), the A/B
blink and the result's opacity, over the widget's last run; the grid and the linked panels follow
the run's picked band when its layers are deleted (``_follow``)."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout
from superqt import QLabeledSlider

from .._viewer import camera, notify
from ..run._results import run_again
from . import _sidebyside as sbs
from ._follow import USE, Deletions, follow_panels

__all__ = ["NONE_LEFT", "CompareControls"]

#: why a result of pixels its source no longer holds is not compared
BESIDE = "its result is of the pixels it held then, so Compare would set it beside the new ones"
NONE_LEFT = "Nothing to compare: the last run's results or their source layers were deleted; run LDCSR again."


class CompareControls(QGroupBox):
    """The Compare group of an ``LdcsrWidget``: it reads the widget's ``last`` run, ``last_result``
    and ``ensure_bicubic``; the widget wires ``compare_button`` to its ``set_compare``."""

    def __init__(self, widget, parent=None):
        super().__init__("Compare", parent)
        self.widget = widget
        self.viewer = widget.viewer
        self._grid: sbs.GridState | None = None
        self._watched = None  # the grid's source, whose pixels it watches (``_watch``)
        self._deleted = Deletions()
        cl = QVBoxLayout(self)
        self.compare_button = QPushButton("Side by side: source | bicubic | LDCSR")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("The last result's source, a bicubic baseline (computed if the Run "
                                       "added none) and the result side by side, panning and zooming "
                                       "together; click again to go back")
        self.blink_button = QPushButton("Show source / result")
        self.blink_button.setToolTip("Hide or show the last result over its source, to flip between them (A/B)")
        op = QHBoxLayout()
        opacity = QLabel("Result opacity")
        op.addWidget(opacity)
        self.opacity_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        for w in (opacity, self.opacity_slider):
            w.setToolTip("Opacity of the last result over its source, in percent: lower it to fade the "
                         "result into the source")
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(100)
        op.addWidget(self.opacity_slider)
        cl.addWidget(self.compare_button)
        cl.addWidget(self.blink_button)
        cl.addLayout(op)
        self.blink_button.clicked.connect(lambda: self.toggle_result())
        self.opacity_slider.valueChanged.connect(self._on_opacity)

    @property
    def comparing(self) -> bool:
        """Whether the side-by-side grid is on."""
        return self._grid is not None

    @property
    def opacity(self) -> float:
        """The result opacity the slider sets (0 … 1)."""
        return self.opacity_slider.value() / 100.0

    def set_compare(self, on: bool) -> None:
        """Side-by-side grid with one shared camera, or back; the button follows."""
        on = bool(on)
        if on != self.comparing:
            if on:
                self._enter_compare()
            else:
                state, self._grid = self._grid, None
                self._watch(None)
                sbs.leave_grid(self.viewer, state)
        self._sync_button()

    def _sync_button(self) -> None:
        self.compare_button.blockSignals(True)
        self.compare_button.setChecked(self.comparing)
        self.compare_button.blockSignals(False)

    def _enter_compare(self) -> None:
        from ..run._job import plain_message

        w = self.widget
        if w.last_result is None:
            notify("warning", "Run LDCSR first: there is no result to compare." if w.last is None else NONE_LEFT)
            return
        if (changed := w.last.changed(self.viewer)) is not None:  # its result is of the pixels it held then
            notify("warning", f"{changed}: {BESIDE}. {run_again(changed, 'compare', first=True)}.")
            return
        try:
            bic = w.ensure_bicubic()
        except Exception as exc:  # noqa: BLE001
            notify("error", f"Could not compute the bicubic baseline: {plain_message(exc)}")
            return
        self._grid = sbs.enter_grid(self.viewer, w.last.source, bic, w.last.result)
        self._watch(w.last.source)

    def _watch(self, source) -> None:
        """Watch ``source``'s pixels (None: none): given other ones, or an edit in place redrawn, end the grid."""
        for layer, on in ((self._watched, False), (source, True)):
            if layer is not None:
                for name in ("data", "set_data"):
                    emitter = getattr(layer.events, name)
                    emitter.connect(self._on_pixels) if on else emitter.disconnect(self._on_pixels)
        self._watched = source

    def _on_pixels(self, event=None) -> None:
        """The grid's source was given other pixels or edited: the old pixels' result is not set beside them;
        the grid ends as Compare off ends it (on the next turn of the event loop: napari is still telling it)."""
        last = self.widget.last
        changed = None if last is None or self._grid is None else last.changed(self.viewer, event)
        if changed is not None:
            from qtpy.QtCore import QTimer

            self._watch(None)

            def end() -> None:
                self.set_compare(False)
                notify("warning", f"{changed}: {BESIDE}. The side-by-side grid was closed; "
                                  f"{run_again(changed, 'compare')}.")

            QTimer.singleShot(0, end)
    def toggle_result(self) -> None:
        """Flip between the LDCSR result and the source underneath it (A/B blink)."""
        last = self.widget.last
        if self.widget.last_result is not None:
            others = [r for r in last.results if r is not last.result and r in self.viewer.layers]
            sbs.blink(last.source, last.result, others)

    def _on_opacity(self, value: int) -> None:
        """Every result of the last run (a band group's: one per band), so that a composite fades
        as one: the lowest covers the sources at that opacity, the others add at it."""
        if self.widget.last_result is not None:
            for layer in self.widget.last.results or [self.widget.last.result]:
                if layer in self.viewer.layers:
                    layer.opacity = value / 100.0

    def follow_removal(self, layer, index: int | None = None) -> None:
        """``layer`` left the viewer (from ``index`` of its layer list). The last run's picked source
        or result: the nearest band that still has both is picked (``RunLayers.repick``, measured
        from the band picked before this batch of deletions) and the status line names the batch's
        deleted layers and the result now used, or says nothing is left (not during a Run). The grid
        and the linked panels follow when the batch is over (:meth:`_settle`; napari may still be
        removing a selection)."""
        last = self.widget.last
        if self._deleted.add(self.viewer, layer, index, None if last is None else last.source):
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, self._settle)
        if last is None:
            return
        if layer is last.source or layer is last.result:
            self._deleted.moved = True
            last.repick(self.viewer, near=self._deleted.anchor)
        if self._deleted.moved:
            self._say(f"{self._deleted.text()}: {USE} '{last.result.name}'." if last.present(self.viewer)
                      else NONE_LEFT)

    def _say(self, text: str) -> None:
        if not self.widget.running:
            self.widget._set_status(text)

    def _settle(self) -> None:
        """A batch of deletions is over: the grid shows the picked band's source | bicubic | LDCSR
        again (its baseline made again if needed) or, with no band left, ends as Compare off ends
        it; the linked panels follow (``follow_panels``); the status line says what changed."""
        deleted, self._deleted = self._deleted, Deletions()
        if getattr(self.widget, "_shut", False):  # the viewer is closing: nothing to show any more
            return
        state, last, closed = self._grid, self.widget.last, []
        if state is not None and (last is None or any(lyr not in self.viewer.layers for lyr in state.trio)
                                  or state.trio[0] is not last.source or state.trio[2] is not last.result):
            if self._regrid(state):
                if not deleted.moved:  # the picked band's baseline, made again
                    self._say(f"{deleted.text()}: the side-by-side grid shows '{last.bicubic.name}', made again.")
            else:
                closed.append("side-by-side grid")
        if follow_panels(getattr(self.widget, "live", None), last, self.viewer) == "closed":
            closed.append("linked panels")
        if closed:
            why = NONE_LEFT if last is not None and deleted.moved and self.widget.last_result is None \
                else f"{deleted.text()}."
            were = "were" if len(closed) > 1 or closed == ["linked panels"] else "was"
            self._say(f"{why} The {' and the '.join(closed)} {were} closed.")
        self.widget._update_enabled()

    def _regrid(self, state: sbs.GridState) -> bool:
        """Leave the grid ``state`` and enter it again for the picked band (if any), looking where it
        looked; the button follows. Whether the grid is on."""
        cam = camera(self.viewer)
        view = (tuple(cam.center), cam.zoom)
        self._grid = None
        self._watch(None)
        sbs.leave_grid(self.viewer, state)
        if self.widget.last_result is not None:
            self._enter_compare()
            if self._grid is not None:
                cam.center, cam.zoom = view
        self._sync_button()
        return self._grid is not None

    def update_enabled(self, has_result: bool) -> None:
        self.compare_button.setEnabled(has_result or self.compare_button.isChecked())
        self.blink_button.setEnabled(has_result)
        self.opacity_slider.setEnabled(has_result)
