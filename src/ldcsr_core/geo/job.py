"""What a run is: its options, its output grid, its provenance and its identity.

* :class:`UpscaleOptions` (how to super-resolve) and :class:`OutputOptions` (how to write a file);
* :func:`request_of` - a request as every front end asks it (per axis, as ``ldcsr upscale``);
* :func:`plan_output` - the output size and exact per-axis scale of a request;
* :func:`provenance_tags` - the ``LDCSR_*`` tags written into every output;
* :func:`request_fingerprint`, :func:`is_complete_output`, :func:`has_provenance` - the resume
  rule: an existing output is skipped only when it is a finished result of the very same request;
* :class:`RasterResult` - what :func:`~ldcsr_core.geo.pipeline.upscale_raster` did.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import threads
from ..precision import model_dtype
from . import raster_io as rio_io
from . import radiometry as rad
from .crs_override import parse_crs
from .georef import check_placement, pixel_unit
from .nodata_override import nodata_request, parse_nodata, spelt_zeros, zero_signs
from ..errors import InputError
from ..words import bound
from ..rules import (check_input_side, check_mode, check_number, check_samples, check_seed, check_tile, number_pair,
                     output_shape)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .scene_io import SceneReader

__all__ = ["UpscaleOptions", "OutputOptions", "checked_options", "RasterResult", "software_version", "empty_note", "all_empty", "output_notice", "request_of", "plan_output",
           "provenance_tags", "reading_tags", "provenance_summary", "is_spread_map", "check_not_spread_map", "request_fingerprint", "request_fingerprints",
           "is_complete_output",
           "spread_of", "has_provenance", "not_ours"]


@dataclass(frozen=True)
class UpscaleOptions:
    """How to super-resolve: engine ``mode`` and ``seed``, ``tile`` side in input pixels
    (``None``: the engine's default; diffusion mode runs on its fixed windows, so its ``tile`` is
    set to ``None`` and is not part of its provenance or resume fingerprint), ``bands`` (1-based model triplet, e.g. ``"4,3,2"``; ``None``:
    the first three colour bands) and ``stretch`` (``"auto"``, ``"percentile"`` or ``"dtype"``,
    see :func:`radiometry.compute_stretch`). ``samples`` > 1 (diffusion only): the output is the
    mean of that many samples (seeds ``seed, seed+1, …``) and their per-pixel spread is written too
    (:mod:`ldcsr_core.geo.spread`). ``nodata``: the user's nodata value instead of the file's (a
    number, or several numbers and ranges in a tuple: each is nodata, the first number declared by
    the output; a dict of them by 1-based band; ``"none"``: every value is data; ``None``: the
    file's), see
    :func:`~ldcsr_core.geo.nodata_override.with_nodata`. ``crs``: the user's CRS instead of the
    file's (QGIS's layer CRS; text rasterio reads, e.g. ``"EPSG:32633"`` or WKT; ``None``: the
    file's), see :func:`~ldcsr_core.geo.crs_override.with_crs`."""

    mode: str = "diffusion"
    seed: int = 0
    tile: int | None = None
    bands: Any = None
    stretch: str = "auto"
    samples: int = 1
    nodata: Any = None
    crs: Any = None

    def __post_init__(self):
        check_mode(self.mode)
        object.__setattr__(self, "samples", check_samples(self.samples, self.mode))
        object.__setattr__(self, "seed", check_seed(self.seed))
        object.__setattr__(self, "tile", check_tile(self.tile))
        if self.mode == "diffusion":  # tiling.plan_for_model: diffusion windows do not follow a tile
            object.__setattr__(self, "tile", None)
        if self.bands is not None:
            object.__setattr__(self, "bands", rad.parse_bands(self.bands))
        object.__setattr__(self, "nodata", parse_nodata(self.nodata))
        object.__setattr__(self, "crs", parse_crs(self.crs))


@dataclass(frozen=True)
class OutputOptions:
    """How to write a file: ``overwrite`` an existing output, or ``skip_complete`` (leave an
    existing complete output of the same request alone); ``block`` side and ``compress`` of the
    GeoTIFF; ``gdal_cache_mb``, the most MB GDAL's (process-wide) block cache holds during the run
    (:func:`~ldcsr_core.geo.gdal_cache.bounded_gdal_cache`: lowered for the run only). An output another live run is
    making (``output_claims.OutputClaim``) is waited for (``wait_for_others``; then skipped, with
    ``skip_complete``, if that run completed it), else :class:`~ldcsr_core.errors.OutputBusy`."""

    overwrite: bool = False
    skip_complete: bool = False
    wait_for_others: bool = True
    block: int = 512
    compress: str = "deflate"
    gdal_cache_mb: int = 256

    def __post_init__(self):  # checked here, before any work (georef.check_storage)
        from ..rules import check_count, check_flag
        from .georef import check_storage

        for flag in ("overwrite", "skip_complete", "wait_for_others"):  # 'no' was true: the output replaced
            object.__setattr__(self, flag, check_flag(getattr(self, flag), flag))
        object.__setattr__(self, "block", check_storage(self.block, self.compress)[0])
        object.__setattr__(self, "gdal_cache_mb", check_count(self.gdal_cache_mb, "gdal_cache_mb", 0))


def checked_options(value, kind: type, what: str, default=None):
    """``value`` if it is a ``kind`` (:class:`UpscaleOptions` or :class:`OutputOptions`), or
    ``default`` (else ``kind()``) when None; anything else is an :class:`InputError` naming the
    parameter, before any work (a dict failed with "'dict' object has no attribute 'nodata'", and
    an empty one was taken as no options at all)."""
    if value is None:
        return kind() if default is None else default
    if isinstance(value, kind):
        return value
    hint = f"; make one of it: {what}={kind.__name__}(**{what})" if isinstance(value, dict) else ""
    raise InputError(f"{what} must be a ldcsr_core.geo.job.{kind.__name__} or None, got "
                     f"{type(value).__name__} {value!r:.60}{hint}")


def software_version() -> str:
    try:
        from importlib.metadata import version

        return f"napari-ldcsr {version('napari-ldcsr')}"
    except Exception:
        return "napari-ldcsr (unknown version)"


@dataclass
class RasterResult:
    """What :func:`upscale_raster` did."""

    src: str
    dst: str
    in_shape: tuple[int, int]
    out_shape: tuple[int, int]
    scale: tuple[float, float]
    status: str = "written"  # "written" | "skipped"
    tiles: int = 0
    skipped_tiles: int = 0
    seconds: float = 0.0
    tags: dict = field(default_factory=dict)
    stale_parts_removed: int = 0
    spread: str | None = None  # the spread GeoTIFF of a samples > 1 run
    copied_from: str | None = None  # the output of the same file under another name, copied (same_as)

    @property
    def megapixels_per_s(self) -> float:
        return self.out_shape[0] * self.out_shape[1] / 1e6 / max(self.seconds, 1e-9)


def empty_note(tiles: int, skipped_tiles: int) -> str:
    """What a run's tiles of nodata only (not run through the model, so nodata in its result;
    ``RasterResult.skipped_tiles``, ``GeoArray.skipped_tiles``) say of the result, '' when none:
    'empty: nodata everywhere' when every tile was, else 'N of M tiles empty (nodata)'."""
    if skipped_tiles <= 0:
        return ""
    if all_empty(tiles, skipped_tiles):
        return "empty: nodata everywhere"
    return f"{skipped_tiles} of {tiles} tiles empty (nodata)"


def all_empty(tiles: int, skipped_tiles: int) -> bool:
    """Whether every one of a run's ``tiles`` was nodata only (``skipped_tiles``): no pixel of its result is the
    model's (:func:`empty_note`'s "nodata everywhere", :func:`output_notice`'s)."""
    return 0 < tiles <= skipped_tiles


def output_notice(tiles: int, skipped_tiles: int) -> str:
    """The ``LDCSR_NOTICE`` of a run's result: the AI-generated notice, or, where :func:`all_empty`, that no pixel of
    it was synthesised (``raster_io.NODATA_NOTICE``)."""
    return rio_io.NODATA_NOTICE if all_empty(tiles, skipped_tiles) else rio_io.AI_NOTICE


def request_of(scale=None, target_resolution=None) -> dict:
    """The request as ``ldcsr upscale`` asks it, for :func:`~ldcsr_core.geo.pipeline.upscale_raster`
    (``**request_of(...)``), whose ``LDCSR_REQUEST`` tag and ``LDCSR_JOB`` fingerprint
    (:func:`request_fingerprint`) record it: each one given per axis, as floats (``scale`` ``s`` or
    ``(sy, sx)`` as ``(sy, sx)``, ``target_resolution`` ``t`` or ``(tx, ty)`` as ``(tx, ty)``), one not
    given left out. The CLI, napari, QGIS and the API (``upscale_raster``, ``upscale_window``) ask by it,
    so the same file and settings are one request whichever made the output (``{'scale': 2.0}`` was another request than ``{'scale': (2.0, 2.0)}``)."""
    return {k: tuple(check_number(v, k.replace("_", " ")) for v in number_pair(given, k.replace("_", " "), pair))
            for k, given, pair in (("scale", scale, "a (y, x) pair"), ("target_resolution", target_resolution,
                                                                       "an (x, y) pair")) if given is not None}


def plan_output(info: rio_io.RasterInfo, *, scale=None, target_resolution=None, out_shape=None,
                in_shape: tuple[int, int] | None = None
                ) -> tuple[tuple[int, int], tuple[float, float]]:
    """Output shape and exact per-axis scale ``(H/h, W/w)`` from exactly one request.

    ``in_shape`` is the size of the part being super-resolved (default: the whole raster).
    ``target_resolution`` is in the raster CRS's units (metres for the usual projected CRS).
    A part smaller than ``rules.MIN_INPUT_SIDE`` on a side is an :class:`InputError`, as for
    :func:`ldcsr_core.upscale` (``rules.check_input_side``). A raster whose geotransform is
    singular is one too (``georef.check_placement``): no output grid can overlay it.
    """
    given = [x is not None for x in (scale, target_resolution, out_shape)]
    if sum(given) != 1:
        raise InputError("give exactly one of scale, target_resolution or out_shape")
    check_placement(info)  # a singular geotransform: no output can overlay it
    h, w = in_shape or (info.height, info.width)
    check_input_side((h, w), "the window" if in_shape and in_shape != (info.height, info.width) else "the raster")
    if target_resolution is not None:
        scale = rio_io.scale_for_resolution(info, target_resolution)
        H, W = round(h * scale[0]), round(w * scale[1])
        if H <= h or W <= w:  # said in the user's terms, not as a scale (output_shape's rule)
            (xres, yres), unit = info.res, pixel_unit(info)
            kept = f"{w} x {h} px" if (H, W) == (h, w) else f"{h} px in height" if H <= h else f"{w} px in width"
            raise InputError(
                f"target pixel size {xres / scale[1]:g} x {yres / scale[0]:g} {unit} is too close to the "
                f"input's {xres:g} x {yres:g} {unit}: the output covers the input's extent in whole pixels, "
                f"so it would keep its {kept}; {_one_more(xres, w)} x {_one_more(yres, h)} "
                f"{unit} or finer adds a pixel on each axis")
    H, W = output_shape((h, w), scale=scale, out_shape=out_shape)
    return (H, W), (H / h, W / w)


def _one_more(res: float, n: int) -> str:
    """The coarsest pixel size, as typed back, that gives ``n`` px of ``res`` one more: rounded down,
    in as many digits as that takes (6 at least; more on a side of millions of pixels)."""
    for digits in range(6, 18):
        text = bound(res * n / (n + 1), up=False, digits=digits)
        if round(n * (res / float(text))) == n + 1:  # plan_output's sums (scale_for_resolution's)
            break
    return text


def provenance_tags(model, *, scale, requested, mode: str, seed: int, src_name: str,
                    reader: SceneReader | None = None, tile=None) -> dict[str, str]:
    """Provenance written into every output (GDAL metadata, default domain)."""
    name = getattr(model, "name", None) or "unnamed"
    ver = getattr(model, "version", None)
    tags = {
        "LDCSR_NOTICE": rio_io.AI_NOTICE,
        "LDCSR_MODEL": f"{name} {ver}" if ver else str(name),
        "LDCSR_WEIGHTS_SHA256": str(getattr(model, "weights_sha256", None) or "unknown"),
        "LDCSR_SCALE_Y": repr(float(scale[0])),
        "LDCSR_SCALE_X": repr(float(scale[1])),
        "LDCSR_REQUEST": str(requested),
        "LDCSR_MODE": mode,
        "LDCSR_SEED": str(int(seed)),
        "LDCSR_SOFTWARE": software_version(),
        "LDCSR_SOURCE": src_name,
        "LDCSR_THREADS": threads.provenance_value(),  # auto:N or N (see ldcsr_core.threads)
        "LDCSR_DTYPE": model_dtype(model),  # the float type the model computed in (ldcsr_core.precision)
        "TIFFTAG_SOFTWARE": software_version(),
    }
    if tile is not None:
        tags["LDCSR_TILE"] = str(tile)
    if reader is not None:
        tags.update(reading_tags(reader.plan.groups, reader.stretch, nodata=(
            (reader.src.nodata_values or None, reader.src.file_nodata) if getattr(reader.src, "nodata_given", False)
            else None)))
        if hasattr(reader.src, "file_crs"):  # the user's CRS, not the file's
            file_crs = reader.src.file_crs
            tags["LDCSR_CRS"] = json.dumps({"used": reader.src.crs.to_string(),
                                            "file": None if file_crs is None else file_crs.to_string()})
        if (reader.oy, reader.ox, reader.height, reader.width) != (0, 0, reader.src.height,
                                                                    reader.src.width):
            tags["LDCSR_WINDOW"] = json.dumps([reader.oy, reader.ox, reader.height, reader.width])
    return tags


def reading_tags(groups, stretch, *, nodata: tuple | None = None) -> dict[str, str]:
    """How the source was read for the model, as :func:`provenance_tags` records it: ``groups`` the
    band triplets (0-based source bands; ``LDCSR_BANDS``, 1-based), ``stretch`` the per-band
    ``radiometry.Stretch`` (``LDCSR_STRETCH``, indexed by source band), ``nodata`` ``(used, file's)``
    when the user's nodata replaced the file's (``LDCSR_NODATA``; several values used: a list,
    declared first, a range ``'lo..hi'``; values by band, used or the file's: ``{"1": ..., "2": ...}``). Also the live lens's kept views'."""
    tags = {"LDCSR_BANDS": json.dumps([[int(b) + 1 for b in g] for g in groups]),
            "LDCSR_STRETCH": json.dumps(stretch.to_dict())}
    if nodata is not None:  # the user's nodata, not the file's
        used, file = nodata
        tags["LDCSR_NODATA"] = json.dumps({k: None if v is None else {str(b): _nodata_tag(e) for b, e in v.items()}
                                           if isinstance(v, dict) else _nodata_tag(v)
                                           for k, v in (("used", used), ("file", file))})
    return tags


def _nodata_tag(values):
    """Nodata values as ``LDCSR_NODATA`` records them: one number's repr, else a list of them (a
    range as ``'200.0..300.0'``)."""
    values = values[0] if isinstance(values, tuple) and len(values) == 1 else values
    if isinstance(values, tuple):
        return [str(v) if hasattr(v, "lo") else repr(float(v)) for v in values]
    return str(values) if hasattr(values, "lo") else repr(float(values))


def provenance_summary(tags: dict, *, brief: bool = False) -> str | None:
    """What a raster's ``LDCSR_*`` tags (:func:`provenance_tags`, a spread file's, a bicubic
    baseline's) say it is, in one line; None for a raster this package did not make.  ``brief``:
    without the AI-generated notice's wording (``an LDCSR output (model …, ×2 x, …, from a.tif)``),
    as an output's ``LDCSR_INPUT_PROVENANCE`` records its input."""
    if not any(str(k).startswith("LDCSR_") for k in tags):
        return None
    if "LDCSR_MODEL" not in tags and "LDCSR_PROVENANCE" in tags:  # napari's Save of a derived layer
        try:
            kind = json.loads(tags["LDCSR_PROVENANCE"]).get("kind")
        except (ValueError, AttributeError):
            kind = None
        return f"a layer saved by napari-ldcsr ({kind or 'kind not recorded'}); its LDCSR_PROVENANCE tag says how it was made"
    model, mode = tags.get("LDCSR_MODEL", "?"), tags.get("LDCSR_MODE", "?")
    try:
        scale = f"×{float(tags['LDCSR_SCALE_X']):.6g} x, ×{float(tags['LDCSR_SCALE_Y']):.6g} y"
    except (KeyError, ValueError):
        scale = "scale not recorded"
    seed = f" seed {tags['LDCSR_SEED']}" if mode == "diffusion" and "LDCSR_SEED" in tags else ""
    source = tags.get("LDCSR_SOURCE") or "?"
    if mode == "bicubic":
        return f"a bicubic baseline ({scale}) of {source}, made by LDCSR for comparison (no model)"
    what = f"model {model}, {scale}, {mode}{seed}, from {source}"
    if tags.get("LDCSR_INPUT_PROVENANCE"):  # an LDCSR output super-resolved again
        what += f", itself {tags['LDCSR_INPUT_PROVENANCE']}"
    if "LDCSR_SPREAD" in tags:
        of = "" if brief or not tags.get("LDCSR_SPREAD_OF") else f"of output {tags['LDCSR_SPREAD_OF']}: "
        return f"{'an LDCSR spread map' if brief else tags['LDCSR_SPREAD']} ({of}{what})"
    if brief:
        return f"an LDCSR output ({what})"
    if "LDCSR_NOTICE" in tags:
        samples = f", mean of {tags['LDCSR_SAMPLES']} samples" if "LDCSR_SAMPLES" in tags else ""
        return f"{tags['LDCSR_NOTICE']} ({what}{samples})"
    return f"LDCSR_* tags without the AI-generated notice ({what})"


def is_spread_map(tags: dict) -> bool:
    """Whether a raster's tags say it is an LDCSR spread map (the uncertainty of K diffusion samples):
    ``upscale --samples K``'s (``LDCSR_SPREAD``), or a napari spread layer saved (``LDCSR_PROVENANCE``
    of kind "spread")."""
    if "LDCSR_SPREAD" in tags:
        return True
    try:
        return json.loads(tags.get("LDCSR_PROVENANCE") or "{}").get("kind") == "spread"
    except (ValueError, AttributeError):
        return False


def check_not_spread_map(tags: dict, name: str, *, use: str = "upscale") -> None:
    """An :class:`InputError` when ``tags`` (a raster's, or a layer's as napari would save it) say
    ``name`` is an LDCSR spread map, checked before any work by every front end: its values are how
    much K samples disagreed, not a picture, so upscaling it makes a picture of nothing, self-checking
    it (``use="selfcheck"``) scores a picture of nothing, and adapting to it (``use="adapt"``) teaches the model
    noise as detail; its source is what to use (``ldcsr info`` says it so)."""
    if is_spread_map(tags):
        done, do = {"upscale": ("upscaled", "upscale"), "selfcheck": ("self-checked", "self-check"),
                    "adapt": ("adapted to", "adapt to")}[use]
        source = f" ({tags['LDCSR_SOURCE']})" if tags.get("LDCSR_SOURCE") else ""
        raise InputError(f"{name} is an LDCSR spread map: its values are the uncertainty of an output (how much "
                         f"its diffusion samples disagreed), not a picture, so it is not {done}; {do} its "
                         f"source{source} instead")


def request_fingerprint(src_path: str | Path, *, model, options: UpscaleOptions, request: dict,
                        out_shape: tuple[int, int], reads=(), spelt: bool = True,
                        zeros: tuple[bool, ...] | None = None) -> str:
    """SHA-256 of everything that makes a file output what it is: the source (resolved path, size,
    modification time), the weights, and every option that changes pixels (mode, the seed in
    diffusion mode, samples, tile, bands, stretch, the requested scale or size). Written as the ``LDCSR_JOB`` tag; a resumed
    run skips an existing output only when its fingerprint is the same.

    ``reads``: the other files GDAL reads with the source (:func:`~.raster_io.files_read`: a world
    file, an ``.aux.xml``, a ``.msk``, an ``.RPB``, a VRT's sources), each by resolved path, size and
    modification time too: a world file corrected, a nodata set in an ``.aux.xml`` or a VRT's
    source replaced changes the output (a plain file's fingerprint is as before). ``spelt=False``: the
    nodata as given, as outputs made before :func:`~.nodata_override.nodata_request` record it;
    ``zeros``: its zeros spelt so (:func:`~.nodata_override.zero_signs`: True for -0), as outputs made before it
    took -0 as 0 record ``--nodata -0`` or ``1=-0,2=0``; None: as :func:`~.nodata_override.nodata_request` spells
    them (0), or as given with ``spelt=False``."""
    import hashlib

    p = Path(src_path)
    st = p.stat()
    ident = {
        "source": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
        "weights": str(getattr(model, "weights_sha256", None) or "unknown"), "dtype": model_dtype(model),
        # fast mode is deterministic: its seed changes no pixel (0, the default, as before)
        "mode": options.mode, "seed": int(options.seed) if options.mode == "diffusion" else 0,
        "samples": int(options.samples),
        "tile": options.tile, "bands": options.bands, "stretch": options.stretch,
        # one spelling per nodata request (nodata_request: '1=none,2=0' is '2=0'); earlier fingerprints stay
        **({} if options.nodata is None else {"nodata": _nodata_spelling(options.nodata, spelt, zeros)}),
        **({} if options.crs is None else {"crs": options.crs}),
        "request": {k: v for k, v in request.items() if v is not None},
        "out_shape": [int(v) for v in out_shape],
    }
    others = sorted({str(Path(f).resolve()) for f in reads} - {ident["source"]})
    if others:
        ident["reads"] = [[f, *_size_mtime(f)] for f in others]
    blob = json.dumps(ident, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()


def _nodata_spelling(nodata, spelt: bool, zeros: tuple[bool, ...] | None):
    nodata = nodata_request(nodata) if spelt else nodata
    return nodata if zeros is None else spelt_zeros(nodata, zeros)


def request_fingerprints(src_path: str | Path, *, as_given: dict | None = None, **request) -> tuple[str, ...]:
    """The ``LDCSR_JOB`` fingerprints a resumed run takes as this request's (:func:`is_complete_output`'s
    ``job``): :func:`request_fingerprint`'s (the one written) first; then those its earlier outputs carry:
    with a nodata by band that gives a band none ('1=none,2=0'), the one an output made before it was spelt
    as '2=0' carries; with a nodata of zero (a value or a range's end), the one an output made before -0 was
    taken as 0 carries with its zeros as given: each as -0 ('--nodata -0', a float file's -0.0 in QGIS), then
    each mix of 0 and -0 ('1=-0,2=0': :func:`~.nodata_override.zero_signs`); with ``as_given``
    (the request as the caller spelt it, ``{'scale': 2}``), the one an output
    :func:`~.pipeline.upscale_raster` made before it asked by :func:`request_of` carries. So such an output
    is still skipped, not refused as another request's."""
    nodata = request["options"].nodata
    spellings = (True, False) if isinstance(nodata, dict) and not all(nodata.values()) else (True,)
    zeros = (None, *zero_signs(nodata)[1:])  # 0 (nodata_request's), all -0, each mix
    asked = (request.pop("request"),) + (() if as_given is None else (as_given,))
    return tuple(dict.fromkeys(request_fingerprint(src_path, **request, request=r, spelt=s, zeros=z)
                               for r in asked for z in zeros for s in spellings))


def _size_mtime(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:  # gone meanwhile: no size, so no match with a fingerprint made while it was there
        return None, None
    return st.st_size, st.st_mtime_ns


def spread_of(spread: str | Path, dst: str | Path) -> str:
    """What a spread file's ``LDCSR_SPREAD_OF`` tag says of the output ``dst`` it describes: its path
    from the spread file's folder (``o.tif`` beside it), so a folder moved whole keeps the link."""
    return Path(os.path.relpath(Path(dst).resolve(), Path(spread).resolve().parent)).as_posix()


def is_complete_output(dst: str | Path, *, out_shape, job: str | Sequence[str],
                       spread_for: str | Path | None = None) -> bool:
    """Whether ``dst`` is a finished output of this very request: our provenance, the size, and the
    ``LDCSR_JOB`` fingerprint of :func:`request_fingerprint` (source, weights, every option), or one of
    ``job``'s when it holds several (:func:`request_fingerprints`).
    ``spread_for``: ``dst`` is the spread file of that output, so it must also say it describes it
    (``LDCSR_SPREAD_OF``, :func:`spread_of`; one written before that tag existed does not say).

    Outputs are renamed into place only when complete, so this is what a resumed batch skips.
    """
    import rasterio

    p = Path(dst)
    if not p.is_file():
        return False
    try:
        with rasterio.open(p) as ds:
            t = ds.tags()
            return ((ds.height, ds.width) == tuple(out_shape)
                    and t.get("LDCSR_NOTICE") in rio_io.NOTICES and t.get("LDCSR_JOB") in ((job,) if isinstance(job, str) else tuple(job))
                    and (spread_for is None or t.get("LDCSR_SPREAD_OF") in (None, spread_of(p, spread_for))))
    except Exception:
        return False


def notice_of(path: str | Path) -> str | None:
    """The ``LDCSR_NOTICE`` tag of the raster at ``path`` (None: not a raster this package wrote, or none there)."""
    try:
        import rasterio

        with rasterio.open(path) as ds:
            return ds.tags().get("LDCSR_NOTICE")
    except Exception:  # not a raster, a broken link
        return None


def has_provenance(path: str | Path) -> bool:
    """Whether ``path`` is a raster this package wrote (it carries the ``LDCSR_NOTICE`` tag)."""
    return notice_of(path) is not None


_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic TIFF and BigTIFF, either byte order


def not_ours(path: str | Path) -> str:
    """What the file at the output name ``path`` is, in a few words, when it is no raster this package
    wrote (:func:`has_provenance`): a link to a missing file, a TIFF that cannot be read (damaged or cut
    short), not a raster, a raster of this package without its tags (cut short: they are written after its
    directory) or a raster another program wrote; "" for one this package wrote."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        return f"a link to {os.readlink(p)}, which is missing"
    if has_provenance(p):
        return ""
    try:
        import rasterio

        with rasterio.open(p) as ds:  # its software tag (in the TIFF's directory) outlives its own tags, written after
            ours = ds.tags().get("TIFFTAG_SOFTWARE", "").startswith(software_version().split()[0] + " ")
        return "a raster of ldcsr whose tags are lost: damaged or cut short" if ours else "a raster ldcsr did not write"
    except Exception:
        pass
    try:
        with open(p, "rb") as f:
            tiff = f.read(4) in _TIFF_MAGIC
    except OSError:
        return "a file that cannot be read"
    return "a TIFF that cannot be read: damaged or cut short" if tiff else "not a raster"
