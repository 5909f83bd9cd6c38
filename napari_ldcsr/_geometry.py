"""Pure layer geometry for the plugin: no Qt, no napari, no torch.

Conventions
-----------
* napari image layers place pixel ``(r, c)``'s *centre* at ``translate + (r, c) * scale``
  (before rotate/shear/affine), so a layer of shape ``(H, W)`` covers the world box whose
  edges are the images of data coordinates ``-0.5`` and ``H - 0.5`` / ``W - 0.5``.
* GeoTIFF transforms (rasterio/GDAL ``Affine(a, b, c, d, e, f)``) map pixel *corners*:
  ``x = a*col + b*row + c``, ``y = d*col + e*row + f``.
* Georeferenced layers use world axes ``(-northing, easting)`` in CRS units (metres for
  projected CRSs): rows grow southwards as on screen, and scenes in the same CRS line up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Region",
    "layer_placement_from_transform",
    "transform_from_world_matrix",
    "result_placement",
    "result_transform",
    "output_pixel_size",
    "scale_for_pixel_size",
    "visible_world_box",
    "region_from_data_points",
    "float32_slack",
    "world_bounds",
]

GeoTransform = tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Region:
    """Integer pixel window ``[row0, row0+rows) x [col0, col0+cols)`` of a 2-D layer."""

    row0: int
    col0: int
    rows: int
    cols: int

    def __post_init__(self) -> None:
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"region must be at least 1x1 px, got {self.rows}x{self.cols}")
        if self.row0 < 0 or self.col0 < 0:
            raise ValueError(f"region origin must be >= 0, got ({self.row0}, {self.col0})")

    @classmethod
    def whole(cls, shape: Sequence[int]) -> Region:
        return cls(0, 0, int(shape[0]), int(shape[1]))

    @property
    def offset(self) -> tuple[int, int]:
        return (self.row0, self.col0)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def window(self) -> tuple[int, int, int, int]:
        """``(row_off, col_off, height, width)``, as ``ldcsr_core.geo`` takes windows."""
        return (self.row0, self.col0, self.rows, self.cols)

    @property
    def slices(self) -> tuple[slice, slice]:
        return (slice(self.row0, self.row0 + self.rows), slice(self.col0, self.col0 + self.cols))

    def is_whole(self, shape: Sequence[int]) -> bool:
        return self == Region.whole(shape)


def layer_placement_from_transform(transform: Sequence[float]) -> dict:
    """napari placement kwargs (``scale``/``translate`` or ``affine``) for a GeoTIFF transform.

    North-up rasters get ``scale = (|e|, a)`` (the pixel size) and ``translate`` = the centre
    of pixel (0, 0) in ``(-northing, easting)``; rotated or south-up rasters get a 3x3
    ``affine`` with the same meaning.
    """
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    if b == 0.0 and d == 0.0 and a > 0.0 and e < 0.0:
        return {"scale": (-e, a), "translate": (-(f + e / 2.0), c + a / 2.0)}
    matrix = np.array(
        [
            [-e, -d, -(f + (d + e) / 2.0)],
            [b, a, c + (a + b) / 2.0],
            [0.0, 0.0, 1.0],
        ]
    )
    return {"affine": matrix}


def transform_from_world_matrix(matrix: np.ndarray) -> GeoTransform:
    """GeoTIFF transform from a layer's 3x3 data->world matrix (inverse of the placement above)."""
    m = np.asarray(matrix, dtype=float)
    if m.shape != (3, 3):
        raise ValueError(f"expected a 3x3 data-to-world matrix for a 2-D layer, got {m.shape}")
    e, d = -m[0, 0], -m[0, 1]
    b, a = m[1, 0], m[1, 1]
    f = -m[0, 2] - (d + e) / 2.0
    c = m[1, 2] - (a + b) / 2.0
    return (float(a), float(b), float(c), float(d), float(e), float(f))


