"""A Run's request (Qt-free): from the form's settings and a layer to the ``JobSpec`` to run, with
every check a Run makes before it starts (the layer, the region, the spec, streaming to a file),
its warnings of a use outside the shipped models' training, and the status line's texts of a run."""

from __future__ import annotations

import math
import os

from ldcsr_core.rules import MIN_INPUT_SIDE, least_scale
from ldcsr_core.words import counted

from .._workers import in_napari_words
from ._bigrun import plan_run
from ._job import JobSpec, LayerSource, check_layer, layer_source, plain_message
from ._region import region_for

__all__ = ["prepare_run", "all_nodata_notice", "samples_notice", "trained_range_notes", "fmt_seconds", "running_text", "progress_text"]


@in_napari_words  # the engine's messages name the form's controls
def prepare_run(viewer, s, layer, scale: float) -> tuple[JobSpec, LayerSource] | str:
    """(spec, source) of a Run of ``layer`` at ``scale`` with the settings ``s`` (a
    ``RunSettings``), or why it cannot run. Big results stream to a GeoTIFF (``_bigrun``)."""
    problem = check_layer(layer, scale, viewer)
    if problem is None:
        region = region_for(viewer, layer, s.region, s.shapes)
        if isinstance(region, str):
            problem = region
        elif min(region.shape) < MIN_INPUT_SIDE:
            problem = (f"The region is only {region.rows}×{region.cols} px; it needs at least "
                       f"{MIN_INPUT_SIDE}×{MIN_INPUT_SIDE} px.")
    if problem is not None:
        return problem
    try:
        spec = JobSpec(scale=scale, region=region, mode=s.mode, seed=s.seed, model_source=s.model_source,
                       tile=s.tile, bicubic=s.bicubic, stretch=s.stretch, bands=s.bands, samples=s.samples,
                       nodata=s.nodata)
    except ValueError as exc:
        return plain_message(exc)
    try:
        spec.out_shape  # noqa: B018 - the engine's rounding: ×1.01 of 40 px is 40 px
    except ValueError:  # the smallest the scale box (2 decimals) holds that adds a pixel to each side
        least = math.ceil(round(max(least_scale(region.rows), least_scale(region.cols)) * 100, 6)) / 100
        return (f"Scale {scale:.2f} does not enlarge the {region.rows}×{region.cols} px region on each side "
                f"(each must gain a whole pixel); choose {least:.2f} or more.")
    source = layer_source(viewer, layer)
    try:  # a nodata the layer's values cannot hold, or of a band it lacks: said now, not after the model is loaded
        source.check_nodata(spec.nodata, f"layer '{layer.name}'")
    except ValueError as exc:
        return plain_message(exc)
    spec = plan_run(source, spec)  # (a lazy layer whose file holds other bands than are open: said there)
    if isinstance(spec, str):
        return spec
    if spec.bands is not None:  # bands it does not have (or an alpha band): the engine's rule, said now too
        try:
            source.band_plan(spec.bands)
        except ValueError as exc:
            return f"'{layer.name}' cannot be run with Bands {','.join(map(str, spec.bands))}: {plain_message(exc)}"
    return spec, source


_LOOK_PIXELS = 1 << 20  # the pixels of each copy all_nodata_notice looks at on the GUI thread (3 MB of an RGB uint8)


