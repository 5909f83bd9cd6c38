"""The rules of an image given as an array (:func:`check_image`: ``upscale``, ``selfcheck``, ``adapt``) and of a
float window's values (:func:`beyond_unit`), with what to do about one refused; :mod:`.rules` re-exports them.
Importing it never loads NumPy."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["check_image", "beyond_unit", "unit_advice", "ROUNDING"]

#: How far beyond [0, 1] a float image's values are taken for rounding (float16's step at 1 is 0.00098), not levels.
ROUNDING = 1e-3


def check_image(image, *, grey: bool = False):
    """The one rule for an image given as an array (``upscale``, ``selfcheck``, ``adapt``): a NumPy
    H×W×3 array (or H×W with ``grey``), uint8 or float in [0, 1] without NaN/inf. Returns it
    unchanged; :class:`InputError` names what is wrong otherwise. An empty one is returned for
    the caller's size rule (:func:`check_input_side`, the self-check's and adaptation's) to refuse."""
    import numpy as np

    if not isinstance(image, np.ndarray):
        hint = (": pass image.numpy()" if hasattr(image, "numpy") else ": pass np.asarray(image)"
                if hasattr(image, "__array__") or hasattr(image, "__array_interface__") else "")
        raise InputError(f"image must be a NumPy array, got {type(image).__name__}{hint}")
    if isinstance(image, np.ma.MaskedArray):
        raise InputError("masked arrays are not supported (their mask would be ignored): fill the masked "
                         "pixels first, e.g. image.filled(...); `ldcsr upscale` keeps a raster's nodata mask")
    if not (image.ndim == 3 and image.shape[2] == 3) and not (grey and image.ndim == 2):
        raise InputError(f"image must be H×W×3 (RGB){' or H×W' if grey else ''}, got shape {image.shape}"
                         f"{_shape_hint(image.shape)}")
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind != "f":
        raise InputError(f"image dtype must be uint8 or float in [0, 1], got {image.dtype}{_dtype_hint(image.dtype)}")
    if image.size == 0:  # no values to check: the caller's size rule says what is too small
        return image
    problem = beyond_unit(image)
    if problem == "NaN or infinite values":
        raise InputError("image contains NaN or infinite values; fill them first (`ldcsr upscale` "
                         "keeps a raster's NaN/nodata pixels as nodata)")
    if problem:
        raise InputError(f"float images must lie in [0, 1], got {problem}{unit_advice(image)}")
    return image


def unit_advice(values: np.ndarray, name: str = "image") -> str:
    """What to do about finite float ``values`` outside [0, 1] (:func:`beyond_unit`'s "values in [lo, hi]"), said
    after it: within :data:`ROUNDING` of it, clip them (1.0000000000000002 of a sum: dividing by 255 darkened it);
    in [0, 255], divide by 255; else rescale. The one advice of :func:`check_image` and of a tile's read window
    (:func:`ldcsr_core.tiling.process_tiles`)."""
    lo, hi = float(values.min()), float(values.max())
    if lo >= -ROUNDING and hi <= 1.0 + ROUNDING:
        return f": just beyond it (rounding?): np.clip({name}, 0, 1) takes them in"
    return ": 0–255 levels? divide them by 255" if lo >= 0.0 and hi <= 255.0 else ": rescale them to [0, 1]"


#: How an array of another type or band count reaches the model as `ldcsr upscale` would take it.
_RASTER_ROUTE = ("ldcsr_core.geo.pipeline.upscale_window(ldcsr_core.geo.raster_io.dataset_from_array(image), "
                 "model=..., scale=...) stretches it as `ldcsr upscale` does and gives its type back")


def _shape_hint(shape) -> str:
    """What to do with an image array of ``shape`` that is not H×W×3 (:func:`check_image`)."""
    if len(shape) == 3 and shape[0] == 3:
        return " (channels first? use image.transpose(1, 2, 0))"
    if len(shape) == 3 and shape[2] == 4:
        return " (RGBA? the model takes RGB: image[..., :3])"
    if len(shape) == 3 and shape[0] < min(shape[1:]) and shape[0] <= 16:
        return " (bands first? np.moveaxis(image, 0, -1) puts them last; then take three in R, G, B order)"
    if len(shape) == 2 or (len(shape) == 3 and shape[2] == 1):
        return " (one band? np.dstack([image] * 3) makes it grey RGB)"
    if len(shape) == 3 and shape[2] > 4:
        return (f" ({shape[2]} bands? the model takes three: pick them in R, G, B order, e.g. "
                "image[..., [3, 2, 1]])")
    return " (the model takes three bands, R, G, B, last)"


def _dtype_hint(dtype: np.dtype) -> str:
    """What to do with an image array of ``dtype``, neither uint8 nor float (:func:`check_image`)."""
    if dtype.kind == "b":
        return ": image.astype(np.uint8) * 255 makes True white"
    if dtype.kind in "ui":
        return (": scale it to [0, 1] yourself (e.g. image / 65535.0 for uint16 levels), or "
                f"{_RASTER_ROUTE}")
    return ""


def beyond_unit(values: np.ndarray) -> str:
    """What puts float ``values`` outside the model's input range, [0, 1] exactly: "NaN or
    infinite values", "values in [lo, hi]" (enough digits that a value just beyond 1 does not read
    as 1), or "" when they lie in it.  The one rule for an image (:func:`check_image`) and for a
    tile's read window (:func:`ldcsr_core.tiling.process_tiles`); the engine's own readers clip to
    it (``Stretch.to_unit``), so it never refuses their windows."""
    if values.size == 0:
        return ""
    lo, hi = float(values.min()), float(values.max())  # NaN and ±inf show in the extremes
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "NaN or infinite values"
    return f"values in [{_said(lo)}, {_said(hi)}]" if lo < 0.0 or hi > 1.0 else ""


def _said(value: float) -> str:
    """``value`` in 9 significant digits, or all it takes where those would put it inside [0, 1] and it is not
    (1 + 1e-12 was said '1': 'got values in [1, 1]')."""
    short = f"{value:.9g}"
    return short if (0.0 <= float(short) <= 1.0) == (0.0 <= value <= 1.0) else repr(value)

