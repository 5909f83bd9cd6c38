"""One engine job at a time in a napari ``thread_worker``, reported through Qt signals.

The worker's own signals carry the outcome (its result, handed on at ``finished`` ->
:attr:`JobRunner.succeeded`, or :attr:`cancelled` when Cancel was pressed before it was handed on;
``errored`` -> :attr:`failed` or :attr:`cancelled`; ``finished`` -> :attr:`finished`); the
engine's per-tile progress and finished rows are handed to the GUI thread with superqt's
``ensure_main_thread``. Cancel is the worker's ``quit()``: the engine's progress callback sees
``abort_requested`` and raises ``Cancelled`` within one tile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from qtpy import sip
from qtpy.QtCore import QObject, Signal
from superqt.utils import ensure_main_thread

from ldcsr_core.threads import describe, release_pool

from ._job import JobSpec, LayerSource, ModelCache, model_info, plain_message, run_job

__all__ = ["JobRunner", "CheckRunner", "AdaptRunner", "probe_device", "start_device_probe"]


def _gone(obj: QObject) -> bool:
    """Whether Qt has deleted ``obj`` (its viewer closed) while the worker's calls were queued for
    the GUI thread: they are then dropped (an emit would raise)."""
    return sip.isdeleted(obj)


def probe_device() -> str:
    """Where the engine runs: CUDA, then Apple MPS, then CPU (imports torch)."""
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    from ldcsr_core.precision import describe as describe_dtype

    return f"cpu ({describe()}; {describe_dtype()})"


def start_device_probe(models: ModelCache | None, show: Callable[[str], None]) -> None:
    """Find the device (imports torch) in a worker thread; ``show`` gets its description (or
    "unknown (why)") through the worker's signals. With ``models`` (the engine's own loader), the
    shipped model is loaded there too, so that the first Run or live view does not wait for torch
    and the weights."""
    from .._workers import create_worker

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
    worker.returned.connect(show)
    worker.errored.connect(lambda exc: show(f"unknown ({plain_message(exc)})"))
    worker.start()


class _OneWorker(QObject):
    """One engine task at a time in a napari ``thread_worker``: start, cancel, wait, running."""

    what = "a task"

    def __init__(self, models: ModelCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self._worker = None
        self._kept: list = []  # the running task's result, once it has returned
        self._hand_on = None  # where that result goes (``_launch``'s ``on_returned``)
        self.stop_asked = False  # Cancel was pressed for the running (or last) task

    @property
    def running(self) -> bool:
        return self._worker is not None

    def _launch(self, *args, on_returned) -> None:
        """Run ``self._work(*args)`` in a worker; its outcome goes to ``on_returned`` (a result,
        also one the task ended with after Cancel was pressed: ``stop_asked`` is then true),
        ``_on_errored`` and ``_on_finished`` (RuntimeError if one is running)."""
        from .._workers import create_worker

        if self.running:
            raise RuntimeError(f"{self.what} is already running")
        release_pool()  # torch in worker threads runs at full speed (see ldcsr_core.threads)
        kept: list = []

        def work(*a):
            kept.append(self._work(*a))
            return kept[0]

        # superqt drops ``returned`` once abort was requested: the result is handed on at ``finished``
        # (bound methods, so that Qt drops the signals of a runner already deleted)
        worker = create_worker(work, *args, _start_thread=False, _ignore_errors=True)
        self._kept, self._hand_on, self.stop_asked = kept, on_returned, False
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    @property
    def cancelling(self) -> bool:
        return self._worker is not None and self._worker.abort_requested

    def cancel(self) -> bool:
        """Ask the running task to stop (the engine polls ``abort_requested``); True if there was one to stop."""
        if self._worker is None or self._worker.abort_requested:
            return False
        self._worker.quit()
        self.stop_asked = True  # also once :meth:`wait` has let the worker go
        return True

    def _on_errored(self, exc: BaseException) -> None:
        """``Cancelled`` -> the ``cancelled`` signal, anything else -> ``failed``."""
        from ldcsr_core.errors import Cancelled

        if isinstance(exc, Cancelled):
            self.cancelled.emit()
        else:
            self.failed.emit(exc)

    def _on_finished(self) -> None:
        try:
            if self._kept:  # the task returned (before or after Cancel was pressed)
                self._hand_on(self._kept[0])
        finally:
            self._worker, self._kept = None, []
            self.finished.emit()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the task's thread has ended (after a cancel: within one tile); True if
        none is left. For shutdown only: the GUI does not repaint meanwhile. A result the task
        returned after Cancel was pressed goes to :meth:`_drop` here, as its finished signal may
        never be delivered (the GUI is going away)."""
        from qtpy.QtCore import QThreadPool

        kept = self._kept
        if self._worker is None:
            return True
        if not QThreadPool.globalInstance().waitForDone(int(timeout_ms)):
            return False
        self._worker = None
        if kept and self.stop_asked:
            self._drop(kept[0])
        return True

    def _drop(self, result) -> None:
        """Undo what a result handed on to no one left behind (nothing by default)."""


