"""One super-resolution job, Qt-free: what to compute, the model cache, the engine call.

The widget runs :func:`run_job` in a napari ``thread_worker``; ``ldcsr_core``'s engine (and so
torch) is only imported when a job or a model load actually runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from ldcsr_core.rules import MAX_SCALE, MIN_INPUT_SIDE, check_mode, output_shape

from .._geometry import Region
from .._viewer import STREAMING
from ._layer_source import LayerSource, is_lazy_file_layer, layer_source
from ._stacks import stack_problem

__all__ = [
    "JobSpec", "JobResult", "LayerSource", "ModelCache", "default_model_provider", "model_info",
    "layer_source", "run_job", "bicubic_job", "TilePreview", "provenance", "check_layer", "unsupported_dtype",
    "live_layer_problem", "spread_map_problem",
    "plain_message", "is_lazy_file_layer", "digesting",
]

ModelProvider = Callable[[str | None], Any]


@dataclass(frozen=True)
class JobSpec:
    """What to compute: everything the engine needs besides the pixels and the model."""

    scale: float
    region: Region
    mode: str = "diffusion"
    seed: int = 0
    model_source: str | None = None
    tile: int | None = None
    bicubic: bool = False
    stretch: str = "auto"
    bands: tuple[int, ...] | None = None
    output_path: str | None = None  # stream the result to this GeoTIFF (see ``_bigrun``)
    samples: int = 1  # > 1: the mean of that many diffusion samples, plus their spread (uncertainty)
    nodata: float | str | None = None  # the form's nodata (``ldcsr upscale --nodata``); None: the layer's

    def __post_init__(self) -> None:
        check_mode(self.mode)
        from ldcsr_core.rules import check_samples

        check_samples(self.samples, self.mode)

    @property
    def out_shape(self) -> tuple[int, int]:
        return output_shape(self.region.shape, scale=self.scale)


@dataclass
class JobResult:
    """A finished job: the result (a ``ldcsr_core.geo`` GeoArray, ``(bands, H, W)`` in the source
    dtype) and the bicubic baseline if asked for (both None once their layers hold the pixels)."""

    data: Any
    bicubic: Any | None
    spec: JobSpec
    seconds: float
    model_info: dict = field(default_factory=dict)
    path: str | None = None  # the GeoTIFF a streamed job wrote (``data`` is then None)
    spread: Any | None = None  # samples > 1: the per-pixel spread, a GeoArray (colour bands, H, W) float32
    spread_path: str | None = None  # the spread GeoTIFF a streamed job with samples > 1 wrote
    tiles: int = 0  # the engine's tiles, and those of nodata only (its ``skipped_tiles``)
    skipped_tiles: int = 0
    # the engine's pixel_digest of each source layer as the run's copy of them held it, taken in the worker
    # (``LayerSource.copy_digests``; None: a layer digested on the GUI thread as the run began, or a streamed job)
    pixel_digests: tuple = ()

    @property
    def empty(self) -> str:
        """The engine's words for the result's nodata-only tiles ('empty: nodata everywhere'), or ''."""
        from ldcsr_core.geo.job import empty_note

        return empty_note(self.tiles, self.skipped_tiles)


def plain_message(exc: BaseException) -> str:
    """One line for a notification: the error's own message, its type only when that helps. An
    output that exists is said without the Python parameter that would replace it: napari's Run
    picks a free name itself, so one there is another program's, written meanwhile."""
    from ldcsr_core.errors import LdcsrError, OutputExistsError, is_out_of_memory, one_line

    if isinstance(exc, OutputExistsError):  # was '(use output=OutputOptions(overwrite=True) to replace it)'
        return exc.worded(advice="run again: napari picks a free name")
    if is_out_of_memory(exc):  # MemoryError, torch's OutOfMemoryError, an allocator's RuntimeError
        return "out of memory; try a smaller region, a smaller scale or a smaller tile"
    if isinstance(exc, (ValueError, LdcsrError, OSError)):
        return one_line(exc)
    return f"{type(exc).__name__}: {one_line(exc)}"


