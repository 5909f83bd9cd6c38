"""GeoTIFF writer contribution: an image layer with its (possibly SR-scaled) georeferencing."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .._geometry import transform_from_world_matrix

__all__ = ["write_geotiff", "layer_world_matrix"]


def layer_world_matrix(meta: dict) -> np.ndarray:
    """3x3 data->world matrix of a 2-D layer from its ``scale/translate/rotate/shear/affine``."""
    from napari.utils.transforms import Affine

    ndim = 2
    scale = meta.get("scale")
    translate = meta.get("translate")
    data2physical = Affine(
        scale=np.ones(ndim) if scale is None else np.asarray(scale, dtype=float)[-ndim:],
        translate=np.zeros(ndim) if translate is None else np.asarray(translate, dtype=float)[-ndim:],
        rotate=_last_block(meta.get("rotate"), ndim),
        shear=_last_shear(meta.get("shear"), ndim),
        ndim=ndim,
    )
    matrix = data2physical.affine_matrix
    affine = meta.get("affine")
    if affine is not None:
        a = np.asarray(getattr(affine, "affine_matrix", affine), dtype=float)
        a = _last_block(a, ndim + 1, homogeneous=True)
        matrix = a @ matrix
    return matrix


def _last_block(m: Any, ndim: int, homogeneous: bool = False) -> np.ndarray | None:
    if m is None:
        return None
    m = np.asarray(m, dtype=float)
    if m.ndim == 0:  # rotation angle in degrees
        return m  # type: ignore[return-value]
    if m.shape[0] > ndim:
        if homogeneous:
            keep = list(range(m.shape[0] - ndim, m.shape[0]))
            m = m[np.ix_(keep, keep)]
        else:
            m = m[-ndim:, -ndim:]
    return m


def _last_shear(shear: Any, ndim: int) -> np.ndarray | None:
    if shear is None:
        return None
    s = np.asarray(shear, dtype=float)
    if s.ndim == 2:
        return s[-ndim:, -ndim:]
    return s[-1:] if s.size >= 1 else s


def write_geotiff(path: str, data: Any, meta: dict) -> list[str]:
    """Write an image layer to a GeoTIFF; returns ``[path]``.

    RGB(A) layers become 3/4-band rasters, 2-D layers one band. When the layer's metadata has
    a ``crs`` (e.g. it came from the GeoTIFF reader, or is an LDCSR result of such a layer),
    the transform is derived from the layer's current placement, so a super-resolved layer is
    written with its finer pixel size; the CRS, nodata, band names, tags and LDCSR provenance are
    kept. The file is written by ``ldcsr_core.geo.raster_io.write_raster``: tiled, compressed and
    atomic (a temporary file renamed into place when complete).
    """
    from ldcsr_core.geo.raster_io import GeoArray, write_raster

    if isinstance(data, (list, tuple)):  # multiscale: full-resolution level
        data = data[0]
    arr = np.asarray(data)
    rgb = bool(meta.get("rgb", False))
    if rgb or (arr.ndim == 3 and arr.shape[-1] in (3, 4) and meta.get("rgb") is None):
        bands = np.moveaxis(arr, -1, 0)
    elif arr.ndim == 2:
        bands = arr[np.newaxis]
    else:
        raise ValueError(
            f"GeoTIFF writer takes 2-D or RGB(A) image layers; got data of shape {arr.shape}"
        )
    if bands.dtype == np.bool_:
        bands = bands.astype(np.uint8)
    if bands.dtype == np.float64:
        bands = bands.astype(np.float32)
    md = dict(meta.get("metadata") or {})
    crs = md.get("crs")
    from affine import Affine

    matrix = layer_world_matrix(meta)
    placed = crs is not None or not np.allclose(matrix, np.eye(3))
    transform = Affine(*transform_from_world_matrix(matrix)) if placed else Affine.identity()
    tags = {k: str(v) for k, v in (md.get("tags") or {}).items()}
    if "ldcsr" in md:
        tags["LDCSR_PROVENANCE"] = json.dumps(md["ldcsr"], default=str)
    if "credit" in md:
        tags["CREDIT"] = str(md["credit"])
    names = md.get("band_names")
    if md.get("band") is not None and names:  # one band of a multi-band file
        names = [names[int(md["band"])]]
    colorinterp = ("red", "green", "blue", "alpha")[: bands.shape[0]] if rgb else None
    if colorinterp is None and md.get("colorinterp") and len(md["colorinterp"]) == bands.shape[0]:
        colorinterp = tuple(md["colorinterp"])
    geo = GeoArray(
        bands, transform, crs, md.get("nodata"), tags, colorinterp or (),
        tuple(str(n) for n in names) if names and len(names) == bands.shape[0] else (),
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    write_raster(path, geo, overwrite=True)
    return [path]