def result_placement(
    scale_in: Sequence[float],
    translate_in: Sequence[float],
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    offset: Sequence[float] = (0.0, 0.0),
    linear: np.ndarray | None = None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """``scale``/``translate`` that make an ``out_shape`` result overlay ``in_shape`` pixels exactly.

    ``scale_out = scale_in * in/out`` per axis and ``translate_out = translate_in +
    L @ (scale_in * offset + (scale_out - scale_in) / 2)``, where ``offset`` is the region's
    first pixel and ``L`` the layer's rotate/shear matrix (identity when None), so the
    result keeps the source's rotate, shear and affine unchanged.
    """
    s_in = np.asarray(scale_in, dtype=float)
    t_in = np.asarray(translate_in, dtype=float)
    ratio = np.asarray(in_shape, dtype=float) / np.asarray(out_shape, dtype=float)
    s_out = s_in * ratio
    step = s_in * np.asarray(offset, dtype=float) + (s_out - s_in) / 2.0
    if linear is not None:
        step = np.asarray(linear, dtype=float) @ step
    t_out = t_in + step
    return (float(s_out[0]), float(s_out[1])), (float(t_out[0]), float(t_out[1]))


def result_transform(
    transform: Sequence[float],
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    offset: Sequence[int] = (0, 0),
) -> GeoTransform:
    """GeoTIFF transform of a result: ``T * translation(col0, row0) * scale(in/out)``."""
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    r0, c0 = (float(v) for v in offset)
    ry = in_shape[0] / out_shape[0]
    rx = in_shape[1] / out_shape[1]
    return (a * rx, b * ry, c + a * c0 + b * r0, d * rx, e * ry, f + d * c0 + e * r0)


def output_pixel_size(pixel_size: float, scale: float) -> float:
    """Output ground sample distance for an input pixel size and an SR scale."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return pixel_size / scale


def scale_for_pixel_size(pixel_size: float, target: float) -> float:
    """SR scale that turns ``pixel_size`` into ``target`` (inverse of output_pixel_size)."""
    if target <= 0:
        raise ValueError(f"target pixel size must be > 0, got {target}")
    return pixel_size / target


def visible_world_box(
    center: Sequence[float], zoom: float, canvas_size: Sequence[float]
) -> np.ndarray:
    """World box ``[[ymin, xmin], [ymax, xmax]]`` seen by a 2-D camera (zoom = screen px/world unit)."""
    c = np.asarray(center, dtype=float)[-2:]
    half = np.asarray(canvas_size, dtype=float)[-2:] / (2.0 * float(zoom))
    return np.stack([c - half, c + half])


def region_from_data_points(points: np.ndarray, shape: Sequence[int], slack: float = 1e-6) -> Region | None:
    """Smallest pixel window covering data-coordinate ``points`` (N x 2, pixel centres), clipped.

    Partially covered pixels are included; returns None when nothing overlaps the image. Points
    within ``slack`` px of a pixel edge count as on it (their rounding error: float64 by default,
    more for float32 points, see :func:`float32_slack`; at most a quarter pixel).
    """
    p = np.asarray(points, dtype=float).reshape(-1, 2) + 0.5  # -> pixel-edge coordinates
    if not np.all(np.isfinite(p)):
        return None
    eps = min(max(slack, 1e-6), 0.25)  # px: edges on pixel boundaries (up to rounding) do not grow the window
    lo = np.floor(p.min(axis=0) + eps)
    hi = np.ceil(p.max(axis=0) - eps)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, np.asarray(shape[:2], dtype=float))
    if np.any(hi - lo < 1):
        return None
    return Region(int(lo[0]), int(lo[1]), int(hi[0] - lo[0]), int(hi[1] - lo[1]))


def float32_slack(to_data: Callable[[np.ndarray], Sequence[float]], points: np.ndarray, ulps: int = 4) -> float:
    """Data pixels that ``ulps`` float32 ulps of ``points`` (stored as float32, e.g. napari's Shapes
    vertices) span once mapped by ``to_data``: their rounding error, relative to their magnitude."""
    pts = np.asarray(points, dtype=float)
    step = ulps * np.spacing(np.abs(pts).astype(np.float32)).astype(float)
    return max((float(np.abs(np.subtract(to_data(p + d), to_data(p))).max()) for p, d in zip(pts, step)),
               default=0.0)


def world_bounds(
    data_to_world: Callable[[Sequence[float]], Sequence[float]],
    shape: Sequence[int],
    region: Region | None = None,
) -> np.ndarray:
    """Pixel-edge world bounds ``[[ymin, xmin], [ymax, xmax]]`` of a 2-D layer or of a region of it."""
    region = region or Region.whole(shape)
    r0, c0 = region.row0 - 0.5, region.col0 - 0.5
    r1, c1 = r0 + region.rows, c0 + region.cols
    corners = np.array(
        [data_to_world(p) for p in ((r0, c0), (r0, c1), (r1, c0), (r1, c1))], dtype=float
    )[:, -2:]
    return np.stack([corners.min(axis=0), corners.max(axis=0)])
