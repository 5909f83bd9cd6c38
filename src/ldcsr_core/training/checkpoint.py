"""Save and resume: the resumable ``TrainState``, atomic checkpoint files, the random states a run
depends on, and the transport of a checkpoint through size-limited channels (split into parts and
merged back; a half-precision copy)."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import ResumeError, TrainingError

__all__ = ["TrainState", "atomic_torch_save", "check_resume_file", "read_checkpoint", "rng_states", "restore_rng_states",
           "split_file", "merge_parts", "half_precision_copy", "PART_SUFFIX"]

PART_SUFFIX = ".part"


@dataclass
class TrainState:
    """Everything a run needs to be resumed: phase bookkeeping, history and RNG states."""

    done: list = field(default_factory=list)         # finished phases
    phase: str | None = None                          # phase in progress
    phase_step: int = 0
    phase_elapsed: float = 0.0                        # wall-clock seconds spent in the phase
    calibrated: bool = False                          # scale_factor measured after phase A
    history: dict = field(default_factory=lambda: {"phases": {}, "val": []})
    recent_losses: list = field(default_factory=list)  # the phase's last losses (its final_loss)
    total_steps: int = 0                              # steps of all phases and runs together
    runs: int = 0                                     # processes that worked on this run


def atomic_torch_save(obj, path: Path):
    """``torch.save`` to a part file beside ``path``, then rename: a crash leaves the old file, a
    full disk one clear error naming ``path`` (:func:`~ldcsr_core.files.atomic_write_bytes`)."""
    from ..files import atomic_write_bytes

    buf = io.BytesIO()  # serialised first: torch's own writer turns a full disk into an obscure RuntimeError
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getbuffer())


def check_resume_file(path) -> list[Path]:
    """The files a resume from ``path`` reads: ``[path]``, else its parts (``PATH.part000``…), each
    one this user may read (else :class:`~ldcsr_core.errors.RasterIOError`, ``cannot read PATH:
    permission denied``, as of any input; before, 'cannot read checkpoint ... (cut short or
    damaged?)'); none there is a :class:`ResumeError`."""
    from ..files import check_readable

    path = Path(path)
    files = [path] if path.exists() else sorted(path.parent.glob(path.name + PART_SUFFIX + "[0-9][0-9][0-9]"))
    if not files:
        raise ResumeError(f"checkpoint not found: {path} (nor its parts {path.name}{PART_SUFFIX}000…)")
    for f in files:
        check_readable(f)
    return files


def read_checkpoint(path, map_location="cpu", *, lazily: bool = False) -> dict:
    """A checkpoint written by the trainer (or joined from its parts ``PATH.part000``…).
    Loaded with ``weights_only=True``: never runs pickled code. A file that cannot be read (cut
    short, damaged) or was not written by the trainer (a model file, an official checkpoint) is a
    :class:`ResumeError`. ``lazily``: a single file's tensors are mapped, not read (its index and
    structure only: :func:`~ldcsr_core.training.trainer.train` checks ``--resume`` so before
    loading the model and DATA's images)."""
    path = Path(path)
    files = check_resume_file(path)
    # from its parts: joined in memory, nothing written beside them (before, rebuilt as PATH, so a
    # folder this user may not write was 'cannot read checkpoint ... (cut short or damaged?)')
    try:
        source = path if files == [path] else io.BytesIO(joined_parts(path))
        obj = torch.load(source, map_location=map_location, weights_only=True, mmap=lazily and source is path)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise ResumeError(f"cannot read checkpoint {path} (cut short or damaged?): {e}") from e
    if not isinstance(obj, dict) or not {"model", "state", "data_rng"} <= obj.keys():
        raise ResumeError(f"{path} is not a training checkpoint of ldcsr train (no run state in it; a model "
                          "file or another program's checkpoint): give the run's OUT.ckpt, or use --init "
                          "to start from a model's weights")
    return obj


