"""The Processing algorithm "LDCSR super-resolution" (``ldcsr:superresolution``).

A thin shell over :func:`ldcsr_core.geo.pipeline.upscale_raster`, the engine's raster path used by
the ``ldcsr`` command line too: no raster or radiometry code here. Progress goes to
``feedback.setProgress`` (with a quality report, the raster is the bar's first half and the
report its second), ``feedback.isCanceled()`` is polled between tiles (through
:func:`ldcsr_core.progress.polling`), and every expected failure (bad input, unreadable file,
read-only folder, not a checkpoint, cancel) ends as a ``QgsProcessingException`` with one clear
line, which QGIS shows once in the log, and no output file.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtGui import QIcon

from .reopen import reopen_layers_of, sidecar_state
from .values import band_choice, check_number, layer_crs, layer_nodata, layer_source, options_note

ICON = os.path.join(os.path.dirname(__file__), "icon.png")

HELP = """<p>Super-resolves a raster layer with LDCSR (continuous-scale latent-diffusion
super-resolution) and writes a tiled, compressed GeoTIFF with exactly the input's bounds and CRS
(the layer's, also one set in QGIS), its band count and data type (a paletted layer is written as
RGB or RGBA, a picture of the map: the log warns), and its nodata (the layer's, also one set in
QGIS; a float layer without nodata gets NaN, the value its invalid pixels are written), plus
provenance tags (<code>LDCSR_*</code>).
<b>The output pixels are AI-generated, not measurements.</b></p>
<p><b>Scale</b>: upscaling factor, &gt; 1 and &le; {max_scale:g} (non-integer allowed).
<b>Target pixel size</b>: if set (&gt; 0), replaces the scale: the output pixel size in the
layer's CRS units (metres for UTM); it must be finer than the input's, by at most ×{max_scale:g},
and needs a projected CRS.</p>
<p><b>Bands</b>: one or three bands fed to the model as R, G, B (all bands are super-resolved,
the others three at a time), in the order of the band list, not the order they were checked in:
drag them into R, G, B order there (the red, green and blue bands the automatic rule knows, listed
in another order, are a warning in the log). Left empty: the bands whose colour interpretation is red, green
and blue; else, if the band names are Sentinel-2 band names (B2, B03, B4 red, ...) including B4,
B3 and B2, those as R, G, B; else, for a 12- or 13-band layer without band names (a full
Sentinel-2 stack), bands 4, 3, 2; otherwise the first three.</p>
<p><b>Mode</b>: <i>diffusion</i> (the seeded 4-step sampler; with the shipped model sharper, but
the detail may be invented) or <i>fast</i> (one deterministic decode: the most faithful, and
for previews). <b>Seed</b>: the sampler's seed; the same seed gives the same file.
<b>Model file</b>: an LDCSR <code>.safetensors</code> or an official <code>.ckpt</code>; empty:
the model shipped with the engine; an adapted model used beyond what its guard checked (another
scale, diffusion mode, other bands or stretch) is a warning in the log. <b>Tile size</b> (advanced): fast mode's tile side in input pixels
(&ge; {min_tile}; 0: the engine's default); diffusion mode always uses its fixed windows, so that a
seed gives one picture. <b>Stretch</b> (advanced): how band values map to the model's range:
auto (8-bit as is, other types by robust percentiles of the whole layer), percentile, or dtype
(the full integer range).</p>
<p>Memory stays at about one row of tiles, whatever the layer size. Cancel stops within one
tile and leaves no output file; during the quality report, it stops the report and the raster
already written is kept (the log says where).</p>
<p><b>Quality report</b> (optional, .json or .html): a reduced-resolution self-check of the
model on the input at the chosen scale (Wald's protocol, as <code>ldcsr evaluate</code>): the input
is degraded by the scale, restored by the model and by bicubic, and both are compared with the
input (PSNR, SSIM, gain over bicubic); a layer above {max_pixels:,} pixels is checked on
{samples} windows of {sample_size} px. Nodata pixels are left out of the figures (the report says
how many). A report that cannot be made (e.g. too little data to score) is an error in the log;
the raster is kept. Limits: {limits}.</p>"""


#: The handler of the run going on in this thread (and in the engine threads it starts, which run in
#: a copy of its context): QGIS runs algorithms in background tasks, several at once.
_RUN: contextvars.ContextVar = contextvars.ContextVar("ldcsr_qgis_run", default=None)


class _FeedbackLog(logging.Handler):
    """Forwards the engine's log records (e.g. stale part files removed) to the feedback log of the
    run that emitted them: the handler sits on the engine's logger, shared by every run of the
    process, and takes only the records of its own run (:data:`_RUN`)."""

    def __init__(self, feedback):
        super().__init__(logging.INFO)
        self.feedback = feedback

    def filter(self, record: logging.LogRecord) -> bool:
        return _RUN.get() is self and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING and hasattr(self.feedback, "pushWarning"):
            self.feedback.pushWarning(msg)
        else:
            self.feedback.pushInfo(msg)


_MODELS: dict = {}
_MODELS_LOCK = threading.Lock()  # runs go on at once: one load of a model, not one per run


def _load_model(path: str | None):
    """The engine model for ``path`` (``None``: the shipped one), cached until the file there changes
    (inode, size, modification and change times) or ``LDCSR_DTYPE`` asks for another float type (set
    in QGIS's Python console): the engine's :func:`~ldcsr_core.precision.loaded_model_key`."""
    from ldcsr_core import load_model
    from ldcsr_core.precision import loaded_model_key

    key = loaded_model_key(path)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            _MODELS.clear()  # keep one model in memory
            model = _MODELS[key] = load_model(path, device="auto")
    return model


def _check_report_path(report: str, src: str, dst: str, model_path: str | None, reads=()) -> None:
    """The quality report's destination, checked before any work by the engine's rule
    (:func:`ldcsr_core.files.check_report_path`, as ``ldcsr selfcheck --json``): not the input
    raster, a file it reads (``reads``: a VRT's sources, an ``.aux.xml``), the model file or the
    output raster; not a folder; in an existing, writable folder. An existing report is replaced,
    as Processing outputs are (the file dialog asks first)."""
    from ldcsr_core.files import check_report_path

    model = model_path
    if model is None:  # the shipped model is read too
        from ldcsr_core.builtin_models import default_model_path

        model = str(default_model_path())
    inputs = [(src, "the input raster"), *reads, (model, "the model file")]
    check_report_path(report, inputs=inputs, outputs=[(dst, "the output raster")], overwrite=True,
                      name="the quality report")


_NOT_LOADED = ("a cancelled run counts as failed in QGIS's dialog, which then does not add it to the project: "
               "add it from there")


def _quality_report(src: str, dst: str, path: str, scale: float, model, options, feedback) -> str | None:
    """The self-check of ``src`` at ``scale`` (``ldcsr_core.selfcheck``) written to ``path``. Runs
    after the raster is written, so a report that cannot be made (too little data to score, a layer
    too small for the scale, a full disk) is one error in the log and None, the run and its
    raster kept; a cancel here is a warning that says where the raster is (QGIS's dialog counts a
    cancelled run as failed and does not load its output)."""
    from ldcsr_core.errors import Cancelled, LdcsrError, is_out_of_memory, one_line
    from ldcsr_core.progress import polling
    from ldcsr_core.quality import LIMITS, selfcheck, write_report

    feedback.pushInfo(f"Quality report: self-check at ×{scale:.6g} …")
    try:
        res = selfcheck(src, scale, model=model, mode=options.mode, seed=options.seed, tile=options.tile,
                        bands=options.bands, stretch=options.stretch, nodata=options.nodata, maps=False,
                        callback=polling(feedback.isCanceled,  # the bar's second half (the raster had the first)
                                         lambda p: feedback.setProgress(50.0 + 50.0 * p.fraction)))
        write_report(path, [res], scene=src)
    except Cancelled:
        feedback.pushWarning(f"Quality report cancelled; the super-resolved raster was written: {dst} "
                             f"({_NOT_LOADED})")
        return None
    except LdcsrError as e:  # e.g. too little data to score
        why = one_line(e)
    except OSError as e:  # e.g. the disk filled up
        why = f"cannot write {path}: {e.strerror or e}"
    except (MemoryError, RuntimeError) as e:
        if not is_out_of_memory(e):
            raise
        why = "out of memory"
    else:
        feedback.pushInfo(f"{res.line()} (limits: {LIMITS}); report: {path}")
        return path
    feedback.reportError(f"No quality report: {why}; the super-resolved raster was written.", False)
    return None


def _adapted_note(model, info, request: dict, options) -> str | None:
    """The engine's note for an adapted ``model`` used beyond what its guard checked
    (:func:`ldcsr_core.adapted_use.outside_use`: scale, mode, bands, stretch), as a sentence."""
    from ldcsr_core.adapted_use import adapted_check, outside_use, reading_of
    from ldcsr_core.geo.georef import scale_for_resolution

    checked = adapted_check(model)
    if checked is None:
        return None
    scales = (request["scale"] if "scale" in request  # the scales asked for, as ldcsr upscale
              else scale_for_resolution(info, request["target_resolution"]))
    note = outside_use(checked, scales, options.mode,
                       reading_of(info.count, info.colorinterp, options.bands, options.stretch, info.dtype,
                                  info.descriptions))
    return note and note[0].upper() + note[1:] + "."


def _nodata_text(nodata) -> str:
    """The nodata used, as the log's Input line says it (the engine's ``nodata_text``)."""
    from ldcsr_core.geo.nodata_override import nodata_text

    return nodata_text(nodata)


def _with_layer_nodata(ds, nodata):
    """``ds`` with the nodata set in QGIS (the engine's ``with_nodata``); a value the engine refuses
    (one the layer's data type cannot hold, a layer with a colour table) is said to come from the
    layer's properties: the user gave no nodata to the algorithm."""
    from ldcsr_core.errors import InputError, one_line
    from ldcsr_core.geo.nodata_override import with_nodata

    try:
        return with_nodata(ds, nodata)
    except InputError as e:
        raise InputError(f"the layer's nodata, set in QGIS (Layer Properties ▸ Transparency), cannot be "
                         f"used: {one_line(e)}") from None


def _open_with_layer_nodata(src: str, nodata):
    """The layer's file opened with the nodata set in QGIS (None: the file's). The file's own nodata
    is not read then (one it declares on 64-bit bands beyond 2^53 would be refused, as QGIS's replaces
    it), and QGIS's is applied after the opening, so that a value the engine refuses (any, on a layer
    with a colour table) is said as the layer's setting (:func:`_with_layer_nodata`)."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.geo import raster_io as rio
    from ldcsr_core.geo.nodata_override import NO_NODATA

    if nodata is None:
        return rio.open_raster(src)
    try:
        ds = rio.open_raster(src, nodata=NO_NODATA)
    except InputError:  # no nodata at all is refused too (a colour table): the file's reading, then QGIS's
        ds = rio.open_raster(src)
    try:
        return _with_layer_nodata(ds, nodata)
    except InputError:
        ds.close()
        raise


def _with_layer_crs(ds, crs):
    """``ds`` with the CRS set in QGIS (the engine's ``with_crs``); one the engine cannot read is
    said to come from the layer's properties."""
    from ldcsr_core.errors import InputError, one_line
    from ldcsr_core.geo.crs_override import with_crs

    try:
        return with_crs(ds, crs)
    except InputError as e:
        raise InputError(f"the layer's CRS, set in QGIS (Layer Properties ▸ Source), cannot be used: "
                         f"{one_line(e)}") from None


def _band_order_note(bands, auto, rule: str) -> str | None:
    """A warning when a list of bands (the dialog's band list returns the bands checked in the
    list's order, 1, 2, 3, …, not in the order they were checked) holds the red, green and blue
    bands the engine's rule knows, in another order: the model would see the colours swapped."""
    if isinstance(bands, str) or rule == "the first three" or len(bands) != 3:
        return None
    chosen, rgb = [int(b) for b in bands], [b + 1 for b in auto]
    if sorted(chosen) != sorted(rgb) or chosen == rgb:
        return None
    fmt = ",".join
    return (f"bands {fmt(map(str, chosen))} are fed to the model as R, G, B, but by the {rule} bands "
            f"{fmt(map(str, rgb))} are red, green and blue: the model sees the colours swapped. The band "
            f"list gives its bands in the list's order: drag them into R, G, B order there, or leave the "
            f"bands empty (automatic: {fmt(map(str, rgb))})")


class LdcsrSuperResolution(QgsProcessingAlgorithm):
    INPUT = "INPUT"
    SCALE = "SCALE"
    TARGET = "TARGET_PIXEL_SIZE"
    BANDS = "BANDS"
    MODE = "MODE"
    SEED = "SEED"
    MODEL = "MODEL"
    TILE = "TILE"
    STRETCH = "STRETCH"
    OUTPUT = "OUTPUT"
    REPORT = "QUALITY_REPORT"

    def name(self) -> str:
        return "superresolution"

    def displayName(self) -> str:  # noqa: N802
        return "LDCSR super-resolution"

    def group(self) -> str:
        return "Super-resolution"

    def groupId(self) -> str:  # noqa: N802
        return "superresolution"

    def icon(self) -> QIcon:
        return QIcon(ICON)

    def shortHelpString(self) -> str:  # noqa: N802
        from ldcsr_core import quality
        from ldcsr_core.rules import MAX_SCALE, MIN_TILE_IN

        # QGIS turns newlines into line breaks: keep the HTML on one line.
        return " ".join(HELP.format(
            max_scale=MAX_SCALE, min_tile=MIN_TILE_IN, max_pixels=quality.MAX_PIXELS,
            samples=quality.SAMPLES, sample_size=quality.SAMPLE_SIZE, limits=quality.LIMITS).split())

    def createInstance(self):  # noqa: N802
        return LdcsrSuperResolution()

    def initAlgorithm(self, config=None):  # noqa: N802
        from ldcsr_core.rules import MODES, STRETCHES

        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Input raster layer"))
        self.addParameter(QgsProcessingParameterNumber(
            self.SCALE, "Scale factor", QgsProcessingParameterNumber.Double, defaultValue=2.0,
            optional=True, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TARGET, "Target pixel size, in the layer's CRS units (replaces the scale)",
            QgsProcessingParameterNumber.Double, defaultValue=None, optional=True, minValue=0.0))
        self.addParameter(QgsProcessingParameterBand(
            self.BANDS, "Bands fed to the model as R, G, B, in the list's order (1 or 3; empty: automatic)",
            parentLayerParameterName=self.INPUT, optional=True, allowMultiple=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.MODE, "Mode", options=list(MODES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, "Seed", QgsProcessingParameterNumber.Integer, defaultValue=0,
            minValue=-2 ** 31 + 1, maxValue=2 ** 31 - 1))  # QGIS's range (it reads -2**31 as 0): refused, not wrapped
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL, "Model file (empty: the shipped model)", optional=True,
            fileFilter="LDCSR checkpoints (*.safetensors *.ckpt);;All files (*)"))
        tile = QgsProcessingParameterNumber(
            self.TILE, "Tile size in input pixels, fast mode (0: default)",
            QgsProcessingParameterNumber.Integer, defaultValue=0, optional=True, minValue=0)
        tile.setFlags(tile.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(tile)
        stretch = QgsProcessingParameterEnum(self.STRETCH, "Stretch of the band values",
                                             options=list(STRETCHES), defaultValue=0, optional=True)
        stretch.setFlags(stretch.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(stretch)
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT, "Super-resolved raster"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.REPORT, "Quality report: self-check against bicubic (.json or .html; optional)",
            fileFilter="JSON (*.json);;HTML (*.html)", optional=True, createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ldcsr_core.errors import Cancelled, LdcsrError, is_out_of_memory, one_line
        from ldcsr_core.front_end import QGIS, speaking

        handler = _FeedbackLog(feedback)
        log = logging.getLogger("ldcsr_core")
        token = _RUN.set(handler)
        log.addHandler(handler)
        try:
            with speaking(QGIS):  # the engine's messages name QGIS's controls, not --flags or name=
                return self._run(parameters, context, feedback)
        except Cancelled:
            msg = "Cancelled: nothing was written."
        except ImportError as e:  # torch (or one of its parts) missing or broken in QGIS's Python
            msg = (f"LDCSR: the engine cannot be loaded in the Python QGIS uses: {one_line(e)}; nothing was "
                   "written (install torch and napari-ldcsr for that Python: see docs/qgis.md)")
        except (LdcsrError, OSError) as e:
            msg = f"LDCSR: {one_line(e)}"
        except (MemoryError, RuntimeError) as e:
            if not is_out_of_memory(e):
                raise
            msg = ("LDCSR: out of memory; nothing was written. Try a smaller scale, a smaller Tile size or the "
                   "fast mode, or close other programs.")
        finally:
            log.removeHandler(handler)
            _RUN.reset(token)
        # Only raised: every QGIS runner (the dialog's task, batch, the modeler, qgis_process) logs
        # the exception's message as the run's error, so reporting it here too showed it twice;
        # processing.run raises it to the caller.
        raise QgsProcessingException(msg)

    def _run(self, parameters, context, feedback) -> dict:
        from ldcsr_core.errors import InputError
        from ldcsr_core.files import check_writable
        from ldcsr_core.geo import radiometry as rad
        from ldcsr_core.geo import raster_io as rio
        from ldcsr_core.geo.pipeline import (OutputOptions, UpscaleOptions, check_destination, check_not_read,
                                             plan_output, request_of, upscale_raster)
        from ldcsr_core.progress import polling
        from ldcsr_core.rules import GEOTIFF_SUFFIXES, STRETCHES
        from ldcsr_core.words import counted

        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        src = layer_source(layer, parameters.get(self.INPUT))
        nodata = layer_nodata(layer)  # values and ranges set in QGIS, on every band or by band
        crs = layer_crs(layer)  # a CRS set in QGIS: the output carries it, to overlay the layer
        note = options_note(layer)
        if note:
            feedback.pushWarning(note)
        dst = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if not dst.lower().endswith(GEOTIFF_SUFFIXES):
            raise InputError(f"the output must be a GeoTIFF (.tif), got {dst}")
        # before the model loads (seconds; in a batch, each row), as ldcsr upscale refuses it: not the
        # input by any name, not a folder, in an existing folder this user may write in
        check_destination(src, dst)
        check_writable(os.path.dirname(os.path.abspath(dst)))  # a bare name: the working folder
        for name, what, whole in ((self.SCALE, "the scale", False), (self.TARGET, "the target pixel size", False),
                                  (self.SEED, "the seed", True), (self.TILE, "the tile size", True)):
            check_number(parameters.get(name), what, whole=whole, context=context)
        model_path = self.parameterAsFile(parameters, self.MODEL, context) or None
        if model_path:  # the engine's checks (there, a regular file, a checkpoint's header), as ldcsr's --model
            from ldcsr_core.checkpoints import check_checkpoint_file

            check_checkpoint_file(model_path)
        report = self.parameterAsFileOutput(parameters, self.REPORT, context) or None

        # as `ldcsr upscale` asks it (request_of): the same LDCSR_REQUEST tag and LDCSR_JOB fingerprint, so
        # the command line skips (resumes) a QGIS output of the same request instead of refusing it
        target = self.parameterAsDouble(parameters, self.TARGET, context)
        if parameters.get(self.TARGET) is not None and target > 0:
            request = request_of(target_resolution=target)
        else:
            request = request_of(scale=self.parameterAsDouble(parameters, self.SCALE, context))
        with _open_with_layer_nodata(src, nodata) as ds:  # QGIS's nodata, as the output will have it
            file_crs = ds.crs
            ds = _with_layer_crs(ds, crs)  # and its CRS
            info = rio.raster_info(ds)
            reads = rio.files_read(ds)  # the input, its sidecars, a VRT's sources
            check_not_read(ds, [dst])  # written over, the input would change
            # nothing set in QGIS, the file's bands declaring different values (a VRT): each band's own
            by_band = getattr(ds, "band_nodata", None) if nodata is None else None
        if report:
            _check_report_path(report, src, dst, model_path, reads)
        bands = band_choice(self, parameters, self.BANDS, context)
        rule = "chosen"
        auto, auto_rule = rad.default_triplet(info.count, info.colorinterp, info.descriptions)
        if bands is None:  # the engine's one rule (also the command line's and napari's)
            rule = "default: the first three" if auto_rule == "the first three" else auto_rule
        else:
            note = _band_order_note(bands, auto, auto_rule)
            if note:
                feedback.pushWarning(note)
        options = UpscaleOptions(
            mode=self._mode(parameters, context),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            tile=self.parameterAsInt(parameters, self.TILE, context) or None,
            bands=bands, stretch=STRETCHES[self.parameterAsEnum(parameters, self.STRETCH, context)],
            nodata=nodata, crs=crs)
        plan = rad.plan_bands(info.count, info.colorinterp, options.bands, info.descriptions)
        (H, W), (sy, sx) = plan_output(info, **request)

        triplet = ",".join(str(b + 1) for b in plan.groups[0])
        crs_set = (f" (the layer's, set in QGIS; its file has {'CRS ' + file_crs.to_string() if file_crs else 'none'})"
                   if crs is not None else "")
        feedback.pushInfo(f"Input: {info.width} x {info.height} px, {counted(info.count, 'band')} "
                          f"{info.dtype}, CRS {info.crs or 'none'}{crs_set}, "
                          + (f"nodata {_nodata_text(dict(enumerate(by_band, 1)))} (the file's, by band; the output "
                             f"declares {_nodata_text(info.nodata)} on each band's nodata pixels)" if by_band else
                             f"nodata {_nodata_text(nodata if isinstance(nodata, (tuple, dict)) else info.nodata)}"
                             + (" (the layer's, set in QGIS)" if nodata is not None else "")))
        feedback.pushInfo(f"Output: {W} x {H} px (scale {sx:.6g} x {sy:.6g}), "
                          + (f"pixel {info.res[0] / sx:.6g} x {info.res[1] / sy:.6g}" if info.placed
                             else "pixel size unknown (no geotransform)"))
        feedback.pushInfo(f"Model input R,G,B = bands {triplet} ({rule}); mode {options.mode}, "
                          f"seed {options.seed}")
        if feedback.isCanceled():
            from ldcsr_core.errors import Cancelled

            raise Cancelled("cancelled before the start")
        t0 = time.perf_counter()
        model = _load_model(model_path)
        feedback.pushInfo(f"Model: {getattr(model, 'name', '?')} {getattr(model, 'version', '')} "
                          f"(sha256 {str(getattr(model, 'weights_sha256', ''))[:12]})")
        note = _adapted_note(model, info, request, options)
        if note:  # once per run, the quality report included
            feedback.pushWarning(note)
        res = upscale_raster(
            # an output another live run is making is refused at once: its wait (a lock) cannot see Cancel
            src, dst, model=model, options=options, output=OutputOptions(overwrite=True, wait_for_others=False),
            callback=polling(feedback.isCanceled,  # with a report, the raster is the bar's first half
                             lambda p: feedback.setProgress((50.0 if report else 100.0) * p.fraction)),
            **request)
        self._written = (dst, sidecar_state(dst))  # for postProcessAlgorithm
        feedback.pushInfo(f"Wrote {dst}: {counted(res.tiles, 'tile')}"
                          + (f" ({res.skipped_tiles} empty)" if res.skipped_tiles else "")
                          + f" in {time.perf_counter() - t0:.1f} s")
        if report:
            # the scale asked for; with a target pixel size, the mean of the two axes' factors
            scale = request["scale"][0] if "scale" in request else (sy + sx) / 2
            report = _quality_report(src, dst, report, scale, model, options, feedback)
        elif feedback.isCanceled():  # after the last tile, while the file was finished: it is whole
            feedback.pushWarning(f"Cancelled after the last tile; the super-resolved raster was written: {dst} "
                                 f"({_NOT_LOADED})")
        return {self.OUTPUT: dst, self.REPORT: report}

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - after the run, on QGIS's main thread
        if getattr(self, "_written", None):  # a layer open on the file the output replaced shows the new one
            reopen_layers_of(*self._written, context.project())
        return {}

    def _mode(self, parameters, context) -> str:
        from ldcsr_core.rules import MODES

        return MODES[self.parameterAsEnum(parameters, self.MODE, context)]
