"""Layers of the last run deleted while they are compared: what the dock says and what the linked
panels show next (Compare's grid: ``_controls.CompareControls``)."""

from __future__ import annotations

__all__ = ["USE", "Deletions", "follow_panels"]

#: what the status line says the dock goes on with after the picked band's layers were deleted
USE = "Compare, Show source / result and Result opacity now use"


class Deletions:
    """The layers the user deletes in one go: napari's Delete removes a selection one layer after
    the other (in no set order), each with its ``removed`` event; a batch lasts until the event
    loop turns again (the owner clears it then)."""

    def __init__(self) -> None:
        self.layers: list = []
        self.anchor = None  # the run's picked source layer when the batch began
        self.moved = False  # the picked band moved on (or none is left) in this batch
        self._order: list = []

    def add(self, viewer, layer, index: int | None, picked) -> bool:
        """Note ``layer``, just removed from ``viewer`` at ``index`` (``picked``: the run's picked
        source layer now); True when it is the first of a batch."""
        first = not self.layers
        if first:
            self._order = list(viewer.layers)
            self._order.insert(len(self._order) if index is None else index, layer)
            self.anchor, self.moved = picked, False
        self.layers.append(layer)
        return first

    def text(self) -> str:
        """"'a' was deleted", or "3 layers were deleted ('a', 'b', 'c')" in the layer list's order."""
        pos = {id(lyr): i for i, lyr in enumerate(self._order)}
        names = [f"'{lyr.name}'" for lyr in sorted(self.layers, key=lambda lyr: pos.get(id(lyr), len(pos)))]
        if len(names) == 1:
            return f"{names[0]} was deleted"
        return f"{len(names)} layers were deleted ({', '.join(names)})"

    def clear(self) -> None:
        self.layers, self._order, self.anchor, self.moved = [], [], None, False


def follow_panels(panel, last, viewer) -> str | None:
    """After a deletion, the live section's linked panels (``lens/_live_panel.LivePanel``) show
    what they would if opened now: a run's band they showed goes on with the run's picked band
    (``last``), a layer of theirs that is gone is left out, and they close when their source is
    gone. Returns "closed", "reopened" or None (nothing of theirs was deleted)."""
    dock = getattr(panel, "compare_dock", None)
    if dock is None:
        return None
    shown = (dock.source, dock.result, dock.bicubic)
    if all(lyr is None or lyr in viewer.layers for lyr in shown) and dock.qt_viewers:
        return None
    source, result, bicubic = (lyr if lyr is not None and lyr in viewer.layers else None for lyr in shown)
    if last is not None and any(dock.result is r for r in last.results) and last.present(viewer):
        source, result = last.source, last.result
        bicubic = last.bicubic if last.bicubic is not None and last.bicubic in viewer.layers else None
    if source is None:
        panel.set_linked_compare(False, uncheck=True)
        return "closed"
    panel.open_compare(source, result, bicubic if result is not None else None)
    return "reopened"
