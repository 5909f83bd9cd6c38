"""The live lens's worker: a view's missing tiles computed off the GUI thread, each shown as it arrives.

A mixin of :class:`~napari_ldcsr.lens._lens.LiveLens`: ``_start_worker`` runs the engine's tile step
(``TileProcessor`` on the layer's global grid, one window at a time on a CPU, a geometry's windows as one
batch on a card) in a napari ``thread_worker``; its slots hand each tile to the lens's ``_paint`` and say
an error once (``_on_error``).
"""

from __future__ import annotations

import contextlib
import time

from ldcsr_core.heap import bounded_retained_heap
from ldcsr_core.threads import release_pool

from .._viewer import notify as _notify
from ._plan import LensView


class LensWorker:
    """Compute the tiles of a view the cache lacks, and follow the worker doing it."""

    def _start_worker(self, view: LensView, keys: list) -> None:
        from .._workers import create_worker

        from ldcsr_core.geo.local_runner import run_triplets
        from ldcsr_core.tiling import RETAINED_HEAP_MB, TileProcessor

        provider, source, pixels = self._models, self.model_source, self._pixels
        mode, seed, cache, lock, grid = self.mode, self.seed, self.cache, self._lock, view.grid

        # the view's windows reuse each other's freed memory, up to a bound; it goes back to the
        # system when the worker ends (finished or cancelled: ``finished`` is emitted either way)
        heap_scope = contextlib.ExitStack()
        trim = heap_scope.enter_context(bounded_retained_heap(RETAINED_HEAP_MB << 20))

        def compute():
            try:
                # the engine's tile step (shared noise, out-of-memory fallback) on the global grid
                processor = TileProcessor(provider(source), grid.plan(), mode=mode, seed=seed)
                cells = [(key, grid.tile(*key)) for key in keys]
                # one window at a time on a CPU, in the view's order; on a card, the view's windows
                # of one geometry as one batch
                for group in processor.groups(cells, lambda cell: processor.signature(cell[1])):
                    with lock:
                        outs = run_triplets(processor, [(t, pixels.read(*t.read)) for _, t in group])
                        trim()
                        release_pool()  # no idle OpenMP pool left behind if the view is cancelled now
                    for (key, _), out in zip(group, outs):
                        cache.put(view.prefix + key, out)
                        yield key, out
            finally:  # an error (e.g. loading the model) leaves none behind either
                release_pool()

        release_pool()  # torch in worker threads runs at full speed (see ldcsr_core.threads)
        worker = create_worker(compute, _start_thread=False, _ignore_errors=True)  # said by _on_error, in one line
        gen = view.gen
        worker.yielded.connect(lambda item: self._on_tile(gen, item))
        worker.errored.connect(lambda exc: self._on_error(gen, exc))
        worker.finished.connect(lambda: self._on_worker_finished(worker))
        worker.finished.connect(heap_scope.close)
        self._worker = worker
        worker.start()

    def _on_tile(self, gen: int, item) -> None:
        view = self._view
        if view is None or gen != view.gen or view.layer not in self.viewer.layers:
            return  # a tile of a cancelled view: never shown
        (key, out), self._said = item, None  # a tile computed: the next error is said
        view.computed += 1
        self._paint(view, key, out)
        if view.composer.complete:
            self._finish(view)

    def _on_error(self, gen: int, exc: BaseException) -> None:
        """The current view's error in one line, once until the lens is turned on, a model or a layer picked or a
        tile made again; a view cancelled since (a camera event) says nothing (before: a bad model said twice per pick)."""
        if self._view is not None and gen == self._view.gen == self._gen:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if first != self._said:
                _notify("error", f"Live lens stopped: {first}")
            self._said, self._worker = first, None

    def _on_worker_finished(self, worker) -> None:
        if self._worker is worker:
            self._worker = None

    def _finish(self, view: LensView) -> None:
        if view.done_s is None:
            view.done_s = time.perf_counter() - view.started
        if self._worker is not None and view is self._view:
            self._worker = None
        self.view_done.emit(view.gen)
