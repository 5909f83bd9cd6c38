"""Noise schedule builders (pure functions returning tensors), as in k-diffusion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["DDPMSchedule", "make_ddpm_schedule"]


@dataclass(frozen=True)
class DDPMSchedule:
    """float32 buffers of LDM's ``register_schedule`` (v_posterior = 0), each indexed by t."""

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    sqrt_alphas_cumprod: torch.Tensor
    sqrt_one_minus_alphas_cumprod: torch.Tensor
    log_one_minus_alphas_cumprod: torch.Tensor
    sqrt_recip_alphas_cumprod: torch.Tensor
    sqrt_recipm1_alphas_cumprod: torch.Tensor
    posterior_variance: torch.Tensor
    posterior_log_variance_clipped: torch.Tensor
    posterior_mean_coef1: torch.Tensor
    posterior_mean_coef2: torch.Tensor

    @property
    def timesteps(self) -> int:
        return int(self.betas.shape[0])

    def to(self, device) -> "DDPMSchedule":
        return DDPMSchedule(**{k: v.to(device) for k, v in self.__dict__.items()})


def make_ddpm_schedule(timesteps: int = 4, linear_start: float = 0.1, linear_end: float = 0.99) -> DDPMSchedule:
    """LDM "linear" schedule (linear in sqrt(beta)), computed in float64 and cast per buffer."""
    betas = np.linspace(linear_start ** 0.5, linear_end ** 0.5, timesteps, dtype=np.float64) ** 2
    alphas = 1.0 - betas
    ac = np.cumprod(alphas, axis=0)
    ac_prev = np.append(1.0, ac[:-1])
    post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
    f = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return DDPMSchedule(
        betas=f(betas), alphas_cumprod=f(ac), alphas_cumprod_prev=f(ac_prev),
        sqrt_alphas_cumprod=f(np.sqrt(ac)), sqrt_one_minus_alphas_cumprod=f(np.sqrt(1.0 - ac)),
        log_one_minus_alphas_cumprod=f(np.log(1.0 - ac)), sqrt_recip_alphas_cumprod=f(np.sqrt(1.0 / ac)),
        sqrt_recipm1_alphas_cumprod=f(np.sqrt(1.0 / ac - 1)), posterior_variance=f(post_var),
        posterior_log_variance_clipped=f(np.log(np.maximum(post_var, 1e-20))),
        posterior_mean_coef1=f(betas * np.sqrt(ac_prev) / (1.0 - ac)),
        posterior_mean_coef2=f((1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac)),
    )
