"""Keeping a card busy: the next windows are read (and stretched) by a background thread while the
device computes the current ones (:func:`prefetched`), and a batch's outputs are taken only once
the next batch is launched (:func:`one_behind`), so that a GPU does not wait for the host between
batches."""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

__all__ = ["prefetched", "one_behind"]

T = TypeVar("T")
_DONE = object()


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

    thread = threading.Thread(target=produce, name="ldcsr-read-ahead", daemon=True)
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
