"""Side-by-side grid (source | bicubic | LDCSR) and A/B blink over a run's layers (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _geometry as geo
from .._viewer import camera, canvas_size, grid, grid_position, transposed

__all__ = ["GridState", "enter_grid", "leave_grid", "fit_camera", "blink"]


@dataclass
class GridState:
    """What the grid view changed, so that leaving it restores the viewer exactly."""

    order: list
    visible: dict
    opacity: float
    grid: tuple[bool, tuple[int, ...], int]
    camera: tuple[tuple[float, ...], float]
    result: object
    trio: list = field(default_factory=list)  # what the three cells show: source, bicubic, result


def enter_grid(viewer, source, bicubic, result) -> GridState:
    """Show only ``source | bicubic | result`` in a one-row grid with one shared camera, zoomed
    onto the result; returns what :func:`leave_grid` needs to undo it."""
    g, cam = grid(viewer), camera(viewer)
    layers = list(viewer.layers)
    state = GridState(
        order=layers,
        visible={lyr: lyr.visible for lyr in layers},
        opacity=result.opacity,
        grid=(g.enabled, tuple(g.shape), g.stride),
        camera=(tuple(cam.center), cam.zoom),
        result=result,
        trio=[source, bicubic, result],
    )
    trio = state.trio
    for lyr in layers:
        _show(lyr, lyr in trio)
    result.opacity = 1.0
    g.shape = (1, 3)
    g.enabled = True
    # The three contiguous, on top of the list. napari versions differ in which end of the
    # layer list fills the first cell, and before napari 0.9 hidden layers take cells too (the
    # list wraps around the three cells): the first of these arrangements that works is kept.
    for order, stride in ((trio, 1), (trio, -1), (trio[::-1], -1), (trio[::-1], 1)):
        for lyr in order:  # each to the end in turn (move() inserts before its destination index)
            viewer.layers.move(viewer.layers.index(lyr), len(viewer.layers))
        g.stride = stride
        if [grid_position(viewer, viewer.layers.index(lyr)) for lyr in trio] == [(0, 0), (0, 1), (0, 2)]:
            break
    fit_camera(viewer, result)
    return state


def leave_grid(viewer, state: GridState) -> None:
    """Undo :func:`enter_grid`: grid settings, camera, layer order, visibility and opacity."""
    g, cam = grid(viewer), camera(viewer)
    g.enabled, g.shape, g.stride = state.grid
    cam.center, cam.zoom = state.camera
    for target, lyr in enumerate(lyr for lyr in state.order if lyr in viewer.layers):
        viewer.layers.move(viewer.layers.index(lyr), target)
    for lyr, vis in state.visible.items():
        if lyr in viewer.layers:
            _show(lyr, vis)
    if state.result in viewer.layers:
        state.result.opacity = state.opacity


def fit_camera(viewer, layer) -> None:
    """Centre the (shared) camera on ``layer`` and zoom so it fills a canvas (or grid cell)."""
    bounds = geo.world_bounds(layer.data_to_world, layer.data.shape[:2])
    centre, extent = (bounds[0] + bounds[1]) / 2.0, np.maximum(bounds[1] - bounds[0], 1e-12)
    if transposed(viewer):  # the camera and the canvas run along (x, y)
        centre, extent = centre[::-1], extent[::-1]
    cam = camera(viewer)
    cam.center = tuple(centre)
    cam.zoom = 0.95 * float(np.min(np.asarray(canvas_size(viewer), dtype=float) / extent))


def blink(source, result, together=()) -> None:
    """Flip the result on/off over the (visible) source: A/B comparison. ``together``: the other
    layers of its run (a band group's results), flipped with it, so that a composite flips as one
    (one band's result alone hidden leaves a composite of the other results without that band)."""
    on = not result.visible
    for layer in (result, *together):
        _show(layer, on)
    _show(source, True)


def _show(layer, on: bool) -> None:
    """Show or hide ``layer``; one already so is left alone: napari slices a layer shown anew again,
    and what follows its pixels' redraws (the lens, the panels, the grid's watch) digests them."""
    if layer.visible != on:
        layer.visible = on
