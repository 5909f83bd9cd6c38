"""Where the diffusion mode is unsure: K seeded samples → their mean and per-pixel spread.

The diffusion sampler draws its noise from :class:`~ldcsr_core.latent_noise.LatentNoise`; seeds
``seed, seed+1, …, seed+K-1`` give K plausible super-resolutions of the same input. Where they
disagree the model is inventing detail; where they agree the detail is pinned down by the input.

Each tile runs the K samples and hands the engine's one tile loop
(:func:`~ldcsr_core.tiling.run_plan`) extra channels, laid out by :class:`SampleLayout`: where the
plan's windows do not overlap (the shipped models'), their per-pixel **moments**
``[mean (C), variance (C)]`` of the samples clipped to ``[0, 1]`` (each a single run's picture);
where they overlap, the K outputs side by side, blended one by one as each seed's single run blends
them, the moments taken after the blend. The sink takes the square root of the variance. Sample k
is exactly the single-sample result of seed ``seed + k``, so the mean and the spread are those of
the K single runs' pictures, and inherit the engine's tiling invariance.

The spread is the standard deviation over the K samples (``ddof=0``, as ``numpy.std``), per channel,
in the units of the image; it is exactly 0 with one sample. It is a statistic of the model's own
sampling distribution, not a calibrated error bar: ``benchmarks/uncertainty_eval.py`` measures how
well it ranks the pixels by their actual error.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from .progress import ProgressCallback
from .rules import check_samples

__all__ = ["UpscaleSamples", "SampleLayout", "moments", "split_moments", "sample_arrays", "upscale_samples",
           "SPREAD_LIMITS", "samples_cost"]

# what the spread does not say, in every front end's words (the spread file's tag, napari's tooltip):
# the samples share most of their error (docs/uncertainty.md: spread under half a grey level on 90 % of
# the pixels where the mean's error is ~8; it ranks the pixels by their error no better than edges do)
SPREAD_LIMITS = ("a low spread does not mean the pixels are right: errors all the samples share do not show, "
                 "and it is not a calibrated error bar")


def samples_cost(samples: int, of: str = "run") -> str:
    """What K > 1 samples cost, said before the work starts ("" for one): each is a whole run of the sampler,
    so its time is K single runs' (a multiple: the engine has no estimate of a run's seconds). ``of``: "run"
    (an uncertainty map's samples) or "check" (the mean of K samples a quality check scores, as a Run gives it)."""
    if samples < 2:
        return ""
    why = {"run": "for the uncertainty map", "check": "for the mean the check scores"}[of]
    return (f"{samples} samples {why}: each is a whole run of the diffusion sampler, so this {of} takes about "
            f"{samples} times as long as one sample would")


class UpscaleSamples(NamedTuple):
    """``upscale(..., samples=K)``'s result: the mean of the K samples (H×W×3, the image's dtype)
    and their per-pixel spread (H×W×3 float32 standard deviation, in the image's units: 0–255 for
    uint8 images, 0–1 for float images)."""

    mean: np.ndarray
    spread: np.ndarray


def moments(outputs: Sequence[np.ndarray]) -> np.ndarray:
    """K model outputs ``(h, w, c)`` → ``(h, w, 2c)`` float32: per-pixel mean, then variance (ddof=0),
    of the samples clipped to ``[0, 1]`` as a single run's output is: where every sample is beyond
    the range (a saturated roof, deep shadow) their pictures agree, so the spread is 0."""
    if not outputs:
        raise ValueError("moments of no samples")
    outputs = [np.clip(o, 0.0, 1.0) for o in outputs]
    mean = np.zeros(outputs[0].shape, np.float64)
    for o in outputs:
        mean += o
    mean /= len(outputs)
    var = np.zeros_like(mean)
    for o in outputs:  # two passes: no cancellation for the tiny variances of a converged sampler
        var += (o - mean) ** 2
    var /= len(outputs)
    return np.concatenate([mean, var], axis=-1).astype(np.float32)


def split_moments(rows: np.ndarray, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Blended ``(…, 2·channels)`` moments → (mean, spread = √variance), each ``(…, channels)``."""
    mean = rows[..., :channels]
    spread = np.sqrt(np.maximum(rows[..., channels:2 * channels], 0.0))
    return mean, spread


def _same(a: np.ndarray) -> np.ndarray:
    return a


class SampleLayout(NamedTuple):
    """How a tile's K samples travel through the tile loop's blend (:class:`RowMerger`), one rule
    for ``upscale``'s arrays and the raster path. Where the plan's windows do not overlap (the
    shipped models'), each output pixel comes from one window: the tile hands on the moments of its
    K pictures (:func:`moments`, ``2·C`` channels). Where they overlap, a single run's picture there
    is the blend of the windows' outputs, and the variance of K blends is not the blend of the
    windows' variances: the tile hands on its K outputs side by side (``K·C`` channels), each is
    blended as that seed's single run blends it, and the moments are taken after the blend
    (:meth:`rows`; K/2 times the blend's memory). ``picture`` turns one sample's output into its
    picture before the moments (e.g. :meth:`BandPlan.band_pictures`)."""

    channels: int  # C: the model channels of one sample
    samples: int  # K
    overlap: bool
    picture: Callable[[np.ndarray], np.ndarray] = _same

    @classmethod
    def of(cls, plan, channels: int, samples: int, picture=None) -> "SampleLayout":
        overlap = len(plan.tiles) > 1 and any(int(o) > 0 for o in plan.overlap_out)
        return cls(int(channels), int(samples), overlap, picture or _same)

    @property
    def width(self) -> int:
        """Channels per tile in the tile loop."""
        return (self.samples if self.overlap else 2) * self.channels

    def tile(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """A tile's K model outputs ``(h, w, C)`` → what the tile loop blends, ``(h, w, width)``."""
        if self.overlap:
            return np.concatenate([np.asarray(o, np.float32) for o in outputs], axis=-1)
        return moments([self.picture(o) for o in outputs])

    def rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blended rows ``(…, width)`` → (mean, variance) of the K pictures, each ``(…, C)``."""
        c = self.channels
        if self.overlap:
            rows = moments([self.picture(rows[..., k * c:(k + 1) * c]) for k in range(self.samples)])
        return rows[..., :c], rows[..., c:2 * c]


def sample_arrays(out_shape) -> tuple[np.ndarray, np.ndarray]:
    """The float32 (H, W, 3) mean and spread :func:`upscale_samples` fills (api.output_array's rule)."""
    from .api import output_array

    mean, spread = output_array(tuple(out_shape) + (3,), np.float32, count=2)
    return mean, spread


def upscale_samples(model, plan, read: Callable[[int, int, int, int], np.ndarray], dtype, *,
                    samples: int, mode: str = "diffusion", seed: int = 0,
                    callback: ProgressCallback | None = None, arrays=None) -> UpscaleSamples:
    """The body of ``upscale(..., samples=K)``: every tile of ``plan`` sampled K times, blended in
    :func:`~ldcsr_core.tiling.run_plan`. ``read(y0, x0, h, w)`` gives LR pixels in [0, 1].

    ``callback`` sees each tile's ``TileProgress.output`` as :class:`SampleLayout` lays it out: its
    6-channel moments (mean, variance), or, where the plan's windows overlap, its K outputs side by side.
    ``arrays``: :func:`sample_arrays` of the plan's output shape, made before the model loads (upscale).
    """
    from .tiling import TileProcessor, run_plan

    samples = check_samples(samples, mode)
    mean, spread = arrays if arrays is not None else sample_arrays(plan.out_shape)
    layout = SampleLayout.of(plan, 3, samples)

    def sink(y0, rows):
        m, v = layout.rows(rows)
        mean[y0:y0 + rows.shape[0]] = m
        spread[y0:y0 + rows.shape[0]] = np.sqrt(np.maximum(v, 0.0))

    # one processor (its seed's shared noise, the out-of-memory fallback) per sample
    processors = {seed + k: TileProcessor(model, plan, mode=mode, seed=seed + k) for k in range(samples)}

    def tiles():
        for t in plan.tiles:
            lr = read(*t.read)
            yield t, layout.tile([processors[seed + k](lr, t) for k in range(samples)])

    run_plan(model, plan, read, sink, mode=mode, seed=seed, callback=callback, channels=layout.width,
             tiles=tiles())
    np.clip(mean, 0.0, 1.0, out=mean)
    if np.dtype(dtype) == np.uint8:  # as upscale's single picture (the raster path's 8-bit stretch)
        from .geo.stretch import UINT8_RGB

        return UpscaleSamples(UINT8_RGB.from_unit(mean.transpose(2, 0, 1)).transpose(1, 2, 0),
                              spread * np.float32(255.0))
    return UpscaleSamples(mean.astype(dtype, copy=False), spread)
