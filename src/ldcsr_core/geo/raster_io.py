"""Raster I/O with rasterio: windowed reads, exact output georeferencing, atomic GeoTIFF writes.

Everything here works by windows, so a scene larger than memory streams through:

* :func:`open_raster` opens any raster GDAL reads (GeoTIFF, PNG, JPEG, JP2, VRT, ...) and turns
  the usual failures into one-line errors: :class:`RasterIOError` (also an ``OSError``) when the
  file is missing or unreadable, :class:`InputError` when it is a raster we cannot work with
  (zero-size, complex or boolean bands);
* :func:`dataset_from_array` wraps a NumPy array (e.g. a napari layer) and its georeferencing in
  an in-memory dataset, so arrays take exactly the same path as files (:mod:`.arrays`);
* :func:`read_raster` reads a dataset (or a window of it) into a :class:`GeoArray` - the raw
  values with their transform, CRS, nodata, tags, colour interpretation and band names - and
  :func:`write_raster` writes a :class:`GeoArray` atomically; these are what a viewer plugin
  needs to read and save layers (the napari reader shows raw values and leaves the display
  contrast to the viewer: there is no separate "display" read);
* the rest lives in rooms of its own and is re-exported here: the output grid and its
  georeferencing in :mod:`.georef`, paletted rasters in :mod:`.palette`, damaged-file messages in
  :mod:`.read_failures`, the writers in :mod:`.geotiff_writer` (:class:`GeoTiffWriter`, the
  free-space check) and :mod:`.block_rows` (:class:`BlockRowWriter`).
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .. import files
from ..files import check_readable, same_file
from ..errors import InputError, RasterIOError, cause_line
from ..rules import RASTER_SUFFIXES, check_flag, check_path
from ..words import path_said
from .arrays import GeoArray, dataset_from_array
from .georef import (
    GTIFF_ALPHA, crs_units, georeferencing, output_profile, quiet_georef, scale_for_resolution, scale_gcps,
    affine_apply, band_tags, carried_domains, scale_rpcs, scaled_transform, source_rpcs,
)
from .block_rows import BlockRowWriter
from .geotiff_writer import PROVENANCE_PREFIX, GeoTiffWriter, clear_stale_parts
from .crs_override import with_crs
from .gdal_cache import read_bands
from .nodata_masks import file_one_nodata
from .nodata_override import check_file_nodata, quiet_wide_nodata, with_nodata
from .palette import open_expanded, palette_expansion
from .read_failures import gdal_errors, read_error, read_errors
from .sample_read import decimated_read  # noqa: F401 - re-exported (the engine's stretch sample)

__all__ = [
    "RasterInfo",
    "GeoArray",
    "open_raster",
    "dataset_from_array",
    "read_raster",
    "band_values",
    "write_raster",
    "raster_info",
    "pixel_size",
    "scale_for_resolution",
    "scaled_transform",
    "output_profile",
    "decimated_read",
    "GeoTiffWriter",
    "BlockRowWriter",
    "same_file", "files_read",
    "clear_stale_parts",
    "check_window",
    "window_in_shape",
    "check_dataset",
    "read_errors",
    "read_error",
    "is_raster_name",
    "virtual_path",
    "TEMP_SUFFIX",
    "AI_NOTICE",
    "NODATA_NOTICE",
    "NOTICES",
    "PROVENANCE_PREFIX",
    "GTIFF_ALPHA",
    "georeferencing",
    "scale_gcps",
    "scale_rpcs",
    "source_rpcs",
    "palette_expansion",
    "quiet_georef",
]

log = logging.getLogger(__name__)

TEMP_SUFFIX = files.PART_SUFFIX
AI_NOTICE = (
    "AI-generated: the pixels of this image were synthesised by a super-resolution model "
    "(LDCSR); they are not measurements and may contain invented detail."
)
#: The ``LDCSR_NOTICE`` of an output all nodata (:func:`~.job.output_notice`): no pixel of it was synthesised
NODATA_NOTICE = (
    "No pixel of this image was synthesised: every pixel of the input it was made from is nodata, so it is "
    "nodata everywhere (LDCSR ran no model on any of it)."
)
#: Every ``LDCSR_NOTICE`` an output carries: :data:`AI_NOTICE`, or :data:`NODATA_NOTICE`
NOTICES = (AI_NOTICE, NODATA_NOTICE)


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
    georef: str = "transform"  # how it is placed: georef.georeferencing()
    transform: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # its geotransform's 6 coefficients

    @property
    def has_alpha(self) -> bool:
        return "alpha" in self.colorinterp

    @property
    def placed(self) -> bool:
        """Whether a geotransform places the raster, so that :attr:`res` and :attr:`bounds` mean
        something: not for one placed by GCPs or RPCs alone, nor a plain picture (a CRS without a
        geotransform too), whose ``res`` is the identity's 1 × 1 (said 'unknown (no geotransform)')."""
        return self.georef == "transform"

    @property
    def has_dataset_mask(self) -> bool:
        """A GDAL per-dataset mask that is neither nodata nor alpha (e.g. an internal mask band)."""
        return any("per_dataset" in f and "alpha" not in f and "nodata" not in f
                   for f in self.mask_flags)


