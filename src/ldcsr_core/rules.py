"""The engine's rules in one torch-free place: limits, modes, output shapes, tile geometry.

Imported by the engine, the raster pipeline, the CLI and the plugins alike, so a limit or a
shape rule is stated once.  Importing this module never loads torch, nor NumPy (its checks of values import it where
they run: ``ldcsr --version`` and ``--help`` read the limits alone).
"""

from __future__ import annotations

import math
from typing import Sequence

from .errors import InputError
from .image_rules import ROUNDING, beyond_unit, check_image  # noqa: F401 - re-exported (the rules of an image array)
from .whole_numbers import MOST_BITS, check_whole_size  # noqa: F401 - re-exported (a seed's, samples' size)

__all__ = [
    "MAX_SCALE", "MIN_INPUT_SIDE", "check_input_side", "MODES", "LATENT", "MIN_WINDOW", "DEFAULT_TILE_OUT",
    "MIN_TILE_IN", "TILE_OVERLAP_OUT", "MAX_TILE_MARGIN", "check_mode", "check_scale", "output_shape",
    "least_scale", "MIN_TRAINED_SCALE", "untrained_scale_note", "TRAINED_PIXEL_METRES", "untrained_ground_note",
    "check_seed", "check_training_seed", "check_training_range", "MOST_BITS", "check_whole_size", "check_tile", "check_number", "check_one_scale", "check_shape", "check_count", "check_image",
    "STRETCHES",
    "GEOTIFF_SUFFIXES", "RASTER_SUFFIXES", "MAX_ADAPT_SCALE",
]

# The shipped models were trained on scales drawn from U[1.25, 8] (docs/training-log.md); beyond ×8 is guesswork.
MAX_SCALE = 8.0
# Below this the shipped models saw no training scale: accepted, but untested (untrained_scale_note).
MIN_TRAINED_SCALE = 1.25
# The ground resolution (metres per pixel) of the imagery the shipped models were trained on: RSSCN7, Google Earth
# scenes at four scales per class, about 0.1-2 m (docs/MODEL_CARD.md, "Data"), the pixels they learnt to make from
# inputs 1.25-8 times coarser; a result's pixels outside it: untrained_ground_note.
TRAINED_PIXEL_METRES = (0.1, 2.0)
# Smallest input side the engine accepts (smaller images have no texture to super-resolve).
MIN_INPUT_SIDE = 4
# "diffusion": the seeded 4-step sampler; "fast": the condition latent decoded directly (sr_kd).
MODES = ("diffusion", "fast")
# Output pixels per latent pixel: tile windows start on multiples of it.
LATENT = 8
# The official UNet's reflect padding needs latents of at least 5 (= 40 output px).
MIN_WINDOW = 40
# The output window the official weights saw in stage-2 training (their tile size).
DEFAULT_TILE_OUT = 256
# Overlap (output px) of neighbouring windows in model-sized plans, sized by the measured receptive
# field (benchmarks/receptive_field.py, shipped model, RSSCN7 d291, ×2.5, 256-px windows): one LR
# pixel changed moves the output by > 1/255 within 11 px and by > 1e-3 within 16 px; tiled vs one
# window: 64.8 / 63.6 / 64.8 dB (fast), 61.6 / 60.0 / 60.6 dB (diffusion) at 0 / 8 / 16 px overlap
# (the LR context margin does most of the work).  16 px = the 1e-3 radius, on the latent grid.
TILE_OVERLAP_OUT = 16
# LR context margin (input px) of model-sized windows (``tile=`` plans read 8 + 1/8 of the window,
# which grows with the window and only adds work).  ``benchmarks/receptive_field.py --scales 2,4
# --overlaps 0,16 --margins 4,8,16`` (shipped v2, RSSCN7 d291, 256-px windows): one LR pixel moves
# the output by > 1e-3 within 11 output px at ×2 and 32 at ×4 (8 LR px); butt-joined windows with
# margin 4 / 8 / 16 are 64.5 / 64.6 / 64.6 dB (×2) and 60.9 / 61.0 / 61.1 dB (×4) from one window
# in fast mode, ≥ 59.8 dB in diffusion mode.
MAX_TILE_MARGIN = 8
# Smallest ``tile=`` (input pixels) a caller may ask for.
MIN_TILE_IN = 32
# How band values map to the model's range (``--stretch``, ``radiometry.compute_stretch``).
STRETCHES = ("auto", "percentile", "dtype")
# The names an output raster may have: outputs are GeoTIFFs.
GEOTIFF_SUFFIXES = (".tif", ".tiff")
# The names of the rasters read: ``ldcsr upscale`` lists a folder's files by them (``raster_io.is_raster_name``)
# and napari's reader claims them (napari.yaml's ``filename_patterns``: the same list, tested).
RASTER_SUFFIXES = (".tif", ".tiff", ".gtiff", ".png", ".jpg", ".jpeg", ".jp2", ".vrt", ".img")
# Above this scale adaptation (ldcsr_core.adaptation) is refused: on held-out imagery it lost
# quality at ×2.5 and ×4 on average, and the guard kept models that lost up to 0.10 dB at ×2.5
# (docs/adaptation.md).  Here, not in adaptation, so that ``ldcsr --help`` need not import it.
MAX_ADAPT_SCALE = 2.0


