"""The LDCSR inference model: condition encoder, 4-step latent diffusion, GAPDecoder."""

from __future__ import annotations

import contextlib
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..config import ModelConfig
from ..errors import InputError
from ..heap import retained_heap
from ..rules import MIN_WINDOW, TILE_OVERLAP_OUT, _whole, check_mode
from ..samplers import sample_ancestral
from ..schedules import make_ddpm_schedule
from ..threads import fixed_count
from ..words import counted
from .autoencoder import AutoencoderKL, GAPEncoder
from .resample import AxisWindow, Window2d, resize
from .unet import DiffusionWrapper

__all__ = ["LDCSR", "padded_window", "unet_scale"]


def padded_window(win: Window2d) -> Window2d:
    """Extend output windows shorter than MIN_WINDOW past their end (resampling taps clamp there,
    like padding); the caller crops the result back."""
    def ext(ax: AxisWindow) -> AxisWindow:
        return AxisWindow(ax.in_full, ax.out_full, ax.in_start, ax.in_len, ax.out_start, max(ax.out_len, MIN_WINDOW))
    return Window2d(ext(win.y), ext(win.x))


def unet_scale(out_h: int, in_h: int) -> int:
    """The official integer scale: ``torch.tensor(H / h).long()`` (float32, then truncation)."""
    return int(np.float32(out_h / in_h))


