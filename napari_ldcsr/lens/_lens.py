"""The live LDCSR lens: whatever part of a layer is on screen is super-resolved when the camera stops.

Flow: camera (or canvas) change → the running view is cancelled at once (its worker stops after the tile it is
computing; anything it still yields is dropped) → after ``debounce_ms`` without further change: visible window →
scale step from the zoom (output px ≈ screen px, capped) → the tiles of the layer's *global* output grid at that
step that touch the window → cached tiles are shown at once, the others are computed one by one (on a CUDA card,
windows of one geometry as one batch) in a napari ``thread_worker`` (model loaded once, kept) → each tile's final
pixels go into one "live" layer that lies exactly over the source. The Qt-free pieces (grid, exact composition,
cache) are in :mod:`napari_ldcsr.lens._lens_cache`; the view planning is in :mod:`napari_ldcsr.lens._plan` and the
drawing into napari in :mod:`napari_ldcsr.lens._draw`, the events it follows in
:mod:`napari_ldcsr.lens._events`, the form's settings it takes in :mod:`napari_ldcsr.lens._settings`, the
worker that computes a view's tiles in :mod:`napari_ldcsr.lens._lens_worker`. This module follows the camera.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal

from ldcsr_core.rules import MAX_SCALE, check_mode

from .._viewer import notify as _notify, notify_removal
from . import _draw as draw
from ._events import LensEvents
from ._lens_worker import LensWorker
from ._settings import LensSettings
from ._lens_cache import DEFAULT_CACHE_BYTES, LayerPixels, TileCache, WindowComposer
from ._plan import (
    LensView, OutsideNotes, all_cached, band_group_change, layer_pixels, lens_window, model_overlap, plan_view, unsupported_reason,
    view_reading, visible_data_box,
)

__all__ = ["LiveLens", "unsupported_reason"]

def _digests(pixels: LayerPixels, which=None, redraw=None) -> tuple:
    """The engine's :func:`~ldcsr_core.pixel_digest.pixel_digest` of each array ``pixels`` reads (a dask
    array's, a layer's or a lazy file's level: its task graph's name, nothing read; None for the lens's own
    reader of a lazy file's level, :func:`~napari_ldcsr.io._lazy.window_reader`: not edited in place; ``which``:
    those indices only, the others None; ``redraw``: the napari event asking, whose digests are shared with
    the others it reaches), and last that of the level its stretch was fitted on (``fitted_on``: a multiscale
    layer's coarsest, whose edit alone changes the stretch; None for the others, fitted on what they read)."""
    from .._redraw_digest import redraw_digest

    arrays = (*pixels.feed.sources, pixels.fitted_on)
    return tuple(redraw_digest(src, redraw) if src is not None and (which is None or i in which) else None
                 for i, src in enumerate(arrays))


class LiveLens(LensSettings, LensEvents, LensWorker, QObject):
    """Live super-resolution of the visible part of one image layer.

    Parameters
    ----------
    viewer : the napari viewer.
    model_provider : ``source -> model`` (a :class:`~napari_ldcsr.run._job.ModelCache`'s ``get`` or any callable;
        called in the worker thread, so it should cache). Default: the engine's ``load_model``, cached.
    mode : "fast" (default, the deterministic decoder) or "diffusion" (seeded sampler).
    max_scale : cap of the scale step (≤ ``MAX_SCALE`` = 8, the models' training range).
    cache_bytes : memory bound of the LRU tile cache.
    debounce_ms : quiet time after the last camera change before a view is computed.
    tile : tile side in input pixels (as ``upscale``'s ``tile=``); default: windows of at most ``DEFAULT_TILE_OUT``
        output px (every model allows them; the official weights allow no more) overlapping by the model's
        measured ``tile_overlap`` — the plan ``upscale`` makes for a model whose largest window is
        ``DEFAULT_TILE_OUT``.  Small windows show the first tile quickly; the small overlap keeps the view's total
        work close to one ``upscale`` of it.
    """

    #: redraws of the live layer while tiles arrive are at least this far apart (the first and the last tile of a
    #: view are drawn at once).
    REDRAW_MS = 500

    #: (view generation, plan index) each time a tile's final pixels are drawn.
    tile_shown = Signal(object)
    #: the view generation, when every tile of the view is on screen.
    view_done = Signal(int)
    #: the generation of a view that was cancelled by a camera change.
    view_cancelled = Signal(int)
    #: the lens turned itself off (its layer was removed, or has no finite pixels).
    turned_off = Signal()
    #: the lens is on but shows nothing: zoomed out below ×1.25, the layer off screen, a 3-D view.
    idle = Signal()

    def __init__(self, viewer, model_provider: Callable[[str | None], Any] | None = None, *,
                 model_source: str | None = None, mode: str = "fast", seed: int = 0,
                 max_scale: float = MAX_SCALE, cache_bytes: int = DEFAULT_CACHE_BYTES,
                 debounce_ms: int = 150, tile: int | None = None):
        super().__init__()
        from ..run._job import ModelCache

        self.viewer = viewer
        self._models = model_provider or ModelCache().get
        self.model_source = model_source
        self.mode, self.seed, self.max_scale, self.tile = check_mode(mode), int(seed), float(max_scale), tile
        self.nodata = None  # the form's nodata (set_nodata); None: the layer's
        self.stretch = "auto"  # the form's Stretch (set_stretch), as a Run fits it
        self.bands: tuple[int, ...] | None = None  # the form's Bands (set_bands), as a Run feeds them
        self.cache = TileCache(cache_bytes)
        self._layer = None
        self._pixels: LayerPixels | None = None
        self._digests: tuple = ()  # the engine's pixel_digest of what ``_pixels`` reads, when it was made
        self._redrawn = False  # a layer it reads was redrawn while the lens was off: checked when turned on
        self._reread_for = None  # the redraw event whose edit ``_pixels`` is read again for (its digests shared)
        self._bands: list = []  # the other band layers ``_pixels`` reads (``_follow_bands``)
        self._grids: dict = {}
        self._enabled, self._gen, self._worker, self._said = False, 0, None, None  # _said: _on_error's last
        self._view: LensView | None = None
        self._lock = threading.Lock()  # one tile through the model at a time
        self._live = None
        self._version = 0  # bumped when the source's pixels change (invalidates the cache keys)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(debounce_ms))
        self._timer.timeout.connect(self.refresh)
        self._unshown: list = []  # tiles written into the live layer, not drawn yet
        self._last_redraw = 0.0
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw)
        self._connected = False
        self._outside = OutsideNotes(lambda *a: _notify(*a))  # an adapted model beyond its guard's check
        self.note: str | None = None  # ... for the current view

    # ------------------------------------------------------------------ public surface
    @property
    def layer(self):
        return self._layer

    @property
    def live_layer(self):
        """The layer the lens paints into (None while there is nothing to show)."""
        return self._live if self._live is not None and self._live in self.viewer.layers else None

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def busy(self) -> bool:
        """True while tiles of the current view are still being computed."""
        return self._worker is not None

    @property
    def view(self) -> LensView | None:
        return self._view

    def set_layer(self, layer) -> bool:
        """Follow ``layer``; an unsupported one gives a notification and leaves the lens idle."""
        reason = unsupported_reason(layer)
        if reason is not None:
            _notify("warning", f"Live lens: {reason}.")
            self._leave()
            return False
        if layer is not self._layer:
            self._leave()
            self._layer, self._said = layer, None  # another layer: an error there is said again
            self._grids.clear()
            self._version += 1
            self._follow(layer, True)
        if self._enabled:
            self.refresh()
        return True

    def set_enabled(self, on: bool) -> bool:
        """Turn the lens on (computes the current view at once) or off (removes the live layer;
        the cache stays, so turning it on again shows cached tiles instantly)."""
        if on and self._layer is None:
            _notify("warning", "Live lens: choose an image layer first.")
            return False
        if on and self._redrawn:  # redrawn while off: an edit in place is known before the view is planned
            self._check_pixels()
        self._enabled, self._said = bool(on), None  # turned on again: an error is said again
        if on:
            self._connect()
            self.refresh()
        else:
            self._timer.stop()
            self._cancel()
            self._drop_live()
            self._view = None
        return self._enabled

    def set_model(self, provider: Callable[[str | None], Any] | None = None, source: str | None = None) -> None:
        """Use another model (the cache keys include the model, so nothing stale is reused)."""
        if provider is None and source == self.model_source:
            return
        if provider is not None:
            self._models = provider
        self.model_source, self._said = source, None  # picked again: its error is said again
        self._restart()

    def close(self) -> None:
        """Stop, remove the live layer and disconnect from the viewer."""
        self.set_enabled(False)
        self._disconnect()

    # ------------------------------------------------------------------ viewer events
    def _on_camera(self, *_: Any) -> None:
        if not self._enabled:
            return
        self._cancel()  # the old view's work stops within one tile
        if self._usable() and self._shows():
            planned = self._plan_view()
            if planned is not None and (self._same_view(planned) or all_cached(planned, self.cache)):
                self.refresh()  # everything is cached: show it now, no debounce
                return
        self._timer.start()

    def _on_removed(self, event) -> None:
        removed, source = event.value, event.value is self._layer
        if removed is self._live:
            self._live = None
            self._cancel()
        elif source:
            self._leave()
        else:
            if band_group_change(self.viewer, self._layer, self._pixels, removed):  # a Run now reads the source alone
                self._on_data()
            return
        self._view = None
        if source and self._enabled:
            self._enabled = False
            notify_removal(self.viewer, "info", f"Live lens off: '{removed.name}' was removed.")
            self.turned_off.emit()

    def _leave(self) -> None:
        """Stop following the current layer: no work, no live layer, none of its events."""
        self._cancel()
        self._drop_live()
        self._follow(self._layer, False)
        self._follow_bands([])
        self._layer = self._pixels = None

    def _on_placement(self, *_: Any) -> None:
        """The source was moved, scaled, rotated or sheared (napari's transform mode: many times in
        a drag): the live layer goes with it at once (its window holds the same pixels), and what is
        on screen now is planned as after a camera move."""
        view, live = self._view, self.live_layer
        if view is not None and live is not None:
            draw.place(live, view)
        self._on_camera()

    def _on_data(self, *_: Any) -> None:
        """The source's pixels changed: forget its stretch and grids; new cache keys."""
        self._pixels = None
        self._grids.clear()
        self._version += 1
        self._restart()

    def _on_redrawn(self, event=None) -> None:
        """The source, or a band layer read with it, was redrawn: an edit in place keeps the array, which the
        cache keys and the stretch know the pixels by; a digest tells (off: when turned on)."""
        if self._pixels is not None and not self._enabled:
            self._redrawn = True
        elif self._pixels is not None:
            from ..io._lazy_edits import say_edits_not_used

            say_edits_not_used([getattr(event, "source", None)])  # a lazy layer's edit: the lens reads its file
            self._check_pixels(getattr(getattr(event, "source", None), "data", None), event)

    def _check_pixels(self, data=None, redraw=None) -> None:
        """Forget the pixels read when an array of them (``data``, where it is one; else all) was edited
        (``redraw``: the napari event that redrew it)."""
        self._redrawn = False
        if self._pixels is not None:
            which = {i for i, src in enumerate(self._pixels.feed.sources) if src is data} or None
            now = _digests(self._pixels, which, redraw)
            if any(now[i] != self._digests[i] for i in which or range(len(now))):
                self._reread_for = redraw  # read again at once: the digests just taken are of those pixels
                try:
                    self._on_data()
                finally:
                    self._reread_for = None

    def _on_display(self, *_: Any) -> None:
        """The source's contrast limits, gamma or colormap changed: show the live view the same way."""
        view, live = self._view, self.live_layer
        if view is not None and live is not None:
            data = live.data
            if data.dtype != np.uint8:  # display colours: recomputed from the values, painted cells only
                data = np.concatenate([draw.rgba(view, view.values)[..., :3], data[..., 3:]], axis=-1)
            self._live = draw.show_window(self.viewer, live, view, data)

    def _restart(self) -> None:
        if self._enabled:
            self._cancel()
            self.refresh()

    # ------------------------------------------------------------------ views
    def _cancel(self) -> None:
        self._redraw_timer.stop()
        self._unshown = []
        if self._worker is not None:
            self._worker.quit()
            self._worker = None
            if self._view is not None:
                self.view_cancelled.emit(self._view.gen)
        self._gen += 1

    def _pixels_for(self, layer) -> LayerPixels:
        if self._pixels is None:
            self._pixels = layer_pixels(layer, self.nodata, self.stretch, self.bands, self.viewer)
            self._digests = _digests(self._pixels, redraw=self._reread_for)
            self._follow_bands([lyr for lyr in self.viewer.layers if lyr is not layer and any(
                lyr.data is src for src in self._pixels.feed.sources)])
        return self._pixels

    def visible_data_box(self, layer) -> tuple[np.ndarray, float]:
        """The layer's data-coordinate box on screen and the screen px per layer pixel."""
        return visible_data_box(self.viewer, layer)

    def _plan_view(self):
        """(step, window, grid, cache-key prefix) of what is on screen now, or None (see
        :func:`~napari_ldcsr.lens._plan.plan_view`)."""
        from ldcsr_core.precision import loaded_model_key  # torch is loaded by now (the lens's models)
        layer = self._layer
        nodata = tuple(sorted(self.nodata.items())) if isinstance(self.nodata, dict) else self.nodata  # each band's: hashable
        key = (id(layer), self._version, loaded_model_key(self.model_source), id(self._models), self.mode,
               self.seed if self.mode == "diffusion" else None, nodata, self.stretch, self.bands)  # another file or float type: new tiles
        tile = None if self.mode == "diffusion" else self.tile  # diffusion mode: the engine's fixed windows
        try:
            pixels = self._pixels_for(layer)
        except (ValueError, OSError) as exc:  # no stretch to fit (every pixel is NaN), the form's refused,
            from ldcsr_core.errors import one_line  # a lazy layer's file gone or unreadable

            _notify("warning", f"Live lens off: '{layer.name}': {one_line(exc).rstrip('.')}.")
            self.set_enabled(False)
            self.turned_off.emit()
            return None
        return plan_view(self.viewer, layer, pixels, max_scale=self.max_scale, tile=tile,
                         grids=self._grids, overlap=lambda: model_overlap(self._models, self.model_source), key=key,
                         window=lambda i, o: lens_window(self._models, self.model_source, self.mode, i, o))

    def _shows(self) -> bool:
        """Whether there is a view to super-resolve: a 2-D view of the source, which is not hidden."""
        return self.viewer.dims.ndisplay == 2 and bool(self._layer.visible)

    def _usable(self) -> bool:
        layer = self._layer
        return self._enabled and layer is not None and layer in self.viewer.layers

    def _same_view(self, planned) -> bool:
        v = self._view
        return (v is not None and self.live_layer is not None and self.live_layer.visible
                and v.composer.complete and (v.step, v.win, v.prefix) == (planned[0], planned[1], planned[3]))

    def refresh(self, *_: Any) -> None:
        """Compute the current view now (the debounce timer calls this)."""
        self._timer.stop()
        if not self._usable():
            return
        self._cancel()
        planned = self._plan_view() if self._shows() else None
        self.note = None if planned is None else self._outside.check(
            self.model_source, planned[0], self.mode, view_reading(self.viewer, self._layer, self.bands, self.stretch))
        if planned is None:  # zoomed out, off screen, the source hidden or a 3-D view: hidden (napari 0.9 with Mesa's GL
            self._hide_live()  # crashed drawing the next camera move after a layer was removed in 3-D)
            self._view = None
            self.idle.emit()
            return
        if self._same_view(planned):
            return
        step, win, grid, prefix = planned
        pixels = self._pixels
        composer = WindowComposer(grid, win)
        vshape = (win.h, win.w) + ((4 if pixels.alpha else 3,) if pixels.rgb else ())
        view = LensView(self._gen, self._layer, step, grid, win, composer, prefix, np.zeros(vshape, pixels.dtype))
        self._view = view
        data = np.zeros((win.h, win.w, 4), np.uint8 if pixels.u8 else np.float32)
        cached = [(k, self.cache.get(prefix + k)) for k in composer.keys]
        painted = [k for k, out in cached if out is not None and draw.paint_cells(view, pixels, k, out, data)]
        self._show_window(view, data)  # one upload for everything the cache had
        for key in painted:
            self._shown(view, key)
        missing = composer.missing
        if not missing:
            self._finish(view)
            return
        self._start_worker(view, missing)

    # ------------------------------------------------------------------ painting
    def _show_window(self, view: LensView, data: np.ndarray) -> None:
        self._live = draw.show_window(self.viewer, self.live_layer, view, data)

    def _shown(self, view: LensView, key) -> None:
        if view.first_tile_s is None:
            view.first_tile_s = time.perf_counter() - view.started
        idx = view.grid.tile(*key).index
        view.shown.append(idx)
        self.tile_shown.emit((view.gen, idx))

    def _paint(self, view: LensView, key, out: np.ndarray) -> None:
        """Write tile ``key`` into the live layer; redraw at once for the first tile and the last,
        otherwise at most every ``REDRAW_MS`` (each redraw costs a canvas draw, which competes
        with the engine for the CPU when the GPU is a software one)."""
        live = self.live_layer
        if live is None:
            view.composer.add(key, out)
            return
        if not draw.paint_cells(view, self._pixels, key, out, live.data):
            return
        self._unshown.append(key)
        due = self._last_redraw + self.REDRAW_MS / 1000 - time.perf_counter()
        if view.first_tile_s is None or view.composer.complete or due <= 0:
            self._redraw()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start(max(1, int(due * 1000)))

    def _redraw(self) -> None:
        """Show what ``_paint`` wrote, and report those tiles as shown."""
        self._redraw_timer.stop()
        view, live, keys, self._unshown = self._view, self.live_layer, self._unshown, []
        if view is None or live is None or not keys:
            return
        live.refresh()
        self._last_redraw = time.perf_counter()
        for key in keys:
            self._shown(view, key)

    def _hide_live(self) -> None:
        if self.live_layer is not None:
            self.live_layer.visible = False

    def _drop_live(self) -> None:
        live = self.live_layer
        self._live = None
        if live is not None:
            self.viewer.layers.remove(live)

    # ------------------------------------------------------------------ keep
    def keep(self):
        """Add the current (finished) live view as an ordinary result layer with provenance."""
        view = self._view
        if view is None or self.live_layer is None or view.layer not in self.viewer.layers:
            _notify("warning", "Live lens: nothing to keep (no live view).")
            return None
        if not view.composer.complete:
            _notify("warning", "Live lens: the view is still being computed; Keep when it is done.")
            return None
        return draw.add_kept_layer(self.viewer, view, lambda: self._models(self.model_source), mode=self.mode,
                                   seed=self.seed, model_source=self.model_source, pixels=self._pixels)