def check_input_side(shape, what: str = "image") -> None:
    """:class:`InputError` when ``shape`` ``(rows, cols)`` is smaller than :data:`MIN_INPUT_SIDE` on a
    side: one rule for arrays (``upscale``) and rasters or windows (``plan_output``: the command line,
    napari, QGIS), checked before any output is made."""
    h, w = (int(v) for v in tuple(shape)[:2])
    if min(h, w) < MIN_INPUT_SIDE:
        raise InputError(f"{what} is {w} px wide and {h} px high; at least {MIN_INPUT_SIDE}×{MIN_INPUT_SIDE} "
                         "pixels are needed")


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`MODES`, else raise :class:`InputError`."""
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(repr(m) for m in MODES)}, got {mode!r}")
    return mode


def _whole(value) -> bool:
    """Is ``value`` a whole number (int, NumPy integer, or a 0-d array of one), not a bool?"""
    import numpy as np

    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_seed(seed) -> int:
    """``seed`` as an int if it is a whole number below 2**:data:`MOST_BITS` in size (negative too), else
    :class:`InputError` (a float would be truncated silently, so 1.5 and 1 would give the same picture)."""
    if not _whole(seed):
        raise InputError(f"seed must be a whole number, got {seed!r}")
    return check_whole_size(int(seed.item() if hasattr(seed, "item") else seed), "seed")


def check_training_seed(seed) -> int:
    """``seed`` as :func:`check_seed` takes it, and one torch's generators take as a training run uses it (initial
    weights, crops, noise: ``seed`` and ``seed + 1``, from -2**63 to 2**64 - 2), else :class:`InputError` (before:
    torch's 'Overflow when unpacking long long' once the data was read)."""
    if _whole(seed):
        check_training_range(int(seed))
    return check_seed(seed)


def check_training_range(number) -> None:
    """:class:`InputError` naming the training seeds' range (:func:`check_training_seed`) where ``number`` (an int, or
    a finite ``Decimal`` read from text: ``ldcsr train --seed 1e5000``) is past it, past 2**4096 too (this range,
    not the seed's size limit, is what a training seed must keep to)."""
    from .words import whole_said

    if not -2 ** 63 <= number <= 2 ** 64 - 2:
        raise InputError(f"a training seed must be from -2**63 to 2**64 - 2 (what torch's generators take), "
                         f"got {whole_said(number)}")


def check_tile(tile) -> int | None:
    """``tile`` (side in input pixels) as an int >= :data:`MIN_TILE_IN`, or None (the engine's own
    windows); anything else raises :class:`InputError`."""
    if tile is None:
        return None
    if not _whole(tile) or int(tile) < MIN_TILE_IN:
        raise InputError(f"tile must be a whole number of at least {MIN_TILE_IN} input pixels, got {tile!r}")
    return int(tile)


def check_number(value, what: str) -> float:
    """``value`` as a float if it is a number (a 0-d array too; not a string or a bool: holdout=False
    was taken as 0), else :class:`InputError`."""
    import numpy as np

    if (isinstance(value, (str, bytes, bool, np.bool_)) or getattr(value, "ndim", 0) != 0
            or getattr(getattr(value, "dtype", None), "kind", "") == "b"):
        raise InputError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None


#: The full-width full stop (U+FF0E) a Japanese or Chinese input method types with full-width digits ('２．５'):
#: read as '.', as ``float`` reads those digits; no other form (NFKC would read the superscript '2⁵' as 25).
FULL_WIDTH_POINT = "\uff0e"


def point_text(text: str) -> str:
    """``text`` with the full-width decimal point (:data:`FULL_WIDTH_POINT`) as '.', for ``float`` to read."""
    return text.replace(FULL_WIDTH_POINT, ".")


#: The full-width comma (U+FF0C) the same input method types between them ('２．５，３'): read as ','.
FULL_WIDTH_COMMA = "\uff0c"


def comma_parts(text: str) -> list[str]:
    """The parts of ``text`` between its commas, blanks around each stripped (``-s '2, 3'``, ``--scales``), a
    full-width comma (:data:`FULL_WIDTH_COMMA`) one too, as its full-width point is a point (:func:`point_text`)."""
    return [part.strip() for part in str(text).replace(FULL_WIDTH_COMMA, ",").split(",")]


def number_text(text: str) -> float:
    """A scale or pixel size typed as text (``ldcsr -s``/``-r``, a QGIS field) as ``float`` reads it, full-width
    digits and point too (``'２．５'``: 2.5), but not with ``float``'s digit separator: ``1.2_5`` (read 1.25) is a
    typo of 1.25 or 1.2, not a number; ValueError, as ``abc``."""
    if "_" in text:
        raise ValueError(f"not a number: {text!r}")
    return float(point_text(text))


def number_pair(value, what: str, pair_of: str = "a (y, x) pair") -> tuple:
    """One value (a number, a 0-d array, a string: checked later) as a pair of it, or a pair as
    it is; anything else (three values, an empty tuple, no sequence) is :class:`InputError`."""
    import numpy as np

    if getattr(value, "ndim", None) == 0 or isinstance(value, (str, bytes)) or np.isscalar(value):
        return value, value
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2:
        raise InputError(f"{what} must be a number or {pair_of}, got {value!r}")
    return pair


def check_scale(scale) -> tuple[float, float]:
    """``s`` or ``(sy, sx)`` → a checked ``(sy, sx)`` pair, each in ``(1, MAX_SCALE]``."""
    pair = number_pair(scale, "scale")
    out = []
    for s in pair:
        s = check_number(s, "scale")
        if not math.isfinite(s) or s <= 1.0 or s > MAX_SCALE:
            raise InputError(f"scale must be in (1, {MAX_SCALE:g}], got {s!r}")
        out.append(s)
    return out[0], out[1]


def check_one_scale(scale) -> float:
    """One factor for both axes (the self-check and adaptation degrade a scene by one factor): a
    number, or a ``(y, x)`` pair of equal ones; :class:`InputError` otherwise (a pair was cut to
    its first factor silently)."""
    sy, sx = check_scale(scale)
    if sy != sx:
        raise InputError(f"scale must be one number here (the same factor on both axes), got {scale!r}")
    return sy


def check_scales(scales, for_one: str = "") -> list[float]:
    """``scales``, a list (tuple, array) of one or more factors, each :func:`check_one_scale`'s, as floats; a
    string (its characters: "23" was ×2 and ×3), a number or an empty list is an :class:`InputError`
    (``for_one``: how to give one factor, said in it)."""
    import numpy as np

    if isinstance(scales, (str, bytes)) or not np.iterable(scales) or not (listed := list(scales)):
        raise InputError(f"scales must be a list of one or more scales, e.g. [2, 4]{f' (for one: {for_one})' if for_one else ''}, "
                         f"got {scales!r}")
    return [check_one_scale(s) for s in listed]


def check_shape(shape, what: str = "shape") -> tuple[int, int]:
    """``(rows, cols)``: the first two entries of ``shape`` (an array's ``.shape`` too) as ints if
    they are whole numbers, else :class:`InputError` (10.5 was cut to 10, '64' failed in int())."""
    try:
        pair = tuple(shape)[:2]
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_whole(v) for v in pair):
        raise InputError(f"{what} must be a (rows, cols) pair of whole numbers, got {shape!r}")
    return int(pair[0]), int(pair[1])


