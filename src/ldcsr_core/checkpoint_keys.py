"""What a checkpoint's tensor names say (torch-free): a key mismatch told in a few words, and
what the file most likely is when it is not the model asked for; weights that are no numbers (:func:`check_finite`).

:func:`mismatch_text` is the one sentence :func:`ldcsr_core.checkpoints.load_model` raises when
a state dict does not fit the model (counts per part of the model, a name each, the likely
cause); :func:`likely_cause` is also said when no architecture can be read off the names at all
(:func:`ldcsr_core.official_checkpoint.infer_config`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .errors import CheckpointError
from .words import counted

__all__ = ["PARTS", "part_of", "likely_cause", "mismatch_text", "check_finite", "check_cast"]

#: the parts of an LDCSR model, by the prefix of their tensor names (longest first)
PARTS = ("first_stage_model.decoder.", "first_stage_model.post_quant_conv.", "first_stage_model.encoder.",
         "first_stage_model.quant_conv.", "first_stage_model.", "cond_stage_model.", "model.diffusion_model.",
         "detail_decoder.", "scale_factor")
EXAMPLES = 1  # names shown per group


def part_of(key: str) -> str:
    """The part of the model a tensor name belongs to (``model.diffusion_model``), or the name's
    first component for a name of no LDCSR part."""
    for prefix in PARTS:
        if key.startswith(prefix):
            return prefix.rstrip(".")
    return key.split(".", 1)[0]


def _ours(key: str) -> bool:
    return any(key.startswith(p) for p in PARTS)


def likely_cause(keys: Iterable[str], *, missing: Sequence[str] = (), unexpected: Sequence[str] = (),
                 config_given: bool = False, recorded: bool = False) -> str:
    """What the file most likely is, from its tensor names, or "" when nothing can be told.
    ``config_given``: the caller gave the architecture; ``recorded``: the file records its own
    (our format)."""
    keys = list(keys)
    if keys and not any(_ours(k) for k in keys):
        if (any(k.startswith("decoder.") for k in keys)
                and any(k.startswith(("encoder.", "post_quant_conv.", "quant_conv.")) for k in keys)):
            return ("this looks like an official LDCSR first-stage (autoencoder) checkpoint: inference needs "
                    "the second-stage one, whose tensors are named model.diffusion_model.*, cond_stage_model.* "
                    "and first_stage_model.*")
        return "this looks like a checkpoint of another model, not LDCSR: none of its tensors is named as LDCSR's"
    def has(prefix):
        return any(k.startswith(prefix) for k in keys)

    if has("first_stage_model.") and not has("model.diffusion_model.") and not has("cond_stage_model."):
        return ("this looks like an official LDCSR first-stage (autoencoder) checkpoint: inference needs the "
                "second-stage one, which also holds model.diffusion_model.* and cond_stage_model.*")
    detail = [k for k in (*missing, *unexpected) if k.startswith("detail_decoder.")]
    if detail and len(detail) == len(missing) + len(unexpected):
        has = "has" if unexpected else "lacks"
        wants = "lacks" if unexpected else "has"
        return (f"the file {has} a diffusion-mode detail decoder (as the built-in v4) that the configuration "
                f"{wants}")
    if config_given:
        return "the config given does not describe these weights: leave config out to use the file's own"
    if recorded:
        return ("the configuration recorded in the file does not describe its weights (its metadata edited, "
                "or weights of another model saved under it)")
    return ""


def _group(names: Sequence[str], what: str, plural: str | None = None) -> str:
    """``missing 60 tensors (first_stage_model.decoder 58, cond_stage_model 2; e.g. a …)``."""
    per_part: dict[str, int] = {}
    for name in names:
        part = part_of(name.split(":", 1)[0])
        per_part[part] = per_part.get(part, 0) + 1
    parts = ", ".join(f"{p} {n}" for p, n in sorted(per_part.items(), key=lambda kv: (-kv[1], kv[0])))
    more = " …" if len(names) > EXAMPLES else ""
    return f"{counted(len(names), what, plural)} ({parts}; e.g. {'; '.join(names[:EXAMPLES])}{more})"


def mismatch_text(source: str, keys: Iterable[str], missing: Sequence[str], unexpected: Sequence[str],
                  mismatched: Sequence[str], *, config_given: bool = False, recorded: bool = False) -> str:
    """One line: ``source`` does not match the model, with counts per part of each group (missing,
    unexpected, shape mismatches), one name each and the likely cause when it can be told."""
    groups = []
    if missing:
        groups.append("missing " + _group(missing, "tensor"))
    if unexpected:
        groups.append("unexpected " + _group(unexpected, "tensor"))
    if mismatched:
        groups.append(_group(mismatched, "shape mismatch", "shape mismatches"))
    cause = likely_cause(keys, missing=missing, unexpected=unexpected, config_given=config_given,
                         recorded=recorded)
    return f"{source} does not match the LDCSR model: {' | '.join(groups)}" + (f" ({cause})" if cause else "")


def check_finite(state_dict, names: Iterable[str], source: str) -> None:
    """A :class:`CheckpointError` where a float tensor of ``state_dict`` the model loads (``names``) holds NaN or
    infinite values (a training that diverged, a damaged file): before, it loaded, and diffusion mode made a black
    picture (NaN cast to uint8) and a float one of NaN, said nowhere."""
    names = [k for k in names if k in state_dict]
    if _all_finite(state_dict[k] for k in names):
        return
    bad = [k for k in names if not _finite(state_dict[k])]
    if bad:
        raise CheckpointError(f"{source} holds NaN or infinite weights ({counted(len(bad), 'tensor')}, e.g. {bad[0]}): "
                              "a training that diverged or a damaged file, whose pictures would be NaN or black; use "
                              "another model file (or copy this one again)")


def check_cast(state_dict, source: str, dtype: str) -> None:
    """A :class:`CheckpointError` where a model's weights, finite as loaded, are no longer so in ``dtype``
    (``state_dict``: the model's, cast): one past float16's largest value (65504) is infinite there. Before, such a
    model loaded with dtype='float16' (the default on CUDA) and its pictures were NaN or black, said nowhere; so did
    a float64 file's 1e39 in float32 (``dtype='float32'``: no float type to advise)."""
    if _all_finite(state_dict.values()):  # (a sum a tensor: 9 ms of a compact model's load in bfloat16)
        return
    bad = [k for k, v in state_dict.items() if not _finite(v)]
    if not bad:
        return
    wider = {"float16": "float32 or bfloat16", "bfloat16": "float32"}.get(dtype)  # float32: a float64 file's 1e39
    todo = (f"load it as {wider} (dtype='float32', --dtype float32 or LDCSR_DTYPE=float32)" if wider else
            "a training that diverged or a damaged file: use another model file")
    raise CheckpointError(f"{source} holds weights beyond {dtype}'s range ({counted(len(bad), 'tensor')}, e.g. "
                          f"{bad[0]}): in {dtype} they are infinite, and its pictures would be NaN or black; {todo}")


def _all_finite(tensors, chunk: int = 1 << 18) -> bool:
    """Whether no float tensor of ``tensors`` holds NaN or an infinite value, a quarter of a million values summed at
    a time (a sum per tensor took 25 of a compact model's 35 ms: 500 small ones, ``ldcsr models`` checking each file
    of a folder; 4 million at a time, a fresh 16 MB each load, 3000 page faults: 10 ms of a load where memory is busy);
    False also where a sum overflows (large float16 values): :func:`_finite` then looks tensor by tensor."""
    import torch

    by_dtype: dict = {}
    for tensor in tensors:
        if tensor.is_floating_point():
            by_dtype.setdefault(tensor.dtype, []).append(tensor.reshape(-1))
    for flat in by_dtype.values():
        start = 0
        while start < len(flat):
            end, size = start + 1, flat[start].numel()
            while end < len(flat) and size + flat[end].numel() <= chunk:
                size += flat[end].numel()
                end += 1
            if not torch.isfinite(torch.cat(flat[start:end]).sum()):
                return False
            start = end
    return True


def _finite(tensor) -> bool:
    """Whether ``tensor`` holds no NaN or infinite value (not a float one: it cannot), its sum asked first: NaN and
    inf carry into it, and a sum is a sixth of ``isfinite().all()``'s cost (100 ms of a 31 M-parameter model's 0.8 s
    load); one that overflows (large float16 values) is looked at value by value."""
    import torch

    if not tensor.is_floating_point():
        return True
    return bool(torch.isfinite(tensor.sum())) or bool(tensor.isfinite().all())
