"""Result layers (Qt-free): exact placement over the source, metadata, progressive filling.

A run's result layers are created when the first tile finishes, show each tile as it finishes
(a preview in source units), get the exact final pixels as rows finish (after each row of
tiles) and when the run returns; a cancelled or failed run removes them again.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from .. import _geometry as geo
from ._job import JobResult, JobSpec, LayerSource, provenance
from ._placeholders import nearest_preview, placeholders
from .._viewer import PLACEMENT, covering_blending, derived_metadata, linear_part, world_axes

__all__ = ["run_label", "result_name", "layer_name", "placement", "pixels_of", "with_digests", "PENDING", "pixels_changed", "EDITED", "EDITED_LAZY", "run_again", "result_kwargs", "regrid_metadata", "blending_note", "add_stacked", "placeholders", "RunLayers",
           "ProgressiveResult", "nearest_preview", "show_as"]


def run_label(mode: str, seed: int, samples: int = 1) -> str:
    """What a layer name says about a run: "fast", "diffusion, seed 7", "diffusion, seed 7, 3 samples"."""
    if mode != "diffusion":
        return mode
    return f"diffusion, seed {seed}" + (f", {samples} samples" if samples > 1 else "")


def result_name(src_name: str, spec: JobSpec, kind: str) -> str:
    """The name of a run's ``kind`` layer ("ldcsr", "bicubic" or "spread") over ``src_name``:
    "scene ×2.00 (LDCSR fast)", "scene ×2.00 (LDCSR diffusion, seed 7)", "scene ×2.00 (bicubic)",
    "scene ×2.00 (LDCSR spread, diffusion, seed 7, 3 samples)"."""
    return layer_name(src_name, spec.scale, kind, spec.mode, spec.seed, spec.samples)


def layer_name(src_name: str, scale: float, kind: str, mode: str, seed: int = 0, samples: int = 1,
               what: str = "") -> str:
    """The name of a ``kind`` layer ("ldcsr", "bicubic" or "spread") of a run (or check: ``what`` =
    " self-check error") at ``scale`` in ``mode`` (``seed``, ``samples`` K: :func:`run_label`) over
    ``src_name``, so that two side by side tell their runs apart: "scene self-check error ×2.00 (LDCSR
    diffusion, seed 0, 3 samples)", and as :func:`result_name` names a Run's."""
    run = run_label(mode, seed, samples)
    label = {"ldcsr": f"LDCSR {run}", "bicubic": "bicubic", "spread": f"LDCSR spread, {run}"}[kind]
    return f"{src_name}{what} ×{scale:.2f} ({label})"


def regrid_metadata(md: dict, in_shape, out_shape, offset) -> None:
    """Move a source layer's metadata (a copy, in place) onto a result's pixel grid by the engine's
    rules for its raster path: ``gcps`` and ``rpcs`` (a satellite image's) onto the ``out_shape``
    grid of the ``in_shape`` part at ``offset`` (input pixels, ``(row, col)``), and the print
    resolution in ``tags``, which keep what a result carries of its source's (``georef.carried_tags``:
    not the file's own TIFF DateTime). (The ``transform`` is moved by the callers, on their own geometry.)"""
    (h, w), (H, W) = in_shape, out_shape
    scale = (H / h, W / w)
    if md.get("tags"):  # a print resolution follows the pixel count
        from ldcsr_core.geo.georef import carried_tags

        md["tags"] = carried_tags(md["tags"], scale)
    if md.get("rpcs"):
        from ldcsr_core.geo.georef import scale_rpcs
        from rasterio.rpc import RPC

        md["rpcs"] = scale_rpcs(RPC(**md["rpcs"]), scale, offset).to_dict()
    if md.get("gcps"):
        from ldcsr_core.geo.georef import scale_gcps
        from rasterio.control import GroundControlPoint

        moved = scale_gcps([GroundControlPoint(row=r, col=c, x=x, y=y, z=z) for r, c, x, y, z in md["gcps"]],
                           scale, offset)
        md["gcps"] = [[g.row, g.col, g.x, g.y, g.z] for g in moved]


def placement(src, spec: JobSpec) -> dict:
    """The ``scale``, ``translate``, ``rotate``, ``shear`` and ``affine`` that lay a ``spec.out_shape``
    result of ``spec.region`` exactly over ``src`` as it lies now (:func:`_geometry.result_placement`)."""
    scale_out, translate_out = geo.result_placement(
        src.scale[-2:], src.translate[-2:], spec.region.shape, spec.out_shape,
        offset=spec.region.offset, linear=linear_part(src),
    )
    return {"scale": scale_out, "translate": translate_out, "rotate": src.rotate, "shear": src.shear,
            "affine": src.affine}


