"""The dock widget's teardown: every worker (Run, quality check, adaptation, live lens) stopped and
joined when the viewer closes, the application quits or the widget leaves its dock."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QEvent

__all__ = ["TeardownMixin"]


class TeardownMixin:
    """Mixed into ``LdcsrWidget`` (uses its viewer, ``runner``, ``checker``, ``adapter``, ``live``,
    ``cancel`` and the ``_shut`` flag)."""

    def _watch_teardown(self) -> None:
        """Shut down when the viewer's window is destroyed or the application quits (the widget's
        own removal is seen in :meth:`event`)."""
        from qtpy.QtWidgets import QApplication

        window = getattr(getattr(self.viewer, "window", None), "_qt_window", None)
        if window is not None:
            window.destroyed.connect(self.shutdown)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def shutdown(self, *_: Any) -> None:
        """Stop every worker of the widget (the Run, the quality check, the live lens) and wait for their threads to
        end, so that none outlives the viewer: a Run stops within one tile and a streamed Run's part
        file is removed on the way. Called when the viewer closes, the application quits, or the
        widget is removed from its dock; safe to call more than once."""
        if self._shut:
            return
        self._shut = True
        try:
            self.cancel()
            self.checker.cancel()
            self.adapter.cancel()
            self.live.close()
        except RuntimeError:  # Qt parts already deleted: nothing left to stop there
            pass
        from qtpy.QtCore import QThreadPool

        self.runner.wait()
        self.checker.wait()
        self.adapter.wait()
        QThreadPool.globalInstance().waitForDone(60_000)  # the lens's and the probe's workers too

    def event(self, ev) -> bool:  # noqa: D401 - Qt override
        # napari's remove_dock_widget unparents the widget before deleting its dock.
        if ev.type() == QEvent.Type.ParentChange and self.parent() is None \
                and getattr(self, "_shut", True) is False:
            self.shutdown()
        return super().event(ev)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.cancel()
        self.live.close()  # issue 10 hook
        super().closeEvent(event)
