"""An output's folder removed (or renamed) while a run writes into it (``rm -rf out`` meanwhile): the user's
environment, not a bug, said in the same words by the engine's writer (napari, QGIS, the Python API) and the CLI."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import RasterIOError
from .words import counted

__all__ = ["folder_gone", "folder_removed", "outputs_gone", "outputs_removed"]


def folder_gone(folder) -> bool:
    """Whether ``folder`` is no folder now: removed, renamed, a file in its place, or (a relative one) in the current
    folder removed, which ``.`` still finds but the system no longer has a path for."""
    try:
        return not os.path.isdir(os.path.abspath(folder))  # (the current folder's path: an error once it is removed)
    except OSError:
        return True


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
        return RasterIOError(errno.ENOENT, f"the output folder {path.parent} was {how} during the run{took}; {path} "
                             f"was not written{nor} ({again} and run again)")
    (how, _, again), (how2, _, again2) = said
    first, second = (p.parent for p in paths)
    if how == how2:
        gone = f"the output folders {first} and {second} were {how}"
        again = ("make the folders again, or give them their names back," if how == "removed or renamed"
                 else f"make {first} and {second} folders again" if how == "replaced by a file" else f"{again} and {again2}")
    else:
        gone, again = f"the output folder {first} was {how}, and {second} was {how2},", f"{again} and {again2}"
    return RasterIOError(errno.ENOENT, f"{gone} during the run{took}; {paths[0]} and {paths[1]} were not written{nor} "
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
