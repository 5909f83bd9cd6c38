"""Raster I/O with rasterio: windowed reads, exact output georeferencing, atomic GeoTIFF writes.

Everything here works by windows, so a scene larger than memory streams through:

* :func:`open_raster` opens any raster GDAL reads (GeoTIFF, PNG, JPEG, JP2, VRT, ...) and turns
  the usual failures (missing, unreadable, zero-size) into one-line :class:`InputError` messages;
* :func:`scale_for_resolution`, :func:`scaled_transform` and
  :func:`output_profile` derive the output grid from ``src.profile``: the transform is scaled per
  axis from the *rounded* output size, so the output covers exactly the input's bounds;
* :class:`GeoTiffWriter` writes a tiled, compressed (Big)GeoTIFF to a temporary file in the
  destination folder and renames it into place only when complete: a failure or Ctrl-C leaves
  neither partial output nor stray temporary files;
* :class:`BlockRowWriter` takes finished rows in order (the sink side of the engine's
  ``RowMerger``) and writes whole block rows by window.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InputError, LdcsrError

__all__ = [
    "RasterInfo",
    "open_raster",
    "raster_info",
    "scale_for_resolution",
    "scaled_transform",
    "output_profile",
    "decimated_read",
    "GeoTiffWriter",
    "BlockRowWriter",
    "same_file",
    "is_raster_name",
    "TEMP_SUFFIX",
    "AI_NOTICE",
    "PROVENANCE_PREFIX",
]

TEMP_SUFFIX = ".ldcsr-part"
PROVENANCE_PREFIX = "LDCSR_"
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


def open_raster(path: str | os.PathLike):
    """Open ``path`` read-only with rasterio; clear :class:`InputError` on any failure."""
    import rasterio
    from rasterio.errors import RasterioError

    p = Path(path)
    if not p.exists():
        raise InputError(f"input not found: {p}")
    if p.is_dir():
        raise InputError(f"input is a folder, not a raster file: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"input is an empty file (0 bytes): {p}")
    try:
        src = rasterio.open(p)
    except RasterioError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"cannot read {p} as a raster: {msg}") from None
    if src.width < 1 or src.height < 1 or src.count < 1:
        shape = (src.count, src.height, src.width)
        src.close()
        raise InputError(f"{p} is a zero-size raster (bands, rows, cols) = {shape}")
    kinds = {np.dtype(d).kind for d in src.dtypes}
    if not kinds <= set("uif"):
        src.close()
        raise InputError(f"{p}: unsupported data type {src.dtypes[0]} (use integer or float bands)")
    return src


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
    """Per-axis ``(sy, sx)`` that brings the pixel size to ``target`` metres (``t`` or ``(tx, ty)``).

    Needs a projected CRS in metre-like units: a geographic CRS (degrees) raises a clear error,
    suggesting ``--scale`` or reprojecting first (``gdalwarp -t_srs EPSG:326xx``).
    """
    tx, ty = (target, target) if np.isscalar(target) else tuple(target)
    tx, ty = _positive_finite(tx, "target resolution"), _positive_finite(ty, "target resolution")
    if info.crs is None:
        raise InputError(
            f"{info.path} has no CRS, so its pixel size is unknown: use --scale instead"
        )
    if not info.is_projected:
        raise InputError(
            f"{info.path} is in a geographic CRS ({info.crs}, pixel size in degrees): "
            "--target-resolution needs a projected CRS in metres; use --scale, or reproject first "
            "(e.g. gdalwarp -t_srs EPSG:32633)"
        )
    xres, yres = info.res
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
    CRS, nodata, band count and dtype are kept.
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
        transform=scaled_transform(src.transform, (src.height, src.width), out_shape),
        interleave="pixel",
    )
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
        prof["alpha"] = "UNASSOCIATED"
    prof["num_threads"] = "ALL_CPUS"  # parallel block compression
    nbytes = H * W * src.count * dt.itemsize
    prof["bigtiff"] = "YES" if nbytes > _BIGTIFF_BYTES else "IF_SAFER"
    if src.crs is None:
        prof.pop("crs", None)
    return prof


def decimated_read(src, max_pixels: int = 1_000_000):
    """``(bands, h', w')`` sample of the whole scene on a regular grid (about ``max_pixels``).

    Uses the file's overviews when it has them; otherwise reads the sampled rows one by one
    (each block is decompressed once, GDAL's cache holds one block row), which is far quicker
    than GDAL's pixel-by-pixel decimation on large tiled files. Returns the array, the
    per-dataset mask sample (or ``None``) and the sampling step.
    """
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


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class GeoTiffWriter:
    """Write a GeoTIFF to a temporary file next to ``path``; rename it into place on success.

    Use as a context manager. On a normal exit the dataset is closed and atomically renamed to
    ``path`` (with its ``.aux.xml`` sidecar, if GDAL made one); on any exception, including
    ``KeyboardInterrupt``, the temporary file is removed and ``path`` is left untouched.

    Parameters
    ----------
    path : final output path; its folder must exist.
    profile : rasterio profile (e.g. from :func:`output_profile`).
    src : optional source dataset whose band descriptions, colour interpretation, tags (dataset
        and per band), units, scales and offsets are copied.
    tags : extra dataset tags (provenance), written last.
    overwrite : replace an existing ``path``; otherwise :class:`InputError` if it exists.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        profile: Mapping[str, Any],
        *,
        src=None,
        tags: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ):
        self.path = Path(path)
        self.profile = dict(profile)
        self.src = src
        self.tags = dict(tags or {})
        self.overwrite = overwrite
        self.dataset = None
        self.tmp_path: Path | None = None

    def __enter__(self):
        import rasterio
        from rasterio.errors import RasterioError

        folder = self.path.parent
        if not folder.is_dir():
            raise InputError(f"output folder does not exist: {folder}")
        if self.path.exists() and not self.overwrite:
            raise InputError(f"output exists: {self.path} (use --overwrite to replace it)")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=folder)
        os.close(fd)
        self.tmp_path = Path(tmp)
        try:
            self.dataset = rasterio.open(self.tmp_path, "w", **self.profile)
            if self.src is not None:
                self._copy_metadata(self.src, self.dataset)
        except BaseException as e:
            self._cleanup()
            if isinstance(e, RasterioError):
                raise LdcsrError(f"cannot create {self.path}: {e}") from None
            raise
        return self

    @staticmethod
    def _copy_metadata(src, dst) -> None:
        if src.count == dst.count:
            try:
                dst.colorinterp = src.colorinterp
            except Exception:  # some combinations are not expressible in TIFF; keep GDAL's
                pass
            for i in range(1, dst.count + 1):
                desc = src.descriptions[i - 1]
                if desc:
                    dst.set_band_description(i, desc)
                btags = src.tags(i)
                if btags:
                    dst.update_tags(i, **btags)
            if any(u for u in src.units):
                dst.units = src.units
            if any(s != 1.0 for s in src.scales):
                dst.scales = src.scales
            if any(o != 0.0 for o in src.offsets):
                dst.offsets = src.offsets
        stags = {k: v for k, v in src.tags().items() if not k.startswith(PROVENANCE_PREFIX)}
        if stags:
            dst.update_tags(**stags)

    def write(self, arr: np.ndarray, window) -> None:
        """Write ``(bands, h, w)`` at ``window``."""
        self.dataset.write(arr, window=window)

    def write_mask(self, mask: np.ndarray, window) -> None:
        self.dataset.write_mask(mask, window=window)

    def _cleanup(self) -> None:
        if self.dataset is not None:
            try:
                self.dataset.close()
            except Exception:
                pass
            self.dataset = None
        if self.tmp_path is not None:
            for p in (self.tmp_path, Path(str(self.tmp_path) + ".aux.xml"),
                      Path(str(self.tmp_path) + ".msk")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
            self.tmp_path = None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._cleanup()
            return False
        try:
            if self.tags:
                self.dataset.update_tags(**{k: str(v) for k, v in self.tags.items()})
            self.dataset.close()
            self.dataset = None
            if self.path.exists() and not self.overwrite:  # appeared while we were working
                raise InputError(f"output exists: {self.path} (use --overwrite to replace it)")
            os.chmod(self.tmp_path, _default_mode())  # mkstemp made it 0600
            for side in (".aux.xml", ".msk"):  # sidecars GDAL may have made
                aux = Path(str(self.tmp_path) + side)
                if aux.exists():
                    os.replace(aux, str(self.path) + side)
            os.replace(self.tmp_path, self.path)
            self.tmp_path = None
        except BaseException:
            self._cleanup()
            raise
        return False


def _default_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give: 0666 minus the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class BlockRowWriter:
    """Collect finished output rows (arriving in order) and write them one block row at a time.

    Writing whole block rows means every compressed block is written once; partial blocks would
    be flushed, re-read and re-compressed by GDAL, bloating the file. Memory: one block row of the
    output in its own dtype.
    """

    def __init__(self, writer: GeoTiffWriter, *, block_rows: int | None = None):
        from rasterio.windows import Window

        self._Window = Window
        self.writer = writer
        ds = writer.dataset
        self.count, self.height, self.width = ds.count, ds.height, ds.width
        self.dtype = np.dtype(ds.dtypes[0])
        self.block_rows = int(block_rows or ds.block_shapes[0][0])
        self._buf = np.empty((self.count, self.block_rows, self.width), self.dtype)
        self._mask = None
        self._filled = 0  # rows in the buffer
        self._y = 0  # first output row held by the buffer
        self.rows_written = 0

    def push(self, y0: int, rows: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Append ``(bands, n, W)`` rows starting at output row ``y0`` (must follow the last)."""
        if y0 != self._y + self._filled:
            raise LdcsrError(f"rows arrived out of order: expected row {self._y + self._filled}, got {y0}")
        n = rows.shape[1]
        if mask is not None and self._mask is None:
            self._mask = np.empty((self.block_rows, self.width), np.uint8)
        k = 0
        while k < n:
            take = min(n - k, self.block_rows - self._filled)
            self._buf[:, self._filled : self._filled + take] = rows[:, k : k + take]
            if mask is not None:
                self._mask[self._filled : self._filled + take] = mask[k : k + take]
            self._filled += take
            k += take
            if self._filled == self.block_rows:
                self._flush()

    def _flush(self) -> None:
        if not self._filled:
            return
        win = self._Window(0, self._y, self.width, self._filled)
        self.writer.write(self._buf[:, : self._filled], win)
        if self._mask is not None:
            self.writer.write_mask(self._mask[: self._filled], win)
        self.rows_written += self._filled
        self._y += self._filled
        self._filled = 0

    def close(self) -> None:
        """Write the last partial block row; check that every row arrived."""
        self._flush()
        if self.rows_written != self.height:
            raise LdcsrError(
                f"incomplete output: {self.rows_written} of {self.height} rows were produced"
            )


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
