"""The built-in models: the package's weights folder and its rules (no torch).

* :func:`default_model_path` and :func:`model_path` - the file ``load_model(source)`` reads (a path,
  a model's name as ``ldcsr models`` lists it, or None for the shipped default): the one rule of
  ``load_model``, the CLI's ``--model`` and QGIS's and napari's Model lists; :func:`builtin_named`
  the built-in model a name stands for; :func:`model_file_key` what tells it from another file
  without reading it;
* :func:`builtin_model_paths` and :func:`builtin_name` - which files are built-in models: those the
  shipped checksum list names, and any copy of one (by its SHA-256), wherever it is: one rule for
  ``ldcsr models``, napari's Model list and loading by name;
* :func:`in_builtin_folder` and :func:`builtin_folder_refusal` - no writer puts a model file in
  that folder;
* :func:`model_identity` and :func:`distinct_models` - which paths are one model file (a link and
  its target, a hard link): each listed once, by ``ldcsr models`` and napari's Model list;
* :func:`intact_builtin_sha256` - a built-in model is the file shipped (its SHA-256 in
  :data:`BUILTIN_SUMS`), else one clear error saying to reinstall.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .errors import CheckpointError, InputError
from .file_names import file_version
from .files import sha256_file

__all__ = ["DEFAULT_WEIGHTS", "DEFAULT_ALIASES", "default_model_path", "model_path", "builtin_named", "model_file_key", "BUILTIN_SUMS",
           "in_builtin_folder", "builtin_folder_refusal", "BUILTIN_FOLDER_IS", "intact_builtin_sha256",
           "builtin_sums", "builtin_model_paths", "builtin_name", "model_identity", "distinct_models", "is_shipped"]

DEFAULT_WEIGHTS = "ldcsr-compact-rsscn7-v4.safetensors"
#: built-in names that stand for the default model (the name it had before versions were shipped side by side)
DEFAULT_ALIASES = ("ldcsr-compact-rsscn7",)


def model_path(source: str | os.PathLike | None = None) -> Path:
    """The file ``load_model(source)`` reads: ``source`` itself when it is a path or a file there
    (wins), or the model of that name as ``ldcsr models`` lists it (:func:`builtin_named`: a
    built-in model by its file stem, ``"ldcsr-compact-rsscn7"`` = the default; else an adapted model
    of the user's model folder by its file name, :func:`ldcsr_core.model_names.model_named`: a name
    of neither is its :class:`InputError` naming the models, bad input as QGIS and ``--model`` say it),
    or for None the default model.  A path need not exist (``load_model`` says so)."""
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
    builtin = builtin_named(source)
    if builtin is not None:
        return builtin
    if path.name == str(source) and not os.path.lexists(path):  # a name, no file (nor link) here
        from .model_names import model_named

        return model_named(path.name)  # an adapted model's file; else InputError naming the models
    return path


def builtin_named(source: str | os.PathLike) -> Path | None:
    """The built-in model the name ``source`` stands for (its file stem in the package's weights
    folder, or one of :data:`DEFAULT_ALIASES`: the default), or None for any other value and for a
    name that is a file or a link in the working folder (it wins, as for an adapted model's name: a
    link to a file moved away is refused naming it, not passed over for the built-in model).  Such a
    name stays one, so that Dask workers find the model in their own installation (``--model``)."""
    path = Path(source)
    if os.path.lexists(path) or path.name != str(source):
        return None
    builtin = default_model_path().parent / f"{path.name}.safetensors"
    if builtin in builtin_model_paths():
        return builtin
    return default_model_path() if path.name in DEFAULT_ALIASES else None


def model_file_key(source: str | os.PathLike | None = None) -> tuple:
    """What tells the model file ``load_model(source)`` would read from another without reading it:
    its path with the file's device, inode, size and modification and change times (ns), so a model
    retrained, adapted or copied over at that path (even with its mtime kept) gets another key.
    Caches of loaded models compare it before handing a model out again.  No file: just ``source``."""
    try:
        path = model_path(source)
        return (source, str(path), *file_version(path))
    except (OSError, CheckpointError, InputError):
        return (source,)


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


def builtin_sums() -> dict[str, str]:
    """``{file name: SHA-256}`` of the built-in models as shipped (the weights folder's
    :data:`BUILTIN_SUMS`); empty when there is no readable list (a source tree without it)."""
    try:
        sums = json.loads((default_model_path().parent / BUILTIN_SUMS).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in sums.items()} if isinstance(sums, dict) else {}


def builtin_model_paths() -> list[Path]:
    """The built-in models installed, by name: the files of the weights folder that its checksum
    list names (whether intact or not: :func:`intact_builtin_sha256` says), not any ``.safetensors``
    put there. Without a list, the default model alone, if it is there."""
    folder = default_model_path().parent
    names = builtin_sums() or {DEFAULT_WEIGHTS: ""}
    return [folder / name for name in sorted(names) if (folder / name).is_file()]


def builtin_name(path: str | os.PathLike) -> str | None:
    """The file name of the built-in model ``path`` is, or None for another file: one of
    :func:`builtin_model_paths` (by its real path: a link to it, or the weights folder given as
    ``LDCSR_MODELS_DIR``), or a copy of one anywhere (its SHA-256 is one shipped; a file of another
    size than the installed ones is not read)."""
    path = Path(path)
    try:
        if not path.is_file():
            return None
        real = path.resolve()
        installed = builtin_model_paths()
        for p in installed:
            if p.resolve() == real:
                return p.name
        sums = builtin_sums()
        sizes = {p.stat().st_size for p in installed if p.name in sums}
        if not sums or (sizes and path.stat().st_size not in sizes):
            return None
        digest = sha256_file(path)
    except (OSError, RuntimeError):  # unreadable, or a link loop: not one known
        return None
    return next((name for name, want in sums.items() if want == digest), None)


def is_shipped(model=None) -> bool:
    """Whether ``model`` is a shipped (built-in) model, trained on the imagery docs/MODEL_CARD.md describes:
    a loaded model whose weights' SHA-256 is a shipped one's (or that holds a built-in's tensors alone,
    ``copy_of``, or its weights at a lower float type, ``rounded_copy_of``: ``load_model(dtype="float16")`` saved, the
    same model rounded; ``official_checkpoint.builtin_twin``'s ``rounded``), or the file that ``load_model(model)`` reads for a path, a model's name or None (the
    default) when that file is a built-in model (:func:`builtin_name`) or holds one's tensors alone, which
    loads as it (``official_checkpoint.builtin_twin_file``). An official checkpoint, a model trained or
    adapted by the user, one built in memory: False (what they were trained on is not known here)."""
    if model is None or isinstance(model, (str, bytes, os.PathLike)):
        from .official_checkpoint import builtin_twin_file

        try:
            path = model_path(model)
            return builtin_name(path) is not None or builtin_twin_file(path, rounded=None) is not None
        except (OSError, CheckpointError, InputError):  # no such model: not a shipped one
            return False
    digest = str(getattr(model, "weights_sha256", "") or "")
    return (bool(getattr(model, "copy_of", None) or getattr(model, "rounded_copy_of", None))
            or bool(digest) and digest in builtin_sums().values())


def model_identity(path: str | os.PathLike) -> tuple:
    """What two paths of one model file share: the file they reach (its device and inode: a link
    and its target, two links to it, a hard link), else (a link to a missing file, a link loop)
    its real path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return ("path", os.path.realpath(path))
    return ("file", st.st_dev, st.st_ino)


def distinct_models(paths) -> list[Path]:
    """``paths`` (in their order) with each model file once, under the first of its names: one rule
    for ``ldcsr models`` and napari's Model list (before, a link in the model folder and the file
    it points to were two entries of one model)."""
    seen: set = set()
    kept = []
    for p in map(Path, paths):
        key = model_identity(p)
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept
