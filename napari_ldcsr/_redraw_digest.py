"""One digest of a layer's pixels per redraw, shared by everything that follows them.

A layer redrawn (napari's ``set_data`` event: shown again, sliced again for another 2-D/3-D view, or an edit
in place then ``refresh()``) is told to the live lens, the linked panels and Compare's grid, and each asks
whether its pixels are still those it knows (the engine's :func:`~ldcsr_core.pixel_digest.pixel_digest`:
every byte read, about 0.4 s a GB on the GUI thread). :func:`redraw_digest` digests an array once per
redraw event: the others that event reaches get the same digest. Keyed by the event and the array (its
identity, memory, shape, strides, type and the axis order read), so another redraw digests it again.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["redraw_digest"]

#: the redraw event digests are held for (a weak reference) and {array key: (the array, weakly; its digest)}
_held: list = [None, {}]


def redraw_digest(data, redraw=None, order=None) -> tuple | None:
    """The engine's ``pixel_digest(data, order)``, taken once for the napari event ``redraw`` (None: not
    held, digested now) and given again to whatever that event reaches next."""
    from ldcsr_core import pixel_digest as pd

    if redraw is None or not isinstance(data, np.ndarray):
        return pd.pixel_digest(data, order)
    order = pd.memory_order(data) if order is None else tuple(int(a) for a in order)
    if _held[0] is None or _held[0]() is not redraw:
        _held[:] = [weakref.ref(redraw), {}]
    key = (id(data), data.__array_interface__["data"][0], data.shape, data.strides, data.dtype.str, order)
    ref, digest = _held[1].get(key, (None, None))
    if ref is None or ref() is not data:
        digest = pd.pixel_digest(data, order)
        _held[1][key] = (weakref.ref(data), digest)
    return digest