def check_layer(layer, scale: float, viewer=None, *, use: str = "upscale") -> str | None:
    """Why ``layer`` (of ``viewer``, when given) cannot be super-resolved at ``scale`` (a plain
    sentence), or None; ``use``: what it is for, in a spread map's refusal ("selfcheck": Check quality,
    "adapt": Adapt)."""
    from napari.layers import Image

    if layer is None:
        return "Pick an image layer first (open an image, or File ▸ Open Sample ▸ napari-ldcsr)."
    if viewer is not None and layer not in viewer.layers:  # removed since (a script's reference), another viewer's
        return f"'{layer.name}' is not a layer of this viewer; pick one of its image layers."
    if not isinstance(layer, Image):
        return f"'{layer.name}' is a {type(layer).__name__} layer; LDCSR super-resolves image layers only."
    if (problem := live_layer_problem(layer)) is not None:
        return problem
    if (problem := spread_map_problem(layer, use=use)) is not None:
        return problem
    if layer.multiscale and not is_lazy_file_layer(layer):
        return f"'{layer.name}' is multiscale; LDCSR needs a single-resolution image layer."
    if (problem := unsupported_dtype(layer, written=True)) is not None:
        return problem
    shape = layer.data.shape
    if (problem := stack_problem(layer, shape)) is not None:  # a time series, a band stack
        return problem
    if min(shape[:2]) < MIN_INPUT_SIDE:
        return (f"'{layer.name}' is only {shape[0]}×{shape[1]} px; LDCSR needs at least "
                f"{MIN_INPUT_SIDE}×{MIN_INPUT_SIDE} px.")
    if not (1.0 <= scale <= MAX_SCALE):
        return f"Scale {scale:g} is out of range; choose a scale between 1.00 and {MAX_SCALE:.2f}."
    if scale <= 1.0:
        return f"Scale {scale:.2f} would leave the image as it is; choose a scale above 1.00."
    return None


