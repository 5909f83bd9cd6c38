"""One file under two names in one batch (hard links, or symlinks to one file): computed once.

:func:`source_identity`: what GDAL reads for an input (the raster and its sidecars), by the files
themselves rather than their names; :func:`earlier_output`: an output of this very request on an
input with the same identity, which :func:`~.pipeline.upscale_raster` copies (:func:`copy_rows`)
instead of running the model again. The copy is written as any output is (atomically, under its own
name), so only its provenance differs: ``LDCSR_SOURCE`` and ``LDCSR_JOB`` name its own input.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import raster_io as rio_io

__all__ = ["source_identity", "path_identity", "earlier_output", "copy_rows"]


def _file(path) -> tuple | None:
    """The file at ``path`` (a link followed): device, inode, size and modification time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def source_identity(src) -> tuple | None:
    """The files the open dataset ``src`` reads, in GDAL's order (the raster first, then its
    sidecars: an ``.aux.xml``, a ``.msk``, a world file, a VRT's sources), each as the file itself:
    two names of one file whose sidecars are also the same files give the same identity; a sidecar
    next to one name only (``a.tif.aux.xml`` declaring a nodata) gives another. None when a file
    cannot be looked at."""
    found = tuple(_file(f) for f, _ in rio_io.files_read(src))
    return found if found and None not in found else None


def path_identity(path) -> tuple | None:
    """The file at ``path`` (a link followed), as the key of a batch's earlier result on it: one
    ``stat``, no open (:func:`earlier_output` then checks every file GDAL reads for both names)."""
    return _file(path)


def earlier_output(same_as, src, *, model, options, request, shape, spread_path) -> Path | None:
    """The output of ``same_as`` (an earlier :class:`~.job.RasterResult`) when it can stand for this
    run's on ``src`` (open): its input reads the same files (:func:`source_identity`) and it is a
    complete output of the same request (its ``LDCSR_JOB``), with a complete spread file when this
    run makes one. None otherwise (then this run computes)."""
    from .job import is_complete_output, request_fingerprints

    if same_as is None or (spread_path is None) != (getattr(same_as, "spread", None) is None):
        return None
    ours = source_identity(src)
    try:
        with rio_io.open_raster(same_as.src, nodata=options.nodata, crs=options.crs) as other:
            if ours is None or source_identity(other) != ours:
                return None
            reads = [f for f, _ in rio_io.files_read(other)]
    except Exception:
        return None
    job = request_fingerprints(same_as.src, model=model, options=options, request=request, out_shape=shape,
                               reads=reads)
    if not is_complete_output(same_as.dst, out_shape=shape, job=job):
        return None
    if spread_path is not None and not is_complete_output(same_as.spread, out_shape=shape, job=job,
                                                          spread_for=same_as.dst):
        return None
    return Path(same_as.dst)


def copy_rows(path, writer, *, mask: bool) -> None:
    """Push every row of the GeoTIFF at ``path`` into the block writer ``writer``
    (:class:`~.block_rows.BlockRowWriter`), with its mask band when ``mask`` (the output has one:
    the source's dataset mask, upsampled)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        step = writer.block_rows
        for y0 in range(0, ds.height, step):
            win = Window(0, y0, ds.width, min(step, ds.height - y0))
            writer.push(y0, ds.read(window=win), ds.dataset_mask(window=win) if mask else None)
