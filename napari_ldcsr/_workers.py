"""Worker threads of the plugin: napari's worker classes (an error that is not handled becomes a
notification), started through superqt's ``create_worker``.

napari's own ``create_worker`` (since 0.6.5) also registers each worker in the window's task list,
for the close dialog, and never removes it: the entry holds ``worker.quit``, so every worker, its
function and all that function holds stay alive until the viewer closes. The live lens starts a
worker for every view (its tiles), a Run one whose result it returns (the whole output array): in
a session of hours that is memory without bound. The widget stops its own workers when the viewer
closes (``run/_teardown``), so nothing of the task list is lost here. Each worker runs speaking
napari's words (:func:`ldcsr_core.front_end.speaking`): the engine's messages name the form's
controls, not the command line's options.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

__all__ = ["create_worker", "in_napari_words"]


def in_napari_words(func: Callable) -> Callable:
    """``func`` (a function or a generator function) run speaking napari's words
    (:func:`ldcsr_core.front_end.speaking`): the engine's messages raised in it name the form's
    controls, not the command line's options. Every worker, and the checks the widget makes on the
    GUI thread before one starts (a request's preparation, the live lens's pixels)."""
    from ldcsr_core.front_end import NAPARI, speaking

    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def spoken(*a, **k):
            with speaking(NAPARI):
                return (yield from func(*a, **k))
    else:
        @functools.wraps(func)
        def spoken(*a, **k):
            with speaking(NAPARI):
                return func(*a, **k)
    return spoken


def create_worker(func: Callable, *args: Any, **kwargs: Any):
    """``napari.qt.threading.create_worker`` without the task-list entry (same arguments; the
    ``_start_thread``, ``_connect`` and ``_ignore_errors`` options of superqt's)."""
    from napari.qt.threading import FunctionWorker, GeneratorWorker
    from superqt.utils import create_worker as superqt_create_worker

    cls = GeneratorWorker if inspect.isgeneratorfunction(func) else FunctionWorker
    return superqt_create_worker(in_napari_words(func), *args, _worker_class=cls, **kwargs)
