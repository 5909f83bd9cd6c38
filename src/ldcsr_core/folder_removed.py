"""An output's folder removed (or renamed) while a run writes into it (``rm -rf out`` meanwhile): the user's
environment, not a bug, said in the same words by the engine's writer (napari, QGIS, the Python API) and the CLI."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import RasterIOError

__all__ = ["folder_gone", "folder_removed"]


def folder_gone(folder) -> bool:
    """Whether ``folder`` is no folder now: removed, renamed, a file in its place, or (a relative one) in the current
    folder removed, which ``.`` still finds but the system no longer has a path for."""
    try:
        return not os.path.isdir(os.path.abspath(folder))  # (the current folder's path: an error once it is removed)
    except OSError:
        return True


def folder_removed(path, *, took: str = "", nor: str = "") -> RasterIOError:
    """The error of an output ``path`` not written as its folder, there when the run began, is gone
    (:func:`folder_gone`): exit 5, as a disk gone; ``took``: what went with it (``", with the 2 outputs in it"``),
    ``nor``: what is not written either (``", nor those of the 3 inputs after it"``)."""
    folder = Path(path).parent
    now_file = os.path.lexists(folder) and not os.path.isdir(folder)
    # gone from its path: removed, or renamed (``mv out out2``: its outputs are safe there, under a name no one can
    # find in general); the current folder (``-o .``) is gone only removed, as ``.`` follows it when renamed
    here = folder == Path(".")
    how = "replaced by a file" if now_file else "removed" if here else "removed or renamed"
    again = (f"make {folder} a folder again" if now_file else "make the folder again" if here
             else "make the folder again, or give it its name back,")
    return RasterIOError(errno.ENOENT, f"the output folder {folder} was {how} during the run{took}; {path} was not "
                         f"written{nor} ({again} and run again)")
