"""Putting a checkpoint's tensors into a freshly built model quickly (:func:`~ldcsr_core.load_model`, paid by
every run): the model built without the random initial weights its file replaces (:func:`unset_init`), and each
tensor taken to its final device, memory layout and float type in one visit (:func:`place_tensors`), where
``copy_``, ``Module.to(device)``, ``use_channels_last`` and ``Module.to(dtype)`` each walked the model's 800
modules. The same tensor operations in the same order: the same values, dtypes and strides, bit for bit.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterable, Iterator, Mapping

import torch
from torch import nn

__all__ = ["unset_init", "place_tensors", "left_unset"]

#: the layers whose ``reset_parameters`` draws the random initial weights (the others an LDCSR model holds have none)
_RANDOM_INIT = (nn.modules.conv._ConvNd, nn.Linear, nn.GroupNorm)
_this_thread = threading.local()


def _skippable(original):
    def reset_parameters(self):
        skipped = getattr(_this_thread, "skipped", None)
        if skipped is None:  # another thread, or no unset_init here: torch's own
            return original(self)
        skipped.append(self)
    return reset_parameters


@contextlib.contextmanager
def unset_init() -> Iterator[list[nn.Module]]:
    """Within it, in this thread only, the layers built (:data:`_RANDOM_INIT`) keep their parameters as allocated,
    uninitialised: no random draws (a third of a model's construction) for weights a checkpoint then replaces.
    Yields the list of those layers (:func:`left_unset`). Callers hold the build lock (one at a time: the methods
    replaced are put back when it ends); another thread building a layer meanwhile gets torch's initialisation."""
    originals = {cls: cls.__dict__["reset_parameters"] for cls in _RANDOM_INIT}
    skipped: list[nn.Module] = []
    for cls, original in originals.items():
        cls.reset_parameters = _skippable(original)
    _this_thread.skipped = skipped
    try:
        yield skipped
    finally:
        _this_thread.skipped = None
        for cls, original in originals.items():
            cls.reset_parameters = original


def left_unset(model: nn.Module, names: Iterable[str], skipped: list[nn.Module]) -> list[str]:
    """Of the state-dict ``names`` a checkpoint does not hold, those of a layer built under :func:`unset_init`
    (``skipped``): uninitialised memory, where a model built with its random weights has those."""
    unset = {id(m) for m in skipped}
    return [k for k in names if id(model.get_submodule(k.rpartition(".")[0])) in unset]


def place_tensors(model: nn.Module, values: Mapping[str, torch.Tensor], *, device: torch.device | None = None,
                  formats: Iterable[tuple[nn.Module, torch.memory_format]] = (),
                  dtype: torch.dtype | None = None) -> None:
    """Each parameter and buffer of ``model`` in its final form, each visited once: ``values[name]`` copied into it
    (the state-dict names ``values`` holds: as ``Tensor.copy_`` of it at the model's own dtype), then on ``device``,
    a float one in ``dtype``, and a 4-D or 5-D one in the memory format of the network holding it (``formats``: a
    network and its format, :meth:`~ldcsr_core.models.ldcsr.LDCSR.layouts`): what ``copy_``, then
    ``Module.to(device)``, ``net.to(memory_format=...)`` per network and ``Module.to(dtype)`` made of it (the dtype
    before the layout: half the bytes to move in bfloat16, and ``to`` lays a tensor out by its shape and strides
    alone, the same either way), parameters kept as the same objects (their ``.data`` set, as ``Module.to`` does),
    buffers replaced. A value laid out as the tensor it replaces goes through those steps itself (the same operations
    on the same values and strides), copied into the model's own memory only where none of them made a new tensor:
    the model never shares one with ``values`` (a safetensors file's tensors lie in its read-only bytes)."""
    format_of = {id(m): fmt for net, fmt in formats for m in net.modules()}
    with torch.no_grad():
        for prefix, module in model.named_modules():
            fmt = format_of.get(id(module))
            for key, tensor in (*module._parameters.items(), *module._buffers.items()):
                if tensor is None:
                    continue
                name = f"{prefix}.{key}" if prefix else key
                value = values.get(name) if key not in module._non_persistent_buffers_set else None
                placed = tensor if value is None else value.to(tensor.dtype)
                if placed.stride() != tensor.stride() or placed.device != tensor.device:
                    placed = tensor.copy_(placed)  # (a .ckpt's tensor saved as a view)
                placed = placed if device is None else placed.to(device, None, False)
                if dtype is not None and (placed.is_floating_point() or placed.is_complex()):
                    placed = placed.to(None, dtype, False)  # (before the layout: half the bytes to move, same strides)
                if fmt is not None and placed.dim() in (4, 5):
                    placed = placed.to(None, None, False, memory_format=fmt)
                if placed is value:  # no step copied it
                    placed = tensor.copy_(value)
                if placed is tensor:
                    continue
                if key in module._parameters:
                    tensor.data = placed
                else:
                    module._buffers[key] = placed