class LDCSR(nn.Module):
    """LDCSR (Wu, Mo, Sun & Ma, TGRS 2025): submodule names follow the official ``S2Model``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.validate()
        self.model = DiffusionWrapper(config.unet)
        self.first_stage_model = AutoencoderKL(config.decoder, config.encoder, config.diffusion.embed_dim)
        self.cond_stage_model = GAPEncoder(config.cond_encoder)
        if config.detail_decoder is not None:  # ours: diffusion mode's own decoder (see ModelConfig)
            self.detail_decoder = AutoencoderKL(config.detail_decoder, None, config.diffusion.embed_dim)
        self.register_buffer("scale_factor", torch.tensor(1.0))
        d = config.diffusion
        self.schedule = make_ddpm_schedule(d.timesteps, d.linear_start, d.linear_end)
        # provenance, filled in by the loader
        self.name, self.version, self.weights_sha256, self.notes = "unnamed", "0", "", ""
        self.copy_of: str | None = None  # the built-in model (file stem) whose tensors a file holds alone
        self.rounded_copy_of: str | None = None  # the built-in whose weights a file holds at a lower float type
        # tiling: the largest output window the weights are trusted at (None: any, memory permitting),
        # and the overlap (output px) neighbouring windows need (None: the planner's default)
        self.tile_max: int | None = None
        self.tile_overlap: int | None = TILE_OVERLAP_OUT
        self.memory_format = torch.contiguous_format
        self.encoders_channels_last = False

    def use_channels_last(self, enabled: bool = True, *, all_networks: bool = False,
                          converted: bool = False) -> "LDCSR":
        """NHWC weights and activations: markedly faster convolutions on CPU (oneDNN).

        By default the decoder and the condition encoder (nearly all the compute; their GroupNorms
        compute exact statistics for NHWC, see :func:`~.autoencoder.norm_swish`), whose results
        stay within the golden tolerances of the official code.  ``all_networks`` also converts
        the UNet (PyTorch's NHWC GroupNorm kernel rounds differently, outside the golden
        tolerance): used for our own models, not for official checkpoints. ``converted``: the
        tensors are in those formats already (:meth:`layouts`, as ``load_model`` placed them): only recorded.
        """
        self.memory_format = torch.channels_last if enabled else torch.contiguous_format
        self.encoders_channels_last = enabled
        if not converted:
            for net, fmt in self.layouts(enabled, all_networks=all_networks):
                net.to(memory_format=fmt)
        return self

    def layouts(self, enabled: bool = True, *, all_networks: bool = False) -> list[tuple[nn.Module, torch.memory_format]]:
        """Each network and the memory format :meth:`use_channels_last` converts it to."""
        fmt = torch.channels_last if enabled else torch.contiguous_format
        return [*((net, fmt) for net in (self.first_stage_model.decoder, self.cond_stage_model, *self._detail())),
                (self.model, fmt if all_networks else torch.contiguous_format)]

    def _detail(self) -> list[nn.Module]:
        return [self.detail_decoder.decoder] if self.config.detail_decoder is not None else []

    @property
    def device(self) -> torch.device:
        return self.scale_factor.device

    # -- building blocks on a window -------------------------------------------------------------
    def condition(self, lr: torch.Tensor, win: Window2d, lr_up: torch.Tensor | None = None) -> torch.Tensor:
        """Condition latent ``c`` = cond_encoder(bicubic(lr → output grid)); ``lr_up`` may pass
        that bicubic image in when the caller already has it."""
        up = resize(lr, win, "bicubic") if lr_up is None else lr_up
        if self.encoders_channels_last:
            up = up.contiguous(memory_format=torch.channels_last)
        return self.cond_stage_model(up)

    def decode(self, latent: torch.Tensor, lr: torch.Tensor, win: Window2d, scale: float,
               lr_up: torch.Tensor | None = None, *, sampled: bool = False) -> torch.Tensor:
        """Decode a latent; ``sampled`` latents (diffusion mode) go to the detail decoder when the
        model has one, everything else to the stage-1 decoder."""
        ae = self.detail_decoder if sampled and self.config.detail_decoder is not None else self.first_stage_model
        return ae.decode(latent / self.scale_factor, lr, win, scale, lr_up=lr_up)

    def _schedule_on(self, device: torch.device):
        """The schedule's buffers on ``device``, uploaded once (an upload waits for a card's queue)."""
        cache = self.__dict__.setdefault("_schedules", {})
        if device not in cache:
            cache[device] = self.schedule.to(device)
        return cache[device]

    @retained_heap()
    def run_window(self, lr: torch.Tensor, win: Window2d, *, mode: str = "diffusion",
                   noise: Callable[[int], torch.Tensor] | None = None,
                   scale: float | None = None, scale_int: int | None = None, osize: int | None = None,
                   callback: Callable[[dict], None] | None = None) -> torch.Tensor:
        """Super-resolve the LR window ``lr`` onto ``win``'s output window.

        ``noise(k)`` returns the k-th random tensor of latent shape: k = 0 is x_T, k = 1.. the step
        noises in sampling order. ``scale``/``scale_int``/``osize`` default to the official values
        of the full image (height ratio, its truncation, output height).
        """
        check_mode(mode)
        scale = win.y.out_full / win.y.in_full if scale is None else scale
        lr_up = resize(lr, win, "bicubic")  # shared by the condition encoder and the decoder's skip
        c = self.condition(lr, win, lr_up)
        lr = lr.contiguous(memory_format=self.memory_format)
        if mode == "fast":
            latent = c
        else:
            if noise is None:
                raise InputError("diffusion mode needs a noise source")
            b = lr.shape[0]
            s_int = unet_scale(win.y.out_full, win.y.in_full) if scale_int is None else scale_int
            o = win.y.out_full if osize is None else osize
            t_scale = torch.full((b,), s_int, dtype=torch.long, device=lr.device)
            t_osize = torch.full((b,), o, dtype=torch.long, device=lr.device)

            def denoise(x, t):
                tt = torch.full((b,), t, dtype=torch.long, device=lr.device)
                return self.model(x, tt, c, t_scale, t_osize)

            latent = sample_ancestral(denoise, noise(0).to(c), self._schedule_on(c.device),
                                      noises=lambda i: noise(i + 1).to(c), callback=callback)
        return self.decode(latent, lr, win, scale, lr_up=lr_up, sampled=mode != "fast")

    # -- public API ------------------------------------------------------------------------------
    @torch.no_grad()
    def super_resolve(self, lr: torch.Tensor, out_size: Sequence[int], *, mode: str = "diffusion",
                      generator: torch.Generator | None = None,
                      noise: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Super-resolve ``lr`` (B,3,h,w) in [-1,1] to ``out_size`` = (H, W); unclamped (B,3,H,W)
        in ``lr``'s float type, whatever type the model computes in.

        Parameters
        ----------
        mode : "diffusion" (4-step ancestral sampler, EMA UNet) or "fast" (decode the condition
            latent directly: the official ``sr_kd``; deterministic).
        generator : torch.Generator for the random draws (x_T, then one noise per step).
        noise : ``[x_T, n_t3, n_t2, n_t1]`` latents that replace all random draws (golden parity).
        """
        if not isinstance(lr, torch.Tensor):
            raise InputError(f"lr must be a torch tensor (B, 3, h, w) in [-1, 1], got {type(lr).__name__} "
                             "(for a NumPy image: ldcsr_core.upscale)")
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise InputError(f"lr must be (B, 3, h, w), got shape {tuple(lr.shape)}")
        if not lr.is_floating_point():
            raise InputError(f"lr must be a float tensor in [-1, 1], got {lr.dtype}")
        if lr.numel() == 0:  # torch's 'cannot reshape tensor of 0 elements' from deep inside otherwise
            raise InputError(f"lr is empty (shape {tuple(lr.shape)}): a batch of at least one image of at least 1×1 px")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise InputError(f"generator must be a torch.Generator or None, got {type(generator).__name__} "
                             "(for a seed: torch.Generator().manual_seed(seed))")
        try:
            size = tuple(out_size)
        except TypeError:
            size = ()
        if len(size) != 2 or not all(_whole(v) for v in size):  # 32.5 was cut to 32 silently
            raise InputError(f"out_size must be a (height, width) pair of whole numbers, got {out_size!r}")
        H, W = (int(v) for v in size)
        h, w = lr.shape[-2:]
        if H < 1 or W < 1:
            raise InputError(f"out_size must be positive, got {(H, W)}")
        # outputs below MIN_WINDOW crash the official UNet: run on a window that extends past the
        # image end (the resampling taps clamp there, like padding), then crop
        win = padded_window(Window2d.whole((h, w), (H, W)))
        lat_shape = (lr.shape[0], self.config.diffusion.embed_dim, win.y.out_len // 8, win.x.out_len // 8)
        noise_fn = None
        if mode == "diffusion":
            if noise is not None:
                noise = list(noise)
                if len(noise) < self.schedule.timesteps:
                    raise InputError(f"noise needs {counted(self.schedule.timesteps, 'tensor')} (x_T and one per noisy step)")
                for n in noise:
                    if tuple(n.shape) != lat_shape:
                        raise InputError(f"noise tensors must have the latent shape {lat_shape}, got {tuple(n.shape)}")
                noise_fn = lambda k: noise[k]  # noqa: E731
            else:
                draws = [torch.randn(lat_shape, generator=generator, device=generator.device if generator else "cpu")
                         for _ in range(self.schedule.timesteps)]
                noise_fn = lambda k: draws[k]  # noqa: E731
        # a model loaded in bfloat16/float16 (load_model's "auto" on an AMX CPU or a card) computes
        # in its own type; the caller's tensor and the result keep theirs. On a CPU, a direct call runs on a fixed
        # count (LDCSR_THREADS, threads.set_threads) as a tile does (in a tile: the tile's, unchanged)
        with fixed_count() if self.device.type == "cpu" else contextlib.nullcontext():
            out = self.run_window(lr.to(next(self.parameters()).dtype), win, mode=mode, noise=noise_fn)
        return out[..., :H, :W].to(lr.dtype)
