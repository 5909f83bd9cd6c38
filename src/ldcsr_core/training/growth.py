"""Model surgery for fine-tuning: grow the decoder's IMD modules, add a detail decoder; and which
parameters make up a decoder."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..checkpoints import build_model
from ..config import ModelConfig
from ..models.ldcsr import LDCSR
from .errors import TrainingError

__all__ = ["grow_model", "add_detail_decoder", "decoder_params"]


def grow_model(model, config: ModelConfig, *, seed: int = 0):
    """``model`` with more IMD modules per decoder FRU (``config.decoder.num_sr_modules``), computing
    exactly the same function: the new modules are appended after the existing ones and the FRU's
    1×1 fuse gets zero weights for their outputs, so training starts from the old model's outputs.
    Any other difference between the two configurations is an error."""
    old_cfg = model.config
    same_rest = replace(config, decoder=replace(config.decoder, num_sr_modules=old_cfg.decoder.num_sr_modules))
    grows = all(n >= o for n, o in zip(config.decoder.num_sr_modules, old_cfg.decoder.num_sr_modules))
    if same_rest != old_cfg or not grows or len(config.decoder.num_sr_modules) != len(old_cfg.decoder.num_sr_modules):
        raise TrainingError("--config can only add IMD modules to the decoder (num_sr_modules) of the --init "
                            f"model; got {config.decoder} vs {old_cfg.decoder} and other differences")
    dev = next(model.parameters()).device
    grown = build_model(config, seed=seed, device=dev)
    old_sd, new_sd = model.state_dict(), grown.state_dict()
    with torch.no_grad():
        for key, value in old_sd.items():
            target = new_sd[key]
            if target.shape == value.shape:
                target.copy_(value)
            elif key.endswith(".c.0.weight") and "FRUList" in key:  # the FRU's 1×1 fuse over the concat
                target.zero_()
                target[:, : value.shape[1]].copy_(value)
            else:
                raise TrainingError(f"cannot grow {key}: {tuple(value.shape)} -> {tuple(target.shape)}")
    grown.load_state_dict(new_sd)
    return grown.requires_grad_(True)


def add_detail_decoder(model: LDCSR) -> LDCSR:
    """``model`` plus a detail decoder for diffusion mode, starting as a copy of its stage-1 decoder
    (and post-quant conv): every output is unchanged until the detail decoder is trained."""
    dev = next(model.parameters()).device
    grown = build_model(replace(model.config, detail_decoder=model.config.decoder), device=dev)
    sd = model.state_dict()
    for key in list(sd):
        for part in ("decoder.", "post_quant_conv."):
            if key.startswith("first_stage_model." + part):
                sd["detail_decoder." + key[len("first_stage_model."):]] = sd[key]
    grown.load_state_dict(sd)
    grown.name, grown.version, grown.weights_sha256, grown.notes = model.name, model.version, "", model.notes
    grown.tile_max, grown.tile_overlap = model.tile_max, model.tile_overlap  # same receptive field
    return grown.requires_grad_(True)


def decoder_params(ae) -> list:
    """Trainable parameters of a decoder and its post-quant conv (not the official dead ``style``)."""
    return [p for n, p in ae.decoder.named_parameters() if not n.startswith("style")] \
        + list(ae.post_quant_conv.parameters())