def open_raster(path: str | os.PathLike, *, expand_palette: bool = True, nodata=None, crs=None):
    """Open ``path`` read-only with rasterio. ``nodata``: the user's nodata instead of the file's (a number,
    several in a tuple, ``"none"``: every value is data; None: the file's), see
    :func:`~ldcsr_core.geo.nodata_override.with_nodata`; ``crs``: the user's CRS instead of the file's (None: the
    file's), see :func:`~ldcsr_core.geo.crs_override.with_crs`.

    A single band with a colour table (class indices) is opened expanded through the table to RGB or RGBA bands
    (:func:`palette_expansion`; the result's ``palette_expanded`` says which), unless ``expand_palette`` is false:
    indices must never be interpolated. A raster without georeferencing opens without ``NotGeoreferencedWarning``.

    Raises :class:`RasterIOError` (an ``OSError``) when the file is missing, a folder, empty or unreadable, or
    rasterio is not installed, and :class:`InputError` for a raster the engine cannot work with.
    """
    expand_palette = check_flag(expand_palette, "expand_palette")  # 'no' was true
    p = check_path(path, "input")
    virtual = virtual_path(os.fsdecode(path))  # as given: Path() folds vrt:// to vrt:/
    if virtual is not None:
        raise InputError(virtual)
    if not p.exists():
        if p.is_symlink():
            try:
                os.stat(p)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise RasterIOError(errno.ELOOP, f"input is a link that leads back to itself (a loop): "
                                        f"{p} -> {os.readlink(p)}") from None
            raise RasterIOError(errno.ENOENT, f"input is a broken link: {p} -> {os.readlink(p)} (not found)")
        raise RasterIOError(errno.ENOENT, f"input not found: {path_said(p)}")
    if p.is_dir():
        raise RasterIOError(errno.EISDIR, f"input is a folder, not a raster file: {p}")
    if not p.is_file():
        raise RasterIOError(errno.EIO, f"input is not a regular file (a device, a pipe or a socket): {p}")
    if p.stat().st_size == 0:
        raise RasterIOError(errno.EIO, f"input is an empty file (0 bytes): {p}")
    check_readable(p)
    try:  # a machine with the training's needs alone (torch, numpy, Pillow: the lent GPU) has none
        import rasterio
    except ImportError as e:
        raise RasterIOError(errno.EIO, f"cannot read {p} as a raster: rasterio is not installed ({e})") from None
    from ..file_names import file_version

    try:  # before the open: a file renamed over p while it opens is another version (_check_decodes)
        version = file_version(p)
    except OSError:
        version = None
    try:
        with quiet_georef(), quiet_wide_nodata():  # GDAL's approximate-nodata warning: check_file_nodata
            src = rasterio.open(p)
    except gdal_errors() as e:
        raise RasterIOError(errno.EIO, f"cannot read {p} as a raster (not a raster, or truncated "
                            f"or damaged): {cause_line(e)}") from None
    except UnicodeError:  # GDAL takes UTF-8 names; a name in another encoding cannot be passed on
        raise RasterIOError(errno.EINVAL, f"cannot open {str(p)!r}: its name is not valid UTF-8 "
                            "(rename the file)") from None
    try:
        check_dataset(src, p)
        _check_decodes(src, p, version)
        kind = palette_expansion(src, p) if expand_palette else None
    except (InputError, RasterIOError):
        src.close()
        raise
    if kind is not None:
        driver = src.driver
        src.close()
        src = open_expanded(p, kind)
        src.source_driver = driver
    try:
        if nodata is None:  # the file's own: one a 64-bit band holds beyond 2**53 is not exact
            check_file_nodata(src, p)
        return with_crs(with_nodata(src, nodata), crs)
    except InputError:
        src.close()
        raise


