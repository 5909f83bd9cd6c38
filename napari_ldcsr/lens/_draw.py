"""Drawing the live lens into napari: the live layer's placement over the source, its RGBA pixels,
painting finished cells into it, and Keep (the view as an ordinary result layer).

The ``LiveLens`` (:mod:`napari_ldcsr.lens._lens`) decides what to draw and when; these functions
do the drawing.
"""

from __future__ import annotations

import time

import numpy as np

from ldcsr_core.geo.nodata_masks import output_nodata
from ldcsr_core.geo.radiometry import Stretch

from .. import _geometry as geo
from .._viewer import LIVE_KEY, PLACEMENT, covering_blending, derived_metadata, linear_part, world_axes
from ._lens_cache import LayerPixels, window_transform
from ._plan import LensView

__all__ = ["LIVE_KEY", "placement", "place", "rgba", "live_name", "show_window", "follow_opacity", "paint_cells", "add_kept_layer"]



def placement(view: LensView) -> dict:
    """``add_image`` placement of the view's window: the global result grid, shifted to the window."""
    src = view.layer
    lin = linear_part(src)
    s_out, t_glob = geo.result_placement(src.scale[-2:], src.translate[-2:], view.grid.in_shape,
                                         view.grid.out_shape, (0.0, 0.0), linear=lin)
    shift = lin @ (np.asarray(s_out) * np.array([view.win.y0, view.win.x0], float))
    t = np.asarray(t_glob) + shift
    return {"scale": s_out, "translate": (float(t[0]), float(t[1])), "rotate": src.rotate,
            "shear": src.shear, "affine": src.affine, **world_axes(src)}


def _matrix(value) -> np.ndarray:
    return np.asarray(getattr(value, "affine_matrix", value), dtype=float)


def place(live, view: LensView) -> None:
    """Lay ``live`` over the view's window as :func:`placement` says, setting only what differs
    (the source may have been moved, scaled, rotated or sheared since the live layer was made)."""
    for key, value in placement(view).items():
        if key in PLACEMENT:
            now, new = _matrix(getattr(live, key)), _matrix(value)
            if now.shape != new.shape or not np.array_equal(now, new):
                setattr(live, key, value)


def rgba(view: LensView, values: np.ndarray) -> np.ndarray:
    """Display pixels (RGBA float, opaque) for non-8-bit values, as the source would show them:
    its contrast limits through the engine's ``Stretch.to_unit`` (int32, float64... offset in
    float64, so values far from 0 keep their levels), its gamma and colormap."""
    src = view.layer
    lo, hi = (float(v) for v in src.contrast_limits)
    bands = np.moveaxis(values[..., :3], -1, 0) if src.rgb else values[np.newaxis]  # alpha: the live layer's own
    n = bands.shape[0]
    unit = np.nan_to_num(Stretch((lo,) * n, (hi,) * n, bands.dtype.name).to_unit(bands)) ** src.gamma
    unit = np.moveaxis(unit, 0, -1) if src.rgb else unit[0]
    if src.rgb:
        return np.concatenate([unit, np.ones(unit.shape[:2] + (1,), np.float32)], axis=-1)
    return src.colormap.map(unit.ravel()).reshape(unit.shape + (4,)).astype(np.float32)


def live_name(src) -> str:
    """The live layer's name: its source's (followed when the source is renamed)."""
    return f"{src.name} (live LDCSR)"


def show_window(viewer, live, view: LensView, data: np.ndarray):
    """Show ``data`` (the view's RGBA window) in ``live`` (None: add a new live layer); returns
    the live layer.  8-bit RGB windows hold the model's values as they are and are shown with the
    source's contrast limits and gamma (followed when they change); other windows are display
    colours already (:func:`rgba`)."""
    kwargs = placement(view)
    src = view.layer
    if data.dtype == np.uint8:
        display = {"contrast_limits": [float(v) for v in src.contrast_limits], "gamma": float(src.gamma)}
    else:
        display = {"contrast_limits": [0.0, 1.0], "gamma": 1.0}
    if live is None:
        live = viewer.add_image(
            data, rgb=True, name=live_name(src), blending=covering_blending(src),
            metadata={LIVE_KEY: True}, **display, **kwargs)
        follow_opacity(live, src)
        return live
    place(live, view)
    live.data = data
    for k, v in display.items():  # after the data: a new array would reset them
        if not np.allclose(getattr(live, k), v):
            setattr(live, k, v)
    follow_opacity(live, src)
    if not live.visible:
        live.visible = True
    return live


def follow_opacity(live, src) -> None:
    """Show the live layer at its source's opacity: it stands for the source there (a source faded
    to see a layer beneath is faded inside the lens too, not an opaque patch)."""
    if live.opacity != src.opacity:
        live.opacity = float(src.opacity)