#: a digest a run's worker takes of its copy of the layer (:func:`pixels_of`'s ``later``; :func:`with_digests`)
PENDING = ("digest of the run's copy, not taken yet",)


def pixels_of(layers, later=()) -> list:
    """What :func:`pixels_changed` knows ``layers``' pixels (their ``data`` now) by: the data by a weak
    reference, so that pixels a layer is given other ones in place of are not kept in memory by it (a
    replaced 1 GB scene, until the next Run; the data itself where it takes none), and the engine's
    :func:`~ldcsr_core.pixel_digest.pixel_digest` of them (an edit in place keeps the array; a dask array's
    names its task graph, nothing read). ``later``: for each layer, whether the run's worker digests its copy
    of it (``LayerSource.copy_digests``: every byte read, 0.4-0.5 s a GB, not on the GUI thread; the digest
    then says exactly what the run read): :data:`PENDING` until :func:`with_digests` puts it in."""
    from ldcsr_core.pixel_digest import pixel_digest

    def token(data):
        try:
            return weakref.ref(data)
        except TypeError:
            return data

    later = tuple(later) + (False,) * (len(layers) - len(later))
    return [(token(src.data), PENDING if worker else pixel_digest(src.data)) for src, worker in zip(layers, later)]


def with_digests(pixels: list, digests) -> list:
    """``pixels`` (:func:`pixels_of`) with the worker's ``digests`` (one per layer) in place of :data:`PENDING`."""
    return [(held, digests[i] if digest is PENDING else digest) for i, (held, digest) in enumerate(pixels)]


#: what :func:`pixels_changed` says of a layer whose pixels were edited in place (putting them back undoes it)
EDITED = "had its pixels edited"
#: ... of a dask layer edited in place (``layer.data[…] = …``: its new task graph; putting them back makes another)
EDITED_LAZY = "had its dask array edited"


def run_again(changed: str, to: str, *, first: bool = False) -> str:
    """What makes a result the ``changed`` pixels (:func:`pixels_changed`) are no longer of usable again,
    ``to`` do something: a Run again, or for pixels edited in place also putting them back (the same array
    holding its run's pixels again is theirs, :func:`~ldcsr_core.pixel_digest.same_pixels`). ``first``:
    it begins a sentence."""
    again = "or put its pixels back, " if EDITED in changed else ""
    return f"{'R' if first else 'r'}un LDCSR again, {again}to {to}".replace("again, to", "again to")


def pixels_changed(layers, pixels: list, when: str, redraw=None) -> str | None:
    """Why a result of ``layers``' ``pixels`` (:func:`pixels_of` them when the run began) is no longer
    of their pixels (None if it is): one was given other pixels (``layer.data = …``) ``when``, or its
    pixels were edited in place (``layer.data[…] = …``; a dask array's: by its task graph) then. ``redraw``: the napari event asking
    (its digests are shared, :func:`~napari_ldcsr._redraw_digest.redraw_digest`)."""
    from ldcsr_core.pixel_digest import same_pixels

    from .._redraw_digest import redraw_digest

    for src, (held, digest) in zip(layers, pixels):
        if src.data is not (held() if isinstance(held, weakref.ref) else held):
            return f"'{src.name}' was given other pixels {when}"
        if digest is not None and not same_pixels(src.data, digest, lambda d, o: redraw_digest(d, redraw, o)):
            return f"'{src.name}' {EDITED if digest[2] is not None else EDITED_LAZY} {when}"
    return None


def _values(v) -> np.ndarray:
    """A placement value (an array, an angle or a napari ``Affine`` transform) as a float array of its own."""
    return np.array(getattr(v, "affine_matrix", v), dtype=float)


def _same(a, b) -> bool:
    """Whether two placement values are equal."""
    a, b = _values(a), _values(b)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _placed(layer) -> dict:
    """A copy of ``layer``'s :func:`placement` values as they are now."""
    return {key: _values(getattr(layer, key)) for key in PLACEMENT}


