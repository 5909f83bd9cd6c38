"""What the live lens shows (Qt-free): which layers it takes, and the view on screen → scale step,
output window and tile grid of the layer's global output grid, plus the record of one view.

:class:`~napari_ldcsr.lens._lens.LiveLens` plans each view with :func:`plan_view`; the tiles'
cache and composition are in :mod:`napari_ldcsr.lens._lens_cache`, the drawing into napari in
:mod:`napari_ldcsr.lens._draw`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ldcsr_core.rules import DEFAULT_TILE_OUT, MIN_INPUT_SIDE, TILE_OVERLAP_OUT

from .._workers import in_napari_words
from .._viewer import camera, cuts_across, view_data_corners
from ._lens_cache import BandFeed, LayerPixels, LensGrid, OutWindow, WindowComposer, global_out_shape, output_window, scale_step

__all__ = ["LensView", "unsupported_reason", "layer_pixels", "visible_data_box", "model_overlap", "lens_window",
           "plan_view", "idle_text", "all_cached", "OutsideNotes", "band_group_change", "view_reading"]


def unsupported_reason(layer) -> str | None:
    """Why the lens cannot work on ``layer`` (None when it can)."""
    from napari.layers import Image

    if layer is None:
        return "no layer selected"
    if not isinstance(layer, Image):
        return f"'{layer.name}' is a {type(layer).__name__} layer; the lens works on image layers"
    from ..run._job import live_layer_problem, spread_map_problem, unsupported_dtype  # the Run button's rules
    from ..run._stacks import stack_problem

    for problem in (live_layer_problem(layer), spread_map_problem(layer)):
        if problem is not None:
            return problem.rstrip(".")
    if layer.multiscale:
        if len(layer.data) == 0 or not hasattr(layer.data[0], "shape"):
            return f"'{layer.name}' is multiscale without a base level"
        base = layer.data[0]
    else:
        base = layer.data
    if (problem := stack_problem(layer, base.shape)) is not None:
        return problem.rstrip(".")
    if min(base.shape[:2]) < MIN_INPUT_SIDE:
        return f"'{layer.name}' is smaller than {MIN_INPUT_SIDE}×{MIN_INPUT_SIDE} px"
    return unsupported_dtype(layer)


@dataclass
class LensView:
    """One view being shown: everything needed to paint its tiles and to Keep it."""

    gen: int
    layer: Any
    step: float
    grid: LensGrid
    win: OutWindow
    composer: WindowComposer
    prefix: tuple
    values: np.ndarray  # the layer's values (dtype and band layout of the source)
    shown: list = field(default_factory=list)  # plan indices of tiles painted, in order
    started: float = field(default_factory=time.perf_counter)
    first_tile_s: float | None = None
    done_s: float | None = None
    computed: int = 0


@in_napari_words  # the engine's messages name the form's controls
def layer_pixels(layer, nodata=None, method: str = "auto", bands=None, viewer=None) -> LayerPixels:
    """The pixels the lens reads from ``layer`` (a lazy multiscale layer: its base level, read
    window by window), with a Run's stretch (``method``: the form's *Stretch*) and a Run's band
    triplets (``bands``: the form's *Bands*; a band layer of a multi-band file whose band layers are
    all in ``viewer`` is fed to the model with its file's other bands, as a Run feeds them).
    ``nodata``: the form's, as a Run uses it (``parse_nodata_text``'s: a number, "none", ranges,
    several, each band's); None: the layer's (its file's)."""
    form, given = nodata, nodata is not None
    if nodata is None:
        nodata = (layer.metadata or {}).get("nodata")  # the file's (reader metadata), as a Run reads it
    if layer.multiscale:
        from ..io._lazy_edits import file_level

        base = file_level(layer.data[0])  # a lazy layer's file, as a Run reads it, whatever its levels hold
        fitted = _file_fit(layer, base, form, method, bands)  # (a file gone: said in the reader's words)
        _check_file_run(viewer, layer)
        if fitted is None:  # a multiscale array (no Run takes it): its own channels; level 0 drives the windows
            # the lens reads (its pixels), the coarsest level (data[-1]) its stretch: an edit of either is
            # followed (lens._digests: both digested), so an edit of the coarse level alone fits the stretch again
            pixels = LayerPixels(base, layer.rgb, coarse=layer.data[-1], nodata=nodata, method=method,
                                 given=given)
        else:  # a Run of the file: its band triplets and the file's stretch, by file band
            plan, stretch, fill, any_valid = fitted
            pixels = LayerPixels(base, layer.rgb, nodata=nodata, method=method, fitted=(stretch, fill),
                                 feed=_file_feed(layer, base, plan), given=given)
            if not any_valid:
                raise ValueError(pixels.no_valid_pixels())
    else:
        pixels = LayerPixels(layer.data, layer.rgb, nodata=nodata, method=method,
                             feed=_layer_feed(viewer, layer, bands), given=given)
    if given:  # the form's nodata replaced the layer's: as a Run records it (what is nodata, as given)
        used = {b: e for b, e in form.items() if e} if isinstance(form, dict) else None if form == "none" else form
        pixels.reading_nodata = (used, (layer.metadata or {}).get("nodata"))
    return pixels


def _layer_feed(viewer, layer, bands) -> BandFeed:
    """The raster a Run of ``layer`` reads (``run._job.layer_source``: the layer, or its file's band
    layers) and the Run's band triplets of it (``LayerSource.band_plan``, the form's ``bands``)."""
    from types import SimpleNamespace

    from ..run._job import layer_source

    src = layer_source(viewer if viewer is not None else SimpleNamespace(layers=[layer]), layer)
    plan = src.band_plan(bands)
    if src.layout == "bands":
        shows = next(i for i, lyr in enumerate(src.layers) if lyr is layer)
        return BandFeed(plan, tuple(lyr.data for lyr in src.layers), tuple((i, None) for i in range(src.count)),
                        (shows,))
    if src.layout == "gray":
        return BandFeed(plan, (layer.data,), ((0, None),), (0,))
    order = src.order or tuple(range(src.count))  # the file band each channel shows
    channel = np.argsort(order)
    return BandFeed(plan, (layer.data,), tuple((0, int(channel[b])) for b in range(src.count)),
                    tuple(int(order[c]) for c in range(min(src.count, 3))))


def band_group_change(viewer, layer, pixels: LayerPixels | None, other) -> bool:
    """Whether opening or closing ``other`` changes what a Run feeds the model with band layer
    ``layer`` (``run._job.layer_source``: its file's other bands while all its band layers are open),
    once ``pixels`` were read: the layers a Run reads now are not those ``pixels`` read (a lazy
    layer's: its file, whatever is open; the same file opened again: the first of each band, still)."""
    md, omd = (getattr(layer, "metadata", None) or {}), getattr(other, "metadata", None) or {}
    if not (pixels is not None and md.get("band") is not None and omd.get("band") is not None
            and omd.get("path") == md.get("path") and other is not layer):
        return False
    from ..run._job import is_lazy_file_layer, layer_source

    if is_lazy_file_layer(layer):  # read from its file while all its band layers are open; else Run refuses
        return layer_source(viewer, layer).layout != "bands"
    now, fed = [lyr.data for lyr in layer_source(viewer, layer).layers], pixels.feed.sources
    return len(now) != len(fed) or any(a is not b for a, b in zip(now, fed))


def view_reading(viewer, layer, bands, stretch: str):
    """How a Run of ``layer`` with the form's ``bands`` and ``stretch`` feeds the model (an adapted
    model's note compares it with what its guard saw: ``run._adapt.source_reading``)."""
    from ..run._adapt import source_reading
    from ..run._job import layer_source

    return source_reading(layer_source(viewer, layer), bands, stretch)


def _check_file_run(viewer, layer) -> None:
    """A ``ValueError`` in a Run's words when a Run of lazy ``layer`` refuses its file
    (``run._bigrun.file_problem``: a band layer whose file's other band layers are closed, a file
    changed in size): the lens previews no Run that cannot be made."""
    from types import SimpleNamespace

    from ..run._bigrun import file_problem
    from ..run._job import is_lazy_file_layer, layer_source

    if is_lazy_file_layer(layer):
        problem = file_problem(layer_source(viewer if viewer is not None else SimpleNamespace(layers=[layer]), layer))
        if problem is not None:
            raise ValueError(problem)


def _file_feed(layer, base, plan) -> BandFeed:
    """A lazy layer's feed: the file bands its triplets need, read from its base level when it
    shows them all, else from a level of those bands (its window reads recorded with the layer's)."""
    shown = [b - 1 for b in base.bands]
    shows = tuple(shown[:3]) if layer.rgb else (shown[0],)
    needed = list(plan.holding(shows).colour) + list(plan.alpha)
    if set(needed) <= set(shown):
        source, at = base, shown
    else:
        from ..io._lazy import RasterLevel

        source, at = RasterLevel(base.path, 1, base.full_shape, [b + 1 for b in needed], base.dtype.name, True,
                                 base.reads, base.one_nodata), needed
    rgb = getattr(source, "rgb", layer.rgb)
    where = tuple((0, at.index(b) if rgb else None) if b in at else None for b in range(plan.count))
    return BandFeed(plan, (source,), where, shows)


def _file_fit(layer, base, nodata, method: str, bands=None):
    """``(band plan, stretch, fill, any valid pixel)`` of a Run of a lazy layer's file (the engine's
    ``SceneReader`` of it: the form's ``bands``, its decimated read, the file's overviews if any), by
    file band; None for a layer not read from a file (a multiscale array: no Run takes it; its
    coarsest level is used)."""
    from ..run._job import is_lazy_file_layer

    if not is_lazy_file_layer(layer) or not getattr(base, "bands", None):
        return None
    from ldcsr_core.geo.nodata_override import with_nodata
    from ldcsr_core.geo.raster_io import open_raster
    from ldcsr_core.geo.scene_io import SceneReader

    with open_raster(layer.metadata["path"]) as ds:
        reader = SceneReader(with_nodata(ds, nodata), bands, method)
    plan = reader.plan
    if (layer.metadata or {}).get("alpha_is_mask"):  # its alpha (a band more) is the file's mask: alpha 0 left out
        from ldcsr_core.geo.band_plan import plan_bands

        info = reader.info
        plan = plan_bands(plan.count + 1, [*info.colorinterp, "alpha"], bands, [*info.descriptions, None])
    return plan, reader.stretch, reader.fill, reader.valid_fraction > 0


def visible_data_box(viewer, layer) -> tuple[np.ndarray, float]:
    """The layer's data-coordinate box on screen and the screen px per layer pixel."""
    cam = camera(viewer)
    corners = view_data_corners(viewer, layer)  # through the displayed axes (a transposed view too)
    data_box = np.stack([corners.min(axis=0), corners.max(axis=0)])
    o = np.asarray(layer.data_to_world((0, 0)), float)[-2:]
    step_y = np.linalg.norm(np.asarray(layer.data_to_world((1, 0)), float)[-2:] - o)
    step_x = np.linalg.norm(np.asarray(layer.data_to_world((0, 1)), float)[-2:] - o)
    return data_box, float(cam.zoom * max(step_y, step_x))


def model_overlap(models: Callable[[str | None], Any], source: str | None) -> int:
    """The model's measured window overlap (``upscale``'s rule), ``TILE_OVERLAP_OUT`` if unknown.
    The provider caches models; the widget has usually loaded this one in the background."""
    try:
        overlap = getattr(models(source), "tile_overlap", None)
    except Exception:  # noqa: BLE001 - the worker meets (and reports) the same error
        overlap = None
    return TILE_OVERLAP_OUT if overlap is None else int(overlap)


def lens_window(models: Callable[[str | None], Any], source: str | None, mode: str, in_shape, out_shape) -> int:
    """The lens's window side (output px) for ``in_shape → out_shape``: ``DEFAULT_TILE_OUT`` in fast
    mode (small tiles paint soon); in diffusion mode the engine's own diffusion windows, so that the
    lens shows the picture ``upscale`` makes for the same seed."""
    if mode != "diffusion":
        return DEFAULT_TILE_OUT
    from ldcsr_core.window_sizing import engine_window, plan_scale

    try:
        return engine_window(models(source), plan_scale(in_shape, out_shape))
    except Exception:  # noqa: BLE001 - the worker meets (and reports) the same error
        return DEFAULT_TILE_OUT


def plan_view(viewer, layer, pixels: LayerPixels, *, max_scale: float, tile: int | None, grids: dict,
              overlap: Callable[[], int], key: tuple, window: Callable[[Any, Any], int] | None = None):
    """(step, window, grid, cache-key prefix) of what is on screen now, or None (nothing to do:
    zoomed out below ×1.25, the layer off screen or shown edge-on: :func:`idle_text`).

    ``grids`` caches the tile grids by (step, overlap, window side); ``overlap()`` and
    ``window(in_shape, out_shape)`` (default: ``DEFAULT_TILE_OUT``) are asked only without a fixed ``tile``; the
    prefix is ``key + (step, tile)``.
    """
    if cuts_across(viewer, layer) is not None:
        return None
    data_box, zoom = visible_data_box(viewer, layer)
    step = scale_step(zoom, max_scale)
    if step is None:
        return None
    out_shape = global_out_shape(pixels.shape, step)
    win = output_window(data_box, pixels.shape, out_shape)
    if win is None:
        return None
    ov = None if tile else overlap()
    side = None if tile else (window(pixels.shape[:2], out_shape) if window is not None else DEFAULT_TILE_OUT)
    grid = grids.get((step, ov, side))
    if grid is None:
        grid = grids[(step, ov, side)] = LensGrid(pixels.shape, out_shape, tile, window=side, overlap_out=ov)
    return step, win, grid, key + (step, tile)


def idle_text(viewer, layer, max_scale: float) -> str:
    """The status line of a lens on ``layer``, shown in a 2-D view, that :func:`plan_view` gives nothing
    to do: the view shows the layer edge-on, is zoomed out, or shows none of it."""
    if layer is not None and (edge_on := cuts_across(viewer, layer)) is not None:
        return f"Live lens on: paused: {edge_on}"
    if layer is None or scale_step(visible_data_box(viewer, layer)[1], max_scale) is None:
        return "Live lens on: zoom in (×1.25 or more) to super-resolve the view"
    return f"Live lens on: the view shows no part of '{layer.name}'; pan to it"


def all_cached(planned, cache) -> bool:
    """Whether every tile of a planned view is in ``cache``."""
    _, win, grid, prefix = planned
    return all(prefix + k in cache for k in grid.tiles_for(win))


class OutsideNotes:
    """The lens's word on an adapted model used beyond what its guard checked (a scale step other
    than the adapted scale, diffusion mode, other bands or stretch: :func:`ldcsr_core.adapted_use.outside_use`,
    the rule of ``ldcsr upscale`` and the Run): :meth:`check` gives the note of a view and ``notify``-s it
    once per (model, scale step, mode, reading), not once per view."""

    def __init__(self, notify: Callable[[str, str], None]):
        self._notify = notify
        self._said: set = set()

    def check(self, source: str | None, step: float, mode: str, reading=None) -> str | None:
        """``reading``: how the view's pixels reach the model (``run._adapt.source_reading``), None: unknown."""
        from ldcsr_core.adapted_use import adapted_check, outside_use

        note = outside_use(adapted_check(source or ""), [step], mode, reading)  # the file's metadata: no model load
        if note and (source, step, mode, reading) not in self._said:
            self._said.add((source, step, mode, reading))
            self._notify("warning", f"Live lens: {note}.")
        return note
