"""Training of LDCSR models (compatibility module): the names that lived here, re-exported from
the modules that now hold them.

* :mod:`.trainer` — :class:`Trainer` and :func:`train` (the run: data loading, mixed precision,
  budgets, validation, JSON-lines log);
* :mod:`.phases` — the three phases (fast, prior, diffusion): trained parameters, losses, LR schedule;
* :mod:`.losses` — loss functions and the PatchGAN discriminator;
* :mod:`.checkpoint` — the resumable state, checkpoint files, random states, split/merge;
* :mod:`.ema`, :mod:`.growth` (grow the decoder, add a detail decoder), :mod:`.validation`,
  :mod:`.data` (images, crops, the loader; ``to_tensor``/``to_uint8``), :mod:`.runlog`,
  :mod:`.errors`.

Library code only: the ``ldcsr train`` command lives in :mod:`ldcsr_core.cli.train_cmd`.
"""

from __future__ import annotations

from .checkpoint import TrainState
from .checkpoint import atomic_torch_save as _atomic_torch_save  # noqa: F401  (old private name)
from .data import to_tensor, to_uint8
from .ema import EMA
from .errors import TrainingError
from .growth import add_detail_decoder, grow_model
from .growth import decoder_params as _decoder_params  # noqa: F401  (old private name)
from .losses import (PatchDiscriminator, energy_score_l1, fast_path, fft_l1, grad_l1, hf_band_l1,
                     spread_calibration_l1)
from .phases import PHASES
from .phases import lr_at as _lr_at  # noqa: F401  (old private name)
from .trainer import Trainer, log, train
from .validation import validate

__all__ = ["train", "Trainer", "TrainingError", "EMA", "PatchDiscriminator", "TrainState", "PHASES", "validate",
           "to_tensor", "to_uint8", "grad_l1", "fft_l1", "hf_band_l1", "energy_score_l1", "spread_calibration_l1",
           "fast_path", "grow_model", "add_detail_decoder", "log"]
