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
    """Reopen ``project``'s GDAL raster layers of the file at ``path`` on it, each drawn as a new layer
    of it is: their old datasets closed, then ``path``'s ``.aux.xml`` put back to ``state`` (the
    run's), then the file opened. On QGIS's main thread only (layers belong to it; elsewhere, e.g. a
    model's step, nothing is done). Returns how many layers were reopened."""
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
    for layer, source in zip(layers, sources):  # a new layer's renderer: the old may name bands it lacks
        layer.setDataSource(source, layer.name(), layer.providerType(), options)
        fresh = QgsRasterLayer(source, layer.name(), "gdal")  # alive while its renderer is copied
        layer.setRenderer(fresh.renderer().clone())
        del fresh
        layer.triggerRepaint()
    return len(layers)
