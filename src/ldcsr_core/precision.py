"""Which float type the engine computes in: one rule for every front end.

``dtype="auto"`` (the default of :func:`ldcsr_core.load_model`) is **bfloat16 on a CPU that
computes it natively** (AMX or AVX512-BF16: oneDNN then runs the convolutions at about twice the
float32 speed, and the output stays ~52 dB from float32's), **float16 on CUDA** (:func:`auto_name`)
and **float32 everywhere else** (CPUs without native bfloat16 would emulate it, slower than
float32; Apple MPS keeps float32 until measured there). The environment variable ``LDCSR_DTYPE``
(``float32``, ``bfloat16``, ``float16`` or ``auto``) or an explicit ``dtype`` (``ldcsr upscale
--dtype``) overrides the rule.
Models loaded for training (with their encoder) and for conversion are always float32. A
measurement (``ldcsr evaluate``) loads in float32 unless ``LDCSR_DTYPE`` or its ``--dtype`` says
otherwise (:func:`measuring_dtype`): bfloat16 moves PSNR by ~0.015 dB, as much as an adaptation's gain.
GroupNorms and the attention softmax compute in float32 whatever the weights' type.
"""

from __future__ import annotations

import functools
import os

__all__ = ["ENV", "DTYPES", "native_bf16_cpu", "resolve_dtype", "dtype_name", "model_dtype", "describe",
           "loaded_model_key", "measuring_dtype"]

ENV = "LDCSR_DTYPE"
DTYPES = ("auto", "float32", "bfloat16", "float16")
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # x86 flags of native bfloat16 arithmetic


@functools.lru_cache(maxsize=1)
def native_bf16_cpu() -> bool:
    """Whether this CPU computes bfloat16 natively (``amx_bf16`` or ``avx512_bf16`` in
    ``/proc/cpuinfo``) and torch's oneDNN can use it. False where it cannot be told."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    if not any(flag in flags for flag in _BF16_FLAGS):
        return False
    try:
        import torch

        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - torch without the check
        return True


def resolve_dtype(dtype, device, *, float32_only: bool = False):
    """The ``torch.dtype`` to compute in on ``device`` (a ``torch.device``) for ``dtype``: a torch
    dtype, one of :data:`DTYPES`, or None (= ``LDCSR_DTYPE``, else ``"auto"``).

    ``float32_only`` (training, conversion) makes ``"auto"`` float32, whatever ``LDCSR_DTYPE`` says. :class:`ValueError` for an unknown name.
    """
    import torch

    if isinstance(dtype, torch.dtype):
        name = dtype_name(dtype)
    else:
        name = str(dtype if dtype is not None else "auto").strip().lower()
    if name == "auto" and float32_only:
        return torch.float32
    if name == "auto":
        env = os.environ.get(ENV, "").strip().lower()
        if env:
            if env not in DTYPES:
                from .errors import SettingError
                raise SettingError(f"{ENV}={env!r}: expected one of {', '.join(DTYPES)}")
            name = env
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if name == "auto":
        name = auto_name(device)
    return getattr(torch, name)


def measuring_dtype(dtype=None) -> str:
    """The ``dtype`` to load a model with for a measurement (``ldcsr evaluate``): ``dtype`` when
    given ("auto" included), else ``"auto"`` when ``LDCSR_DTYPE`` is set (the user's choice, read
    and checked by :func:`resolve_dtype`), else ``"float32"``: "auto"'s bfloat16 moves PSNR by
    ~0.015 dB (rsscn7 val, ×2), as much as an adapted model's gain over its base, so two models
    compared in it could differ by its rounding alone."""
    if dtype is not None:
        return dtype
    return "auto" if os.environ.get(ENV, "").strip() else "float32"


def loaded_model_key(source=None, device="auto") -> tuple:
    """What tells the model ``load_model(source, device=device)`` (dtype "auto") would give now from
    another: its file (:func:`~ldcsr_core.builtin_models.model_file_key`) and the float type it would
    compute in, which ``LDCSR_DTYPE`` set meanwhile changes (a notebook, QGIS's Python console).
    The caches of loaded models (napari's, QGIS's) compare it before handing a model out again.
    An ``LDCSR_DTYPE`` that cannot be taken is in the key as it is: loading says what is wrong."""
    from .builtin_models import model_file_key
    from .devices import resolve_device
    from .errors import LdcsrError

    try:
        dtype = dtype_name(resolve_dtype(None, resolve_device(device)))
    except (LdcsrError, ValueError):
        dtype = os.environ.get(ENV)
    return (*model_file_key(source), dtype)


def auto_name(device) -> str:
    """What ``"auto"`` means on ``device``: float16 on CUDA (the shipped model agrees with float32
    at ~76 dB fast / ~70 dB diffusion there, measured on an H200 in issue 22; GroupNorm and softmax
    stay float32), bfloat16 on a CPU that computes it natively, float32 elsewhere."""
    if device.type == "cuda":
        return "float16"
    return "bfloat16" if device.type == "cpu" and native_bf16_cpu() else "float32"


def dtype_name(dtype) -> str:
    """``"float32"`` for ``torch.float32`` and so on."""
    return str(dtype).replace("torch.", "")


def model_dtype(model) -> str:
    """The float type ``model`` computes in (its first parameter's), e.g. ``"bfloat16"``."""
    try:
        return dtype_name(next(model.parameters()).dtype)
    except (AttributeError, StopIteration, TypeError):
        return "float32"


def describe(device=None) -> str:
    """What ``auto`` picks here and why (``ldcsr info``, the widget's device line)."""
    import torch

    dev = device if device is not None else torch.device("cpu")
    dt = dtype_name(resolve_dtype(None, dev))
    env = os.environ.get(ENV, "").strip().lower()
    if env and env != "auto":
        return f"{dt} ({ENV})"
    why = ("this CPU computes bfloat16 natively" if dt == "bfloat16" and dev.type == "cpu" else
           "no native bfloat16 on this CPU" if dev.type == "cpu" else
           "half precision on CUDA" if dt == "float16" else f"on {dev.type}")
    return f"{dt} (auto: {why})"
