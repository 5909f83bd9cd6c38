"""Which pixels of a layer a run covers: whole layer, current view or a Shapes rectangle (Qt-free)."""

from __future__ import annotations

import numpy as np

from .. import _geometry as geo
from .._viewer import cuts_across, view_data_corners

__all__ = ["REGIONS", "region_for", "view_region", "shapes_region"]

# value -> label, in the order the picker shows them
REGIONS = {"whole": "Whole layer", "view": "Current view", "shapes": "Inside a Shapes rectangle"}


def view_region(viewer, layer) -> geo.Region | str:
    """The layer's pixels on screen (rounded out to whole pixels), or why there are none (a 3-D
    view, which may be turned and in perspective, has no one rectangle of pixels on screen)."""
    if viewer.dims.ndisplay != 2:
        return ("The view is 3-D: switch to the 2-D view (napari's 2D/3D button) to use what is on "
                "screen, or pick the whole layer or a Shapes rectangle.")
    if (edge_on := cuts_across(viewer, layer)) is not None:
        return f"The current view has no rectangle of pixels: {edge_on}, or pick the whole layer or a Shapes rectangle."
    shape = layer.data.shape[:2]
    region = geo.region_from_data_points(view_data_corners(viewer, layer), shape)
    return region or f"The current view shows no part of '{layer.name}'; pan or zoom to it."


def shapes_region(layer, shapes) -> geo.Region | str:
    """The pixels under the selected (else the last) shape of ``shapes``, or why there are none."""
    if shapes is None:
        return "Add a Shapes layer with a rectangle (or pick one) to use the Shapes region."
    if len(shapes.data) == 0:
        return f"Shapes layer '{shapes.name}' has no shape; draw a rectangle first."
    selected = sorted(shapes.selected_data)
    index = selected[-1] if selected else len(shapes.data) - 1
    verts = np.asarray(shapes.data[index], dtype=float)

    def to_data(v):
        return layer.world_to_data(shapes.data_to_world(v))[-2:]

    # napari keeps vertices as float32: one placed on a pixel edge comes back a few ulps off it
    region = geo.region_from_data_points(np.array([to_data(v) for v in verts]), layer.data.shape[:2],
                                         slack=geo.float32_slack(to_data, verts))
    return region or f"The rectangle in '{shapes.name}' does not overlap '{layer.name}'."


def region_for(viewer, layer, which: str, shapes=None) -> geo.Region | str:
    """The pixel window to process for ``which`` (a key of :data:`REGIONS`), or a plain message."""
    if which == "whole":
        return geo.Region.whole(layer.data.shape[:2])
    if which == "view":
        return view_region(viewer, layer)
    if which == "shapes":
        return shapes_region(layer, shapes)
    raise ValueError(f"region must be one of {', '.join(REGIONS)}, got {which!r}")