def virtual_path(path) -> str | None:
    """Why ``path`` cannot be read when it is no file on disk but a name GDAL opens otherwise, else
    ``None``: a file in one of its virtual file systems (``/vsizip/archive.zip/scene.tif``,
    ``/vsicurl/https://...``) or a dataset name (a subdataset as ``gdalinfo`` lists them,
    ``NETCDF:"f.nc":var``, ``GTIFF_DIR:2:f.tif``; ``vrt://f.tif?bands=1``). The engine reads files
    on disk (an output's name, the resume check and the never-overwrite-an-input rule are about
    files); without this such a name was said to be 'not found'."""
    s = os.fspath(path)
    if os.path.lexists(s):
        return None
    m = re.match(r"/vsi([a-z0-9_]+)/", s)
    if m is not None:
        how = "extract it" if m.group(1) in ("zip", "tar", "7z", "rar", "gzip") else "copy it to a file"
        return (f"{s} is a GDAL virtual path (/vsi{m.group(1)}/), which ldcsr does not read: {how} "
                "first and give that file's path")
    # a driver's prefix (upper case, as GDAL's are): not a drive letter (C:), nor a name 'scene:2.tif'
    if re.match(r"(vrt://|[A-Z][A-Z0-9_]+:)", s):
        return (f"{s} is a GDAL dataset name, not a file, which ldcsr does not read: convert it to a "
                f"GeoTIFF first, e.g. gdal_translate '{s}' one.tif")
    return None


_DECODED: set[tuple] = set()  # the versions of PNGs (file_names.file_version) _check_decodes found whole


def _check_decodes(src, p: Path, version: tuple | None) -> None:
    """A damaged PNG reads as the whole image without any error (GDAL's whole-image path ignores
    libpng's), with different garbage on each read; a window read reports it.  Reading the last row
    decodes every row once, so a damaged PNG is refused here rather than super-resolved; once per
    version of the file (napari's reader and a run open it several times: each open decoded it all).
    ``version``: p's, taken before ``src`` was opened; only where p still has it was ``src`` that file
    (before, p's version after the open was recorded: a damaged file renamed over p meanwhile was
    then taken as checked while the file before it had been decoded)."""
    if src.driver != "PNG":
        return
    from ..file_names import file_version

    try:
        same = version is not None and file_version(p) == version
    except OSError:  # renamed away since
        same = False
    if same and version in _DECODED:
        return
    _decode_last_row(src)
    if not same:
        return
    if len(_DECODED) >= 256:  # bounded: a batch of thousands of PNGs
        _DECODED.clear()
    _DECODED.add(version)


def _decode_last_row(src) -> None:
    from rasterio.windows import Window

    with read_errors(src):
        src.read(1, window=Window(0, src.height - 1, src.width, 1))


def check_dataset(src, name=None) -> None:
    """:class:`InputError` unless ``src`` has pixels and integer or floating-point bands."""
    name = name or src.name
    if src.count < 1 and getattr(src, "subdatasets", None):
        subs = src.subdatasets
        raise InputError(f"{name} is a container of {len(subs)} rasters (subdatasets), not one raster: "
                         f"convert the one you want to a GeoTIFF first, e.g. gdal_translate '{subs[0]}' "
                         "one.tif (`gdalinfo` lists them)")
    if src.width < 1 or src.height < 1 or src.count < 1:
        shape = (src.count, src.height, src.width)
        raise InputError(f"{name} is a zero-size raster (bands, rows, cols) = {shape}")
    bad = [d for d in src.dtypes if _dtype_kind(d) not in "uif"]
    if bad:
        why = (": complex bands (SAR, e.g. a Sentinel-1 SLC) are not brightness values; convert "
               "them to amplitude first" if "complex" in str(bad[0]) else " (use integer or float bands)")
        raise InputError(f"{name}: unsupported data type {bad[0]}{why}")
    if len(set(src.dtypes)) > 1:
        raise InputError(f"{name}: bands of different data types {sorted(set(src.dtypes))} "
                         "(convert to one type first, e.g. gdal_translate -ot)")


def _dtype_kind(name) -> str:
    """NumPy's kind of a band's data type; ``"?"`` for a GDAL type NumPy has not (rasterio's
    ``complex_int16``, GDAL's CInt16, which ``np.dtype`` refuses with a TypeError)."""
    try:
        return np.dtype(name).kind
    except TypeError:
        return "?"


# ---------------------------------------------------------------------------------------------
# Arrays in and out: the same path as files
# ---------------------------------------------------------------------------------------------


