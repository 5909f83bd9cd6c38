"""Result layers (Qt-free): exact placement over the source, metadata, progressive filling.

A run's result layer is created when the first tile arrives, filled tile by tile, and given
the final pixels when the run returns; a cancelled or failed run removes it again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _geometry as geo
from ._job import JobResult, JobSpec, TileUpdate, provenance
from ._viewer import linear_part

__all__ = ["LABELS", "result_kwargs", "RunLayers", "ProgressiveResult", "nearest_preview"]

LABELS = {"ldcsr": "LDCSR", "bicubic": "bicubic"}


def result_kwargs(src, spec: JobSpec, kind: str, *, run_info: dict | None = None) -> dict:
    """``add_image`` keyword arguments that lay a ``spec.out_shape`` result exactly over ``src``.

    Placement follows :func:`_geometry.result_placement` (rotate/shear/affine copied), display
    settings follow the source, and ``metadata`` keeps the georeferencing (transform and pixel
    size of the finer grid) plus ``metadata["ldcsr"]`` (provenance; ``run_info`` is merged in).
    """
    scale_out, translate_out = geo.result_placement(
        src.scale[-2:], src.translate[-2:], spec.region.shape, spec.out_shape,
        offset=spec.region.offset, linear=linear_part(src),
    )
    md = {k: v for k, v in (src.metadata or {}).items() if k not in ("path", "ldcsr")}
    if md.get("transform") is not None:
        md["transform"] = geo.result_transform(md["transform"], spec.region.shape, spec.out_shape,
                                               spec.region.offset)
        a, b, _, d, e, _ = md["transform"]
        md["pixel_size"] = (float(np.hypot(b, e)), float(np.hypot(a, d)))
    md["ldcsr"] = dict(run_info or {}, kind=kind)
    kwargs = {
        "name": f"{src.name} ×{spec.scale:.2f} ({LABELS[kind]})",
        "rgb": bool(src.rgb),
        "scale": scale_out,
        "translate": translate_out,
        "rotate": src.rotate,
        "shear": src.shear,
        "affine": src.affine,
        "metadata": md,
        "contrast_limits": list(src.contrast_limits),
        "gamma": src.gamma,
        "blending": src.blending,
    }
    if not src.rgb:
        kwargs["colormap"] = src.colormap
    return kwargs


def nearest_preview(crop: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour enlargement of ``crop`` (H x W [x C]) to ``out_shape``: the placeholder
    a progressive result shows until its tiles arrive (it looks like the source underneath)."""
    rows = np.minimum((np.arange(out_shape[0]) + 0.5) * crop.shape[0] / out_shape[0], crop.shape[0] - 1)
    cols = np.minimum((np.arange(out_shape[1]) + 0.5) * crop.shape[1] / out_shape[1], crop.shape[1] - 1)
    return np.ascontiguousarray(crop[rows.astype(int)][:, cols.astype(int)])


@dataclass
class RunLayers:
    """The layers of the latest finished run: its source, LDCSR result and bicubic baseline."""

    source: object
    result: object
    bicubic: object | None
    job: JobResult

    def present(self, viewer) -> bool:
        """Whether the source and the result are both still in ``viewer``."""
        return self.source in viewer.layers and self.result in viewer.layers


class ProgressiveResult:
    """The result layer of a running job, created on the first tile and filled tile by tile."""

    def __init__(self, viewer, src, spec: JobSpec, *, opacity: float = 1.0) -> None:
        self.viewer, self.src, self.spec, self.opacity = viewer, src, spec, opacity
        self.layer = None
        self.tiles = 0

    def _create(self) -> None:
        crop = np.asarray(self.src.data[self.spec.region.slices])
        data = nearest_preview(crop, self.spec.out_shape)
        self.layer = self.viewer.add_image(data, **result_kwargs(self.src, self.spec, "ldcsr",
                                                                 run_info={"status": "running"}))
        self.layer.opacity = self.opacity

    def update(self, update: TileUpdate) -> None:
        """Write one finished tile into the layer (creating it first if needed)."""
        if update.pixels is None or self.src not in self.viewer.layers:
            return
        if self.layer is None:
            self._create()
        elif self.layer not in self.viewer.layers:
            return  # the user removed the preview: do not bring it back
        y0, x0, h, w = update.box
        self.layer.data[y0:y0 + h, x0:x0 + w] = update.pixels
        self.layer.refresh()
        self.tiles += 1

    def finish(self, result: JobResult):
        """Give the layer the final pixels and provenance; returns it (None if the source is gone)."""
        if self.src not in self.viewer.layers:
            self.discard()
            return None
        if self.layer is None or self.layer not in self.viewer.layers:
            self.layer = self.viewer.add_image(
                result.data, **result_kwargs(self.src, result.spec, "ldcsr",
                                             run_info=provenance(result, self.src.name)))
            self.layer.opacity = self.opacity
        else:
            self.layer.data[...] = result.data
            self.layer.metadata["ldcsr"] = dict(provenance(result, self.src.name), kind="ldcsr")
            self.layer.refresh()
        return self.layer

    def discard(self) -> None:
        """Remove the partial layer (cancel, error)."""
        if self.layer is not None and self.layer in self.viewer.layers:
            self.viewer.layers.remove(self.layer)
        self.layer = None
