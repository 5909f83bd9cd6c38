"""The three training phases: what each one trains, its loss, and the learning-rate schedule.

A. ``fast``  — condition encoder + decoder end to end: decode(cond(bicubic(lr))) ≈ hr
               (MSE + 0.1·L1 on image gradients).
B. ``prior`` — stage-1 encoder on [bicubic(lr), hr] with the decoder frozen: the differential
               prior latent z (posterior sample, KL 1e-6) plus an anchor ||z − c||².
C. ``diffusion`` — UNet through the 4-step chain from q(x_3|x0): the recipe's latent loss
               ||x_0^chain − x0||², and (v2) losses on the *decoded* chain output (pixel, FFT,
               HF-band, LR-consistency, PatchGAN hinge, energy score / spread calibration of two
               independent chains). EMA of the trained weights.

:class:`PhaseMixin` holds these as methods of the :class:`~ldcsr_core.training.trainer.Trainer`
(they read its settings, model, generator and data). Loss parts are returned as detached tensors,
turned into numbers only when logged (no device synchronisation per step).
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from ..models.ldcsr import unet_scale
from ..models.resample import Window2d, resize
from ..samplers import p_sample_step
from .data import to_tensor
from .growth import decoder_params
from .losses import energy_score_l1, fast_path, fft_l1, grad_l1, hf_band_l1, spread_calibration_l1

__all__ = ["PHASES", "lr_at", "scaled_lr", "PhaseMixin"]

log = logging.getLogger("ldcsr_core.training")

PHASES = ("fast", "prior", "diffusion")

LR_SCALINGS = ("none", "linear", "sqrt")


def lr_at(step, frac, base, warmup=50):
    """Linear warm-up over ``warmup`` steps, then cosine decay over the phase's budget (``frac`` of
    its wall-clock time or of its steps)."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 1e-2 * base + 0.5 * (base - 1e-2 * base) * (1 + math.cos(math.pi * min(1.0, frac)))


def scaled_lr(base_lr: float, batch_size: int, rule: str = "none", ref_batch: int = 8) -> float:
    """The learning rate for ``batch_size`` from one tuned at ``ref_batch``: ``linear`` multiplies
    it by batch/ref (Goyal et al. 2017), ``sqrt`` by √(batch/ref) (often the better rule for Adam),
    ``none`` keeps it."""
    if rule not in LR_SCALINGS:
        raise ValueError(f"lr scaling must be one of {LR_SCALINGS}, not {rule!r}")
    k = batch_size / ref_batch
    return base_lr * {"none": 1.0, "linear": k, "sqrt": math.sqrt(k)}[rule]


