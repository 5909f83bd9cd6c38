"""Arrays in and out: a NumPy array and its georeferencing take the same path as a file.

* :class:`GeoArray` - a georeferenced ``(bands, H, W)`` array with what GDAL knows about it;
* :func:`dataset_from_array` wraps an array (e.g. a napari layer) in an open, read-only
  in-memory rasterio dataset;
* :func:`mask_as_alpha` holds a per-dataset mask as an alpha band, for arrays that carry bands only
  (:func:`alpha_of_mask`: that band; :func:`mask_of_alpha`: the mask it holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InputError
from .dataset_proxy import DatasetProxy
from .georef import GTIFF_ALPHA, is_singular, singular_refusal, write_domains, write_gcps
from .nodata_masks import alpha_valid

__all__ = ["GeoArray", "dataset_from_array", "mask_as_alpha", "alpha_of_mask", "mask_of_alpha"]


@dataclass
class GeoArray:
    """A georeferenced array: ``data`` ``(bands, H, W)`` with what GDAL knows about it.

    ``transform`` is a rasterio/affine ``Affine`` (pixel corner → CRS), ``crs`` a rasterio ``CRS``
    or ``None``, ``nodata`` the bands' nodata value or ``None``; ``tags`` are dataset tags (for a
    super-resolved result, the source's tags plus the ``LDCSR_*`` provenance). ``mask`` is a GDAL
    per-dataset mask ``(H, W)`` uint8 (0 = invalid) when the source had one, else ``None``.
    ``gcps`` is ``(ground control points, their CRS)`` for a raster georeferenced by GCPs only
    (its ``transform`` is then the identity), else ``None``. A raster with no georeferencing at
    all has the identity ``transform``, no ``crs`` and no ``gcps``. ``scales``, ``offsets`` and
    ``units`` are the bands' GDAL scale/offset (physical value = raw × scale + offset) and unit
    names, kept on the raw values (``()`` = none). ``rpcs`` are the rational polynomial
    coefficients (a rasterio ``RPC``) of a satellite image, on this array's pixel grid, or ``None``.
    ``band_tags`` are each band's tags (e.g. ``WAVELENGTH``), one dict per band, or ``()``.
    ``tiles`` and ``skipped_tiles``: for a result of the tile loop (``upscale_window``), its tile
    count and how many of them were nodata only (not run through the model; see
    :func:`~ldcsr_core.geo.job.empty_note`), else 0. ``domains`` is metadata in GDAL's other
    domains that the array carries, ``{domain: tags}`` (e.g. ``IMAGERY``: the scene's acquisition
    time and satellite; see :data:`~ldcsr_core.geo.georef.CARRIED_DOMAINS`).
    """

    data: np.ndarray
    transform: Any
    crs: Any = None
    nodata: float | None = None
    tags: dict = field(default_factory=dict)
    colorinterp: tuple[str, ...] = ()
    descriptions: tuple[str | None, ...] = ()
    mask: np.ndarray | None = None
    gcps: Any = None
    scales: tuple[float, ...] = ()
    offsets: tuple[float, ...] = ()
    units: tuple[str | None, ...] = ()
    rpcs: Any = None
    band_tags: tuple[dict, ...] = ()
    tiles: int = 0
    skipped_tiles: int = 0
    domains: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return int(self.data.shape[-2]), int(self.data.shape[-1])

    @property
    def count(self) -> int:
        return int(self.data.shape[0])

    @property
    def res(self) -> tuple[float, float]:
        """``(x, y)`` pixel size in CRS units (along the pixel edges, also of a rotated grid)."""
        from .raster_io import pixel_size

        return pixel_size(self.transform)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in CRS units."""
        from rasterio.transform import array_bounds

        H, W = self.shape
        west, south, east, north = array_bounds(H, W, self.transform)
        return west, south, east, north


def mask_as_alpha(geo: GeoArray) -> GeoArray:
    """``geo`` with its per-dataset mask as a last band GDAL calls alpha (0 where masked, the integer
    type's maximum elsewhere), for an array that holds bands only (a napari layer, which a Run and a
    Save take as they are): the mask's pixels stay invalid there, as an alpha of 0 is. ``geo`` itself
    when it has no mask, already has an alpha band or holds floats (their invalid pixels are NaN)."""
    from dataclasses import replace

    if geo.mask is None or "alpha" in geo.colorinterp or geo.data.dtype.kind not in "ui":
        return geo
    alpha = alpha_of_mask(geo.mask, geo.data.dtype)
    n = geo.count

    def more(values, one):  # the new band's entry where the bands have some
        return (*values, one) if values else values

    colorinterp = geo.colorinterp or ("undefined",) * n
    descriptions = geo.descriptions or (None,) * n
    return replace(geo, data=np.concatenate([geo.data, alpha[None]]), mask=None,
                   colorinterp=(*colorinterp, "alpha"), descriptions=(*descriptions, None),
                   scales=more(geo.scales, 1.0), offsets=more(geo.offsets, 0.0), units=more(geo.units, None),
                   band_tags=more(geo.band_tags, {}))


