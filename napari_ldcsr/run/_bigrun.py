"""Big runs (Qt-free): a result too large for memory is streamed to a GeoTIFF next to the source.

:func:`plan_run` decides, before a Run starts, whether its result is built in memory (as
usual), streamed to a file (a whole-layer run of a file-backed layer whose result would exceed
:func:`stream_threshold_bytes`) or refused with a plain message. A streamed run goes through
``ldcsr_core.geo.pipeline.upscale_raster`` (the CLI's raster path: tiled, compressed, written to
a part file and renamed, nothing left on cancel); :func:`open_streamed` then opens the file as a
lazy multiscale layer (:mod:`._lazy`) placed exactly over the source, like any Run result.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ldcsr_core.files import human_bytes
from ldcsr_core.words import counted, noun

from .._memory_limit import STREAM_THRESHOLD_MB, stream_threshold_bytes
from ._job import JobResult, JobSpec, LayerSource, provenance
from ._results import add_stacked, result_kwargs, show_as

__all__ = ["STREAM_THRESHOLD_MB", "stream_threshold_bytes", "result_bytes", "output_path_for", "plan_run", "file_problem", "lazy_refusal", "pixels_not_the_file",
           "open_streamed"]

def result_bytes(source: LayerSource, spec: JobSpec) -> int:
    """Size of the result of ``spec`` on ``source`` in memory (all bands, source dtype)."""
    h, w = spec.out_shape
    return h * w * source.count * np.dtype(source.layers[0].data.dtype).itemsize


def output_path_for(src_path: str | os.PathLike, scale: float, samples: int = 1) -> Path:
    """``<stem>_x2.50_ldcsr.tif`` next to ``src_path``; ``…_ldcsr-2.tif`` etc. if that exists, or another
    live run (a command line, another napari) is making it or its spread file
    (``output_claims.OutputClaim.busy``), or
    its sidecars (``.aux.xml``…, or a world file or RPCs by its stem, which the engine will not write
    next to), or (``samples`` > 1) its
    spread file (``…_spread.tif``, the engine's name) (FileExistsError when 99 names are taken).
    A source name so long that these names would pass the file system's limit (255 bytes at most:
    ``file_names.made_name_max``) gives its stem cut to fit (``file_names.cut_to_fit``): the user cannot
    choose this name, nor one Windows takes for a device (``CON.x.tif`` gives ``CON_1.x_x2.00_ldcsr.tif``:
    ``file_names.made_not_a_device``)."""
    from ldcsr_core.file_names import cut_to_fit, made_name_max, made_not_a_device
    from ldcsr_core.output_claims import OutputClaim
    from ldcsr_core.geo.geotiff_writer import SIDECARS, placement_sidecars
    from ldcsr_core.geo.sampling import default_spread_path

    src = Path(src_path)
    tail = f"_x{scale:.2f}_ldcsr"
    longest = len(os.fsencode(f"{tail}-99_spread.tif.aux.xml"))  # the longest name looked at or written
    base = made_not_a_device(cut_to_fit(src.stem, made_name_max(src.parent) - longest) + tail)
    for i in range(1, 100):
        path = src.with_name(f"{base}.tif" if i == 1 else f"{base}-{i}.tif")
        files = [path] + ([default_spread_path(path)] if samples > 1 else [])
        if not any(os.path.lexists(f"{f}{side}") or placement_sidecars(f) for f in files
                   for side in ("",) + SIDECARS) and not any(OutputClaim.busy(f) for f in files):
            return path
    raise FileExistsError(f"{base}.tif and 98 numbered variants exist next to the source already")


def file_problem(source: LayerSource) -> str | None:
    """Why ``source.path`` does not hold exactly ``source``'s bands and size (or None): a lazy
    source's Run refuses it, and so does the live lens that previews the Run."""
    from ldcsr_core.errors import one_line
    from ldcsr_core.geo.nodata_override import WideNodataError
    from ldcsr_core.geo.raster_io import open_raster

    from ..io._reader import mask_is_alpha

    try:
        with open_raster(source.path) as ds:
            count, shape = ds.count, (ds.height, ds.width)
            if source.count == count + 1 and mask_is_alpha(ds):  # the reader's alpha of its mask band
                count += 1
    except WideNodataError:  # the reader made it 32 bits (wide_nodata.read_narrowed): the file is not the layer
        return ("its file's 64-bit bands are opened as 32-bit ones (the file's nodata cannot be read exactly); "
                "save the layer as a GeoTIFF (Save layer as GeoTIFF…) and open that, or pick a smaller region or scale")
    except Exception as exc:  # noqa: BLE001 - becomes the message
        return f"its source file cannot be read ({one_line(exc)})"
    if shape != source.shape:
        return f"its source file is {shape[0]}×{shape[1]} px, the layer {source.shape[0]}×{source.shape[1]} px"
    if count != source.count:
        return (f"its source file has {count} bands and only {source.count} of them "
                f"{noun(source.count, 'is', 'are')} open as layers "
                "(all bands of a file are super-resolved together; open the file again)")
    return None


