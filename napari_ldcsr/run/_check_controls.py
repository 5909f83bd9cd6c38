"""The dock widget's *Check quality here* row: the button, the "error map layer" box, and the
check's handling (start it in the widget's ``CheckRunner``, report it in the status line, add the
error maps). The check itself is :mod:`napari_ldcsr.run._selfcheck` (Qt-free)."""

from __future__ import annotations

from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QPushButton

from .._viewer import notify
from ._job import layer_source, plain_message
from ._results import pixels_changed, pixels_of, with_digests

__all__ = ["CheckControls"]


class CheckControls:
    """The check row of an ``LdcsrWidget`` (``row`` is a layout for the widget to add). It uses the
    widget's viewer, settings, ``checker`` (a ``CheckRunner``), status line and ``qualityChecked``."""

    def __init__(self, widget) -> None:
        from ._selfcheck import TOOLTIP

        self.widget = widget
        self.row = QHBoxLayout()
        self.button = QPushButton("Check quality here")
        self.button.setToolTip(TOOLTIP)
        self.error_map_box = QCheckBox("error map layer")
        self.error_map_box.setChecked(True)
        self.error_map_box.setToolTip("Add the check's per-pixel error maps (LDCSR, and bicubic hidden to "
                                      "blink against) as layers over the checked pixels")
        self.row.addWidget(self.button)
        self.row.addWidget(self.error_map_box)
        self.button.clicked.connect(lambda: widget.check_quality())
        checker = widget.checker
        checker.succeeded.connect(self._on_checked)
        checker.failed.connect(lambda exc: widget._set_status(f"Check failed: {plain_message(exc)}"))
        checker.failed.connect(lambda exc: notify("error", f"LDCSR could not check the quality: {plain_message(exc)}"))
        checker.finished.connect(self._on_finished)
        self._checked = None  # the finished check's result, told once the checker is free again
        self._source, self._pixels = None, []  # the running check's layers and their pixels (_results.pixels_of)
        self._stopped_why = None  # why the running check was stopped, if a layer of it was removed

    def check_quality(self, layer=None) -> bool:
        """Start a check of ``layer`` (None: the picked one) unless the widget is busy; True when
        a check was started (problems become notifications)."""
        from ._selfcheck import prepare_check

        w = self.widget
        if w.busy:
            notify("warning", "LDCSR is busy; wait for the run, check or adaptation to finish.")
            return False
        request = prepare_check(w.viewer, w.settings, layer)
        if isinstance(request, str):
            notify("error", request)
            return False
        if request.mean_of > 1:  # K whole runs of the sampler, as a Run of K: said before it starts, as a Run says it
            from ._prepare import samples_notice

            notify("info", samples_notice(request.mean_of, "check"))
        from ldcsr_core.quality import mode_text  # K whole runs, as a Run's: the engine's words of the check

        w._set_status(f"Checking ×{request.scale:.2f} ({mode_text(request.mode, request.seed, request.mean_of)}) "
                      f"on {request.where}…")
        # the pixels the button was pressed on (an array the layer is given while the model loads: not checked), known
        # as a Run knows its own (the worker digests its copy: an edit in place during the check is said at its end)
        source = layer_source(w.viewer, request.layer).pinned()
        self._source, self._pixels = source, pixels_of(source.layers, source.copied())
        w.checker.start(source, request)
        w._update_enabled()
        return True

    def follow_removal(self, layer) -> None:
        """A layer was removed from the viewer: one the running check reads stops the check at once (as Cancel
        does, and as a Run of it stops), said at its end; before, the check went on and said its figure of a
        layer no longer there."""
        source = self._source
        if source is None or not any(layer is lyr for lyr in source.layers) or not self.widget.checker.cancel():
            return
        self._stopped_why = f"'{layer.name}' was removed during the check"
        self.widget._set_status("Cancelling…")

    def _on_checked(self, result, request, digests) -> None:
        from ._selfcheck import show_check

        w = self.widget
        changed = pixels_changed(self._source.layers, with_digests(self._pixels, digests), "during the check")
        if changed is not None:
            said = f"{changed}; nothing was shown: check it again."
            w._set_status(f"Check dropped: {said}")
            notify("warning", said)
            return
        w._set_status(show_check(w.viewer, request, result, maps=self.error_map_box.isChecked()))
        w.status_label.setToolTip(f"{result.line()}\nLimits: {result.to_dict()['limits']}.")
        self._checked = result

    def _on_finished(self) -> None:
        """The check's thread is done: ``qualityChecked`` now, when a slot of it can start the next
        check or a Run (before, it came while the checker still counted as busy)."""
        result, self._checked, self._source, self._pixels = self._checked, None, None, []
        why, self._stopped_why = self._stopped_why, None
        self.widget._update_enabled()
        if result is not None:
            self.widget.qualityChecked.emit(result)
        elif self.widget.checker.stop_asked:  # Cancel pressed (or its layer removed): nothing measured, no layer added
            self.widget._set_status(f"Stopped: {why}; nothing was measured." if why
                                    else "Check cancelled; nothing was measured.")

