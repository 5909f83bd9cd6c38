"""The algorithm's optional quality report: its destination checked before any work, and the
engine's self-check (``ldcsr selfcheck``'s) written after the raster."""

from __future__ import annotations


def check_report_path_of(report: str, src: str, dst: str, model_path: str | None, reads=(),
                         spread: str | None = None) -> None:
    """The quality report's destination, checked before any work by the engine's rule
    (:func:`ldcsr_core.files.check_report_path`, as ``ldcsr selfcheck --json``): not the input
    raster, a file it reads (``reads``: a VRT's sources, an ``.aux.xml``), the model file or the
    output raster or its ``spread`` raster; not a folder; in an existing, writable folder. An existing report is replaced,
    as Processing outputs are (the file dialog asks first)."""
    from ldcsr_core.files import check_report_path

    model = model_path
    if model is None:  # the shipped model is read too
        from ldcsr_core.builtin_models import default_model_path

        model = str(default_model_path())
    inputs = [(src, "the input raster"), *reads, (model, "the model file")]
    check_report_path(report, inputs=inputs, outputs=[(dst, "the output raster"), *([(spread, "the spread raster")] if spread else [])], overwrite=True,
                      name="the quality report")


# true whether or not the output was loaded before the run (its layers are reopened on the new raster all the same)
NOT_LOADED = ("a cancelled run counts as failed in QGIS's dialog, which then does not add it to the project: "
              "add it from there; a layer of it already in the project shows the new raster")


def quality_report(src: str, dst: str, path: str, scale: float, model, options, feedback) -> str | None:
    """The self-check of ``src`` at ``scale`` (``ldcsr_core.selfcheck``; with K samples, of their mean, the
    picture the output is) written to ``path``. Runs
    after the raster is written, so a report that cannot be made (too little data to score, a layer
    too small for the scale, a full disk) is one error in the log and None, the run and its
    raster kept; a cancel here is a warning that says where the raster is (QGIS's dialog counts a
    cancelled run as failed and does not load its output)."""
    from ldcsr_core.errors import Cancelled, LdcsrError, is_out_of_memory, one_line
    from ldcsr_core.geo.raster_io import open_raster
    from ldcsr_core.progress import polling
    from ldcsr_core.quality import LIMITS, check_has_data, selfcheck_windows, selfcheck, write_report
    from ldcsr_core.words import scale_typed  # the scale it measures, exactly

    # with K samples the output is their mean: the check restores its copy as the output was made, the mean of K
    of = f" of the mean of {options.samples} samples, as the output" if options.samples > 1 else ""
    feedback.pushInfo(f"Quality report: self-check at ×{scale_typed(scale)}{of} …")  # as ldcsr selfcheck -s takes it
    try:
        with open_raster(src) as ds:  # a layer too small for the scale: refused before its cost is said (engine's rule)
            _, boxes = selfcheck_windows((ds.height, ds.width), [scale])
        # every checked pixel nodata: refused so too, before its cost is said and the model runs again
        check_has_data(src, boxes, options.bands, options.nodata)
        if options.samples > 1:  # K more whole runs of the sampler, said as the run's were (ldcsr selfcheck --mean-of K)
            from ldcsr_core.uncertainty import samples_cost

            feedback.pushWarning(samples_cost(options.samples, of="check"))
        res = selfcheck(src, scale, model=model, mode=options.mode, seed=options.seed, tile=options.tile,
                        bands=options.bands, stretch=options.stretch, nodata=options.nodata, maps=False,
                        mean_of=options.samples,
                        callback=polling(feedback.isCanceled,  # the bar's second half (the raster had the first)
                                         lambda p: feedback.setProgress(50.0 + 50.0 * p.fraction)))
        write_report(path, [res], scene=src)
    except Cancelled:
        feedback.pushWarning(f"Quality report cancelled; the super-resolved raster was written: {dst} "
                             f"({NOT_LOADED})")
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
