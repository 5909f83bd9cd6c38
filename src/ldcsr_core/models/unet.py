"""Stage-2 denoiser: the openaimodel UNet of latent diffusion with LDCSR's extra scale and
output-size embeddings (``use_scale_embedding`` / ``use_osize_embedding``)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import UNetConfig

__all__ = ["UNetModel", "DiffusionWrapper", "timestep_embedding"]


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: int = 10000) -> torch.Tensor:
    """Sinusoidal embedding ``[cos, sin]`` of Ho et al. / ADM, used for t, scale and output size."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 whatever the input and weight dtypes (as LDM's fp16 mode)."""

    def forward(self, x):
        w = self.weight.float() if self.weight is not None else None
        b = self.bias.float() if self.bias is not None else None
        return F.group_norm(x.float(), self.num_groups, w, b, self.eps).type(x.dtype)


def normalization(channels: int) -> nn.GroupNorm:
    return GroupNorm32(32, channels)


class TimestepEmbedSequential(nn.Sequential):
    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResBlock(nn.Module):
    def __init__(self, channels: int, emb_channels: int, out_channels: int):
        super().__init__()
        self.in_layers = nn.Sequential(normalization(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(normalization(out_channels), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(out_channels, out_channels, 3, padding=1))
        nn.init.zeros_(self.out_layers[3].weight)
        nn.init.zeros_(self.out_layers[3].bias)
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        h = h + self.emb_layers(emb).type(h.dtype)[..., None, None]
        return self.skip_connection(x) + self.out_layers(h)


class AttentionBlock(nn.Module):
    """Self-attention over all latent positions, legacy QKV ordering (heads split before q/k/v)."""

    def __init__(self, channels: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.norm = normalization(channels)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x):
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x))
        bs, width, length = qkv.shape
        ch = width // (3 * self.num_heads)
        q, k, v = qkv.reshape(bs * self.num_heads, ch * 3, length).split(ch, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
        weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
        a = torch.einsum("bts,bcs->bct", weight, v).reshape(bs, -1, length)
        return (x + self.proj_out(a)).reshape(b, c, *spatial)


class UNetModel(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        mc = cfg.model_channels
        ted = mc * 4
        self.model_channels = mc
        self.pad_multiple = 2 ** (len(cfg.channel_mult) - 1)
        def embed():
            return nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        self.time_embed = embed()
        self.use_scale_embedding = cfg.use_scale_embedding
        self.use_osize_embedding = cfg.use_osize_embedding
        if cfg.use_scale_embedding:
            self.scale_embed = embed()
        if cfg.use_osize_embedding:
            self.osize_embed = embed()

        def heads(ch):
            return ch // cfg.num_head_channels if cfg.num_head_channels > 0 else cfg.num_heads

        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(nn.Conv2d(cfg.in_channels, mc, 3, padding=1))])
        chans, ch, ds = [mc], mc, 1
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers = [ResBlock(ch, ted, mult * mc)]
                ch = mult * mc
                if ds in cfg.attention_resolutions:
                    layers.append(AttentionBlock(ch, heads(ch)))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                chans.append(ch)
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(Downsample(ch)))
                chans.append(ch)
                ds *= 2
        self.middle_block = TimestepEmbedSequential(ResBlock(ch, ted, ch), AttentionBlock(ch, heads(ch)),
                                                    ResBlock(ch, ted, ch))
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                layers = [ResBlock(ch + chans.pop(), ted, mc * mult)]
                ch = mc * mult
                if ds in cfg.attention_resolutions:
                    layers.append(AttentionBlock(ch, heads(ch)))
                if level and i == cfg.num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))
        self.out = nn.Sequential(normalization(ch), nn.SiLU(), nn.Conv2d(mc, cfg.out_channels, 3, padding=1))
        nn.init.zeros_(self.out[2].weight)
        nn.init.zeros_(self.out[2].bias)

    def embedding(self, t, scale=None, osize=None):
        dt = self.time_embed[0].weight.dtype  # half-precision models: the sinusoids follow the weights
        emb = self.time_embed(timestep_embedding(t, self.model_channels).to(dt))
        if self.use_scale_embedding:
            emb = emb + self.scale_embed(timestep_embedding(scale, self.model_channels).to(dt))
        if self.use_osize_embedding:
            emb = emb + self.osize_embed(timestep_embedding(osize, self.model_channels).to(dt))
        return emb

    def forward(self, x, t, scale=None, osize=None):
        """eps prediction; input reflect-padded bottom/right to a multiple of 2^(levels-1), output cropped."""
        hh, ww = x.shape[-2:]
        m = self.pad_multiple
        ph, pw = (-hh) % m, (-ww) % m
        if ph or pw:
            # official: reflect (crashes when pad >= size); tiny training latents fall back to replicate
            mode = "reflect" if ph < hh and pw < ww else "replicate"
            if x.dtype == torch.float16 and x.device.type == "cpu":
                # torch < 2.6 has no float16 CPU kernel for these pads; a pad copies values: exact
                x = F.pad(x.float(), (0, pw, 0, ph), mode=mode).to(x.dtype)
            else:
                x = F.pad(x, (0, pw, 0, ph), mode=mode)
        emb = self.embedding(t, scale, osize)
        hs, h = [], x
        for block in self.input_blocks:
            h = block(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)[..., :hh, :ww]


class DiffusionWrapper(nn.Module):
    """``hybrid_adm`` conditioning: UNet input = concat([x_t, c]); scale and size as embeddings."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.diffusion_model = UNetModel(cfg)

    def forward(self, x, t, c, scale, osize):
        return self.diffusion_model(torch.cat([x, c], dim=1), t, scale=scale, osize=osize)
