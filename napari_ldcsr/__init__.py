"""napari-ldcsr: continuous-scale super-resolution (LDCSR) of remote-sensing images in napari.

Importing this package is cheap: Qt, napari and the engine (torch) load only when a
contribution (widget, reader, writer, sample) is used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