def spread_map_problem(layer, *, use: str = "upscale") -> str | None:
    """Why ``layer`` is no picture to upscale (``use="selfcheck"``: to self-check, "adapt": to adapt to), by the engine's rule
    (``check_not_spread_map``, also the command line's and QGIS's): a spread map (of ``ldcsr upscale --samples K``,
    or a Run's spread layer) opened or made here, by its tags as Save would write them; None for any other layer."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.job import check_not_spread_map

    from ..io._writer import saved_tags

    try:
        check_not_spread_map(saved_tags(layer.metadata or {}), f"'{layer.name}'", use=use)
    except InputError as exc:
        return f"{exc}."
    return None


def live_layer_problem(layer) -> str | None:
    """Why the live lens's own layer is no source (its pixels are display colours of a moving window
    of another layer), or None for any other layer."""
    from .._viewer import is_live_layer

    if is_live_layer(layer):
        return f"'{layer.name}' is the live lens's view of another layer; pick that layer instead."
    return None


def unsupported_dtype(layer, written: bool = False) -> str | None:
    """Why the pixels of image ``layer`` cannot be super-resolved (a boolean mask, complex numbers)
    or, with ``written``, cannot be a Run's result (half floats: GeoTIFF and the engine's raster
    path have no float16), or None."""
    dt = np.dtype(layer.data.dtype)
    if dt == np.bool_:
        return f"'{layer.name}' is a boolean (mask) layer; LDCSR super-resolves images, not masks."
    if dt.kind not in "uif" or (written and dt == np.float16):
        return (f"'{layer.name}' holds {dt.name} pixels; LDCSR (like GeoTIFF) takes integer, float32 or "
                "float64 images: save it in one of those types first.")
    return None


def default_model_provider(source: str | None) -> Any:
    """Load a model through the engine (``None`` = the shipped default weights)."""
    import ldcsr_core

    return ldcsr_core.load_model(source)


def model_info(model: Any) -> dict:
    """Name/version/hash/device of an engine model, for provenance and the device label."""
    info = {}
    for key in ("name", "version", "weights_sha256", "device"):
        value = getattr(model, key, None)
        if value is not None:
            info[key] = str(value)
    if "device" not in info:
        try:
            info["device"] = str(next(model.parameters()).device)
        except (AttributeError, StopIteration, TypeError):
            pass
    return info


class ModelCache:
    """Loads each model source once (thread-safe) and hands the same object back afterwards, until
    the file at that path changes (retrained, adapted or copied over) or ``LDCSR_DTYPE`` asks for
    another float type (the engine's :func:`~ldcsr_core.precision.loaded_model_key`), which is
    then loaded again."""

    def __init__(self, provider: ModelProvider | None = None) -> None:
        self._provider = provider or default_model_provider
        self._models: dict[str | None, tuple[tuple, Any]] = {}  # source -> (file key, model)
        self._lock = threading.Lock()
        self.loads = 0

    @staticmethod
    def _key(source: str | None) -> tuple:
        from ldcsr_core.precision import loaded_model_key

        return loaded_model_key(source)  # its file, and the float type LDCSR_DTYPE asks for now

    def get(self, source: str | None) -> Any:
        """The model for ``source`` (None = built-in default), loading it on first use and again
        when its file has changed since."""
        key = self._key(source)
        with self._lock:
            entry = self._models.get(source)
            if entry is None or entry[0] != key:
                self._models[source] = (key, self._provider(source))
                self.loads += 1
            return self._models[source][1]

    def put(self, source: str, model: Any) -> None:
        """Hand out ``model`` for ``source`` from now on (a model just made and saved there)."""
        with self._lock:
            self._models[source] = (self._key(source), model)

    def cached(self, source: str | None) -> Any | None:
        """The model for ``source`` if it is loaded already (and its file unchanged), else None."""
        entry = self._models.get(source)
        return entry[1] if entry is not None and entry[0] == self._key(source) else None

    def shipped(self, source: str | None) -> bool:
        """Whether the model for ``source`` is a shipped one (``ldcsr_core.builtin_models.is_shipped``), without
        loading it: the model loaded already (its weights' SHA-256: no file read again each Run), else by its file
        for the engine's loader; another provider's model (an application's, a test's) only once it is loaded,
        since what it hands out for ``source`` is its own (else False: not known)."""
        from ldcsr_core.builtin_models import is_shipped

        model = self.cached(source)
        if model is not None:
            return is_shipped(model)
        return self._provider is default_model_provider and is_shipped(source)


# --------------------------------------------------------------------------------------------
# layers <-> rasters


def _options(spec: JobSpec):
    from ldcsr_core.geo.pipeline import UpscaleOptions

    return UpscaleOptions(mode=spec.mode, seed=spec.seed, tile=spec.tile, bands=spec.bands, stretch=spec.stretch,
                          samples=spec.samples, nodata=spec.nodata)


def bicubic_job(source: LayerSource, spec: JobSpec, ds=None):
    """The bicubic baseline of ``spec`` through the same radiometry as the LDCSR run (a GeoArray), of ``ds``
    (a run's own copy of the source, :meth:`LayerSource.dataset`: the pixels its result is of), else of the
    source's pixels now."""
    from contextlib import nullcontext

    from ldcsr_core.geo.pipeline import bicubic_window, request_of

    with source.dataset() if ds is None else nullcontext(ds) as ds:
        return source.held(bicubic_window(ds, **request_of(scale=spec.scale), window=spec.region.window,
                                          options=_options(spec), source_name=source.name))


class TilePreview:
    """Maps a tile's model output (``TileProgress.output``, unit triplets) to source units with the
    run's own stretch (fitted the same way, on the same data) and the final rows' rule
    (``BandPlan.unit_planes``: each channel clipped to [0, 1], a replicated band's then averaged), for
    showing tiles as they finish.

    Unblended, without nodata restoration and without what lay beyond the stretch: a preview. The
    finished rows replace it.
    """

    def __init__(self, dataset, spec: JobSpec) -> None:
        from ldcsr_core.geo.nodata_override import with_nodata
        from ldcsr_core.geo.pipeline import SceneReader

        self.reader = SceneReader(with_nodata(dataset, spec.nodata), spec.bands, spec.stretch)
        self.colour = list(self.reader.plan.colour)

    def __call__(self, output: np.ndarray) -> np.ndarray:
        """``(h, w, 3·groups)`` unit output -> ``(colour bands, h, w)`` in the source dtype."""
        return self.reader.stretch.from_unit(self.reader.plan.unit_planes(output), self.colour, clip_unit=True)


def run_job(
    source: LayerSource,
    spec: JobSpec,
    model: Any,
    *,
    callback: Callable | None = None,
    on_rows: Callable[[int, np.ndarray], None] | None = None,
    on_tile: Callable[[tuple, list, np.ndarray], None] | None = None,
    on_placeholder: Callable[[list], None] | None = None,
) -> JobResult:
    """Super-resolve ``spec.region`` of ``source`` through ``ldcsr_core.geo`` (the CLI's pipeline:
    stretch, nodata, band triplets), in the calling thread.

    ``callback`` is the engine's progress/cancel protocol (``ldcsr_core.progress``);
    ``on_rows(y0, rows)`` gets each block of finished rows ``(bands, n, W)`` (final pixels);
    ``on_tile(box, colour_bands, values)`` each finished tile's preview (see :class:`TilePreview`),
    ``box`` = ``(y0, x0, h, w)`` in the output; ``on_placeholder(arrays)`` the result's first look
    (:func:`~._placeholders.placeholders`), made of the run's copy of the source as the result and its bicubic
    baseline are (an edit of the layer meanwhile is in none of them).

    With ``spec.output_path`` the whole source file is streamed to that GeoTIFF instead
    (:func:`ldcsr_core.geo.pipeline.upscale_raster`: atomic, nothing left on cancel; no
    ``on_rows``/``on_tile``) and the result's ``path`` is set, its ``data`` None.
    """
    from ldcsr_core.geo.pipeline import OutputOptions, request_of, upscale_raster, upscale_window

    t0 = time.perf_counter()
    # asked as `ldcsr upscale` asks it (per axis): the same LDCSR_REQUEST and LDCSR_JOB, so the command line
    # resumes (skips) a streamed output of the same request instead of refusing it as another's
    request = request_of(scale=spec.scale)
    if spec.output_path is not None:
        from ldcsr_core.geo.sampling import default_spread_path

        # Save refuses these names while the engine writes them (the result, and its spread file)
        writing = {spec.output_path} | ({str(default_spread_path(spec.output_path))} if spec.samples > 1 else set())
        STREAMING.update(writing)
        source.unpin()  # streamed from its file: the layers' arrays are not read (one given another is freed)
        try:
            res = upscale_raster(source.path, spec.output_path, model=model, **request,
                                 options=_options(spec), callback=callback,
                                 # a name another process is making: said at once (a wait could not be cancelled)
                                 output=OutputOptions(overwrite=False, wait_for_others=False))
        finally:
            STREAMING.difference_update(writing)
        return JobResult(None, None, spec, time.perf_counter() - t0, model_info(model), path=res.dst,
                         spread_path=res.spread, tiles=res.tiles, skipped_tiles=res.skipped_tiles)
    with source.dataset() as ds:
        source.unpin()  # the run reads its copy from here on: an array the layer is given meanwhile frees the old
        if on_placeholder is not None:
            from ._placeholders import placeholders

            on_placeholder(placeholders(source, spec, ds))
        digests: list = []  # of the copy the run reads, here in the worker (not the GUI thread)
        progress = None if callback is None else digesting(source, ds, callback, digests)
        if on_tile is not None:
            preview, report = TilePreview(ds, spec), progress

            def progress(info) -> None:
                # the tile's preview is handed on before its count, so that a view that shows
                # "n tiles done" shows those n tiles (a preview after a cancel is dropped by the
                # GUI; ``callback`` may raise Cancelled and stop the run here)
                if info.tile is not None and info.output is not None:
                    on_tile(info.tile.write, preview.colour, preview(info.output))
                if report is not None:
                    report(info)

        run = upscale_window
        if spec.samples > 1:  # uncertainty map: mean + spread (ldcsr_core.geo.spread)
            from ldcsr_core.geo.spread import upscale_window_spread as run
        out = run(ds, model=model, **request, window=spec.region.window,
                  options=_options(spec), callback=progress, on_rows=on_rows,
                  source_name=source.name)
        base = bicubic_job(source, spec, ds) if spec.bicubic else None  # of the pixels the result is of
        digests = digests[0] if digests else source.copy_digests(ds)
    out, spread = (out.mean, out.spread) if spec.samples > 1 else (out, None)
    out = source.held(out)
    return JobResult(out, base, spec, time.perf_counter() - t0, model_info(model), spread=spread,
                     tiles=out.tiles, skipped_tiles=out.skipped_tiles, pixel_digests=digests)


def digesting(source: LayerSource, ds, callback: Callable, digests: list) -> Callable:
    """``callback`` that first, at the engine's call before its first tile, digests the run's (or check's) copy ``ds``
    (:meth:`LayerSource.copy_digests`, into ``digests``: about a second a GB), calling ``callback`` with that
    same progress between passes, so that a Cancel meanwhile stops the run within one pass."""
    def progress(info) -> None:
        if not digests:
            digests.append(source.copy_digests(ds, tick=lambda: callback(info)))
        callback(info)

    return progress


def provenance(result: JobResult, source_name: str) -> dict:
    """The ``ldcsr`` metadata entry of a result layer."""
    spec = result.spec
    return {
        "source_layer": source_name,
        "scale": spec.scale,
        "in_shape": list(spec.region.shape),
        "out_shape": list(spec.out_shape),
        "region": asdict(spec.region),
        "mode": spec.mode,
        "seed": spec.seed,
        "samples": spec.samples,
        "stretch": spec.stretch,
        "bands": list(spec.bands) if spec.bands else None,
        **({} if spec.nodata is None else {"nodata": spec.nodata}),
        "model_source": spec.model_source or "built-in default",
        "model": result.model_info,
        "seconds": round(result.seconds, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
