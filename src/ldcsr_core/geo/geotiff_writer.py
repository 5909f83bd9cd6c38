"""Writing GeoTIFFs so that nothing is reported written unless it is.

* :func:`check_free_space` - before any compute: the output's uncompressed size against the
  destination's free space; a job that cannot fit even at :data:`BEST_COMPRESSION`:1 is refused
  (:class:`~ldcsr_core.errors.RasterIOError`, ``ENOSPC``), one whose uncompressed size exceeds the
  free space is warned about;
* :class:`GeoTiffWriter` - a tiled, compressed (Big)GeoTIFF written to a hidden, locked part file
  in the destination folder and renamed into place only when complete and checked: GDAL's write
  errors (which it reports without raising when they happen in its block cache) are caught by
  compressing in the writing thread, by ``fsync`` and by reopening the finished file and checking
  every block (:func:`verify_geotiff`); any failure, Ctrl-C included, leaves neither the output
  nor a part file, and ends in one line naming the output and the cause
  (:func:`write_error`); part files a killed run (``kill -9``) left are removed by the next write
  of the same output (:func:`clear_stale_parts`).

Writing finished rows one whole block row at a time (:class:`~.block_rows.BlockRowWriter`) lives in
:mod:`.block_rows`; the sidecars an output is renamed with, and those that would misplace it, in
:mod:`.sidecars`.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import files
from ..errors import OVERWRITE, LdcsrError, OutputExistsError, RasterIOError, cause_line, one_line
from ..files import file_size_limit as _file_size_limit
from ..files import free_bytes, human_bytes, needs_words, write_error
from ..rules import check_flag
from ..words import path_said
from .georef import (
    PROVENANCE_PREFIX, band_tags, carried_domains, carried_tags, is_point, new_file_tags, quiet_georef, write_domains,
    write_gcps,
)
from .libtiff_messages import route_libtiff_messages
from .read_failures import gdal_errors
from .sidecars import (SIDECARS, _link_with_sidecars, _remove_part, _replace_with_sidecars, _sidecars, clear_stale_parts,
                       placement_sidecars)

__all__ = ["GeoTiffWriter", "clear_stale_parts", "check_free_space", "free_bytes", "output_nbytes", "verify_geotiff",
           "write_error", "human_bytes", "BEST_COMPRESSION", "PROVENANCE_PREFIX", "SIDECARS", "placement_sidecars"]

log = logging.getLogger(__name__)

# The best lossless compression ratio assumed possible: a job whose uncompressed size is more than
# this many times the free space cannot fit and is refused before any compute.
BEST_COMPRESSION = 4.0


# ---------------------------------------------------------------------------------------------
# Space
# ---------------------------------------------------------------------------------------------


def output_nbytes(profile: Mapping[str, Any], *, mask: bool = False) -> int:
    """Uncompressed size of the GeoTIFF of ``profile`` as written (no overviews; "needs about N uncompressed"): its
    bands, in whole (padded) tiles where uncompressed (compressed, padding all but vanishes), ``mask``: 1 bit a pixel."""
    H, W = int(profile["height"]), int(profile["width"])
    padded = profile.get("tiled") and str(profile.get("compress") or "none").lower() == "none"
    bh, bw = (int(profile["blockysize"]), int(profile["blockxsize"])) if padded else (1, 1)
    data = -(-H // bh) * bh * -(-W // bw) * bw * int(profile["count"]) * np.dtype(profile["dtype"]).itemsize
    return data + (H * -(-W // 8) if mask else 0)


def check_free_space(folder: str | os.PathLike, nbytes: int, *, name: str = "the output",
                     warn: bool = True, largest: tuple[str, int, str] | None = None,
                     what: str = "the output", each=None) -> int | None:
    """Refuse a write of ``nbytes`` uncompressed bytes that cannot fit in ``folder``.

    Raises :class:`RasterIOError` (``ENOSPC``, or ``EFBIG`` for the process's file size limit)
    when even :data:`BEST_COMPRESSION`:1 compression would not fit; with ``warn``, logs a warning
    when the uncompressed size exceeds the free space (compression may still make it fit): off for
    a check ahead of writers that check (and warn) again as they open. ``largest``: where
    ``nbytes`` is several files' (an output and its spread file), the ``(name, bytes, what)`` of the largest,
    which the file size limit (``ulimit -f``: each file's) is compared with; default ``name``'s ``nbytes``.
    ``what``: the file said to need ``nbytes`` ("the spread file needs about …"; before, a spread file was
    "the output"); ``each``: where ``nbytes`` is several files', each one's ``(what, bytes)``, said each
    (:func:`~ldcsr_core.files.needs_words`; before, their sum as 'the output needs about …')
    Returns the free bytes (``None`` where the filesystem does not say).
    """
    import tempfile

    try:  # say this first: a place we cannot write to has no room either (O_TMPFILE: no name)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        if e.errno == errno.ENOSPC:  # (no file entry left for it either: said so, as every write's ENOSPC)
            raise write_error(Path(folder) / name, e, nbytes, each=each) from None
        raise RasterIOError(e.errno, f"cannot write to {folder}: {e.strerror or one_line(e)}") from None
    free = free_bytes(folder)
    need = int(nbytes / BEST_COMPRESSION)
    if free is not None and need > free:
        raise RasterIOError(errno.ENOSPC, (
            f"not enough space for {name} in {folder}: {human_bytes(free)} free, {needs_words(nbytes, each, what)} "
            f"uncompressed (at least {human_bytes(need)}{' together' if each else ''} even at {BEST_COMPRESSION:g}:1 "
            "compression); free some space or choose another output folder"))
    limit, (one_name, one, one_what) = _file_size_limit(), largest or (name, nbytes, what)
    if limit is not None and int(one / BEST_COMPRESSION) > limit:
        raise RasterIOError(errno.EFBIG, (
            f"{one_name} cannot be written: the file size limit (ulimit -f) is {human_bytes(limit)}, "
            f"{one_what} needs about {human_bytes(one)} uncompressed (at least {human_bytes(int(one / BEST_COMPRESSION))} "
            "compressed)"))
    if warn and free is not None and nbytes > free:
        log.warning("%s needs about %s uncompressed and %s has %s free: it fits only if it "
                    "compresses well", name, human_bytes(nbytes), folder, human_bytes(free))
    return free


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


# ---------------------------------------------------------------------------------------------
# The check of a finished file
# ---------------------------------------------------------------------------------------------


def verify_geotiff(path: str | os.PathLike, *, shape: tuple[int, int], count: int, name: str | None = None) -> None:
    """Check that the GeoTIFF at ``path`` is whole: it opens with the expected size, every block
    of every band is stored inside the file, and its last block reads back.

    Raises :class:`RasterIOError` naming what is wrong, and the file as ``name`` (default: its own
    name; a part file's output, not the hidden part file). The block check reads only the TIFF's
    offsets (GDAL's ``BLOCK_OFFSET``/``BLOCK_SIZE``), so it costs little even for a huge file.
    """
    import rasterio
    from rasterio.windows import Window

    p = Path(path)
    size = _size(p)
    said = name or p.name
    try:
        with quiet_georef(), rasterio.open(p) as ds:  # an output of a picture not placed: none of rasterio's warnings
            if (ds.height, ds.width, ds.count) != (int(shape[0]), int(shape[1]), int(count)):
                raise RasterIOError(errno.EIO, (
                    f"{said} reads back as {ds.count}×{ds.height}×{ds.width}, "
                    f"expected {count}×{shape[0]}×{shape[1]}"))
            bh, bw = ds.block_shapes[0]
            nby, nbx = -(-ds.height // bh), -(-ds.width // bw)
            bands = range(1, ds.count + 1) if ds.interleaving is not None and \
                ds.interleaving.name == "band" else (1,)
            for b in bands:
                for by in range(nby):
                    for bx in range(nbx):
                        off = ds.get_tag_item(f"BLOCK_OFFSET_{bx}_{by}", "TIFF", bidx=b)
                        n = ds.get_tag_item(f"BLOCK_SIZE_{bx}_{by}", "TIFF", bidx=b)
                        if not off or not n or int(off) + int(n) > size:
                            raise RasterIOError(errno.EIO, (
                                f"block ({by}, {bx}) of band {b} of {said} was not stored"))
            y0, x0 = (nby - 1) * bh, (nbx - 1) * bw
            ds.read(window=Window(x0, y0, ds.width - x0, ds.height - y0))
    except gdal_errors() as e:
        cause = cause_line(e).replace(str(p), said).replace(p.name, said)  # GDAL names the file it opened
        raise RasterIOError(errno.EIO, f"{said} does not read back: {cause}") from None


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------


class GeoTiffWriter:
    """Write a GeoTIFF to a temporary file next to ``path``; rename it into place on success.

    Use as a context manager. On a normal exit the dataset is closed, synced to disk, checked
    (:func:`verify_geotiff`) and atomically renamed to ``path`` (with its ``.aux.xml`` sidecar, if
    GDAL made one); on any exception, including ``KeyboardInterrupt``, and on any write error, the
    temporary file is removed, ``path`` is left untouched and a write error is raised as one
    :class:`RasterIOError` naming ``path`` and the cause (:func:`write_error`).

    Parameters
    ----------
    path : final output path; its folder must exist.
    profile : rasterio profile (e.g. from :func:`~ldcsr_core.geo.raster_io.output_profile`).
    src : optional source dataset whose band descriptions, colour interpretation, tags (dataset
        and per band, but not the bands' statistics; a print resolution follows the size, see
        :func:`~ldcsr_core.geo.georef.resampled_tags`), units, scales and offsets are copied.
    tags : extra dataset tags (provenance), written last; not :data:`~.georef.FILE_OWN_TAGS`
        (:func:`~.georef.new_file_tags`: a file's date is its own).
    overwrite : replace an existing ``path`` and its sidecars (:data:`SIDECARS`); otherwise
        :class:`OutputExistsError` if either exists (GDAL would read a sidecar left there as
        part of the new file).
    hold : on a normal exit, close and check the part file but keep it (locked) until
        :meth:`commit` renames it, or :meth:`discard` removes it: the last step of a run that writes
        several files, so that its main file is renamed only after the others.
    claim : hold the output's :class:`~ldcsr_core.output_claims.OutputClaim` until the file is in
        place or removed; :class:`~ldcsr_core.errors.OutputBusy` when another live run is making
        ``path`` now (its work would be replaced, or fail at its end). A run claiming it itself: False.
    mask : a mask band will be written (:meth:`write_mask`): its size counts in the space checked.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        profile: Mapping[str, Any],
        *,
        src=None,
        tags: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        hold: bool = False,
        claim: bool = False,
        mask: bool = False,
    ):
        self.path = Path(path)
        self.profile = dict(profile)
        # Compress in the writing thread: GDAL's worker threads report write errors (a full disk)
        # on stderr only, so the run would go on and end in a broken file.
        self.profile["num_threads"] = "1"
        self.src = src
        self.tags = dict(tags or {})
        self.overwrite = check_flag(overwrite, "overwrite")  # 'no' was true: the output was replaced
        self.hold = check_flag(hold, "hold")
        self.claim = check_flag(claim, "claim")
        self._claim = None
        self.dataset = None
        self.tmp_path: Path | None = None
        self._lock_fd: int | None = None
        # writers of the same run whose part files a failure of this one removes too (an output and
        # its spread file): their space is free again when the user reads the error's line
        self.fellows: list[GeoTiffWriter] = []
        self.nbytes = output_nbytes(self.profile, mask=check_flag(mask, "mask"))

    def __enter__(self):
        from ..output_claims import OutputClaim

        self._claim = OutputClaim.of(self.path, wait=False) if self.claim else None
        try:
            return self._open()
        except BaseException:
            self._cleanup()  # the claim given up, and a part file made before the failure removed
            raise

    def _open(self):
        import rasterio
        from rasterio.errors import RasterioError

        folder = self.path.parent
        files.check_name_length(self.path)  # (Save, write_raster) a name GDAL or the disk cannot take
        if not folder.is_dir():
            raise RasterIOError(errno.ENOENT, f"output folder does not exist: {path_said(folder)}")
        files.check_not_folder(self.path)  # else found only at the final rename, after all the work
        if os.path.lexists(self.path) and not self.overwrite:  # a broken link too: commit keeps it
            raise OutputExistsError(errno.EEXIST, f"output exists: {self.path} (use {OVERWRITE} to replace it)",
                                    overwrite=OVERWRITE)
        left = [p for p in _sidecars(self.path) if os.path.lexists(p)]  # (False for names too long)
        if left and not self.overwrite:
            raise OutputExistsError(errno.EEXIST, (
                f"{left[0]} exists: GDAL would read it as part of {self.path.name} (metadata, "
                f"statistics, mask or overviews of another image); remove it or use {OVERWRITE}"), overwrite=OVERWRITE)
        placing = placement_sidecars(self.path, has_transform="transform" in self.profile)
        if placing:
            raise OutputExistsError(errno.EEXIST, (
                f"{placing[0]} exists: GDAL would read it as the placement of {self.path.name} (a world "
                "file, .tab or RPCs of another image, which would misplace it); move it away or choose "
                "another output name"))
        clear_stale_parts(self.path, replacing=self.overwrite and os.path.lexists(self.path))
        check_free_space(folder, self.nbytes, name=self.path.name)  # every writer: nothing that cannot fit
        try:
            self.tmp_path, self._lock_fd = files.make_part(self.path)
        except OSError as e:
            if e.errno == errno.ENOSPC:  # no file entry for the part: said so (before, 'No space left on device')
                raise write_error(self.path, e, self.nbytes) from None
            raise RasterIOError(e.errno, f"cannot write to {folder}: "
                                f"{e.strerror or one_line(e)}") from None
        route_libtiff_messages()  # a failed write is our one line, not libtiff's raw ones as well
        try:
            with quiet_georef():  # a picture not placed has an output not placed: no warning (QGIS's log showed two)
                self.dataset = rasterio.open(self.tmp_path, "w", **self.profile)
            if self.src is not None:
                self._copy_metadata(self.src, self.dataset)
        except BaseException as e:
            self._cleanup()
            if isinstance(e, (RasterioError, OSError)):
                raise write_error(self.path, e, self.nbytes, part=self._parts()) from None
            raise
        return self

    def _parts(self) -> list[Path]:
        """This writer's part file and its :attr:`fellows`' (what a failure leaves free)."""
        return [w.tmp_path for w in (self, *self.fellows) if w.tmp_path is not None]

    @staticmethod
    def _copy_metadata(src, dst) -> None:
        if src.count == dst.count:
            try:
                dst.colorinterp = src.colorinterp
            except Exception:  # some combinations are not expressible in TIFF; keep GDAL's
                pass
            for i, btags in enumerate(band_tags(src) or [{}] * dst.count, start=1):
                desc = src.descriptions[i - 1]
                if desc:
                    dst.set_band_description(i, desc)
                if btags:  # not the source's statistics (band_tags)
                    dst.update_tags(i, **btags)
            if any(u for u in src.units):
                dst.units = src.units
            if any(s != 1.0 for s in src.scales):
                dst.scales = src.scales
            if any(o != 0.0 for o in src.offsets):
                dst.offsets = src.offsets
        stags = carried_tags(src.tags(), (dst.height / src.height, dst.width / src.width))
        if stags:
            dst.update_tags(**stags)
        write_domains(dst, carried_domains(src))

    def _guard(self, fn, *args, **kwargs):
        from rasterio.errors import RasterioError

        try:
            return fn(*args, **kwargs)
        except (RasterioError, OSError) as e:
            raise write_error(self.path, e, self.nbytes, part=self._parts()) from None

    def write(self, arr: np.ndarray, window) -> None:
        """Write ``(bands, h, w)`` at ``window``."""
        self._guard(self.dataset.write, arr, window=window)

    def write_mask(self, mask: np.ndarray, window) -> None:
        self._guard(self.dataset.write_mask, mask, window=window)

    def _cleanup(self) -> None:
        """Close and remove the part file, give up its lock and claim: all of it, even when a Ctrl-C
        cuts the close (raised after)."""
        try:
            ds, self.dataset = self.dataset, None
            if ds is not None:
                try:
                    ds.close()
                except Exception:
                    pass
        finally:
            try:
                if self.tmp_path is not None:
                    _remove_part(self.tmp_path)
                    self.tmp_path = None
            finally:
                self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._claim is not None:
            self._claim.release()
            self._claim = None

    def _finish(self) -> None:
        """Close, sync and check the part file (raises :func:`write_error` on any failure)."""
        tags = new_file_tags(self.tags)  # not another file's own (its date)
        if tags:
            self._guard(self.dataset.update_tags, **{k: str(v) for k, v in tags.items()})
        if self.profile.get("gcps") and is_point(self.dataset):  # now that its tags are all set
            self._guard(write_gcps, self.dataset, self.profile["gcps"], self.profile.get("crs"))
        ds, self.dataset = self.dataset, None
        self._guard(ds.close)
        try:
            os.fsync(self._lock_fd)  # the part file's own descriptor: deferred errors show here
        except OSError as e:
            raise write_error(self.path, e, self.nbytes, part=self._parts()) from None
        if not self.tmp_path.exists():  # unlinked under us: the folder or the part file was removed
            raise _part_gone(self.path, "while it was written")
        try:
            verify_geotiff(self.tmp_path, shape=(self.profile["height"], self.profile["width"]),
                           count=self.profile["count"], name=self.path.name)
        except RasterIOError as e:
            err = write_error(self.path, None, self.nbytes, part=self._parts())
            if err.errno == errno.EIO:  # neither space nor the size limit: say what is broken
                err = RasterIOError(errno.EIO, f"cannot write {self.path}: {e}")
            raise err from None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._cleanup()
            return False
        try:
            self._finish()
        except BaseException:
            self._cleanup()
            raise
        if not self.hold:
            self.commit()
        return False

    def commit(self) -> None:
        """Rename the finished, checked part file into place (after a normal exit).

        Without ``overwrite``, whatever appeared at ``path`` while we worked (another run's output
        of the same name, even a broken link) stays: :class:`OutputExistsError`, decided by a hard
        link (:func:`~ldcsr_core.files.link_new`), not a check before the rename that two runs
        finishing at once would both pass."""
        if self.tmp_path is None:
            raise LdcsrError(f"nothing to commit for {self.path}")
        try:
            os.chmod(self.tmp_path, files.new_file_mode())  # mkstemp made it 0600
            if self.overwrite:
                files.check_not_special(self.path)  # never /dev/null or a pipe replaced by a file
                _replace_with_sidecars(self.tmp_path, self.path)
            else:
                try:
                    _link_with_sidecars(self.tmp_path, self.path)
                except OutputExistsError:
                    if self.path.is_dir():  # never replaced: not 'use --overwrite', which refuses it up front
                        raise _folder_made(self.path) from None
                    raise OutputExistsError(errno.EEXIST, f"output exists: {self.path} (it appeared while "
                                            f"this run worked; use {OVERWRITE} to replace it)",
                                            overwrite=OVERWRITE) from None
            files.forget_part(self.tmp_path)  # in place: no error names it any more
            self.tmp_path = None
            self._unlock()
        except BaseException as e:
            self._cleanup()
            if isinstance(e, OSError) and not isinstance(e, LdcsrError):  # the rename's, naming the part file
                if self.path.is_dir():  # one made there while this run worked
                    raise _folder_made(self.path) from None
                if isinstance(e, FileNotFoundError):
                    raise _part_gone(self.path, "before it was renamed into place") from None
                raise write_error(self.path, e) from None
            raise

    def discard(self) -> None:
        """Remove the part file (of a held writer that will not be committed); idempotent."""
        self._cleanup()


def _part_gone(path: Path, when: str) -> RasterIOError:
    """The part file of output ``path`` not found ``when``: its folder removed or renamed
    (:func:`~ldcsr_core.folder_removed.folder_removed`, every front end's words), else the part file alone."""
    from ..folder_removed import folder_gone, folder_removed

    if folder_gone(path.parent):
        return folder_removed(path)
    return RasterIOError(errno.ENOENT, f"cannot write {path}: its part file was removed {when} (was {path.parent} "
                         "cleaned meanwhile?)")


def _folder_made(path: Path) -> RasterIOError:
    """A folder made at the output's name while the run worked (refused up front, as it never is replaced)."""
    return RasterIOError(errno.EISDIR, f"output path is a folder: {path} (made while this run worked; the output "
                         "was not written)")
