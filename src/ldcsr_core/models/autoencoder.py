"""Stage-1 networks of LDCSR (Wu et al., TGRS 2025): GAPEncoder, GAPDecoder (FRU/IMD SR branch,
scale modulation, SADN upsampler) and the AutoencoderKL wrapper.  Module and attribute names mirror
the official code so that official state dicts load with strict key checking."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import DecoderConfig, EncoderConfig
from .resample import Window2d, resize
from .upsampler_windows import finer, sadn_upsample

__all__ = ["GAPEncoder", "GAPDecoder", "AutoencoderKL", "DiagonalGaussian"]


def Normalize(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


def swish(x: torch.Tensor) -> torch.Tensor:
    return F.silu(x)  # x·sigmoid(x) in one pass


def _is_nhwc(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)


def _nhwc_matmul(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """A 1×1 convolution of channels-last ``x`` (B,C,H,W) as a matrix product: ``w`` is (C, out),
    or (B, C, out) for per-image weights; returns a channels-last (B,out,H,W) tensor."""
    b, c, h, wd = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(b, h * wd, c)  # a view
    if w.dim() == 3 and b > 1:
        out = torch.baddbmm(bias, rows, w)
    else:  # one matrix product (faster than a batch of one)
        out = torch.addmm(bias, rows.view(b * h * wd, c), w.view(c, -1))
    return out.view(b, h, wd, -1).permute(0, 3, 1, 2)


# bytes per band of the centred second pass of norm_swish (kept in cache)
_GN_BAND_BYTES = 1 << 20


def norm_swish(norm: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    """``swish(norm(x))``.

    For channels-last inference the group statistics are computed here: PyTorch's NHWC GroupNorm
    kernel accumulates them less exactly than its NCHW kernel (the official code's layout), which
    put the condition latent ~3e-5 off the golden vectors.  Per-channel sums (float32 cascade
    sums), a centred second pass in cache-sized bands, and the group reduction in float64 agree
    with the NCHW kernel to float rounding; the affine and swish then run on the NHWC rows.
    """
    if torch.is_grad_enabled() or norm.weight is None or x.dtype != torch.float32 or not _is_nhwc(x):
        return swish(norm(x))
    n, c, h, w = x.shape
    g, hw = norm.num_groups, h * w
    cg = c // g
    count = hw * cg
    rows = x.permute(0, 2, 3, 1).reshape(n, hw, c)  # a view
    mean = rows.sum(1).double().view(n, g, cg).sum(-1) / count  # (n, g)
    mean_f = mean.float()
    centre = mean_f.repeat_interleave(cg, 1).view(n, 1, c)
    if torch.compiler.is_compiling():  # one pass: the bands' count would be a guard on hw, so a
        m2 = (rows - centre).square_().sum(1).double()  # recompile for each scale (training's no-grad encodes)
    else:
        m2 = torch.zeros(n, c, dtype=torch.float64, device=x.device)
        band = max(1, _GN_BAND_BYTES // (x.element_size() * c))
        for r0 in range(0, hw, band):
            m2 += (rows[:, r0:r0 + band] - centre).square_().sum(1)
    var = m2.view(n, g, cg).sum(-1) / count - (mean - mean_f.double()) ** 2
    rstd = (var.clamp_min(0) + norm.eps).rsqrt()
    scale = norm.weight.double().view(1, g, cg) * rstd[..., None]
    shift = norm.bias.double().view(1, g, cg) - mean[..., None] * scale
    out = torch.addcmul(shift.to(x.dtype).view(n, 1, c), rows, scale.to(x.dtype).view(n, 1, c))
    return F.silu(out, inplace=True).view(n, h, w, c).permute(0, 3, 1, 2)


class ResnetBlock(nn.Module):
    """LDM ResNet block without time embedding (GN-swish-conv ×2, 1×1 shortcut on width change)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.norm1 = Normalize(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = Normalize(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        h = self.conv1(norm_swish(self.norm1, x))
        h = self.conv2(norm_swish(self.norm2, h))
        if hasattr(self, "nin_shortcut"):
            x = self.nin_shortcut(x)
        return x + h


class Downsample(nn.Module):
    """Zero-pad right/bottom by one, then 3×3 stride-2 conv: n -> floor(n/2)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class GAPEncoder(nn.Module):
    """LDM-style encoder used twice: stage-1 DPEncoder (input [bicubic(lr), hr]) and condition encoder."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        ch = cfg.ch
        self.num_resolutions = len(cfg.ch_mult)
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, 1, 1)
        in_ch_mult = (1,) + tuple(cfg.ch_mult)
        self.down = nn.ModuleList()
        block_in = ch
        for i_level in range(self.num_resolutions):
            level = nn.Module()
            level.block = nn.ModuleList()
            level.attn = nn.ModuleList()
            block_in = ch * in_ch_mult[i_level]
            block_out = ch * cfg.ch_mult[i_level]
            for _ in range(cfg.num_res_blocks):
                level.block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
            if i_level != self.num_resolutions - 1:
                level.downsample = Downsample(block_in)
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, 2 * cfg.z_channels if cfg.double_z else cfg.z_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            for block in level.block:
                h = block(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid.block_2(self.mid.block_1(h))
        return self.conv_out(norm_swish(self.norm_out, h))


class CCALayer(nn.Module):
    """Contrast-aware channel attention (IMDN): gate = sigmoid(MLP(std_hw + mean_hw))."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x, stats=None):
        if stats is None:
            stats = contrast_stats(x)
        return x * self.conv_du(stats)


def contrast_stats(x: torch.Tensor) -> torch.Tensor:
    """Population std + mean over H,W (IMDN's ``stdv_channels + avg_pool``)."""
    if not torch.is_grad_enabled():  # inference: two plain passes (var_mean is ~6× slower here)
        mean = x.mean((2, 3), keepdim=True)
        return (x - mean).square_().mean((2, 3), keepdim=True).sqrt_().add_(mean)
    n = x.size(2) * x.size(3)
    mean = x.sum(3, keepdim=True).sum(2, keepdim=True) / n
    var = (x - mean).pow(2).sum(3, keepdim=True).sum(2, keepdim=True) / n
    return var.pow(0.5) + mean


class IMDModule(nn.Module):
    """Information multi-distillation block of IMDN (distillation rate 0.25)."""

    def __init__(self, in_channels: int, distillation_rate: float = 0.25):
        super().__init__()
        self.distilled = int(in_channels * distillation_rate)
        self.remaining = in_channels - self.distilled
        self.c1 = nn.Conv2d(in_channels, in_channels, 3, 1, 1)
        self.c2 = nn.Conv2d(self.remaining, in_channels, 3, 1, 1)
        self.c3 = nn.Conv2d(self.remaining, in_channels, 3, 1, 1)
        self.c4 = nn.Conv2d(self.remaining, self.distilled, 3, 1, 1)
        self.c5 = nn.Conv2d(self.distilled * 4, in_channels, 1)
        self.cca = CCALayer(self.distilled * 4)

    def forward(self, x):
        d, r = self.distilled, self.remaining
        ip = not torch.is_grad_enabled()  # in place when no graph is recorded
        o1 = F.leaky_relu(self.c1(x), 0.05, inplace=ip)
        d1, r1 = torch.split(o1, (d, r), dim=1)
        o2 = F.leaky_relu(self.c2(r1), 0.05, inplace=ip)
        d2, r2 = torch.split(o2, (d, r), dim=1)
        o3 = F.leaky_relu(self.c3(r2), 0.05, inplace=ip)
        d3, r3 = torch.split(o3, (d, r), dim=1)
        o4 = self.c4(r3)
        y = torch.cat([d1, d2, d3, o4], dim=1)
        if ip and _is_nhwc(y):  # inference: the CCA gate folds into c5's weights, one matmul per image
            n, c = y.shape[:2]
            gate = self.cca.conv_du(contrast_stats(y)).view(n, c, 1)
            w = self.c5.weight.view(-1, c).t() * gate  # (n, c, out)
            return _nhwc_matmul(y, w, self.c5.bias).add_(x)
        return self.c5(self.cca(y)) + x


class FRU(nn.Module):
    """Feature refinement unit: IMD modules in sequence, concat, 1×1 fuse, 3×3 conv, residual."""

    def __init__(self, nf: int, num_modules: int):
        super().__init__()
        self.IMDB = nn.ModuleList([IMDModule(nf) for _ in range(num_modules)])
        self.c = nn.Sequential(nn.Conv2d(nf * num_modules, nf, 1), nn.LeakyReLU(0.05))
        self.LR_conv = nn.Conv2d(nf, nf, 3, 1, 1)

    def forward(self, x):
        if not torch.is_grad_enabled() and _is_nhwc(x):
            # inference: the 1×1 fuse accumulates block by block (no concatenation of all outputs)
            fuse, nf = self.c[0], x.shape[1]
            w = fuse.weight.view(nf, -1).t()
            rows, h = None, x
            for i, block in enumerate(self.IMDB):
                h = block(h)
                part = h.permute(0, 2, 3, 1).reshape(-1, nf)
                wi = w[i * nf:(i + 1) * nf]
                rows = torch.addmm(fuse.bias, part, wi) if rows is None else rows.addmm_(part, wi)
            b, _, ht, wd = x.shape
            u = rows.view(b, ht, wd, nf).permute(0, 3, 1, 2)
            return self.LR_conv(F.leaky_relu(u, self.c[1].negative_slope, inplace=True)).add_(x)
        outs, h = [], x
        for block in self.IMDB:
            h = block(h)
            outs.append(h)
        return self.LR_conv(self.c(torch.cat(outs, dim=1))) + x


class SADNUpsampler(nn.Module):
    """Continuous-scale upsampler of SADN (Wu et al., arXiv 2110.15655): ×2 pyramid to 8·LR, scale-aware
    level weights, bilinear resize of every level to the output grid, per-pixel MLP.

    Evaluated band by band of output rows (:func:`sadn_upsample`): the finest pyramid level is
    computed only for the rows a band samples, and the per-pixel MLP runs as matrix products on
    each band, so no full-size 8·LR tensor or output-size concatenation is ever materialised.
    """

    def __init__(self, n_feats: int, out_channels: int = 3, fuse_width: int = 256, levels: int = 3):
        super().__init__()
        self.scale_aware_layer = nn.Sequential(nn.Linear(1, 64), nn.ReLU(inplace=True),
                                               nn.Linear(64, levels + 1), nn.Sigmoid())
        self.UPNet_x2_list = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(n_feats, n_feats * 4, 3, 1, 1), nn.PixelShuffle(2)) for _ in range(levels)])
        w = fuse_width
        self.fuse = nn.Sequential(
            nn.Conv2d(n_feats * (levels + 1), w, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w, out_channels, 1),
        )

    def forward(self, x: torch.Tensor, win: Window2d, inv_scale: float) -> torch.Tensor:
        if torch.is_grad_enabled() and (x.requires_grad or self.fuse[0].weight.requires_grad):
            return self.forward_reference(x, win, inv_scale)  # training: the differentiable original
        weights = self.scale_aware_layer(torch.full((1, 1), inv_scale, dtype=x.dtype, device=x.device))
        return sadn_upsample(self, x, win, weights[0])

    def forward_reference(self, x: torch.Tensor, win: Window2d, inv_scale: float) -> torch.Tensor:
        """The official computation op for op (whole pyramid, resize, concat, 1×1 convs): for tests."""
        weights = self.scale_aware_layer(torch.full((1, 1), inv_scale, dtype=x.dtype, device=x.device))
        feats, levels = x, [x]
        for up in self.UPNet_x2_list:
            feats = up(feats)
            levels.append(feats)
        resized = []
        for i, feat in enumerate(levels):
            lw = Window2d(*(finer(ax, 2 ** i) for ax in (win.y, win.x)))
            resized.append(resize(feat, lw, "bilinear") * weights[0, i])
        return self.fuse(torch.cat(resized, dim=1))


class GAPDecoder(nn.Module):
    """LDCSR decoder: latent (embedding) branch modulating an LR-resolution SR branch, then the SADN
    upsampler plus a global bicubic skip."""

    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        ch = cfg.ch
        if any(m != 1 for m in cfg.ch_mult):
            raise ValueError("GAPDecoder supports ch_mult of ones only (as in every official config)")
        n_levels = len(cfg.ch_mult)
        self.style = nn.Module()  # official leftover parameter, never used in forward
        self.style.weight = nn.Parameter(torch.zeros(1))
        self.head = nn.Conv2d(cfg.in_channels, ch, 3, 1, 1)
        self.FRUList = nn.ModuleList([FRU(ch, cfg.num_sr_modules[k]) for k in range(n_levels)])
        self.upsampler = SADNUpsampler(ch, cfg.out_ch, cfg.fuse_width)
        self.conv_in = nn.Conv2d(cfg.z_channels, ch, 3, 1, 1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(ch, ch)
        self.mid.block_2 = ResnetBlock(ch, ch)
        self.up = nn.ModuleList()
        for _ in range(n_levels):
            level = nn.Module()
            level.block = nn.ModuleList([ResnetBlock(ch, ch) for _ in range(cfg.num_res_blocks)])
            level.transfer = nn.Conv2d(ch, ch, 1)
            level.condition_scale1 = nn.Linear(1, ch)
            level.condition_scale2 = nn.Linear(1, ch)
            self.up.append(level)

    def forward(self, z: torch.Tensor, lr: torch.Tensor, win: Window2d, scale: float,
                lr_up: torch.Tensor | None = None) -> torch.Tensor:
        """``z``: post-quant latent on the output window's latent grid; ``lr``: LR pixels of the input
        window; ``scale``: the height ratio H/h the official code feeds the modulation; ``lr_up``:
        ``bicubic(lr)`` on the output window if the caller has it already."""
        r = torch.full((1,), scale, dtype=lr.dtype, device=lr.device)  # made there: no upload
        lat_win = win.coarse(8)
        e = self.mid.block_2(self.mid.block_1(self.conv_in(z)))
        f = self.head(lr)
        for k, L in enumerate(reversed(range(len(self.up)))):
            level = self.up[L]
            for block in level.block:
                e = block(e)
            shift = resize(level.transfer(e), lat_win, "nearest", inverse=True)
            g1 = level.condition_scale1(r).view(1, -1, 1, 1)
            g2 = level.condition_scale2(r).view(1, -1, 1, 1)
            norm = torch.sqrt(g1 ** 2 + g2 ** 2 + 1e-8)
            u = F.leaky_relu(f * (g1 / norm) + shift * (g2 / norm), 0.01)
            f = self.FRUList[k](u)
        skip = resize(lr, win, "bicubic") if lr_up is None else lr_up
        out = self.upsampler(f, win, 1.0 / scale)
        return out + skip if torch.is_grad_enabled() else out.add_(skip)


class DiagonalGaussian:
    """Posterior of the stage-1 encoder: mean and log-variance clamped to [-30, 20]."""

    def __init__(self, moments: torch.Tensor):
        self.mean, logvar = torch.chunk(moments, 2, dim=1)
        self.logvar = torch.clamp(logvar, -30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, noise: torch.Tensor) -> torch.Tensor:
        return self.mean + self.std * noise

    def kl(self) -> torch.Tensor:
        return 0.5 * torch.sum(self.mean ** 2 + self.std ** 2 - 1.0 - self.logvar, dim=[1, 2, 3])


class AutoencoderKL(nn.Module):
    """Stage-1 autoencoder. The encoder is optional: inference needs only the decoder."""

    def __init__(self, decoder_cfg: DecoderConfig, encoder_cfg: EncoderConfig | None = None, embed_dim: int = 4):
        super().__init__()
        if encoder_cfg is not None:
            self.encoder = GAPEncoder(encoder_cfg)
        self.decoder = GAPDecoder(decoder_cfg)
        if encoder_cfg is not None:
            self.quant_conv = nn.Conv2d(2 * embed_dim, 2 * embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, decoder_cfg.z_channels, 1)

    def encode(self, hr: torch.Tensor, lr: torch.Tensor, win: Window2d) -> DiagonalGaussian:
        lr_up = resize(lr, win, "bicubic")
        return DiagonalGaussian(self.quant_conv(self.encoder(torch.cat([lr_up, hr], dim=1))))

    def decode(self, z: torch.Tensor, lr: torch.Tensor, win: Window2d, scale: float,
               lr_up: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(z), lr, win, scale, lr_up=lr_up)
