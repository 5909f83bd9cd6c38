"""The viewer's and the source layer's events the live lens follows (connected while it is on).

A mixin of :class:`~napari_ldcsr.lens._lens.LiveLens`: it names the events and connects them to the
lens's slots (``_on_camera``, ``_on_removed``, ``_on_data``, ``_on_display``, ``_on_placement``,
``_restart``), which stay with the lens, and holds the slots that only pass a change on to the live
layer or the lens (``_on_inserted``, ``_on_name``, ``_on_opacity``).
"""

from __future__ import annotations

from .._viewer import PLACEMENT, camera
from . import _draw as draw
from ._plan import band_group_change

#: Source-layer events that change how its pixels look (the live view follows them).
DISPLAY_EVENTS = ("contrast_limits", "gamma", "colormap")  # and opacity (``_on_opacity``)


class LensEvents:
    """Connect and disconnect the lens from the viewer's and its source layer's events."""

    def _viewer_events(self) -> list:
        """(emitter, slot) of the viewer's events the lens follows while on."""
        cam = camera(self.viewer)
        size = getattr(getattr(getattr(self.viewer, "canvas", None), "events", None), "size", None)  # napari >= 0.9
        dims = self.viewer.dims.events
        moves = [cam.events.center, cam.events.zoom, dims.ndisplay, dims.order] + [size] * (size is not None)
        return [(e, self._on_camera) for e in moves] + [(self.viewer.layers.events.removed, self._on_removed),
                                                         (self.viewer.layers.events.inserted, self._on_inserted)]

    def _connect(self) -> None:
        if not self._connected:
            for emitter, slot in self._viewer_events():
                emitter.connect(slot)
            self._connected = True

    def _disconnect(self) -> None:
        if self._connected:
            for emitter, slot in self._viewer_events():
                emitter.disconnect(slot)
            self._connected = False

    def _follow(self, layer, on: bool) -> None:
        """(Dis)connect the source's events the live view follows: pixels (given, or redrawn: an edit in
        place), name, visibility (hidden: no view), opacity, display, placement."""
        for name, slot in ([("data", self._on_data), ("set_data", self._on_redrawn), ("name", self._on_name),
                            ("visible", self._restart),
                            ("opacity", self._on_opacity)]
                           + [(n, self._on_display) for n in DISPLAY_EVENTS]
                           + [(n, self._on_placement) for n in PLACEMENT]) if layer is not None else ():
            getattr(layer.events, name).connect(slot) if on else getattr(layer.events, name).disconnect(slot)

    def _follow_bands(self, layers: list) -> None:
        """Follow the pixels of ``layers`` (the other band layers of a multi-band file that a Run, so the
        lens, reads with the source) instead of those followed until now: given or redrawn (an edit)."""
        for layer, on in [(lyr, False) for lyr in self._bands] + [(lyr, True) for lyr in layers]:
            for name, slot in (("data", self._on_band_data), ("set_data", self._on_redrawn)):
                getattr(layer.events, name).connect(slot) if on else getattr(layer.events, name).disconnect(slot)
        self._bands = list(layers)

    def _on_band_data(self, event) -> None:
        """Another band layer the lens reads was given other pixels: read them (before: the old array)."""
        if self._pixels is not None and not any(event.source.data is src for src in self._pixels.feed.sources):
            self._on_data()

    def _on_inserted(self, event) -> None:
        """A band layer of the source's file opened: a Run may now feed the file's bands together."""
        if band_group_change(self.viewer, self._layer, self._pixels, event.value):
            self._on_data()

    def _on_opacity(self, *_) -> None:
        """The source was faded or made opaque: so is the live layer."""
        if self.live_layer is not None:
            draw.follow_opacity(self.live_layer, self._layer)

    def _on_name(self, *_) -> None:
        """The source was renamed: so is the live layer (it kept the old name)."""
        if self.live_layer is not None:
            self.live_layer.name = draw.live_name(self._layer)
