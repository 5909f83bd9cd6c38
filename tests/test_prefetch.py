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
