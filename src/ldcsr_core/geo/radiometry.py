"""Radiometry: map analysts' bands (any dtype, any band count, nodata) to the RGB model and back.

The model is trained on 8-bit RGB in ``[0, 1]``. Real scenes are 16-bit, signed or float, have one,
four or a dozen bands and carry nodata. The pure, array-level half of that bridge lives in three
modules, and every name is importable from here too:

* :mod:`.band_plan`: :func:`plan_bands` groups the bands into triplets for the model (``--bands
  3,2,1`` picks the first one; a lone band is replicated and averaged back; alpha bands are masks,
  never colours), :func:`default_triplet` / :func:`suggest_bands` pick the triplet when none is given
  (:func:`is_fallback`: for want of anything to go on);
* :mod:`.stretch`: :func:`compute_stretch` fits one robust per-band stretch to a decimated read of
  the whole scene (fitting it per tile would make neighbouring tiles disagree); :class:`Stretch`
  maps to ``[0, 1]`` and back to the original units and dtype, clipped to its range
  (:meth:`Stretch.excess`: what lies beyond the stretch, which the sink adds back);
* :mod:`.nodata_masks`: :func:`valid_mask`, :func:`fill_invalid`, :func:`nearest_index` /
  :func:`upsample_nearest` and :func:`restore_nodata` keep nodata and NaN away from valid pixels:
  fill before inference, restore the upsampled mask after.

No rasterio or torch import here: everything works on NumPy arrays in ``(bands, rows, cols)`` order.
"""

from __future__ import annotations

from .band_plan import (
    ALPHA,
    S2_ORDER as S2_ORDER,
    PALETTE,
    BandPlan,
    band_holder,
    band_names,
    default_triplet,
    is_fallback,
    parse_bands,
    plan_bands,
    suggest_bands,
)
from .nodata_masks import (
    fill_invalid,
    is_nodata,
    nearest_index,
    nodata_as,
    restore_nodata,
    upsample_nearest,
    valid_mask,
)
from .stretch import _CHUNK as _CHUNK  # noqa: F401  (tests size arrays by it)
from .stretch import (
    DEFAULT_PERCENTILES as DEFAULT_PERCENTILES,
    FILL_MAGNITUDE as FILL_MAGNITUDE,
    Stretch,
    compute_stretch,
    dtype_range,
)

__all__ = [
    "ALPHA",
    "BandPlan",
    "band_names",
    "Stretch",
    "plan_bands",
    "PALETTE",
    "band_holder",
    "parse_bands",
    "suggest_bands",
    "default_triplet",
    "is_fallback",
    "compute_stretch",
    "valid_mask",
    "fill_invalid",
    "nearest_index",
    "upsample_nearest",
    "restore_nodata",
    "nodata_as",
    "is_nodata",
    "dtype_range",
]
