"""An output's folder removed (or renamed) while a run writes into it (``rm -rf out`` meanwhile): the user's
environment, not a bug, said in the same words by the engine's writer (napari, QGIS, the Python API) and the CLI."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import RasterIOError
from .words import counted

__all__ = ["folder_gone", "folder_removed", "outputs_gone", "outputs_removed", "stopped_by_folders"]


def folder_gone(folder) -> bool:
    """Whether ``folder`` is no folder now: removed, renamed, a file in its place, or (a relative one) in the current
    folder removed, which ``.`` still finds but the system no longer has a path for."""
    try:
        return not os.path.isdir(os.path.abspath(folder))  # (the current folder's path: an error once it is removed)
    except OSError:
        return True


class FolderRemovedError(RasterIOError):
    """An output not written as its folder went (:func:`folder_removed`): the error a run stops with, its cause kept."""


def folder_removed(path, *, took: int = 0, nor: str = "", also=None) -> RasterIOError:
    """The error of an output ``path`` not written as its folder, there when the run began, is gone
    (:func:`folder_gone`): exit 5, as a disk gone; ``took``: how many outputs went with it (``", with the 2 outputs in
    it"``, of two folders ``in them``), ``nor``: what is not written either (``", nor those of the 3 inputs after
    it"``); ``also``: a second output (a --spread-out file) whose own folder, another one, is gone too: both folders and
    both outputs named."""
    path = Path(path)
    paths = [path] + ([Path(also)] if also is not None and Path(also).parent != path.parent else [])
    said = [_gone(p.parent) for p in paths]
    took = f", with the {counted(took, 'output')} in {'it' if len(paths) == 1 else 'them'}" if took else ""
    if len(paths) == 1:
        how, again, _ = said[0]
        return FolderRemovedError(errno.ENOENT, f"the output folder {path.parent} was {how} during the run{took}; {path} "
                             f"was not written{nor} ({again} and run again)")
    (how, _, again), (how2, _, again2) = said
    first, second = (p.parent for p in paths)
    if how == how2:
        gone = f"the output folders {first} and {second} were {how}"
        again = ("make the folders again, or give them their names back," if how == "removed or renamed"
                 else f"make {first} and {second} folders again" if how == "replaced by a file" else f"{again} and {again2}")
    else:
        gone, again = f"the output folder {first} was {how}, and {second} was {how2},", f"{again} and {again2}"
    return FolderRemovedError(errno.ENOENT, f"{gone} during the run{took}; {paths[0]} and {paths[1]} were not written{nor} "
                         f"({again} and run again)")


def outputs_gone(dst, spread=None) -> list[Path]:
    """Which of a run's output ``dst`` and its spread file ``spread`` (or None) have lost their folder
    (:func:`folder_gone`), ``dst`` first."""
    return [Path(p) for p in (dst, spread) if p is not None and folder_gone(Path(p).parent)]


def outputs_removed(dst, spread=None, *, took: int = 0, nor: str = "") -> RasterIOError | None:
    """The error of a run of output ``dst`` (and spread file ``spread``) stopped as their folders went
    (:func:`outputs_gone`), or None when neither did: each folder gone and its file named, and ``dst`` said
    not written too where only the spread file's folder (another one) went; ``took``, ``nor``: as
    :func:`folder_removed`'s. The engine's words for every front end (napari, QGIS, the API, the CLI)."""
    gone = outputs_gone(dst, spread)
    if not gone:
        return None
    if gone[0] == Path(dst):
        return folder_removed(dst, took=took, nor=nor, also=gone[1] if len(gone) == 2 else None)
    return folder_removed(gone[0], took=took, nor=f", nor {dst}{nor}")


def stopped_by_folders(error: BaseException, dst, spread=None, *, took: int = 0,
                       nor: str = "") -> RasterIOError | None:
    """The error a run of output ``dst`` (and ``spread``) stopped by ``error`` ends with where an output's folder is
    gone meanwhile (:func:`outputs_removed`'s words; ``took``, ``nor`` as its), or None where none is: the one rule of
    every front end. Where ``error`` was not the folder's (a file missing inside a folder that went), its own words
    follow (``"…; also: cannot read in.tif: Input/output error"``), as the real cause may be another; raise it
    ``from error``. A stop asked for (:class:`~ldcsr_core.errors.Cancelled`, an interrupt) stays what it is."""
    from .errors import Cancelled

    if not isinstance(error, Exception) or isinstance(error, Cancelled):
        return None
    gone = outputs_removed(dst, spread, took=took, nor=nor)
    if gone is None:
        return None
    cause = error
    while isinstance(cause, FolderRemovedError) and cause.__cause__ is not None:  # the engine's, said again (the CLI)
        cause = cause.__cause__
    if isinstance(cause, FolderRemovedError) or _missing_inside(cause, [Path(p).parent for p in (dst, spread)
                                                                        if p is not None]):
        return gone
    return FolderRemovedError(errno.ENOENT, f"{gone.strerror}; also: {_cause_words(cause)}")


def _missing_inside(error: BaseException, folders: list[Path]) -> bool:
    """Whether ``error`` is a path not found (or not a folder) inside one of ``folders`` that is gone: the folder's
    going, not an error of its own."""
    if not isinstance(error, OSError) or error.errno not in (None, errno.ENOENT, errno.ENOTDIR):
        return False
    gone = [os.path.abspath(f) for f in folders if folder_gone(f)]
    named = [os.path.abspath(p) for p in (error.filename, error.filename2) if isinstance(p, (str, os.PathLike))]
    if error.errno is None and not named:  # GDAL's (through rasterio): the path in its words
        text = str(error)
        return "No such file or directory" in text and any(f in text or os.path.relpath(f) in text for f in gone)
    return any(p == f or p.startswith(f + os.sep) for p in named for f in gone)


def _cause_words(error: BaseException) -> str:
    """``error`` in one line: an OSError's words and path without ``[Errno 5]``, another's with its type where it is
    no error of ours."""
    from .errors import LdcsrError, one_line

    if isinstance(error, OSError) and error.strerror:
        path = error.filename
        return error.strerror if path is None or str(path) in error.strerror else f"{error.strerror}: {path}"
    line = one_line(error)
    return line if isinstance(error, LdcsrError) or line == type(error).__name__ else f"{type(error).__name__}: {line}"


def _gone(folder: Path) -> tuple[str, str, str]:
    """How ``folder`` went, in words, and what to do, unnamed and naming it: replaced by a file, removed (the current
    folder: ``-o .``, which ``.`` follows when renamed), else removed or renamed (``mv out out2``: its outputs are safe
    there, under a name no one can find in general)."""
    if os.path.lexists(folder) and not os.path.isdir(folder):
        return "replaced by a file", f"make {folder} a folder again", f"make {folder} a folder again"
    if folder == Path("."):
        return "removed", "make the folder again", "make the current folder again"
    return ("removed or renamed", "make the folder again, or give it its name back,",
            f"make {folder} again, or give it its name back,")
