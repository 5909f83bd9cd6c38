"""One super-resolution job, Qt-free: what to compute, the model cache, the engine call.

The widget runs :func:`run_job` in a napari ``thread_worker``; ``ldcsr_core``'s engine (and so
torch) is only imported when a job or a model load actually runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from ldcsr_core.rules import check_mode, output_shape

from ._geometry import Region

__all__ = [
    "JobSpec", "JobResult", "TileUpdate", "ModelCache", "default_model_provider", "model_info",
    "run_job", "provenance",
]

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
        check_mode(self.mode)

    @property
    def out_shape(self) -> tuple[int, int]:
        return output_shape(self.region.shape, scale=self.scale)


@dataclass
class JobResult:
    """A finished job: pixels in the layer's layout and dtype, the bicubic baseline if asked for."""

    data: np.ndarray
    bicubic: np.ndarray | None
    spec: JobSpec
    seconds: float
    model_info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TileUpdate:
    """Progress of a job after a tile: ``done`` of ``total``; ``box``/``pixels`` = the tile's output
    window ``(y0, x0, h, w)`` in the result and its pixels in the result's layout and dtype."""

    done: int
    total: int
    box: tuple[int, int, int, int] | None = None
    pixels: np.ndarray | None = None


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
        """The model for ``source`` (None = built-in default), loading it on first use."""
        with self._lock:
            if source not in self._models:
                self._models[source] = self._provider(source)
                self.loads += 1
            return self._models[source]

    def cached(self, source: str | None) -> Any | None:
        """The model for ``source`` if it is loaded already, else None."""
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


def to_engine_input(data: np.ndarray, rgb: bool) -> tuple[np.ndarray, _Radiometry]:
    """Convert a layer's pixels (2-D, or RGB/RGBA when ``rgb``) to the engine's input."""
    arr = np.asarray(data)
    if rgb:
        arr = arr[..., :3]
        if arr.dtype == np.uint8:
            return np.ascontiguousarray(arr), _Radiometry("uint8-rgb", "uint8")
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
    """Map the engine's output (uint8, or float in [0, 1]) back to the layer's range and layout."""
    if rad.kind == "uint8-rgb":
        if out.dtype != np.uint8:
            return np.rint(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)
        return out
    unit = np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)
    if rad.kind == "gray":
        unit = unit.mean(axis=-1)
    values = unit * (rad.hi - rad.lo) + rad.lo
    dtype = np.dtype(rad.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(np.float32)


def bicubic(unit_or_u8: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """The engine's bicubic resize (``ldcsr_core.models.resample``) of an ``H x W x 3`` engine input."""
    import torch
    from ldcsr_core.models.resample import Window2d, resize

    x = torch.from_numpy(np.ascontiguousarray(unit_or_u8)).permute(2, 0, 1)[None].float()
    is_u8 = unit_or_u8.dtype == np.uint8
    if is_u8:
        x = x / 255.0
    y = resize(x, Window2d.whole(unit_or_u8.shape[:2], out_shape), "bicubic")
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
    on_tile: Callable[[TileUpdate], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JobResult:
    """Super-resolve ``data[spec.region]`` with the engine.

    ``on_tile(TileUpdate)`` is called (in the calling thread) before the first tile and after
    each one; ``should_stop()`` is polled at the same points and a true answer raises
    ``ldcsr_core.Cancelled`` (the engine stops within one tile).
    """
    import ldcsr_core

    t0 = time.perf_counter()
    crop = np.asarray(data[spec.region.slices])
    image, rad = to_engine_input(crop, rgb)

    def report(info) -> None:
        if on_tile is None:
            return
        if info.tile is None or info.output is None:
            on_tile(TileUpdate(info.done, info.total))
            return
        box = info.tile.write
        on_tile(TileUpdate(info.done, info.total, box, from_engine_output(info.output, rad)))

    out = ldcsr_core.upscale(
        image, out_shape=spec.out_shape, model=model, mode=spec.mode, seed=spec.seed, tile=spec.tile,
        callback=ldcsr_core.polling(should_stop or (lambda: False), report),
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
