"""Keeping a card busy: windows of one geometry are grouped into batches (:func:`batches`), the
next windows are read (and stretched) by a background thread while the device computes the current
ones (:func:`prefetched`), and a batch's outputs are taken only once the next batch is launched
(:func:`one_behind`), so that a GPU does not wait for the host between batches; :func:`pipelined`
puts these together for the engine's tile loops; :class:`BackgroundSink` converts, compresses and
writes finished rows in a thread of its own while the host blends the next ones."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import queue
import threading
from typing import Callable, Iterable, Iterator, TypeVar

__all__ = ["prefetched", "one_behind", "batches", "pipelined", "BackgroundSink"]

T = TypeVar("T")
_DONE = object()


def _thread(target: Callable[[], None], name: str) -> threading.Thread:
    """A daemon thread running ``target`` in a copy of the caller's context (``contextvars``): what
    the caller's run set there (e.g. which run's log a record belongs to) holds in its helpers too."""
    return threading.Thread(target=contextvars.copy_context().run, args=(target,), name=name, daemon=True)


def prefetched(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """``items``, produced by one background thread up to ``depth`` items ahead of the consumer.

    Order is kept; an exception raised while producing is re-raised to the consumer at its place in
    the sequence; when the consumer stops early (a cancel, an error, ``close()``), the producer
    stops after the item it is making and the source is closed.  Only that thread runs ``items``,
    so a source that is not thread-safe (an open raster) is still used by one thread at a time.
    """
    source = iter(items)
    q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in source:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            put((None, err))

    thread = _thread(produce, "ldcsr-read-ahead")
    thread.start()
    try:
        while True:
            item, err = q.get()
            if err is not None:
                raise err
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()
        close = getattr(source, "close", None)
        if close is not None:
            close()


def one_behind(items: Iterable[T]) -> Iterator[T]:
    """``items`` in order, each handed on only once the next one has been made (the last at the
    end): with items that launch work on a card, the host takes batch k's outputs while batch k+1
    computes.  Closing this closes ``items``."""
    source = iter(items)
    try:
        previous = _DONE
        for item in source:
            if previous is not _DONE:
                yield previous
            previous = item
        if previous is not _DONE:
            yield previous
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def batches(items: Iterable, signature: Callable, size: int, *, span: int = 1) -> Iterator[list]:
    """Groups of at most ``size`` of ``items`` that share their ``signature(item)``.

    ``span=1``: consecutive items only, order kept.  ``span=n``: among each ``n`` consecutive items,
    all those of one signature, so that a card fills its batches with the interior windows of
    several tile rows; groups come in the order of their first items, and a consumer that needs the
    items in order puts them back (as :func:`pipelined` does)."""
    source = iter(items)
    try:
        if span <= 1:
            group, key = [], None
            for item in source:
                k = signature(item)
                if group and (k != key or len(group) >= size):
                    yield group
                    group = []
                group.append(item)
                key = k
            if group:
                yield group
            return
        while chunk := list(itertools.islice(source, span)):
            groups: dict = {}
            for item in chunk:
                groups.setdefault(signature(item), []).append(item)
            for group in groups.values():
                for k in range(0, len(group), size):
                    yield group[k:k + size]
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def pipelined(processor, items: Iterable, signature: Callable, launch: Callable[[list], object],
              *, prepare: Callable[[list], list] | None = None) -> Iterator[tuple[object, object]]:
    """``(item, output)`` for each of ``items``, in their order, computed a group at a time:
    ``launch(prepare(group))`` returns the group's :class:`~ldcsr_core.tiling.HostOutputs`;
    ``processor`` is the run's :class:`~ldcsr_core.tiling.TileProcessor`.

    On a CPU (one window at a time) this is a plain loop.  On a card (``processor.batch`` > 1) a
    group holds up to a batch of items of one ``signature`` found among the next
    :data:`~ldcsr_core.tiling.BATCH_SPAN` batches' worth of items
    (:meth:`~ldcsr_core.tiling.TileProcessor.groups`), so the interior windows of several tile rows
    share a launch; the next groups are made (``prepare``: read) by a background thread, group k+1
    is launched before the outputs of group k are taken (the card computes while the host reads
    and blends), and outputs are handed on in the items' order.  Closing this stops all of it."""
    card = processor.batch > 1

    def make():
        groups = processor.groups(enumerate(items), lambda entry: signature(entry[1]))
        with contextlib.closing(groups):  # closing this closes the groups, and so the items
            for group in groups:
                members = [item for _, item in group]
                yield group, (members if prepare is None else prepare(members))

    made = make()
    if card:
        made = prefetched(made, depth=1)
    launched = ((group, launch(work)) for group, work in made)
    if card:
        launched = one_behind(launched)
    done: dict[int, tuple] = {}  # outputs that came back before an earlier item's
    nxt = 0
    try:
        for group, pending in launched:
            for (pos, item), out in zip(group, pending.result()):
                done[pos] = (item, out)
            while nxt in done:
                yield done.pop(nxt)
                nxt += 1
    finally:
        launched.close()
        made.close()


class BackgroundSink:
    """``sink(y0, rows)`` run by one background thread, in order, at most ``depth`` calls behind the
    caller: while a card computes, the host thread launches, takes and blends the next windows
    while the finished rows are converted, compressed and written.

    The caller must not change ``rows`` after handing them over.  An error raised by ``sink`` is
    raised again by the next call or by :meth:`close`; ``close()`` waits until every row handed
    over is written, ``close(abort=True)`` (a cancel, an error) drops the rows not yet written
    and returns once the thread has ended."""

    def __init__(self, sink: Callable[[int, object], None], depth: int = 2):
        self._sink = sink
        self._q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
        self._error: BaseException | None = None
        self._abort = threading.Event()
        self._thread = _thread(self._run, "ldcsr-sink")
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _DONE:
                return
            if self._error is None and not self._abort.is_set():
                try:
                    self._sink(*item)
                except BaseException as err:  # noqa: BLE001 - handed to the caller
                    self._error = err

    def _put(self, item) -> None:
        while True:
            if item is not _DONE and self._error is not None:
                raise self._error
            if not self._thread.is_alive():
                return
            try:
                self._q.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def __call__(self, y0: int, rows) -> None:
        self._put((y0, rows))

    def close(self, abort: bool = False) -> None:
        """Wait for the rows handed over (``abort``: drop them), end the thread, raise its error."""
        if abort:
            self._abort.set()
        self._put(_DONE)
        self._thread.join()
        if self._error is not None and not abort:
            raise self._error
