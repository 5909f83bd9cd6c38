"""The dock widget's "Compare" group: the side-by-side grid (source | bicubic | LDCSR), the A/B
blink and the result's opacity, over the widget's last run."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout
from superqt import QLabeledSlider

from .._viewer import notify
from . import _sidebyside as sbs

__all__ = ["NONE_LEFT", "CompareControls"]

NONE_LEFT = "Nothing to compare: the last run's results or their source layers were deleted; run LDCSR again."


class CompareControls(QGroupBox):
    """The Compare group of an ``LdcsrWidget``: it reads the widget's ``last`` run, ``last_result``
    and ``ensure_bicubic``; the widget wires ``compare_button`` to its ``set_compare``."""

    def __init__(self, widget, parent=None):
        super().__init__("Compare", parent)
        self.widget = widget
        self.viewer = widget.viewer
        self._grid: sbs.GridState | None = None
        cl = QVBoxLayout(self)
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
                sbs.leave_grid(self.viewer, state)
        self.compare_button.blockSignals(True)
        self.compare_button.setChecked(self.comparing)
        self.compare_button.blockSignals(False)

    def _enter_compare(self) -> None:
        from ..run._job import plain_message

        w = self.widget
        if w.last_result is None:
            notify("warning", "Run LDCSR first: there is no result to compare." if w.last is None else NONE_LEFT)
            return
        try:
            bic = w.ensure_bicubic()
        except Exception as exc:  # noqa: BLE001
            notify("error", f"Could not compute the bicubic baseline: {plain_message(exc)}")
            return
        self._grid = sbs.enter_grid(self.viewer, w.last.source, bic, w.last.result)

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

    def follow_removal(self, layer) -> None:
        """``layer`` left the viewer: if it was the last run's picked source or result, the nearest
        band of the run that still has both becomes the picked one (``RunLayers.repick``); the
        status line says which, or that nothing is left to compare (not during a Run: its own)."""
        last = self.widget.last
        if last is None or not (layer is last.source or layer is last.result):
            return
        if last.repick(self.viewer):
            text = (f"'{layer.name}' was deleted: Compare, Show source / result and Result opacity "
                    f"now use '{last.result.name}'.")
        else:
            text = NONE_LEFT
        if not self.widget.running:
            self.widget._set_status(text)

    def update_enabled(self, has_result: bool) -> None:
        self.compare_button.setEnabled(has_result or self.compare_button.isChecked())
        self.blink_button.setEnabled(has_result)
        self.opacity_slider.setEnabled(has_result)