def check_count(value, what: str, least: int = 1) -> int:
    """``value`` as an int if it is a whole number >= ``least``, else :class:`InputError`."""
    if not _whole(value) or int(value) < least:
        raise InputError(f"{what} must be a whole number of at least {least}, got {value!r}")
    return int(value)


def untrained_scale_note(scales, measure: str = "ldcsr selfcheck SCENE -s SCALE measures it",
                         model: str | None = None) -> str | None:
    """What to tell a user who upscales by ``scales`` (one factor or several: the axes, the inputs)
    below :data:`MIN_TRAINED_SCALE`, which is accepted and runs, but no shipped model was trained on
    (``measure``: how the front end checks a scale on the scene); None at ×1.25 and above. A scale is
    compared as it is said (``:g``): a target pixel size making ×1.2499999999999998 is ×1.25, not below
    it; one given as text (a run's ``-s``, :func:`~ldcsr_core.words.scale_typed`) is said so. ``model``: the name of a model that is not a shipped one (the authors' checkpoint, one's own
    training), whose training scales are not known here (:func:`ldcsr_core.adapted_use.scale_note`)."""
    import numpy as np

    from .words import scale_said

    said: dict = {}  # each scale below by its 6 digits: said as typed where it is text (a run's -s), else those 6
    for s in np.ravel(np.asarray(scales, dtype=object)):
        if float(f"{float(s):g}") < MIN_TRAINED_SCALE:
            key = float(f"{float(s):g}")
            said[key] = said[key] if isinstance(said.get(key), str) else s
    low = [scale_said(said[key]) for key in sorted(said)]
    if not low:
        return None
    shown = f"×{', ×'.join(low)} {'is' if len(low) == 1 else 'are'} below"
    trained = f"(×{MIN_TRAINED_SCALE:g}–×{MAX_SCALE:g})"
    if model is None:
        return (f"{shown} the scales the shipped models were trained on {trained}, so the result is untested "
                f"there (docs/MODEL_CARD.md); {measure}")
    return (f"{shown} the scales the shipped models were trained on {trained}; the scales {model} was trained on "
            f"are not known here, so the result may be untested there (docs/MODEL_CARD.md); {measure}")


