"""Reading ahead (ldcsr_core.prefetch): a background thread makes the next items while the consumer
works; order, errors and early stops behave as with the plain iterator."""

from __future__ import annotations

import threading
import time

import pytest

from ldcsr_core.prefetch import prefetched


def _alive():
    return [t for t in threading.enumerate() if t.name == "ldcsr-read-ahead"]


def test_items_come_in_order_and_are_made_ahead():
    made = {}

    def source():
        for k in range(6):
            made[k] = time.perf_counter()
            yield k

    used = {}
    out = []
    for k in prefetched(source(), depth=1):
        used[k] = time.perf_counter()
        time.sleep(0.05)  # the "device" computing item k
        out.append(k)
    assert out == list(range(6))
    # item k+1 was made while item k was being worked on, not after
    assert all(made[k + 1] < used[k] + 0.05 for k in range(5))
    assert not _alive()


def test_an_error_reaches_the_consumer_at_its_place():
    def source():
        yield 1
        yield 2
        raise OSError("read failed at item 3")

    got = []
    with pytest.raises(OSError, match="item 3"):
        for k in prefetched(source(), depth=2):
            got.append(k)
    assert got == [1, 2] and not _alive()


def test_stopping_early_stops_the_producer_and_closes_the_source():
    made, closed = [], []

    def source():
        try:
            for k in range(1000):
                made.append(k)
                yield k
        finally:
            closed.append(True)

    it = prefetched(source(), depth=2)
    assert [next(it), next(it)] == [0, 1]
    it.close()
    assert closed == [True] and len(made) <= 2 + 2 + 1 and not _alive()


def test_one_behind_hands_on_each_item_once_the_next_is_made():
    from ldcsr_core.prefetch import one_behind

    events, closed = [], []

    def launches():
        try:
            for k in range(4):
                events.append(f"launch {k}")
                yield k
        finally:
            closed.append(True)

    for k in one_behind(launches()):
        events.append(f"take {k}")
    assert events == ["launch 0", "launch 1", "take 0", "launch 2", "take 1", "launch 3", "take 2", "take 3"]
    assert closed == [True]

    events.clear(), closed.clear()
    it = one_behind(launches())
    assert next(it) == 0
    it.close()  # a cancel: the source stops where it is, and is closed
    assert events == ["launch 0", "launch 1"] and closed == [True]
    assert list(one_behind(iter([]))) == []


def _sink_threads():
    return [t for t in threading.enumerate() if t.name == "ldcsr-sink"]


def test_background_sink_writes_in_order_behind_the_caller_and_waits_on_close():
    from ldcsr_core.prefetch import BackgroundSink

    written, gate = [], threading.Event()

    def sink(y0, rows):
        gate.wait(5)
        written.append((y0, rows))

    bg = BackgroundSink(sink, depth=2)
    for k in range(3):  # the sink is held: the caller still gets ahead (one being written + depth queued)
        bg(k, f"rows {k}")
    assert written == []
    gate.set()
    bg(3, "rows 3")
    bg.close()
    assert written == [(k, f"rows {k}") for k in range(4)] and not _sink_threads()


def test_background_sink_raises_its_error_in_the_caller_and_abort_drops_the_rest():
    from ldcsr_core.prefetch import BackgroundSink

    def failing(y0, rows):
        if y0 == 1:
            raise OSError(28, "No space left on device")

    bg = BackgroundSink(failing)
    bg(0, None)
    bg(1, None)
    with pytest.raises(OSError, match="No space"):  # at a later call, or at the latest at close
        for k in range(2, 200):
            bg(k, None)
            time.sleep(0.005)
        bg.close()
    bg.close(abort=True)  # after the error: ends quietly
    assert not _sink_threads()

    written, gate = [], threading.Event()
    bg = BackgroundSink(lambda y0, rows: gate.wait(5) and written.append(y0), depth=4)
    for k in range(4):
        bg(k, None)
    threading.Timer(0.2, gate.set).start()  # the row being written finishes ...
    bg.close(abort=True)  # ... and a cancel drops the ones still queued
    assert written in ([], [0]) and not _sink_threads()


def test_helper_threads_run_in_the_callers_context():
    """The read-ahead and sink threads see what the caller's run set in its context (``contextvars``),
    e.g. which run's log a warning they emit belongs to (two QGIS runs at once)."""
    import contextvars

    from ldcsr_core.prefetch import BackgroundSink

    run = contextvars.ContextVar("run", default=None)
    seen = []

    def items():
        for i in range(3):
            seen.append(("read", run.get()))
            yield i

    def one_run(name):
        run.set(name)
        assert list(prefetched(items())) == [0, 1, 2]
        sink = BackgroundSink(lambda y0, rows: seen.append(("write", run.get())))
        sink(0, None)
        sink.close()

    contextvars.copy_context().run(one_run, "run-1")
    assert seen == [("read", "run-1")] * 3 + [("write", "run-1")]
    assert run.get() is None  # nothing leaked into this context