class PhaseMixin:
    """Parameters, losses and the scale calibration of the phases (methods of the Trainer)."""

    # -- parameters of each phase ------------------------------------------------------------------
    @property
    def _fs(self):
        return self.model.first_stage_model

    def _params(self, phase):
        m, fs = self.model, self._fs
        dec = decoder_params(fs)
        if phase == "fast":
            return [{"params": list(m.cond_stage_model.parameters()) + dec, "lr": self.base_lr}]
        if phase == "prior":
            groups = [{"params": list(fs.encoder.parameters()) + list(fs.quant_conv.parameters()),
                       "lr": self.base_lr * 0.5}]
            if self.train_decoder_in_prior:  # let the decoder learn to use what z knows beyond c
                groups.append({"params": dec, "lr": self.base_lr * 0.2})
            return groups
        groups = [{"params": list(m.model.parameters()), "lr": self.base_lr * 0.5}]
        if self.train_decoder_in_diffusion:
            groups.append({"params": dec, "lr": self.base_lr * 0.1})
        if self.train_detail_decoder:
            groups.append({"params": decoder_params(self.model.detail_decoder), "lr": self.base_lr})
        return groups

    def _ema_modules(self):
        mods = {"unet": self.model.model}
        if self.train_decoder_in_diffusion:
            mods["decoder"] = self._fs.decoder
            mods["post_quant_conv"] = self._fs.post_quant_conv
        if self.train_detail_decoder:
            mods["detail_decoder"] = self.model.detail_decoder
        return mods

    def _set_trainable(self, phase):
        self.model.requires_grad_(False)
        for g in self._params(phase):
            for p in g["params"]:
                p.requires_grad_(True)

    # -- losses ------------------------------------------------------------------------------------
    def _randn_like(self, x):
        return torch.randn(x.shape, generator=self.gen, device=x.device, dtype=x.dtype)

    def loss_fast(self, lr, hr):
        pred = fast_path(self.model, lr, hr.shape[-2:])
        return F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr), {}

    def loss_prior(self, lr, hr):
        m, fs = self.model, self._fs
        win = Window2d.whole(lr.shape[-2:], hr.shape[-2:])
        post = fs.encode(hr, lr, win)
        z = post.sample(self._randn_like(post.mean))
        pred = m.decode(z * m.scale_factor, lr, win, hr.shape[-2] / lr.shape[-2])
        with torch.no_grad():
            c = m.condition(lr, win)
        anchor = F.mse_loss(post.mean * m.scale_factor, c)
        loss = F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr) + 0.05 * anchor + 1e-6 * post.kl().mean()
        parts = {"anchor": anchor.detach()}
        if self.train_decoder_in_prior:  # the decoder is shared: keep the fast path where phase A left it
            fast = m.decode(c, lr, win, hr.shape[-2] / lr.shape[-2])
            fl = F.mse_loss(fast, hr) + 0.1 * grad_l1(fast, hr)
            loss = loss + fl
            parts["fast"] = fl.detach()
        return loss, parts

    def chain(self, lr, hr, win, c, x0):
        """The 4-step ancestral chain from q(x_3 | x0) with the UNet (differentiable)."""
        m, dev = self.model, self.dev
        sched = m.schedule.to(dev)
        T, b = sched.timesteps, lr.shape[0]
        s_int = torch.full((b,), unet_scale(hr.shape[-2], lr.shape[-2]), dtype=torch.long, device=dev)
        osize = torch.full((b,), hr.shape[-2], dtype=torch.long, device=dev)
        x = sched.sqrt_alphas_cumprod[T - 1] * x0 + sched.sqrt_one_minus_alphas_cumprod[T - 1] * self._randn_like(x0)
        for t in reversed(range(T)):
            eps = m.model(x, torch.full((b,), t, dtype=torch.long, device=dev), c, s_int, osize)
            x = p_sample_step(eps, x, t, sched, self._randn_like(x) if t > 0 else None)
        return x

    def loss_diffusion(self, lr, hr):
        m, fs = self.model, self._fs
        win = Window2d.whole(lr.shape[-2:], hr.shape[-2:])
        scale = hr.shape[-2] / lr.shape[-2]
        with torch.no_grad():
            post = fs.encode(hr, lr, win)
            x0 = m.scale_factor * post.sample(self._randn_like(post.mean))
            c = m.condition(lr, win)
        if self.es_weight or self.spread_weight:  # two independent chains per image (the batch twice) for the pair losses
            lr, hr, x0, c = (torch.cat([v, v]) for v in (lr, hr, x0, c))
        x = self.chain(lr, hr, win, c, x0)
        lat = F.mse_loss(x, x0)
        loss = self.lat_weight * lat
        parts = {"lat": lat.detach()}
        if not (self.pix_weight or self.fft_weight or self.adv_weight or self.hf_weight or self.lrc_weight
                or self.es_weight or self.spread_weight):
            return loss, parts
        y = m.decode(x, lr, win, scale, sampled=True)
        if self.es_weight or self.spread_weight:
            (y1, y2), target = y.chunk(2), hr.chunk(2)[0]
            if self.es_weight:
                es = energy_score_l1(y1, y2, target)
                loss = loss + self.es_weight * es
                parts["es"] = es.detach()
            if self.spread_weight:
                sc = spread_calibration_l1(y1, y2, target, self.spread_ratio)
                loss = loss + self.spread_weight * sc
                parts["spread"] = sc.detach()
        if self.pix_weight:
            pix = F.l1_loss(y, hr) + 0.1 * grad_l1(y, hr)
            loss = loss + self.pix_weight * pix
            parts["pix"] = pix.detach()
        if self.fft_weight:
            ff = fft_l1(y, hr)
            loss = loss + self.fft_weight * ff
            parts["fft"] = ff.detach()
        if self.hf_weight:
            hf = hf_band_l1(y, hr, lr.shape[-2:])
            loss = loss + self.hf_weight * hf
            parts["hf"] = hf.detach()
        if self.lrc_weight:  # LR-consistency: the detail must vanish when the output is downsampled again
            lrc = F.l1_loss(F.interpolate(y, size=lr.shape[-2:], mode="bicubic", antialias=True,
                                          align_corners=False), lr)
            loss = loss + self.lrc_weight * lrc
            parts["lrc"] = lrc.detach()
        if self.disc is not None:
            bic = resize(lr, win, "bicubic")
            # discriminator step (hinge) on real HR vs the detached chain output
            self.disc.requires_grad_(True)
            d_loss = F.relu(1 - self.disc(hr, bic)).mean() + F.relu(1 + self.disc(y.detach(), bic)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            self.disc.requires_grad_(False)
            g_adv = -self.disc(y, bic).mean()
            loss = loss + self.adv_weight * g_adv
            parts.update(d=d_loss.detach(), adv=g_adv.detach())
        if self.train_decoder_in_diffusion:  # keep the deterministic fast path where phase A left it
            pred = m.decode(c, lr, win, scale)
            fl = F.mse_loss(pred, hr) + 0.1 * grad_l1(pred, hr)
            loss = loss + fl
            parts["fast"] = fl.detach()
        return loss, parts

    @torch.no_grad()
    def calibrate_scale(self, batches=8):
        """Make the condition latent c (hence x0) unit-variance without changing the fast path."""
        m = self.model
        cs = []
        for i in range(batches):
            lr_u8, hr_u8 = self.data.batch_at(f"calibrate:{i}", self.batch_size)
            lr = to_tensor(lr_u8, self.dev)
            cs.append(m.condition(lr, Window2d.whole(lr.shape[-2:], hr_u8.shape[1:3])).flatten())
        std = float(torch.cat(cs).std())
        k = 1.0 / max(std, 1e-6)  # c -> k·c and scale_factor -> k·scale_factor: decode(c / sf) unchanged
        m.cond_stage_model.conv_out.weight.mul_(k)
        m.cond_stage_model.conv_out.bias.mul_(k)
        m.scale_factor.mul_(k)
        self.state.calibrated = True
        log.info("scale_factor set to %.5f (latent std was %.4f)", float(m.scale_factor), std)
