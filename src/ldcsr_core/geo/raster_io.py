"""Raster I/O with rasterio: windowed reads, exact output georeferencing, atomic GeoTIFF writes.

Everything here works by windows, so a scene larger than memory streams through:

* :func:`open_raster` opens any raster GDAL reads (GeoTIFF, PNG, JPEG, JP2, VRT, ...) and turns
  the usual failures into one-line errors: :class:`RasterIOError` (also an ``OSError``) when the
  file is missing or unreadable, :class:`InputError` when it is a raster we cannot work with
  (zero-size, complex or boolean bands);
* :func:`dataset_from_array` wraps a NumPy array (e.g. a napari layer) and its georeferencing in
  an in-memory dataset, so arrays take exactly the same path as files;
* :func:`read_raster` reads a dataset (or a window of it) into a :class:`GeoArray` - the raw
  values with their transform, CRS, nodata, tags, colour interpretation and band names - and
  :func:`write_raster` writes a :class:`GeoArray` atomically; these are what a viewer plugin
  needs to read and save layers (the napari reader shows raw values and leaves the display
  contrast to the viewer: there is no separate "display" read);
* :func:`scale_for_resolution`, :func:`scaled_transform` and
  :func:`output_profile` derive the output grid from ``src.profile``: the transform is scaled per
  axis from the *rounded* output size, so the output covers exactly the input's bounds;
* the writers (:class:`GeoTiffWriter`, :class:`BlockRowWriter`, the free-space check) live in
  :mod:`ldcsr_core.geo.geotiff_writer` and are re-exported here.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import files
from ..errors import InputError, RasterIOError, cause_line, one_line
from .geotiff_writer import (
    PROVENANCE_PREFIX, BlockRowWriter, GeoTiffWriter, check_free_space, clear_stale_parts, output_nbytes,
)

__all__ = [
    "RasterInfo",
    "GeoArray",
    "open_raster",
    "dataset_from_array",
    "read_raster",
    "write_raster",
    "raster_info",
    "scale_for_resolution",
    "scaled_transform",
    "output_profile",
    "decimated_read",
    "GeoTiffWriter",
    "BlockRowWriter",
    "same_file",
    "clear_stale_parts",
    "check_window",
    "check_dataset",
    "read_errors",
    "is_raster_name",
    "TEMP_SUFFIX",
    "AI_NOTICE",
    "PROVENANCE_PREFIX",
    "GTIFF_ALPHA",
    "georeferencing",
    "scale_gcps",
    "palette_expansion",
    "quiet_georef",
]

log = logging.getLogger(__name__)

TEMP_SUFFIX = files.PART_SUFFIX
AI_NOTICE = (
    "AI-generated: the pixels of this image were synthesised by a super-resolution model "
    "(LDCSR); they are not measurements and may contain invented detail."
)
# Keys in src.profile that describe the *input's* storage, not the output's.
_STORAGE_KEYS = (
    "blockxsize", "blockysize", "tiled", "compress", "interleave", "photometric", "predictor",
    "jpeg_quality", "jpegtablesmode", "zlevel", "zstd_level", "bigtiff", "quality", "reversible",
    "nbits", "sparse_ok", "profile", "blocksize", "num_threads",
)
_BIGTIFF_BYTES = 3_500_000_000  # uncompressed size above which BigTIFF is forced
# The GTiff driver's ALPHA creation option for an unassociated (not premultiplied) alpha band:
# YES = NON-PREMULTIPLIED (GDAL rejects "UNASSOCIATED" with a warning and drops the alpha flag).
GTIFF_ALPHA = "YES"
# rasterio's warnings about rasters without georeferencing (nothing to warn about: we write none).
_NO_GEOREF_MESSAGES = ("Dataset has no geotransform", "The given matrix is equal to Affine.identity")


@dataclass(frozen=True)
class RasterInfo:
    """What the CLI and the pipeline need to know about a source raster."""

    path: str
    driver: str
    width: int
    height: int
    count: int
    dtype: str
    crs: str | None
    is_projected: bool
    is_geographic: bool
    res: tuple[float, float]  # (x, y) pixel size in CRS units
    units: str | None
    nodata: float | None
    colorinterp: tuple[str, ...]
    descriptions: tuple[str | None, ...]
    mask_flags: tuple[tuple[str, ...], ...]
    bounds: tuple[float, float, float, float]
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_alpha(self) -> bool:
        return "alpha" in self.colorinterp

    @property
    def has_dataset_mask(self) -> bool:
        """A GDAL per-dataset mask that is neither nodata nor alpha (e.g. an internal mask band)."""
        return any("per_dataset" in f and "alpha" not in f and "nodata" not in f
                   for f in self.mask_flags)


def open_raster(path: str | os.PathLike, *, expand_palette: bool = True):
    """Open ``path`` read-only with rasterio.

    A single band with a colour table (class indices) is opened expanded through the table to
    RGB or RGBA bands (:func:`palette_expansion`; the result's ``palette_expanded`` says which),
    unless ``expand_palette`` is false: indices must never be interpolated. A raster without
    georeferencing opens without rasterio's ``NotGeoreferencedWarning``.

    Raises :class:`RasterIOError` (an ``OSError``) when the file is missing, a folder, empty or
    unreadable, and :class:`InputError` for a raster the engine cannot work with.
    """
    import rasterio
    from rasterio.errors import RasterioError

    p = Path(path)
    if not p.exists():
        raise RasterIOError(errno.ENOENT, f"input not found: {p}")
    if p.is_dir():
        raise RasterIOError(errno.EISDIR, f"input is a folder, not a raster file: {p}")
    if p.stat().st_size == 0:
        raise RasterIOError(errno.EIO, f"input is an empty file (0 bytes): {p}")
    if not os.access(p, os.R_OK):
        raise RasterIOError(errno.EACCES, f"cannot read {p}: permission denied")
    try:
        with quiet_georef():
            src = rasterio.open(p)
    except RasterioError as e:
        raise RasterIOError(errno.EIO, f"cannot read {p} as a raster (not a raster, or truncated "
                            f"or damaged): {cause_line(e)}") from None
    try:
        check_dataset(src, p)
        kind = palette_expansion(src, p) if expand_palette else None
    except InputError:
        src.close()
        raise
    if kind is None:
        return src
    driver = src.driver
    src.close()
    ds = _open_expanded(p, kind)
    ds.source_driver = driver
    return ds


def palette_expansion(src, name=None) -> str | None:
    """``"rgb"`` or ``"rgba"`` when ``src`` is one band of class indices with a colour table, else None.

    Such a band holds indices, not brightness: super-resolving it would invent indices between
    classes. It is expanded through its colour table instead (:func:`open_raster` does so);
    ``"rgba"`` when the table has transparent entries or the band has a nodata value (the alpha
    band then marks those pixels). A colour table on one band of several is an
    :class:`InputError` (expand or drop that band first).
    """
    ci = [c.name for c in src.colorinterp]
    if "palette" not in ci:
        return None
    name = name or src.name
    if src.count != 1:
        b = ci.index("palette") + 1
        raise InputError(
            f"{name}: band {b} of {src.count} has a colour table (class indices, not brightness), "
            f"which cannot be super-resolved; expand it first, e.g. gdal_translate -b {b} "
            "-expand rgb in.tif out.tif, or drop that band")
    try:
        cmap = src.colormap(1)
    except ValueError:  # "palette" without a table: nothing to expand through
        return None
    transparent = src.nodata is not None or any(len(v) > 3 and v[3] < 255 for v in cmap.values())
    return "rgba" if transparent else "rgb"


def _open_expanded(p: Path, kind: str):
    """``p`` opened through GDAL's ``vrt://...?expand=rgb|rgba`` (streamed, nothing copied)."""
    import rasterio
    from rasterio.errors import RasterioError

    hint = f"expand it first: gdal_translate -expand {kind} {p} {p.stem}_{kind}.tif"
    if "?" in str(p):
        raise InputError(f"{p} has a colour table (class indices, not brightness); {hint}")
    try:
        with quiet_georef():
            ds = rasterio.open(f"vrt://{p}?expand={kind}")
    except RasterioError as e:
        raise InputError(f"{p} has a colour table that GDAL could not expand "
                         f"({one_line(e)}); {hint}") from None
    return _ExpandedDataset(ds, str(p), kind)


class _ExpandedDataset:
    """A paletted raster seen through its colour table as RGB(A) bands (attributes pass through).

    ``name`` is the original file and ``source_driver`` its driver, ``gdal_name`` what GDAL opened
    (``vrt://NAME?expand=...``, to open it again); ``palette_expanded`` is ``"RGB"`` or ``"RGBA"``.
    """

    def __init__(self, dataset, name: str, kind: str):
        self._dataset = dataset
        self.name = name
        self.source_driver = dataset.driver
        self.gdal_name = dataset.name
        self.palette_expanded = kind.upper()

    def __getattr__(self, attr):
        return getattr(self._dataset, attr)

    def close(self) -> None:
        self._dataset.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self) -> str:
        return f"<{self.name} expanded to {self.palette_expanded}: {self._dataset!r}>"


