"""Reading a PyTorch ``.ckpt`` without running any of its code: torch's ``weights_only`` unpickler,
and for a Lightning training checkpoint the bookkeeping it pickles besides tensors (OmegaConf
``hyper_parameters``, callback state keyed by a callback's class, ``hparams_type``) read as inert
:class:`PickledObject` placeholders, so that its ``state_dict`` of plain tensors can be reached.

A placeholder records the name of the global it stands for and what the pickle gave it (its
arguments and state, as data); nothing is imported, constructed or called for it. Only the names of
:data:`INERT_MODULES` and :data:`INERT_NAMES` become placeholders (torch itself never lets ``os``,
``sys``, ``posix`` or ``nt`` through); a pickle naming any other global (``os.system`` in a
``__reduce__``) is refused as before, and so is a ``state_dict`` holding anything but tensors.
Used by :func:`ldcsr_core.checkpoint_reading.read_checkpoint` and
:func:`ldcsr_core.official_checkpoint.builtin_twin_file`; :func:`zip_damage` says first whether the
file's zip archive is cut short or its bytes changed."""

from __future__ import annotations

import pickle
import re
import threading
from pathlib import Path

import torch

from .errors import CheckpointError

__all__ = ["PickledObject", "INERT_MODULES", "INERT_NAMES", "load_weights_only", "state_dict_of", "pickle_refusal",
           "zip_damage"]

#: packages whose objects a Lightning checkpoint pickles besides tensors: read as placeholders
INERT_MODULES = ("omegaconf", "pytorch_lightning", "lightning", "lightning_fabric")
#: other globals such objects refer to (OmegaConf's ref_type/object_type, Lightning's hparams of
#: old, paths in callback state): read as placeholders; collections.defaultdict as a plain dict
INERT_NAMES = frozenset({
    "typing.Any", "argparse.Namespace", "collections.defaultdict",
    *(f"builtins.{t}" for t in ("dict", "list", "tuple", "set", "int", "float", "str", "bool", "bytes", "object",
                                "NoneType")),
    *(f"pathlib.{p}" for p in ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath")),
})


class PickledObject:
    """An object of a checkpoint's pickle that is no tensor: the global it names (``global_name``),
    the arguments (``args``) and state (``state``) the pickle gave it, as read; nothing else runs."""

    global_name = "?"

    def __new__(cls, *args, **kwargs):  # the pickle's NEWOBJ (cls.__new__(cls, *args)) and REDUCE
        self = object.__new__(cls)
        self.args, self.state = args, None
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):  # the pickle's BUILD: kept as data, never applied
        self.state = state

    def __repr__(self):
        return f"<pickled {self.global_name}>"


def _plain_dict(*args, **kwargs) -> dict:
    """A pickled ``collections.defaultdict(factory)``: a plain dict (its factory is never called)."""
    return {}


def _inert(name: str) -> bool:
    module = name.rsplit(".", 1)[0]
    return name in INERT_NAMES or any(module == m or module.startswith(m + ".") for m in INERT_MODULES)


def _stand_in(name: str):
    if name == "collections.defaultdict":
        return _plain_dict
    return type(name.rsplit(".", 1)[-1], (PickledObject,), {"global_name": name, "__module__": __name__})


_LOCK = threading.Lock()  # torch's allowlist is the process's: one placeholder load at a time


def load_weights_only(source, **kwargs):
    """``torch.load(source, weights_only=True, **kwargs)`` (``source``: a path or an open binary
    file); a checkpoint whose pickle names globals torch does not allow, each one of :func:`_inert`,
    is read again with a :class:`PickledObject` for each (torch's unpickler still decides what may
    be built and how). Else torch's :class:`pickle.UnpicklingError`, or one naming every global refused
    (torch's names the first alone; torch < 2.6's are read from the pickle, :func:`_refused_by_scan`); a
    pickle of protocol 4 or later, which no torch's weights-only unpickler reads, is :class:`ProtocolError`
    (or the refusal of the code it names)."""
    try:
        return torch.load(source, weights_only=True, **kwargs)
    except pickle.UnpicklingError as e:  # (a new one: torch's holds, by its context, the tensors read so far)
        first = pickle.UnpicklingError(*e.args)
    protocol = _pickle_protocol(source)
    if protocol >= 4 and "Unsupported operand" in str(first):  # (torch 2.3-2.13 read no FRAME, STACK_GLOBAL...)
        refused = [n for n in _refused_by_scan(source) if not _inert(n)]  # code: said first, as below
        raise (_unsupported(refused) if refused else ProtocolError(f"pickle protocol {protocol}")) from None
    listing = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if listing is None:  # torch < 2.6 cannot list them (nor name a stand-in by its global's name)
        names = _refused_by_scan(source) or [_global_named(first)]  # torch names the first alone
        if not names[0]:
            raise first from None
        refused = [n for n in names if not _inert(n)]  # code: refused by every torch, said so
        raise (_unsupported(refused) if refused else OldTorchError(f"GLOBAL {_names(names)}")) from None
    with _LOCK:  # listed under it too: torch leaves out the names another load's stand-ins allow meanwhile
        try:
            _rewind(source)
            names = sorted(listing(source))
            _rewind(source)
        except Exception:  # noqa: BLE001 - a legacy (non-zip) file, a pickle it cannot read: torch's word
            raise first from None
        refused = [n for n in names if not _inert(n)]
        if refused or not names:
            raise (_unsupported(refused) if refused else first) from None
        with torch.serialization.safe_globals([(_stand_in(n), n) for n in names]):
            return torch.load(source, weights_only=True, **kwargs)


