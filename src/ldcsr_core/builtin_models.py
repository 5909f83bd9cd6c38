"""The built-in models: the package's weights folder and its rules (no torch).

* :func:`default_model_path` and :func:`model_path` - the file ``load_model(source)`` reads (a path,
  a built-in model's name, or None for the shipped default), :func:`model_file_key` what tells it
  from another file without reading it;
* :func:`in_builtin_folder` and :func:`builtin_folder_refusal` - no writer puts a model file in
  that folder;
* :func:`intact_builtin_sha256` - a built-in model is the file shipped (its SHA-256 in
  :data:`BUILTIN_SUMS`), else one clear error saying to reinstall.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .errors import CheckpointError, InputError
from .files import sha256_file

__all__ = ["DEFAULT_WEIGHTS", "DEFAULT_ALIASES", "default_model_path", "model_path", "model_file_key", "BUILTIN_SUMS",
           "in_builtin_folder", "builtin_folder_refusal", "BUILTIN_FOLDER_IS", "intact_builtin_sha256"]

DEFAULT_WEIGHTS = "ldcsr-compact-rsscn7-v4.safetensors"
#: built-in names that stand for the default model (the name it had before versions were shipped side by side)
DEFAULT_ALIASES = ("ldcsr-compact-rsscn7",)


def model_path(source: str | os.PathLike | None = None) -> Path:
    """The file ``load_model(source)`` reads: ``source`` itself, or the built-in model of that name
    (file stem in the package's weights folder, or ``"ldcsr-compact-rsscn7"`` = the default), or
    for None the default model.  The path need not exist (``load_model`` says so)."""
    if source is None:
        path = default_model_path()
        if not path.is_file():
            raise CheckpointError(
                "no default model is shipped in this installation (expected "
                f"{path}); pass the path of a checkpoint, e.g. the authors' official .ckpt")
        return path
    if isinstance(source, bytes):
        source = os.fsdecode(source)
    if not isinstance(source, (str, os.PathLike)):  # e.g. a model already loaded
        raise InputError(f"source must be a checkpoint path, a built-in model's name or None, got "
                         f"{type(source).__name__}")
    if not str(os.fspath(source)).strip():  # Path('') is '.', the working folder
        raise InputError("the model path is empty: give a checkpoint file or a built-in model's name, "
                         "or none at all (None, no --model) for the shipped model")
    path = Path(source)
    builtin = default_model_path().parent / f"{path.name}.safetensors"
    if not path.exists() and path.name == str(source):
        if builtin.is_file():
            return builtin  # a built-in model by name
        if path.name in DEFAULT_ALIASES:
            return default_model_path()
    return path


def model_file_key(source: str | os.PathLike | None = None) -> tuple:
    """What tells the model file ``load_model(source)`` would read from another without reading it:
    its path with the file's device, inode, size and modification and change times (ns), so a model
    retrained, adapted or copied over at that path (even with its mtime kept) gets another key.
    Caches of loaded models compare it before handing a model out again.  No file: just ``source``."""
    try:
        path = model_path(source)
        st = path.stat()
    except (OSError, CheckpointError, InputError):
        return (source,)
    return (source, str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def default_model_path() -> Path:
    return Path(str(resources.files("ldcsr_core") / "weights" / DEFAULT_WEIGHTS))


BUILTIN_SUMS = "sha256.json"  # next to the built-in models: each one's SHA-256 as shipped


def in_builtin_folder(path: str | os.PathLike) -> bool:
    """True for a path in the installed package's folder of built-in models: a file written there
    replaces a shipped model (which then loads as damaged) or is listed by ``ldcsr models`` and
    loaded by its name as a built-in one."""
    try:
        return Path(path).resolve().parent == default_model_path().parent.resolve()
    except (OSError, RuntimeError):  # a link loop: not that folder
        return False


def builtin_folder_refusal(path: str | os.PathLike) -> str:
    """The one sentence refusing to write ``path`` in the built-in models' folder
    (:func:`in_builtin_folder`), or "" for any other path: every writer of a model file says it
    (``save_model``; before any work ``ldcsr train``, ``adapt``, ``convert`` and napari's Adapt)."""
    return f"{path} is in {BUILTIN_FOLDER_IS}" if in_builtin_folder(path) else ""


BUILTIN_FOLDER_IS = ("the folder of the built-in models, part of the installed package (a shipped model replaced "
                     "would load as damaged; another file would be listed as built-in): write it elsewhere")


def intact_builtin_sha256(path: Path, digest: str | None = None) -> str | None:
    """The SHA-256 of ``path`` if it is a built-in model (one listed in the weights folder's
    :data:`BUILTIN_SUMS`), after checking that it is the file shipped; None for any other file.
    A damaged install (a block zeroed or flipped on disk, a copy cut short) gave wrong pictures
    with no error, or a safetensors parser's message that does not say what to do."""
    folder = default_model_path().parent
    try:
        if not path.is_file() or path.resolve().parent != folder.resolve():
            return None
        want = json.loads((folder / BUILTIN_SUMS).read_text()).get(path.name)
    except (OSError, ValueError, AttributeError):  # no list (a source tree without it): no check
        return None
    if want is None:
        return None
    digest = digest or sha256_file(path)  # given: the SHA-256 of the bytes just read
    if digest != want:
        raise CheckpointError(f"the built-in model {path.name} is damaged (its SHA-256 is {digest[:16]}…, "
                              f"shipped as {want[:16]}…): reinstall napari-ldcsr "
                              f"(pip install --force-reinstall --no-deps with the checkout or wheel it came from: it is not on "
                              f"PyPI); file: {path}")
    return digest
