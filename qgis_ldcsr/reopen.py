"""The project's layers of an output a run replaced, reopened on the new file.

The engine renames a finished output into place (a new file), so a layer QGIS had open on the file
it replaced (an earlier run to the same path) went on showing the old raster, and QGIS, which finds
that layer by its source, loaded no new one; when that layer closed, GDAL wrote the old raster's
statistics to ``NAME.aux.xml`` beside the new file, and a later layer took its contrast from them.
"""

from __future__ import annotations

import os

PAM = ".aux.xml"  # the sidecar GDAL writes when a dataset whose statistics it computed closes


def sidecar_state(path: str) -> bytes | None:
    """The bytes of ``path``'s ``.aux.xml`` (None: there is none), as the run left it."""
    try:
        with open(path + PAM, "rb") as f:
            return f.read()
    except OSError:
        return None


def reopen_layers_of(path: str, state: bytes | None, project) -> int:
    """Reopen ``project``'s GDAL raster layers of the file at ``path`` on it: their old datasets
    closed, then ``path``'s ``.aux.xml`` put back to ``state`` (the run's), then the file opened. A
    layer keeps its style (bands, colours, opacity) when the new raster has the old one's band count,
    its stretch taken from the new pixels (:func:`_restretch`); otherwise it is drawn as a new layer of
    the file is. On QGIS's main thread only (layers belong to it; elsewhere, e.g. a model's step,
    nothing is done). Returns how many layers were reopened."""
    from qgis.core import QgsApplication, QgsDataProvider, QgsMapLayerType, QgsProviderRegistry, QgsRasterLayer
    from qgis.PyQt.QtCore import QThread

    from ldcsr_core.files import atomic_write_bytes, same_file

    if project is None or QThread.currentThread() != QgsApplication.instance().thread():
        return 0
    decode = QgsProviderRegistry.instance().decodeUri
    layers = [layer for layer in project.mapLayers().values()
              if layer.type() == QgsMapLayerType.RasterLayer and layer.providerType() == "gdal"
              and same_file(decode("gdal", layer.source()).get("path") or layer.source(), path)]
    options, sources = QgsDataProvider.ProviderOptions(), [layer.source() for layer in layers]
    styles = [(layer.bandCount(), layer.renderer().clone() if layer.renderer() else None) for layer in layers]
    for layer in layers:  # closing, GDAL writes the old raster's statistics to the .aux.xml
        layer.setDataSource("", layer.name(), layer.providerType(), options)
    if layers and sidecar_state(path) != state:  # before the new file is opened: it would read them
        try:
            if state is None:
                os.remove(path + PAM)
            else:
                atomic_write_bytes(path + PAM, state)
        except OSError:  # the layers still show the new raster; only their contrast may be the old one's
            pass
    for layer, source, (bands, style) in zip(layers, sources, styles):
        layer.setDataSource(source, layer.name(), layer.providerType(), options)
        if style is not None and bands == layer.bandCount():  # a run again of the same bands: the user's style
            layer.setRenderer(style)
            _restretch(layer)
        else:  # a new layer's renderer: the old may name bands it lacks
            fresh = QgsRasterLayer(source, layer.name(), "gdal")  # alive while its renderer is copied
            layer.setRenderer(fresh.renderer().clone())
            del fresh
        layer.triggerRepaint()
    return len(layers)


def _restretch(layer) -> None:
    """A grey or colour stretch of ``layer`` taken from statistics (its min/max, cumulative cut or
    standard deviations, not values typed in) computed again on its new pixels, by the same rule."""
    from qgis.core import QgsContrastEnhancement, QgsRasterMinMaxOrigin

    renderer = layer.renderer()
    enhancement = getattr(renderer, "contrastEnhancement", None) or getattr(renderer, "redContrastEnhancement", None)
    limits = renderer.minMaxOrigin().limits()
    if enhancement is None or enhancement() is None or limits == QgsRasterMinMaxOrigin.None_:
        return
    algorithm = enhancement().contrastEnhancementAlgorithm()
    if algorithm != QgsContrastEnhancement.NoEnhancement:
        layer.setContrastEnhancement(algorithm, limits)