def result_kwargs(src, spec: JobSpec, kind: str, *, run_info: dict | None = None, lowest: bool = False) -> dict:
    """``add_image`` keyword arguments that lay a ``spec.out_shape`` result exactly over ``src``.

    Placement follows :func:`_geometry.result_placement` (rotate/shear/affine copied), display
    settings follow the source, and ``metadata`` keeps the georeferencing (transform and pixel
    size of the finer grid) plus ``metadata["ldcsr"]`` (provenance; ``run_info`` is merged in);
    ``kind`` ("ldcsr", "bicubic" or "spread") names the layer (:func:`result_name`).

    Blending: a run's layers (one per band layer) lie as a block above their sources; the
    ``lowest`` of the block covers what is beneath it inside its region
    (:func:`_viewer.covering_blending`), the others blend as their sources do. A band group's
    run (a file's bands as ``channel_axis`` opens them: the first band translucent, the others
    'additive') then shows the composite of its results inside its region; a lone additive
    band's result shows that band alone there instead of adding it to its own source.
    """
    md = derived_metadata(src)
    if md.get("transform") is not None:
        md["transform"] = geo.result_transform(md["transform"], spec.region.shape, spec.out_shape,
                                               spec.region.offset)
        a, b, _, d, e, _ = md["transform"]
        md["pixel_size"] = (float(np.hypot(b, e)), float(np.hypot(a, d)))
    regrid_metadata(md, spec.region.shape, spec.out_shape, spec.region.offset)
    from ldcsr_core.geo.nodata_override import declared_nodata

    # the one value the engine wrote on every invalid pixel (the form's nodata, else the layer's; a
    # float result without one: NaN), as its file declares it (Save writes it too)
    md["nodata"] = declared_nodata(spec.nodata, src.data.dtype, md.get("nodata"))
    md["ldcsr"] = dict(run_info or {}, kind=kind)
    kwargs = {
        "name": result_name(src.name, spec, kind),
        "rgb": bool(src.rgb),
        **placement(src, spec),
        **world_axes(src),
        "metadata": md,
        "contrast_limits": list(src.contrast_limits),
        "gamma": src.gamma,
        "blending": covering_blending(src) if lowest else src.blending,
    }
    if not src.rgb:
        kwargs["colormap"] = src.colormap
    return kwargs


def show_as(layer, src) -> None:
    """Show ``layer`` (a run's layer over ``src``) as ``src`` is shown now: its contrast limits, their
    slider's range (napari gives a layer made with limits a range of those limits alone), gamma and (a grey
    layer's) colormap."""
    (lo, hi), (cl, ch) = src.contrast_limits_range, src.contrast_limits
    layer.contrast_limits_range = [min(lo, cl), max(hi, ch)]
    layer.contrast_limits, layer.gamma = list(src.contrast_limits), src.gamma
    if not src.rgb and layer.colormap.name != src.colormap.name:
        layer.colormap = src.colormap


def _display(layer) -> tuple:
    """What :func:`show_as` sets of ``layer``, as it is now (whether the user set it since)."""
    return tuple(float(v) for v in layer.contrast_limits), float(layer.gamma), layer.colormap.name


def add_stacked(viewer, sources, add) -> list:
    """Add a run's layers, one per source layer, as its sources are stacked: ``add(i, k)`` adds
    the layer of ``sources[i]`` as the ``k``-th from the lowest (``k == 0``: the covering one,
    :func:`result_kwargs` ``lowest``), from the lowest source in ``viewer``'s layer list up, so
    that they blend as their sources do and the region shows the sources' composite also when
    the user reordered the band layers. Returns the layers in band order."""
    where = {id(lyr): k for k, lyr in enumerate(viewer.layers)}
    order = sorted(range(len(sources)), key=lambda i: where.get(id(sources[i]), i))
    made = {i: add(i, k) for k, i in enumerate(order)}
    return [made[i] for i in range(len(sources))]


def blending_note(src, layer) -> str:
    """What the status line adds when a run's ``layer`` does not blend as its source ``src`` does
    (:func:`result_kwargs`: an additive band's result covers its region instead); "" otherwise."""
    if str(layer.blending) == str(src.blending):
        return ""
    return (f" · shown {layer.blending} over '{src.name}', which blends {src.blending} (the band would count "
            f"twice): its region shows this band alone; for the composite, make it additive and hide '{src.name}'")


