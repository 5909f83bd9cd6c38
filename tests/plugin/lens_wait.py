"""Waiting for the live lens: its view shown whole, no computation left."""

from __future__ import annotations


def view_done(lens) -> bool:
    """The lens shows a view, every tile of it composed, and computes nothing."""
    return lens.view is not None and lens.view.composer.complete and not lens.busy


def wait_for_view(qtbot, lens, timeout: int = 60_000) -> None:
    """Wait (Qt events running) until :func:`view_done`; fails after ``timeout`` ms."""
    qtbot.waitUntil(lambda: view_done(lens), timeout=timeout)


def record_workers(monkeypatch) -> list:
    """Every worker started through ``napari_ldcsr._workers.create_worker`` from now on (the live lens's
    views', a cancelled view's too), each as ``[worker, finished]``, for :func:`quiet`."""
    from napari_ldcsr import _workers

    started, real = [], _workers.create_worker

    def recorded(*args, **kwargs):
        worker = real(*args, **kwargs)
        entry = [worker, False]
        worker.finished.connect(lambda: entry.__setitem__(1, True))  # after its errored, in order
        started.append(entry)
        return worker

    monkeypatch.setattr(_workers, "create_worker", recorded)
    return started


def quiet(lens, started: list) -> bool:
    """Nothing the lens started can say anything more: every worker of :func:`record_workers` has
    finished (its error said or dropped), no view is waiting for the debounce and none computes."""
    return all(done for _, done in started) and not lens._timer.isActive() and not lens.busy