def check_window(src, window) -> tuple[int, int, int, int]:
    """``(row_off, col_off, height, width)`` of ``window`` (a 4-tuple or a rasterio ``Window``; ``None``:
    all of it) inside ``src``; :class:`InputError` if it is not inside."""
    return window_in_shape(window, (src.height, src.width))


def window_in_shape(window, shape: tuple[int, int], what: str = "raster") -> tuple[int, int, int, int]:
    """:func:`check_window` for a ``(height, width)`` ``shape`` (an array, or a raster's size)."""
    H, W = (int(v) for v in shape)
    if window is None:
        return 0, 0, H, W
    try:
        if hasattr(window, "row_off"):
            vals = (window.row_off, window.col_off, window.height, window.width)
        else:
            vals = tuple(window)
        if len(vals) != 4 or any(isinstance(v, (str, bytes, bool, np.bool_)) for v in vals):
            raise ValueError
        exact = [float(v) for v in vals]
        y0, x0, h, w = (round(v) for v in exact)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"window must be (row_off, col_off, height, width), got {window!r}") from None
    # whole pixels, up to float noise (rasterio's from_bounds gives 99.99999999): a fraction was cut
    # off before, so the window covered other pixels than asked for
    if any(abs(v - r) > 1e-6 for v, r in zip(exact, (y0, x0, h, w))):
        raise InputError(f"window must be whole pixels, got {window!r}: round it first (a rasterio "
                         "Window: window.round_offsets().round_lengths())")
    if y0 < 0 or x0 < 0 or h < 1 or w < 1 or y0 + h > H or x0 + w > W:
        raise InputError(f"the window of rows {y0}–{y0 + h} and columns {x0}–{x0 + w} is not inside the "
                         f"{what} of {H} rows × {W} columns")
    return y0, x0, h, w


def read_raster(src, window: tuple[int, int, int, int] | None = None, *, data=None) -> GeoArray:
    """``src`` (a path or an open dataset), or its ``(row_off, col_off, height, width)`` window, as a
    :class:`GeoArray` of raw values (no stretch); ``data``: its pixels if the caller read them. Bands whose
    nodata differ (a VRT) get the one value an output declares (:func:`~.nodata_masks.file_one_nodata`)."""
    from rasterio.windows import Window

    if not hasattr(src, "read"):  # a path (or what open_raster says is none)
        with open_raster(src) as ds:
            return read_raster(ds, window, data=data)
    win = None
    transform = src.transform
    if window is not None:
        y0, x0, h, w = check_window(src, window)
        win = Window(x0, y0, w, h)
        transform = src.window_transform(win)
    if georeferencing(src) != "transform":  # a pixel offset is no georeferencing
        transform = src.transform
    with read_errors(src):
        if data is None:
            data = read_bands(src, win)
        if (one := file_one_nodata(src)) is not None:  # the file's nodata differs by band
            data = one(np.array(data))
        mask = None
        if raster_info(src).has_dataset_mask:
            mask = src.dataset_mask(window=win)
    gcps = None
    if georeferencing(src) == "gcps":
        g, gcrs = src.gcps
        gcps = (g if win is None else scale_gcps(g, (1.0, 1.0), (win.row_off, win.col_off)), gcrs)
    rpcs = source_rpcs(src)
    if rpcs is not None and win is not None:
        rpcs = scale_rpcs(rpcs, (1.0, 1.0), (win.row_off, win.col_off))
    return GeoArray(data, transform, src.crs, src.nodata, dict(src.tags()),
                    tuple(c.name for c in src.colorinterp), tuple(src.descriptions), mask, gcps,
                    *band_values(src), rpcs=rpcs, band_tags=band_tags(src), domains=carried_domains(src))


def band_values(src) -> tuple[tuple, tuple, tuple]:
    """``(scales, offsets, units)`` of ``src``'s bands, each ``()`` when all are the default."""
    scales, offsets, units = tuple(src.scales), tuple(src.offsets), tuple(src.units)
    return (scales if any(v != 1.0 for v in scales) else (),
            offsets if any(v != 0.0 for v in offsets) else (),
            units if any(units) else ())


