"""The project's layers of an output a run replaced, reopened on the new file.

The engine renames a finished output into place (a new file), so a layer QGIS had open on the file
it replaced (an earlier run to the same path) went on showing the old raster, and QGIS, which finds
that layer by its source, loaded no new one; when that layer closed, GDAL wrote the old raster's
statistics to ``NAME.aux.xml`` beside the new file, and a later layer took its contrast from them.
"""

from __future__ import annotations

import os
import threading

PAM = ".aux.xml"  # the sidecar GDAL writes when a dataset whose statistics it computed closes


def sidecar_state(path: str) -> bytes | None:
    """The bytes of ``path``'s ``.aux.xml`` (None: there is none)."""
    try:
        with open(path + PAM, "rb") as f:
            return f.read()
    except OSError:
        return None


def reopen_layers_of(path: str, state: bytes | None, projects) -> int:
    """Reopen the GDAL raster layers of the file at ``path`` in ``projects`` (None skipped) on it:
    their old datasets closed, then ``path``'s ``.aux.xml`` put back to ``state`` (the run's), and that
    of another name a layer opens the file by (a link to it) made the same (it described the raster the
    run replaced, as the output's own did, whether the closing wrote it or an earlier layer), then the
    file opened. A layer is of the file when its path resolves to it
    (:class:`~ldcsr_core.files.FileSet`, the output looked at once: the same file, a link to it, the
    same name). A layer keeps its style (bands, colours, opacity) when the new raster has the old
    one's band count, its stretch taken from the new pixels (:func:`_restretch`); otherwise it is
    drawn as a new layer of the file is. On QGIS's main thread only (layers belong to it; elsewhere
    nothing is done: :func:`reopen_on_main_thread` sends it there). Returns how many layers were reopened.

    A layer in no project (one a script holds, even in a layer tree or map canvas of its own) or in a
    project the run was not given cannot be found: QGIS keeps no list of every layer. Only a script
    makes one; the QGIS window shows QgsProject.instance()'s layers, whose are reopened whatever the
    run's context (the algorithm passes it), and the script that made such a layer reloads it."""
    from qgis.core import QgsApplication, QgsDataProvider, QgsRasterLayer
    from qgis.PyQt.QtCore import QThread

    from ldcsr_core.files import FileSet

    if QThread.currentThread() != QgsApplication.instance().thread():
        return 0
    found = layers_of(path, projects)
    layers, names = [layer for layer, _ in found], dict.fromkeys(name for _, name in found)
    if not layers:
        return 0
    own = FileSet([path + PAM])  # the other names' sidecars: GDAL reads them as the new file's
    sidecars = {path: state, **{name: state for name in names if name + PAM not in own}}
    options, sources = QgsDataProvider.ProviderOptions(), [layer.source() for layer in layers]
    styles = [(layer.bandCount(), layer.renderer().clone() if layer.renderer() else None) for layer in layers]
    for layer in layers:  # closing, GDAL writes the old raster's statistics to the .aux.xml of its name
        layer.setDataSource("", layer.name(), layer.providerType(), options)
    for name, before in sidecars.items():  # before the new file is opened: it would read them
        _put_back(name, before)
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


def layers_of(path: str, projects) -> list:
    """``(layer, the path it opens the file by)`` for each GDAL raster layer of ``projects``
    (:func:`~.project_layers.gdal_layers`) whose file is the one at ``path``: its path resolves to it
    (:class:`~ldcsr_core.files.FileSet`: the same file, a link to it, the same name). On QGIS's main thread."""
    from ldcsr_core.files import FileSet

    from .project_layers import gdal_layers

    output = FileSet([path])
    return [(layer, name) for layer, name in gdal_layers(projects) if name in output]


def reopen_on_main_thread(path: str, state: bytes | None, projects) -> None:
    """:func:`reopen_layers_of` now on QGIS's main thread (``processing.run``), else queued to it, to run
    once its event loop gets there (a script that runs none has nothing drawn to refresh): the
    algorithm calls it as soon as the raster is written, on the thread it runs on (the dialog's task, a
    model's step), so that a run QGIS's task counts as failed and does not post-process (cancelled
    during the quality report, after the last tile, as it returns) has its layers reopened too."""
    from functools import partial

    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QThread

    call = partial(reopen_layers_of, path, state, tuple(projects))
    if QThread.currentThread() == QgsApplication.instance().thread():
        call()
    else:
        _main_thread().call.emit(call)


_MAIN: list = []  # the one _OnMainThread, made at the first call
_MAIN_LOCK = threading.Lock()  # two runs at once may make it


def _main_thread():
    """The object that calls what is sent to it on QGIS's main thread."""
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QObject, pyqtSignal, pyqtSlot

    class _OnMainThread(QObject):
        call = pyqtSignal(object)

        def __init__(self):
            super().__init__()
            self.call.connect(self._call)  # queued where emitted on another thread than this object's

        @pyqtSlot(object)
        def _call(self, fn):
            try:
                fn()
            except Exception as e:  # raised here, QGIS shows a Python error; a script without QGIS's hook aborts
                from qgis.core import Qgis, QgsMessageLog

                QgsMessageLog.logMessage(f"LDCSR: the layers of {fn.args[0]} could not be reopened on the new raster "
                                         f"({type(e).__name__}: {e}): remove them and add the file again",
                                         "Processing", Qgis.Warning)

    with _MAIN_LOCK:
        if not _MAIN:
            obj = _OnMainThread()
            obj.moveToThread(QgsApplication.instance().thread())  # made on a task's thread, pushed to the main one
            _MAIN.append(obj)
        return _MAIN[0]


def _put_back(path: str, state: bytes | None) -> None:
    """``path``'s ``.aux.xml`` made to hold ``state`` again (None: none), where it differs."""
    from ldcsr_core.files import atomic_write_bytes

    if sidecar_state(path) == state:
        return
    try:
        if state is None:
            os.remove(path + PAM)
        else:
            atomic_write_bytes(path + PAM, state)
    except OSError:  # the layers still show the new raster; only their contrast may be the old one's
        pass


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


def keep_loaded_layers(context, path: str, feedback) -> None:
    """Take ``path`` off the layers QGIS loads when the run is done ("Open output file after running", a
    batch's "Load layers on completion", ``runAndLoadResults``) where the project it is to be loaded into
    has a layer of that file already (:func:`layers_of`): that layer shows the new raster
    (:func:`reopen_layers_of`) and keeps its name, style and place in the Layers panel. QGIS's loading
    finds such a layer by its source and renames it to the output's name (the file's, or "Super-resolved
    raster"), and loads a second layer of the file where the layer opens it by another name (a link).
    On QGIS's main thread (``postProcessAlgorithm``, which every runner calls before it loads)."""
    loads = context.layersToLoadOnCompletion()
    details = loads.get(path)
    found = layers_of(path, (details.project,)) if details is not None else []
    if not found:
        return
    del loads[path]
    context.setLayersToLoadOnCompletion(loads)
    names = ", ".join(f"'{layer.name()}'" for layer, _ in found)
    feedback.pushInfo(f"{path} is in the project already (layer {names}): it shows the new raster, its name, "
                      "style and place kept, and is not loaded again")
