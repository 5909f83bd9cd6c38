"""The dock's one-line texts (status, device, live lens): they elide long text, so that they never
widen the dock, and keep the whole of it in their tooltip, so that nothing they say is lost; the
run's tile bar; and the tooltips of the dock's own buttons."""

from __future__ import annotations

from qtpy.QtCore import QSize
from qtpy.QtWidgets import QLabel, QProgressBar, QSizePolicy
from superqt import QElidingLabel

from ldcsr_core.words import counted

__all__ = ["TIPS", "StatusLine", "TileBar", "tipped"]

#: tooltips of the dock's own buttons and section headers (the form's are in ``_form``)
TIPS = {
    "run": "Super-resolve the Region of the picked layer with these settings; the result layer fills "
           "in tile by tile while the viewer stays usable",
    "cancel": "Stop the run or adaptation (within one tile or training step); nothing is added or saved",
    "advanced": "Less common settings: Seed, Tile, Stretch, Bands, Nodata, a bicubic baseline, "
                "uncertainty samples",
    "live": "Super-resolve what is on screen as you pan and zoom, and compare it in linked panels",
}


def tipped(widget, tooltip: str):
    """``widget`` with ``tooltip`` set (for one-line construction)."""
    widget.setToolTip(tooltip)
    return widget


class StatusLine(QElidingLabel):
    """A line that elides its text to the dock's width; its tooltip is always the full text
    (a caller may set a fuller tooltip afterwards, e.g. a check's whole report)."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """As narrow as the ellipsis, as high as a whole line with the label's margins (superqt's is
        the ellipsis's bare text height: in a dock squeezed to its least height the line lost the
        bottom of its text, so an underscore in a name or path showed as a space)."""
        hint = super().minimumSizeHint()
        return QSize(hint.width(), max(hint.height(), QLabel.sizeHint(self).height()))


class TileBar(QProgressBar):
    """The run's progress in tiles: empty while idle (before any run, after an adaptation or a run
    that ended before its first tile), busy until the first tile, then '3 / 8 tiles' ('1 / 1 tile')."""

    def __init__(self) -> None:
        super().__init__()
        self.idle()

    def idle(self) -> None:
        self.setRange(0, 1)
        self.setValue(0)
        self.setFormat("")

    def busy(self) -> None:
        self.setRange(0, 0)

    def tiles(self, done: int, total: int) -> None:
        """``done`` of ``total`` tiles."""
        total = max(int(total), 1)
        self.setRange(0, total)
        self.setValue(int(done))
        self.setFormat(f"{int(done)} / {counted(total, 'tile')}")

    def finish(self) -> None:
        """Every tile done (idle if none was counted)."""
        if self.maximum() == 0:
            self.idle()
        else:
            self.tiles(self.maximum(), self.maximum())
