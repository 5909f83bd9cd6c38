"""How a nodata value or setting is said: in words for logs and ``ldcsr info`` (:func:`nodata_text`:
'0.0 and 255.0', 'band 1: 0.0; bands 2,3: none'), and quoted as the user gives it in a message about
it (:func:`quoted_nodata`: ``nodata '-1'`` on the command line, ``Nodata '1=0,4=0'`` in napari, the
form's field, in :func:`~ldcsr_core.front_end.say`'s words), one way for a value, a range and each
band's. No rasterio import here.
"""

from __future__ import annotations

import math

from ..front_end import say

__all__ = ["NO_NODATA", "nodata_text", "mask_text", "nodata_syntax", "quoted_nodata"]

# ``nodata="none"``: treat every value as data, whatever nodata the file declares
NO_NODATA = "none"


def nodata_text(nodata) -> str:
    """The nodata :func:`~.nodata_override.parse_nodata` returned, in words: 'none', a value, several ('0.0 and 255.0',
    a range '0.0..5.0'), or each band's ('band 1: 0.0 and 200.0; bands 2,3: 0.0'). A negative zero
    is said '0.0': the same nodata (GDAL masks the same pixels with either, float bands too)."""
    from ..words import noun

    if isinstance(nodata, dict):
        groups: dict[str, list[int]] = {}
        for b, entries in nodata.items():
            groups.setdefault(nodata_text(entries or None), []).append(b)
        return "; ".join(f"{noun(len(bs), 'band')} {','.join(map(str, bs))}: {text}" for text, bs in groups.items())
    if isinstance(nodata, tuple):
        return " and ".join(map(nodata_text, nodata))
    if isinstance(nodata, float):
        return str(nodata + 0.0)  # -0.0 + 0.0 is 0.0
    return "none" if nodata in (None, NO_NODATA) else str(nodata)


def mask_text(info) -> str | None:
    """The mask GDAL reads with a raster besides its nodata and alpha (``RasterInfo.has_dataset_mask``: what the
    engine keeps masked in the output), in the words of the lines that say the nodata (QGIS's ``Input:``, ``ldcsr
    info``'s ``nodata:``): 'internal mask', 'mask file NAME.msk'; None without one (before, such a file was
    said 'nodata none' and nothing more)."""
    import os

    if not info.has_dataset_mask:
        return None
    sidecar = f"{info.path}.msk"
    return f"mask file {os.path.basename(sidecar)}" if os.path.isfile(sidecar) else "internal mask"


def nodata_syntax(nodata) -> str:
    """A nodata (text as given, or what :func:`~.nodata_override.parse_nodata` returns) written as
    ``--nodata`` and napari's Nodata field take it: '-1', '0.5', 'nan', 'none', '0:5', '-inf:0',
    '0,255', '1=0:5,1=255,3=none'."""
    if isinstance(nodata, str):
        return nodata.strip()
    if isinstance(nodata, dict):
        return ",".join(f"{b}={nodata_syntax(e)}" for b, entries in sorted(nodata.items())
                        for e in (entries or (None,)))
    if isinstance(nodata, (tuple, list)):
        return ",".join(map(nodata_syntax, nodata))
    if hasattr(nodata, "lo"):  # a NodataRange
        return f"{nodata_syntax(nodata.lo)}:{nodata_syntax(nodata.hi)}"
    if nodata is None:
        return NO_NODATA
    v = float(nodata)
    if math.isfinite(v) and v == int(v) and abs(v) <= 2**64:
        return str(int(v))  # as typed: -1, not -1.0 (-0 too: 0); 9007199254740992, every digit
    return repr(v)  # nan, inf, 0.5, -3.4e+38


def quoted_nodata(nodata) -> str:
    """A message's words for a nodata setting: the control's name in the front end's words
    (``say('nodata setting')``: 'nodata', napari's 'Nodata') and the setting quoted as it is typed
    (:func:`nodata_syntax`): ``Nodata '0:5'``, ``nodata '1=0,4=0'``."""
    return f"{say('nodata setting')} {nodata_syntax(nodata)!r}"
