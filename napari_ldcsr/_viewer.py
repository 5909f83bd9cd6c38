"""Small, Qt-free accessors for napari's viewer model that changed between napari versions."""

from __future__ import annotations

import numpy as np

__all__ = ["LIVE_KEY", "FILE_PIXELS", "PLACEMENT", "is_live_layer", "covering_blending", "camera", "grid", "grid_position", "canvas_size",
           "transposed", "cuts_across", "view_data_corners", "linear_part", "world_axes", "notify", "notify_removal", "image_layers", "shapes_layers",
           "open_viewers", "SOURCE_FILES_KEY", "derived_metadata", "unplaced_picture", "STREAMING"]


#: ``metadata`` key of the live lens's own layer (``lens/_draw``): a view of another layer, never a source.
LIVE_KEY = "ldcsr_live"


def is_live_layer(layer) -> bool:
    """Whether ``layer`` is the live lens's layer (display pixels of a window of another layer)."""
    return bool((getattr(layer, "metadata", None) or {}).get(LIVE_KEY))


#: the attributes of a layer that place it in the world (napari's transform mode edits ``affine``):
#: a layer drawn over another (the live lens's layer, a linked panel's mirror) follows them
PLACEMENT = ("scale", "translate", "rotate", "shear", "affine")


#: napari blendings under which a layer hides what is beneath it (alpha 1 = opaque)
COVERING = ("translucent", "translucent_no_depth", "opaque")


def covering_blending(layer) -> str:
    """The blending of a layer laid exactly over ``layer`` that replaces it on screen: ``layer``'s
    own, unless that one sums with what is beneath ('additive', as napari gives the bands after
    the first of a ``channel_axis`` image; 'minimum', 'multiplicative'): then 'translucent_no_depth'.
    napari can neither subtract a layer nor hide part of one, so a result that kept 'additive'
    would be summed with its own source inside its region (the band counted twice)."""
    blending = str(getattr(layer.blending, "value", layer.blending))
    return blending if blending in COVERING else "translucent_no_depth"


def grid(viewer):
    """The grid model (``viewer.canvas.grid`` since napari 0.9, ``viewer.grid`` before)."""
    found = getattr(getattr(viewer, "canvas", None), "grid", None)
    return viewer.grid if found is None else found


def grid_position(viewer, index: int) -> tuple[int, int]:
    """(row, column) of the grid cell showing the layer at ``index`` of the layer list (napari's
    ``position`` takes the layer list since napari 0.9, their number before)."""
    g = grid(viewer)
    try:
        return tuple(g.position(index, viewer.layers))
    except TypeError:  # napari < 0.9: ``nlayers / stride`` with a LayerList
        return tuple(g.position(index, len(viewer.layers)))


def camera(viewer):
    """The camera model (``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before)."""
    found = getattr(getattr(viewer, "scene", None), "camera", None)
    return viewer.camera if found is None else found


def canvas_size(viewer) -> tuple[float, float]:
    """(height, width) in screen pixels of the canvas, or of one grid cell when the grid is on."""
    canvas = getattr(viewer, "canvas", None)
    if canvas is not None:
        if grid(viewer).enabled and hasattr(canvas, "viewbox_size"):
            return tuple(canvas.viewbox_size(viewer.layers))  # type: ignore[return-value]
        return tuple(canvas.size)  # type: ignore[return-value]
    # napari < 0.9: the same sizes through the viewer model's own (private) accessors
    if grid(viewer).enabled and hasattr(viewer, "_get_viewbox_size"):
        return tuple(float(v) for v in viewer._get_viewbox_size())  # type: ignore[return-value]
    return tuple(getattr(viewer, "_canvas_size", (600, 800)))


def transposed(viewer) -> bool:
    """Whether the 2-D view shows the last two world axes swapped (napari's *Transpose* button):
    the camera's center and the canvas's (height, width) then run along (x, y) of a 2-D layer."""
    n = viewer.dims.ndim
    return [d - (n - 2) for d in list(viewer.dims.displayed)[-2:]] == [1, 0]


def cuts_across(viewer, layer) -> str | None:
    """Why the 2-D view shows no rectangle of 2-D ``layer``'s pixels though it is on screen, or None:
    napari's axis order (its *Roll* button, ``viewer.dims.order``) puts another layer's stack axis on
    screen with one of ``layer``'s two axes, so the view shows ``layer`` edge-on, as a line."""
    n, shown = viewer.dims.ndim, list(viewer.dims.displayed)[-2:]
    if sorted(shown) == [n - 2, n - 1]:
        return None
    return (f"the view shows '{layer.name}' edge-on (napari's axis order puts another layer's axis on screen); "
            "roll the axes back (napari's Roll axes button) until its rows and columns are on screen")


def view_data_corners(viewer, layer) -> np.ndarray:
    """Data coordinates (its last two axes) of ``layer`` under the four corners of the 2-D view
    (the canvas, or one grid cell), through the axes the view displays (a transposed view too)."""
    from ._geometry import visible_world_box

    cam = camera(viewer)
    box = visible_world_box(cam.center, cam.zoom, canvas_size(viewer))  # in displayed order
    point = np.asarray(viewer.dims.point, dtype=float)
    displayed = list(viewer.dims.displayed)[-2:]
    corners = []
    for y in (box[0, 0], box[1, 0]):
        for x in (box[0, 1], box[1, 1]):
            world = point.copy()
            world[displayed] = (y, x)
            corners.append(np.asarray(layer.world_to_data(world), dtype=float)[-2:])
    return np.array(corners)


