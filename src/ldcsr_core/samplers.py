"""Samplers: plain functions over a denoiser, as in k-diffusion."""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from .schedules import DDPMSchedule

__all__ = ["sample_ancestral", "p_sample_step"]

Denoiser = Callable[[torch.Tensor, int], torch.Tensor]  # (x_t, t) -> eps


def p_sample_step(eps: torch.Tensor, x: torch.Tensor, t: int, s: DDPMSchedule, noise: torch.Tensor) -> torch.Tensor:
    """One ancestral DDPM step (Ho et al. 2020, eq. 11 via the posterior q(x_{t-1}|x_t, x0)), no clipping."""
    x0 = s.sqrt_recip_alphas_cumprod[t] * x - s.sqrt_recipm1_alphas_cumprod[t] * eps
    mean = s.posterior_mean_coef1[t] * x0 + s.posterior_mean_coef2[t] * x
    if t == 0:
        return mean  # the official code draws noise here too and multiplies it by 0
    return mean + torch.exp(0.5 * s.posterior_log_variance_clipped[t]) * noise


def sample_ancestral(denoise: Denoiser, x: torch.Tensor, schedule: DDPMSchedule, *,
                     noises: Sequence[torch.Tensor] | Callable[[int], torch.Tensor],
                     callback: Callable[[dict], None] | None = None) -> torch.Tensor:
    """LDCSR's test-time sampler: ancestral DDPM over t = T-1 … 0 starting from ``x`` = x_T.

    ``noises`` gives the step noise in sampling order (a list, or a callable of the step index).
    """
    get = noises if callable(noises) else (lambda i: noises[i])
    for i, t in enumerate(reversed(range(schedule.timesteps))):
        eps = denoise(x, t)
        x = p_sample_step(eps, x, t, schedule, get(i) if t > 0 else None)
        if callback is not None:
            callback({"x": x, "i": i, "t": t, "eps": eps})
    return x
