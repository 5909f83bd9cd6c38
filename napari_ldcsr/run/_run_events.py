"""The dock widget's side of a Run as its runner reports it (:class:`RunEventsMixin`): the device
and tile progress on the status line, finished rows and tiles drawn as they come, and the outcome
(the result layers added, or why not) told once the run's thread is done, with ``resultAdded`` and
``runFinished``."""

from __future__ import annotations

import time

from .._viewer import notify, notify_removal
from . import _outcome
from ._job import JobResult, plain_message
from ._prepare import fmt_seconds, progress_text
from ._results import blending_note

__all__ = ["RunEventsMixin"]


class RunEventsMixin:
    """The handlers of the widget's :class:`~._runner.JobRunner` signals (the widget holds ``runner``,
    ``_job``, ``_ended``, its status line and progress bar)."""

    def _connect_runner(self) -> None:
        r = self.runner
        r.modelReady.connect(self._on_model_ready)
        r.progressed.connect(self._on_progress)
        r.rowsReady.connect(self._on_rows)
        r.tileReady.connect(self._on_tile)
        r.placeholderReady.connect(lambda data: setattr(self._job[2], "placeholder", data) if self._job else None)
        r.succeeded.connect(self._on_result)
        r.failed.connect(self._on_failed)
        r.cancelled.connect(self._on_cancelled)
        r.finished.connect(self._on_finished)

    def _on_model_ready(self, info: dict) -> None:
        if "device" in info:
            self.device_label.setText(f"Device: {info['device']}")
        self._t_tiles = time.perf_counter()

    def _on_progress(self, info) -> None:
        done, total = info.done, info.total
        self.progress_bar.tiles(done, total)
        elapsed = time.perf_counter() - (self._t_tiles or time.perf_counter())
        text = progress_text(done, total, elapsed)
        if text is not None:
            self._set_status(text)

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
        partial.digested(result)  # (the worker's digests of the pixels it read)
        changed = partial.changed()
        if changed is not None:  # its result is of pixels the layer no longer holds
            partial.discard()
            if result.path is None:
                self._set_status(f"{changed}; nothing was added.")
                notify("warning", f"{changed}; the result was not added.")
            else:  # written: kept, and said, but not laid over the new pixels as theirs
                kept = (f"{changed}; the result, of the pixels it held when the run began, was "
                        f"{_outcome.saved_text(result, str)} and not opened over it")
                self._set_status(f"{kept}.")
                notify("warning", f"{kept}.")
            self._ended = ("failed",)
            return
        try:
            last = _outcome.run_layers(self.viewer, layer, spec, partial, result)  # napari_ldcsr/run/_outcome.py
            if last is None:
                notify_removal(self.viewer, "warning", f"'{layer.name}' was removed during the run; the result "
                               "was not added.")
                self._ended = ("failed",)
                return
            self.last = last
            if result.spread is not None:  # uncertainty map (samples > 1), above the results
                from ._spread import add_spread_layer

                self.last.spread = add_spread_layer(self.viewer, layer, spec, result.spread, last.results)
            # the layers hold the pixels now (copied into the progressive layers, or views): the run's record keeps
            # its spec and path only (before, a second full copy of an in-memory result lived as long as the run)
            result.data = result.bicubic = result.spread = None
        except Exception as exc:  # noqa: BLE001 - never crash the viewer
            partial.discard()
            why = f"could not add the result layer: {plain_message(exc)}"
            self._set_status(f"Failed: {why}")
            notify("error", f"LDCSR {why}")
            self._ended = ("failed",)
            return
        out = last.result
        saved = f", {_outcome.saved_text(result)}," if result.path else ""
        note = (f" · {result.empty}" if result.empty else "") + blending_note(last.layer_source.layers[0], last.results[0])
        self._set_status(f"Added '{out.name}' ({spec.out_shape[0]}×{spec.out_shape[1]} px){saved} "
                         f"in {fmt_seconds(result.seconds)}{note}")
        self.progress_bar.finish()
        self._ended = ("done", out)

    def _on_failed(self, exc: BaseException) -> None:
        layer, _, partial = self._job
        partial.discard()
        message = plain_message(exc)
        self._set_status(f"Failed: {message}")
        notify("error", f"LDCSR could not super-resolve '{layer.name}': {message}")
        self._ended = ("failed",)

    def _on_cancelled(self) -> None:
        self._job[2].discard()
        if self._stopped_why is None:  # else said when its layer went (``_on_layer_removed``)
            self._set_status("Cancelled; nothing was added.")
            notify("info", "LDCSR run cancelled; no layer was added.")
        self._ended = ("cancelled",)

    def _on_finished(self) -> None:
        """The run's thread is done: ``resultAdded`` and ``runFinished`` are emitted now, when a slot
        of theirs can start the next run (before, ``run()`` found this one still running)."""
        (how, *added), self._ended, self._job = self._ended or ("failed",), None, None
        if self.progress_bar.maximum() == 0:  # ended before its first tile
            self.progress_bar.idle()
        self._update_enabled()
        if added:
            self.resultAdded.emit(added[0])
        self.runFinished.emit(how)