@dataclass
class RunLayers:
    """The layers of the latest finished run: the picked source layer (the one picked when Run was
    pressed, or the band that took its place: :meth:`repick`), its LDCSR result and its bicubic
    baseline (``results``/``bicubics``: one per band layer for a multi-band file; a band without a
    baseline has None in ``bicubics``, which is empty before any was made)."""

    source: object
    result: object
    bicubic: object | None
    job: JobResult
    layer_source: LayerSource
    results: list = field(default_factory=list)
    bicubics: list = field(default_factory=list)
    spread: object | None = None  # the uncertainty layer of a samples > 1 run (``_spread``)
    pixels: list = field(default_factory=list)  # :func:`pixels_of` the source layers the run read (:meth:`changed`)

    def present(self, viewer) -> bool:
        """Whether the source and the result are both still in ``viewer``."""
        return self.source in viewer.layers and self.result in viewer.layers

    def changed(self, viewer, redraw=None) -> str | None:
        """Why the run's results are no longer of its source layers' pixels (None if they are): one
        still in ``viewer`` was given other pixels since the run began (:func:`pixels_changed`; ``redraw``:
        the napari event asking)."""
        kept = [(src, data) for src, data in zip(self.layer_source.layers, self.pixels) if src in viewer.layers]
        return pixels_changed([src for src, _ in kept], [data for _, data in kept], "since its run", redraw)

    def bands(self, viewer) -> list[int]:
        """The bands (indices into ``results``) whose source layer and result are both in ``viewer``."""
        srcs = self.layer_source.layers
        return [i for i, r in enumerate(self.results) if r in viewer.layers and srcs[i] in viewer.layers]

    def repick(self, viewer, near=None) -> bool:
        """Keep the picked band while its source and result are both in ``viewer``; else make the
        nearest band that still has both the picked one (the band before it in band order first,
        else the one after), with its baseline. ``near``: the source layer of the band to measure
        from (default: the picked one; the one picked before a Delete of several layers, so that
        the order napari removes them in does not matter). False when no band has both."""
        if self.present(viewer):
            return True
        left = self.bands(viewer)
        if not left:
            return False
        srcs = self.layer_source.layers
        at = srcs.index(self.source if near is None else near)
        i = min(left, key=lambda j: (abs(j - at), j))
        self.source, self.result = srcs[i], self.results[i]
        self.bicubic = self.bicubics[i] if len(self.bicubics) == len(srcs) else None
        return True