def untrained_ground_note(pixels, measure: str = "ldcsr selfcheck SCENE -s SCALE measures it on the scene", *,
                          scale, model=None, said=None) -> str | None:
    """What to tell a user whose result's pixels are, on the ground, outside :data:`TRAINED_PIXEL_METRES`:
    the shipped models were trained to make pixels of RSSCN7's 0.1-2 m from inputs 1.25-8 times coarser, so
    a scene of ``p`` m pixels at ×``s`` was in their training where ``p / s`` is in that range (a 10 m
    Sentinel-2 scene at ×8 makes 1.25 m pixels: yes; at ×2, 5 m: no; 0.15 m drone imagery at ×4, 0.0375 m: no).
    ``pixels``: the scene's ``(x, y)`` pixel size in metres (``geo.ground.ground_pixel_metres``), None where
    it is not known (a picture without georeferencing: nothing to say), or the inputs of a batch as a dict
    of their names to those (the note names three). ``scale``: the run's scale, a number (or its text, as the run's
    selfcheck command says it: ``"3.33"``) or the engine's ``(sy, sx)``; for a batch one for all or a dict of the
    inputs' names to theirs. ``said``: the scale in words where it is not ``scale`` itself (as ``scale``, one or by the
    inputs' names): a target pixel size's run says the ×4.28 of its selfcheck command, its pixels made at its ×4.2857
    (0.07 m, not 0.0701 m). Each size made is taken to 2 significant digits (0.0999 m of a reprojected grid is 0.1 m). ``measure``: how the front end checks the
    scene. None inside the range, and for a ``model`` that is not a shipped one, whose training imagery is
    not known here (:func:`ldcsr_core.builtin_models.is_shipped`, or True or False where the front end knows)."""
    named = pixels if isinstance(pixels, dict) else {"": pixels}
    lo, hi = TRAINED_PIXEL_METRES
    def of(value, name):  # the input's own, of one for all or by names
        return value.get(name, 1.0) if isinstance(value, dict) else value

    made = {name: _made(p, of(scale, name), of(scale if said is None else said, name))
            for name, p in named.items() if p is not None}
    outside = {name: m for name, m in made.items() if any(not lo <= float(f"{v:.2g}") <= hi for v in m[1])}
    if not outside or not _shipped(model):
        return None
    said = list(dict.fromkeys(f"{_metres(m[1])} (of {_metres(m[0])} at {m[2]})" for m in outside.values()))
    every = [float(v) for m in outside.values() for v in m[1]]
    said = ", ".join(said) if len(said) <= 3 else f"{min(every):.3g}–{max(every):.3g} m"
    names = list(outside)
    if len(named) > 1:
        whose = (f"{len(names)} of {len(named)} inputs ({', '.join(names[:3])}"
                 f"{f' and {len(names) - 3} more' if len(names) > 3 else ''}) make pixels of {said}")
    else:
        (m,) = outside.values()
        whose = f"at {m[2]} the scene's {_metres(m[0])} pixels make ones of {_metres(m[1])}"
    return (f"{whose} on the ground, outside the {lo:g}–{hi:g} m of the imagery the shipped models were trained to "
            f"make (docs/MODEL_CARD.md), so {'their results are' if len(named) > 1 else 'the result is'} untested "
            f"there; {measure}")


