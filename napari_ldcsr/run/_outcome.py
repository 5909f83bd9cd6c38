"""What a finished run leaves in the viewer (Qt-free): its result layers (filled in memory or
opened over a file it streamed to), the bicubic baselines, and the run's record (``RunLayers``).
"""

from __future__ import annotations

import os

from .._viewer import notify
from ._bigrun import open_streamed
from ._job import JobResult, JobSpec, LayerSource, bicubic_job
from ._results import ProgressiveResult, RunLayers, add_stacked, result_kwargs, show_as

__all__ = ["run_layers", "add_bicubic", "ensure_bicubic", "saved_text"]


def saved_text(result: JobResult, name=os.path.basename) -> str:
    """``saved as o.tif`` for a streamed result, ``... and its spread as o_spread.tif (not opened)``
    when it wrote a spread file too (samples > 1: no spread layer is added for it)."""
    spread = f" and its spread as {name(result.spread_path)} (not opened)" if result.spread_path else ""
    return f"saved as {name(result.path)}{spread}"


def _open_streamed(viewer, source: LayerSource, result: JobResult) -> list | None:
    """Open a streamed result lazily over its source (None if the source layers are gone)."""
    if not all(src in viewer.layers for src in source.layers):
        notify("info", f"The result was {saved_text(result, str)}.")
        return None
    return open_streamed(viewer, source, result)


def run_layers(viewer, layer, spec: JobSpec, partial: ProgressiveResult, result: JobResult) -> RunLayers | None:
    """The finished run's layers (the results, and the bicubic baselines when the run made them)
    as its record; None when ``layer``'s source layers were removed during the run."""
    outs = partial.finish(result) if result.path is None else _open_streamed(viewer, partial.source, result)
    if outs is None:
        return None
    picked = partial.source.layers.index(layer)
    bics = []
    if result.bicubic is not None:
        bics = add_bicubic(viewer, partial.source, spec, result.bicubic, outs)
    return RunLayers(layer, outs[picked], bics[picked] if bics else None, result, partial.source, outs, bics,
                     pixels=partial.pixels)


def add_bicubic(viewer, source: LayerSource, spec: JobSpec, geo_array, results: list, *,
                bands=None, kept: list | None = None) -> list:
    """Add the bicubic baselines of ``source``'s band layers ``bands`` (default: all) that ``kept``
    (band-aligned, None where there is none) has no layer in ``viewer`` for; ``results``: the run's
    LDCSR results, one per band layer. With the kept ones they lie as a block just below the
    lowest result, stacked as the sources are (:func:`_results.add_stacked`): a new one goes just
    above the baseline below it; blended as a run's layers are (:func:`_results.result_kwargs`),
    so that a baseline made visible never adds to the results above it (the lowest of the block
    covers what is beneath it). They are added hidden: under its result a visible baseline would be
    what Show source / result and Result opacity show instead of the source (Compare's grid shows
    them). Returns the baselines in band order (None for a band without)."""
    from napari.layers import Image

    made = [b if b is not None and b in viewer.layers else None for b in (kept or [None] * len(source.layers))]
    wanted = set(range(len(source.layers)) if bands is None else bands)
    members = [i for i, b in enumerate(made) if i in wanted or b is not None]
    parts, below = None, None  # the block's layer added or kept just before (the one below)

    def add(j: int, k: int):
        nonlocal parts, below
        i = members[j]
        if made[i] is None:
            parts = source.split(geo_array.data) if parts is None else parts
            kwargs = result_kwargs(source.layers[i], spec, "bicubic", run_info=results[i].metadata.get("ldcsr"),
                                   lowest=k == 0)
            kwargs["metadata"]["tags"] = dict(geo_array.tags)
            kwargs["visible"] = False  # shown by Compare's grid; hidden, blink and opacity show the source
            made[i] = Image(parts[i], **kwargs)
            show_as(made[i], source.layers[i])
            viewer.layers.insert(_slot(viewer, below, made, results), made[i])
        below = made[i]
        return made[i]

    add_stacked(viewer, [source.layers[i] for i in members], add)
    return made


def _slot(viewer, below, block: list, results: list) -> int:
    """Where a new baseline goes in the layer list: just above ``below``, else (the lowest of the
    block) just below the lowest of the ``block`` in ``viewer``, else below the lowest result."""
    if below is not None:
        return viewer.layers.index(below) + 1
    there = [lyr for lyr in block if lyr is not None and lyr in viewer.layers] \
        or [lyr for lyr in results if lyr in viewer.layers]
    return min(viewer.layers.index(lyr) for lyr in there)


def ensure_bicubic(viewer, last: RunLayers):
    """The picked band's bicubic baseline of the run ``last``; first the baseline of each band whose
    source and result are still in ``viewer`` is computed and added if it has none there (a
    baseline there, renamed or moved too, is kept: never a second one for a band)."""
    srcs = last.layer_source.layers
    kept = list(last.bicubics) if len(last.bicubics) == len(srcs) else [None] * len(srcs)
    bands = last.bands(viewer)
    if any(kept[i] is None or kept[i] not in viewer.layers for i in bands):
        if last.job.path is not None:
            raise ValueError("the result was streamed to a file; its bicubic baseline would not fit in memory")
        last.bicubics = add_bicubic(viewer, last.layer_source, last.job.spec,
                                    bicubic_job(last.layer_source, last.job.spec), last.results,
                                    bands=bands, kept=kept)
    last.bicubic = last.bicubics[srcs.index(last.source)]
    return last.bicubic
