"""Tile planning and blending, torch-free (after MONAI's sliding-window inference).

Geometry is planned on the *output* grid: windows start on multiples of :data:`LATENT` (the latent
grid), so a tile's latent, noise and resampling taps coincide with those of the whole image.  Each
window is fed the LR pixels it needs plus a context margin; overlapping windows are blended with
raised-cosine weights and normalised once.  :class:`RowMerger` hands finished rows to a sink in
order, so a scene costs one tile plus a band of output rows.  The model side lives in
:mod:`ldcsr_core.tiling`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError
from .grids import AxisWindow, taps
from .rules import (
    DEFAULT_TILE_OUT, LATENT, MAX_TILE_MARGIN, MIN_WINDOW, check_callable, check_count, check_number, check_shape,
    check_tile, output_shape,
)

__all__ = ["Span", "Tile", "TilePlan", "TileGrid", "plan_tiles", "plan_grid", "blend_weights", "RowMerger",
           "window_signature", "check_plan"]


@dataclass(frozen=True)
class Span:
    """Half-open interval [start, stop) on one axis."""

    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Tile:
    """One model window: ``read`` = LR rows/cols it needs, ``write`` = output rows/cols it produces."""

    index: int
    read_y: Span
    read_x: Span
    write_y: Span
    write_x: Span

    @property
    def read(self):
        """(y0, x0, h, w) of the input window."""
        return (self.read_y.start, self.read_x.start, self.read_y.size, self.read_x.size)

    @property
    def write(self):
        """(y0, x0, h, w) of the output window."""
        return (self.write_y.start, self.write_x.start, self.write_y.size, self.write_x.size)


@dataclass(frozen=True)
class TilePlan:
    in_shape: tuple[int, int]
    out_shape: tuple[int, int]
    tile_out: tuple[int, int]
    overlap_out: tuple[int, int]
    tiles: tuple[Tile, ...]

    def __len__(self) -> int:
        return len(self.tiles)

    @property
    def scale(self) -> tuple[float, float]:
        return (self.out_shape[0] / self.in_shape[0], self.out_shape[1] / self.in_shape[1])


def _axis_spans(n_out: int, size: int, overlap: int) -> list[Span]:
    if n_out <= size:
        return [Span(0, n_out)]
    step = size - overlap
    starts = list(range(0, n_out - size + 1, step))
    last = ((n_out - size) // LATENT) * LATENT
    if starts[-1] != last:
        starts.append(last)
    return [Span(s, n_out if s == starts[-1] else s + size) for s in starts]


def _balanced_spans(n_out: int, window: int, overlap: int) -> list[Span]:
    """Equal windows (multiples of LATENT, starts on the latent grid) of at most ``window`` covering
    ``n_out`` with neighbours sharing at least ``overlap``: no thin leftover window at the end."""
    if n_out <= window:
        return [Span(0, n_out)]
    # the last window ends at n_out but starts on the latent grid: it may be up to LATENT - 1 longer
    limit = window - (LATENT if n_out % LATENT else 0)
    n = max(2, math.ceil((n_out - overlap) / max(limit - overlap, LATENT)))
    while True:
        size = math.ceil((n_out + (n - 1) * overlap) / n / LATENT) * LATENT
        if size <= limit or size <= overlap + LATENT:
            break
        n += 1
    # floored starts (exact integer arithmetic: a float step once floored the last start one latent
    # short, leaving a window longer than the maximum): consecutive starts differ by at most
    # ceil8(step), so overlaps stay >= overlap
    starts = sorted({min(k * (n_out - size) // ((n - 1) * LATENT) * LATENT, ((n_out - size) // LATENT) * LATENT)
                     for k in range(n)})
    spans = [Span(st, min(n_out, st + size)) for st in starts]
    if spans[-1].stop < n_out:
        spans[-1] = Span(spans[-1].start, n_out)
    return spans


def _read_span(w: Span, n_in: int, n_out: int, margin: int) -> Span:
    r = n_in / n_out
    return Span(max(0, math.floor(w.start * r) - margin), min(n_in, math.ceil(w.stop * r) + margin))


@dataclass(frozen=True)
class TileGrid:
    """:func:`plan_tiles`' windows per axis, (read, write) span pairs: its tile ``iy * len(cols) + ix``
    reads and writes ``rows[iy]`` × ``cols[ix]`` (the plan is separable), so a grid costs
    O(rows + cols) even for a 64 000² output (the napari lens's)."""

    in_shape: tuple[int, int]
    out_shape: tuple[int, int]
    tile_out: tuple[int, int]
    overlap_out: tuple[int, int]
    rows: tuple[tuple[Span, Span], ...]
    cols: tuple[tuple[Span, Span], ...]


def plan_tiles(in_shape, out_shape, tile: int | None = None, *, overlap: float = 0.25,
               margin: int | None = None, window: int | None = None,
               overlap_out: int | None = None) -> TilePlan:
    """Plan windows covering ``out_shape`` from an ``in_shape`` input: :func:`plan_grid`'s (its
    parameters), as tiles in row-major order."""
    g = plan_grid(in_shape, out_shape, tile, overlap=overlap, margin=margin, window=window, overlap_out=overlap_out)
    tiles = tuple(Tile(iy * len(g.cols) + ix, ry, rx, wy, wx)
                  for iy, (ry, wy) in enumerate(g.rows) for ix, (rx, wx) in enumerate(g.cols))
    return TilePlan(g.in_shape, g.out_shape, g.tile_out, g.overlap_out, tiles)


def plan_grid(in_shape, out_shape, tile: int | None = None, *, overlap: float = 0.25,
              margin: int | None = None, window: int | None = None,
              overlap_out: int | None = None) -> TileGrid:
    """Plan windows covering ``out_shape`` from an ``in_shape`` input, per axis.

    Parameters
    ----------
    tile : tile side in input pixels (>= 32); overrides ``window``.
    overlap : fraction of the output tile shared with the neighbour (blended), when ``tile`` is given
        or ``overlap_out`` is not.
    margin : LR context pixels read around each window (default: 8 + 1/8 of the tile; in balanced,
        model-sized plans :data:`~ldcsr_core.rules.MAX_TILE_MARGIN`).
    window : largest output window side (output pixels) when ``tile`` is None; windows are then
        balanced (equal sizes, no thin leftover) and at most this big.  None: ``DEFAULT_TILE_OUT``
        with the fixed-size layout of earlier versions.  :func:`ldcsr_core.tiling.plan_for_model`
        picks it from the model and a memory budget.
    overlap_out : overlap of neighbouring windows in output pixels (rounded up to the latent grid),
        e.g. the model's measured receptive field; overrides ``overlap``.
    """
    (h, w), (H, W) = check_shape(in_shape, "in_shape"), check_shape(out_shape, "out_shape")
    if min(h, w, H, W) < 1:
        raise InputError(f"empty image: input {in_shape}, output {out_shape}")
    output_shape((h, w), out_shape=(H, W))  # upscale's one scale rule: larger, at most ×MAX_SCALE per axis
    tile = check_tile(tile)
    if not 0 <= check_number(overlap, "overlap") < 0.5:
        raise InputError(f"overlap must be >= 0 and < 0.5, got {overlap}")
    if window is not None:  # whole pixels: 64.5 was cut to 64, '64' failed in a comparison
        window = check_count(window, "window (output pixels)", MIN_WINDOW + LATENT)
    if overlap_out is not None:
        overlap_out = check_count(overlap_out, "overlap_out (output pixels)", 0)
    if margin is not None:  # a negative one read less than the window needs
        margin = check_count(margin, "margin (input pixels)", 0)
    balanced = tile is None and window is not None
    sizes, overlaps, spans = [], [], []
    for n_in, n_out in ((h, H), (w, W)):
        s = n_out / n_in
        if tile is not None:
            t_out = int(round(min(tile, 2 ** 62) * s))  # (past any raster's side: one tile; 2**1100 * s overflowed)
        else:
            t_out = DEFAULT_TILE_OUT if window is None else int(window)
        t_out = max(MIN_WINDOW + LATENT, (t_out // LATENT) * LATENT)
        if overlap_out is not None:
            ov = math.ceil(overlap_out / LATENT) * LATENT if n_out > t_out else 0
        else:
            ov = max(2 * LATENT, int(round(t_out * overlap / LATENT)) * LATENT) if n_out > t_out else 0
        cap = t_out // 2 - LATENT
        ov = min(ov, (cap // LATENT) * LATENT if balanced else cap) if n_out > t_out else 0
        ax = _balanced_spans(n_out, t_out, ov) if balanced else _axis_spans(n_out, t_out, ov)
        spans.append(ax)
        sizes.append(max(sp.size for sp in ax))
        overlaps.append(ov)
    ys, xs = spans
    if margin is not None:
        m_y = m_x = margin
    elif balanced:  # model-sized windows: the measured receptive field, whatever their size
        m_y = m_x = MAX_TILE_MARGIN
    else:
        m_y, m_x = (8 + int(size * n_in / n_out) // 8 for size, n_in, n_out in ((sizes[0], h, H), (sizes[1], w, W)))
    rows = tuple((_read_span(wy, h, H, m_y), wy) for wy in ys)
    cols = tuple((_read_span(wx, w, W, m_x), wx) for wx in xs)
    return TileGrid((h, w), (H, W), tuple(sizes), tuple(overlaps), rows, cols)


def check_plan(plan, tiles=()) -> None:
    """``plan`` is a :class:`TilePlan` whose shapes :func:`~ldcsr_core.rules.output_shape` takes (the
    one scale rule, also for a plan made by hand), and each of ``tiles`` a :class:`Tile` inside its
    grids (a tile of another plan ran on windows this plan's image does not have, and gave a wrong
    picture); :class:`InputError` otherwise."""
    if not isinstance(plan, TilePlan):
        raise InputError(f"plan must be a TilePlan (plan_for_model or plan_tiles), got {type(plan).__name__}")
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    try:
        output_shape((h, w), out_shape=(H, W))
    except InputError as e:
        raise InputError(f"plan: {e}") from None
    for t in tiles:
        if not isinstance(t, Tile):
            raise InputError(f"tiles must be Tiles of the plan (plan.tiles), got {type(t).__name__}")
        if t.read_y.stop > h or t.read_x.stop > w or t.write_y.stop > H or t.write_x.stop > W:
            raise InputError(f"tile {t.index} lies outside the plan's {h}×{w} → {H}×{W} px: give the plan "
                             "it was made by")


def _axis_signature(read: Span, write: Span, n_in: int, n_out: int) -> tuple:
    if read.start == 0 or read.stop == n_in:  # at the image border: taps clamp there, only itself
        return ("at", read.start, read.size, write.start, write.size)
    # inside: the output→input map j -> (j + 0.5)·n_in/n_out - 0.5 taken relative to the data held
    # (bicubic and the upsampler's bilinear levels), and the latent grid's nearest taps onto the LR
    # pixels held, compared as they are (integers: exact, whatever the output length modulo 8)
    phase = write.start * n_in - read.start * n_out
    lat = AxisWindow(n_in, n_out, read.start, read.size, write.start, write.size).coarse(LATENT)
    lat_taps, _ = taps("nearest", lat.out_full, n_in, lat.out_start, lat.out_len, read.start, read.size)
    return ("in", read.size, write.size, phase, lat_taps.tobytes())


def window_signature(plan: TilePlan, tile: Tile) -> tuple:
    """Tiles with equal signatures have the same window geometry up to a translation on the global
    grids (the same sizes and the same resampling taps relative to their data), so they can run
    through the model as one batch; tiles at the image border only batch with themselves (the
    triplets of a multi-band tile)."""
    check_plan(plan, [tile])
    (h, w), (H, W) = plan.in_shape, plan.out_shape
    return (_axis_signature(tile.read_y, tile.write_y, h, H), _axis_signature(tile.read_x, tile.write_x, w, W))


def blend_weights(span: Span, n_out: int, overlap: int) -> np.ndarray:
    """Raised-cosine ramps of length ``overlap`` at window ends that are not image borders."""
    wgt = np.ones(span.size, dtype=np.float32)
    if overlap <= 0:
        return wgt
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)).astype(np.float32)
    ramp = np.maximum(ramp, 1e-3)
    k = min(overlap, span.size)
    if span.start > 0:
        wgt[:k] = np.minimum(wgt[:k], ramp[:k])
    if span.stop < n_out:
        wgt[-k:] = np.minimum(wgt[-k:], ramp[:k][::-1])
    return wgt


class RowMerger:
    """Blends tile outputs and emits finished output rows, top to bottom, to ``sink(y0, rows)``.

    Holds only the band of rows that tiles still touch (``aggregate``/``finalize``, as MONAI's
    Merger).  Tiles must arrive in plan order.
    """

    def __init__(self, plan: TilePlan, sink: Callable[[int, np.ndarray], None], channels: int = 3):
        check_plan(plan)  # a shape or a dict failed with "'tuple' object has no attribute 'tiles'"
        self.plan, self.sink = plan, check_callable(sink, "sink", optional=False)
        self.channels = check_count(channels, "channels")  # 0 failed in numpy's broadcasting
        self.done = 0  # rows [0, done) have been emitted; the buffer starts at row `done`
        self.used = 0  # rows of the buffer that tiles have touched
        cap = 2 * max((t.write_y.size for t in plan.tiles), default=1)
        self.acc = np.zeros((cap, plan.out_shape[1], channels), np.float32)
        self.wsum = np.zeros((cap, plan.out_shape[1]), np.float32)

    def _reserve(self, rows: int):
        if rows > self.acc.shape[0]:  # only for unusual plans: grow geometrically
            cap = max(rows, 2 * self.acc.shape[0])
            acc = np.zeros((cap,) + self.acc.shape[1:], np.float32)
            wsum = np.zeros((cap,) + self.wsum.shape[1:], np.float32)
            acc[:self.used], wsum[:self.used] = self.acc[:self.used], self.wsum[:self.used]
            self.acc, self.wsum = acc, wsum

    def aggregate(self, values: np.ndarray, tile: Tile):
        check_plan(self.plan, [tile])
        want = (tile.write_y.size, tile.write_x.size, self.channels)
        if not isinstance(values, np.ndarray) or values.shape != want or values.dtype.kind not in "fiu":
            got = (f"shape {values.shape} of {values.dtype}" if isinstance(values, np.ndarray)
                   else f"a {type(values).__name__}")  # numpy's broadcasting or ufunc errors, a str added to floats
            raise InputError(f"tile {tile.index}'s output must be a {want[0]}×{want[1]}×{want[2]} NumPy array of "
                             f"numbers (its write window × channels), got {got}")
        H, W = self.plan.out_shape
        wy = blend_weights(tile.write_y, H, self.plan.overlap_out[0])
        wx = blend_weights(tile.write_x, W, self.plan.overlap_out[1])
        y0 = tile.write_y.start - self.done
        if y0 < 0:
            raise InputError(f"tile {tile.index} arrived after its rows were emitted (tiles must come in plan order)")
        self._reserve(y0 + tile.write_y.size)
        self.used = max(self.used, y0 + tile.write_y.size)
        sl = (slice(y0, y0 + tile.write_y.size), slice(tile.write_x.start, tile.write_x.stop))
        if wy.min() == 1.0 and wx.min() == 1.0:  # no ramp (e.g. windows that do not overlap): same sums
            self.acc[sl] += values
            self.wsum[sl] += 1.0
        else:
            wgt = wy[:, None] * wx[None, :]
            self.acc[sl] += values * wgt[..., None]
            self.wsum[sl] += wgt
        nxt = next((t.write_y.start for t in self.plan.tiles[tile.index + 1:]), H)
        self._flush(min(nxt, H))

    def _flush(self, upto: int):
        n = upto - self.done
        if n <= 0:
            return
        self.sink(self.done, self.acc[:n] / np.maximum(self.wsum[:n], 1e-12)[..., None])
        rest = self.used - n  # rows still open: move them to the front (only the overlap band)
        if rest > 0:
            self.acc[:rest], self.wsum[:rest] = self.acc[n:self.used].copy(), self.wsum[n:self.used].copy()
        self.acc[max(rest, 0):self.used] = 0
        self.wsum[max(rest, 0):self.used] = 0
        self.used, self.done = max(rest, 0), upto

    def finalize(self):
        self._flush(self.plan.out_shape[0])