def linear_part(layer) -> np.ndarray:
    """The rotate @ shear matrix of a 2-D layer's data->physical transform."""
    from napari.utils.transforms import Affine

    return Affine(rotate=layer.rotate, shear=layer.shear, ndim=2).linear_matrix


def world_axes(layer) -> dict:
    """``add_image`` kwargs that give a layer placed over ``layer`` the same world axes: its ``units``
    and ``axis_labels`` (napari >= 0.6). Without them a result's scale would be read in pixels,
    and napari drops the units of every layer ("Inconsistent units across layers")."""
    return {k: tuple(getattr(layer, k)) for k in ("units", "axis_labels") if hasattr(layer, k)}


def notify(level: str, message: str) -> None:
    """Show a napari notification: ``level`` is "info", "warning" or "error"."""
    from napari.utils import notifications

    {"info": notifications.show_info, "warning": notifications.show_warning}.get(
        level, notifications.show_error
    )(message)


def notify_removal(viewer, level: str, message: str) -> None:
    """:func:`notify` of what a layer's removal did, at the next turn of the event loop and only if
    ``viewer`` is still open then. napari's ``Viewer.close()`` removes every layer and then closes the
    window in one call (no turn of the event loop between), so a removal that closing made is said
    to no one, not as if the user had deleted the layer."""
    from qtpy.QtCore import QTimer

    QTimer.singleShot(0, lambda: notify(level, message) if viewer in open_viewers() else None)


def image_layers(viewer) -> list:
    """The viewer's Image layers a user can pick, in layer-list order (not the live lens's own layer)."""
    from napari.layers import Image

    return [lyr for lyr in viewer.layers if isinstance(lyr, Image) and not is_live_layer(lyr)]


def shapes_layers(viewer) -> list:
    """The viewer's Shapes layers, in layer-list order."""
    from napari.layers import Shapes

    return [lyr for lyr in viewer.layers if isinstance(lyr, Shapes)]


def open_viewers() -> list:
    """Every open napari ``Viewer`` (napari keeps them in the private ``Viewer._instances``)."""
    from napari import Viewer

    return list(getattr(Viewer, "_instances", ()))


#: ``metadata`` key of a layer made from another layer's pixels (a Run's result, baseline or spread,
#: a kept lens view, a self-check error map): the files its pixels came from, which Save never replaces
SOURCE_FILES_KEY = "source_files"


#: a layer read whole's metadata entry: the engine's pixel_digest of the pixels its file gave it (``io._reader``),
#: so that a Run streamed from the file knows whether the layer still holds them (``run._bigrun``)
FILE_PIXELS = "file_pixels"


def derived_metadata(src, drop: tuple = ()) -> dict:
    """``metadata`` for a layer made from ``src``'s pixels: ``src``'s, less its own file (``path``, and
    :data:`FILE_PIXELS`),
    its run (``ldcsr``), the live lens's mark and ``drop``, with ``source_files``: the files ``src`` was read
    from (``metadata["path"]``, napari's ``source.path``) or made from (its ``source_files``). Its
    ``tags`` lose their ``LDCSR_*`` provenance, which is ``src``'s (an earlier run's): the new layer's
    builder adds its own (the engine's rule for a file output)."""
    from ldcsr_core.geo.raster_io import PROVENANCE_PREFIX

    old = src.metadata or {}
    md = {k: v for k, v in old.items() if k not in ("path", FILE_PIXELS, "ldcsr", LIVE_KEY, *drop)}
    if isinstance(md.get("tags"), dict):
        md["tags"] = {k: v for k, v in md["tags"].items() if not str(k).startswith(PROVENANCE_PREFIX)}
    files = (old.get("path"), getattr(getattr(src, "source", None), "path", None), *old.get(SOURCE_FILES_KEY, ()))
    md[SOURCE_FILES_KEY] = [str(p) for p in dict.fromkeys(files) if p]
    if "transform" not in md and unplaced_picture(src):  # a picture placed by nothing (an array, a PNG):
        md["transform"] = None  # so is what is made of it, on its finer grid too (Save writes no geotransform)
    return md


def unplaced_picture(layer) -> bool:
    """Whether ``layer`` is a picture placed by nothing: no CRS, geotransform or GCPs in its metadata,
    and on its pixel grid in the viewer (identity placement)."""
    md = layer.metadata or {}
    if md.get("crs") is not None or md.get("transform") is not None or md.get("gcps"):
        return False
    corners = [np.asarray(layer.data_to_world(p), float)[-2:] for p in ((0, 0), (1, 0), (0, 1))]  # an affine map
    return bool(np.allclose(corners, [(0, 0), (1, 0), (0, 1)]))


#: the files streamed Runs are writing now (``run._job.run_job``), which Save must not take
STREAMING: set[str] = set()