def write_raster(path: str | os.PathLike, geo: GeoArray, *, overwrite: bool = False,
                 block: int = 512, compress: str = "deflate") -> Path:
    """Write ``geo`` as a tiled, compressed GeoTIFF at ``path``, atomically (see
    :class:`GeoTiffWriter`); tags (dataset and band), colour interpretation, band names, scales,
    offsets, units, RPCs and mask are kept. An output another run is making now is not written
    (:class:`~ldcsr_core.errors.OutputBusy`)."""
    path, overwrite = check_path(path, "output"), check_flag(overwrite, "overwrite")  # 'false' was true
    with dataset_from_array(geo.data, transform=geo.transform, crs=geo.crs, nodata=geo.nodata,
                            bands_last=False, colorinterp=geo.colorinterp or None,
                            descriptions=geo.descriptions, gcps=geo.gcps, scales=geo.scales or None,
                            offsets=geo.offsets or None, units=geo.units or None, rpcs=geo.rpcs,
                            band_tags=geo.band_tags or None, domains=geo.domains) as mem:
        profile = output_profile(mem, geo.shape, block=block, compress=compress)
        from rasterio.windows import Window

        with quiet_georef(), GeoTiffWriter(path, profile, src=mem, tags=geo.tags,
                                           overwrite=overwrite, claim=True, mask=geo.mask is not None) as gw:
            win = Window(0, 0, geo.shape[1], geo.shape[0])
            gw.write(geo.data, win)
            if geo.mask is not None:
                gw.write_mask(np.asarray(geo.mask, np.uint8), win)
    return Path(path)


def pixel_size(transform) -> tuple[float, float]:
    """``(x, y)`` pixel size of a geotransform: the lengths of its column and row steps, so a
    rotated or sheared grid's pixels are measured along their own edges."""
    t = transform
    return float(np.hypot(t.a, t.d)), float(np.hypot(t.b, t.e))


def raster_info(src) -> RasterInfo:
    """Summarise an open dataset."""
    crs = src.crs
    units = crs_units(crs)
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
        res=pixel_size(src.transform),
        units=units,
        nodata=src.nodata,
        colorinterp=tuple(ci.name for ci in src.colorinterp),
        descriptions=tuple(src.descriptions),
        mask_flags=tuple(tuple(f.name for f in fl) for fl in src.mask_flag_enums),
        bounds=_bounds(src),
        tags=dict(src.tags()),
        georef=georeferencing(src),
        transform=tuple(float(v) for v in tuple(src.transform)[:6]),
    )


def _bounds(src) -> tuple[float, float, float, float]:
    """``(left, bottom, right, top)`` = (min x, min y, max x, max y) of the raster's corners: rasterio's
    ``bounds`` of a south-up or east-left grid has bottom above top, or left right of right."""
    t, w, h = src.transform, src.width, src.height
    xs, ys = zip(*(affine_apply(t, c) for c in ((0, 0), (w, 0), (0, h), (w, h))))
    return float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))


# ---------------------------------------------------------------------------------------------
# Output geometry
# ---------------------------------------------------------------------------------------------


def files_read(src) -> list[tuple[Path, str]]:
    """The files the open dataset ``src`` reads (GDAL's file list: the raster, its sidecars such as
    a ``.msk`` or ``.aux.xml``, a VRT's sources), each with what it is: ``"the input"`` or ``"a file
    NAME reads"``.  For :func:`ldcsr_core.files.check_report_path`'s ``inputs``."""
    main = Path(str(src.name))
    return [(Path(f), "the input" if same_file(f, main) else f"a file {main.name} reads")
            for f in getattr(src, "files", None) or () if not str(f).startswith("/vsi")]


def read_keys(src) -> list[tuple[Path, str, frozenset]]:
    """:func:`files_read` of ``src``, each with its :func:`~ldcsr_core.files.file_keys`: looked at once (GDAL stats a
    VRT's every source as it lists them; before, a VRT of 1000 sources was listed and looked at again for each output
    and each of its sidecars: 2.3 s a run, 0.3 s before those)."""
    return [(f, what, files.file_keys(f)) for f, what in files_read(src)]


def files_read_at(path) -> list[tuple[Path, str]]:
    """:func:`files_read` of the raster at ``path`` as GDAL opens it by default (what a layer of it reads: napari's
    Save, QGIS's project layers); only ``path`` where it cannot be opened, none where it is no file."""
    import rasterio

    if not os.path.isfile(path):
        return []
    try:
        with rasterio.open(path) as ds:
            return files_read(ds)
    except (rasterio.errors.RasterioError, OSError, ValueError):
        return [(Path(path), "the input")]


def is_raster_name(p: Path, extensions: Sequence[str] = RASTER_SUFFIXES, *, check_file: bool = True) -> bool:
    """Whether ``p`` is named like a raster (:data:`~ldcsr_core.rules.RASTER_SUFFIXES`; and, with
    ``check_file``, is a file); hidden names are not."""
    return (not check_file or p.is_file()) and p.suffix.lower() in extensions and not p.name.startswith(".")
