"""Qt-free pieces of the live lens: scale steps, view → output window, the global tile grid,
exact composition of cached tiles, the tile cache and layer pixel access.

No Qt, no napari, no torch here (tile *planning* comes from the torch-free
:mod:`ldcsr_core.tileplan`), so all of it is tested without a viewer.

The lens works on a **global output grid** per (layer, scale step): the whole layer at that
scale, ``H × W = output_shape((h, w), step)``, planned into tiles exactly as ``ldcsr_core.upscale``
plans the whole layer. A view only computes the tiles that touch it, and a tile computed once is
reused by every later view at that step (panning back, toggling, Keep). Because the tiles,
their blending weights and the order in which their contributions are summed are those of a
whole-layer run, the lens's pixels equal ``ldcsr_core.upscale(layer, out_shape=(H, W))``
restricted to the window, bit for bit.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ldcsr_core.geo.nodata_override import band_nodata
from ldcsr_core.geo.radiometry import (
    Stretch, compute_stretch, fill_invalid, nearest_index, plan_bands, restore_nodata, valid_mask,
)
from ldcsr_core.geo.stretch import fill_values, sample_array
from ldcsr_core.rules import MAX_SCALE, output_shape
from ldcsr_core.tileplan import Span, Tile, TilePlan, blend_weights, plan_grid

from .._geometry import result_transform

__all__ = [
    "SCALE_STEPS", "MIN_LENS_ZOOM", "DEFAULT_CACHE_BYTES", "scale_step", "OutWindow",
    "output_window", "LensGrid", "WindowComposer", "TileCache", "BandFeed", "LayerPixels",
    "window_transform", "global_out_shape",
]

#: The scales the lens snaps to. Few steps → views at nearby zooms share cached tiles.
SCALE_STEPS = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
#: Below this many screen pixels per source pixel the lens does nothing (×1 shows the source).
MIN_LENS_ZOOM = 1.25
#: Default memory bound of the tile cache (raw float32 tiles: ~0.75 MB per 256² tile).
DEFAULT_CACHE_BYTES = 256 * 2**20


def scale_step(screen_px_per_pixel: float, cap: float = MAX_SCALE) -> float | None:
    """The lens scale for a zoom: the step nearest (in log scale) to ``screen_px_per_pixel``.

    Output pixels then are about screen pixels. None below :data:`MIN_LENS_ZOOM` (the source
    is already shown at or below its resolution). ``cap`` (at most ``MAX_SCALE`` = 8, the range
    the models were trained on) bounds the step; a cap between steps is itself a step.
    """
    z = float(screen_px_per_pixel)
    if not math.isfinite(z) or z < MIN_LENS_ZOOM:
        return None
    cap = min(float(cap), MAX_SCALE)
    if cap <= 1.0:
        return None
    steps = [s for s in SCALE_STEPS if s <= cap]
    if not steps or steps[-1] < cap:
        steps.append(cap)
    return min(steps, key=lambda s: abs(math.log(s / z)))


@dataclass(frozen=True)
class OutWindow:
    """Output-pixel window ``[y0, y0+h) × [x0, x0+w)`` on a layer's global output grid."""

    y0: int
    x0: int
    h: int
    w: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y0 + self.h), slice(self.x0, self.x0 + self.w)


def output_window(data_box: np.ndarray, in_shape: Sequence[int], out_shape: Sequence[int],
                  margin: int = 0) -> OutWindow | None:
    """The output pixels covering ``data_box`` (``[[r0, c0], [r1, c1]]`` in the layer's data
    coordinates, pixel centres at integers), plus ``margin`` output px, clipped to the grid."""
    box = np.asarray(data_box, dtype=float).reshape(2, 2) + 0.5  # -> pixel-edge coordinates
    if not np.all(np.isfinite(box)):
        return None
    lo, hi = box.min(axis=0), box.max(axis=0)
    ratio = np.asarray(out_shape, float) / np.asarray(in_shape, float)
    n = np.asarray(out_shape, int)
    eps = 1e-6
    a = np.clip(np.floor(lo * ratio + eps) - margin, 0, n).astype(int)
    b = np.clip(np.ceil(hi * ratio - eps) + margin, 0, n).astype(int)
    if np.any(b - a < 1):
        return None
    return OutWindow(int(a[0]), int(a[1]), int(b[0] - a[0]), int(b[1] - a[1]))


