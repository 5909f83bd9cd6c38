"""Entry-point shim: ``napari.yaml`` names ``napari_ldcsr._reader:napari_get_reader``.

The reader lives in :mod:`napari_ldcsr.io._reader`; this module only re-exports it so that the
manifest (and users' saved reader settings) keep working.
"""

from .io._reader import layer_data_from_geotiff, napari_get_reader, read_geotiff

__all__ = ["napari_get_reader", "read_geotiff", "layer_data_from_geotiff"]
