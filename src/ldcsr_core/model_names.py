"""The models a front end offers by name: the built-in ones and the user's adapted ones (no torch).

* :func:`adapted_models` - the adapted models of the user's model folder, newest first, each once
  and none that is a built-in one (napari's Model list, QGIS's Model parameter);
* :func:`named_models` - ``{name: file}``: each built-in model by the name ``ldcsr upscale --model``
  takes (its file's stem, e.g. ``ldcsr-compact-rsscn7-v3``; the default first), then each adapted
  model by its file name (``mine.safetensors``), as ``ldcsr models`` and napari list them;
* :func:`model_named` - the file of one of those names (``load_model`` and ``--model`` by
  :func:`~ldcsr_core.builtin_models.model_path`, a file there first), or one :class:`~ldcsr_core.errors.InputError`
  naming them all.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["adapted_models", "named_models", "default_model_name", "model_named"]


def adapted_models() -> list[Path]:
    """The adapted models in the user's model folder (:func:`ldcsr_core.adaptation.user_model_files`:
    each model file once, as ``ldcsr models`` lists them), newest first; a built-in model there
    (``LDCSR_MODELS_DIR`` set to the weights folder, a copy) is not one of them
    (:func:`ldcsr_core.builtin_models.builtin_name`), nor a broken link or a link loop (no model to pick)."""
    from .adaptation import user_model_files
    from .builtin_models import builtin_name

    dated = []
    for p in user_model_files():
        try:
            if p.is_file():
                dated.append((p.stat().st_mtime, p))
        except OSError:
            continue
    files = [p for _, p in sorted(dated, key=lambda t: t[0], reverse=True)]
    return [p for p in files if builtin_name(p) is None]


def default_model_name() -> str:
    """The name of the model used when none is given (``ldcsr-compact-rsscn7-v4``)."""
    from .builtin_models import DEFAULT_WEIGHTS

    return Path(DEFAULT_WEIGHTS).stem


def named_models() -> dict[str, Path]:
    """``{name: file}`` of the built-in models installed (the default first, then by name) and the
    user's adapted models (:func:`adapted_models`); a built-in name wins over an adapted model's
    file name (they differ: the file name keeps its ``.safetensors``)."""
    from .builtin_models import builtin_model_paths

    default = default_model_name()
    builtin = sorted(builtin_model_paths(), key=lambda p: (p.stem != default, p.stem))
    names = {p.stem: p for p in builtin}
    for p in adapted_models():
        names.setdefault(p.name, p)
    return names


def model_named(name: str) -> Path:
    """The file of the model ``name`` (a key of :func:`named_models`, or the default's older name that
    ``--model`` takes too, :data:`~ldcsr_core.builtin_models.DEFAULT_ALIASES`), or a broken link of
    that name in the user's model folder (which its loading refuses, naming it); else an
    :class:`InputError` that names the models there are, and why the model folder lists none when it
    is no folder (:func:`~ldcsr_core.adaptation.model_folder_problem`)."""
    from .builtin_models import DEFAULT_ALIASES
    from .errors import InputError

    names = named_models()
    if name in names:
        return names[name]
    if name in DEFAULT_ALIASES and default_model_name() in names:
        return names[default_model_name()]
    from .adaptation import model_folder_problem, user_model_files

    for p in user_model_files():  # a link there of that name to a file moved away, or a loop: not listed,
        if p.name == name and p.is_symlink() and not p.exists():  # but its loading names it (exit 6)
            return p
    there = ", ".join(names) or "none is installed"
    problem = model_folder_problem()  # a name that only the model folder could hold: why it holds none
    raise InputError(f"no model is named {name!r}: the models are {there}; give one of them, or a checkpoint file"
                     + (f" ({problem})" if problem else ""))
