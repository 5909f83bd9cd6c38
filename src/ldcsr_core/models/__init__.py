"""Network definitions (official module names, so official state dicts load strictly)."""

from .autoencoder import AutoencoderKL, GAPDecoder, GAPEncoder
from .ldcsr import LDCSR
from .resample import AxisWindow, Window2d
from .unet import DiffusionWrapper, UNetModel

__all__ = ["LDCSR", "AutoencoderKL", "GAPDecoder", "GAPEncoder", "UNetModel", "DiffusionWrapper",
           "AxisWindow", "Window2d"]