@contextlib.contextmanager
def quiet_georef():
    """A context in which rasterio's ``NotGeoreferencedWarning`` about a raster without any
    georeferencing is not shown (such a raster is fine here: its output gets none either)."""
    import warnings

    with warnings.catch_warnings():
        for m in _NO_GEOREF_MESSAGES:
            warnings.filterwarnings("ignore", message=m)
        yield


def georeferencing(src) -> str:
    """How ``src`` is georeferenced: ``"transform"`` (a geotransform or a CRS), ``"gcps"``
    (ground control points only) or ``"none"`` (a plain picture: identity transform, no CRS, no GCPs)."""
    if src.crs is not None or not src.transform.is_identity:
        return "transform"
    gcps = getattr(src, "gcps", None)
    if gcps and gcps[0]:
        return "gcps"
    return "none"


def scale_gcps(gcps, scale: tuple[float, float], offset: tuple[int, int] = (0, 0)) -> list:
    """Ground control points moved onto an output pixel grid: ``row' = (row - oy)·sy``,
    ``col' = (col - ox)·sx`` for ``scale = (sy, sx)`` and window ``offset = (oy, ox)``;
    the ground coordinates stay as they are."""
    from rasterio.control import GroundControlPoint

    sy, sx = scale
    oy, ox = offset
    return [GroundControlPoint(row=(g.row - oy) * sy, col=(g.col - ox) * sx, x=g.x, y=g.y, z=g.z,
                               id=g.id, info=g.info) for g in gcps]


