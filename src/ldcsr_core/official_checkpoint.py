"""The official release's checkpoints: their state dict mapped onto our inference keys
(:func:`remap_official`, pure) and the architecture read off tensor shapes (:func:`infer_config`),
since they carry no config; :func:`builtin_twin`: the built-in model whose tensors a state dict
without our metadata holds (a shipped model re-saved as tensors alone). Used by :func:`ldcsr_core.checkpoints.load_model`, which re-exports both."""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from .config import DecoderConfig, DiffusionConfig, EncoderConfig, ModelConfig, UNetConfig
from .checkpoint_keys import likely_cause
from .errors import CheckpointError

__all__ = ["remap_official", "infer_config", "builtin_twin", "builtin_twin_file"]


def remap_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an official ``S2Model`` state dict onto our inference keys (pure function, no I/O).

    The UNet is taken from the EMA shadow copy (``model_ema.<name without dots>``), as official
    sampling does; everything else keeps its name.  Native state dicts are returned unchanged.
    """
    sd = {re.sub(r"^(module\.|_orig_mod\.)", "", k): v for k, v in state_dict.items()}
    if not any(k.startswith("model_ema.") for k in sd):
        return sd
    ema = {k[len("model_ema."):]: v for k, v in sd.items() if k.startswith("model_ema.")}
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if k.startswith("model.diffusion_model."):
            shadow = k[len("model."):].replace(".", "")
            if shadow not in ema:
                raise CheckpointError(f"the checkpoint has EMA weights but no shadow copy of {k} "
                                      f"(expected model_ema.{shadow})")
            out[k] = ema[shadow]
            out["raw_unet." + k] = v  # reported as unused
        elif not k.startswith("model_ema."):
            out[k] = v
    out.update({"model_ema." + k: v for k, v in ema.items() if k in ("decay", "num_updates")})
    return out


def _count(sd, pattern):
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd for m in [rx.match(k)] if m})


def _encoder_config(sd, prefix) -> EncoderConfig:
    ch, cin = sd[prefix + "conv_in.weight"].shape[:2]
    levels = _count(sd, re.escape(prefix) + r"down\.(\d+)\.")
    nrb = _count(sd, re.escape(prefix) + r"down\.0\.block\.(\d+)\.")
    mult = tuple(int(sd[f"{prefix}down.{i}.block.0.conv2.weight"].shape[0] // ch) if nrb else 1
                 for i in range(levels))
    zout = sd[prefix + "conv_out.weight"].shape[0]
    double = prefix.startswith("first_stage_model")
    return EncoderConfig(in_channels=int(cin), ch=int(ch), ch_mult=mult, num_res_blocks=nrb,
                         z_channels=int(zout // 2 if double else zout), double_z=double)


DETAIL = "detail_decoder.decoder."


def _decoder_config(sd, d) -> DecoderConfig:
    """A GAPDecoder's architecture from the shapes of its tensors named ``d``… (ch_mult: ones, the
    only one it builds)."""
    levels = _count(sd, re.escape(d) + r"up\.(\d+)\.transfer")
    return DecoderConfig(
        ch=int(sd[d + "head.weight"].shape[0]), out_ch=int(sd[d + "upsampler.fuse.8.weight"].shape[0]),
        ch_mult=(1,) * levels, num_res_blocks=_count(sd, re.escape(d) + r"up\.0\.block\.(\d+)\."),
        z_channels=int(sd[d + "conv_in.weight"].shape[1]), in_channels=int(sd[d + "head.weight"].shape[1]),
        num_sr_modules=tuple(_count(sd, re.escape(d) + rf"FRUList\.{k}\.IMDB\.(\d+)\.") for k in range(levels)),
        fuse_width=int(sd[d + "upsampler.fuse.0.weight"].shape[0]))


def infer_config(sd: Mapping[str, torch.Tensor], *, num_head_channels: int = 32,
                 with_encoder: bool = False) -> ModelConfig:
    """Read the architecture off tensor shapes (official checkpoints carry no config).

    The attention head width is not visible in the weights; the official value 32 is assumed.
    """
    try:
        dec = _decoder_config(sd, "first_stage_model.decoder.")
        u = "model.diffusion_model."
        mc = int(sd[u + "input_blocks.0.0.weight"].shape[0])
        n_in = _count(sd, re.escape(u) + r"input_blocks\.(\d+)\.")
        mult, attn, nrb, ds, run = [], [], None, 1, 0
        for i in range(1, n_in):
            if u + f"input_blocks.{i}.0.op.weight" in sd:
                nrb = run if nrb is None else nrb
                run, ds = 0, ds * 2
                continue
            run += 1
            out_ch = int(sd[u + f"input_blocks.{i}.0.in_layers.2.weight"].shape[0])
            if run == 1:
                mult.append(out_ch // mc)
            if u + f"input_blocks.{i}.1.qkv.weight" in sd and ds not in attn:
                attn.append(ds)
        nrb = run if nrb is None else nrb
        unet = UNetConfig(in_channels=int(sd[u + "input_blocks.0.0.weight"].shape[1]),
                          out_channels=int(sd[u + "out.2.weight"].shape[0]), model_channels=mc,
                          channel_mult=tuple(mult), num_res_blocks=nrb, attention_resolutions=tuple(attn),
                          num_head_channels=num_head_channels,
                          use_scale_embedding=u + "scale_embed.0.weight" in sd,
                          use_osize_embedding=u + "osize_embed.0.weight" in sd)
        diff = DiffusionConfig(embed_dim=int(sd["first_stage_model.post_quant_conv.weight"].shape[1]))
        if "betas" in sd:
            b = sd["betas"].double()
            diff = DiffusionConfig(timesteps=int(b.numel()), linear_start=round(float(b[0]), 6),
                                   linear_end=round(float(b[-1]), 6), embed_dim=diff.embed_dim)
        enc = None
        if with_encoder and "first_stage_model.encoder.conv_in.weight" in sd:
            enc = _encoder_config(sd, "first_stage_model.encoder.")
        # ours: diffusion mode's own decoder (v4), of the same structure as the first stage's
        detail = _decoder_config(sd, DETAIL) if any(k.startswith(DETAIL) for k in sd) else None
        return ModelConfig(decoder=dec, cond_encoder=_encoder_config(sd, "cond_stage_model."),
                           unet=unet, diffusion=diff, encoder=enc, detail_decoder=detail).validate()
    except KeyError as e:
        cause = likely_cause(sd.keys())  # an official first-stage checkpoint, another model's
        raise CheckpointError(f"not an LDCSR checkpoint: it lacks {e.args[0]!r}"
                              + (f" ({cause})" if cause else "")) from None


def builtin_twin(state_dict: Mapping[str, torch.Tensor], shapes: Mapping[str, tuple] | None = None, *,
                 rounded: bool = False):
    """``(path, metadata)`` of the installed built-in model whose tensors ``state_dict`` holds,
    every one equal (names, shapes, float types and values), or None: a shipped model re-saved
    without our metadata (``safetensors.torch.save_file(load_file(...))``), or its inference
    tensors alone (``save_file`` or ``torch.save`` of ``load_model(...).state_dict()``: without the
    training-only ones, :data:`~.checkpoints.IGNORED_PREFIXES`), is that model, with its
    configuration and window limits.  Each built-in's header is read first (``rounded``: after one weight of
    ``state_dict``, :func:`_lower_types_held`, and none where it holds no lower type's values); a file's tensors only
    when the names and shapes are all its (``shapes``: the file's own, from its header, when
    ``state_dict`` reads a value on each access). ``rounded``: its values those of the built-in at a lower float
    type instead (:func:`_rounded_alike`: a float16 copy, whatever type it is saved in), the same model rounded."""
    from safetensors import safe_open

    from .builtin_models import builtin_model_paths
    from .checkpoints import IGNORED_KEYS, IGNORED_PREFIXES

    shapes = {k: tuple(v.shape) for k, v in state_dict.items()} if shapes is None else shapes
    names = set(shapes)
    lows = _lower_types_held(state_dict, sorted(names)) if rounded else (None,)
    if not lows:  # a model of its own float32 weights (trained, adapted, the tiny one): no built-in opened
        return None
    for path in builtin_model_paths():
        try:
            with safe_open(str(path), framework="pt") as f:
                theirs = set(f.keys())
                inference = {k for k in theirs if k not in IGNORED_KEYS and not k.startswith(IGNORED_PREFIXES)}
                if names not in (theirs, inference) or any(
                        tuple(f.get_slice(k).get_shape()) != tuple(shapes[k]) for k in names):
                    continue
                for low in lows:
                    if all(_rounded_alike(state_dict[k], f.get_tensor(k), low) if low else
                           torch.equal(f.get_tensor(k), state_dict[k]) for k in sorted(names)):
                        return path, dict(f.metadata() or {})
        except Exception:  # noqa: BLE001 - an unreadable built-in is no twin (loading it says what is wrong)
            continue
    return None


def _lower_types_held(state_dict: Mapping[str, torch.Tensor], names) -> list:
    """The lower float types (float16, bfloat16) whose values the first float tensor of ``names`` holds exactly: a
    float16 copy's first weight is one, a float32 model's own almost never, so :func:`builtin_twin` ``rounded``
    opens no built-in for it (one tensor of ``state_dict`` read: a file's, on disk)."""
    for name in names:
        tensor = state_dict[name]
        if tensor.is_floating_point():
            return [low for low in (torch.float16, torch.bfloat16) if torch.equal(tensor.to(low).to(tensor.dtype), tensor)]
    return []


def _rounded_alike(tensor: torch.Tensor, builtin: torch.Tensor, low: torch.dtype) -> bool:
    """Whether ``tensor`` holds ``builtin``'s values at the float type ``low``: each one exactly a ``low`` value
    (saved in any type) and equal to ``builtin``'s cast to ``low``; tensors that are no floats: equal."""
    if not tensor.is_floating_point():
        return torch.equal(tensor, builtin)
    narrow = tensor.to(low)
    return torch.equal(narrow.to(tensor.dtype), tensor) and torch.equal(narrow, builtin.to(low))


def builtin_twin_file(path, *, rounded: bool | None = False) -> str | None:
    """The built-in model (file stem) whose tensors the file ``path`` holds without our metadata
    (:func:`builtin_twin`: ``load_model`` loads it as that model, by name too), a ``.safetensors``
    file (its header's names and shapes first, a value read only to compare it) or a PyTorch
    ``.ckpt`` (read as ``load_model`` reads it: :func:`~ldcsr_core.checkpoint_pickle.load_weights_only`,
    its ``state_dict`` if it has one; memory-mapped), so only a file of a built-in's tensor names
    and shapes is read whole; None for any other file (one in our format, another model's, an
    unreadable one). ``rounded``: the built-in whose weights it holds at a lower float type (:func:`builtin_twin`'s),
    a file in our format too (not an adapted model's); None: either (its own float type first), the
    file opened once (:func:`~ldcsr_core.builtin_models.is_shipped`'s question)."""
    from pathlib import Path

    from safetensors import safe_open

    from .adapted_use import checked_from_metadata
    from .checkpoints import FORMAT_TAG
    from .model_metadata import is_safetensors

    roundings = (False, True) if rounded is None else (bool(rounded),)

    def twin_of(state_dict, shapes=None, meta=None) -> str | None:
        ours = meta is not None and meta.get("format") == FORMAT_TAG
        for r in roundings:
            if ours and (not r or checked_from_metadata(meta) is not None):
                continue  # (an adapted model: load_model's rule, checked_from_metadata)
            try:
                twin = builtin_twin(state_dict, shapes, rounded=r)
            except Exception:  # noqa: BLE001 - not a built-in's tensors (loading it says why)
                continue
            if twin is not None and twin[1].get("format") == FORMAT_TAG:
                return twin[0].stem
        return None

    path = Path(path)
    try:
        if is_safetensors(path):
            with safe_open(str(path), framework="pt") as f:
                return twin_of(_TensorsOnDisk(f), {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()},
                               f.metadata() or {})
        from .checkpoint_pickle import load_weights_only, state_dict_of

        try:  # torch's zip format: the tensors stay on disk until compared
            sd = load_weights_only(path, map_location="cpu", mmap=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be mapped
            sd = load_weights_only(path, map_location="cpu")
        return twin_of(state_dict_of(sd, path))  # a file that is none: its CheckpointError
    except Exception:  # noqa: BLE001 - not a readable checkpoint: no twin (loading it says why)
        return None


class _TensorsOnDisk(Mapping):
    """An open safetensors file's tensors by name, each read when asked for (:func:`builtin_twin`
    reads them only once the header's names and shapes are a built-in's)."""

    def __init__(self, f):
        self._f, self._names = f, list(f.keys())

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        return self._f.get_tensor(name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)