class ProgressiveResult:
    """The result layers of a running job (one per source layer): created when the first tile
    arrives, filled tile by tile, overwritten with final rows, given the final pixels at the end."""

    def __init__(self, viewer, source: LayerSource, spec: JobSpec, *, opacity: float = 1.0) -> None:
        self.viewer, self.source, self.spec, self.opacity = viewer, source, spec, opacity
        self.layers: list = []
        self.names: list[str] = []  # the layers' names as created (the user may rename them)
        self.updates = 0
        self.final_rows = 0  # output rows [0, final_rows) hold final pixels
        self.discarded = False  # cancelled, failed or stopped: a tile shown late must not bring it back
        self.placeholder: list | None = None  # :func:`placeholders`, from the worker, for :meth:`_create`
        self.placed: list = []  # the layers' placement as created (:meth:`finish` leaves one the user moved)
        self.shown: list = []  # ... and display (:meth:`finish` leaves one the user restretched)
        # what the run reads (:meth:`changed`): an in-memory run's copy digested in its worker (:meth:`digested`)
        self.pixels = pixels_of(source.layers, source.copied() if spec.output_path is None else ())

    def _alive(self) -> bool:
        return all(src in self.viewer.layers for src in self.source.layers)

    def stops_on_removal(self, layer) -> str | None:
        """Why removing ``layer`` from the viewer stops this run (None if it does not): a source
        layer is gone, or the user deleted one of the result layers being filled in ("I do not
        want this": the run must not go on and add it again at the end)."""
        if any(layer is src for src in self.source.layers):
            return f"'{layer.name}' was removed during the run"
        if any(layer is lyr for lyr in self.layers):
            return f"its result layer '{layer.name}' was removed"
        return None

    def digested(self, result) -> None:
        """The finished run's own digests of the copy of its source it read (``JobResult.pixel_digests``)."""
        self.pixels = with_digests(self.pixels, result.pixel_digests)

    def changed(self) -> str | None:
        """Why the finished result no longer fits its source (None if it does): a source layer was
        given other pixels (``layer.data = …``) during the run, which its result is not of."""
        return pixels_changed(self.source.layers, self.pixels, "during the run")

    def _create(self, run_info: dict, data: list | None = None) -> None:
        def add(i: int, k: int):
            src = self.source.layers[i]
            pixels = data[i] if data is not None else first[i]
            layer = self.viewer.add_image(pixels, **result_kwargs(src, self.spec, "ldcsr", run_info=run_info,
                                                                  lowest=k == 0))
            layer.opacity = self.opacity
            show_as(layer, src)
            return layer

        first, self.placeholder = data or self.placeholder or placeholders(self.source, self.spec), None
        self.layers = add_stacked(self.viewer, self.source.layers, add)
        self.names = [layer.name for layer in self.layers]
        self.placed = [_placed(layer) for layer in self.layers]
        self.shown = [_display(layer) for layer in self.layers]

    def _ready(self) -> bool:
        if self.discarded or not self._alive():
            return False
        if not self.layers:
            self._create({"status": "running"})
        return all(lyr in self.viewer.layers for lyr in self.layers)  # one removed: the run is stopping

    def tile(self, box, colour: list, values: np.ndarray) -> None:
        """Show a finished tile's preview: ``values`` ``(len(colour), h, w)`` for bands ``colour``
        of the output window ``box`` = ``(y0, x0, h, w)`` (the finished rows replace it)."""
        y0, x0, h, w = box
        cut = max(0, self.final_rows - y0)  # never cover finished rows with an unblended preview
        if cut >= h or not self._ready():
            return
        y0, h, values = y0 + cut, h - cut, values[:, cut:]
        sl = (slice(y0, y0 + h), slice(x0, x0 + w))
        block = self.source.join([lyr.data[sl] for lyr in self.layers]).copy()
        block[colour] = values
        for layer, part in zip(self.layers, self.source.split(block)):
            layer.data[sl] = part
            layer.refresh()
        self.updates += 1

    def rows(self, y0: int, rows: np.ndarray) -> None:
        """Show finished rows ``(bands, n, W)`` (source units) starting at output row ``y0`` (a band fewer:
        the colours of a lazy layer whose alpha is its mask, :meth:`LayerSource.held` at the end)."""
        if not self._ready():
            return
        n = rows.shape[1]
        if rows.shape[0] < self.source.count:  # a lazy layer's alpha of its mask: the placeholder's until the end
            rows = np.concatenate([rows, self.source.join([lyr.data[y0:y0 + n] for lyr in self.layers])[rows.shape[0]:]])
        for layer, part in zip(self.layers, self.source.split(rows)):
            layer.data[y0:y0 + n] = part
            layer.refresh()
        self.final_rows = max(self.final_rows, y0 + n)
        self.updates += 1

    def finish(self, result: JobResult) -> list | None:
        """Give the layers the final pixels, tags, provenance, names (after the source layers' names
        now, as the provenance's ``source_layer``) and placement (over the source layers as they lie
        now: moved during the run, as the baselines added now are; a layer the user moved stays
        where they put it, as one they renamed keeps its name); None if the source is gone."""
        if not self._alive():
            self.discard()
            return None
        info = provenance(result, self.source.layers[0].name)
        final = self.source.split(result.data.data)
        if not self.layers or any(lyr not in self.viewer.layers for lyr in self.layers):
            self.discard()
            self._create(info, data=final)
        else:
            for layer, name, src, data, placed, shown in zip(self.layers, self.names, self.source.layers, final,
                                                             self.placed, self.shown):
                layer.data[...] = data
                if _display(layer) == shown:  # not restretched by the user: as the source is shown now
                    show_as(layer, src)
                if all(_same(getattr(layer, key), value) for key, value in placed.items()):  # not moved by the user
                    for key, value in placement(src, self.spec).items():
                        if not _same(getattr(layer, key), value):  # each set redraws the layer (60 ms at 4000² px)
                            setattr(layer, key, value)
                layer.metadata["ldcsr"] = dict(info, kind="ldcsr")
                if layer.name == name:  # not renamed by the user: the source may have been
                    layer.name = result_name(src.name, self.spec, "ldcsr")
                layer.refresh()
        for layer in self.layers:
            layer.metadata["tags"] = dict(result.data.tags)
        return self.layers

    def discard(self, *, later: bool = False) -> None:
        """Remove the partial layers (cancel, error); no tile or row shown after this (one queued
        before the run stopped) brings them back. They leave :attr:`layers` first, so that their
        removal is not taken for the user's (:meth:`stops_on_removal`). ``later``: on the next turn
        of the event loop, for a call from napari's ``removed`` event (the user deleting several
        selected layers at once: napari goes on removing its selection, and raises ValueError on a
        layer that was removed under it)."""
        layers, self.layers, self.discarded, self.placeholder = self.layers, [], True, None
        if later:
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, lambda: self._remove(layers))
        else:
            self._remove(layers)

    def _remove(self, layers: list) -> None:
        for layer in layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
