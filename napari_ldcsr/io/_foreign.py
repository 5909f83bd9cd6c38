"""A georeferenced raster file (a GeoTIFF, a JPEG/PNG placed by a world file) opened by another reader
than this plugin's (napari's own, picked in File ▸ Open's reader dialog or remembered for ``.tif``):
its layer holds the pixels only, none of the file's georeferencing, so what is made of it (a Run's
result, a saved file) lies over nothing in a GIS. Run and Save say so (Qt-free)."""

from __future__ import annotations

import os

__all__ = ["lost_georeferencing"]

#: this plugin's name (its reader keeps the georeferencing)
OURS = "napari-ldcsr"


def _reader_name(plugin: str) -> str:
    """The plugin's name as napari's reader dialog shows it ('napari builtins')."""
    try:
        from npe2 import PluginManager

        return PluginManager.instance().get_manifest(plugin).display_name or plugin
    except Exception:  # noqa: BLE001 - a name only
        return plugin


def _georeferenced(path: str) -> bool:
    """Whether the raster file at ``path`` is placed (a geotransform, GCPs or RPCs: the engine's
    ``georeferencing``); False when it cannot be read."""
    from ldcsr_core.geo.raster_io import georeferencing, open_raster

    try:
        with open_raster(path) as src:
            return georeferencing(src) in ("transform", "gcps", "rpcs")
    except Exception:  # noqa: BLE001 - not a raster this plugin reads: nothing lost
        return False


def lost_georeferencing(layer) -> str | None:
    """A warning when ``layer`` (or the layer it was made from) was read from a georeferenced
    raster file (named as the engine reads them: ``.tif``, ``.jpg``, ``.png``, ...) by another reader than this plugin's, so that it holds no CRS nor
    placement; None otherwise (a layer this plugin read, one with georeferencing, an array)."""
    from .._viewer import SOURCE_FILES_KEY

    md = layer.metadata or {}
    if any(md.get(k) is not None for k in ("crs", "transform", "gcps", "rpcs")):
        return None
    source = getattr(layer, "source", None)
    plugin = getattr(source, "reader_plugin", None)
    path = getattr(source, "path", None)
    if path and plugin == OURS:
        return None
    from pathlib import Path

    from ldcsr_core.geo.raster_io import is_raster_name

    files = ([path] if path else []) + list(md.get(SOURCE_FILES_KEY) or ())
    rasters = [str(p) for p in files if is_raster_name(Path(p), check_file=False)]
    if not rasters or not _georeferenced(rasters[0]):
        return None
    name = os.path.basename(rasters[0])
    by = f"the '{_reader_name(plugin)}' reader" if path and plugin else "another reader than LDCSR's"
    lost = (f"'{layer.name}' has no georeferencing: {name} was opened by {by}, which leaves its CRS and "
            f"pixel grid out, so a result or a saved file will not lie over {name} in a GIS. ")
    # every name is_raster_name takes is one this plugin's reader claims (the engine's RASTER_SUFFIXES)
    return lost + f"Open {name} again and pick 'LDCSR super-resolution' in File ▸ Open's reader dialog."