def zip_damage(path: Path, f) -> str | None:
    """What is wrong with the PyTorch checkpoint (a zip archive) open as ``f``: cut short (no central
    directory at its end), or a part whose bytes do not match the CRC-32 the archive records (torch
    never checks them: such a copy loaded without a word, its weights wrong); None for an intact one
    or one that is no zip (torch's legacy format). Reads the whole file; ``f`` is rewound."""
    import zipfile

    try:
        if f.read(4) != b"PK\x03\x04":
            return None
        if not zipfile.is_zipfile(f):
            return (f"{path} is cut short: a PyTorch checkpoint (a zip archive) without its end (an interrupted copy "
                    "or download?): copy the file again")
        try:
            with zipfile.ZipFile(f) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, EOFError, ValueError) as e:
            bad = f"({e})"
        return None if bad is None else (f"{path} is damaged: {bad} in it does not match the checksum the archive "
                                         "records (a bad copy or download?): copy the file again")
    finally:
        f.seek(0)


def _refused_by_scan(source) -> list[str]:
    """The globals the checkpoint's pickle names (:func:`_pickle_globals`) that this torch does not allow,
    read without running it (for torch < 2.6, which stops at the first, and a pickle no torch lists); []
    when the file is no zip of a pickle that can be read so."""
    wo = torch._weights_only_unpickler  # torch's own lists: private, but in 2.3-2.5 (the user's from 2.4)
    allowed = {**getattr(wo, "_get_allowed_globals", dict)(), **getattr(wo, "_get_user_allowed_globals", dict)()}
    data = _pickle_bytes(source)
    try:
        names = _pickle_globals(data) if data is not None else set()
    except Exception:  # noqa: BLE001 - a pickle pickletools cannot read: torch's word
        return []
    return sorted(n for n in names if n not in allowed)


def _pickle_globals(data: bytes) -> set[str]:
    """The globals a pickle names, read without running it: its GLOBAL opcodes' (protocols 0-3: torch.save's
    2; a Python 2 name mapped as the unpickler maps it: ``__builtin__.dict``) and its STACK_GLOBAL opcodes'
    (protocol 4 and later: ``torch.save(..., pickle_protocol=4)``), whose module and name are the two strings
    pushed just before, each written there or fetched from the memo (as pickle writes a name met before)."""
    import _compat_pickle
    import pickletools

    names, pushed, memo = set(), [None, None], {}  # pushed: the last two values pushed (a string, or None)
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            module, name = arg.split(" ")
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            names.add(f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}")
        elif op.name == "STACK_GLOBAL" and all(isinstance(v, str) for v in pushed[-2:]):
            names.add(".".join(pushed[-2:]))
        if op.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):  # (the top of the stack kept: nothing pushed)
            memo[len(memo) if arg is None else arg] = pushed[-1]
        elif op.name in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(arg))
        elif op.name not in ("FRAME", "PROTO"):
            pushed.append(arg if "UNICODE" in op.name else None)
        del pushed[:-2]
    return names


def _pickle_protocol(source) -> int:
    """The protocol of the checkpoint's pickle (its first opcode, PROTO: torch.save's default is 2); 0 where it
    cannot be read so (a legacy, non-zip file)."""
    head = _pickle_bytes(source, 2) or b""
    return head[1] if len(head) == 2 and head[0] == pickle.PROTO[0] else 0


