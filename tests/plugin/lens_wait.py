"""Waiting for the live lens: its view shown whole, no computation left."""

from __future__ import annotations


def view_done(lens) -> bool:
    """The lens shows a view, every tile of it composed, and computes nothing."""
    return lens.view is not None and lens.view.composer.complete and not lens.busy


def wait_for_view(qtbot, lens, timeout: int = 60_000) -> None:
    """Wait (Qt events running) until :func:`view_done`; fails after ``timeout`` ms."""
    qtbot.waitUntil(lambda: view_done(lens), timeout=timeout)
