"""What a finished run leaves in the viewer (Qt-free): its result layers (filled in memory or
opened over a file it streamed to), the bicubic baselines, and the run's record (``RunLayers``).
"""

from __future__ import annotations

from .._viewer import notify
from ._bigrun import open_streamed
from ._job import JobResult, JobSpec, LayerSource, bicubic_job
from ._results import ProgressiveResult, RunLayers, add_stacked, result_kwargs

__all__ = ["run_layers", "add_bicubic", "ensure_bicubic"]


def _open_streamed(viewer, source: LayerSource, result: JobResult) -> list | None:
    """Open a streamed result lazily over its source (None if the source layers are gone)."""
    if not all(src in viewer.layers for src in source.layers):
        notify("info", f"The result was saved as {result.path}.")
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
    return RunLayers(layer, outs[picked], bics[picked] if bics else None, result, partial.source, outs, bics)


def add_bicubic(viewer, source: LayerSource, spec: JobSpec, geo_array, results: list,
                below: list | None = None) -> list:
    """Add the bicubic baseline layers (one per result in ``results``) as a block just below the
    lowest of ``below`` (default: ``results``), the run's LDCSR results; blended as a run's
    layers are (:func:`_results.result_kwargs`), so that a baseline left visible never adds to
    the results above it (the results' lowest layer covers the block inside its region)."""
    from napari.layers import Image

    index = min(viewer.layers.index(lyr) for lyr in (below or results))
    parts = source.split(geo_array.data)

    def add(i: int, k: int):
        kwargs = result_kwargs(source.layers[i], spec, "bicubic", run_info=results[i].metadata.get("ldcsr"),
                               lowest=k == 0)
        kwargs["metadata"]["tags"] = dict(geo_array.tags)
        layer = Image(parts[i], **kwargs)
        viewer.layers.insert(index + k, layer)
        return layer

    return add_stacked(viewer, source.layers, add)


def ensure_bicubic(viewer, last: RunLayers):
    """The bicubic baseline layer of the run ``last`` (computed and added if needed)."""
    if last.bicubic is not None and last.bicubic in viewer.layers:
        return last.bicubic
    if last.job.path is not None:
        raise ValueError("the result was streamed to a file; its bicubic baseline would not fit in memory")
    geo_array = bicubic_job(last.layer_source, last.job.spec)
    present = below = [r for r in last.results if r in viewer.layers]
    if len(present) != len(last.results):  # some band results were removed: just the picked one
        source = LayerSource((last.source,), "gray")
        data = geo_array.data[last.layer_source.layers.index(last.source)][None]
        geo_array = type(geo_array)(data, geo_array.transform, tags=geo_array.tags)
        present = [last.result]
    else:
        source = last.layer_source
    last.bicubics = add_bicubic(viewer, source, last.job.spec, geo_array, present, below=below)
    last.bicubic = last.bicubics[present.index(last.result)]
    return last.bicubic
