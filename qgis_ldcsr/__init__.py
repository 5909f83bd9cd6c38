"""LDCSR super-resolution for QGIS: a Processing provider over the ``ldcsr_core`` engine.

QGIS loads this folder as a plugin (``metadata.txt``, :func:`classFactory`); the plugin registers
the provider at start, so the algorithm appears in the Processing toolbox, the graphical modeler
and ``qgis_process``. The engine itself is napari-ldcsr, pip-installed from a checkout or a wheel
(it is not on PyPI) into the Python QGIS uses (see docs/qgis.md). Nothing here imports torch, rasterio or the engine until an algorithm runs.
"""


def classFactory(iface):  # noqa: N802 - QGIS's name
    """QGIS plugin entry point."""
    from .plugin import LdcsrPlugin

    return LdcsrPlugin(iface)
