"""The dock widget's teardown: every worker (Run, quality check, adaptation, live lens) stopped and
joined when the viewer closes, the application quits, the widget leaves its dock, or a script ends
with its viewer still open (interpreter exit); its linked panels closed when its dock is hidden."""

from __future__ import annotations

import atexit
import logging
import weakref
from typing import Any

from qtpy.QtCore import QEvent

__all__ = ["TeardownMixin"]

_log = logging.getLogger(__name__)

#: Widgets not shut down yet, for :func:`_shutdown_open` (weak: a closed viewer's widget can go).
_OPEN: weakref.WeakSet = weakref.WeakSet()
_AT_EXIT = []  # [True] once :func:`_shutdown_open` is registered


def _shutdown_open() -> None:
    """Interpreter exit with a viewer still open (a script that never closed it): shut its widgets
    down while the viewer is whole. Registered with the first widget, after PyQt's own exit
    clean-up (imported with QtCore), so it runs first (``atexit`` calls the last registered first).
    That clean-up deletes Qt objects in no fixed order: a widget shut down then, from its window's
    ``destroyed``, found napari's Qt views half-deleted (removing the live layer raised in that
    Qt slot, and PyQt aborted the process: "Aborted", exit status 134)."""
    for widget in list(_OPEN):
        try:
            widget.shutdown()
        except RuntimeError:  # its Qt side is already gone
            pass


def _dock_hidden(widget) -> bool:
    """Whether the dock that holds ``widget`` is hidden by itself (its hide button, a menu), not
    with its window."""
    from qtpy.QtWidgets import QDockWidget

    parent = widget.parent()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parent()
    return parent is not None and parent.isHidden()


class TeardownMixin:
    """Mixed into ``LdcsrWidget`` (uses its viewer, ``runner``, ``checker``, ``adapter``, ``live``,
    ``cancel`` and the ``_shut`` flag)."""

    def _watch_teardown(self) -> None:
        """Shut down when the viewer's window is destroyed, the application quits or the
        interpreter exits (the widget's own removal is seen in :meth:`event`)."""
        from qtpy.QtWidgets import QApplication

        # napari's private ``Window._qt_window`` (the QMainWindow): napari 0.9.2 has no public way to
        # it or to the viewer's closing (``Window.qt_viewer`` is deprecated; ``Viewer`` and ``Window``
        # emit no close event; the widget's own ``window()`` is not the main window before it is
        # docked). Where it is missing, the application's ``aboutToQuit``, the widget's removal from
        # its dock and the interpreter's exit below still shut it down.
        window = getattr(getattr(self.viewer, "window", None), "_qt_window", None)
        if window is not None:
            window.destroyed.connect(self.shutdown)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        _OPEN.add(self)
        if not _AT_EXIT:
            atexit.register(_shutdown_open)
            _AT_EXIT.append(True)

    def shutdown(self, *_: Any) -> None:
        """Stop every worker of the widget (the Run, the quality check, the live lens) and wait for their threads to
        end, so that none outlives the viewer: a Run stops within one tile and a streamed Run's part
        file is removed on the way. Called when the viewer closes, the application quits, the
        interpreter exits, or the widget is removed from its dock; safe to call more than once.
        Nothing raised on the way leaves it (it runs in Qt slots, where PyQt turns an exception
        into an abort of the process): a step that fails is logged and the others still run."""
        if self._shut:
            return
        self._shut = True
        _OPEN.discard(self)
        for step in (self.cancel, self.checker.cancel, self.adapter.cancel, self.live.close):
            try:
                step()
            except RuntimeError:  # Qt parts already deleted: nothing left to stop there
                pass
            except Exception:  # noqa: BLE001 - see above; the workers are still stopped and joined
                _log.warning("LDCSR teardown: %s failed", getattr(step, "__qualname__", step), exc_info=True)
        from qtpy.QtCore import QThreadPool

        self.runner.wait()
        self.checker.wait()
        self.adapter.wait()
        QThreadPool.globalInstance().waitForDone(60_000)  # the lens's and the probe's workers too

    def event(self, ev) -> bool:  # noqa: D401 - Qt override
        # napari's remove_dock_widget unparents the widget before deleting its dock.
        if ev.type() == QEvent.Type.ParentChange:
            shut = getattr(self, "_shut", None)
            if self.parent() is None and shut is False:
                self.shutdown()
            elif self.parent() is not None and shut is True:  # docked again (the same widget):
                self._shut = False  # its workers can start again, so the teardown must run again
                _OPEN.add(self)
        elif ev.type() == QEvent.Type.Hide and not ev.spontaneous() and getattr(self, "_shut", None) is False:
            # not a minimized window (spontaneous); floating or docking the dock hides it for a moment
            # (Qt's setWindowFlags), so whether it stays hidden is read on the next turn of the event loop
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, self._after_hide)
        return super().event(ev)

    def _after_hide(self) -> None:
        """The widget was hidden: its linked panels close if its dock is still hidden by itself (not
        with its window, not a closing one)."""
        try:
            if getattr(self, "_shut", None) is False and _dock_hidden(self):
                self.live.dock_hidden()
        except RuntimeError:  # the widget was deleted meanwhile: nothing left to close
            pass

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.cancel()
        self.live.close()  # issue 10 hook
        super().closeEvent(event)