def pixels_not_the_file(source: LayerSource) -> str | None:
    """Why layers read whole from ``source.path`` no longer hold the pixels it gave them (None if they do,
    or nothing says what it gave: the reader's ``FILE_PIXELS``, the engine's ``pixel_digest``): one was
    given other pixels or edited since; a Run streamed from the file would be of the file's."""
    from ldcsr_core.pixel_digest import same_pixels

    from .._viewer import FILE_PIXELS

    for layer in source.layers:
        read = (layer.metadata or {}).get(FILE_PIXELS)
        if read is not None and not same_pixels(layer.data, read):
            return (f"'{layer.name}' no longer holds the pixels of {Path(source.path).name} (given other pixels or "
                    "edited since it was opened), which a result this big is read from; save it as a GeoTIFF "
                    "(Save layer as GeoTIFF…) and open that, or pick a smaller region or scale")
    return None


def lazy_refusal(source: LayerSource) -> str | None:
    """Why a Run, Check quality or Adapt of lazy ``source`` (read from its file) refuses it, one
    sentence (:func:`file_problem`), or None."""
    if source.lazy and (problem := file_problem(source)) is not None:
        return f"'{source.layers[0].name}' cannot be super-resolved: {problem}."
    return None


def plan_run(source: LayerSource, spec: JobSpec) -> JobSpec | str:
    """The spec to run (``output_path`` set when the result is streamed to a file), or a message.

    In memory when the result fits under :func:`stream_threshold_bytes`; streamed when it does not
    and the run covers the whole layer of a file-backed source (lazy layers, or layers the reader
    opened from a file); refused otherwise.
    """
    if (refused := lazy_refusal(source)) is not None:
        return refused
    size, limit = result_bytes(source, spec), stream_threshold_bytes()
    if size <= limit:
        return spec
    h, w = spec.out_shape
    what = f"The result ({h}×{w} px, {human_bytes(size)}) is larger than the {human_bytes(limit)} kept in memory"
    if spec.region.shape != source.shape:
        return (f"{what}; pick the region 'Whole layer' to stream it to a GeoTIFF next to the source, "
                "or a smaller region or scale.")
    if not source.path:
        return (f"{what}, and '{source.layers[0].name}' has no source file to stream from; save it as a "
                "GeoTIFF and open that, or pick a smaller region or scale.")
    problem = None if source.lazy else file_problem(source) or pixels_not_the_file(source)
    if problem is not None:
        return f"{what}, and it cannot be streamed from its file: {problem}."
    folder = Path(source.path).parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"{what}, and the folder of its source file is not writable ({folder}); copy the file to a "
                "writable folder and open it from there.")
    try:
        out = output_path_for(source.path, spec.scale, spec.samples)
    except FileExistsError as exc:
        return f"{what}, and no free output name is left: {exc}."
    from ldcsr_core.errors import RasterIOError

    try:  # before any compute, as the CLI does: refuse what cannot fit even compressed
        _check_room(source, spec, out)
    except RasterIOError as exc:
        return f"{what}, and it cannot be streamed next to its source: {exc}."
    return dataclasses.replace(spec, output_path=str(out), bicubic=False)


def _check_room(source: LayerSource, spec: JobSpec, out: Path) -> None:
    """The engine's one check (``pipeline.check_room``) that the streamed result ``out`` and, with samples, its
    spread file fit next to the source file, as ``upscale_raster`` and ``ldcsr upscale`` check them (before, the
    result's size alone: a spread file too big was refused only once the model had loaded, and a result too big
    was said without it)."""
    from ldcsr_core.geo.pipeline import check_room, plan_output, request_of
    from ldcsr_core.geo.raster_io import open_raster, raster_info
    from ldcsr_core.geo.sampling import default_spread_path

    with open_raster(source.path, nodata=spec.nodata) as ds:
        shape, _ = plan_output(raster_info(ds), **request_of(scale=spec.scale))
        check_room(ds, shape, out, default_spread_path(out) if spec.samples > 1 else None)


def open_streamed(viewer, source: LayerSource, result: JobResult) -> list:
    """Open ``result.path`` lazily, one layer per source layer, placed exactly over the source
    (:func:`_results.result_kwargs`) with provenance; returns the layers added."""
    from ..io._lazy import lazy_layer_data

    spec = result.spec
    data = lazy_layer_data(result.path)
    if len(data) != len(source.layers):
        raise ValueError(f"{Path(result.path).name} opens as {counted(len(data), 'layer')}, the source has "
                         f"{len(source.layers)}")
    info = provenance(result, source.layers[0].name)
    info["output_file"] = result.path
    def add(i: int, k: int):
        src, (levels, lazy_kwargs, _) = source.layers[i], data[i]
        kwargs = result_kwargs(src, spec, "ldcsr", run_info=info, lowest=k == 0)
        md = lazy_kwargs["metadata"]
        kwargs["metadata"].update(path=md["path"], file_name=md["file_name"], lazy=True, tags=md["tags"])
        if "band" in md:
            kwargs["metadata"]["band"] = md["band"]
        # napari's dask cache off, as the reader's lazy layers (napari_ldcsr/io/_lazy.py)
        layer = viewer.add_image(levels, multiscale=True, cache=lazy_kwargs.get("cache", True), **kwargs)
        show_as(layer, src)
        return layer

    return add_stacked(viewer, source.layers, add)
