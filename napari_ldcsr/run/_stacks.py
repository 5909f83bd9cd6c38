"""Which image layers are one 2-D picture (Qt-free): a time series, a band stack or a picture's colours
shown as planes are refused by Run, Check quality, Adapt and the live lens alike, saying what to do."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["stack_problem"]

#: napari takes a last axis of 3 or 4 for colours only in pictures with both sides over this (its guess_rgb).
NAPARI_RGB_MIN_SIDE = 30


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
    if (one := _one_picture(layer.name, shape, n, rgb)) is not None:
        return one
    what = f"{'RGB' if rgb else 'grey'} pictures of {shape[n - 2]}×{shape[n - 1]} px"
    said = f"'{layer.name}' is a stack of {int(np.prod(shape[:n - 2]))} {what} (shape {shape}); LDCSR works on one"
    if rgb:
        return (f"{said} picture at a time: save the one to super-resolve as an image of its own and open it "
                "(napari's Split Stack would split its colours instead).")
    if n == 3 and shape[-1] in (3, 4):
        return f"{said} 2-D picture. {_as_rgb(layer, shape)}; else split it (right-click it in the layer list ▸ Split Stack) and pick one."
    return (f"{said} 2-D picture: split it (right-click it in the layer list ▸ Split Stack) and pick one; a "
            "multi-band GeoTIFF opened with the 'LDCSR super-resolution' reader opens as RGB or as one layer per band.")


def _one_picture(name: str, shape: tuple, n: int, rgb: bool) -> str | None:
    """:func:`stack_problem`'s words for one picture with an axis of length 1 (a stack of one; a grey
    picture's single channel as a last axis, which napari shows as its rows of W×1 px), or None."""
    kind, said = "RGB" if rgb else "grey", "LDCSR works on a 2-D layer"
    if all(s == 1 for s in shape[:n - 2]):
        todo = ("save it as an image of its own and open it (napari's Split Stack would split its colours instead)"
                if rgb else "split it (right-click it in the layer list ▸ Split Stack): the one layer it gives is that picture")
        return f"'{name}' is one {kind} picture of {shape[n - 2]}×{shape[n - 1]} px in a stack of one (shape {shape}); {said}: {todo}."
    if not rgb and n == 3 and shape[-1] == 1:
        return (f"'{name}' is one grey picture of {shape[0]}×{shape[1]} px with a last axis of length 1 (shape {shape}), "
                f"which napari shows as {shape[0]} slices of {shape[1]}×1 px; {said}: add it without that axis "
                "(layer.data[..., 0]), or open its file with the 'LDCSR super-resolution' reader.")
    return None


def _as_rgb(layer, shape: tuple) -> str:
    """How to have a layer whose last axis of 3 or 4 may be one picture's colours opened as RGB(A): in the
    GUI (its file's reader: a non-coder cannot give napari's rgb=True) where the plugin's reader takes
    its file, else as what the user can do, and why napari did not guess it."""
    from pathlib import Path

    from ldcsr_core.geo.raster_io import is_raster_name

    path = getattr(getattr(layer, "source", None), "path", None)
    why = (f" (napari takes a last axis of 3 or 4 for colours only in pictures over {NAPARI_RGB_MIN_SIDE} px a side)"
           if min(shape[:2]) <= NAPARI_RGB_MIN_SIDE else "")
    said = f"If its last axis holds the colours of one picture{why}, "
    if not path:  # made in a script or by another plugin: no file to open again
        return said + "add it as RGB (rgb=True, in a script or napari's console)"
    name = os.path.basename(str(path))
    menu = "File ▸ Open with Plugin ▸ Open File(s)… and pick the 'LDCSR super-resolution' reader"
    if not is_raster_name(Path(str(path)), check_file=False):  # the reader's names: not offered for this file
        return (said + f"save {name} as a PNG or GeoTIFF (the 'LDCSR super-resolution' reader does not open a "
                f"{Path(str(path)).suffix or 'file of its kind'}) and open that with {menu}, which opens it as RGB (in a "
                "script: rgb=True)")
    return said + f"open its file ({name}) with {menu}, which opens it as RGB (in a script: rgb=True)"