class JobRunner(_OneWorker):
    """Runs :func:`_job.run_job` in a worker thread; all signals arrive in the GUI thread.

    Signals: ``modelReady(dict)`` (model info, once the model is loaded), ``progressed(info)``
    (``ldcsr_core.progress.TileProgress``), ``placeholderReady(list)`` (the result's first look,
    :func:`~._placeholders.placeholders`, made here before the first tile), ``tileReady(box, colour_bands,
    values)`` (a finished tile's preview), ``rowsReady(y0, rows)`` (finished rows, a copy),
    ``succeeded(JobResult)``, ``failed(exception)``, ``cancelled()``, ``finished()``.
    """

    modelReady = Signal(dict)
    progressed = Signal(object)
    rowsReady = Signal(int, object)
    placeholderReady = Signal(object)
    tileReady = Signal(object, object, object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()
    what = "a job"

    def start(self, source: LayerSource, spec: JobSpec) -> None:
        """Start a job (RuntimeError if one is running)."""
        self._launch(source, spec, on_returned=self._on_returned)

    def _work(self, source: LayerSource, spec: JobSpec):
        from ldcsr_core.progress import polling

        worker = self._worker
        try:
            model = self.models.get(spec.model_source)
            self._relay_model(model_info(model))
            def placeholder(data: list) -> None:  # (made of the run's copy of the layers; a streamed run shows none)
                if not worker.abort_requested:
                    self._relay_placeholder(data)

            return run_job(source, spec, model, callback=polling(lambda: worker.abort_requested, self._relay_progress),
                           on_rows=lambda y0, rows: self._relay_rows(y0, rows.copy()), on_tile=self._relay_tile,
                           on_placeholder=placeholder)
        finally:
            release_pool()  # this pool thread leaves no idle OpenMP workers behind

    @ensure_main_thread
    def _relay_model(self, info: dict) -> None:
        if not _gone(self):
            self.modelReady.emit(info)

    @ensure_main_thread
    def _relay_progress(self, info) -> None:
        if not _gone(self) and not self.cancelling:
            self.progressed.emit(info)

    @ensure_main_thread
    def _relay_placeholder(self, data: list) -> None:
        if not _gone(self) and self.running and not self.cancelling:
            self.placeholderReady.emit(data)

    @ensure_main_thread
    def _relay_rows(self, y0: int, rows) -> None:
        if not _gone(self) and self.running and not self.cancelling:
            self.rowsReady.emit(y0, rows)

    @ensure_main_thread
    def _relay_tile(self, box, colour, values) -> None:
        if not _gone(self) and self.running and not self.cancelling:
            self.tileReady.emit(box, colour, values)

    def _on_returned(self, result) -> None:
        if self.stop_asked:  # finished as Cancel was pressed: dropped, its streamed files removed
            self._drop(result)
            self.cancelled.emit()
        else:
            self.succeeded.emit(result)

    def _drop(self, result) -> None:
        """A cancelled job's result: the files it streamed are removed (a cancelled run leaves no
        file behind, also when the viewer closed as the engine finished: :meth:`wait`)."""
        for path in (result.path, result.spread_path):
            if path:
                Path(path).unlink(missing_ok=True)


class CheckRunner(_OneWorker):
    """Runs the *Check quality here* self-check (:func:`_selfcheck.run_check`) in a worker thread.

    Signals (in the GUI thread): ``succeeded(result, request, digests)`` (``digests``: of the copy it read,
    :func:`_selfcheck.run_check`'s), ``failed(exception)``,
    ``finished()``. :meth:`cancel` stops it within one tile (the engine polls ``abort_requested``).
    """

    succeeded = Signal(object, object, object)
    failed = Signal(object)
    finished = Signal()
    what = "a check"

    def start(self, source: LayerSource, request) -> None:
        """Start a check (RuntimeError if one is running)."""
        self._launch(source, request, on_returned=lambda result: self._on_returned(result, request))

    def _work(self, source: LayerSource, request):
        from ldcsr_core.progress import polling

        from ._selfcheck import run_check

        worker = self._worker
        try:
            model = self.models.get(request.model_source)
            return run_check(source, request, model, callback=polling(lambda: worker.abort_requested, None))
        finally:
            release_pool()

    def _on_returned(self, outcome, request) -> None:
        if not self.stop_asked:  # a check cancelled as it finished shows nothing (also after :meth:`wait`)
            result, digests = outcome
            self.succeeded.emit(result, request, digests)

    def _on_errored(self, exc: BaseException) -> None:
        from ldcsr_core.errors import Cancelled

        if not isinstance(exc, Cancelled):
            self.failed.emit(exc)


class AdaptRunner(_OneWorker):
    """Runs *Adapt to this layer* (:func:`_adapt.run_adapt`) in a worker thread.

    Signals (in the GUI thread): ``progressed(AdaptProgress)``, ``succeeded(AdaptOutcome, request)``,
    ``failed(exception)``, ``cancelled()``, ``finished()``. :meth:`cancel` stops it within one
    training step; a cancelled adaptation saves nothing.
    """

    progressed = Signal(object)
    succeeded = Signal(object, object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()
    what = "an adaptation"
    folder = None  # where kept models go (None: the user's model folder)

    def start(self, source: LayerSource, request) -> None:
        """Start an adaptation (RuntimeError if one is running)."""
        self._launch(source, request, on_returned=lambda outcome: self._on_returned(outcome, request))

    def _work(self, source: LayerSource, request):
        from ldcsr_core.progress import polling

        from ._adapt import run_adapt

        worker = self._worker
        try:
            model = self.models.get(request.model_source)
            outcome = run_adapt(source, request, model, folder=self.folder,
                                callback=polling(lambda: worker.abort_requested, self._relay_progress))
            if outcome.path is not None:
                self.models.put(outcome.path, outcome.result.model)  # Run and the lens use it as is
            return outcome
        finally:
            release_pool()

    @ensure_main_thread
    def _relay_progress(self, info) -> None:
        if not _gone(self) and not self.cancelling:
            self.progressed.emit(info)

    def _on_returned(self, outcome, request) -> None:
        if self.stop_asked and outcome.path is None:
            self.cancelled.emit()
        else:  # a model saved as Cancel was pressed is kept (complete and guarded; ``stop_asked`` says so)
            self.succeeded.emit(outcome, request)
