"""Reading one training or evaluation image as H×W×3 uint8 (:func:`load_rgb`): 8-bit images decoded
by PIL, other rasters read as upscale and selfcheck read them; an image with fill (nodata, NaN,
masked or transparent pixels) or made by LDCSR refused by name. :mod:`.data` re-exports it.

Nothing here imports rasterio unless an image cannot be read by PIL (16-bit or float rasters,
GeoTIFFs with ≠ 3 bands, a file with a GDAL mask band).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError, RasterIOError
from ..geo.nodata_masks import alpha_valid
from ..words import noun

__all__ = ["load_rgb"]


# PIL modes decoded by PIL itself (8-bit, palette, bilevel, CMYK, grey/palette with alpha);
# other modes (16-bit, 32-bit, float) and files PIL cannot identify go through rasterio.
_PIL_MODES = ("RGB", "L", "RGBA", "P", "LA", "PA", "1", "CMYK", "YCbCr", "RGBX")


def _decoded_as_8_bit(im) -> bool:
    """True unless PIL decodes 16-bit samples into an 8-bit mode: a 16-bit RGB(A) or grey+alpha
    PNG opens as "RGB"/"RGBA"/"LA" (raw mode "RGB;16B") keeping only each sample's high byte, so
    12-bit data came out as 0..15. Such files go through rasterio and the stretch, as 16-bit files."""
    return not any(";16" in str(t[3]) for t in im.tile)  # (codec, extents, offset, raw mode or args)


_GDAL_NODATA_TAG = 42113  # the TIFF tag in which GDAL declares a raster's nodata value (text)


def _pam_nodata(path: Path):
    """The nodata value of band 1 (rasterio's ``nodata``) declared in ``path``'s GDAL PAM sidecar
    ``<path>.aux.xml`` (text, as GDAL stores it), or None. GDAL reads it for a PNG, JPEG or TIFF
    (over a TIFF's own nodata tag), so such an image has nodata for every GDAL reader (upscale,
    QGIS). Read here without GDAL, which PIL-decoded images never touch."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(f"{path}.aux.xml").getroot()
    except (OSError, ET.ParseError):  # none, or one GDAL cannot parse either (it ignores it)
        return None
    for band in root.iterfind("PAMRasterBand"):
        if band.get("band", "1").strip() == "1":
            return band.findtext("NoDataValue")
    return None


def _check_no_nodata(path: Path, bands_hw: np.ndarray, nodata) -> None:
    """InputError naming ``path`` when some of its pixels hold the nodata value it declares in
    every band read (``(bands, h, w)``; ``nodata`` a number or GDAL's text, None: none declared):
    fill, not image content, which evaluate would score and train would learn from."""
    try:
        value = None if nodata is None else float(str(nodata).strip().rstrip("\x00"))
    except ValueError:
        return  # not a number GDAL would read either
    if value is None or not np.isfinite(value):  # NaN nodata: refused as NaN (below)
        return
    from ..geo.nodata_masks import is_nodata  # the pixels upscale reads as nodata

    bad = int(np.count_nonzero(is_nodata(bands_hw, value).all(axis=0)))
    if bad:
        raise InputError(f"{path}: {bad} of its {bands_hw.shape[1] * bands_hw.shape[2]} pixels {noun(bad, 'is', 'are')} nodata (the "
                         f"value {value:g} it declares, in every band); evaluate and train score every pixel as "
                         "image content: crop them away or use another image")


def _check_not_masked(path: Path, valid: np.ndarray, what: str) -> None:
    """InputError naming ``path`` when some pixels are masked out (``valid`` H×W: alpha or mask > 0,
    as the engine's :func:`~ldcsr_core.geo.nodata_masks.valid_mask` and so upscale and selfcheck
    read them): transparent fill that evaluate would score and train would learn from."""
    bad = int(np.count_nonzero(~valid))
    if bad:
        raise InputError(f"{path}: {bad} of its {valid.size} pixels {noun(bad, 'is', 'are')} {what}, nodata to upscale and selfcheck; "
                         "evaluate and train score every pixel as image content: crop them away or use another image")


_GDAL_METADATA_TAG = 42112  # the TIFF tag in which GDAL keeps a raster's metadata items (XML)


def _gdal_metadata(im) -> dict:
    """The dataset-level metadata items GDAL reads from a TIFF PIL opened (its GDAL_METADATA tag's
    ``<Item name=...>`` without a band or domain), e.g. an LDCSR output's ``LDCSR_*`` tags."""
    import xml.etree.ElementTree as ET

    xml = (getattr(im, "tag_v2", None) or {}).get(_GDAL_METADATA_TAG)
    try:
        root = ET.fromstring(str(xml).strip().rstrip("\x00")) if xml else None
    except ET.ParseError:
        return {}
    return {} if root is None else {i.get("name"): i.text or "" for i in root.iterfind("Item")
                                    if i.get("sample") is None and not i.get("domain")}


def _check_not_made_by_ldcsr(path: Path, tags: dict) -> None:
    """InputError naming ``path`` when its ``LDCSR_*`` tags say this package made it (an output, a
    spread map, a bicubic baseline: upscale writes them beside its inputs): its pixels are not
    measurements, so it is no reference to score against nor an image to learn from (adapt refuses
    such a scene too)."""
    if any(str(k).startswith("LDCSR_") for k in tags):
        from ..geo.job import provenance_summary

        raise InputError(f"{path} is {provenance_summary(tags, brief=True)}: its pixels are not measurements, so "
                         "evaluate and train take no such file as an image (move it out of the folder)")


def _has_gdal_mask(im, path: Path) -> bool:
    """Whether GDAL reads a mask band with ``path`` that PIL ignores: a ``<path>.msk`` sidecar, or a
    TIFF's internal mask (an image file directory of NewSubfileType 4). Such a file is read through
    rasterio, whose dataset mask says which pixels it masks out."""
    if Path(f"{path}.msk").is_file():
        return True
    if im.format != "TIFF":
        return False
    try:
        for i in range(1, getattr(im, "n_frames", 1)):  # the first is the image
            im.seek(i)
            if int(im.tag_v2.get(254, 0)) & 4:
                return True
    except (OSError, EOFError, ValueError, SyntaxError):  # a directory PIL cannot read (a 1-bit
        return True  # deflated mask's): GDAL reads what it is
    finally:
        im.seek(0)
    return False


def load_rgb(path: str | Path) -> np.ndarray:
    """H×W×3 uint8. 8-bit images (grey, palette, CMYK, with alpha: dropped) are decoded by PIL;
    GeoTIFFs and other rasters PIL cannot read are read as upscale and selfcheck read them: their
    band triplet and per-band stretch to 8 bit (:class:`~ldcsr_core.scene_windows.RGBScene`). A file
    PIL recognises but cannot decode (cut short, damaged) is a
    :class:`~ldcsr_core.errors.RasterIOError` naming it, never a partial image; one with NaN or
    infinite values (its stretch, so the whole image, would be NaN: black), with pixels that hold
    the nodata value it declares (a GeoTIFF's fill, or a PNG's or JPEG's nodata in its
    ``.aux.xml`` sidecar: scored, it would count as image content), with pixels an alpha channel
    or a mask band masks out (alpha 0, as upscale and selfcheck read them), or made by LDCSR
    (``LDCSR_*`` tags: an output, a spread map; not measurements) is an :class:`InputError`
    naming it."""
    path = Path(path)
    try:
        im = Image.open(path)
    except (Image.UnidentifiedImageError, OSError):
        im = None
    if im is not None:
        with im:
            if im.mode in _PIL_MODES and _decoded_as_8_bit(im) and not _has_gdal_mask(im, path):
                try:
                    rgb = np.asarray(im.convert("RGB"))
                except (OSError, ValueError, SyntaxError) as e:
                    if im.format != "TIFF":  # a TIFF PIL cannot decode may still be read by GDAL
                        raise RasterIOError(f"cannot decode {path}: {e}") from None
                else:  # a palette's indices are not its colours: only samples are compared
                    _check_not_made_by_ldcsr(path, _gdal_metadata(im))
                    tags = getattr(im, "tag_v2", None) or {}
                    if im.mode in ("RGB", "L", "RGBA", "LA"):  # a sidecar's value wins, as in GDAL
                        nodata = _pam_nodata(path)
                        _check_no_nodata(path, np.moveaxis(rgb, -1, 0),
                                         tags.get(_GDAL_NODATA_TAG) if nodata is None else nodata)
                    if im.mode in ("RGBA", "LA", "PA"):  # alpha 0 is a mask (GDAL's, the engine's)
                        _check_not_masked(path, alpha_valid(im.getchannel("A")), "transparent (alpha 0)")
                    elif "transparency" in im.info:  # a PNG's tRNS colour or index: GDAL's nodata
                        _check_not_masked(path, alpha_valid(im.convert("RGBA").getchannel("A")),
                                          "transparent (its transparent colour)")
                    return rgb
    from ..scene_windows import RGBScene

    scene = RGBScene(path)  # read as upscale and selfcheck read it: their bands (colour interpretation,
    try:  # Sentinel-2 rule, first three) and stretch (per band, fitted on the scene), as uint8 RGB
        src = scene.reader.src
        _check_not_made_by_ldcsr(path, src.tags())
        a = src.read(list(dict.fromkeys(scene.bands)))
        _check_no_nodata(path, a, src.nodata)
        bad = int(np.count_nonzero(~np.isfinite(a).all(axis=0))) if a.dtype.kind == "f" else 0
        if bad:
            raise InputError(f"{path}: {bad} of its {a.shape[1] * a.shape[2]} pixels {noun(bad, 'is', 'are')} NaN or infinite "
                             "(nodata?); evaluate and train need images without them: crop or fill them")
        if any("alpha" in f or ("per_dataset" in f and "nodata" not in f)  # an alpha band, a mask band
               for f in ([m.name for m in flags] for flags in src.mask_flag_enums)):
            _check_not_masked(path, alpha_valid(src.dataset_mask()), "masked out (alpha 0 or its mask band)")
        rgb = scene.rgb((0, 0, *scene.shape))  # a band's nodata in a pixel the others fill: filled, as upscale
    finally:
        scene.close()
    if rgb is None:
        _check_not_masked(path, np.zeros(scene.shape, bool), "nodata in some band")
    return np.ascontiguousarray(rgb)
