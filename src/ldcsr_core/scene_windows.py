"""The windows a self-check (or an adaptation, training or evaluate) reads: where they are on the scene
(:func:`sample_boxes`, :func:`_boxes`), the self-check's refusals of them that need no model
(:func:`selfcheck_windows`; :func:`check_has_data`: every pixel of them nodata), whether the protocol can restore them at a scale
(:func:`_check_restorable`), and the scene itself as uint8 RGB windows (:class:`RGBScene`: an array,
or a raster through the raster pipeline's reader, nodata filled). Importable from
:mod:`ldcsr_core.quality` too.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import InputError
from .front_end import say
from .rules import check_image, check_scales
from .words import scale_typed

__all__ = ["sample_boxes", "selfcheck_windows", "check_has_data", "NO_DATA", "RGBScene", "picture_text", "scene_argument"]

MAX_PIXELS = 1024 * 1024  # larger scenes (without a window) are checked on sampled windows
SAMPLES = 4
SAMPLE_SIZE = 512
NO_DATA = "every checked pixel is nodata: nothing to measure"  # the self-check's windows hold no data


def scene_argument(scene):
    """A scene as :func:`~ldcsr_core.quality.selfcheck` and :func:`~ldcsr_core.adaptation.adapt` take it:
    a path given as bytes is the path it names (``rules.check_path``'s rule, as ``read_raster``'s);
    anything else (a str or os.PathLike path, an array, an open dataset) as it is."""
    return os.fsdecode(scene) if isinstance(scene, bytes) else scene


def sample_boxes(shape, size: int, count: int) -> list[tuple[int, int, int, int]]:
    """``count`` windows of ``size`` px (clipped to the scene) on a regular grid over ``shape``, none
    overlapping another (pooled figures count each pixel once): an axis too short for the square grid's
    windows side by side takes fewer of them, the other more where it has room (so fewer than
    ``count`` only when the scene holds no more). Before, a strip 600 px high got 2 rows of 512-px
    windows 88 px apart, their shared pixels pooled twice."""
    H, W = int(shape[0]), int(shape[1])
    sh, sw = min(size, H), min(size, W)
    k = math.ceil(math.sqrt(count))
    ky = min(k, H // sh)  # windows side by side: spaced by at least their size, so rounding keeps them apart
    kx = min(W // sw, max(k, math.ceil(count / ky)))
    ky = min(H // sh, max(ky, math.ceil(count / kx)))
    ys = np.linspace(0, H - sh, ky).round().astype(int)
    xs = np.linspace(0, W - sw, kx).round().astype(int)
    grid = sorted({(int(y), int(x)) for y in ys for x in xs})
    pick = np.linspace(0, len(grid) - 1, min(count, len(grid))).round().astype(int)
    return [(grid[i][0], grid[i][1], sh, sw) for i in sorted(set(pick.tolist()))]


def _boxes(shape, window, max_pixels, samples, sample_size):
    if window is not None:
        from .geo.raster_io import window_in_shape

        box = window_in_shape(window, shape, "scene")
        if box[2] * box[3] > max_pixels:
            raise InputError(f"the window is {box[3]}×{box[2]} px, more than the limit of {max_pixels} px "
                             "(all of it is held in memory): give a smaller window or raise the limit "
                             "(--max-pixels; max_pixels= in Python)")
        return "window", [box]
    if shape[0] * shape[1] <= max_pixels:
        return "whole", [(0, 0, int(shape[0]), int(shape[1]))]
    return "sampled", sample_boxes(shape, sample_size, samples)


def selfcheck_windows(shape, scales, window=None, max_pixels: int = MAX_PIXELS, samples: int = SAMPLES,
               sample_size: int = SAMPLE_SIZE) -> tuple[str, list[tuple[int, int, int, int]]]:
    """``(sampling, boxes)`` a self-check of a scene of ``shape`` at ``scales`` reads (:func:`_boxes`), or the
    InputError that refuses it without a model or a pixel read: a window off the scene or above ``max_pixels``, a
    scene or window too small for the largest scale, a copy the protocol cannot restore. ``selfcheck`` checks
    by it; a front end (``ldcsr selfcheck``, QGIS's quality report, napari's Check quality) before it loads the
    model or says what the check costs."""
    from .quality_scoring import min_side

    scales = check_scales(scales)  # (before: [] failed in max(), 2 in iter(), '23' as two scales)
    sampling, boxes = _boxes(shape, window, max_pixels, samples, sample_size)
    need = max(min_side(s) for s in scales)
    if min(min(b[2:]) for b in boxes) < need:
        h, w = boxes[0][2:]
        # sampled (no window given): the scene's size, which clips them (before: 'the window is 512×20 px')
        what = {"whole": "the scene is", "window": "the window is"}.get(
            sampling, f"the {shape[1]}×{shape[0]} px scene is checked on sampled windows, which are")
        raise InputError(f"{what} {w}×{h} px; a self-check at ×{scale_typed(max(scales))} needs at least "
                         f"{need}×{need} px (the scene is degraded by the scale, then scored inside a "
                         f"{math.ceil(max(scales))}-px border)")
    for s in scales:
        _check_restorable(boxes[0][2:], s)
    return sampling, boxes


def check_has_data(scene, boxes, bands=None, nodata=None) -> None:
    """InputError (:data:`NO_DATA`) when every pixel of ``boxes`` (:func:`selfcheck_windows`') is nodata, read without
    a model: ``selfcheck`` refuses so, and a front end (``ldcsr selfcheck``, QGIS's quality report, napari's Check
    quality) before it loads the model or says what the check costs. ``scene``: an :class:`RGBScene`, or a scene as
    ``selfcheck`` takes it, opened with ``bands`` and ``nodata`` as it opens it (no stretch fitted: its warnings are
    the check's; an array: all data)."""
    src = scene if isinstance(scene, RGBScene) else RGBScene(scene_argument(scene), bands, nodata=nodata, fit=False)
    try:
        if not any(src.has_data(b) for b in boxes):
            raise InputError(NO_DATA)
    finally:
        if src is not scene:
            src.close()


def _check_restorable(shape, scale: float) -> None:
    """InputError if the protocol's LR copy of ``shape`` is more than ×MAX_SCALE smaller on an
    axis (``int(H/s)`` rounds down: e.g. 70 px at ×8 -> 8 px, and 70 > 64)."""
    from .rules import MAX_SCALE, output_shape
    from .training.evaluate import lr_shape

    lr = lr_shape(shape, scale)
    try:
        output_shape(lr, out_shape=shape)
    except InputError:
        raise InputError(
            f"at ×{scale_typed(scale)} the {shape[1]}×{shape[0]} px scene would be restored from its "
            f"{lr[1]}×{lr[0]} px copy, more than ×{MAX_SCALE:g}: use a size that is a multiple of "
            f"{math.ceil(scale)} px ({say('window')}) or a smaller scale") from None


def _array_rgb(image) -> np.ndarray:
    a = check_image(image, grey=True)  # upscale's rule, and H×W grey
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.dtype == np.uint8:
        return a
    return np.rint(a * 255.0).astype(np.uint8)


class RGBScene:
    """Windows of the scene as uint8 RGB: an array, or a raster through the pipeline's reader."""

    def __init__(self, scene, bands=None, stretch="auto", nodata=None, *, fit: bool = True):
        self._close = None
        if not isinstance(scene, (str, os.PathLike)) and not hasattr(scene, "read"):
            # not a raster: an array (or an InputError saying what it is instead)
            if nodata is not None:
                raise InputError("nodata applies to a raster file or dataset, not to an array")
            if bands is not None:  # they were ignored: a BGR array was checked (or adapted on) as it was
                raise InputError("bands apply to a raster file or dataset, not to an array: give the array's "
                                 "channels in R, G, B order (e.g. image[..., ::-1] for BGR)")
            if stretch != "auto":  # ignored too: an array is taken as it is (uint8, or float in [0, 1])
                raise InputError(f"stretch applies to a raster file or dataset, not to an array, got {stretch!r}: "
                                 "an array is taken as it is (uint8, or float in [0, 1])")
            self.array, self.reader = _array_rgb(scene), None
            self.bands, self.band_count, self.made, self.picture, self.tags = (), 0, "", "", {}
            self.shape = self.array.shape[:2]
            return
        from .geo.job import provenance_summary
        from .geo.nodata_override import with_nodata
        from .geo.scene_io import SceneReader

        ds = scene
        if isinstance(scene, (str, os.PathLike)):
            from .geo.raster_io import open_raster

            ds = self._close = open_raster(scene, nodata=nodata)
        else:
            ds = with_nodata(scene, nodata)
        try:
            self.reader = SceneReader(ds, bands, stretch, fit=fit)  # (fit=False: :meth:`has_data` alone)
        except BaseException:
            self.close()
            raise
        self.array, self.shape = None, (ds.height, ds.width)
        self.tags = dict(ds.tags())
        self.made = provenance_summary(self.tags, brief=True) or ""  # a raster LDCSR made: not measured
        plan = self.reader.plan
        self.bands, self.band_count = tuple(b + 1 for b in plan.groups[0]), len(plan.colour)
        self.picture = picture_text(self.reader.stretch, plan.groups[0], stretch) if fit else ""

    def rgb(self, box) -> np.ndarray | None:
        """The window as uint8 RGB (nodata filled), None when every pixel is nodata."""
        return self.rgb_valid(box)[0]

    def rgb_valid(self, box) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(rgb, valid)``: :meth:`rgb` and its valid pixels (H×W bool; None: all of them)."""
        y0, x0, h, w = box
        if self.reader is None:
            return self.array[y0:y0 + h, x0:x0 + w], None
        unit, valid = self.reader.tile_valid(y0, x0, h, w, strip=False)
        if unit is None:  # every pixel nodata
            return None, None
        return np.rint(unit[..., :3] * 255.0).astype(np.uint8), valid

    def has_data(self, box) -> bool:
        """Whether some pixel of ``box`` is data (:meth:`rgb` not None), from a read of the raw bands alone."""
        if self.reader is None:
            return True
        return not self.reader.empty(self.reader.read(*box)[1])

    def data_pixels(self, box) -> int:
        """How many pixels of ``box`` a score counts (:meth:`rgb_valid`'s valid ones), from a read of
        the raw bands alone (no stretch, no fill): a look at where the data is, cheap beside a model's pass."""
        y0, x0, h, w = box
        if self.reader is None:
            return int(h) * int(w)
        _, valid = self.reader.read(y0, x0, h, w)
        return int(h) * int(w) if valid is None else int(valid[list(self.reader.plan.groups[0])].all(axis=0).sum())

    def close(self) -> None:
        if self._close is not None:
            self._close.close()
            self._close = None


def picture_text(stretch, group, method: str) -> str:
    """What the figures' 0–255 is, where the checked bands are not 8-bit values read as they are:
    ``uint16 stretched to 0–255 from 1132–10300, stretch auto`` (one range per band of ``group``,
    0-based, where they differ). PSNR's peak is that picture's 255, so the same pixels give other
    figures under another stretch (a near-flat 16-bit cloud: 17 dB under auto, 87 dB under dtype)."""
    ranges = [f"{stretch.lo[b]:.6g}–{stretch.hi[b]:.6g}" if stretch.hi[b] > stretch.lo[b] else
              f"{stretch.lo[b]:.6g} (one value)" for b in group]
    if stretch.dtype == "uint8" and set(ranges) == {"0–255"}:
        return ""
    span = ranges[0] if len(set(ranges)) == 1 else ", ".join(ranges)
    return f"{stretch.dtype} stretched to 0–255 from {span}, stretch {method}"