_BAD_TIFF = re.compile(r"Read error at (?:row|scanline) (\d+)(?:, col (\d+))?(?:, (tile|strip) (\d+))?"
                       r"(?:;\s*(.*))?")
_BAD_BLOCK = re.compile(r"band (\d+): IReadBlock failed at X offset (\d+), Y offset (\d+)(?::\s*(.*))?")


def read_error(name, exc: BaseException) -> RasterIOError:
    """One line for a failed read of raster ``name``: which block of which band, in plain words."""
    cause = cause_line(exc)
    m = _BAD_TIFF.search(cause)
    if m:
        row, col, kind, n, why = m.groups()
        what = f"{kind} {n}" if kind else "a block"
        if row and int(row) < 2**31:
            what += f" (at row {row}" + (f", column {col})" if col else ")")
        why = f": {why.strip().rstrip('.')}" if why else ""
        return RasterIOError(errno.EIO, f"{name} is truncated or damaged: GDAL could not read "
                             f"{what}{why}")
    m = _BAD_BLOCK.search(cause)
    if m:
        band, bx, by, why = m.groups()
        why = f" ({why.strip().rstrip('.')})" if why else ""
        return RasterIOError(errno.EIO, f"{name} is truncated or damaged: GDAL could not read "
                             f"block (row {by}, column {bx}) of band {band}{why}")
    return RasterIOError(errno.EIO, f"cannot read {name}: {cause}")


@contextlib.contextmanager
def read_errors(src):
    """Turn GDAL's read failures inside the block into :func:`read_error` for dataset ``src``."""
    from rasterio.errors import RasterioError

    try:
        yield
    except RasterioError as e:
        name = str(getattr(src, "name", src))
        name = "the layer" if name.startswith("/vsimem/") else Path(name).name
        raise read_error(name, e) from None


def check_dataset(src, name=None) -> None:
    """:class:`InputError` unless ``src`` has pixels and integer or floating-point bands."""
    name = name or src.name
    if src.width < 1 or src.height < 1 or src.count < 1:
        shape = (src.count, src.height, src.width)
        raise InputError(f"{name} is a zero-size raster (bands, rows, cols) = {shape}")
    kinds = {np.dtype(d).kind for d in src.dtypes}
    if not kinds <= set("uif"):
        raise InputError(f"{name}: unsupported data type {src.dtypes[0]} "
                         "(use integer or float bands)")
    if len(set(src.dtypes)) > 1:
        raise InputError(f"{name}: bands of different data types {sorted(set(src.dtypes))} "
                         "(convert to one type first, e.g. gdal_translate -ot)")