def _made(pixel, scale, said) -> tuple[tuple[float, float], tuple[float, float], str]:
    """(the scene's pixel, the result's pixel, the scale in words) of a scene's ``(x, y)`` pixel in metres at
    ``scale``, said ``said`` (each a number, its text, or ``(sy, sx)``)."""
    import numpy as np

    from .words import scale_said

    def axes(value):  # (y, x)
        return (value, value) if np.ndim(value) == 0 else tuple(np.ravel(np.asarray(value, dtype=object))[:2])

    sy, sx = (float(v) for v in axes(scale))
    x, y = (float(v) for v in pixel)
    said_y, said_x = (scale_said(v) for v in axes(said))
    words = f"×{said_x}" if said_x == said_y else f"×{said_x} × {said_y}"  # as the scale note says it
    return (x, y), (x / sx, y / sy), words


def _metres(pixel) -> str:
    """A pixel size ``(x, y)`` in metres in words: ``10 m``, ``0.05 × 0.08 m``, ``105 × 111 km`` from 1 km (a
    picture given degrees as pixels), 3 significant digits."""
    unit, div = ("km", 1000.0) if max(float(v) for v in pixel) >= 999.5 else ("m", 1.0)
    x, y = (f"{float(v) / div:.3g}" for v in pixel)
    return f"{x} {unit}" if x == y else f"{x} × {y} {unit}"