def alpha_of_mask(mask: np.ndarray, dtype) -> np.ndarray:
    """The alpha band :func:`mask_as_alpha` makes of a per-dataset ``mask`` (any shape): 0 where it
    is 0, the integer ``dtype``'s maximum elsewhere, built at that type (not int64 first: 8 bytes a
    pixel). One rule for a whole array and for a window of a file (napari's lazy layers)."""
    dt = np.dtype(dtype)
    return np.where(alpha_valid(mask), dt.type(np.iinfo(dt).max), dt.type(0))


def mask_of_alpha(alpha: np.ndarray) -> np.ndarray:
    """The per-dataset mask (uint8: 0 where ``alpha`` is 0, 255 elsewhere, as GDAL reads an alpha band's
    mask) that an alpha band made by :func:`alpha_of_mask` holds: the mask ``raster_io.write_raster`` writes.
    An alpha painted semi-transparent (between 0 and the maximum) is valid, 255, by the rule ``ldcsr upscale``
    reads an alpha with (``nodata_masks.alpha_valid``): what ``ldcsr upscale`` computes of such a pixel."""
    return np.where(alpha_valid(alpha), np.uint8(255), np.uint8(0))


def _as_bands_first(array: np.ndarray, bands_last: bool | None) -> np.ndarray:
    from ..rules import check_flag

    bands_last = check_flag(bands_last, "bands_last", optional=True)  # 'no' was true: bands moved
    a = np.asarray(array)
    if a.ndim == 2:
        return a[None]
    if a.ndim != 3:
        raise InputError(f"expected a (bands, rows, cols) or (rows, cols) array, got shape {a.shape}")
    if bands_last is None:  # napari's RGB(A) layers are (rows, cols, 3|4)
        if a.shape[-1] == 1:  # by the rule, (rows, cols, 1) would be `rows` bands one pixel wide
            n, h = a.shape[:2]
            raise InputError(
                f"an array of shape {a.shape} is ambiguous: by dataset_from_array's rule it reads as {n} "
                f"bands of {h}×1 px; for a single-band image pass array[..., 0] (or bands_last=True), for "
                "bands one pixel wide bands_last=False")
        bands_last = a.shape[-1] in (3, 4) and a.shape[0] > 4
    return np.moveaxis(a, -1, 0) if bands_last else a


def _as_affine(transform):
    """``transform`` (None: the identity; an ``Affine``; its 6 coefficients ``(a, b, c, d, e, f)``,
    or its 9 with the last row ``(0, 0, 1)``) as an ``Affine``; anything else is an
    :class:`InputError` (two numbers failed in affine's words, "Expected 6 coefficients, found 2")."""
    from affine import Affine

    from ..rules import check_number

    if transform is None:
        return Affine.identity()
    if isinstance(transform, Affine):
        return transform
    try:
        values = [check_number(v, "transform") for v in transform]
    except (TypeError, InputError):
        values = []
    if len(values) == 9 and values[6:] == [0.0, 0.0, 1.0]:
        values = values[:6]
    if len(values) != 6 or not all(np.isfinite(values)):
        raise InputError(f"transform must be an affine.Affine, its 6 coefficients (a, b, c, d, e, f) as "
                         f"numbers, or None, got {type(transform).__name__} {transform!r:.80}")
    return Affine(*values)


