"""Reading a checkpoint file: the cheap checks before any of it is read or hashed
(:func:`check_checkpoint_file`: a regular file, in a checkpoint format, not cut short), its tensors and
metadata (:func:`read_state_dict`; :func:`read_checkpoint` with the checksum of the very bytes read),
a ``.safetensors`` header's metadata alone (:func:`header_metadata`). :mod:`.checkpoints` re-exports them.

Loading never executes pickled code: ``.ckpt`` files go through ``torch.load(weights_only=True)``
(:mod:`ldcsr_core.checkpoint_pickle`); our own format is safetensors.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
from pathlib import Path

import torch

from .builtin_models import intact_builtin_sha256
from .checkpoint_pickle import load_weights_only, pickle_refusal, state_dict_of, zip_damage
from .errors import CheckpointError, one_line
from .model_metadata import _safetensors_kind

__all__ = ["check_checkpoint_file", "SAFETENSORS_HEADER_MAX", "read_state_dict", "read_checkpoint", "header_metadata"]


def check_checkpoint_file(path: str | os.PathLike) -> Path:
    """Cheap checks before reading or hashing ``path``: it is a regular file and starts like a
    safetensors file (:func:`is_safetensors`) or a PyTorch checkpoint (zip or pickle); else a
    one-line :class:`CheckpointError`. A device (``/dev/zero``), a FIFO or a folder is never read."""
    return _checked_file(path)[0]


def _checked_file(path: str | os.PathLike) -> tuple[Path, tuple[bytes, dict] | None]:
    """:func:`check_checkpoint_file`, with a safetensors file's header as read and parsed (None: not one, or one
    the parser is left to judge): :func:`read_checkpoint` parses it once (a compact model's is 70 kB of JSON)."""
    import struct

    path = Path(path)
    if not path.exists():
        if os.path.islink(path):  # listed in its folder, but nothing to read: say why
            try:
                what = f"a link to {os.readlink(path)}, which is missing"
                os.stat(path)
            except OSError as e:
                what = "a link loop" if e.errno == errno.ELOOP else what
            raise CheckpointError(f"{path} is {what}: no checkpoint to read")
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a regular file, so not a checkpoint")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
    if _safetensors_kind(path, head):
        # 8-byte little-endian header length, then the JSON header
        n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
        if len(head) < 9 or not 2 <= n <= SAFETENSORS_HEADER_MAX or head[8:9] != b"{":
            raise CheckpointError(f"{path} is not a safetensors file (its header is not one)")
        return path, _check_whole(path, n, size)
    elif not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch's zip, or a legacy pickle
        raise CheckpointError(f"{path} is not an LDCSR checkpoint (neither a PyTorch .ckpt nor our "
                              ".safetensors format)")
    return path, None


SAFETENSORS_HEADER_MAX = 100_000_000  # the safetensors library's own limit on a header


def _check_whole(path: Path, n: int, size: int) -> tuple[bytes, dict] | None:
    """A safetensors file shorter than its header says (a copy or download cut short) is one
    :class:`CheckpointError` saying so; the parser's words were 'its header is not one' or
    'incomplete metadata, file not fully covered'. Returns the header read and parsed (None: one it cannot measure)."""
    def cut(what: str):
        intact_builtin_sha256(path)  # a built-in model: 'damaged ...: reinstall napari-ldcsr'
        return CheckpointError(f"{path} is cut short: {size} bytes, {what} (an interrupted copy or "
                               "download?): copy the file again")

    if n > size - 8:
        raise cut(f"its header alone is {n}") from None
    with open(path, "rb") as f:
        f.seek(8)
        header = f.read(n)
    try:
        parsed = json.loads(header)
        end = max((int(v["data_offsets"][1]) for k, v in parsed.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None  # not a header we can measure: the parser says what is wrong
    if size < 8 + n + end:
        raise cut(f"where its header describes {8 + n + end}") from None
    return header, parsed


def read_state_dict(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read tensors and metadata from a ``.safetensors`` file or a Lightning ``.ckpt`` (weights only)."""
    sd, meta, _ = read_checkpoint(path)
    return sd, meta


def read_checkpoint(path: str | os.PathLike, *, builtin_check: bool = False
                    ) -> tuple[dict[str, torch.Tensor], dict[str, str], str]:
    """As :func:`read_state_dict`, with the SHA-256 of the very bytes the tensors were read from:
    the file is opened once, so a file replaced at ``path`` while a model loads (a training run's
    atomic save) never pairs one file's weights with another's checksum in an output's provenance.
    ``builtin_check``: a built-in model must be the file shipped (:func:`intact_builtin_sha256`),
    checked before it is parsed."""
    import hashlib

    path, header = _checked_file(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if _safetensors_kind(path, f.read(9)):
            f.seek(0)  # read() after read(9) joined the buffered bytes to the rest: the file copied twice (a compact
            data = f.read(os.fstat(f.fileno()).st_size)  # model's load 7 ms); asked for by size, read into one buffer
            data += f.read()  # (grown meanwhile: to its end, as before)
            h.update(data)
        else:  # streamed through the hash, then read again from the same open file
            f.seek(0)
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
            f.seek(0)
            data = None
        digest = h.hexdigest()
        if builtin_check:
            intact_builtin_sha256(path, digest)  # a damaged install is refused before it is parsed
        if data is not None:
            return (*_parse_safetensors(data, path, header), digest)
        damage = zip_damage(path, f)  # cut short, or bytes changed: torch's words, or none at all
        if damage:
            raise CheckpointError(damage)
        try:
            obj = load_weights_only(f, map_location="cpu")
        except pickle.UnpicklingError as e:
            raise CheckpointError(pickle_refusal(path, e)) from None
        except Exception as e:
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {e}") from None
    return state_dict_of(obj, path), {}, digest


def _parse_safetensors(data: bytes, path: Path, header: tuple[bytes, dict] | None = None
                       ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file's bytes (its header: 8-byte length, then JSON); ``header``: its
    header as :func:`_checked_file` read and parsed it, used where ``data`` holds the same bytes."""
    from safetensors.torch import load

    try:
        sd = load(data)
        n = int.from_bytes(data[:8], "little")
        same = header is not None and len(header[0]) == n and data[8:8 + n] == header[0]
        meta = (header[1] if same else json.loads(data[8:8 + n])).get("__metadata__") or {}
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"{path} is not a readable safetensors file: {e}") from None
    return sd, dict(meta)


def header_metadata(path: Path) -> dict[str, str]:
    """The metadata of the ``.safetensors`` file ``path``, read from its header only."""
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"{path} is not a readable safetensors file: {one_line(e)}") from None
