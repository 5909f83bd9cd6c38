"""Georeferenced rasters: raster I/O (rasterio), radiometry, the streaming raster pipeline and Dask.

Submodules are imported on first use (``import ldcsr_core`` then ``ldcsr_core.geo.pipeline``), as
the docs write them; nothing is imported with the package itself."""

import importlib


def __getattr__(name: str):
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":  # a dependency of that module (rasterio, dask): say which
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