def dataset_from_array(array: np.ndarray, *, transform=None, crs=None, nodata=None,
                       bands_last: bool | None = None, colorinterp: Sequence[str] | None = None,
                       descriptions: Sequence[str | None] | None = None,
                       tags: Mapping[str, Any] | None = None, gcps=None,
                       scales: Sequence[float] | None = None, offsets: Sequence[float] | None = None,
                       units: Sequence[str | None] | None = None, rpcs=None,
                       band_tags: Sequence[Mapping[str, Any]] | None = None,
                       domains: Mapping[str, Mapping[str, Any]] | None = None):
    """An open, read-only in-memory rasterio dataset holding ``array`` and its georeferencing.

    Parameters
    ----------
    array : ``(bands, rows, cols)``, ``(rows, cols)`` or ``(rows, cols, bands)``. A 3-D array is
        taken as bands-last when ``bands_last`` is true, or (``bands_last=None``) when its last
        axis has 3 or 4 entries and its first more than 4 (napari's RGB/RGBA layers); with
        ``bands_last=None`` a last axis of 1 (``(rows, cols, 1)``, read by that rule as ``rows``
        bands one pixel wide) is refused as ambiguous: pass ``array[..., 0]`` or say ``bands_last``. Integer or
        float32/64 values (bool as uint8), at least one pixel; not a masked array (its mask would be
        lost): fill the masked pixels and pass the value as ``nodata``.
    transform : an ``Affine`` or its 6 coefficients in rasterio's order ``(a, b, c, d, e, f)``
        (a GDAL geotransform, ordered ``(c, a, b, f, d, e)``, must be passed as
        ``Affine.from_gdal(*gt)``); ``None`` = identity (no georef). A singular one (a pixel size of
        0: it places no grid) or anything else is an :class:`InputError`.
    crs : anything ``rasterio.crs.CRS.from_user_input`` takes (EPSG code, WKT, ``CRS``) or ``None``.
    nodata : the bands' nodata value, or ``None``.
    colorinterp, descriptions, tags : optional colour interpretation names (``"red"``, ...),
        band names and dataset tags.
    gcps : ``(ground control points, CRS)`` of a raster georeferenced by GCPs (with no
        ``transform``), or ``None``.
    scales, offsets, units : the bands' scale/offset and unit names (one per band), or ``None``.
    rpcs : the rational polynomial coefficients (a rasterio ``RPC``) on this array's grid, or ``None``.
    band_tags : each band's tags (one mapping per band; others are ignored), or ``None``.
    domains : dataset metadata in other GDAL domains, ``{domain: tags}`` (e.g. ``IMAGERY``), or ``None``.

    The dataset owns its memory; close it (or use it as a context manager) when done.
    """
    import warnings

    from rasterio.crs import CRS
    from rasterio.enums import ColorInterp
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    if isinstance(array, np.ma.MaskedArray):  # np.asarray would drop the mask: masked pixels read as data
        raise InputError("masked arrays are not supported (their mask would be ignored): fill the masked "
                         "pixels with a value the data never take and name it, e.g. "
                         "dataset_from_array(a.filled(v), nodata=v)")
    data = _as_bands_first(array, bands_last)
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    if data.dtype.kind not in "uif" or data.dtype.itemsize > 8 or data.dtype == np.float16:
        raise InputError(f"unsupported data type {data.dtype} (use integer or float32/64 arrays)")
    if data.size == 0:
        raise InputError(f"the array is empty (shape {np.shape(array)}): a raster needs at least one pixel")
    if data.dtype == np.int8 and _gdal_lacks_int8():  # pragma: no cover - GDAL < 3.7
        data = data.astype(np.int16)
    if nodata is not None:  # one an int64/uint64 band holds beyond 2**53 would be written as another
        from .nodata_override import check_exact

        check_exact(float(nodata), data.dtype, "the array")
    count, h, w = data.shape
    transform = _as_affine(transform)
    if not transform.is_identity and is_singular(transform):  # GDAL would store it mangled (a lone GCP)
        raise InputError(singular_refusal("the array", transform))
    prof = dict(driver="GTiff", width=w, height=h, count=count, dtype=data.dtype.name, nodata=nodata)
    if not transform.is_identity:  # the identity is no geotransform (not one declared beside a CRS)
        prof["transform"] = transform
    if crs is not None:
        prof["crs"] = CRS.from_user_input(crs)
    ci = [str(c).lower() for c in colorinterp] if colorinterp else None
    if ci and ci[-1] == "alpha" and count > 1:
        prof["alpha"] = GTIFF_ALPHA
    if ci and count in (3, 4) and ci[:3] == ["red", "green", "blue"] and data.dtype == np.uint8:
        prof["photometric"] = "RGB"
    memfile = MemoryFile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with memfile.open(**prof) as ds:
            ds.write(data)
            if ci:
                ds.colorinterp = [ColorInterp[c] for c in ci]
            for i, d in enumerate(descriptions or (), start=1):
                if d:
                    ds.set_band_description(i, str(d))
            if tags:
                ds.update_tags(**{k: str(v) for k, v in tags.items()})
            write_domains(ds, domains)
            if gcps and gcps[0]:
                write_gcps(ds, gcps[0], gcps[1])  # after the tags: AREA_OR_POINT counts
            if rpcs is not None:
                ds.rpcs = rpcs
            if band_tags is not None and len(band_tags) == count:
                for i, bt in enumerate(band_tags, start=1):
                    if bt:
                        ds.update_tags(i, **{k: str(v) for k, v in bt.items()})
            _set_band_values(ds, count, scales=scales, offsets=offsets, units=units)
        src = memfile.open()
    return _MemoryDataset(src, memfile)


def _set_band_values(ds, count: int, **values) -> None:
    """Set the bands' ``scales``/``offsets``/``units`` given one per band (others are ignored)."""
    for name, vals in values.items():
        if vals is not None and len(vals) == count:
            setattr(ds, name, tuple("" if v is None else v for v in vals) if name == "units" else tuple(vals))


def _gdal_lacks_int8() -> bool:  # pragma: no cover
    import rasterio

    return tuple(int(x) for x in rasterio.__gdal_version__.split(".")[:2]) < (3, 7)


class _MemoryDataset(DatasetProxy):
    """A rasterio dataset that also closes the ``MemoryFile`` behind it (attributes pass through)."""

    def __init__(self, dataset, memfile):
        super().__init__(dataset)
        self._memfile = memfile

    def close(self) -> None:
        self._dataset.close()
        self._memfile.close()

    def __repr__(self) -> str:
        return f"<in-memory {self._dataset!r}>"
