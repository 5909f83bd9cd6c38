"""A lazy layer's levels edited in napari (``layer.data[0][…] = v``): dask's ``__setitem__`` gives the level
(the same dask array) another task graph, which napari shows, but the layer stays a big GeoTIFF read from its
file: a Run, Check quality and the live lens read the file (window by window, the engine's own reading), not the
edited graph, so the edit is not in their pixels. :func:`file_level` is the file's level whether edited or not;
:func:`say_edits_not_used` says so once, in plain words, when one of them reads a layer edited so. A Save of the
layer writes the pixels napari holds (its edit too: ``io._writer`` reads them through ``_lazy.window_reader``)."""

from __future__ import annotations

from typing import Any

__all__ = ["file_level", "edited", "say_edits_not_used"]


def file_level(data: Any) -> Any:
    """The :class:`~napari_ldcsr.io._lazy.RasterLevel` a lazy layer's level reads from its file, also once
    the level was edited in place (its graph renamed: ``_lazy.window_reader`` then gives the edited array);
    ``data`` itself for any other array."""
    from ._lazy import window_reader

    level = getattr(data, "ldcsr_level", None)
    return level if level is not None else window_reader(data)


def edited(data: Any) -> bool:
    """Whether lazy level ``data`` was edited in place since the reader made it (its graph is another)."""
    level = getattr(data, "ldcsr_level", None)
    return level is not None and getattr(data, "name", None) != level.graph_name


def say_edits_not_used(layers) -> None:
    """Warn once per layer that lazy ``layers`` with an edited level are read from their file, not from
    the edited pixels napari shows (said again for no later edit of that layer, but for a first edit of its
    full resolution after one of its coarser levels alone: that one a Save keeps)."""
    from .._viewer import notify

    for layer in layers:
        levels = list(getattr(layer, "data", ()) if getattr(layer, "multiscale", False) else ())
        first = getattr(levels[0], "ldcsr_level", None) if levels else None
        if first is None:
            continue
        kind = "full" if edited(levels[0]) else "coarse" if any(edited(lv) for lv in levels[1:]) else None
        said = getattr(first, "edits_said", ())
        if kind is None or kind in said or "full" in said:
            continue
        first.edits_said = (*said, kind)
        name = (layer.metadata or {}).get("file_name") or first.path
        if kind == "full":
            notify("warning", f"'{layer.name}' is read from its file {name}: your edits of its pixels in napari are "
                              "not used (Run, Check quality and the live lens read the file). To upscale them, save "
                              "the layer as a new GeoTIFF and open that.")
        else:  # a Save writes level 0 too: its advice would lose the edit
            notify("warning", f"'{layer.name}' is read from its file {name}: your edits of its zoomed-out view in "
                              "napari (a coarser level) are not used, nor saved: Run, Check quality, the live lens "
                              "and Save take its full-resolution pixels, which are the file's. To upscale an edit, "
                              "make it at full resolution (layer.data[0]), save the layer as a new GeoTIFF and open "
                              "that.")
