"""One super-resolution job, Qt-free: input conversion, engine call, model cache.

The widget runs :func:`run_job` inside a napari ``thread_worker``; ``ldcsr_core`` (and so
torch) is only imported when a job or a model load actually runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._geometry import Region, out_shape_for

__all__ = ["JobSpec", "JobResult", "ModelCache", "default_model_provider", "run_job", "MODES"]

MODES = {"diffusion": "diffusion", "fast preview": "fast"}

ModelProvider = Callable[[str | None], Any]


@dataclass(frozen=True)
class JobSpec:
    """What to compute: everything the engine needs besides the pixels and the model."""

    scale: float
    region: Region
    mode: str = "diffusion"
    seed: int = 0
    model_source: str | None = None
    tile: int | None = None
    bicubic: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("diffusion", "fast"):
            raise ValueError(f"mode must be 'diffusion' or 'fast', got {self.mode!r}")

    @property
    def out_shape(self) -> tuple[int, int]:
        return out_shape_for(self.region.shape, self.scale)


@dataclass
class JobResult:
    data: np.ndarray
    bicubic: np.ndarray | None
    spec: JobSpec
    seconds: float
    model_info: dict = field(default_factory=dict)


def default_model_provider(source: str | None) -> Any:
    """Load a model through the engine (``None`` = the shipped default weights)."""
    import ldcsr_core

    return ldcsr_core.load_model(source)


def model_info(model: Any) -> dict:
    """Name/version/hash/device of an engine model, for provenance and the device label."""
    info = {}
    for key in ("name", "version", "weights_sha256", "device"):
        value = getattr(model, key, None)
        if value is not None:
            info[key] = str(value)
    if "device" not in info:
        try:
            info["device"] = str(next(model.parameters()).device)
        except (AttributeError, StopIteration, TypeError):
            pass
    return info


class ModelCache:
    """Loads each model source once (thread-safe) and hands the same object back afterwards."""

    def __init__(self, provider: ModelProvider | None = None) -> None:
        self._provider = provider or default_model_provider
        self._models: dict[str | None, Any] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def get(self, source: str | None) -> Any:
        with self._lock:
            if source not in self._models:
                self._models[source] = self._provider(source)
                self.loads += 1
            return self._models[source]

    def cached(self, source: str | None) -> Any | None:
        return self._models.get(source)


# --------------------------------------------------------------------------------------------
# pixels <-> engine


@dataclass(frozen=True)
class _Radiometry:
    """How a layer's pixels map to the engine's ``H x W x 3`` uint8 / [0,1] float input."""

    kind: str  # "uint8-rgb" | "float-rgb" | "gray"
    dtype: str
    lo: float = 0.0
    hi: float = 1.0
    alpha: bool = False


def to_engine_input(data: np.ndarray, rgb: bool) -> tuple[np.ndarray, _Radiometry]:
    """Convert a layer's pixels (2-D, or RGB/RGBA when ``rgb``) to the engine's input."""
    arr = np.asarray(data)
    if rgb:
        alpha = arr.shape[-1] == 4
        arr = arr[..., :3]
        if arr.dtype == np.uint8:
            return np.ascontiguousarray(arr), _Radiometry("uint8-rgb", "uint8", alpha=alpha)
        kind = "float-rgb"
    else:
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D image, got shape {arr.shape}")
        kind = "gray"
    finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    if finite.size == 0:
        raise ValueError("the image has no finite pixel values")
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    unit = (np.nan_to_num(arr.astype(np.float32), nan=lo) - lo) / (hi - lo)
    unit = np.clip(unit, 0.0, 1.0)
    if kind == "gray":
        unit = np.repeat(unit[..., np.newaxis], 3, axis=-1)
    return np.ascontiguousarray(unit, dtype=np.float32), _Radiometry(kind, arr.dtype.name, lo, hi)


def from_engine_output(out: np.ndarray, rad: _Radiometry) -> np.ndarray:
    """Map the engine's output back to the layer's value range (and band layout)."""
    if rad.kind == "uint8-rgb":
        return out
    unit = np.asarray(out, dtype=np.float32)
    if rad.kind == "gray":
        unit = unit.mean(axis=-1)
    values = unit * (rad.hi - rad.lo) + rad.lo
    dtype = np.dtype(rad.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(np.float32)


def bicubic(unit_or_u8: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Plain bicubic resize (torch, align_corners=False) of an ``H x W x 3`` engine input."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(unit_or_u8)).permute(2, 0, 1)[None].float()
    is_u8 = unit_or_u8.dtype == np.uint8
    if is_u8:
        x = x / 255.0
    y = F.interpolate(x, size=tuple(out_shape), mode="bicubic", align_corners=False)
    y = y.clamp(0.0, 1.0)[0].permute(1, 2, 0).numpy()
    if is_u8:
        return np.rint(y * 255.0).astype(np.uint8)
    return y.astype(np.float32)


def run_job(
    data: np.ndarray,
    rgb: bool,
    spec: JobSpec,
    model: Any,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> JobResult:
    """Super-resolve ``data[spec.region]`` with the engine; raises ``ldcsr_core.Cancelled`` on cancel."""
    import ldcsr_core

    t0 = time.perf_counter()
    crop = np.asarray(data[spec.region.slices])
    image, rad = to_engine_input(crop, rgb)
    out = ldcsr_core.upscale(
        image,
        out_shape=spec.out_shape,
        model=model,
        mode=spec.mode,
        seed=spec.seed,
        tile=spec.tile,
        callback=ldcsr_core.polling(cancel or (lambda: False),
                                    progress and (lambda info: progress(info.done, info.total))),
    )
    result = from_engine_output(out, rad)
    base = from_engine_output(bicubic(image, spec.out_shape), rad) if spec.bicubic else None
    return JobResult(result, base, spec, time.perf_counter() - t0, model_info(model))


def provenance(result: JobResult, source_name: str) -> dict:
    """The ``ldcsr`` metadata entry of a result layer."""
    spec = result.spec
    return {
        "source_layer": source_name,
        "scale": spec.scale,
        "in_shape": list(spec.region.shape),
        "out_shape": list(spec.out_shape),
        "region": asdict(spec.region),
        "mode": spec.mode,
        "seed": spec.seed,
        "model_source": spec.model_source or "built-in default",
        "model": result.model_info,
        "seconds": round(result.seconds, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
