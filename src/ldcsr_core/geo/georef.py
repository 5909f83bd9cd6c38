"""Where the output lies: the output grid and its georeferencing, derived from the source.

* :func:`georeferencing` tells how a raster is placed (a geotransform, GCPs only, RPCs only, or
  nothing) and :func:`quiet_georef` silences rasterio's warning about rasters that are not placed
  at all;
* :func:`scale_for_resolution`, :func:`scaled_transform`, :func:`scale_gcps`, :func:`scale_rpcs`
  and :func:`output_profile` derive the output grid from ``src.profile``: the transform is scaled
  per axis from the *rounded* output size, so the output covers exactly the input's bounds; GCPs
  and a satellite image's rational polynomial coefficients (RPCs) move onto the output's pixel
  grid; a raster without georeferencing gets none.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..front_end import say
from ..words import bound
from ..rules import MAX_SCALE
from .nodata_masks import output_nodata

if TYPE_CHECKING:
    from .raster_io import RasterInfo

__all__ = ["quiet_georef", "georeferencing", "is_singular", "singular_refusal", "check_placement", "scale_gcps", "gcps_crs", "write_gcps", "is_point",
           "source_rpcs", "scale_rpcs", "resampled_tags", "new_file_tags", "carried_tags", "carried_domains", "write_domains", "band_tags",
           "PROVENANCE_PREFIX", "CARRIED_DOMAINS", "FILE_OWN_TAGS",
           "scale_for_resolution", "scaled_transform", "affine_apply", "output_profile", "GTIFF_ALPHA", "crs_units",
           "pixel_unit"]


# rasterio's warnings about rasters without georeferencing (nothing to warn about: we write none).
NO_GEOREF_MESSAGES = ("Dataset has no geotransform", "The given matrix is equal to Affine.identity")


@contextlib.contextmanager
def quiet_georef():
    """A context in which rasterio's ``NotGeoreferencedWarning`` about a raster without any
    georeferencing is not shown (such a raster is fine here: its output gets none either)."""
    import warnings

    with warnings.catch_warnings():
        for m in NO_GEOREF_MESSAGES:
            warnings.filterwarnings("ignore", message=m)
        yield


def georeferencing(src) -> str:
    """How ``src`` is georeferenced: ``"transform"`` (a geotransform), ``"gcps"`` (ground control
    points only), ``"rpcs"`` (rational polynomial coefficients only: a satellite image before
    orthorectification) or ``"none"`` (not placed: no geotransform, no GCPs, no RPCs; a CRS alone
    places nothing). RPCs may also come with a geotransform (:func:`source_rpcs` finds them).
    ``"singular"``: a geotransform that places no grid (:func:`is_singular`: a pixel size of 0, or
    columns and rows along one line), which no output can overlay (:func:`singular_refusal`).

    The identity transform is what GDAL reports for a raster without a geotransform (its GTiff
    driver does not even store an identity one), also beside a CRS: such a raster's output gets the
    CRS and no geotransform, as its input, never a made-up one on the pixel grid (QGIS shows a
    raster without one flipped, so a made-up one does not overlay it either). A CRS beside an
    identity that the raster does declare (a VRT's ``<GeoTransform>0, 1, 0, 0, 0, 1``) is one."""
    if not src.transform.is_identity:
        return "singular" if is_singular(src.transform) else "transform"
    gcps = getattr(src, "gcps", None)
    if gcps and gcps[0]:
        return "gcps"
    if source_rpcs(src) is not None:
        return "rpcs"
    return "transform" if src.crs is not None and _declares_geotransform(src) else "none"


def is_singular(transform) -> bool:
    """Whether a geotransform places no grid: a coefficient that is not finite, or a determinant
    of 0 (a pixel size of 0 on an axis, or column and row steps along one line), so that every
    pixel lies on one line or point and the grid cannot be inverted (GDAL, QGIS and napari fail on it)."""
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    return not all(math.isfinite(v) for v in (a, b, c, d, e, f)) or a * e - b * d == 0


def singular_refusal(name, transform) -> str:
    """The sentence that refuses a raster with a singular geotransform (:func:`is_singular`); what to
    do in the front end's words (:func:`ldcsr_core.front_end.say`)."""
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    return (f"{name}: its geotransform ({a:.10g}, {b:.10g}, {c:.10g}, {d:.10g}, {e:.10g}, {f:.10g}) is "
            "singular (a pixel size of 0, or columns and rows along one line): it places no grid, so no "
            f"output can overlay it; {say('correct geotransform')}")


def _declares_geotransform(src) -> bool:
    """Whether GDAL has a geotransform for ``src`` (rasterio warns that it returns the identity
    instead when there is none; asked only where there are no GCPs or RPCs, as rasterio is)."""
    import warnings

    read = getattr(src, "read_transform", None)
    if read is None:
        return False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        read()
    return not any(m in str(w.message) for w in seen for m in NO_GEOREF_MESSAGES)


def scale_gcps(gcps, scale: tuple[float, float], offset: tuple[int, int] = (0, 0)) -> list:
    """Ground control points moved onto an output pixel grid: ``row' = (row - oy)·sy``,
    ``col' = (col - ox)·sx`` for ``scale = (sy, sx)`` and window ``offset = (oy, ox)``;
    the ground coordinates stay as they are."""
    from rasterio.control import GroundControlPoint

    sy, sx = scale
    oy, ox = offset
    return [GroundControlPoint(row=(g.row - oy) * sy, col=(g.col - ox) * sx, x=g.x, y=g.y, z=g.z,
                               id=g.id, info=g.info) for g in gcps]


def source_rpcs(src):
    """The rational polynomial coefficients (a rasterio ``RPC``) of ``src``, or ``None``: those in
    the file or in a sidecar GDAL reads with it (``NAME.RPB``, ``NAME_rpc.txt``)."""
    return getattr(src, "rpcs", None) or None


def scale_rpcs(rpcs, scale: tuple[float, float], offset: tuple[int, int] = (0, 0)):
    """RPCs moved onto an output pixel grid, as :func:`scale_gcps` moves GCPs: a ground point lands
    on the same spot of the image, ``u' = (u - o)·s`` in pixel-corner coordinates ``u``, for
    ``scale = (sy, sx)`` and window ``offset = (oy, ox)``.

    GDAL counts RPC lines and samples from the centre of the first pixel (``u = line + 0.5``), so
    ``LINE_OFF' = (LINE_OFF + 0.5 - oy)·sy - 0.5`` and ``LINE_SCALE' = LINE_SCALE·sy`` (samples
    alike with ``sx``, ``ox``); the polynomials and the ground offsets and scales stay as they are.
    """
    sy, sx = (float(v) for v in scale)
    oy, ox = offset
    return type(rpcs)(**{
        **rpcs.to_dict(),
        "line_off": (float(rpcs.line_off) + 0.5 - oy) * sy - 0.5, "line_scale": float(rpcs.line_scale) * sy,
        "samp_off": (float(rpcs.samp_off) + 0.5 - ox) * sx - 0.5, "samp_scale": float(rpcs.samp_scale) * sx})


def is_point(ds) -> bool:
    """Whether ``ds`` says its pixels are point samples (``AREA_OR_POINT=Point``, GeoTIFF's
    PixelIsPoint). Its geotransform and GCPs are still given in pixel-corner coordinates by GDAL."""
    return str(ds.tags().get("AREA_OR_POINT", "")).lower() == "point"


@functools.lru_cache(maxsize=None)
def _point_gcp_shift() -> float:
    """How far GDAL's GTiff writer moves the GCPs of a PixelIsPoint raster between setting them
    and reading them back, in pixels, measured once on a small in-memory file. GDAL 3.10 moves
    them by +1 (it adds the half pixel its reader adds too, instead of taking it away as its
    CreateCopy does); 0 where GDAL writes them right."""
    from rasterio.control import GroundControlPoint
    from rasterio.io import MemoryFile

    gcps = [GroundControlPoint(row=2.0, col=2.0, x=0.0, y=0.0), GroundControlPoint(row=0.0, col=4.0, x=1.0, y=0.0),
            GroundControlPoint(row=4.0, col=0.0, x=0.0, y=-1.0)]
    with MemoryFile() as mf:
        with mf.open(driver="GTiff", width=4, height=4, count=1, dtype="uint8") as ds:
            ds.update_tags(AREA_OR_POINT="Point")
            ds.gcps = (gcps, gcps_crs(None))
        with mf.open() as ds:
            return float(ds.gcps[0][0].row) - 2.0


def write_gcps(ds, gcps, crs) -> None:
    """Set ``gcps`` (pixel-corner coordinates, as GDAL reads them) on ``ds``, a GTiff dataset being
    written, so that they read back as given also when ``ds`` is tagged ``AREA_OR_POINT=Point``
    (:func:`_point_gcp_shift`; set its tags first). Else a Point raster's GCPs came back one pixel
    off after every write (the result of a GCP-placed Point scene was misplaced)."""
    if is_point(ds):
        d = _point_gcp_shift()
        gcps = scale_gcps(gcps, (1.0, 1.0), (d, d)) if d else gcps
    ds.gcps = (list(gcps), gcps_crs(crs))


# Dataset tags that count the source's pixels (axis 0: y, 1: x): a TIFF's print resolution (pixels per inch or
# centimetre), a JPEG's EXIF one, its focal plane's (a camera's pixels per unit of its sensor, from which
# photogrammetry derives the sensor's size) and its EXIF image size (whole pixels). GDAL gives EXIF rationals in
# parentheses, `(72)`.
_PIXEL_COUNTS = {"TIFFTAG_YRESOLUTION": 0, "TIFFTAG_XRESOLUTION": 1, "EXIF_YResolution": 0, "EXIF_XResolution": 1,
                 "EXIF_FocalPlaneYResolution": 0, "EXIF_FocalPlaneXResolution": 1,
                 "EXIF_PixelYDimension": 0, "EXIF_PixelXDimension": 1}
_WHOLE_PIXELS = ("EXIF_PixelYDimension", "EXIF_PixelXDimension")


# Dataset tags LDCSR itself writes (its provenance): an earlier run's are not a new output's.
PROVENANCE_PREFIX = "LDCSR_"

# GDAL metadata domains of a source that stay true of its super-resolved image: IMAGERY (the
# scene's acquisition time, satellite, cloud cover: GDAL's imagery metadata). Not RPC (moved onto
# the output's grid: scale_rpcs), IMAGE_STRUCTURE (the writer's own: compression, interleave),
# GEOLOCATION (arrays on the source's pixel grid), xml:* (whole documents, e.g. XMP, that may
# describe the source file: its size, its dates), DERIVED_SUBDATASETS (GDAL makes it on reading).
CARRIED_DOMAINS = ("IMAGERY",)

# Default-domain tags of a source that are false of a new file: TIFF's DateTime is when the file
# was made, as is EXIF's DateTime (the scene's acquisition time is IMAGERY's ACQUISITIONDATETIME, a
# camera's EXIF_DateTimeOriginal, carried); GDAL's
# NODATA_VALUES (a PNG's transparent colour, `10 20 30`: nodata where every band holds its value)
# is the source's nodata, while a new file declares its own, one value written on every band's
# nodata pixels (10, 10, 10), which the source's triplet would leave unmasked.
FILE_OWN_TAGS = ("TIFFTAG_DATETIME", "EXIF_DateTime", "NODATA_VALUES")


def new_file_tags(tags) -> dict:
    """The default-domain ``tags`` a newly written file takes of those given it: not
    :data:`FILE_OWN_TAGS` (another file's, e.g. the source's or the saved layer's file's date). The
    rule of every GeoTIFF written (:class:`~ldcsr_core.geo.geotiff_writer.GeoTiffWriter`), a copy of
    the same pixels (a layer saved, ``write_raster`` of ``read_raster``) included."""
    return {k: v for k, v in dict(tags).items() if k not in FILE_OWN_TAGS}


def carried_tags(tags, scale: tuple[float, float]) -> dict:
    """The default-domain ``tags`` of a source that its image resampled by ``scale = (sy, sx)``
    carries: not LDCSR's provenance (:data:`PROVENANCE_PREFIX`) nor :data:`FILE_OWN_TAGS`
    (:func:`new_file_tags`), the print resolution scaled (:func:`resampled_tags`)."""
    kept = {k: v for k, v in new_file_tags(tags).items() if not str(k).startswith(PROVENANCE_PREFIX)}
    return resampled_tags(kept, scale)


def carried_domains(src) -> dict[str, dict]:
    """``src``'s metadata in :data:`CARRIED_DOMAINS`, ``{domain: tags}`` (``{}`` when none)."""
    out = {}
    for ns in CARRIED_DOMAINS:
        tags = dict(src.tags(ns=ns))
        if tags:
            out[ns] = tags
    return out


def write_domains(ds, domains) -> None:
    """Write ``{domain: tags}`` (:func:`carried_domains`) on the open dataset ``ds``."""
    for ns, tags in (domains or {}).items():
        if tags:
            ds.update_tags(ns=ns, **{k: str(v) for k, v in tags.items()})


def resampled_tags(tags, scale: tuple[float, float]) -> dict:
    """Dataset tags of an image resampled by ``scale = (sy, sx)``: those that count pixels
    (:data:`_PIXEL_COUNTS`: the print resolution ``TIFFTAG_X/YRESOLUTION``, e.g. a scanned map's 300 dpi, a
    drone photo's EXIF resolutions and size) grow with the pixel count, so the result keeps the printed size
    and camera of its source; the other tags stay as they are."""
    out = dict(tags)
    for k, axis in _PIXEL_COUNTS.items():
        text = str(out.get(k, "")).strip()
        bare = text[1:-1] if text.startswith("(") and text.endswith(")") else text
        try:
            v = float(bare) * float(scale[axis])
        except (TypeError, ValueError):
            continue
        v_text = str(round(v)) if k in _WHOLE_PIXELS else f"{v:.10g}"
        out[k] = f"({v_text})" if bare != text else v_text
    return out


def band_tags(src) -> tuple[dict, ...]:
    """Each band's tags (its default metadata domain: e.g. ``WAVELENGTH``), to carry onto a new
    image of the band: ``()`` when none has any. Not GDAL's ``STATISTICS_*``, which describe the
    pixels they were computed from (QGIS would stretch a result by its source's)."""
    tags = tuple({k: v for k, v in src.tags(i).items() if not k.startswith("STATISTICS_")}
                 for i in range(1, src.count + 1))
    return tags if any(tags) else ()


def gcps_crs(crs):
    """The CRS to write ground control points with: ``crs`` (anything ``CRS.from_user_input``
    takes), or an empty CRS for GCPs that have none (rasterio cannot write GCPs with ``None``;
    an empty CRS is written as none and reads back as ``None``)."""
    from rasterio.crs import CRS

    return CRS() if crs is None else CRS.from_user_input(crs)


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


def _positive_finite(v, what: str) -> float:
    from ..rules import check_number  # a number as the scale is one (a 0-d array too, no string)

    f = check_number(v, what)
    if not math.isfinite(f) or f <= 0:
        raise InputError(f"{what} must be a positive finite number, got {v!r}")
    return f


def _target_pair(target) -> tuple[float, float]:
    """``t`` or ``(tx, ty)`` -> checked ``(tx, ty)``."""
    from ..rules import number_pair

    pair = number_pair(target, "target resolution", "an (x, y) pair")
    return _positive_finite(pair[0], "target resolution"), _positive_finite(pair[1], "target resolution")


def check_placement(info: RasterInfo) -> None:
    """:class:`InputError` for a raster whose geotransform is singular (:func:`singular_refusal`):
    an output of it cannot overlay it. Asked by every request's plan (``job.plan_output``)."""
    if info.georef == "singular":
        raise InputError(singular_refusal(info.path, info.transform))


def scale_for_resolution(info: RasterInfo, target) -> tuple[float, float]:
    """Per-axis ``(sy, sx)`` that brings the pixel size to ``target`` (``t`` or ``(tx, ty)``, in the
    CRS's units, metres for the usual projected CRSs); the target must be finer than the input.

    Needs a projected CRS in metre-like units: a geographic CRS (degrees) raises a clear error,
    suggesting a scale or reprojecting first to the UTM zone of its centre (``gdalwarp -t_srs EPSG:32756``:
    :func:`~ldcsr_core.geo.utm_zone.centre_utm_crs`; in a front end's words: :func:`~ldcsr_core.front_end.say`).
    """
    tx, ty = _target_pair(target)
    check_placement(info)
    placed_by = {"gcps": "ground control points", "rpcs": "rational polynomial coefficients (RPCs)"}
    if info.georef in placed_by:
        raise InputError(
            f"{info.path} is placed by {placed_by[info.georef]}, not a geotransform, so it has no one "
            f"pixel size: give a scale instead (or orthorectify it first, {say('orthorectify')})"
        )
    if info.crs is None:
        raise InputError(
            f"{info.path} has no CRS, so its pixel size is unknown: give a scale instead (or assign its CRS "
            f"first, {say('assign crs')})"
        )
    if info.georef != "transform":  # a CRS alone: its pixels are not placed, their size unknown
        raise InputError(
            f"{info.path} has a CRS but no geotransform, so its pixel size is unknown: give a scale "
            f"instead (or place it first, {say('place')})"
        )
    if info.is_geographic:
        from .utm_zone import centre_utm_crs

        raise InputError(
            f"{info.path} is in a geographic CRS ({info.crs}, pixel size in degrees): "
            "a target resolution needs a projected CRS in metres; give a scale instead, or "
            f"reproject first ({say('reproject', utm=centre_utm_crs(info) or 'EPSG:326xx')})"
        )
    if not info.is_projected and not info.units:
        raise InputError(
            f"{info.path}: the units of its CRS ({info.crs}) are unknown, so its pixel size is "
            "too: give a scale instead"
        )
    xres, yres = info.res
    if tx >= xres or ty >= yres:
        unit = pixel_unit(info)
        raise InputError(
            f"target pixel size {tx:g} x {ty:g} {unit} is not finer than the input's "
            f"{xres:g} x {yres:g} {unit}: super-resolution makes pixels smaller"
        )
    sy, sx = yres / ty, xres / tx
    if max(sy, sx) > MAX_SCALE:  # said in the user's terms, not as a scale they never gave
        unit = pixel_unit(info)
        raise InputError(
            f"target pixel size {tx:g} x {ty:g} {unit} is x{max(sy, sx):.4g} finer than the input's "
            f"{xres:g} x {yres:g} {unit}; LDCSR upscales by at most x{MAX_SCALE:g}, so the finest "
            f"target is {bound(xres / MAX_SCALE, up=True)} x {bound(yres / MAX_SCALE, up=True)} {unit}"
        )
    return sy, sx


def scaled_transform(transform, in_shape: tuple[int, int], out_shape: tuple[int, int]):
    """The input transform scaled per axis by ``in/out`` so the output bounds equal the input's."""
    from affine import Affine

    h, w = in_shape
    H, W = out_shape
    return affine_apply(transform, Affine.scale(w / W, h / H))


def affine_apply(transform, other):
    """``transform`` composed with an Affine, or applied to an ``(x, y)`` point: affine 3's ``@``
    (its ``*`` is deprecated, a PendingDeprecationWarning in 3.0); an older affine, which has no
    ``@``, by ``*``. The same numbers either way (affine 3's ``*`` is its ``@``)."""
    try:
        return transform @ other
    except TypeError:  # pragma: no cover - affine < 3
        return transform * other


def check_storage(block, compress) -> tuple[int, str | None]:
    """``(block, compress)`` of an output GeoTIFF, checked: the tile side a whole multiple of 16
    pixels (TIFF's rule), the compression one GDAL knows (``rasterio.enums.Compression``: deflate,
    zstd, lzw, ..., ``"none"``) or None. Else :class:`InputError`: GDAL wrote an unknown one
    uncompressed, with a warning at most, and failed on a block of 100 with its own words."""
    from rasterio.enums import Compression

    from ..rules import check_count

    if check_count(block, "block", 16) % 16:
        raise InputError(f"block must be a multiple of 16 pixels (TIFF tiles), got {block!r}")
    names = sorted(c.name for c in Compression)
    if compress is not None and (not isinstance(compress, str) or compress.lower() not in names):
        raise InputError(f"compress must be one of {', '.join(names)}, got {compress!r}")
    return int(block), compress


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
    CRS, nodata, band count and dtype are kept; a float output of a source without nodata declares
    NaN (:func:`~.nodata_masks.output_nodata`). Georeferencing follows the source's
    (:func:`georeferencing`): a scaled transform; or its GCPs moved onto the output grid, with
    their CRS; or, for a plain picture, none at all (never a made-up transform). RPCs (with or
    without a transform) move onto the output grid too (:func:`scale_rpcs`).
    """
    H, W = out_shape
    prof = dict(src.profile)
    for k in _STORAGE_KEYS:
        prof.pop(k, None)
    dt = np.dtype(dtype or src.dtypes[0])
    # Square tiles (multiples of 16, as TIFF requires), no larger than the image needs.
    block, compress = check_storage(block, compress)
    block = min(block, max(16, -(-min(H, W) // 16) * 16))
    prof.update(
        driver="GTiff",
        height=H,
        width=W,
        dtype=dt.name,
        interleave="pixel",
    )
    prof["nodata"] = output_nodata(prof.get("nodata"), dt)  # a float output's invalid pixels are NaN
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
        prof["crs"] = gcps_crs(gcrs)
    rpcs = source_rpcs(src)
    if rpcs is not None:  # not in src.profile: without them an L1 product's result is not placed
        prof["rpcs"] = scale_rpcs(rpcs, (H / src.height, W / src.width))
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


# A linear unit by its length in metres, in EPSG's (PROJ's) name: what a GeoTIFF's CRS, made from its EPSG
# code, says. An ERDAS .img's CRS names the unit as ERDAS does (GDAL's HFA driver keeps 'meters', 'feet',
# 'us_survey_feet', 'international_feet'), even where its EPSG code is known (a UTM zone).
_UNIT_NAMES = ((1.0, "metre"), (1000.0, "kilometre"), (0.3048, "foot"), (1200 / 3937, "US survey foot"))


def crs_units(crs) -> str | None:
    """The unit of a CRS's coordinates, hence of its pixel sizes: "degree" for a geographic CRS, a
    projected one's linear unit ("metre", "US survey foot": EPSG's name, whatever the file's format
    calls it, by its length), a local (engineering) one's; None when there is no CRS or PROJ cannot tell."""
    if crs is None:
        return None
    try:
        units = "degree" if crs.is_geographic else crs.linear_units
        if units in ("unknown", "", None) and not crs.is_projected:
            units = crs.units_factor[0]  # a local (engineering) CRS: units, no projection
        if units not in ("degree", "unknown", "", None):
            factor = crs.units_factor[1]
            units = next((name for f, name in _UNIT_NAMES if math.isclose(factor, f, rel_tol=1e-9)), units)
    except Exception:  # exotic CRS
        return None
    return None if units in ("unknown", "") else units


def pixel_unit(info: RasterInfo) -> str:
    """The unit a raster's pixel size is said in, the one word of every message that gives one: its CRS's
    (:func:`crs_units`: "metre", "US survey foot", "degree"), or "CRS units" where that is not known."""
    return info.units or "CRS units"