class LensGrid:
    """The whole-layer tile plan of ``in_shape → out_shape``, built per axis.

    ``plan_grid`` is ``plan_tiles`` per axis (the tests check this against the full plan), so the
    grid costs O(rows + cols) even for a 64 000² output, and ``tile(iy, ix)`` equals
    ``plan_tiles(in, out).tiles[iy * nx + ix]``.
    """

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], tile: int | None = None, *,
                 window: int | None = None, overlap_out: int | None = None):
        grid = plan_grid(in_shape, out_shape, tile, window=window, overlap_out=overlap_out)
        self.in_shape, self.out_shape = grid.in_shape, grid.out_shape
        self.rows, self.cols = list(grid.rows), list(grid.cols)
        self.tile_out, self.overlap_out = grid.tile_out, grid.overlap_out
        self._starts_y = np.array([s.start for _, s in self.rows])
        self._stops_y = np.array([s.stop for _, s in self.rows])
        self._starts_x = np.array([s.start for _, s in self.cols])
        self._stops_x = np.array([s.stop for _, s in self.cols])
        self._wy: dict[int, np.ndarray] = {}
        self._wx: dict[int, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, int]:
        """Tiles per column and per row."""
        return len(self.rows), len(self.cols)

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols)

    def tile(self, iy: int, ix: int) -> Tile:
        (ry, wy), (rx, wx) = self.rows[iy], self.cols[ix]
        return Tile(iy * len(self.cols) + ix, ry, rx, wy, wx)

    def plan(self, tiles: Sequence[Tile] = ()) -> TilePlan:
        """A ``TilePlan`` with the global shapes (what ``process_tile`` needs) and ``tiles``."""
        return TilePlan(self.in_shape, self.out_shape, self.tile_out, self.overlap_out, tuple(tiles))

    def tiles_for(self, win: OutWindow) -> list[tuple[int, int]]:
        """(iy, ix) of every tile whose output touches ``win``, in plan (row-major) order."""
        ys = np.nonzero((self._starts_y < win.y0 + win.h) & (self._stops_y > win.y0))[0]
        xs = np.nonzero((self._starts_x < win.x0 + win.w) & (self._stops_x > win.x0))[0]
        return [(int(iy), int(ix)) for iy in ys for ix in xs]

    def weights(self, iy: int, ix: int) -> tuple[np.ndarray, np.ndarray]:
        """The blending ramps (rows, cols) of tile (iy, ix), as ``RowMerger`` uses them."""
        if iy not in self._wy:
            self._wy[iy] = blend_weights(self.rows[iy][1], self.out_shape[0], self.overlap_out[0])
        if ix not in self._wx:
            self._wx[ix] = blend_weights(self.cols[ix][1], self.out_shape[1], self.overlap_out[1])
        return self._wy[iy], self._wx[ix]


