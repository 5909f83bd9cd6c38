"""One digest of a layer's pixels per redraw, shared by everything that follows them.

A layer redrawn (napari's ``set_data`` event: shown again, sliced again for another 2-D/3-D view, or an edit
in place then ``refresh()``) is told to the live lens, the linked panels and Compare's grid, and each asks
whether its pixels are still those it knows (the engine's :func:`~ldcsr_core.pixel_digest.pixel_digest`:
every byte read, 0.4–0.5 s a GB on the GUI thread). :func:`redraw_digest` digests an array once per
emission of the redraw event: the others that emission reaches get the same digest. Keyed by the event and
the array (its identity, memory, shape, strides, type and the axis order read), so another redraw digests it
again.

One event object can be emitted more than once: napari's own redraws (``Layer.refresh`` →
``_refresh_sync`` → ``events.set_data()``, the Qt viewer's, a slice) make a new ``Event`` each time, but an
emitter called with an ``Event`` emits that one again (napari's documented way to chain emitters:
``layer.events.set_data(event)``, ``other.connect(layer.events.set_data)``), and an edit in place may come
between. So the digests held for an event are dropped when the event is emitted again: :func:`_emitted`,
connected first to the emitter of the first event asked about, starts each emission with none held.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["redraw_digest"]

#: the emission digests are held for (the event, a weak reference) and {array key: (the array, weakly; its digest)}
_held: list = [None, {}]


def _emitted(event) -> None:
    """An emission of ``event`` begins (connected first to its emitter): no digest of an earlier one is its."""
    _held[:] = [weakref.ref(event), {}]


def _follows(redraw) -> bool:
    """Whether each emission of the redraw event ``redraw`` by its layer's ``set_data`` emitter starts with
    :func:`_emitted` (connected now if it was not; napari ignores a second connect). False for any other
    event (another type, one chained in from another emitter keeps its own type): its digests are not shared."""
    if getattr(redraw, "type", None) != "set_data":
        return False
    emitter = getattr(getattr(getattr(redraw, "source", None), "events", None), "set_data", None)
    if emitter is None or not callable(getattr(emitter, "connect", None)):
        return False
    emitter.connect(_emitted, position="first")
    return True


def redraw_digest(data, redraw=None, order=None) -> tuple | None:
    """The engine's ``pixel_digest(data, order)``, taken once for this emission of the napari event
    ``redraw`` (None: not held, digested now) and given again to whatever that emission reaches next."""
    from ldcsr_core import pixel_digest as pd

    data = pd.held_array(data)  # an xarray layer's: the array it holds
    if redraw is None or not isinstance(data, np.ndarray):
        return pd.pixel_digest(data, order)
    order = pd.memory_order(data) if order is None else tuple(int(a) for a in order)
    if _held[0] is None or _held[0]() is not redraw:
        if not _follows(redraw):
            return pd.pixel_digest(data, order)
        _held[:] = [weakref.ref(redraw), {}]
    key = (id(data), data.__array_interface__["data"][0], data.shape, data.strides, data.dtype.str, order)
    ref, digest = _held[1].get(key, (None, None))
    if ref is None or ref() is not data:
        digest = pd.pixel_digest(data, order)
        _held[1][key] = (weakref.ref(data), digest)
    return digest
