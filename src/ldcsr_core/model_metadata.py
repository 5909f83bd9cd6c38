"""A model file in our format, torch-free: whether a file is one (:func:`is_safetensors`, by its
content), and the numbers it records besides its configuration, checked before a model is built
from it: its window limits and an adapted model's scale (hand-edited metadata is one
:class:`~ldcsr_core.errors.CheckpointError` naming the file). Used by
:mod:`ldcsr_core.checkpoints` (``load_model``, ``ldcsr models``) and :mod:`ldcsr_core.adapted_use`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from .errors import CheckpointError
from .rules import LATENT, MAX_SCALE, MIN_WINDOW

__all__ = ["is_safetensors", "window_limits", "recorded_numbers", "canonical_header"]


def _safetensors_kind(path: Path, head: bytes) -> bool:
    """A file whose first bytes are ``head`` is read as safetensors: named ``.safetensors`` in any
    letter case, or named otherwise (``.SFT``, ``.bin``) and starting as one (its header's length,
    then ``{``), not as a PyTorch zip or pickle. Before, ``M.SAFETENSORS`` (a copy from Windows, a
    model saved by ``train --out M.SAFETENSORS``) was 'neither a PyTorch .ckpt nor our .safetensors'."""
    torch_like = head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"
    return path.suffix.lower() == ".safetensors" or (head[8:9] == b"{" and not torch_like)


def is_safetensors(path: str | os.PathLike) -> bool:
    """Whether the file ``path`` is read as safetensors (:func:`_safetensors_kind`); by its name
    alone when it is no regular file (a FIFO is never opened) or cannot be read (reading it says why)."""
    path = Path(path)
    try:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                return _safetensors_kind(path, f.read(9))
    except OSError:
        pass
    return path.suffix.lower() == ".safetensors"


def canonical_header(blob: bytes) -> bytes:
    """``blob``, a safetensors file as ``safetensors.torch.save`` makes it, with its metadata in the
    order of its names: the serialiser writes them in a hash map's order, which changes from call to
    call, so the same model saved twice (``ldcsr convert``, ``train``, ``adapt``) was another file,
    with another SHA-256. The same entries in another order: the header keeps its length."""
    import json
    import struct

    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    if not isinstance(header.get("__metadata__"), dict):
        return blob
    header = {"__metadata__": dict(sorted(header.pop("__metadata__").items())), **header}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    return blob[:8] + text.ljust(n, b" ") + blob[8 + n:] if len(text) <= n else blob


def window_limits(meta: Mapping[str, str], path) -> tuple[int | None, int | None]:
    """``(tile_max, tile_overlap)`` a file in our format records (output pixels; see
    :func:`~ldcsr_core.tiling.plan_for_model`), checked: ``tile_max`` none (no cap but memory) or a
    whole number >= the smallest window; ``tile_overlap`` a whole number >= 0 of at most half of
    ``tile_max`` less a latent pixel (what the planner honours), absent: the engine's default.
    A value out of range is one :class:`CheckpointError` naming the file (hand-edited metadata:
    0 meant no cap, a negative or small maximum the smallest windows, an overlap beyond half a
    window was cut without a word, a negative one failed in the planner)."""
    def whole(key, low, high=None, why=""):
        value = meta.get(key)
        if value in (None, "", "none", "None"):
            return None
        try:
            n = int(value)
        except ValueError:
            n = None
        if n is None or n < low or (high is not None and n > high):
            rng = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise CheckpointError(f"{path}: metadata {key}={value!r} is not a whole number {rng} output "
                                  f"pixels{why} (edited by hand? save the model again, or remove the entry)")
        return n

    tile_max = whole("tile_max", MIN_WINDOW + LATENT, why=" (the smallest window the model runs on)")
    high = None if tile_max is None else tile_max // 2 - LATENT
    overlap = whole("tile_overlap", 0, high, why=f" (half of its tile_max {tile_max}, less {LATENT})"
                    if high is not None else "")
    return tile_max, overlap


def recorded_numbers(meta: Mapping[str, str], path) -> tuple[int | None, int | None]:
    """The numbers a file in our format records besides its configuration, checked: its window
    limits (:func:`window_limits`, returned) and an adapted model's ``adapt_scale``, the scale its
    guard checked, a number above 1 and at most the largest scale (before, one that was no number
    made the model read as not adapted, so its use beyond the guard was never said)."""
    value = meta.get("adapt_scale")
    if value not in (None, ""):
        try:
            scale = float(value)
        except ValueError:
            scale = float("nan")
        if not 1 < scale <= MAX_SCALE:
            raise CheckpointError(f"{path}: metadata adapt_scale={value!r} is not the scale the model was adapted at "
                                  f"(a number above 1 and at most {MAX_SCALE:g}; edited by hand? adapt it again)")
    return window_limits(meta, path)
