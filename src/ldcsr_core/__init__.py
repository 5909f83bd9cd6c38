"""ldcsr_core: the LDCSR continuous-scale super-resolution engine (no Qt, no napari).

Public API: :func:`load_model`, :func:`upscale`, the tiling building blocks (:func:`plan_tiles`,
:func:`process_tile`, :class:`RowMerger`, :func:`run_plan`), the progress protocol
(:class:`TileProgress`, :func:`polling`), the scene self-check (:func:`selfcheck`, reduced-resolution
validation, :mod:`.quality`), scene adaptation (:func:`adapt`, :mod:`.adaptation`) and the error classes.  Names are
imported on first use, so ``import ldcsr_core`` (and ``ldcsr --help``) does not load torch; so are
submodules (``ldcsr_core.tiling``, ``ldcsr_core.geo.pipeline``, ...), as the docs write them.
"""

from __future__ import annotations

import importlib

from .errors import (Cancelled, CheckpointError, ConfigError, DeviceError, InputError, LdcsrError,
                     OutputExistsError, RasterIOError, SettingError)
from .threads import prepare as _prepare_threads

_prepare_threads()  # OpenMP settings that only count before torch loads (see ldcsr_core.threads)

__version__ = "0.1.0"

_LAZY = {
    "upscale": "api", "output_shape": "rules",
    "load_model": "checkpoints", "save_model": "checkpoints", "build_model": "checkpoints",
    "convert_checkpoint": "checkpoints", "resolve_device": "devices",
    "ModelConfig": "config", "LDCSR": "models",
    "plan_tiles": "tileplan", "RowMerger": "tileplan", "Tile": "tileplan", "TilePlan": "tileplan",
    "process_tile": "tiling", "run_plan": "tiling", "LatentNoise": "latent_noise", "plan_for_model": "window_sizing",
    "TileProgress": "progress", "polling": "progress",
    "selfcheck": "quality", "selfcheck_scales": "quality", "SelfCheck": "quality",
    "adapt": "adaptation", "Adaptation": "adaptation", "AdaptProgress": "adaptation",
}

__all__ = sorted(_LAZY) + ["LdcsrError", "InputError", "CheckpointError", "ConfigError", "SettingError",
                           "Cancelled", "DeviceError", "RasterIOError", "OutputExistsError", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):  # a submodule, as the docs write them: ldcsr_core.tiling.process_tiles
        try:
            return importlib.import_module(f".{name}", __name__)  # (import binds it here)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":  # a dependency of that module: say which
                raise
    raise AttributeError(f"module 'ldcsr_core' has no attribute {name!r}")


def __dir__():
    return __all__