# ---------------------------------------------------------------------------------------------
# Arrays in and out: the same path as files
# ---------------------------------------------------------------------------------------------


@dataclass
class GeoArray:
    """A georeferenced array: ``data`` ``(bands, H, W)`` with what GDAL knows about it.

    ``transform`` is a rasterio/affine ``Affine`` (pixel corner → CRS), ``crs`` a rasterio ``CRS``
    or ``None``, ``nodata`` the bands' nodata value or ``None``; ``tags`` are dataset tags (for a
    super-resolved result, the source's tags plus the ``LDCSR_*`` provenance). ``mask`` is a GDAL
    per-dataset mask ``(H, W)`` uint8 (0 = invalid) when the source had one, else ``None``.
    ``gcps`` is ``(ground control points, their CRS)`` for a raster georeferenced by GCPs only
    (its ``transform`` is then the identity), else ``None``. A raster with no georeferencing at
    all has the identity ``transform``, no ``crs`` and no ``gcps``.
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

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return int(self.data.shape[-2]), int(self.data.shape[-1])

    @property
    def count(self) -> int:
        return int(self.data.shape[0])

    @property
    def res(self) -> tuple[float, float]:
        """``(x, y)`` pixel size in CRS units (of an unrotated grid)."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in CRS units."""
        from rasterio.transform import array_bounds

        H, W = self.shape
        west, south, east, north = array_bounds(H, W, self.transform)
        return west, south, east, north


def _as_bands_first(array: np.ndarray, bands_last: bool | None) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 2:
        return a[None]
    if a.ndim != 3:
        raise InputError(f"expected a (bands, rows, cols) or (rows, cols) array, got shape {a.shape}")
    if bands_last is None:  # napari's RGB(A) layers are (rows, cols, 3|4)
        bands_last = a.shape[-1] in (3, 4) and a.shape[0] > 4
    return np.moveaxis(a, -1, 0) if bands_last else a


def dataset_from_array(array: np.ndarray, *, transform=None, crs=None, nodata=None,
                       bands_last: bool | None = None, colorinterp: Sequence[str] | None = None,
                       descriptions: Sequence[str | None] | None = None,
                       tags: Mapping[str, Any] | None = None, gcps=None):
    """An open, read-only in-memory rasterio dataset holding ``array`` and its georeferencing.

    Parameters
    ----------
    array : ``(bands, rows, cols)``, ``(rows, cols)`` or ``(rows, cols, bands)``. A 3-D array is
        taken as bands-last when ``bands_last`` is true, or (``bands_last=None``) when its last
        axis has 3 or 4 entries and its first more than 4 (napari's RGB/RGBA layers).
    transform : an ``Affine`` or 6 GDAL/rasterio coefficients; ``None`` = identity (no georef).
    crs : anything ``rasterio.crs.CRS.from_user_input`` takes (EPSG code, WKT, ``CRS``) or ``None``.
    nodata : the bands' nodata value, or ``None``.
    colorinterp, descriptions, tags : optional colour interpretation names (``"red"``, ...),
        band names and dataset tags.
    gcps : ``(ground control points, CRS)`` of a raster georeferenced by GCPs (with no
        ``transform``), or ``None``.

    The dataset owns its memory; close it (or use it as a context manager) when done.
    """
    import warnings

    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.enums import ColorInterp
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    data = _as_bands_first(array, bands_last)
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    if data.dtype.kind not in "uif" or data.dtype == np.float16:
        raise InputError(f"unsupported data type {data.dtype} (use integer or float32/64 arrays)")
    if data.dtype == np.int8 and _gdal_lacks_int8():  # pragma: no cover - GDAL < 3.7
        data = data.astype(np.int16)
    count, h, w = data.shape
    if transform is None:
        transform = Affine.identity()
    elif not isinstance(transform, Affine):
        transform = Affine(*tuple(transform)[:6])
    prof = dict(driver="GTiff", width=w, height=h, count=count, dtype=data.dtype.name,
                transform=transform, nodata=nodata)
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
            if gcps and gcps[0]:
                ds.gcps = (list(gcps[0]), None if gcps[1] is None else CRS.from_user_input(gcps[1]))
        src = memfile.open()
    return _MemoryDataset(src, memfile)