def _pickle_bytes(source, size: int = -1) -> bytes | None:
    """The checkpoint's pickle (its zip's ``data.pkl``; its first ``size`` bytes), the file rewound after; None
    where it is no zip of one (a legacy file, a damaged zip)."""
    import zipfile

    try:
        _rewind(source)
        with zipfile.ZipFile(source) as z:
            pkl = next(n for n in z.namelist() if n.rpartition("/")[2] == "data.pkl")
            with z.open(pkl) as f:
                return f.read(size)
    except Exception:  # noqa: BLE001 - not a zip of a pickle: the callers' "cannot be read so"
        return None
    finally:
        _rewind(source)


def _rewind(source) -> None:
    if hasattr(source, "seek"):
        source.seek(0)


def _pickled_in(obj, found: set[str], depth: int = 0) -> set[str]:
    """Add to ``found`` the global names of the placeholders in ``obj`` (an instance, or a class used as
    a value or key; not those inside a placeholder's own arguments or state); returns ``found``."""
    if isinstance(obj, PickledObject) or (isinstance(obj, type) and issubclass(obj, PickledObject)):
        found.add(obj.global_name)
        return found
    if depth < 8 and isinstance(obj, dict):
        obj = [*obj.keys(), *obj.values()]
    if depth < 8 and isinstance(obj, (list, tuple, set)):
        for item in obj:
            _pickled_in(item, found, depth + 1)
    return found


_NAMED = 10  # the most global names a refusal lists (then "and N more")


def _names(names) -> str:
    """``a, b, c``, sorted, the first :data:`_NAMED` of them, then ``and N more``: how every refusal names the globals
    it refuses (a hostile pickle may name thousands)."""
    names = sorted(names)
    more = f" and {len(names) - _NAMED} more" if len(names) > _NAMED else ""
    return ", ".join(names[:_NAMED]) + more


def _unsupported(names) -> pickle.UnpicklingError:
    """The refusal of the globals ``names`` (code), in torch's words (:func:`_global_named` reads them back)."""
    return pickle.UnpicklingError(f"Unsupported global: GLOBAL {_names(names)}")


class OldTorchError(pickle.UnpicklingError):
    """A Lightning checkpoint's bookkeeping that this torch (older than 2.6) cannot read as placeholders."""


class ProtocolError(pickle.UnpicklingError):
    """A checkpoint pickled with protocol 4 or later (``torch.save(..., pickle_protocol=4)``), which torch's
    weights-only unpickler cannot read (any torch so far: its FRAME, STACK_GLOBAL... opcodes)."""


def _global_named(e: BaseException | str) -> str | None:
    # torch >= 2.4 says "Unsupported global: GLOBAL NAME", 2.3 "Unsupported class NAME"; ours "NAME, NAME" (_names)
    m = re.search(r"(?:Unsupported global|Unsupported class|GLOBAL)[:\s]+(?:GLOBAL\s+)?([\w.]+(?:, [\w.]+)*(?: and \d+ more)?)",
                  str(e))
    return m.group(1) if m else None


def pickle_refusal(path: Path, e: BaseException | str) -> str:
    """One line: why a checkpoint with pickled objects is refused (not torch's advice to load it
    with ``weights_only=False``, which would run its code; ``ldcsr convert`` refuses it too)."""
    name = _global_named(e)
    what = f" ({name})" if name else ""
    if isinstance(e, ProtocolError):
        return (f"refusing to load {path}: it was saved with {e} (torch.save's pickle_protocol), which torch "
                f"{torch.__version__} cannot read without running its code (torch's safe loader reads torch.save's "
                "default, protocol 2); save it again with torch.save's default protocol")
    if isinstance(e, OldTorchError):
        return (f"refusing to load {path}: it holds pickled Python objects{what} besides tensors, which torch "
                f"{torch.__version__} cannot read without running their code; torch 2.6 or later reads "
                "OmegaConf and Lightning objects as inert data (pip install 'torch>=2.6')")
    return (f"refusing to load {path}: it holds pickled Python objects{what} besides tensors, and "
            "loading them could run arbitrary code; only checkpoints of plain tensors are accepted")


def state_dict_of(obj, path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint ``obj``: its ``state_dict`` (a Lightning checkpoint) or
    itself; a placeholder in it is :func:`pickle_refusal`'s :class:`CheckpointError`, anything
    else that is no tensor 'does not hold a state dict of tensors'."""
    inner = obj.get("state_dict") if isinstance(obj, dict) else None
    if isinstance(inner, (dict, PickledObject)):
        obj = inner
    if isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        return dict(obj)
    found = _pickled_in(obj, set())
    if found:  # all of them: the user who fixes the file by hand meets no other at the next try
        raise CheckpointError(pickle_refusal(path, f"GLOBAL {_names(found)}"))
    raise CheckpointError(f"{path} does not hold a state dict of tensors")
