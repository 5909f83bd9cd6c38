"""The main window's bottom-right corner while linked panels are open, shared by every LDCSR widget
of the window.

napari's bottom dock area spans the window's width, under the right-hand docks too, so the panels'
dock could only have what the LDCSR widget (in a right-hand dock) leaves. While any widget's panels
are open the right-hand docks take the bottom-right corner; the window gets its own setting back
when the last of them closes (two widgets docked in one window, by a script: the first to close
leaves the corner to the other's panels, the second gives the window what it had before either).
"""

from __future__ import annotations

import weakref

__all__ = ["take_corner", "give_corner_back"]

#: window -> (its own bottom-right corner area, the holders whose panels are open)
_HELD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def take_corner(window, holder) -> None:
    """Give ``window``'s bottom-right corner to its right-hand docks for ``holder``'s panels (the
    window's own setting is kept from its first holder on)."""
    from qtpy.QtCore import Qt

    corner = Qt.Corner.BottomRightCorner
    entry = _HELD.get(window)
    if entry is None:
        entry = _HELD[window] = (window.corner(corner), weakref.WeakSet())
    entry[1].add(holder)
    window.setCorner(corner, Qt.DockWidgetArea.RightDockWidgetArea)


def give_corner_back(holder) -> None:
    """``holder``'s panels closed: the window's own corner setting comes back if no other holder's
    panels are open there (a window being deleted is left alone)."""
    from qtpy.QtCore import Qt

    for window, (area, holders) in list(_HELD.items()):
        if holder not in holders:
            continue
        holders.discard(holder)
        if not holders:
            del _HELD[window]
            try:
                window.setCorner(Qt.Corner.BottomRightCorner, area)
            except RuntimeError:  # the window is being deleted
                pass