def rng_states(gen: torch.Generator) -> dict:
    """The states of every random stream a step may draw from: the trainer's noise generator, and
    (for code that uses them) torch's, CUDA's, Python's and NumPy's global ones."""
    st = {"gen": gen.get_state(), "torch": torch.get_rng_state(), "python": list(_py_state()),
          "numpy": _np_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _py_state():
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _np_state():
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached": float(cached), "name": name}


def restore_generator(gen: torch.Generator, state: torch.Tensor) -> tuple[str, str] | None:
    """Set the trainer's noise generator ``gen`` to ``state``: None, it continues exactly. A state of
    another kind of generator (a checkpoint written on another device: CUDA's Philox state is 16
    bytes, the CPU's Mersenne Twister 5056) cannot continue here: ``gen`` is seeded from that state
    instead (resuming one checkpoint twice on this device is one run), and the kinds are returned,
    the one that wrote it and this one, each 'cpu' or 'gpu' (:func:`generator_kind`: one word for
    one kind, both ways). Before: torch's 'Expected a CPUGeneratorImplState of size 5056 but found
    the input RNG state size to be 16', exit 1, once the model had loaded."""
    state = state.cpu()
    here = gen.get_state()
    if state.numel() == here.numel():
        gen.set_state(state)
        return None
    gen.manual_seed(int.from_bytes(hashlib.blake2b(state.numpy().tobytes(), digest_size=8).digest(), "little"))
    return generator_kind(state), generator_kind(here)


def generator_kind(state: torch.Tensor) -> str:
    """'cpu' for a CPU generator's state (the Mersenne Twister's), else 'gpu' (CUDA's or MPS's Philox)."""
    return "cpu" if state.numel() == torch.Generator().get_state().numel() else "gpu"


def restore_rng_states(st: dict, gen: torch.Generator) -> str | None:
    """Restore :func:`rng_states`; returns :func:`restore_generator`'s answer."""
    other = restore_generator(gen, st["gen"])
    torch.set_rng_state(st["torch"].cpu())
    version, internal, gauss = st["python"]
    random.setstate((version, tuple(internal), gauss))
    n = st["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda"]])
    return other


def split_file(path, max_bytes: int = 15 * 2 ** 20, out_dir=None) -> list[Path]:
    """Split ``path`` into ``NAME.part000``, ``NAME.part001``… of at most ``max_bytes`` each, in
    ``out_dir`` (default: beside it), plus ``NAME.parts.json`` (sizes and SHA-256) for
    :func:`merge_parts`. Returns the part paths. Each file is written atomically and the
    ``.parts.json`` last, so a split cut short (a kill, a full disk) has none and is not merged."""
    from ..files import atomic_write_bytes

    path = Path(path)
    out_dir = Path(out_dir) if out_dir else path.parent
    data = path.read_bytes()
    meta = out_dir / f"{path.name}.parts.json"
    meta.unlink(missing_ok=True)  # an earlier split's: it no longer describes the parts
    parts = []
    for i, off in enumerate(range(0, max(len(data), 1), max_bytes)):
        parts.append(atomic_write_bytes(out_dir / f"{path.name}{PART_SUFFIX}{i:03d}", data[off:off + max_bytes]))
    atomic_write_bytes(meta, json.dumps(
        {"name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
         "parts": [p.name for p in parts]}).encode())
    return parts


def merge_parts(path, out=None) -> Path:
    """Rebuild ``path`` from its parts (:func:`joined_parts`) into ``out`` (default: ``path``).
    Returns the rebuilt file."""
    from ..files import atomic_write_bytes

    return atomic_write_bytes(Path(out) if out else path, joined_parts(path))


def joined_parts(path) -> bytes:
    """The bytes of ``path`` joined from the parts ``PATH.parts.json`` lists (``PATH.part000``…),
    checked against its size and SHA-256. Without ``PATH.parts.json`` the split was cut short:
    :class:`TrainingError`."""
    path = Path(path)
    parts = sorted(path.parent.glob(path.name + PART_SUFFIX + "[0-9][0-9][0-9]"))
    if not parts:
        raise TrainingError(f"no parts {path.name}{PART_SUFFIX}000… beside {path}")
    meta = path.parent / f"{path.name}.parts.json"
    if not meta.exists():
        raise TrainingError(f"{meta.name} is missing beside the parts of {path.name}: the split was cut "
                            "short (split the checkpoint again)")
    m = json.loads(meta.read_text())
    try:
        data = b"".join((path.parent / name).read_bytes() for name in m["parts"])
    except FileNotFoundError as e:
        raise TrainingError(f"the parts of {path.name} do not rebuild it (missing part {Path(e.filename).name})") \
            from None
    if m["size"] != len(data) or m["sha256"] != hashlib.sha256(data).hexdigest():
        raise TrainingError(f"the parts of {path.name} do not rebuild it (missing or damaged part)")
    return data


def half_precision_copy(ckpt: dict, dtype=torch.bfloat16) -> dict:
    """The checkpoint with every floating-point tensor of the model, EMA and optimiser moments in
    ``dtype`` (half the bytes). A resume from it continues the run but not bit for bit: the
    weights are rounded, and the trainer turns them back into fp32 master weights."""
    def conv(v):
        if isinstance(v, torch.Tensor) and v.is_floating_point() and v.dim() > 0:
            return v.to(dtype)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    out = dict(ckpt)
    for k in ("model", "ema", "opt", "disc", "opt_d"):
        if out.get(k) is not None:
            out[k] = conv(out[k])
    out["half_precision"] = str(dtype).replace("torch.", "")
    return out
