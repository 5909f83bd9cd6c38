"""Which image layers are one 2-D picture (Qt-free): a time series, a band stack or a picture's colours
shown as planes are refused by Run, Check quality, Adapt and the live lens alike, saying what to do."""

from __future__ import annotations

import numpy as np

__all__ = ["stack_problem"]


def stack_problem(layer, shape) -> str | None:
    """Why image ``layer`` with (base-level) ``shape`` is not one 2-D grey or RGB(A) picture (a time
    series, a band stack, a picture's colours shown as planes), with what to do, or None."""
    shape, rgb = tuple(int(n) for n in shape), bool(layer.rgb)
    n = len(shape) - rgb
    if n == 2 and (not rgb or shape[-1] in (3, 4)):
        return None
    said = f"'{layer.name}' has shape {shape}; LDCSR works on one 2-D grey or RGB(A) picture"
    if n < 2:
        return said + "."
    what = f"{'RGB' if rgb else 'grey'} pictures of {shape[n - 2]}×{shape[n - 1]} px"
    said = f"'{layer.name}' is a stack of {int(np.prod(shape[:n - 2]))} {what} (shape {shape}); LDCSR works on one"
    if rgb:
        return (f"{said} picture at a time: save the one to super-resolve as an image of its own and open it "
                "(napari's Split Stack would split its colours instead).")
    if n == 3 and shape[-1] in (3, 4):
        return (f"{said} 2-D picture. If its last axis holds the colours of one picture, open it as RGB "
                "(napari's rgb=True); else split it (right-click it in the layer list ▸ Split Stack) and pick one.")
    return (f"{said} 2-D picture: split it (right-click it in the layer list ▸ Split Stack) and pick one; a "
            "multi-band GeoTIFF opened with the 'LDCSR super-resolution' reader opens as RGB or as one layer per band.")
