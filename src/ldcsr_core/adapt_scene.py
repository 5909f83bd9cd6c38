"""The scene side of :func:`~ldcsr_core.adaptation.adapt`: how a scene is split, read and checked
before any training.

:func:`holdout_split` holds back a strip for the guard; :func:`_read_parts` reads the strip (its
windows, :func:`_guard_windows`) and the training part (:func:`_read_pool`); :func:`_check_data` refuses, before any
training, a part that nodata or a flat fill leaves unscorable; :func:`_scene_id` and
:func:`_pixels_sha256` identify the scene adapted on, and :func:`adapted_here` (a file:
:func:`is_scene_file`) recognises it again.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from pathlib import Path

import numpy as np

from .adapted_use import Reading
from .errors import InputError
from .front_end import say

__all__ = ["holdout_split", "adapted_here", "is_scene_file", "HOLDOUT"]

HOLDOUT = 0.25  # share of the scene's longer side held back for the guard
MAX_TRAIN_PIXELS = 4096 * 4096  # a larger training region is sampled in windows
POOL_WINDOWS = 16
POOL_WINDOW = 512
MAX_GUARD_PIXELS = 1024 * 1024  # a larger held-back strip is checked on sampled windows
GUARD_WINDOWS = 4


def holdout_split(shape, scale: float, share: float = HOLDOUT) -> tuple[tuple, tuple]:
    """``(train_box, holdout_box)`` of a scene of ``shape``: the last ``share`` of its longer side
    (at least what a self-check at ``scale`` needs) is held back; boxes are (row, col, h, w).

    The training part must be self-checkable (the octave check) and, one octave coarser (the
    twin's pool), still hold a pair of :data:`~ldcsr_core.finetune.MIN_PAIR_LR` px: both of its
    sides, the scene's shorter one too, are at least ``max(min_side, ceil(2·MIN_PAIR_LR·scale))``."""
    from .finetune import MIN_PAIR_LR
    from .quality import min_side

    H, W = int(shape[0]), int(shape[1])
    need = min_side(scale)
    along_cols = W >= H
    side = W if along_cols else H
    held = max(need, int(math.ceil(side * share)))
    rest = side - held
    crop_min = max(need, int(math.ceil(2 * MIN_PAIR_LR * scale)))
    if min(H, W) < crop_min:
        raise InputError(f"the scene is {W}×{H} px: adaptation at ×{scale:g} needs at least {crop_min} px "
                         f"on each side; use a larger scene or window")
    if rest < crop_min:
        raise InputError(f"the scene is {W}×{H} px: adaptation at ×{scale:g} holds back {held} px of its "
                         f"{'width' if along_cols else 'height'} for the guard and needs {crop_min} px more to "
                         f"train on; use a larger scene or window")
    if along_cols:
        return (0, 0, H, rest), (0, rest, H, held)
    return (0, 0, rest, W), (rest, 0, held, W)


def _scene_id(scene) -> tuple[str, str]:
    """(name, sha256) of a scene: its path and file checksum, or "" and the array's checksum."""
    from .files import sha256_file

    if isinstance(scene, np.ndarray):
        return "", _pixels_sha256([scene])
    if isinstance(scene, (str, os.PathLike)):
        return str(Path(scene).resolve()), sha256_file(scene)
    name = getattr(scene, "name", "")
    return str(name), (sha256_file(name) if name and os.path.isfile(name) else "")


def _reading(reader, stretch: str) -> Reading:
    """The bands and stretch a raster scene is read with (its model triplet, 1-based)."""
    from .adapted_use import resolved_stretch

    return Reading(tuple(b + 1 for b in reader.plan.groups[0]), resolved_stretch(stretch, reader.dtype),
                   int(reader.info.count))


def _windows(box, max_pixels: int, count: int) -> list[tuple[int, int, int, int]]:
    """``box`` itself, or ``count`` windows of :data:`POOL_WINDOW` px spread over it on a regular
    grid when it has more than ``max_pixels`` pixels (``quality.sample_boxes``)."""
    from .quality import sample_boxes

    y0, x0, h, w = box
    if h * w <= max_pixels:
        return [tuple(box)]
    return [(y0 + y, x0 + x, hh, ww) for y, x, hh, ww in sample_boxes((h, w), POOL_WINDOW, count)]


def _pixels_sha256(arrays) -> str:
    """SHA-256 of arrays' shapes, types and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _guard_boxes(box) -> list[tuple[int, int, int, int]]:
    """The held-back strip, or :data:`GUARD_WINDOWS` windows of a strip of more than
    :data:`MAX_GUARD_PIXELS` (pooled over their pixels)."""
    return _windows(box, MAX_GUARD_PIXELS, GUARD_WINDOWS)


def _guard_windows(src, box, scale: float) -> list[tuple]:
    """The held-back strip ``box`` of ``src`` (a ``scene_windows.RGBScene``) as the guard scores it:
    ``(box, rgb, valid)`` of its windows with data (:func:`_guard_boxes`, :func:`_windows_with_data`)."""
    return _windows_with_data(src, box, _guard_boxes(box), GUARD_WINDOWS, scale)


def _windows_with_data(src, box, boxes, count: int, scale: float) -> list[tuple]:
    """``(box, rgb, valid)`` of ``boxes``, ``box`` itself or ``count`` windows sampled over it
    (:func:`_windows`), that hold data. Where the sampled windows hold too little to score at ``scale``
    (:func:`_check_scorable`; none, or a sliver of a swath's edge), the whole of ``box`` is looked at
    (:func:`_boxes_on_data`): the windows go where its data is, if that can be scored, so that "every
    pixel of it is nodata" or "too little data to score" is said only when so of the whole."""
    read = [(b, a, v) for b, (a, v) in ((b, src.rgb_valid(b)) for b in boxes) if a is not None]
    if boxes == [tuple(box)] or (read and _scorable(read, scale)):
        return read
    on_data = [(b, *src.rgb_valid(b)) for b in _boxes_on_data(src, box, count)]
    return on_data if not read or _scorable(on_data, scale) else read


def _boxes_on_data(src, box, count: int) -> list[tuple[int, int, int, int]]:
    """Up to ``count`` windows of :data:`POOL_WINDOW` px (clipped to ``box``) on the data
    of ``box``, none overlapping another: ``box`` is read in cells of that size (every pixel once;
    the valid ones counted, :meth:`~ldcsr_core.scene_windows.RGBScene.data_pixels`), and windows go
    on cells at least half as full as the fullest, spread over them in reading order (each in a window
    inside ``box``: a cell at its edge, the window ending there). [] when all of it is nodata."""
    y0, x0, h, w = box
    sh, sw = min(POOL_WINDOW, h), min(POOL_WINDOW, w)
    cells = [(y, x) for y in range(y0, y0 + h, POOL_WINDOW) for x in range(x0, x0 + w, POOL_WINDOW)]
    counts = [src.data_pixels((y, x, min(POOL_WINDOW, y0 + h - y), min(POOL_WINDOW, x0 + w - x))) for y, x in cells]
    if not any(counts):
        return []
    full = [(min(y, y0 + h - sh), min(x, x0 + w - sw)) for (y, x), n in zip(cells, counts) if 2 * n >= max(counts)]
    spread = np.linspace(0, len(full) - 1, min(count, len(full))).round().astype(int)
    picked = []
    for y, x in [full[i] for i in spread] + full:  # spread first; another where one overlaps
        if len(picked) < count and all(y >= b + sh or b >= y + sh or x >= a + sw or a >= x + sw
                                       for b, a in picked):
            picked.append((y, x))
    return sorted((y, x, sh, sw) for y, x in picked)


def _check_refs(pool: list[np.ndarray], valid=None) -> list[tuple]:
    """References of the octave check: the training part's arrays, the central 1024² px of larger
    ones, as (box, array, valid) triples (boxes relative to each array)."""
    refs = []
    for i, a in enumerate(pool):
        h, w = min(a.shape[0], 1024), min(a.shape[1], 1024)
        y, x = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
        v = None if valid is None or valid[i] is None else valid[i][y:y + h, x:x + w]
        refs.append(((y, x, h, w), a[y:y + h, x:x + w], v))
    return refs



def _read_parts(src, box, scale: float, holdout: float = HOLDOUT):
    """``(held_box, held, pool, valid)`` of region ``box`` of ``src`` (a ``scene_windows.RGBScene``): the
    held-back strip's box, its windows ``(box, rgb, valid)`` with data (:func:`_guard_windows`), and
    the training part (:func:`_read_pool`)."""
    train_box, held_box = holdout_split(box[2:], scale, holdout)
    train_box = (box[0] + train_box[0], box[1] + train_box[1], *train_box[2:])
    held_box = (box[0] + held_box[0], box[1] + held_box[1], *held_box[2:])
    held = _guard_windows(src, held_box, scale)
    pool, valid = _read_pool(src, train_box, scale)
    return held_box, held, pool, valid


def adapted_here(checked, scene, src, box) -> bool:
    """Is region ``box`` of ``scene`` (read as ``src``, a ``scene_windows.RGBScene``) what a model adapted as
    ``checked`` (an :class:`~ldcsr_core.adapted_use.Checked`) was adapted on? The same file (its
    resolved path), the same array, or, for pixels in memory (a napari layer), the same pixels read
    the same way (the checksum :func:`adapt` records)."""
    if checked is None or not checked.scene_sha256:
        return False
    if isinstance(scene, np.ndarray):
        return _pixels_sha256([scene]) == checked.scene_sha256
    name = str(scene if isinstance(scene, (str, os.PathLike)) else getattr(scene, "name", "") or "")
    if name and os.path.isfile(name):
        return bool(is_scene_file(checked, name, earlier=False))
    try:
        _, held, pool, _ = _read_parts(src, box, checked.scale)
    except InputError:  # too small to split as adapt does: not the region it adapted on
        return False
    return _pixels_sha256([a for _, a, _ in held] + pool) == checked.scene_sha256


def is_scene_file(checked, path, earlier: bool = True) -> str:
    """Which scene a model adapted as ``checked`` learnt file ``path`` is, in words ("" for none):
    the scene it was adapted on, or (``earlier``) one its base was (``adapted_earlier_on``); that
    file (its resolved path) or a copy of it (its SHA-256, which the model records; a file hashed
    once while unchanged). One rule for the self-check's caution (:func:`adapted_here`: its own
    scene) and ``ldcsr evaluate``'s."""
    if checked is None or not os.path.isfile(path):
        return ""
    scenes = checked.scenes()[::-1] if earlier else checked.scenes()[-1:]  # its own first
    words = ["the scene it was adapted on"] + ["a scene its base was adapted on"] * (len(scenes) - 1)
    resolved = Path(path).resolve()
    for (scene, _), said in zip(scenes, words):
        if scene and resolved == Path(scene):
            return said
    if not any(sha for _, sha in scenes):
        return ""
    from .file_names import file_version

    # a file hashed once while it is unchanged (napari's Check quality here, again)
    digest = _file_sha256(os.path.realpath(path), *file_version(path))
    return next((said for (_, sha), said in zip(scenes, words) if sha and sha == digest), "")


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, *_identity) -> str:
    """SHA-256 of file ``path``, cached by its version (:func:`~ldcsr_core.file_names.file_version`)."""
    from .files import sha256_file

    return sha256_file(path)


def _read_pool(src, box, scale: float) -> tuple[list[np.ndarray], list]:
    """The training region as uint8 RGB arrays and their valid pixels (None: all): whole, or
    ``POOL_WINDOWS`` windows of a large one (on its data at ``scale``: :func:`_windows_with_data`)."""
    boxes = _windows(box, MAX_TRAIN_PIXELS, POOL_WINDOWS)
    read = [(a, v) for _b, a, v in _windows_with_data(src, box, boxes, POOL_WINDOWS, scale)]
    if not read:
        raise InputError("every pixel of the scene's training part is nodata: nothing to adapt to")
    return [a for a, _ in read], [v for _, v in read]


def _check_data(held, refs, scale: float, held_box) -> None:
    """InputError before any training when nodata leaves the held-back strip (``held``, its windows
    with data in ``held_box``, (row, col, h, w)) none or the octave check's references in the
    training part (``refs``) too little data to score: the guard could not check
    (:func:`ldcsr_core.quality.check_scorable`)."""
    y, x, h, w = held_box
    strip = (f"the held-back strip (the last quarter of the scene or window: columns {x} to {x + w - 1}, rows {y} "
             f"to {y + h - 1}) cannot guard the adaptation")
    if not held:  # said as its window's other refusals are: where it is, and what to do
        raise InputError(f"{strip}: every pixel of it is nodata; adapt to a window with data in its last quarter "
                         f"({say('window')})")
    for part, what in ((held, strip),
                       (refs, "the training part (the scene or window but its last quarter) cannot be "
                              "checked one octave finer, as the guard does")):
        try:
            _check_scorable(part, scale)
        except InputError as e:
            raise InputError(f"{what}: {e}") from None
        data = [a.reshape(-1, a.shape[-1]) if v is None else a[v] for _b, a, v in part]
        if all(not np.ptp(d, axis=0).any() for d in data if len(d)):  # bicubic restores it exactly
            colour = tuple(int(c) for c in next(d for d in data if len(d))[0])
            raise InputError(f"{what}: its data is one flat colour {colour}, which bicubic restores exactly, so "
                             "no model can be judged better there (a fill the file does not declare as nodata? "
                             f"declare it: {say('nodata')}; or choose a window with detail)")



def _check_scorable(part, scale: float) -> None:
    """InputError when the ``(box, rgb, valid)`` windows of ``part`` hold too little data to score at
    ``scale`` (:func:`ldcsr_core.quality.check_scorable`)."""
    from .quality import check_scorable, score_counts

    counts = [score_counts(a.shape, v, scale) for _b, a, v in part]
    check_scorable(counts, sum(a.shape[0] * a.shape[1] for _b, a, _v in part), scale)


def _scorable(part, scale: float) -> bool:
    """Whether :func:`_check_scorable` takes ``part``, counted window by window until those counted hold
    enough (a window's count costs up to ~60 ms; windows without nodata: yes, uncounted)."""
    from .quality import check_scorable, score_counts

    if all(v is None for _b, _a, v in part):
        return True
    counts = []
    for _b, a, v in part:
        counts.append(score_counts(a.shape, v, scale))
        try:
            check_scorable(counts, 0, scale)  # its sums only grow: enough now is enough for all of them
        except InputError:
            continue
        return True
    return False