def _shipped(model) -> bool:
    """Whether ``model`` is a shipped one (:func:`ldcsr_core.builtin_models.is_shipped`; True or False: the
    front end knows, e.g. without loading it): the ground note is about them alone."""
    if isinstance(model, bool):
        return model
    from .builtin_models import is_shipped

    return is_shipped(model)


def least_scale(side: int) -> float:
    """The smallest scale, in steps of 0.0001, that adds a pixel to ``side`` px under
    :func:`output_shape`'s rounding (96 px: 1.0053; 2 px: 1.2501, ×1.25 rounding 2.5 to 2)."""
    s = math.ceil((side + 0.5) / side * 1e4) / 1e4
    while round(side * s) <= side:
        s = round(s + 1e-4, 4)
    return s


def output_shape(in_shape: Sequence[int], scale=None, out_shape=None) -> tuple[int, int]:
    """Output (H, W): ``round(h·sy) × round(w·sx)`` from a scale, or a checked ``out_shape``.

    Exactly one of ``scale`` and ``out_shape`` must be given.  ``round`` is Python's: halves go to
    the even neighbour (9 px × 2.5 → 22, 11 px × 2.5 → 28).  The output must be larger than the
    input on each axis in whole pixels, from a scale and an ``out_shape`` alike: one that keeps an
    axis (×1.004 of 96 px; ``out_shape`` (96, 400) of a 96 × 300 input) is refused with the
    smallest scale or output that is not.  At most :data:`MAX_SCALE` times the input on each axis
    (within rounding).
    """
    h, w = check_shape(in_shape, "in_shape")
    if min(h, w) < 1:
        raise InputError(f"empty input of shape {tuple(in_shape)}")
    if (scale is None) == (out_shape is None):
        raise InputError("give exactly one of scale and out_shape")
    if scale is not None:
        sy, sx = check_scale(scale)
        H, W = int(round(h * sy)), int(round(w * sx))
    else:
        try:
            pair = tuple(out_shape)
        except TypeError:
            pair = ()
        if len(pair) != 2 or not all(_whole(v) for v in pair):
            raise InputError(f"out_shape must be a (height, width) pair of whole numbers, got {out_shape!r}")
        H, W = (int(v) for v in pair)
    kept = [(name, n) for name, n, N in (("height", h, H), ("width", w, W)) if N <= n]
    if kept:  # ×1 on an axis: the model was never trained for it
        if scale is None:
            said, least = f"out_shape {(H, W)}", f"the smallest out_shape is {(h + 1, w + 1)}"
        elif sy == sx:
            said, least = f"scale {sy:g}", f"the smallest scale that enlarges both is {max(map(least_scale, (h, w))):g}"
        else:
            said = f"scale {sy:g} in height, {sx:g} in width"
            least = "it needs at least " + " and ".join(f"{least_scale(n):g} in {name}" for name, n in kept)
        raise InputError(
            f"{said} does not enlarge the input's {' or '.join(name for name, _ in kept)}: {w} x {h} px would "
            f"give {W} x {H} px (width x height, whole pixels; each axis must gain one); {least}")
    if scale is None and (H > round(h * MAX_SCALE) or W > round(w * MAX_SCALE)):
        raise InputError(f"out_shape {(H, W)} exceeds the maximum scale {MAX_SCALE:g} for input {(h, w)}")
    return H, W


def check_path(path, what: str = "input"):
    """``path`` (a str, bytes or os.PathLike) as a ``pathlib.Path``; an empty one (an unset
    variable: ``Path("")`` is the current folder) or anything else is an :class:`InputError`."""
    import os
    from pathlib import Path

    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        hint = ""
        if what == "input" and hasattr(path, "read"):  # first: a rasterio dataset has a .shape too
            hint = ": for an open dataset, use ldcsr_core.geo.pipeline.upscale_window (and write_raster)"
        elif what == "input" and hasattr(path, "shape"):
            hint = (": for an array, wrap it with ldcsr_core.geo.raster_io.dataset_from_array(...) and use "
                    "upscale_window, or ldcsr_core.upscale for an RGB picture")
        raise InputError(f"{what} must be a file path, got {type(path).__name__}{hint}")
    if os.fspath(path) in ("", b""):
        raise InputError(f"the {what} path is empty")
    return Path(path)