def _segments(spans: Sequence[Span], lo: int, hi: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """Split [lo, hi) at every span edge: (start, stop, indices of the spans covering it)."""
    cuts = {lo, hi}
    for s in spans:
        cuts.update(v for v in (s.start, s.stop) if lo < v < hi)
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        cover = tuple(i for i, s in enumerate(spans) if s.start <= a and s.stop >= b)
        out.append((a, b, cover))
    return out


class WindowComposer:
    """Blends tiles into one output window, exactly as a whole-layer run would.

    The window is cut into *cells* at every tile edge; each cell is covered by a fixed set of
    tiles. A cell is final as soon as all its tiles are present, whatever order they arrived
    in; its pixels are then summed over its tiles in plan order with ``RowMerger``'s weights and
    normalised as ``RowMerger`` does, so they are bit-identical to a whole-layer run.
    """

    def __init__(self, grid: LensGrid, win: OutWindow):
        self.grid, self.win = grid, win
        self.keys = grid.tiles_for(win)
        iys = sorted({k[0] for k in self.keys})
        ixs = sorted({k[1] for k in self.keys})
        ysegs = _segments([grid.rows[i][1] for i in iys], win.y0, win.y0 + win.h)
        xsegs = _segments([grid.cols[i][1] for i in ixs], win.x0, win.x0 + win.w)
        self.cells = []  # (y0, y1, x0, x1, covering tile keys in plan order)
        for y0, y1, cy in ysegs:
            for x0, x1, cx in xsegs:
                self.cells.append((y0, y1, x0, x1, [(iys[a], ixs[b]) for a in cy for b in cx]))
        self.outputs: dict[tuple[int, int], np.ndarray] = {}
        self._done_cells: set[int] = set()
        self._cells_of: dict[tuple[int, int], list[int]] = {}  # tile -> the cells it covers
        for i, cell in enumerate(self.cells):
            for k in cell[4]:
                self._cells_of.setdefault(k, []).append(i)

    @property
    def complete(self) -> bool:
        return len(self._done_cells) == len(self.cells)

    @property
    def missing(self) -> list[tuple[int, int]]:
        return [k for k in self.keys if k not in self.outputs]

    def add(self, key: tuple[int, int], out: np.ndarray) -> list[tuple[OutWindow, np.ndarray]]:
        """Add tile ``key``'s raw output; return the cells that became final (window, pixels
        as float32 in [0, 1], H×W×C), in window coordinates relative to the grid."""
        self.outputs[key] = out
        ready = []
        for i in self._cells_of.get(key, ()):
            y0, y1, x0, x1, cover = self.cells[i]
            if i in self._done_cells or any(k not in self.outputs for k in cover):
                continue
            acc = None
            wsum = None
            for k in cover:
                t = self.grid.tile(*k)
                wy, wx = self.grid.weights(*k)
                ys = slice(y0 - t.write_y.start, y1 - t.write_y.start)
                xs = slice(x0 - t.write_x.start, x1 - t.write_x.start)
                wgt = wy[ys][:, None] * wx[xs][None, :]
                val = self.outputs[k][ys, xs] * wgt[..., None]
                acc = val if acc is None else acc + val
                wsum = wgt if wsum is None else wsum + wgt
            cell = acc / np.maximum(wsum, 1e-12)[..., None]
            self._done_cells.add(i)
            ready.append((OutWindow(y0, x0, y1 - y0, x1 - x0), cell))
        return ready


class TileCache:
    """Thread-safe LRU of finished raw tiles, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            if value.nbytes > self.max_bytes:
                return
            self._items[key] = value
            self.nbytes += value.nbytes
            while self.nbytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.nbytes -= dropped.nbytes

    def set_max_bytes(self, max_bytes: int) -> None:
        """Change the bound (evicting least recently used tiles if it shrank)."""
        with self._lock:
            self.max_bytes = int(max_bytes)
        self.put(("__probe__",), np.empty(0, np.uint8))
        with self._lock:
            self._items.pop(("__probe__",), None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.nbytes = 0


@dataclass(frozen=True)
class BandFeed:
    """The bands a Run of a layer feeds the model (the engine's rule, the form's *Bands*): ``plan``
    the Run's :class:`~ldcsr_core.geo.radiometry.BandPlan` of the layer's raster (all its bands, file
    order), ``sources`` the arrays its bands are read from (``(H, W)``, or ``(H, W, C)``: a layer's
    data, the band layers of its file, a lazy file's level), ``where`` the ``(source, channel or
    None)`` of each raster band, ``shows`` the raster band (0-based) of each colour channel the layer
    shows (its values: the lens's output)."""

    plan: Any
    sources: tuple
    where: tuple
    shows: tuple[int, ...]

    @staticmethod
    def of_layer(data: Any, rgb: bool) -> "BandFeed":
        """A layer's own channels, in its order: a grey layer replicated, RGB(A) as they are."""
        n = int(data.shape[-1]) if rgb else 1
        plan = plan_bands(n, ("red", "green", "blue", "alpha")[:n] if rgb else None)
        return BandFeed(plan, (data,), tuple((0, c if rgb else None) for c in range(n)), tuple(range(min(n, 3))))

    def pick(self, arrays: Sequence[np.ndarray | None], bands: Sequence[int]) -> np.ndarray:
        """``(len(bands), h, w)``: raster ``bands`` from a window of each source (``arrays``)."""
        return np.stack([arrays[s] if c is None else arrays[s][..., c] for s, c in (self.where[b] for b in bands)])

    def window(self, ys: slice, xs: slice, bands: Sequence[int]) -> np.ndarray:
        """Raster ``bands`` in a window, each source read once."""
        used = {self.where[b][0] for b in bands}
        return self.pick([np.asarray(src[ys, xs]) if i in used else None for i, src in enumerate(self.sources)], bands)


class LayerPixels:
    """Window access to a layer's full-resolution pixels for the engine, with one fixed stretch.

    ``data`` is the base level (NumPy, dask or any array-like with ``shape``/``__getitem__``);
    ``rgb`` says whether the last axis holds RGB(A). ``feed`` (:class:`BandFeed`) says which raster
    bands reach the model, as a Run of the layer feeds them (the form's *Bands*, a band layer's file's
    other bands: only the triplets holding the bands the layer shows are computed); None: the
    layer's own channels. The stretch is a Run's (``ldcsr upscale``'s):
    the engine's per-band :func:`~ldcsr_core.geo.stretch.compute_stretch` (``method``: the form's
    *Stretch*; ``auto``: 8-bit keeps 0…255, other types their 0.05–99.95 percentiles) fitted once per
    layer on the sample a Run of the layer fits it on (:func:`~ldcsr_core.geo.stretch.sample_array`),
    or ``fitted`` = ``(stretch, fill)`` when the caller has the Run's own (a lazy layer: fitted on
    its file, :func:`napari_ldcsr.lens._plan.layer_pixels`), or, for a multiscale layer no Run takes,
    on its ``coarse`` level; indexed by raster band. The mapping both ways is the engine's (:attr:`stretch`, a
    ``radiometry.Stretch``): a band far from 0 (int32 near 2e9, float64 near 1e8) keeps its levels,
    a constant layer maps back to its value, and the values come back in the layer's dtype (float64
    too), within its range (int64 too); what the source has beyond the stretch (its brightest and
    darkest 0.05 %, or what an overview missed) is added back as a Run adds it back.

    Invalid pixels — NaN, the layer's ``nodata`` (or the form's: ``given``, any form of ``ldcsr upscale
    --nodata``: ranges, several values, each band's), alpha 0 — follow a Run's rules, band by band
    (``ldcsr_core.geo.radiometry``): left out of the stretch, filled for the model from their valid
    neighbours (:meth:`read`; far from any, with the Run's fill values), and put back on the output
    grid by nearest neighbour (:meth:`under`, :meth:`restore`), so the lens never shows made-up
    values there.
    """

    def __init__(self, data: Any, rgb: bool, coarse: Any = None, nodata: Any = None, *,
                 method: str = "auto", fitted: tuple | None = None, feed: BandFeed | None = None,
                 given: bool = False):
        self.data, self.rgb = data, bool(rgb)
        # the level the stretch was fitted on where it is not what the windows are read from (a multiscale
        # layer no Run takes: its coarsest level), so that an edit of it alone fits the stretch again
        self.fitted_on = coarse if fitted is None else None
        self.shape = tuple(int(v) for v in data.shape[:2])
        self.dtype = np.dtype(data.dtype)
        self.u8 = self.rgb and self.dtype == np.uint8  # shown as values with the source's contrast
        self.alpha = self.rgb and int(data.shape[-1]) == 4
        self.feed = feed or BandFeed.of_layer(data, self.rgb)
        whole = self.feed.plan
        # a Run's nodata (the engine's with_nodata; ``given``: the form's): the value it writes on
        # invalid pixels, and each raster band's values and ranges
        self.nodata, self._band_nodata = band_nodata(nodata, whole.count, self.dtype, given=given)
        self.shows = self.feed.shows
        self.plan = whole.holding(self.shows)  # the triplets holding the layer's bands (a Run's)
        self._colour = list(self.plan.colour)
        self._alpha = list(whole.alpha)
        self._reads = self._colour + self._alpha  # what a window read takes
        self.masked = bool(self._alpha) or self.dtype.kind == "f" or any(self._band_nodata)  # may have invalid pixels
        if fitted is None:
            every = list(range(whole.count))
            sample = self.feed.pick([np.asarray(coarse)], every) if coarse is not None else \
                self.feed.pick([sample_array(src) for src in self.feed.sources], every)
            valid = self._valid(sample, every)
            if valid is not None and not valid[list(self.shows)].any() or sample.size == 0:
                raise ValueError(self.no_valid_pixels())
            valid = np.ones(sample.shape, bool) if valid is None else valid
            stretch = compute_stretch(sample, valid, self.dtype, method=method)
            fitted = stretch, fill_values(stretch, sample, valid)
        self.stretch: Stretch = fitted[0]  # the engine's mapping to [0, 1] and back, by raster band
        self.fill = tuple(float(v) for v in fitted[1])
        # values beyond the stretch (a percentile stretch's tails, a ship an overview missed)
        self.beyond = any(self.stretch.clips(b) for b in self.shows)
        # how a Run of the layer records its reading (ldcsr_core.geo.job.reading_tags): band triplets
        # and stretch, by source band; and (nodata used, the layer's) when the form's replaced it
        self.reading: tuple = (self.plan.groups, self.stretch)
        self.reading_nodata: tuple | None = None

    def no_valid_pixels(self) -> str:
        """Why no stretch can be fitted: the layer has no valid pixel."""
        return ("the layer has no finite pixel values" if self.dtype.kind == "f" and self.nodata is None
                else "the layer has no valid (non-nodata) pixel values")

    def _valid(self, bands: np.ndarray, which: Sequence[int]) -> np.ndarray | None:
        """Which values of raster bands ``which`` (``bands``: ``(len(which), h, w)``, alpha bands among
        them) are valid (the engine's ``valid_mask``), or None when the layer can have no invalid value."""
        if not self.masked:
            return None
        alpha = tuple(i for i, b in enumerate(which) if b in self._alpha)
        return valid_mask(bands, [() if b in self._alpha else self._band_nodata[b] for b in which], alpha=alpha)

    def _window(self, y0: int, x0: int, h: int, w: int):
        """The raster's colour bands of the model's triplets (:attr:`plan`) in a window and their
        validity (``(bands, h, w)``: band ``self._colour[i]`` at ``i``; validity None: all valid)."""
        win = self.feed.window(slice(y0, y0 + h), slice(x0, x0 + w), self._reads)
        valid = self._valid(win, self._reads)
        k = len(self._colour)
        return win[:k], None if valid is None else valid[:k]

    def read(self, y0: int, x0: int, h: int, w: int) -> np.ndarray:
        """Engine input for a window: ``h×w×3·groups`` float32 in [0, 1] (a Run's: its triplets)."""
        bands, valid = self._window(y0, x0, h, w)
        # the engine's Stretch.to_unit: wide types (int32, float64...) offset in float64
        unit = np.ascontiguousarray(self.stretch.to_unit(bands, self._colour))
        if valid is not None and not valid.all():  # the engine's fill: the mean of valid neighbours
            unit = fill_invalid(unit, valid, tuple(self.fill[b] for b in self._colour))
        full = np.zeros((self.plan.count,) + unit.shape[1:], np.float32)  # BandPlan.gather: by raster band
        full[self._colour] = unit
        return np.ascontiguousarray(self.plan.gather(full), dtype=np.float32)

    def under(self, y0: int, x0: int, h: int, w: int, out_shape: Sequence[int]):
        """What the source holds under output window ``(y0, x0, h, w)`` of the global grid
        ``out_shape`` (nearest neighbour, the engine's rule), from one read: ``(bad, add)``.
        ``bad``: which values of the layer's bands lie on invalid source values (``(bands, h, w)``
        bool), or None. ``add``: per band of the layer, what the source has beyond the stretch there
        (the engine's ``Stretch.excess``, for :meth:`display`: a Run's rule), or None when nothing lies beyond."""
        if not (self.masked or self.beyond):
            return None, None
        rows = nearest_index(self.shape[0], int(out_shape[0]), y0, h)
        cols = nearest_index(self.shape[1], int(out_shape[1]), x0, w)
        r0, c0 = int(rows[0]), int(cols[0])
        bands, valid = self._window(r0, c0, int(rows[-1]) + 1 - r0, int(cols[-1]) + 1 - c0)
        at = np.ix_(rows - r0, cols - c0)
        mine = [self._colour.index(b) for b in self.shows]
        bad = None if valid is None else ~valid[mine][(slice(None),) + at]
        add = None
        if self.beyond:
            ex = [self.stretch.excess(bands[i], b, None if valid is None else valid[i])
                  for i, b in zip(mine, self.shows)]
            add = [None if e is None else e[at] for e in ex] if any(e is not None for e in ex) else None
        return (bad if bad is not None and bad.any() else None), add

    def restore(self, values: np.ndarray, bad: np.ndarray | None) -> np.ndarray:
        """``values`` (the layer's, :meth:`display`) with the nodata value — or NaN — on ``bad``
        values (None: none), as a Run writes them (``restore_nodata``: a valid value equal to nodata is
        moved off it, also where no pixel is invalid)."""
        bands = np.moveaxis(values, -1, 0) if self.rgb else values[np.newaxis]
        valid = np.ones(bands.shape, bool) if bad is None else np.broadcast_to(~bad, bands.shape)
        bands = restore_nodata(np.ascontiguousarray(bands), valid, self.nodata, self.dtype)
        return np.moveaxis(bands, 0, -1) if self.rgb else bands[0]

    def display(self, unit: np.ndarray, add: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
        """Engine output (float32 ``H×W×3·groups``, unclamped) → the layer's values in its dtype: the
        stretch inverted by the engine's ``Stretch.from_unit`` (in float64, clipped to the dtype's
        range; a replicated band: the mean of its clipped channels, the engine's
        ``BandPlan.unit_planes``) as a Run's sink does, for the bands the layer shows, with ``add``
        (:meth:`under`: what lies beyond the stretch) put back."""
        planes = self.plan.unit_planes(unit)
        values = self.stretch.from_unit([planes[self._colour.index(b)] for b in self.shows], list(self.shows),
                                        clip_unit=True, add=add)
        return np.moveaxis(values, 0, -1) if self.rgb else values[0]


def window_transform(transform: Sequence[float], in_shape: Sequence[int], out_shape: Sequence[int],
                     win: OutWindow) -> tuple[float, ...]:
    """GeoTIFF transform of output window ``win`` on the global grid ``in_shape → out_shape``."""
    a, b, c, d, e, f = result_transform(transform, in_shape, out_shape, (0, 0))
    return (a, b, c + a * win.x0 + b * win.y0, d, e, f + d * win.x0 + e * win.y0)


def global_out_shape(in_shape: Sequence[int], step: float) -> tuple[int, int]:
    """The global output grid of a layer at a scale step (the engine's rule)."""
    return output_shape(tuple(in_shape[:2]), step)
