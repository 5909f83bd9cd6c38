"""An input that holds no data (every pixel nodata: no model runs on any of it, its output is all nodata), found
before the model loads (:func:`input_all_nodata`), and the note every front end says of it then
(:func:`all_nodata_note`: ``ldcsr upscale``'s, napari's and QGIS's Run)."""

from __future__ import annotations

import contextlib
import os

from ..errors import LdcsrError
from ..front_end import say

__all__ = ["input_all_nodata", "arrays_all_nodata", "all_nodata_note"]


def input_all_nodata(src, *, nodata=None, bands=None, window=None) -> str | None:
    """Whether every pixel of ``src`` (a path, or an open dataset; ``window`` ``(row_off, col_off, height, width)``
    of it alone), read with ``nodata`` and ``bands`` as a run reads it, is nodata
    (:meth:`~.scene_io.SceneReader.all_nodata`: every tile of the run empty), and why: "mask" where a mask or alpha
    band alone says so (no nodata value), "float" of float bands (NaN too is nodata), else "nodata"; None where some pixel is data, or where reading it fails (the
    run says why)."""
    from .nodata_override import with_nodata
    from .raster_io import open_raster
    from .scene_io import SceneReader

    try:
        opened = (open_raster(src, nodata=nodata) if isinstance(src, (str, os.PathLike))
                  else contextlib.nullcontext(with_nodata(src, nodata)))
        with opened as ds:
            reader = SceneReader(ds, bands, window=window, name=str(getattr(src, "name", src)), fit=False)
            if not reader.all_nodata():
                return None
    except (LdcsrError, OSError, ValueError):
        return None
    if reader.dtype.kind == "f":
        return "float"
    masked = (reader.use_dataset_mask or reader.plan.alpha) and all(v in (None, ()) for v in reader.band_nodata)
    return "mask" if masked else "nodata"


def arrays_all_nodata(src, arrays, *, nodata=None, bands=None) -> bool | None:
    """Whether every pixel of ``arrays`` (``(bands, h, w)`` arrays, of ``src``'s bands and type: a front end's pixels
    in memory, looked at in place, not copied into a dataset) is nodata, read as :func:`input_all_nodata` reads
    ``src`` (a dataset of those bands, a small copy of them: its nodata, with ``nodata`` and ``bands``), to the first
    array with data (:func:`~.nodata_masks.values_invalid`); None where the values alone cannot tell (an alpha band
    or a mask, arrays of another type or band count: :func:`input_all_nodata` on a copy can)."""
    from .nodata_masks import values_invalid
    from .nodata_override import with_nodata
    from .scene_io import SceneReader

    try:
        reader = SceneReader(with_nodata(src, nodata), bands, name=str(src.name), fit=False)
    except (LdcsrError, OSError, ValueError):
        return None
    if reader.plan.alpha or reader.use_dataset_mask:
        return None
    for data in arrays:
        if data.dtype != reader.dtype or data.shape[0] != src.count:
            return None
        if not values_invalid(data, reader.band_nodata, reader.plan.colour):
            return False
    return True


def all_nodata_note(name, why: str = "nodata") -> str:
    """What a front end says, before the model loads, of an input ``name`` that :func:`input_all_nodata` (``why``, its
    answer): its output is all nodata, none of it the model's, and what to look at (its nodata, in the front end's
    words, or its mask)."""
    check = ("is its mask right? its mask or alpha band marks every pixel as nodata" if why == "mask"
             else f"is the nodata right? {say('nodata or none')}" + ("; NaN, not a number, is nodata always"
                                                                   if why == "float" else ""))
    return f"every pixel of {name} is nodata, so its output will be all nodata, none of it made by the model ({check})"
