"""Entry-point shim: ``napari.yaml`` names ``napari_ldcsr._writer:write_geotiff`` and ``write_geotiff_bands``.

The writer lives in :mod:`napari_ldcsr.io._writer`; this module only re-exports it so that the
manifest (and users' saved writer settings) keep working.
"""

from .io._writer import layer_world_matrix, write_geotiff, write_geotiff_bands

__all__ = ["write_geotiff", "write_geotiff_bands", "layer_world_matrix"]
