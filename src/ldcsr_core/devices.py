"""The device a model runs on: which one (:func:`resolve_device`) and the memory layout that is
fastest there (:func:`device_layout`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .errors import DeviceError
from .words import counted

if TYPE_CHECKING:
    from .models.ldcsr import LDCSR

__all__ = ["DEVICE_NAMES", "device_name", "resolve_device", "channels_last_on", "device_layout"]


#: What a device may be named, in any letter case and with spaces around (as a dtype's name).
DEVICE_NAMES = "auto, cpu, mps, cuda or cuda:N for card N, in any letter case"


def device_name(device: str | torch.device | None = "auto") -> str:
    """The name of ``device`` by :data:`DEVICE_NAMES`' rule (stripped, lower case: ``" CUDA:1 "`` is
    ``"cuda:1"``, None ``"auto"``), whether this machine has it or not (:func:`resolve_device` says
    that): what ``device=`` and ``--device`` take. An unknown name, or a device the engine does not
    run on (``meta``), raises :class:`~ldcsr_core.DeviceError` naming what is taken."""
    given = device
    if isinstance(device, str):
        device = device.strip().lower()  # as resolve_dtype takes 'Float32'
    if device is None or device == "auto":
        return "auto"
    try:
        dev = device if isinstance(device, torch.device) else torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"unknown device {given!r} (use {DEVICE_NAMES})") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {str(dev)!r} is not one the engine runs on (use {DEVICE_NAMES})")
    return str(dev)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) picks CUDA, then Apple MPS, then the CPU; a name is taken in any letter
    case (``"CPU"``, ``"CUDA:1"``: one rule, :func:`device_name`); a device that is unavailable,
    unknown or not one the engine runs on (cpu, cuda, mps), or a CUDA card number this machine
    lacks, raises :class:`~ldcsr_core.DeviceError`, whether named or given as a ``torch.device``."""
    name = device_name(device)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device 'cuda' was asked for but no CUDA GPU is available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        n = torch.cuda.device_count()  # else torch's 'invalid device ordinal' once the weights move
        raise DeviceError(f"device {str(dev)!r} was asked for but this machine has {counted(n, 'CUDA GPU')}, "
                          + ("numbered 0" if n == 1 else f"numbered 0 to {n - 1}"))
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("device 'mps' was asked for but Apple MPS is not available")
    return dev


def channels_last_on(device: torch.device) -> bool:
    """Whether channels-last is the layout :func:`device_layout` gives a model on ``device``."""
    return device.type == "cpu"


def device_layout(model: LDCSR, device: torch.device, *, all_networks: bool = False, converted: bool = False) -> LDCSR:
    """The memory layout that is fastest on ``device``: channels-last on a CPU (oneDNN's NHWC
    convolutions are markedly faster; ``all_networks`` also converts the UNet, for our own models);
    contiguous NCHW elsewhere, and cuDNN's autotuner on for CUDA (the planned windows come in few
    shapes).  On an H200 (issue 22) channels-last made one 1024→4096 fast window 0.78 s against
    0.49 s contiguous, and fp16 with ``cudnn.benchmark`` 0.26 s. ``converted``: the model's
    tensors are in that layout already (``load_model``): only recorded."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return model.use_channels_last(channels_last_on(device), all_networks=all_networks, converted=converted)
