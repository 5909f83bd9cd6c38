"""Entry-point shim: ``napari.yaml`` names ``napari_ldcsr._writer:write_geotiff``.

The writer lives in :mod:`napari_ldcsr.io._writer`; this module only re-exports it so that the
manifest (and users' saved writer settings) keep working.
"""

from .io._writer import layer_world_matrix, write_geotiff

__all__ = ["write_geotiff", "layer_world_matrix"]
