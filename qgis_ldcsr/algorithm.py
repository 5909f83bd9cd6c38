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

import logging
import os
import threading
import time

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from .choices import option_chosen
from .input_layer import input_layer, not_a_raster, pam_off_for
from .layer_open import open_with_layer_nodata, with_layer_crs
from .notes import _sentence, adapted_note, band_order_note, default_rule, ground_note, scale_note, shown_note
from .parameters import add_parameters, help_html
from .project_layers import (check_not_read_by_layers, check_not_written_by_an_earlier_row, in_a_batch, layer_files,
                             written_by_a_row)
from .quality_report import NOT_LOADED, check_report_path_of, quality_report
from .reopen import keep_loaded_layers, reopen_on_main_thread, sidecar_state
from .run_log import RUN, FeedbackLog, feedback_or_stand_in
from .spread_output import load_with_output, spread_request
from .values import (band_choice, check_number, is_plain_number, layer_values, model_by_name, plain_value, shown_bands,
                     whole_number)

ICON = os.path.join(os.path.dirname(__file__), "icon.png")

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


class LdcsrSuperResolution(QgsProcessingAlgorithm):
    INPUT = "INPUT"
    SCALE = "SCALE"
    TARGET = "TARGET_PIXEL_SIZE"
    BANDS = "BANDS"
    MODE = "MODE"
    SEED = "SEED"
    MODEL_NAME = "MODEL_NAME"
    MODEL = "MODEL"
    TILE = "TILE"
    STRETCH = "STRETCH"
    SAMPLES = "SAMPLES"
    OUTPUT = "OUTPUT"
    SPREAD = "SPREAD"
    REPORT = "QUALITY_REPORT"
    REPORT_HTML = "QUALITY_REPORT_HTML"  # the report again where it is an HTML page (the Results Viewer lists it)

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
        return help_html()

    def createInstance(self):  # noqa: N802
        return LdcsrSuperResolution()

    def initAlgorithm(self, config=None):  # noqa: N802
        add_parameters(self)

    def checkParameterValues(self, parameters, context):  # noqa: N802
        # a Model name QGIS does not list: the run says so, naming those there are (model_by_name); a scale or
        # target pixel size below QGIS's minimum (processing.run's -2): the engine's words, not QGIS's 'Incorrect
        # parameter value for SCALE' (the run checks them: check_number, then the engine's rule); samples above
        # the engine's most (processing.run, qgis_process; the dialog's box stops there) likewise; a seed, any
        # whole number as ldcsr upscale --seed and an expression's value take it (whole_number: QGIS's range is
        # its dialog box's, a 32-bit int), text that is none said in the run's words; an input path that is there but
        # no raster QGIS opens: 'QGIS cannot open … as a raster layer' (layer_source), not QGIS's '… not found'
        from ldcsr_core.rules import MAX_SAMPLES

        def engines(k, v) -> bool:
            if k == self.SEED:
                return isinstance(v, str) or is_plain_number(v)
            if k in (self.MODE, self.STRETCH):  # an option's name too ('fast', as ldcsr upscale --mode): option_chosen
                return isinstance(v, str)
            value = plain_value(v)  # ('３．０' a number, 2**1100 no float: not float(v))
            return value is not None and (k in (self.SCALE, self.TARGET) or k == self.SAMPLES and value > MAX_SAMPLES)

        value = parameters.get(self.INPUT)
        with pam_off_for(value):  # QGIS loads a path's layer here: nothing written beside it
            ok, message = super().checkParameterValues(
                {k: v for k, v in parameters.items() if k != self.MODEL_NAME and not engines(k, v)}, context)
            if not ok and not self.parameterDefinition(self.INPUT).checkValueIsAcceptable(value, context):
                other = not_a_raster(value, context)  # a vector layer: said to be one, not QGIS's 'Incorrect …'
                if other is not None:
                    message = str(other)
                elif isinstance(value, str) and os.path.exists(value):
                    message = str(layer_values(None, value))  # the batch's words (it skips this check)
        return ok, message

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - on QGIS's main thread (the dialog's)
        # what the run takes of the layer, read where the layer lives (QGIS's main thread; a model's step: the
        # model's), as QgsProcessingAlgorithm.prepareAlgorithm is for, not on the run's thread: its file, nodata,
        # CRS and open options (layer_values), and the bands it is drawn with, the Bands' default where the
        # engine's rule has nothing to go on (shown_bands)
        feedback = feedback_or_stand_in(feedback)
        layer = input_layer(self, parameters, self.INPUT, context)  # a path's: nothing written beside it
        other = not_a_raster(parameters.get(self.INPUT), context) if layer is None else None  # a vector layer
        self._layer = other or layer_values(layer, parameters.get(self.INPUT))
        self._shown = shown_bands(layer)
        self._layer_files = layer_files(self._projects(context))  # a batch's inputs: its rows cannot see each other
        self._batch = in_a_batch(feedback)
        return True

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ldcsr_core.errors import Cancelled, LdcsrError, is_out_of_memory, one_line
        from ldcsr_core.front_end import QGIS, speaking

        feedback = feedback_or_stand_in(feedback)  # a script's alg.run(…, None)
        handler = FeedbackLog(feedback)
        log = logging.getLogger("ldcsr_core")
        token = RUN.set(handler)
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
            RUN.reset(token)
        # Only raised: every QGIS runner (the dialog's task, batch, the modeler, qgis_process) logs
        # the exception's message as the run's error, so reporting it here too showed it twice;
        # processing.run raises it to the caller.
        raise QgsProcessingException(msg)

    def _run(self, parameters, context, feedback) -> dict:
        from ldcsr_core.file_names import check_geotiff_name
        from ldcsr_core.files import check_writable, is_html_name
        from ldcsr_core.geo import radiometry as rad
        from ldcsr_core.geo import raster_io as rio
        from ldcsr_core.geo.empty_input import all_nodata_note, input_all_nodata
        from ldcsr_core.geo.georef import pixel_unit
        from ldcsr_core.geo.job import check_not_spread_map
        from ldcsr_core.geo.pipeline import (OutputOptions, UpscaleOptions, check_destination, check_not_read,
                                             check_room, plan_output, request_of, upscale_raster)
        from ldcsr_core.progress import polling
        from ldcsr_core.uncertainty import samples_cost
        from ldcsr_core.geo.nodata_words import mask_text, nodata_text
        from ldcsr_core.words import counted

        out_options = OutputOptions(overwrite=True, wait_for_others=False)  # the run's (an output being made: refused)
        if isinstance(self._layer, Exception):  # refused as prepareAlgorithm read it: said here, as every refusal
            raise self._layer
        # its file; the nodata values and ranges set in QGIS, on every band or by band; a CRS set in QGIS (the
        # output carries it, to overlay the layer); a note of GDAL open options the engine does not use
        src, nodata, crs, note = self._layer
        if note:
            feedback.pushWarning(note)
        dst = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        check_geotiff_name(dst)  # the engine's words, as ldcsr upscale -o says it
        # before the model loads (seconds; in a batch, each row), as ldcsr upscale refuses it: not the
        # input by any name, not a folder, in an existing folder this user may write in
        check_destination(src, dst)
        check_writable(os.path.dirname(os.path.abspath(dst)))  # a bare name: the working folder
        # as read there: QGIS's parameterAsDouble made '３' (full-width) its default, silently (×2, no target)
        scale, target = (check_number(parameters.get(name), what, context=context)
                         for name, what in ((self.SCALE, "the scale"), (self.TARGET, "the target pixel size")))
        # the integers as given (QGIS's parameterAsInt makes one past 2**31 0, silently the default)
        seed = whole_number(self, parameters, self.SEED, "the seed", context)
        tile = whole_number(self, parameters, self.TILE, "the tile size", context)
        samples = whole_number(self, parameters, self.SAMPLES, "the samples for the uncertainty map", context)
        model_path = self.parameterAsFile(parameters, self.MODEL, context) or None
        if model_path:  # the engine's checks (there, a regular file, a checkpoint's header), as ldcsr's --model
            from ldcsr_core.checkpoints import check_checkpoint_file

            check_checkpoint_file(model_path)
        else:  # a built-in or adapted model by name, as ldcsr upscale --model NAME and napari's Model list
            model_path = model_by_name(self, parameters, self.MODEL_NAME, context)
        report = self.parameterAsFileOutput(parameters, self.REPORT, context) or None
        mode = self._mode(parameters, context)
        # the uncertainty map (ldcsr upscale --samples K --spread-out): K, and where its spread goes (None: K 1)
        given = self.parameterAsOutputLayer(parameters, self.SPREAD, context) or None  # None: skipped
        samples, spread = spread_request(samples or 1, given, src, dst, mode)

        # as `ldcsr upscale` asks it (request_of): the same LDCSR_REQUEST tag and LDCSR_JOB fingerprint, so
        # the command line skips (resumes) a QGIS output of the same request instead of refusing it
        if target is None:  # unset: QGIS's reading (its default)
            target = self.parameterAsDouble(parameters, self.TARGET, context)
        if parameters.get(self.TARGET) is not None and target != 0:  # set; a negative one the engine refuses
            request = request_of(target_resolution=target)
        else:
            request = request_of(scale=self.parameterAsDouble(parameters, self.SCALE, context) if scale is None
                                 else scale)
        with open_with_layer_nodata(src, nodata) as ds:  # QGIS's nodata, as the output will have it
            file_crs = ds.crs
            ds = with_layer_crs(ds, crs)  # and its CRS
            info = rio.raster_info(ds)
            check_not_spread_map(info.tags, os.path.basename(src))  # not a picture: its source is
            reads = rio.files_read(ds)  # the input, its sidecars, a VRT's sources
            check_not_read(ds, [dst])  # written over, the input would change
            check_not_read(ds, [spread], what="spread")
            # nothing set in QGIS, the file's bands declaring different values (a VRT): each band's own
            by_band = getattr(ds, "band_nodata", None) if nodata is None else None
            check_room(ds, plan_output(info, **request)[0], dst, spread, out_options)  # a full disk: before the model loads
        # nor a file another layer reads
        for path, called in ((dst, "output"), (spread, "spread")):
            if path:
                check_not_read_by_layers(getattr(self, "_layer_files", []), path, batch=getattr(self, "_batch", False),
                                         called=called)
        if getattr(self, "_batch", False):  # nor a file an earlier row of the batch wrote, as ldcsr upscale's folder run
            check_not_written_by_an_earlier_row(feedback, (dst, spread))
        if report:
            check_report_path_of(report, src, dst, model_path, reads, spread)
        bands = band_choice(self, parameters, self.BANDS, context)
        rule = "chosen"
        auto, auto_rule = rad.default_triplet(info.count, info.colorinterp, info.descriptions)
        shown, rgb = getattr(self, "_shown", None), [b + 1 for b in auto]
        if bands is None and shown and shown != rgb and rad.is_fallback(auto_rule):  # the bands seen in QGIS
            bands, rule = shown, "default: the layer's red, green and blue bands in QGIS's Symbology"
        elif bands is None:  # the engine's one rule (also the command line's and napari's)
            rule = default_rule(auto, auto_rule, info.count)
            if shown and shown != rgb:  # the file says which bands are R, G, B: those, whatever is drawn
                feedback.pushInfo(shown_note(shown, rgb, auto_rule))
        else:
            note = band_order_note(bands, auto, auto_rule)
            if note:
                feedback.pushWarning(note)
        options = UpscaleOptions(
            mode=mode, samples=samples,
            seed=seed, tile=tile or None,
            bands=bands, stretch=option_chosen(self, parameters, self.STRETCH, "the Stretch", context),
            nodata=nodata, crs=crs)
        plan = rad.plan_bands(info.count, info.colorinterp, options.bands, info.descriptions)
        (H, W), (sy, sx) = plan_output(info, **request)

        triplet = ",".join(str(b + 1) for b in plan.groups[0])
        crs_set = (f" (the layer's, set in QGIS; its file has {'CRS ' + file_crs.to_string() if file_crs else 'none'})"
                   if crs is not None else "")
        feedback.pushInfo(f"Input: {info.width} x {info.height} px, {counted(info.count, 'band')} "
                          f"{info.dtype}, CRS {info.crs or 'none'}{crs_set}, "
                          + (f"nodata {nodata_text(dict(enumerate(by_band, 1)))} (the file's, by band; the output "
                             f"declares {nodata_text(info.nodata)} on each band's nodata pixels)" if by_band else
                             f"nodata {nodata_text(nodata if isinstance(nodata, (tuple, dict)) else info.nodata)}"
                             + (" (the layer's, set in QGIS)" if nodata is not None else ""))
                          + (f", {mask}" if (mask := mask_text(info)) else ""))
        feedback.pushInfo(f"Output: {W} x {H} px (scale {sx:.6g} x {sy:.6g}), "
                          + (f"pixel {info.res[0] / sx:.6g} x {info.res[1] / sy:.6g} {pixel_unit(info)}" if info.placed
                             else "pixel size unknown (no geotransform)"))
        feedback.pushInfo(f"Model input R,G,B = bands {triplet} ({rule}); mode {options.mode}, "
                          f"seed {options.seed}" + (f", {samples} samples (seeds {options.seed}..{options.seed + samples - 1}: "
                                                    f"the output is their mean, their spread goes to {spread})"
                                                    if spread else ""))
        if samples > 1:  # K whole runs: said before the model loads (the engine has no time estimate)
            feedback.pushWarning(samples_cost(samples))
        if feedback.isCanceled():
            from ldcsr_core.errors import Cancelled

            raise Cancelled("cancelled before the start")
        empty = input_all_nodata(src, nodata=nodata, bands=bands)  # before the model loads, as ldcsr upscale says it
        if empty:
            feedback.pushWarning(_sentence(all_nodata_note(src, empty)))
        t0 = time.perf_counter()
        model = _load_model(model_path)
        feedback.pushInfo(f"Model: {getattr(model, 'name', '?')} {getattr(model, 'version', '')} "
                          f"(sha256 {str(getattr(model, 'weights_sha256', ''))[:12]})")
        # once per run, the quality report included; no untested one of an input all nodata (none of it is the model's)
        for note in filter(None, (adapted_note(model, info, request, options), *(() if empty else (
                scale_note(model, info, request), ground_note(model, info, request))))):
            feedback.pushWarning(note)  # ×1.25, or a shipped model on pixels unlike its training's: untested
        res = upscale_raster(
            # an output another live run is making is refused at once: its wait (a lock) cannot see Cancel
            src, dst, model=model, options=options, output=out_options,
            callback=polling(feedback.isCanceled,  # with a report, the raster is the bar's first half
                             lambda p: feedback.setProgress((50.0 if report else 100.0) * p.fraction)),
            spread_path=spread, **request)
        # the project's layers of the output show the new raster, reopened now on QGIS's main thread (queued
        # there from a task's or a model's thread): not in postProcessAlgorithm, which QGIS's task skips for a
        # run it counts as failed, one cancelled during the report, after the last tile or as it returns
        if getattr(self, "_batch", False):
            written_by_a_row(feedback, src, (dst, spread))
        for path in filter(None, (spread, dst)):
            reopen_on_main_thread(path, sidecar_state(path), self._projects(context))
        self._written, self._spread = dst, (spread, samples, bool(given))  # for postProcessAlgorithm
        feedback.pushInfo(f"Wrote {dst}: {counted(res.tiles, 'tile')}"
                          + (f" ({res.skipped_tiles} empty)" if res.skipped_tiles else "")
                          + f" in {time.perf_counter() - t0:.1f} s" + (f"; its spread: {spread}" if spread else ""))
        if report:
            # the scale asked for; with a target pixel size, the mean of the two axes' factors
            scale = request["scale"][0] if "scale" in request else (sy + sx) / 2
            report = quality_report(src, dst, report, scale, model, options, feedback)
        elif feedback.isCanceled():  # after the last tile, while the file was finished: it is whole
            feedback.pushWarning(f"Cancelled after the last tile; the super-resolved raster was written: {dst} "
                                 f"({NOT_LOADED})")
        html = report if report and is_html_name(report) else None
        return {self.OUTPUT: dst, self.SPREAD: spread, self.REPORT: report, self.REPORT_HTML: html}

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - on QGIS's main thread, before the loading
        # a layer of the output already in the project keeps its name, style and place (QGIS's loading renamed it)
        feedback = feedback_or_stand_in(feedback)
        spread, samples, given = getattr(self, "_spread", (None, 1, False))
        if spread:  # loaded as its box says (skipped: with the output), named after the output, on a colour ramp
            load_with_output(context, self._written, spread, samples, self.SPREAD, given=given)
        for path in filter(None, (getattr(self, "_written", None), spread)):
            keep_loaded_layers(context, path, feedback)
        return {}

    @staticmethod
    def _projects(context) -> tuple:
        """The context's project (the dialog's, a batch's, processing.run's: QGIS's own; a script's own
        QgsProject) and QGIS's, whose layers the QGIS window shows (a plugin's context may have no project)."""
        from qgis.core import QgsProject

        return context.project(), QgsProject.instance()

    def _mode(self, parameters, context) -> str:
        return option_chosen(self, parameters, self.MODE, "the Mode", context)