def check_callable(value, what: str = "callback", *, optional: bool = True):
    """``value`` if it is a function (or any callable), or None when ``optional``; anything else is
    an :class:`InputError` naming the parameter, before any work (a string or a number failed only
    at its first call, with Python's "'str' object is not callable")."""
    if (value is None and optional) or callable(value):
        return value
    hint = " or None" if optional else ""
    raise InputError(f"{what} must be a function{hint}, got {type(value).__name__} {value!r:.60}")


def check_list(value, what: str, of: str) -> list:
    """``value`` (a list, a tuple, any iterable but text) as a list, else :class:`InputError`
    naming the parameter and what it holds (a number was "'int' object is not iterable")."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InputError(f"{what} must be a list of {of}, got {type(value).__name__} {value!r:.60}")
    return list(value)


def check_flag(value, what: str, *, optional: bool = False) -> bool | None:
    """``value`` as a bool if it is one (``True``/``False``, or a NumPy ``bool_``), or None when
    ``optional``; anything else is an :class:`InputError` naming the parameter, before any work:
    any non-empty string is true to Python, so ``overwrite='no'`` (or ``'false'``) replaced an
    existing output, and a number or None would be a guess at what the caller meant."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None and optional:
        return None
    choices = "True, False or None" if optional else "True or False"
    raise InputError(f"{what} must be {choices}, got {type(value).__name__} {value!r:.60}")


#: The most diffusion samples of one uncertainty map, every front end's limit (napari's box, which
#: stopped there first, QGIS's parameter, ``ldcsr upscale --samples``, the API): each sample is a whole
#: run of the sampler (K=2 on 600×600 px ×2 took 42 s and 1.5 GB on 2 CPU cores).
MAX_SAMPLES = 32


def check_samples(samples, mode: str = "diffusion", *, name: str | None = None) -> int:
    """Return ``samples`` (diffusion samples for an uncertainty map) if it is an int from 1 to
    :data:`MAX_SAMPLES` that ``mode`` can use, else raise :class:`InputError`: "fast" is deterministic,
    so K > 1 samples of it would all be the same image (spread 0 everywhere). ``name``: the argument
    the samples are given as where it is not an uncertainty map's (``selfcheck``'s ``mean_of``)."""
    from .front_end import say
    from .words import whole_said

    def said(value) -> str:
        return f"{name}={value}" if name else say("samples", value=value)

    if not _whole(samples) or int(samples) < 1:  # a 0-d array counts, as for seed and tile
        raise InputError(f"{name or 'samples'} must be a whole number >= 1, got "
                         f"{whole_said(int(samples)) if _whole(samples) else repr(samples)}")
    samples = int(samples)
    if samples > MAX_SAMPLES:  # (said short: 1e400 as 1e+400, not its 401 digits three times)
        shown = whole_said(samples)
        raise InputError(f"{said(shown)} is more than the {MAX_SAMPLES} samples an uncertainty "
                         f"map takes (each sample is a whole run: {shown} would take {shown} times as long as "
                         f"one): use {MAX_SAMPLES} or fewer")
    if samples > 1 and mode != "diffusion":
        raise InputError(f"{said(samples)} needs mode 'diffusion': {mode!r} mode is deterministic, so all its "
                         "samples are the same image" + ("" if name else " and the spread would be 0 everywhere"))
    return int(samples)


__all__ += ["MAX_SAMPLES", "check_samples", "check_scales", "check_path", "check_callable", "number_text", "point_text", "FULL_WIDTH_POINT", "comma_parts", "FULL_WIDTH_COMMA", "check_flag", "check_list", "beyond_unit", "ROUNDING"]