def _gdal_lacks_int8() -> bool:  # pragma: no cover
    import rasterio

    return tuple(int(x) for x in rasterio.__gdal_version__.split(".")[:2]) < (3, 7)


class _MemoryDataset:
    """A rasterio dataset that also closes the ``MemoryFile`` behind it (attributes pass through)."""

    def __init__(self, dataset, memfile):
        self._dataset = dataset
        self._memfile = memfile

    def __getattr__(self, name):
        return getattr(self._dataset, name)

    def close(self) -> None:
        self._dataset.close()
        self._memfile.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self) -> str:
        return f"<in-memory {self._dataset!r}>"


def check_window(src, window) -> tuple[int, int, int, int]:
    """``(row_off, col_off, height, width)`` of ``window`` inside ``src`` (``None``: all of it).

    Accepts a 4-tuple or a rasterio ``Window``; :class:`InputError` if it is not inside.
    """
    if window is None:
        return 0, 0, src.height, src.width
    try:
        if hasattr(window, "row_off"):
            vals = (window.row_off, window.col_off, window.height, window.width)
        else:
            vals = tuple(window)
        y0, x0, h, w = (int(v) for v in vals)
    except (TypeError, ValueError):
        raise InputError(f"window must be (row_off, col_off, height, width), got {window!r}") from None
    if y0 < 0 or x0 < 0 or h < 1 or w < 1 or y0 + h > src.height or x0 + w > src.width:
        raise InputError(f"window {(y0, x0, h, w)} is not inside the {src.height}×{src.width} raster")
    return y0, x0, h, w


def read_raster(src, window: tuple[int, int, int, int] | None = None) -> GeoArray:
    """Read ``src`` (a path or an open dataset), or its ``(row_off, col_off, height, width)``
    window, into a :class:`GeoArray` of raw values (no stretch)."""
    from rasterio.windows import Window

    if isinstance(src, (str, os.PathLike)):
        with open_raster(src) as ds:
            return read_raster(ds, window)
    win = None
    transform = src.transform
    if window is not None:
        y0, x0, h, w = check_window(src, window)
        win = Window(x0, y0, w, h)
        transform = src.window_transform(win)
    if georeferencing(src) != "transform":  # a pixel offset is no georeferencing
        transform = src.transform
    with read_errors(src):
        data = src.read(window=win)
        mask = None
        if raster_info(src).has_dataset_mask:
            mask = src.dataset_mask(window=win)
    gcps = None
    if georeferencing(src) == "gcps":
        g, gcrs = src.gcps
        gcps = (g if win is None else scale_gcps(g, (1.0, 1.0), (win.row_off, win.col_off)), gcrs)
    return GeoArray(data, transform, src.crs, src.nodata, dict(src.tags()),
                    tuple(c.name for c in src.colorinterp), tuple(src.descriptions), mask, gcps)


def write_raster(path: str | os.PathLike, geo: GeoArray, *, overwrite: bool = False,
                 block: int = 512, compress: str = "deflate") -> Path:
    """Write ``geo`` as a tiled, compressed GeoTIFF at ``path``, atomically (see
    :class:`GeoTiffWriter`); tags, colour interpretation, band names and mask are kept."""
    with dataset_from_array(geo.data, transform=geo.transform, crs=geo.crs, nodata=geo.nodata,
                            bands_last=False, colorinterp=geo.colorinterp or None,
                            descriptions=geo.descriptions, gcps=geo.gcps) as mem:
        profile = output_profile(mem, geo.shape, block=block, compress=compress)
        check_free_space(Path(path).parent, output_nbytes(geo.shape, geo.count, geo.data.dtype),
                         name=Path(path).name)
        from rasterio.windows import Window

        with quiet_georef(), GeoTiffWriter(path, profile, src=mem, tags=geo.tags,
                                           overwrite=overwrite) as gw:
            win = Window(0, 0, geo.shape[1], geo.shape[0])
            gw.write(geo.data, win)
            if geo.mask is not None:
                gw.write_mask(np.asarray(geo.mask, np.uint8), win)
    return Path(path)


