"""The uncertainty layer (Qt-free): the spread of K diffusion samples, laid exactly over the result.

A run with ``samples`` K > 1 (Advanced ▸ "Uncertainty: samples") gives the mean of the K samples
as the result and their per-pixel spread (``ldcsr_core.geo.spread``: standard deviation over the
samples, source units, NaN where the source is invalid). This module shows the spread as one
grey-scale layer (the mean over the colour bands) with the perceptual 'magma' colormap, placed by
:func:`_results.result_kwargs` exactly as the result, and blended additively: dark (sure) pixels
leave the result as it is, bright ones glow where the samples disagree, i.e. where detail is invented.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._results import result_kwargs

__all__ = ["COLORMAP", "spread_image", "spread_kwargs", "spread_band_name", "add_spread_layer"]

COLORMAP = "magma"


def spread_image(geo_spread) -> np.ndarray:
    """``(colour bands, H, W)`` spread → ``(H, W)`` float32: the mean over bands (NaN stays NaN)."""
    data = np.asarray(geo_spread.data, np.float32)
    with warnings.catch_warnings():  # all-NaN pixels (invalid source) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(data, axis=0).astype(np.float32) if data.shape[0] > 1 else data[0]


def spread_band_name(geo_spread) -> str:
    """The layer's band name, the engine's (:func:`ldcsr_core.geo.sampling.spread_mean_name`): ``spread of red``,
    or ``spread (mean over red, green, blue)`` for the mean over several colour bands."""
    from ldcsr_core.geo.sampling import spread_mean_name

    return spread_mean_name(geo_spread.descriptions)


def spread_kwargs(src_layer, spec, geo_spread, *, run_info: dict | None = None) -> dict:
    """``add_image`` kwargs for the spread of a ``spec`` run over ``src_layer``: the result's exact
    placement and georeferencing, magma colormap, contrast 0 … the 99.5th percentile."""
    kwargs = result_kwargs(src_layer, spec, "spread", run_info=run_info)
    img = spread_image(geo_spread)
    finite = img[np.isfinite(img)]
    hi = float(np.percentile(finite, 99.5)) if finite.size else 0.0
    md = kwargs["metadata"]
    # the scene's tags and domains as the result carries them (result_kwargs: the engine's rule for the
    # spread file, sampling.spread_tags/spread_domains), and the spread's own
    md["tags"] = {**(md.get("tags") or {}), **geo_spread.tags}
    # what the values are ('units' stays the CRS's unit, by which the form gives the pixel size)
    md["values"] = "standard deviation over the samples, in the source's units"
    md["nodata"] = geo_spread.nodata  # NaN where the source is invalid (a spread of 0 is a value)
    md["band_names"] = [spread_band_name(geo_spread)]
    for key in ("colorinterp", "band", "scales", "offsets", "band_units", "band_tags", "file_bands"):  # one band
        md.pop(key, None)
    # the engine's |scale| and unit of the spread (no offset: it does not move a spread), when the
    # averaged bands share them
    for key, values in (("scales", geo_spread.scales), ("band_units", geo_spread.units)):
        if values and len(set(values)) == 1 and values[0]:
            md[key] = [values[0]]
    kwargs.update(
        rgb=False, colormap=COLORMAP, contrast_limits=[0.0, hi if hi > 0 else 1.0], gamma=1.0,
        blending="additive",
    )
    return kwargs


def add_spread_layer(viewer, src_layer, spec, geo_spread, results: list):
    """Add the spread layer just above the run's result layers; returns it."""
    from napari.layers import Image

    above = [r for r in results if r in viewer.layers]
    info = above[0].metadata.get("ldcsr") if above else None
    layer = Image(spread_image(geo_spread), **spread_kwargs(src_layer, spec, geo_spread, run_info=info))
    index = max((viewer.layers.index(r) for r in above), default=len(viewer.layers) - 1) + 1
    viewer.layers.insert(index, layer)
    return layer