@in_napari_words  # the engine's note names the Nodata field
def all_nodata_notice(spec, source: LayerSource, name: str) -> str:
    """The engine's note (:func:`~ldcsr_core.geo.empty_input.all_nodata_note`, ``ldcsr upscale``'s and QGIS's) that
    every pixel of the Run's region of the layer ``name`` is nodata, as a sentence, before the model loads; "" where
    some is data. On the GUI thread, so the layers are never copied whole: a look at the region's centre first (a copy
    of a few blocks), then at one pixel in ``step`` each way (a copy of about a million pixels: a valid one there is
    one of the layer), and only where those hold no data the whole region, strips of rows at a time to the first
    with data, in the layers' own arrays (:func:`~ldcsr_core.geo.empty_input.arrays_all_nodata`, read as the centre's
    copy is read; where their values alone cannot tell, an alpha band, copies of the strips:
    :func:`~ldcsr_core.geo.empty_input.input_all_nodata`, read as the Run reads it; a lazy source's file by the
    engine's own look: centre, overview, strips)."""
    from ldcsr_core.geo.empty_input import arrays_all_nodata, input_all_nodata

    (y0, x0, h, w), side = spec.region.window, 256
    centre = (y0 + max(0, h - side) // 2, x0 + max(0, w - side) // 2, min(h, side), min(w, side))
    with source.dataset(centre) as ds:
        why = input_all_nodata(ds, nodata=spec.nodata, bands=spec.bands, window=source.window_box(centre))
        if why and not source.lazy:
            in_place = arrays_all_nodata(ds, _strips(source, spec.region.window, _LOOK_PIXELS),
                                         nodata=spec.nodata, bands=spec.bands)
            if in_place is not None:
                return _said(spec, source, name, why) if in_place else ""
    if not why:
        return ""
    step = math.isqrt((h * w - 1) // _LOOK_PIXELS) + 1  # (a copy of at most about _LOOK_PIXELS)
    rows = max(1, 4 * _LOOK_PIXELS // w)  # (4 MP: 12 MB of an RGB uint8; fewer copies, each one made faster)
    looks = ([(spec.region.window, 1)] if source.lazy else
             [(spec.region.window, step)] * (step > 1)
             + [((y, x0, min(rows, y0 + h - y), w), 1) for y in range(y0, y0 + h, rows)])
    for window, each in looks:
        with source.dataset(window, each) as ds:
            why = input_all_nodata(ds, nodata=spec.nodata, bands=spec.bands, window=source.window_box(window, each))
        if not why:
            return ""
    return _said(spec, source, name, why)


def _strips(source: LayerSource, window, pixels: int):
    """The layers' ``(bands, rows, w)`` pixels of ``window`` in strips of about ``pixels``, views where the layer is one
    NumPy RGB or grey array (band layers: each strip stacked), made one at a time as they are looked at."""
    y0, x0, h, w = window
    rows = max(1, pixels // w)
    return (source.bands((y, x0, min(rows, y0 + h - y), w)) for y in range(y0, y0 + h, rows))


def _said(spec, source: LayerSource, name: str, why: str) -> str:
    from ldcsr_core.geo.empty_input import all_nodata_note

    note = all_nodata_note(f"'{name}'" + ("" if spec.region.shape == source.shape else "'s region"), why)
    return note[0].upper() + note[1:] + "."


def samples_notice(samples: int, of: str = "run") -> str:
    """The info notice napari shows before a Run (``of`` "run") or a Check quality (``of`` "check") of K
    ``samples`` starts: the engine's :func:`~ldcsr_core.uncertainty.samples_cost`, as QGIS and the CLI say it
    ("" for one sample)."""
    from ldcsr_core.uncertainty import samples_cost

    cost = samples_cost(samples, of)
    return f"{cost}." if cost else ""


def trained_range_notes(spec, source, models) -> list[str]:
    """The Run's warnings of a use outside what its model was trained on, judged without loading it
    (``models``: the widget's ``ModelCache``): a scale below ×1.25 (:func:`ldcsr_core.adapted_use.scale_note`:
    none for an adapted model, another model's training scales not known), a shipped model making pixels, on the
    ground, outside those of its training imagery (:func:`ldcsr_core.rules.untrained_ground_note`)."""
    from ldcsr_core.adapted_use import scale_note
    from ldcsr_core.geo.ground import ground_pixel_metres
    from ldcsr_core.rules import untrained_ground_note

    measure, ground = "Check quality here measures it on this layer", None
    shipped = models.shipped(spec.model_source)
    if shipped:  # (another model's training is not known: nothing to say)
        ground = ground_pixel_metres(source.crs, source.transform, source.shape)
    notes = (scale_note(models.cached(spec.model_source), spec.scale, measure, source=spec.model_source,
                        shipped=shipped),
             untrained_ground_note(ground, measure, model=shipped, scale=spec.scale))
    return [n[0].upper() + n[1:] + "." for n in notes if n]


def fmt_seconds(seconds: float) -> str:
    """A duration for the status line: "0.5 s" (a quick run is not "0 s"), "12 s", "1:15 min"."""
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f} s"
    seconds = int(round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d} min"


def running_text(spec: JobSpec, source: LayerSource, *, cached: bool) -> str:
    """The status line while a run starts (``cached``: the model is loaded already)."""
    bands = f" · {counted(len(source.layers), 'band layer')}" if source.layout == "bands" else ""
    to_file = f" · streaming to {os.path.basename(spec.output_path)}" if spec.output_path else ""
    return (f"Running ×{spec.scale:.2f} ({spec.mode}) on {spec.region.rows}×{spec.region.cols} px → "
            f"{spec.out_shape[0]}×{spec.out_shape[1]} px{bands}{to_file}" + ("" if cached else " · loading model…"))


def progress_text(done: int, total: int, elapsed: float) -> str | None:
    """The status line after ``done`` of ``total`` tiles in ``elapsed`` seconds (None: unchanged)."""
    if 0 < done < total:
        left = elapsed / done * (total - done)
        return f"{done} / {counted(total, 'tile')} · about {fmt_seconds(left)} left"
    if done >= total:
        return f"{done} / {counted(total, 'tile')} · finishing…"
    return None