def raster_info(src) -> RasterInfo:
    """Summarise an open dataset."""
    crs = src.crs
    units = None
    if crs is not None:
        try:
            units = crs.linear_units if crs.is_projected else "degree"
        except Exception:  # pragma: no cover - exotic CRS
            units = None
    return RasterInfo(
        path=str(src.name),
        driver=src.driver,
        width=src.width,
        height=src.height,
        count=src.count,
        dtype=src.dtypes[0],
        crs=crs.to_string() if crs is not None else None,
        is_projected=bool(crs is not None and crs.is_projected),
        is_geographic=bool(crs is not None and crs.is_geographic),
        res=(abs(src.transform.a), abs(src.transform.e)),
        units=units,
        nodata=src.nodata,
        colorinterp=tuple(ci.name for ci in src.colorinterp),
        descriptions=tuple(src.descriptions),
        mask_flags=tuple(tuple(f.name for f in fl) for fl in src.mask_flag_enums),
        bounds=tuple(src.bounds),
        tags=dict(src.tags()),
    )


# ---------------------------------------------------------------------------------------------
# Output geometry
# ---------------------------------------------------------------------------------------------


def _positive_finite(v, what: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {v!r}") from None
    if not math.isfinite(f) or f <= 0:
        raise InputError(f"{what} must be a positive finite number, got {v!r}")
    return f


def scale_for_resolution(info: RasterInfo, target) -> tuple[float, float]:
    """Per-axis ``(sy, sx)`` that brings the pixel size to ``target`` (``t`` or ``(tx, ty)``, in the
    CRS's units, metres for the usual projected CRSs); the target must be finer than the input.

    Needs a projected CRS in metre-like units: a geographic CRS (degrees) raises a clear error,
    suggesting a scale or reprojecting first (``gdalwarp -t_srs EPSG:326xx``).
    """
    tx, ty = (target, target) if np.isscalar(target) else tuple(target)
    tx, ty = _positive_finite(tx, "target resolution"), _positive_finite(ty, "target resolution")
    if info.crs is None:
        raise InputError(
            f"{info.path} has no CRS, so its pixel size is unknown: give a scale instead"
        )
    if not info.is_projected:
        raise InputError(
            f"{info.path} is in a geographic CRS ({info.crs}, pixel size in degrees): "
            "a target resolution needs a projected CRS in metres; give a scale instead, or "
            "reproject first (e.g. gdalwarp -t_srs EPSG:32633)"
        )
    xres, yres = info.res
    if tx >= xres or ty >= yres:
        unit = info.units or "CRS units"
        raise InputError(
            f"target pixel size {tx:g} x {ty:g} {unit} is not finer than the input's "
            f"{xres:g} x {yres:g} {unit}: super-resolution makes pixels smaller"
        )
    return yres / ty, xres / tx


def scaled_transform(transform, in_shape: tuple[int, int], out_shape: tuple[int, int]):
    """The input transform scaled per axis by ``in/out`` so the output bounds equal the input's."""
    from affine import Affine

    h, w = in_shape
    H, W = out_shape
    s = Affine.scale(w / W, h / H)
    try:
        return transform @ s  # affine >= 2.4 spells composition '@'
    except TypeError:  # pragma: no cover - older affine
        return transform * s


def output_profile(
    src,
    out_shape: tuple[int, int],
    *,
    dtype: str | None = None,
    block: int = 512,
    compress: str = "deflate",
) -> dict:
    """Profile of the output GeoTIFF, derived from ``src.profile`` with a scaled transform.

    Tiled (``block``² blocks), compressed (``compress``, with the matching predictor), pixel
    interleaved, and BigTIFF when the uncompressed size could exceed the classic 4 GiB limit.
    CRS, nodata, band count and dtype are kept. Georeferencing follows the source's
    (:func:`georeferencing`): a scaled transform; or its GCPs moved onto the output grid, with
    their CRS; or, for a plain picture, none at all (never a made-up transform).
    """
    H, W = out_shape
    prof = dict(src.profile)
    for k in _STORAGE_KEYS:
        prof.pop(k, None)
    dt = np.dtype(dtype or src.dtypes[0])
    # Square tiles (multiples of 16, as TIFF requires), no larger than the image needs.
    block = min(int(block), max(16, -(-min(H, W) // 16) * 16))
    prof.update(
        driver="GTiff",
        height=H,
        width=W,
        dtype=dt.name,
        interleave="pixel",
    )
    georef = georeferencing(src)
    prof.pop("transform", None)
    prof.pop("gcps", None)
    if georef == "transform":
        prof["transform"] = scaled_transform(src.transform, (src.height, src.width), out_shape)
    if src.crs is None:
        prof.pop("crs", None)
    if georef == "gcps":
        gcps, gcrs = src.gcps
        prof["gcps"] = scale_gcps(gcps, (H / src.height, W / src.width))
        if gcrs is not None:
            prof["crs"] = gcrs
    prof.update(tiled=True, blockxsize=block, blockysize=block)
    if compress and compress.lower() != "none":
        prof["compress"] = compress
        if compress.lower() in ("deflate", "lzw", "zstd"):
            prof["predictor"] = 3 if dt.kind == "f" else 2
    # Colour interpretation that TIFF can only express at creation: RGB photometric, alpha.
    ci = [c.name for c in getattr(src, "colorinterp", ())]
    if len(ci) >= 3 and ci[:3] == ["red", "green", "blue"]:
        prof["photometric"] = "RGB"
    if ci and ci[-1] == "alpha" and len(ci) > 1:
        prof["alpha"] = GTIFF_ALPHA
    prof["num_threads"] = "ALL_CPUS"  # parallel block compression
    nbytes = H * W * src.count * dt.itemsize
    prof["bigtiff"] = "YES" if nbytes > _BIGTIFF_BYTES else "IF_SAFER"
    return prof


def decimated_read(src, max_pixels: int = 1_000_000):
    """``(bands, h', w')`` sample of the whole scene on a regular grid (about ``max_pixels``).

    Uses the file's overviews when it has them; otherwise reads the sampled rows one by one
    (each block is decompressed once, GDAL's cache holds one block row), which is far quicker
    than GDAL's pixel-by-pixel decimation on large tiled files. Returns the array, the
    per-dataset mask sample (or ``None``) and the sampling step.
    """
    with read_errors(src):
        return _decimated_read(src, max_pixels)


def _decimated_read(src, max_pixels: int):
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    h, w = src.height, src.width
    step = max(1, int(math.ceil(math.sqrt(h * w / max_pixels))))
    rows = np.arange(step // 2, h, step)
    cols = np.arange(step // 2, w, step)
    want_mask = any(
        "per_dataset" in [f.name for f in fl] and "nodata" not in [f.name for f in fl]
        and "alpha" not in [f.name for f in fl] for fl in src.mask_flag_enums)
    if step == 1 or src.overviews(1):
        out_shape = (len(rows), len(cols))
        data = src.read(out_shape=(src.count, *out_shape), resampling=Resampling.nearest)
        mask = (src.dataset_mask(out_shape=out_shape, resampling=Resampling.nearest)
                if want_mask else None)
        return data, mask, step
    data = np.empty((src.count, len(rows), len(cols)), src.dtypes[0])
    mask = np.empty((len(rows), len(cols)), np.uint8) if want_mask else None
    # Read whole block rows (one decompression per block; single-row reads of pixel-interleaved
    # tiles are ~100× slower) and keep the sampled rows and columns.
    bh = min(max(src.block_shapes[0][0], 1), 1024)
    bh = max(bh, min(h, max(1, (8 << 20) // max(1, w * src.count * data.itemsize))))  # ≥ 8 MiB
    k = 0
    for y0 in range(0, h, bh):
        n = min(bh, h - y0)
        sel = rows[(rows >= y0) & (rows < y0 + n)]
        if not sel.size:
            continue
        win = Window(0, y0, w, n)
        data[:, k : k + sel.size] = src.read(window=win)[:, sel - y0][:, :, cols]
        if want_mask:
            mask[k : k + sel.size] = src.dataset_mask(window=win)[sel - y0][:, cols]
        k += sel.size
    return data, mask, step


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (resolving links; ``b`` may not exist)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return pa.resolve() == pb.resolve()


def is_raster_name(p: Path, extensions: Sequence[str] = (
        ".tif", ".tiff", ".gtiff", ".png", ".jpg", ".jpeg", ".jp2", ".vrt", ".img")) -> bool:
    return p.is_file() and p.suffix.lower() in extensions and not p.name.startswith(".")
