"""The dock widget's *Adapt to this layer* row: the button, the minutes box, and the adaptation's
handling (start it in the widget's ``AdaptRunner``, show its progress on the widget's bar, Cancel
through the widget's Cancel button, then select a kept model for Run and the live lens). The
adaptation itself is :mod:`napari_ldcsr.run._adapt` (Qt-free)."""

from __future__ import annotations

from qtpy.QtWidgets import QDoubleSpinBox, QHBoxLayout, QPushButton

from .._viewer import notify
from ._job import layer_source, plain_message

__all__ = ["AdaptControls", "DEFAULT_MINUTES"]

DEFAULT_MINUTES = 3.0


class AdaptControls:
    """The adapt row of an ``LdcsrWidget`` (``row`` is a layout for the widget to add). It uses the
    widget's viewer, settings, ``adapter`` (an ``AdaptRunner``), progress bar, status line, model
    picker (``form``) and ``modelAdapted``."""

    def __init__(self, widget) -> None:
        from ._adapt import TOOLTIP

        self.widget = widget
        self.row = QHBoxLayout()
        self.button = QPushButton()
        self.button.setToolTip(TOOLTIP)
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.5, 60.0)
        self.minutes.setSingleStep(0.5)
        self.minutes.setDecimals(1)
        self.minutes.setSuffix(" min")
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setToolTip("How long the adaptation trains (0.5 to 60 minutes)")
        self.minutes.valueChanged.connect(self._label)
        self._label()
        self.row.addWidget(self.button)
        self.row.addWidget(self.minutes)
        self.button.clicked.connect(lambda: widget.adapt_to_layer())
        a = widget.adapter
        a.progressed.connect(self._on_progress)
        a.succeeded.connect(self._on_adapted)
        a.failed.connect(self._on_failed)
        a.cancelled.connect(lambda: widget._set_status("Adaptation cancelled; no model was saved."))
        a.finished.connect(self._on_finished)
        self._adapted = None

    def _label(self, *_) -> None:
        self.button.setText(f"Adapt to this layer ({self.minutes.value():g} min)")

    def adapt(self, layer=None, minutes: float | None = None) -> bool:
        """Start an adaptation of the current model to ``layer`` (None: the picked one) unless the
        widget is busy; True when one was started (problems become notifications)."""
        from ._adapt import prepare_adapt

        w = self.widget
        if w.busy:
            notify("warning", "LDCSR is busy; wait for the run, check or adaptation to finish.")
            return False
        minutes = float(self.minutes.value() if minutes is None else minutes)
        request = prepare_adapt(w.viewer, w.settings, minutes, layer)
        if isinstance(request, str):
            notify("error", request)
            return False
        w._set_status(f"Adapting to {request.where} at ×{request.scale:g} for {minutes:g} min…")
        bar = w.progress_bar
        bar.setRange(0, 1000)
        bar.setValue(0)
        bar.setFormat("adapting %p%")
        # the pixels the button was pressed on: an array the layer is given while the model loads is not read
        w.adapter.start(layer_source(w.viewer, request.layer).pinned(), request)
        w._update_enabled()
        return True

    def _on_progress(self, info) -> None:
        w = self.widget
        w.progress_bar.setValue(int(info.fraction * 1000))
        if info.stage == "guard":
            w._set_status("Checking the adapted model on the held-back strip…")
        else:
            w._set_status(f"Adapting: step {info.step}, {info.seconds:.0f} of {info.budget:.0f} s")

    def _on_adapted(self, outcome, request) -> None:
        from ._adapt import status_text

        w = self.widget
        text = status_text(outcome, request.where)
        if w.adapter.stop_asked:  # Cancel came after the model was saved: it is kept
            text = f"Cancel came too late, the model was saved already and is kept. {text}"
        w._set_status(text)
        w.status_label.setToolTip(outcome.result.line())
        if outcome.path is not None:
            w.form.add_checkpoint(outcome.path)
            notify("info", f"Adapted model saved to {outcome.path} and selected.")
        else:
            notify("info", text)
        self._adapted = outcome  # told in _on_finished, once the adapter is free again

    def _on_failed(self, exc) -> None:
        self.widget._set_status(f"Adaptation failed: {plain_message(exc)}")
        notify("error", f"LDCSR could not adapt the model: {plain_message(exc)}")

    def _on_finished(self) -> None:
        w = self.widget
        w.progress_bar.idle()
        w._update_enabled()
        outcome, self._adapted = self._adapted, None
        if outcome is not None:  # a slot of it may start a Run or a check now
            w.modelAdapted.emit(outcome)
