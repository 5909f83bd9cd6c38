"""ldcsr_core: the LDCSR continuous-scale super-resolution engine (no Qt, no napari)."""

from .checkpoints import build_model, convert_checkpoint, load_model, save_model
from .config import ModelConfig
from .errors import Cancelled, CheckpointError, ConfigError, InputError, LdcsrError
from .models import LDCSR

__version__ = "0.1.0"

__all__ = ["load_model", "save_model", "build_model", "convert_checkpoint", "LDCSR", "ModelConfig",
           "LdcsrError", "InputError", "CheckpointError", "ConfigError", "Cancelled", "__version__"]
