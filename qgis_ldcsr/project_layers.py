"""The project's raster layers, and the files they read, which an output must not replace.

``ldcsr upscale`` checks a folder run whole: no output may be a file any of its inputs reads. QGIS's
batch dialog runs its rows one by one, each as a run of its own (``alg.run`` with that row's
parameters and a new context; 3.22's ``BatchAlgorithmDialog.runAlgorithm``), so no row sees the
others: a row writing the file a later row reads (its layer, or a VRT layer's source) made that row
read the new raster, and report success. A batch's inputs are the project's layers, so a run refuses
an output that is a file a layer of the project reads (:func:`check_not_read_by_layers`); a run on its own
may replace an earlier LDCSR result a layer shows (:mod:`.reopen`), a batch's row may not (:func:`in_a_batch`).
"""

from __future__ import annotations

import os
import weakref
from functools import lru_cache
from pathlib import Path

BATCH_FEEDBACKS = ("BatchFeedback", "QgsProcessingBatchFeedback")  # QGIS 3.22's batch dialog's; 3.26's on


def in_a_batch(feedback) -> bool:
    """Whether ``feedback`` is that of a batch, which gives its rows one feedback, as steps
    (:data:`BATCH_FEEDBACKS`; a model's steps are of its own design)."""
    return any(kind.__name__ in BATCH_FEEDBACKS for kind in type(feedback).__mro__)


_WRITTEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a batch's feedback: [(file, its row's input)]


def check_not_written_by_an_earlier_row(feedback, paths) -> None:
    """Refuse, in a batch (its feedback, :func:`in_a_batch`), a file an earlier row of it wrote (:func:`written_by_a_row`),
    as ``ldcsr upscale`` refuses a folder run two of whose inputs would be written to one file: each row is a run of
    its own, so the later row replaced the earlier one's result, and both said success."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.files import same_file

    for path in filter(None, paths):
        for written, src in _WRITTEN.get(feedback, ()):
            if same_file(written, path):
                raise InputError(f"an earlier row of this batch wrote {path} (from {src}): this row would replace it; "
                                 "give this row another output file")


def written_by_a_row(feedback, src: str, paths) -> None:
    """Record the files a batch's row wrote from ``src``, for :func:`check_not_written_by_an_earlier_row`."""
    _WRITTEN.setdefault(feedback, []).extend((path, src) for path in paths if path)


@lru_cache(maxsize=65536)
def _path_of(source: str) -> str:
    """The path a GDAL layer of ``source`` opens its file by (QGIS's ``decodeUri``: 60-80 us a layer, called
    three times a run for each layer of the project; a source says the same path each time)."""
    from qgis.core import QgsProviderRegistry

    return QgsProviderRegistry.instance().decodeUri("gdal", source).get("path") or source


def gdal_layers(projects):
    """``(layer, the path it opens its file by)`` for each GDAL raster layer of ``projects`` (None, or one
    deleted, skipped; a layer in two: once). On QGIS's main thread (the layers belong to it)."""
    from qgis.core import QgsMapLayerType
    from qgis.PyQt import sip

    seen = set()
    for project in (p for p in projects if p is not None and not sip.isdeleted(p)):
        for layer_id, layer in project.mapLayers().items():
            if layer_id not in seen and layer.type() == QgsMapLayerType.RasterLayer and layer.providerType() == "gdal":
                seen.add(layer_id)
                yield layer, _path_of(layer.source())


def layer_files(projects) -> list[tuple[str, str]]:
    """``(file, layer name)`` for the file of each GDAL raster layer of ``projects`` (one name a file), read where
    the layers live: ``[]`` off QGIS's main thread (a model's step: the model's own steps are its design)."""
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QThread

    if QThread.currentThread() != QgsApplication.instance().thread():
        return []
    files: dict = {}
    for layer, path in gdal_layers(projects):
        files.setdefault(path, layer.name())
    return list(files.items())


def check_not_read_by_layers(layers: list[tuple[str, str]], dst: str, *, batch: bool = False,
                             called: str = "output") -> None:
    """Refuse ``dst`` where it is a file a layer of ``layers`` (:func:`layer_files`) reads: its file (an earlier
    LDCSR result excepted, but not in a ``batch``, where a later row may read it: a run again to it shows the new
    raster in its layers, :mod:`.reopen`), a VRT's source, or one its write removes (a sidecar:
    :func:`ldcsr_core.geo.pipeline.refuse_read`, the CLI's rule). An ``InputError`` naming the layer and what to
    do, ``called`` naming ``dst`` (``"output"``, ``"spread"``: the uncertainty map's). The files are opened here, on
    the run's thread."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.files import file_keys, same_file
    from ldcsr_core.geo.job import has_provenance
    from ldcsr_core.geo.pipeline import refuse_read
    from ldcsr_core.geo.raster_io import files_read_at
    from ldcsr_core.rules import GEOTIFF_SUFFIXES

    if not layers:
        return
    earlier = None  # whether dst is an earlier LDCSR result, looked at once, where a layer's file is dst
    reads = []
    for path, name in layers:
        # a GeoTIFF reads no other raster, only its sidecars, which are no GeoTIFF's names: not opened (1-2 ms each)
        own = Path(path).suffix.lower() in GEOTIFF_SUFFIXES and os.path.isfile(path)
        for f, what in [(Path(path), "the input")] if own else files_read_at(path):
            if what == "the input":
                if not batch and same_file(f, dst) and (earlier if earlier is not None
                                                        else (earlier := has_provenance(dst))):
                    continue
                what = f"the file of layer '{name}' in the project"
            else:
                what = f"a file layer '{name}' in the project reads"
            reads.append((Path(f), what, file_keys(f)))
    try:
        refuse_read(reads, [dst], what=called)
    except InputError as e:
        why = ("a batch runs its rows one by one: a row reading that file after this one would read the new raster; "
               "an earlier LDCSR result its layer shows is replaced by a run on its own" if batch else
               "only an earlier LDCSR result is replaced where a layer shows it, which then shows the new raster")
        raise InputError(f"{e}: choose another {called} file, or remove that layer from the project first ({why})"
                         ) from None
