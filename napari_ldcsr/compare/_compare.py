"""Comparison that stays linked at any zoom: a dock of extra napari canvases with linked cameras.

:class:`CompareDock` shows three panels side by side — **source**, **bicubic**, **LDCSR** —
each a real napari canvas (``QtViewer`` of its own ``ViewerModel``, as in napari's
"multiple viewer widget" example) whose layers share the main viewer's arrays (no copies).
The panels' cameras and the main viewer's camera are linked by :class:`CameraLink` (center and
zoom, both ways), so pan or zoom in any of them moves all of them and the panels, being the
same size, show the same world box at any zoom.

* *bicubic* is the computed bicubic result layer when there is one (a Run with the bicubic
  baseline), otherwise the source drawn with napari's bicubic interpolation (``interpolation2d
  = "cubic"``), which needs no computation and follows the live lens anywhere.
* *LDCSR* is the source with the Run result, or with the live lens's layer on top (mirrored
  tile by tile as the lens paints).

Why not napari's grid mode: before napari 0.6 the grid translated the layers within one canvas,
so zooming showed one cell or the seams; from 0.6 on its cells share one camera correctly, but
a cell holds exactly ``stride`` layers and the layer list of the main viewer has to be
rearranged (and the live layer needs the source under it in the same cell). Separate canvases
work the same on napari 0.5 … 0.9, leave the user's layer list untouched, and put any stack of
layers in any panel.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterable

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from .._viewer import PLACEMENT, covering_blending
from ..lens._events import DISPLAY_EVENTS

#: what a mirror follows of its layer in the main viewer: where it lies, how its pixels look, its name
FOLLOWED = (*PLACEMENT, *DISPLAY_EVENTS, "name")
#: its pixels: given other ones (``data``), or redrawn (``set_data``: an edit in place, then ``refresh()``)
PIXEL_EVENTS = ("data", "set_data")

__all__ = ["CameraLink", "CompareDock", "mirror_layer"]

PANELS = ("source", "bicubic", "LDCSR")


def mirror_layer(layer, **overrides):
    """A new layer with ``layer``'s data (shared, not copied) and state (placement, contrast…),
    shown and opaque: a panel shows it for itself, not as the main view shows it over other layers
    (a source hidden there, or faded to see a layer beneath, is whole in its panels)."""
    from napari.layers import Layer

    data, state, kind = layer.as_layer_data_tuple()
    state = dict(state)
    state.pop("metadata", None)
    state.update({"visible": True, "opacity": 1.0, **overrides})
    return Layer.create(data, state, kind)


class CameraLink:
    """Keeps the 2-D center and zoom of several napari cameras equal (any one drives the rest)."""

    def __init__(self, cameras: Iterable[Any]):
        self.cameras = list(cameras)
        self._busy = False
        for cam in self.cameras:
            cam.events.center.connect(self._sync)
            cam.events.zoom.connect(self._sync)

    def _sync(self, event) -> None:
        if self._busy:
            return
        src = event.source
        self._busy = True
        try:
            for cam in self.cameras:
                if cam is not src:
                    cam.center = tuple(cam.center[:-2]) + tuple(src.center[-2:]) if len(cam.center) > 2 \
                        else tuple(src.center[-2:])
                    cam.zoom = src.zoom
        finally:
            self._busy = False

    def disconnect(self) -> None:
        for cam in self.cameras:
            cam.events.center.disconnect(self._sync)
            cam.events.zoom.disconnect(self._sync)
        self.cameras = []


class CompareDock(QWidget):
    """Three linked panels (source | bicubic | LDCSR) for a source layer and a result or a lens.

    Parameters
    ----------
    viewer : the main napari viewer (its camera is linked to the panels').
    source : the source image layer.
    result : a Run result layer over ``source`` (optional).
    bicubic : a computed bicubic layer (optional; else the source with cubic interpolation).
    lens : a :class:`~napari_ldcsr.lens._lens.LiveLens` whose live layer the LDCSR panel mirrors.
    changed : ``(redraw) -> str | None``, why ``result`` is no longer of ``source``'s pixels (``RunLayers.changed``;
        ``redraw``: napari's event); asked when the source's pixels change, ``resultStale(why)`` tells it (the owner opens the panels
        again without that result).
    """

    resultStale = Signal(str)

    def __init__(self, viewer, source, result=None, bicubic=None, lens=None, parent=None, changed=None):
        super().__init__(parent)
        from napari.components import ViewerModel
        from napari.qt import QtViewer
        from napari.utils.action_manager import action_manager

        self.viewer, self.source, self.result, self.bicubic, self.lens = viewer, source, result, bicubic, lens
        self._changed, self._stale = changed, False
        self.models = {name: ViewerModel(title=name) for name in PANELS}
        self.qt_viewers = {}
        self._key_slots: list = []  # (a panel's active-layer emitter, its slot): disconnected at close
        splitter = QSplitter(self)
        for name in PANELS:
            box = QWidget(splitter)
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(QLabel(name, box))
            # a QtViewer binds napari's shortcuts again, the same ones: unsaid, or every canvas's welcome
            # screen would redraw its shortcut table at each of them (about 0.2 s a panel)
            with action_manager.events.shortcut_changed.blocker():
                qtv = QtViewer(self.models[name])
            lay.addWidget(qtv)
            self.qt_viewers[name] = qtv
            self._keys_to_main(qtv)
            key_slot = (self.models[name].layers.selection.events.active, lambda *_, q=qtv: self._keys_to_main(q))
            key_slot[0].connect(key_slot[1])
            self._key_slots.append(key_slot)
            splitter.addWidget(box)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._splitter = splitter

        self._mirrors: list = []  # (layer of the main viewer, its mirror in a panel)
        self._mirror("source", source)
        # a band group's result or baseline may blend additively in the main viewer's composite;
        # alone over its source in a panel it covers it (else the band would be counted twice)
        cover = covering_blending(source)
        if bicubic is not None:
            self._mirror("bicubic", source)
            self._mirror("bicubic", bicubic, blending=cover)  # hidden in the main viewer
        else:
            self._mirror("bicubic", source, interpolation2d="cubic")
        self._mirror("LDCSR", source)
        self._live_mirror = None
        self._live_followed = None  # the live layer whose visibility and name the mirror follows
        if result is not None:
            self._mirror("LDCSR", result, blending=cover)
        for layer in {id(lyr): lyr for lyr, _ in self._mirrors}.values():  # moved, its contrast set, renamed
            for name in FOLLOWED:
                getattr(layer.events, name).connect(self._follow_layer)
            for name in PIXEL_EVENTS:
                getattr(layer.events, name).connect(self._follow_pixels)
        if lens is not None:
            lens.tile_shown.connect(self._sync_live)
            lens.view_done.connect(self._sync_live)
            self._sync_live()
        from .._viewer import camera

        self.link = CameraLink([camera(viewer)] + [camera(m) for m in self.models.values()])
        self._follow_order()
        viewer.dims.events.order.connect(self._follow_order)
        self._following = False  # the panels' sliders are being set to the main viewer's
        self._follow_point()
        viewer.dims.events.point.connect(self._follow_point)
        for m in self.models.values():  # a panel's own slider moved: the main view (and so all) follows
            m.dims.events.point.connect(self._lead_point)
        self.link._sync(_Event(camera(viewer)))  # start where the main viewer looks
        viewer.layers.events.removed.connect(self._on_removed)

    def _follow_order(self, *_: Any) -> None:
        """Show the axes as the main view does (transposed too): the linked cameras' centers are in
        the displayed axes' order, so the panels then show the same place."""
        from .._viewer import transposed

        flip = transposed(self.viewer)
        for m in self.models.values():
            order = list(range(m.dims.ndim))
            if flip and len(order) >= 2:
                order[-2:] = order[-1], order[-2]
            m.dims.order = tuple(order)

    def _follow_point(self, *_: Any) -> None:
        """Show the picture of a stack the main view shows (a time series' date, a band stack's band):
        the panels' sliders take the main viewer's, axis for axis from the last (napari lines up the
        layers' axes from their last)."""
        point, self._following = tuple(self.viewer.dims.point), True
        try:
            for m in self.models.values():
                off, axes = len(point) - m.dims.ndim, list(m.dims.not_displayed)
                if off >= 0 and axes:
                    m.dims.set_point(axes, [point[a + off] for a in axes])
        finally:
            self._following = False

    def _lead_point(self, event) -> None:
        """A panel's slider moved: the main viewer's takes it (and the other panels, from it); not
        where the panel follows the main viewer (a shorter stack held at its end would hold it there)."""
        dims = event.source
        if self._following:
            return
        off, axes = self.viewer.dims.ndim - dims.ndim, list(dims.not_displayed)
        if off >= 0 and axes:
            self.viewer.dims.set_point([a + off for a in axes], [dims.point[a] for a in axes])

    def _keys_to_main(self, qtv) -> None:
        """A key pressed in a panel acts on the main viewer, as pressed in its canvas (napari's transpose
        or reset view: the panels follow); on the panel's own model it would transpose or turn that panel
        alone, which then showed another spot. napari gives a canvas's keys to its model and its active
        layer again at each pick of a layer, so this runs then too."""
        handler = getattr(qtv, "_key_map_handler", None)
        if handler is not None:
            handler.keymap_providers = [self.viewer]

    def _mirror(self, panel: str, layer, **overrides) -> None:
        mirror = mirror_layer(layer, **overrides)
        self.models[panel].layers.append(mirror)
        self._mirrors.append((layer, mirror))

    def _follow_layer(self, event) -> None:
        """A layer of the main viewer was moved, scaled, rotated or sheared, or its contrast limits,
        gamma or colormap set: its mirrors follow."""
        for layer, mirror in self._mirrors:
            if layer is event.source:
                for key in FOLLOWED:
                    setattr(mirror, key, getattr(layer, key))

    def _follow_pixels(self, event) -> None:
        """A layer of the main viewer was given other pixels or redrawn (an edit in place, then its
        ``refresh()``): its mirrors take its array, with its display, or are redrawn. A result shown over a
        source whose pixels changed is not of them: ``resultStale`` instead, once."""
        layer = event.source
        if self._stale:
            return
        if layer is self.source and self.result is not None and self._changed is not None:
            why = self._changed(event)
            if why is not None:
                self._stale = True
                self.resultStale.emit(why)
                return
        for lyr, mirror in self._mirrors:
            if lyr is layer and mirror.data is not layer.data:
                mirror.data = layer.data
                for key in FOLLOWED:  # the display after the data (a new array resets it)
                    setattr(mirror, key, getattr(layer, key))
            elif lyr is layer and not layer.multiscale and event.type == "set_data":  # (a lazy one: its reads)
                mirror.refresh()

    # ---------------------------------------------------------------- lens mirroring
    def _sync_live(self, *_: Any) -> None:
        """Mirror the live layer into the LDCSR panel, only while the lens looks at this dock's
        source (after a band repick or another pick the lens may paint another layer); the mirror is
        hidden, shown, renamed, repainted and restretched with the live layer (the source's contrast
        set: the lens paints its view again), and hidden when it is removed (lens off)."""
        live = self.lens.live_layer if self.lens is not None and self.lens.layer is self.source else None
        self._follow_live(live)
        model = self.models["LDCSR"]
        if live is None:
            if self._live_mirror is not None:
                self._live_mirror.visible = False
            return
        if self._live_mirror is None or self._live_mirror not in model.layers:
            self._live_mirror = mirror_layer(live)
            model.layers.append(self._live_mirror)
        m = self._live_mirror
        if m.data is not live.data:
            m.data = live.data
        for key in (*FOLLOWED, "visible", "name"):  # the display after the data (a new array resets it)
            setattr(m, key, getattr(live, key))
        m.refresh()

    def _follow_live(self, live) -> None:
        """Follow ``live``'s visibility, name, pixels and display (and no other live layer's)."""
        if live is self._live_followed:
            return
        for layer, on in ((self._live_followed, False), (live, True)):
            if layer is not None:
                for emitter in (getattr(layer.events, n) for n in ("visible", "name", "data", *DISPLAY_EVENTS)):
                    emitter.connect(self._sync_live) if on else emitter.disconnect(self._sync_live)
        self._live_followed = live

    def _on_removed(self, event) -> None:
        if event.value is self.source:
            self.close_panels()
        elif event.value is self._live_followed:  # the lens turned off (or its layer deleted)
            self._sync_live()

    # ---------------------------------------------------------------- public
    def equalize(self) -> None:
        """Give the three panels the same width."""
        n = len(PANELS)
        total = sum(self._splitter.sizes()) or self.width()
        self._splitter.setSizes([total // n] * n)

    def visible_boxes(self) -> dict[str, np.ndarray]:
        """World box ``[[ymin, xmin], [ymax, xmax]]`` each panel shows (from its canvas size)."""
        from .._geometry import visible_world_box

        from .._viewer import camera, canvas_size

        return {name: visible_world_box(camera(m).center[-2:], camera(m).zoom, canvas_size(m))
                for name, m in self.models.items()}

    def close_panels(self) -> None:
        """Unlink the cameras, drop the panels' layers and close their canvases (no full garbage collection);
        nothing of ours then holds the dock in a cycle: it goes with its last reference."""
        if self.link is not None:
            self.link.disconnect()
            self.link = None
        if self.lens is not None:
            for sig in (self.lens.tile_shown, self.lens.view_done):
                try:
                    sig.disconnect(self._sync_live)
                except (TypeError, RuntimeError):
                    pass
        self._follow_live(None)
        mirrored = {id(lyr): lyr for lyr, _ in self._mirrors}.values()
        followed = [(getattr(lyr.events, name), self._follow_layer) for lyr in mirrored for name in FOLLOWED] \
            + [(getattr(lyr.events, name), self._follow_pixels) for lyr in mirrored for name in PIXEL_EVENTS]
        self._mirrors = []
        for emitter, slot in [(self.viewer.layers.events.removed, self._on_removed),
                              (self.viewer.dims.events.order, self._follow_order),
                              (self.viewer.dims.events.point, self._follow_point),
                              *[(m.dims.events.point, self._lead_point) for m in self.models.values()], *followed,
                              *self._key_slots]:
            try:
                emitter.disconnect(slot)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._key_slots = []
        for name, qtv in self.qt_viewers.items():
            self._drop_layers(self.models[name].layers)
            qtv.close()
        self.qt_viewers = {}
        # napari's dock (QtViewerDockWidget.setWidget) set itself as our ``_parent`` and keeps a reference to
        # us: a cycle, which only a full garbage collection would free (the panels, their canvases and
        # layers with it), not the end of the last reference to the dock
        vars(self).pop("_parent", None)

    @staticmethod
    def _drop_layers(layers) -> None:
        """Remove a closing panel's layers (each canvas closes its visuals) without the full garbage
        collection napari's canvas runs when a batch of removals ends (``_clean_and_update_scenegraph``,
        a Windows OpenGL workaround): with a model and big layers loaded it takes up to a second, and
        it rebuilds a scene that is about to close. The batch's end is unsaid, so the canvas stays paused
        until it goes; what was dropped is collected by Python in its own time."""
        end = getattr(layers.events, "end_batch", None)
        with end.blocker() if end is not None else contextlib.nullcontext():
            layers.clear()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.qt_viewers:
            self.close_panels()
        super().closeEvent(event)


class _Event:
    def __init__(self, source):
        self.source = source