def paint_cells(view: LensView, pixels: LayerPixels, key, out: np.ndarray, data: np.ndarray) -> bool:
    """Add tile ``key`` to the view; write the cells it completed into ``data`` (RGBA)."""
    cells = view.composer.add(key, out)
    for cell, unit in cells:
        ys = slice(cell.y0 - view.win.y0, cell.y0 - view.win.y0 + cell.h)
        xs = slice(cell.x0 - view.win.x0, cell.x0 - view.win.x0 + cell.w)
        bad, add = pixels.under(cell.y0, cell.x0, cell.h, cell.w, view.grid.out_shape)
        vals = pixels.display(unit, add)  # what the stretch clipped off the source: added back, as a Run does
        if bad is not None or pixels.masked:  # as a Run writes them: nodata / NaN put back on invalid
            vals = pixels.restore(vals, bad)  # pixels, valid values moved off the nodata value
        if bad is not None:  # nodata / NaN / alpha 0 under it: shown transparent where every band is invalid
            bad = bad.all(axis=0)
        if pixels.alpha:  # the source's alpha: opaque where valid
            top = np.iinfo(vals.dtype).max if vals.dtype.kind in "iu" else 1.0
            vals = np.concatenate([vals, np.full(vals.shape[:2] + (1,), top, vals.dtype)], axis=-1)
            if bad is not None:
                vals[..., 3][bad] = 0
        view.values[ys, xs] = vals
        if pixels.u8:
            data[ys, xs, :3] = vals[..., :3]
            data[ys, xs, 3] = 255
        else:
            data[ys, xs] = rgba(view, vals)
        if bad is not None:
            data[ys, xs, 3][bad] = 0
    return bool(cells)


def add_kept_layer(viewer, view: LensView, model_of, *, mode: str, seed: int, model_source: str | None,
                   pixels: LayerPixels | None = None):
    """Add a finished view as an ordinary result layer with provenance (``model_of()`` gives the
    model, for its description; ``pixels`` how the view read its source: bands, stretch and nodata
    in its tags, as a Run's); returns the layer."""
    src = view.layer
    kwargs = placement(view)
    md = derived_metadata(src)
    (h, w), (H, W) = view.grid.in_shape, view.grid.out_shape
    if md.get("transform") is not None:
        md["transform"] = window_transform(md["transform"], (h, w), (H, W), view.win)
        a, b, _, d, e, _ = md["transform"]
        md["pixel_size"] = (float(np.hypot(b, e)), float(np.hypot(a, d)))
    from ..run._job import layer_source, model_info
    from ..run._results import regrid_metadata, run_label

    # GCPs, RPCs and a print resolution onto the kept window's grid (they were the source's)
    regrid_metadata(md, (h, w), (H, W), (view.win.y0 * h / H, view.win.x0 * w / W))

    model = model_of()
    # as a Run's result (the engine's rule): the source's own tags, none of its LDCSR_* provenance
    # (derived_metadata: a result's is another run's), and this view's, with the AI-generated notice
    from ldcsr_core.geo.job import provenance_tags, reading_tags, request_of

    md["tags"] = {**(md.get("tags") or {}),
                  **provenance_tags(model, scale=(H / h, W / w), requested=request_of(scale=view.step), mode=mode,
                                    seed=seed, src_name=layer_source(viewer, src).name),  # a Run's (a band's: its file)
                  **({} if pixels is None else reading_tags(*pixels.reading, nodata=pixels.reading_nodata))}
    if pixels is not None:  # the one value the lens wrote on invalid pixels (the form's nodata, else the
        md["nodata"] = output_nodata(pixels.nodata, pixels.dtype)  # layer's; float: NaN), as a Run's result declares it
    md["ldcsr"] = {
        "kind": "ldcsr", "via": "live lens", "source_layer": src.name, "scale": view.step,
        "grid_out_shape": [H, W], "out_window": [view.win.y0, view.win.x0, view.win.h, view.win.w],
        "in_window": [view.win.y0 * h / H, view.win.x0 * w / W, view.win.h * h / H, view.win.w * w / W],
        "out_shape": [view.win.h, view.win.w], "mode": mode, "seed": seed,
        "model_source": model_source or "built-in default", "model": model_info(model),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    extra = {} if src.rgb else {"colormap": src.colormap}
    return viewer.add_image(
        view.values.copy(), rgb=bool(src.rgb), name=f"{src.name} ×{view.step:g} (LDCSR {run_label(mode, seed)}, kept)",
        metadata=md, contrast_limits=list(src.contrast_limits), gamma=src.gamma,
        blending=covering_blending(src), **kwargs, **extra)
