"""Super-resolve a georeferenced raster, streaming by tiles: read → radiometry → model → write.

One implementation serves every front end (CLI, napari plugin, QGIS provider, Dask):

* :func:`upscale_raster` - a raster file in, a tiled, compressed, georeferenced GeoTIFF out
  (atomic: written to a hidden part file and renamed into place when complete);
* :func:`upscale_window` - an open dataset (a file, or a NumPy layer wrapped by
  :func:`~ldcsr_core.geo.raster_io.dataset_from_array`), or a window of it, in; a
  :class:`~ldcsr_core.geo.raster_io.GeoArray` out.

Both plan tiles with the engine (:func:`ldcsr_core.tiling.plan_for_model`, as ``upscale`` does; the
bicubic baseline uses :func:`ldcsr_core.tileplan.plan_tiles`), read each tile's window
with one :class:`SceneReader` (all bands, validity, a stretch fitted once on the *whole* scene,
nodata fill, band triplets), run the triplets through :func:`~ldcsr_core.tiling.process_tile` in
the engine's one tile loop (:func:`~ldcsr_core.tiling.run_plan`) and hand finished rows to one
:class:`RasterSink` (original units and dtype, upsampled mask restored), which pushes them to a
GeoTIFF block writer or to an array: the same input and options give the same pixels and the
same georeferencing either way. Memory is one tile row of the output plus the model (plus the
result array for :func:`upscale_window`).

Tiles can run in this process (:class:`~ldcsr_core.geo.local_runner.LocalRunner`) or as tasks on a Dask cluster
(:class:`ldcsr_core.geo.distributed.DaskRunner`); both feed the same merger in plan order, and as the
engine keys noise to global latent position, the same seed gives the same file either way.
Progress and cancel use the one protocol of :mod:`ldcsr_core.progress`.

Rooms below this one: a run's preparation and tile loop (shared by every entry point) in
:mod:`.tile_run`; :func:`bicubic_window` in :mod:`.bicubic`; the options, output grid, provenance
and resume rule in :mod:`.job`; the reader and the sink in :mod:`.scene_io`; K samples per tile
(mean and spread) in :mod:`.sampling`; files in :mod:`.raster_io` and :mod:`.geotiff_writer`;
running tiles here in :mod:`.local_runner`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .. import files
from . import geotiff_writer as gw_mod
from . import raster_io as rio_io
from ..errors import ConfigError, InputError, OutputExistsError
from ..folder_removed import stopped_by_folders
from ..words import path_said
from ..output_claims import OutputClaim
from ..progress import ProgressCallback
from ..rules import check_callable, check_path
from .bicubic import BICUBIC_NOTICE, bicubic_window  # noqa: F401 - BICUBIC_NOTICE re-exported
from .gdal_cache import bounded_gdal_cache
from .local_runner import check_runner
from .job import (
    OutputOptions, RasterResult, UpscaleOptions, checked_options, has_provenance, is_complete_output, not_ours,
    plan_output, provenance_tags, request_fingerprint, request_fingerprints, request_of, software_version,
)
from .crs_override import with_crs
from .resume import request_complete
from .nodata_override import with_nodata
from .scene_io import ArrayWriter, RasterSink, SceneReader
from .tile_run import (
    _execute, _geo_array, _prepare, _request, _resolve_model, _source_name, check_source, settle_notice, source_path,
)

__all__ = [
    "UpscaleOptions",
    "OutputOptions",
    "RasterResult",
    "SceneReader",
    "upscale_raster",
    "check_room",
    "check_destination",
    "check_not_read",
    "refuse_read",
    "may_be_removed",
    "removed_input",
    "upscale_window",
    "bicubic_window",
    "ArrayWriter",
    "RasterSink",
    "plan_output",
    "request_of",
    "provenance_tags",
    "is_complete_output",
    "request_fingerprint",
    "request_fingerprints",
    "has_provenance",
    "software_version",
]

log = logging.getLogger(__name__)

# How upscale_raster's OutputExistsError says to replace the output (the CLI says --overwrite)
REPLACE = "output=OutputOptions(overwrite=True)"


def _on_card(model) -> bool:
    """Whether ``model`` computes on a CUDA card (its host thread then only feeds it)."""
    device = getattr(model, "device", None)
    return getattr(device, "type", None) == "cuda"


def upscale_window(
    src,
    *,
    model,
    scale=None,
    target_resolution=None,
    out_shape=None,
    window=None,
    options: UpscaleOptions | None = None,
    callback: ProgressCallback | None = None,
    runner=None,
    source_name: str | None = None,
    on_rows: Callable[[int, np.ndarray], None] | None = None,
) -> rio_io.GeoArray:
    """Super-resolve an open dataset, or a window of it, into a :class:`~raster_io.GeoArray`.

    Parameters
    ----------
    src : an open rasterio dataset (a file, or a NumPy array wrapped by
        :func:`~ldcsr_core.geo.raster_io.dataset_from_array`), or a path.
    model : a loaded engine model (:func:`ldcsr_core.load_model`); None: the shipped default, as
        :func:`ldcsr_core.upscale`.
    scale, target_resolution, out_shape : exactly one; as in :func:`upscale_raster`
        (``out_shape`` is the output size of the window).
    window : ``(row_off, col_off, height, width)`` of the source to super-resolve (default: all).
        The stretch and fill values are fitted on the whole scene either way, so a window gets
        the radiometry of a whole-scene run (tiles and noise are laid out on the window).
    options : :class:`UpscaleOptions` (mode, seed, tile, bands, stretch).
    callback : the progress/cancel protocol of :mod:`ldcsr_core.progress`.
    runner : :class:`LocalRunner` (default) or a ``DaskRunner``.
    source_name : the ``LDCSR_SOURCE`` tag (default: the file name; ``"array"`` in memory).
    on_rows : ``on_rows(y0, rows)`` with each block of finished output rows ``(bands, n, W)``,
        in order, in the source dtype and units with nodata restored (exactly the final pixels):
        for progressive display. The rows are a view into the result; copy to keep them.

    Returns
    -------
    GeoArray
        ``data`` ``(bands, H, W)`` in the source dtype with nodata restored, the output
        ``transform`` (the window's bounds, finer pixels), ``crs``, ``nodata``, ``tags`` (source
        tags + ``LDCSR_*`` provenance), colour interpretation, band names, and ``mask`` if the
        source had a per-dataset mask.
    """
    check_callable(callback), check_callable(on_rows, "on_rows")  # before the scene is read
    options, runner = checked_options(options, UpscaleOptions, "options"), check_runner(runner)
    if (path := source_path(src)) is not None:
        with rio_io.open_raster(path) as ds:
            return upscale_window(ds, model=model, scale=scale,
                                  target_resolution=target_resolution, out_shape=out_shape,
                                  window=window, options=options, callback=callback,
                                  runner=runner, source_name=source_name, on_rows=on_rows)
    src = with_crs(with_nodata(check_source(src), options.nodata), options.crs)
    if options.samples > 1:
        raise ConfigError(f"upscale_window returns one picture, not the {options.samples} samples asked "
                          "for: use ldcsr_core.geo.spread.upscale_window_spread (their mean and spread)")
    rio_io.check_dataset(src)
    model = _resolve_model(model)
    job = _prepare(src, model, _request(scale, target_resolution, out_shape), options,
                   window=window, src_name=_source_name(src, source_name), runner=runner)
    writer = ArrayWriter(src.count, job.shape, job.reader.dtype, on_rows)
    _execute(job, model, writer, runner=runner, callback=callback)
    return _geo_array(src, job, writer)



def check_destination(src_path, dst_path) -> None:
    """The output path of the input at ``src_path``, checked before any work (:func:`upscale_raster`'s
    rule; QGIS checks it before its model loads), in ``ldcsr upscale``'s words: not the input file
    (by any name: a link, another letter case where the file system folds it), named as a GeoTIFF
    (:func:`~ldcsr_core.file_names.check_geotiff_name`, as ``-o`` is: 'x.png' was a TIFF so named), a
    name the file system takes, not a folder, in an existing folder."""
    from ..errors import RasterIOError
    from ..file_names import check_geotiff_name

    src_path, dst_path = Path(src_path), Path(dst_path)
    if rio_io.same_file(src_path, dst_path):
        raise InputError(f"output path is the input file: {dst_path} (inputs are never overwritten)")
    files.check_name_length(dst_path)  # else the first stat of it fails, in errno's words
    files.check_not_folder(dst_path)  # else found only at the final rename, after all the work
    check_geotiff_name(dst_path)
    if not dst_path.parent.is_dir():
        raise RasterIOError(errno.ENOENT, f"output folder does not exist: {path_said(dst_path.parent)}")


def check_not_read(src, paths, overwrite: bool = True, *, what: str = "output") -> None:
    """Refuse ``paths`` (outputs; ``None`` skipped) among the files the open dataset ``src`` reads
    (:func:`~ldcsr_core.geo.raster_io.files_read`: a VRT's sources, a sidecar), and outputs whose write
    removes one (:func:`removed_input`; ``overwrite``: whether the write replaces what is there). Written over or
    removed, the input would change. :class:`InputError` in ``ldcsr upscale``'s words, ``what`` naming the paths
    (``output path is …``, ``spread path is …``)."""
    refuse_read(rio_io.read_keys(src), paths, overwrite, what=what)  # listed once (a VRT's sources: stat'ed as listed)


def refuse_read(reads, paths, overwrite: bool = True, *, what: str = "output") -> None:
    """:func:`check_not_read` of files listed already: ``reads``, :func:`~ldcsr_core.geo.raster_io.read_keys` of one
    input, or of every input of a folder run (whose outputs no input may read: ``in/b.tif in/v.vrt -o out`` where
    v.vrt reads out/b_sr.tif). Each output is looked at once, whatever the number of files read."""
    owner: dict = {}
    for _, read_as, keys in reads:
        for k in keys:
            owner.setdefault(k, read_as)

    def among(found):
        return next(((Path(p), owner[k]) for p in found for k in files.file_keys(p) if k in owner), None)

    paths = [p for p in paths if p is not None]
    hit = among(paths) if owner else None
    if hit is not None:
        raise InputError(f"{what} path is {hit[1]}: {hit[0]} (inputs are never overwritten)")
    named = [(f, read_as) for f, read_as, _ in reads if may_be_removed(f.name)]
    for p in paths if owner else ():  # (before, the write removed the input, '1 written')
        words = removed_input(p, among, named, overwrite)
        if words:
            raise InputError(words)


def may_be_removed(name: str) -> bool:
    """Whether a file so named may be one :func:`removed_input` looks for by name (a part file's, one kept aside):
    only such names are looked at for every output of a batch."""
    return files.PART_SUFFIX in name or ".set-aside" in name


def removed_input(path, among, named, overwrite: bool = True) -> str | None:
    """Words refusing the output ``path`` when its write removes an input, else ``None``: one of its sidecars
    (:data:`~.geotiff_writer.SIDECARS`: ``o.tif.msk`` of ``o.tif``; without ``overwrite`` the write is refused while
    one is there), of those kept aside (``o.tif.aux.xml.set-aside``), or of its part files' names
    (``.o.tif.<8>.ldcsr-part``). ``among(paths)``: the first of ``paths`` that is an input, as ``(path, what it
    is)``; ``named``: the inputs, ``(file, what)``, whose names are looked at for the last two (a batch gives only
    those whose names :func:`may_be_removed`, as a folder of set-aside files is not listed for each)."""
    from .. import part_files
    from .sidecars import is_set_aside_name

    p, prefix = Path(path), part_files.part_prefix(path)
    for found, why in (
            ([f"{p}{s}" for s in gw_mod.SIDECARS],
             "a sidecar of the output {p}: GDAL would read it as part of the output, whose write removes it"
             if overwrite else "a sidecar of the output {p}: GDAL would read it as part of the output, so the "
             "output is not written while it is there (and replacing the output would remove it)"),
            ([p.parent / f.name for f, _ in named if is_set_aside_name(f.name, p)],
             "a sidecar of {p} kept aside, which the next write of {p} removes"),
            ([p.parent / f.name for f, _ in named if f.name.startswith(prefix) and part_files.is_part_of(p.parent / f.name, p)],
             "named as a part file of {p}, which a write of {p} removes as left by an interrupted run")):
        hit = among(found) if found else None
        if hit is not None:
            return (f"{hit[0]} is {hit[1]} and {why.format(p=p)} (inputs are never overwritten; choose another "
                    "output name)")
    return None


def check_room(src, shape, dst_path, spread_path=None, output: OutputOptions | None = None) -> dict:
    """Refuse the output of ``shape`` (H, W) of the open ``src`` (and its spread file) where it cannot fit in
    ``dst_path``'s folder even compressed (:func:`~.geotiff_writer.check_free_space`: ``ENOSPC`` or ``EFBIG``
    :class:`~ldcsr_core.errors.RasterIOError`); its profile otherwise. :func:`upscale_raster` checks so
    before any compute (given ``model=None``, before the default model loads); ``ldcsr upscale`` and QGIS
    before they load theirs, so that a full disk is said at once, not after seconds of loading."""
    output = checked_options(output, OutputOptions, "output")
    dst_path = Path(dst_path)
    profile = rio_io.output_profile(src, tuple(shape), block=output.block, compress=output.compress)
    _check_room(profile, dst_path, None if spread_path is None else Path(spread_path),
                mask=rio_io.raster_info(src).has_dataset_mask)
    return profile


def upscale_raster(
    src_path: str | Path,
    dst_path: str | Path,
    *,
    model,
    scale=None,
    target_resolution=None,
    out_shape=None,
    options: UpscaleOptions | None = None,
    output: OutputOptions | None = None,
    runner=None,
    callback: ProgressCallback | None = None,
    spread_path: str | Path | None = None,
    found=files.UNKNOWN,
    same_as: RasterResult | None = None,
) -> RasterResult:
    """Super-resolve one raster file into a tiled, compressed, georeferenced GeoTIFF.

    Parameters
    ----------
    src_path, dst_path : input raster (anything rasterio reads) and output GeoTIFF path. The input
        is opened read-only; the output is written to a hidden part file in its folder and
        renamed into place when complete (part files a killed run left are removed first).
    model : a loaded engine model (:func:`ldcsr_core.load_model`); None: the shipped default, as
        :func:`ldcsr_core.upscale`.
    scale, target_resolution, out_shape : exactly one. ``scale`` is ``s`` or ``(sy, sx)``;
        ``target_resolution`` is the output pixel size in the CRS's units (metres), ``t`` or
        ``(tx, ty)`` (projected CRS only); ``out_shape`` is ``(H, W)``.
    options : :class:`UpscaleOptions` (mode, seed, tile, bands, stretch).
    output : :class:`OutputOptions` (overwrite, skip_complete, block, compress, gdal_cache_mb).
        Without ``overwrite`` an existing output is an :class:`~ldcsr_core.errors.OutputExistsError`,
        unless ``skip_complete`` and it is a complete output of the same request (then skipped);
        one that another run puts there while this one works is never replaced (with
        ``skip_complete``, skipped when it is a complete output of this request). An output (or spread
        file) another live run is making is not made twice: this run waits for it (``wait_for_others``)
        and then looks again, or raises :class:`~ldcsr_core.errors.OutputBusy`; it claims both files
        itself (:meth:`OutputClaim.each <ldcsr_core.output_claims.OutputClaim.each>`) until they are in
        place or removed.
    runner : where tiles run: :class:`LocalRunner` (default) or a ``DaskRunner``.
    callback : ``callback(TileProgress)`` before the first tile and after each one; raising
        :class:`~ldcsr_core.Cancelled` in it stops the run and leaves no output behind.
    spread_path : with ``options.samples`` > 1, where the spread GeoTIFF goes (default
        ``NAME_spread.tif`` next to ``dst_path``; see :mod:`ldcsr_core.geo.sampling`). Written
        atomically like the output, on the same grid; the output holds the mean of the samples.
    found : with ``output.overwrite`` and ``skip_complete``, what the caller found at ``dst_path``
        before its work began (:func:`~ldcsr_core.files.file_id`; None: nothing). The file that is
        there then is replaced; another one, a complete output of this request, was put there since
        by another run of it (a second command sharing a batch's work): it is skipped, not made
        again. Default: not known, so whatever is there is replaced.
    same_as : an earlier result of this request on another name of the same file (a hard link, a
        symlink; ``ldcsr upscale``'s batch): when its input reads the very same files and its output
        is complete (:func:`~.same_source.earlier_output`), that output's pixels (and spread file)
        are copied instead of running the model again (``RasterResult.copied_from``); the output is
        written as any is, with its own ``LDCSR_SOURCE`` and ``LDCSR_JOB``. Else computed.

    Returns
    -------
    RasterResult
    """
    options = checked_options(options, UpscaleOptions, "options")
    output = checked_options(output, OutputOptions, "output")
    check_callable(callback), check_runner(runner)
    model = model if model is None else _resolve_model(model)  # the default: loaded once the output has room
    src_path, dst_path = check_path(src_path, "input"), check_path(dst_path, "output")  # no dataset, no array
    check_destination(src_path, dst_path)
    if options.samples > 1:  # the uncertainty map's file (ldcsr_core.geo.sampling)
        from .sampling import check_spread_path

        spread_path = check_spread_path(src_path, dst_path, spread_path)
    elif spread_path is not None:
        raise InputError("a spread file needs samples > 1 (the spread of one sample is 0)")
    import rasterio

    # A bounded GDAL block cache (its default is 5 % of RAM) keeps peak memory flat; it is the
    # process's (a host's too), so it is lowered for the run only (gdal_cache: not via rasterio.Env).
    with bounded_gdal_cache(int(output.gdal_cache_mb) * 2**20), rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), \
            rio_io.open_raster(src_path, nodata=options.nodata, crs=options.crs) as src, contextlib.ExitStack() as held:
        check_not_read(src, [dst_path], output.overwrite)  # e.g. a source of a VRT input
        check_not_read(src, [spread_path], output.overwrite, what="spread output")
        info = rio_io.raster_info(src)
        request = _request(scale, target_resolution, out_shape)
        shape, exact = plan_output(info, **request)
        profile = None
        if model is None and (output.overwrite or not os.path.lexists(dst_path)):  # (else skipped or refused)
            profile = check_room(src, shape, dst_path, spread_path, output)  # a full disk said before the default loads
        model = _resolve_model(model)
        result = RasterResult(str(src_path), str(dst_path), (info.height, info.width), shape, exact)
        # a killed run's part files, also its spread file's (a run that skips never opens that writer)
        result.stale_parts_removed = sum(len(rio_io.clear_stale_parts(p, replacing=output.overwrite))
                                         for p in (dst_path, spread_path) if p is not None)
        # the fingerprint written first; any other one this request's earlier outputs carry
        jobs = request_fingerprints(src_path, model=model, options=options, request=request,
                                    out_shape=shape, reads=[f for f, _ in rio_io.files_read(src)],
                                    as_given=_request(scale, target_resolution, out_shape, as_given=True))
        fingerprint = jobs[0]
        # another live run making it (or the spread file): wait for it and look again (a batch does its
        # other inputs first); every file this run writes is claimed until it is in place or removed
        for claim in OutputClaim.each([dst_path, spread_path], wait=output.wait_for_others):
            held.callback(claim.release)
            profile = None if claim.waited else profile  # the room checked before that wait: checked again below
        t0 = time.perf_counter()  # the run's time, not the wait's

        def complete() -> bool:  # this very request's output (and spread file) is there
            return request_complete(dst_path, spread_path, out_shape=shape, job=jobs)

        there = os.path.lexists(dst_path)  # a broken link too: never replaced without overwrite
        # overwrite replaces the file the caller found; this request's output made since (by another
        # run of it) is that run's work, kept as without overwrite
        made_since = found is not files.UNKNOWN and files.file_id(dst_path) not in (found, None)
        if there and (made_since or not output.overwrite) and output.skip_complete and complete():
            result.status = "skipped"
            result.spread = None if spread_path is None else str(spread_path)
            return result
        if there and not output.overwrite:
            if spread_path is not None and is_complete_output(dst_path, out_shape=shape, job=jobs):
                why = f" but its spread file {spread_path} is missing or from another request"
            elif has_provenance(dst_path):
                why = " from another request (source, model or options differ)"
            else:
                why = ""
            what = "" if why else not_ours(dst_path)  # a damaged TIFF, not a raster, another program's
            raise OutputExistsError(f"output exists{why}: {dst_path} ({f'{what}; ' if what else ''}use {REPLACE} "
                                    "to replace it)", overwrite=REPLACE)
        spread_output = output
        if spread_path is not None and spread_path.exists() and not output.overwrite:
            # this request's spread file of this output; another output's (a run of the same request
            # to another -o, the same --spread-out) is that output's, not replaced without overwrite
            if not is_complete_output(spread_path, out_shape=shape, job=jobs, spread_for=dst_path):
                raise OutputExistsError(f"output exists: {spread_path} (use {REPLACE} to replace it)",
                                        overwrite=REPLACE)
            # This request's spread file without its output: a run stopped between the two renames
            # (the output goes last, see below). Not complete without the output: redone.
            spread_output = dataclasses.replace(output, overwrite=True)
        # Before any compute: refuse what cannot fit (the output and its spread file); the warning
        # that only compression may make it fit is each writer's, as it opens (once per file)
        if profile is None:  # (checked above, before the default model loaded: not twice, unless a wait followed)
            profile = check_room(src, shape, dst_path, spread_path, output)

        job = _prepare(src, model, request, options, src_name=src_path.name, runner=runner)
        job.tags["LDCSR_JOB"] = fingerprint
        from .same_source import copy_rows, earlier_output

        earlier = earlier_output(same_as, src, model=model, options=options, request=request, shape=shape,
                                 spread_path=spread_path)
        result.tiles = job.tiles
        # The output is renamed into place last, once the spread file is: an output there means
        # its run is complete (what a resumed batch skips); a failure leaves neither file.
        main = rio_io.GeoTiffWriter(dst_path, profile, src=src, tags=job.tags,
                                    overwrite=output.overwrite, hold=True, mask=job.reader.use_dataset_mask)
        spread_cm = contextlib.nullcontext(None)
        if spread_path is not None:
            from .sampling import spread_file

            spread_cm = spread_file(spread_path, src, job, output=spread_output, fellow=main, of=dst_path)
            result.spread = str(spread_path)
        spread_done = None
        try:
            with spread_cm as spread_writer, main as gw:
                writer = rio_io.BlockRowWriter(gw)
                # on a card the host's one thread launches, takes and blends; compressing and writing
                # the finished rows (as long as the card's share of the work) go to a thread of their own
                if earlier is not None:  # the same file's output, made a moment ago: its pixels
                    copy_rows(earlier, writer, mask=job.reader.use_dataset_mask)
                    if spread_writer is not None:
                        copy_rows(same_as.spread, spread_writer, mask=False)
                    result.copied_from, job.skipped_tiles = str(earlier), same_as.skipped_tiles
                else:
                    _execute(job, model, writer, runner=runner, callback=callback,
                             spread_writer=spread_writer, sink_thread=_on_card(model))
                settle_notice(job, main)  # (of the copied rows too) all nodata: no pixel synthesised, said so
                writer.close()
            spread_done = files.file_id(spread_path)  # ours, renamed into place as the with block closed
            main.commit()
        except OutputExistsError as e:
            main.discard()
            # Another run of this very request (a second command on the same folder) finished it
            # first: its file is what was asked for, so this run skips it, as a rerun would.
            if not (output.skip_complete and is_complete_output(dst_path, out_shape=shape, job=jobs)):
                _remove_if(spread_path, spread_done)
                if e.overwrite and e.overwrite != REPLACE:  # the writer's 'overwrite=True': not this call's
                    raise OutputExistsError(errno.EEXIST, e.worded(REPLACE), overwrite=REPLACE) from None
                raise
            log.info("%s was written meanwhile by another run of the same request; kept", dst_path)
            result.status = "skipped"
        except BaseException as e:
            main.discard()
            _remove_if(spread_path, spread_done)  # the output did not follow it (an interrupt, say)
            if (gone := stopped_by_folders(e, dst_path, spread_path)) is not None:
                raise gone from e  # each folder that went and its file, and the error where not the folder's
            raise
        result.skipped_tiles = job.skipped_tiles
        result.tags = job.tags
    result.seconds = time.perf_counter() - t0
    return result


def _check_room(profile, dst_path: Path, spread_path: Path | None, *, mask: bool) -> None:
    """Refuse, before any compute, an output (and spread file) that cannot fit: their sizes together
    against the free space of a file system they share, each one's alone against the file size limit
    (``ulimit -f`` is per file: an output and its spread file each within it were refused by their sum)."""
    sizes = {dst_path: gw_mod.output_nbytes(profile, mask=mask)}  # what the writers will write
    if spread_path is not None:
        sizes[spread_path] = gw_mod.output_nbytes({**profile, "dtype": "float32"})
    by_disk: dict = {}
    for path, nbytes in sizes.items():
        try:
            disk = os.stat(path.parent).st_dev
        except OSError:  # (the writer says what is wrong with its folder)
            disk = path.parent
        by_disk.setdefault(disk, []).append((path, nbytes))

    def what(path, the="the"):  # (before, a spread file was 'the output' too)
        return "the output" if path == dst_path else f"{the} spread file"

    for group in by_disk.values():  # (a shared one named by both: 'o.tif' alone, with the sum, misled)
        # (one in another folder of that disk by its path: 's.tif … in out' sent the user to out, not maps)
        name = " and its spread file ".join(p.name if p.parent == group[0][0].parent else str(p) for p, _ in group)
        gw_mod.check_free_space(group[0][0].parent, sum(n for _, n in group), name=name, warn=False,
                                what=what(group[0][0]),  # each file's size, not their sum as the output's
                                each=[(what(p, "its"), n) for p, n in group] if len(group) > 1 else None,
                                largest=max(((p.name, n, what(p)) for p, n in group), key=lambda pnw: pnw[1]))


def _remove_if(path, entry) -> None:
    """Remove ``path`` if it is still the file ``entry`` (:func:`~ldcsr_core.files.file_id`) this
    run put there."""
    if entry is not None and files.file_id(path) == entry:
        Path(path).unlink(missing_ok=True)
