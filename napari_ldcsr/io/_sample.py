"""Sample-data contribution: a real georeferenced aerial scene shipped with the package."""

from __future__ import annotations

from pathlib import Path

from ._raster_layers import LayerData
from ._reader import layer_data_from_geotiff

__all__ = ["SAMPLE_CREDIT", "sample_path", "neon_osbs_sample"]

SAMPLE_FILE = "neon_osbs_029.tif"
SAMPLE_CREDIT = (
    "NEON Airborne Observation Platform RGB orthophoto, site OSBS (Ordway-Swisher Biological "
    "Station, Florida, USA), tile OSBS_029, 0.1 m, EPSG:32617. Credit: National Ecological "
    "Observatory Network (NEON), operated by Battelle, funded by the US National Science "
    "Foundation. Redistributed from the DeepForest package (deepforest/data/OSBS_029.tif, "
    "MIT License, Copyright (c) 2019 Ben Weinstein); pixels unmodified."
)


def sample_path() -> str:
    """Filesystem path of the shipped sample GeoTIFF."""
    return str(Path(__file__).resolve().parent.parent / "data" / SAMPLE_FILE)


def neon_osbs_sample() -> list[LayerData]:
    """The NEON OSBS_029 scene (400 x 400 px RGB, 0.1 m) as a georeferenced image layer."""
    (data, kwargs, layer_type), = layer_data_from_geotiff(sample_path())
    kwargs["name"] = "NEON OSBS_029"
    kwargs["metadata"].update(credit=SAMPLE_CREDIT, license="MIT (DeepForest); NEON data")
    return [(data, kwargs, layer_type)]
