"""The optional uncertainty map: K diffusion samples, their mean the output, their spread a second
raster, as ``ldcsr upscale --samples K --spread-out FILE`` writes it (:mod:`ldcsr_core.geo.sampling`).

The checks are the engine's (:func:`ldcsr_core.rules.check_samples`, :func:`~ldcsr_core.geo.sampling.check_spread_path`)
and the output's (a GeoTIFF name, a writable folder, not a file the input or a project layer reads), made
before the model loads; the engine writes the file (atomically, with the output: a cancel leaves neither).
Loaded with the output, named after it and drawn with a colour ramp (:class:`SpreadStyle`).
"""

from __future__ import annotations

import os

from qgis.core import QgsProcessingLayerPostProcessorInterface

RAMP = "Magma"  # napari's spread layer's colour map, in QGIS's default style


def spread_request(samples: int, spread: str | None, src: str, dst: str, mode: str):
    """``(samples, spread file or None)`` of a run, checked before any work in the engine's words: K (a whole
    number as given, :func:`~.values.whole_number`) by the engine's rule, which refuses K < 1 and K > 1 in fast
    mode, a spread raster only with K > 1; with K > 1 and none given, the command line's ``OUTPUT_spread.tif``
    (:func:`~ldcsr_core.geo.sampling.default_spread_path`). Its name is checked as the output's (a GeoTIFF
    name, not the input nor the output nor a folder, a name the disk takes, in an existing writable folder)."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.file_names import check_geotiff_name
    from ldcsr_core.files import check_writable
    from ldcsr_core.geo.sampling import check_spread_path
    from ldcsr_core.rules import check_samples

    samples = check_samples(samples, mode)
    if samples < 2:
        if spread:  # the engine's words (upscale_raster's)
            raise InputError("a spread file needs samples > 1 (the spread of one sample is 0): set 'Samples for the "
                             "uncertainty map' to 2 or more, or leave the Uncertainty (spread) raster empty")
        return samples, None
    if spread:
        check_geotiff_name(spread)
    path = str(check_spread_path(src, dst, spread or None))
    check_writable(os.path.dirname(os.path.abspath(path)), "spread output folder")
    return samples, path


class SpreadStyle(QgsProcessingLayerPostProcessorInterface):
    """Draws a loaded spread raster as napari draws its spread layer: its first band (the spread of the first
    colour band the model sees) on a colour ramp from 0 to the band's maximum."""

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS's name
        from qgis.core import QgsRasterBandStats, QgsSingleBandPseudoColorRenderer, QgsStyle

        ramp = QgsStyle.defaultStyle().colorRamp(RAMP)
        if ramp is None or not layer.isValid():
            return
        top = layer.dataProvider().bandStatistics(1, QgsRasterBandStats.Max).maximumValue
        renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1)
        renderer.setClassificationMin(0.0)
        renderer.setClassificationMax(top if top > 0 else 1.0)
        renderer.createShader(ramp)
        layer.setRenderer(renderer)
        layer.triggerRepaint()


_STYLES: list = []  # alive while QGIS may call them (the PyQGIS cookbook's rule for post-processors)


def load_with_output(context, dst: str, spread: str, samples: int, name_of: str, *, given: bool) -> None:
    """On QGIS's main thread, before QGIS loads the run's layers: the spread raster loaded as its own "Open output
    file after running" says where it was ``given`` a file (its box unticked: not loaded, whatever the output's
    box), else (skipped: its box greyed out, the file named after the output) where the output is loaded; named
    after the output's layer (``Roofs: spread of 4 samples``) and drawn on a colour ramp (:class:`SpreadStyle`)."""
    from qgis.core import QgsProcessingContext

    loads = context.layersToLoadOnCompletion()
    main, own = loads.get(dst), loads.get(spread)
    if own is None if given else main is None:
        return
    details = QgsProcessingContext.LayerDetails(f"{_layer_name(main, dst)}: spread of {samples} samples",
                                                (main or own).project, name_of)
    details.forceName = True  # not the file's name (Processing's 'Prefer output filename for layer names')
    style = SpreadStyle()
    _STYLES[:] = [*_STYLES[-15:], style]
    details.setPostProcessor(style)
    context.addLayerToLoadOnCompletion(spread, details)


def _layer_name(details, path: str) -> str:
    """The name QGIS gives the layer of ``path`` it loads by ``details`` (``LayerDetails.setOutputLayerName``'s
    rule): its file's name where Processing prefers file names (its default) and the file is not in the
    temporary folder, else the details' name (the parameter's description)."""
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QDir

    stem = os.path.splitext(os.path.basename(path))[0]
    if details is None or not details.name:
        return stem
    prefer = QgsSettings().value("Processing/Configuration/PREFER_FILENAME_AS_LAYER_NAME", True, bool)
    # QgsMapLayer.isTemporary's: a file in the system's temporary folder (QGIS's temporary outputs are there)
    temporary = os.path.abspath(path).startswith(os.path.abspath(QDir.tempPath()) + os.sep)
    return stem if prefer and not details.forceName and not temporary else details.name
