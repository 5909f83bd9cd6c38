"""ldcsr_core: the LDCSR continuous-scale super-resolution engine (no Qt, no napari).

Public API: :func:`load_model`, :func:`upscale`, the tiling building blocks (:func:`plan_tiles`,
:func:`process_tile`, :class:`RowMerger`, :func:`run_plan`) and the error classes.
"""

from .api import output_shape, upscale
from .checkpoints import build_model, convert_checkpoint, load_model, resolve_device, save_model
from .config import ModelConfig
from .errors import Cancelled, CheckpointError, ConfigError, InputError, LdcsrError
from .models import LDCSR
from .tiling import LatentNoise, RowMerger, Tile, TilePlan, plan_tiles, process_tile, run_plan

__version__ = "0.1.0"

__all__ = ["load_model", "upscale", "output_shape", "save_model", "build_model", "convert_checkpoint",
           "resolve_device", "LDCSR", "ModelConfig", "plan_tiles", "process_tile", "run_plan", "RowMerger",
           "Tile", "TilePlan", "LatentNoise", "LdcsrError", "InputError", "CheckpointError", "ConfigError",
           "Cancelled", "__version__"]
