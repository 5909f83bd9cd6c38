"""*Check quality here* (Qt-free): the engine's reduced-resolution self-check on the current view.

The view of the picked layer (the whole layer when it has at most :data:`SMALL` pixels; the
central :data:`MAX_SIDE`-px square of a larger view) is degraded by the scale, restored by the
model and by bicubic and compared with itself (:func:`ldcsr_core.selfcheck`, the protocol of
``ldcsr evaluate``), through the same radiometry as a Run (band triplet, stretch, nodata fill).
The figure goes to the widget's status line; the per-pixel error maps become layers laid exactly
over the checked pixels of the source. The worker that runs it is :class:`_runner.CheckRunner`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._workers import in_napari_words
from .. import _geometry as geo
from .._viewer import derived_metadata, linear_part, world_axes
from ._results import layer_name, regrid_metadata

__all__ = ["SMALL", "MAX_SIDE", "TOOLTIP", "CheckRequest", "check_region", "prepare_check", "run_check",
           "status_text", "show_check", "error_kwargs", "add_error_layers"]

SMALL = 1024 * 1024  # a layer this small is checked whole, whatever the view
MAX_SIDE = 1024  # a larger view is checked on its central square of this side

TOOLTIP = ("Is LDCSR better than bicubic here? Degrades the view by the scale, restores it with the "
           "model and with bicubic and compares both with the view (PSNR, as 'ldcsr evaluate'). "
           "Limits: it measures one step (the scale) coarser than the real use and assumes a "
           "bicubic-like sensor blur. With 'error map layer' ticked, the error maps (|error| averaged over "
           "RGB) of LDCSR and of bicubic are added as layers.")


@dataclass(frozen=True)
class CheckRequest:
    """What to check: the region of the source, at which scale, with which model settings."""

    layer: object  # the picked image layer
    scale: float
    region: geo.Region
    where: str  # "this view", "the whole layer", "the central W×H px of this view"
    mode: str = "diffusion"
    seed: int = 0
    model_source: str | None = None
    tile: int | None = None
    bands: tuple[int, ...] | None = None
    stretch: str = "auto"
    nodata: float | str | None = None
    mean_of: int = 1  # "Uncertainty: samples" K: a Run's result is the mean of K samples, so the check scores that


def check_region(viewer, layer) -> tuple[geo.Region, str] | str:
    """The pixels to check and how to say so, or why there are none."""
    from ._region import view_region

    shape = layer.data.shape[:2]
    if shape[0] * shape[1] <= SMALL:
        return geo.Region.whole(shape), "the whole layer"
    region = view_region(viewer, layer)
    if isinstance(region, str):
        return region
    if max(region.shape) <= MAX_SIDE:
        return region, "this view"
    h, w = min(region.rows, MAX_SIDE), min(region.cols, MAX_SIDE)
    r0 = region.row0 + (region.rows - h) // 2
    c0 = region.col0 + (region.cols - w) // 2
    return geo.Region(r0, c0, h, w), f"the central {w}×{h} px of this view"


def checked_region(viewer, layer, scale: float, nodata, *, use: str = "upscale") -> tuple[geo.Region, str] | str:
    """:func:`check_region` of a layer Check quality and Adapt may take, or why not in Run's words: a
    layer or scale Run refuses, a lazy band layer whose file's other band layers are closed, a nodata
    the layer cannot hold or of a band it lacks (said before any work); a spread map in the words of ``use``
    (:func:`~._job.check_layer`'s: "selfcheck" for Check quality, "adapt" for Adapt)."""
    from ._bigrun import lazy_refusal
    from ._job import check_layer, layer_source, plain_message

    found = check_layer(layer, scale, viewer, use=use) or check_region(viewer, layer)
    if isinstance(found, str):
        return found
    source = layer_source(viewer, layer)
    if (refused := lazy_refusal(source)) is not None:  # its file is not the layers open: as Run refuses it
        return refused
    try:
        source.check_nodata(nodata, f"layer '{layer.name}'")
    except ValueError as exc:
        return plain_message(exc)
    return found


@in_napari_words  # the engine's messages name the form's controls
def prepare_check(viewer, settings, layer=None) -> CheckRequest | str:
    """The check of the widget's current settings (``settings()`` -> ``RunSettings``; ``layer``
    overrides the picked one), or a plain sentence saying why there is none (a region too small for the scale
    or all nodata too, by the engine's rules: :func:`~ldcsr_core.quality.selfcheck_windows`,
    :func:`~ldcsr_core.quality.check_has_data`): with "Uncertainty: samples" K > 1, of
    the mean of K diffusion samples, what a Run gives (refused in fast mode, as a Run is)."""
    from ldcsr_core.quality import check_has_data, selfcheck_windows
    from ldcsr_core.rules import check_samples

    from ._job import layer_source, plain_message

    try:
        s = settings()
        mean_of = check_samples(s.samples, s.mode)
    except ValueError as exc:
        return plain_message(exc)
    layer = s.layer if layer is None else layer
    found = checked_region(viewer, layer, s.scale, s.nodata, use="selfcheck")
    if isinstance(found, str):
        return found
    try:  # a region too small for the scale: the engine's refusal, before the model loads or K's cost is said
        selfcheck_windows(layer.data.shape[:2], [s.scale], found[0].window)
    except ValueError as exc:
        return plain_message(exc) + _too_small_advice(found, s.scale)
    try:  # every pixel of it nodata: refused so too (the engine's rule), from a look at its pixels alone
        source, window = layer_source(viewer, layer), found[0].window
        with source.dataset(window) as ds:
            check_has_data(ds, [source.window_box(window)], s.bands, s.nodata)
    except (ValueError, OSError) as exc:
        return plain_message(exc)
    return CheckRequest(layer, s.scale, *found, mode=s.mode, seed=s.seed, model_source=s.model_source,
                        tile=s.tile, bands=s.bands, stretch=s.stretch, nodata=s.nodata, mean_of=mean_of)


def _too_small_advice(found: tuple[geo.Region, str], scale: float) -> str:
    """What to do about a region below the engine's least side for ``scale`` (``quality_scoring.min_side``), in
    the form's words: the whole layer has only a smaller scale left, a view also zooming out; "" for any other
    refusal (one that says its own remedy)."""
    from ldcsr_core.quality_scoring import min_side

    region, where = found
    if min(region.shape) >= min_side(scale):
        return ""
    if where == "the whole layer":
        return ": the whole layer is checked; choose a smaller scale"
    return ": zoom out to check more of the layer (Check quality checks the view), or choose a smaller scale"


def show_check(viewer, request: CheckRequest, result, *, maps: bool = True) -> str:
    """Add the error-map layers (if ``maps`` and the layer is still there); the status line."""
    if maps and request.layer in viewer.layers:
        add_error_layers(viewer, request.layer, request.region, result)
    return status_text(result, request.where)


def run_check(source, request: CheckRequest, model, *, callback=None):
    """Run the self-check of ``request`` on ``source`` (a ``_job.LayerSource``) in this thread: ``(result, the
    digests of the copy it read)``. A layer held in memory is checked on a copy of its pixels, digested as a Run's
    (``LayerSource.copy_digests``, by :func:`~._job.digesting`: an edit in place during the check is said at its
    end), told as its file for the caution (the model's own scene or a copy, its training folder) where it is that
    file's pixels as read: the file a Run streams."""
    import ldcsr_core

    from ._bigrun import file_problem
    from ._job import digesting

    read = source.path if source.path and not source.lazy and file_problem(source) is None else None
    with source.dataset() as ds:
        source.unpin()  # checked on its copy from here on (a pinned source: an array given meanwhile frees the old)
        digests: list = []
        result = ldcsr_core.selfcheck(ds, request.scale, model=model, mode=request.mode, seed=request.seed,
                                      tile=request.tile, window=request.region.window, bands=request.bands,
                                      stretch=request.stretch, nodata=request.nodata,
                                      callback=None if callback is None else digesting(source, ds, callback, digests),
                                      source_file=read, mean_of=request.mean_of)
        return result, digests[0] if digests else source.copy_digests(ds)


def status_text(result, where: str) -> str:
    """``LDCSR better than bicubic (+1.27 dB) at ×4 on this view (fast)``, ``(diffusion, mean of 3 samples (seeds
    0..2))`` where a Run's result is the mean of K (the engine's ``mode_text``) (the verdict and the gain as
    ``ldcsr selfcheck`` and QGIS give them: a negative gain says "worse than bicubic", and in diffusion
    mode that fast mode is the faithful one) (``(fast; 30 % nodata, not scored)``
    where part of it is nodata; ``(fast; uint16 stretched to 0–255 from 1132–10300, stretch auto)``
    for a layer not read as its own 8-bit values); a flat view, that bicubic restores exactly (an infinite PSNR), has
    no gain to give: it says so instead of "-inf dB" or "+nan dB"."""
    from ldcsr_core.quality import nodata_share
    from ldcsr_core.words import signed

    nodata = getattr(result, "nodata", 0)
    left = f"; {nodata_share(nodata, result.pixels)} nodata, not scored" if nodata else ""
    bands = result.bands_text() if hasattr(result, "bands_text") else ""
    left += f"; {bands}" if bands else ""
    left += f"; {result.picture}" if getattr(result, "picture", "") else ""  # what its 0–255 is
    at = f"at ×{result.scale:g} on {where} ({result.mode_text()}{left})"
    caution = f"; caution: {result.caution}" if getattr(result, "caution", "") else ""
    if math.isfinite(result.gain_db):  # the command line's verdict and figure
        note = f"; {result.mode_note()}" if result.mode_note() else ""
        return f"LDCSR {result.verdict()} ({signed(result.gain_db)} dB) {at}{note}{caution}"
    return f"No gain to measure {at}: {result.no_gain_reason()}{caution}"


def error_kwargs(src, region: geo.Region, result, kind: str, *, contrast: float | None = None) -> dict:
    """``add_image`` kwargs that lay ``result``'s ``kind`` ("model"/"bicubic") error map exactly over
    ``region`` of ``src`` (same pixel grid; rotate/shear/affine copied; georeferencing kept)."""
    data = result.windows[0].error[kind]
    scale, translate = geo.result_placement(src.scale[-2:], src.translate[-2:], region.shape,
                                            region.shape, offset=region.offset, linear=linear_part(src))
    label = "LDCSR" if kind == "model" else "bicubic"
    # an error map's values are not the source's: none of its bands' scales, offsets, units or tags
    md = derived_metadata(src, drop=("colorinterp", "band", "scales", "offsets", "band_units", "band_tags",
                                       "file_bands"))
    if md.get("transform") is not None:
        md["transform"] = geo.result_transform(md["transform"], region.shape, region.shape, region.offset)
    regrid_metadata(md, region.shape, region.shape, region.offset)  # GCPs, RPCs onto the region
    md["ldcsr"] = dict(result.to_dict(), kind=f"selfcheck-error-{kind}", region=list(region.window))
    picture = getattr(result, "picture", "")  # the 8-bit picture scored, where it is not the layer's values
    # what the values are ('units' stays the CRS's unit, by which the form gives the pixel size)
    md["values"] = (f"|restored - source| averaged over RGB, 0..255{' of ' + picture if picture else ''} "
                    "(NaN: the border and nodata, not scored)")
    md["nodata"] = float("nan")  # the border left out (an error of 0 is a value)
    md["band_names"] = [f"self-check error ({label})"]
    if contrast is None:
        finite = data[np.isfinite(data)]
        contrast = float(np.percentile(finite, 99)) if finite.size else 1.0
    # named as a Run's result layers are (mode, seed and K), so that two checks' maps side by side differ
    name = layer_name(src.name, result.scale, "ldcsr" if kind == "model" else "bicubic", result.mode, result.seed,
                      result.mean_of, what=" self-check error")
    return {"name": name, "rgb": False,
            "scale": scale, "translate": translate, "rotate": src.rotate, "shear": src.shear,
            "affine": src.affine, **world_axes(src), "metadata": md, "colormap": "magma",
            "contrast_limits": [0.0, max(contrast, 1e-6)], "visible": kind == "model"}


def add_error_layers(viewer, src, region: geo.Region, result) -> list:
    """Add the model's error map (and bicubic's, hidden, on the same contrast) over ``src``, on top of
    the layer list, so that no Run result, kept view or other layer that covers ``src`` hides them."""
    from napari.layers import Image

    model_kw = error_kwargs(src, region, result, "model")
    hi = model_kw["contrast_limits"][1]
    layers = [Image(result.windows[0].error["bicubic"], **error_kwargs(src, region, result, "bicubic",
                                                                       contrast=hi)),
              Image(result.windows[0].error["model"], **model_kw)]
    for layer in layers:
        viewer.layers.append(layer)
    return layers
