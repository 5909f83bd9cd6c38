"""The input layer a run reads, taken without writing beside the user's file; an input that is a layer but no raster.

A path given as the input (``processing.run``, a batch row, ``qgis_process``) is loaded by QGIS as a
new layer, whose default stretch computes a histogram; GDAL keeps it in the file's PAM sidecar and,
when the layer closes, writes ``NAME.aux.xml`` next to the input: the run wrote in the input's folder,
and the ``LDCSR_JOB`` of a later run of the same request (which fingerprints the input's sidecars)
differed. Such a layer of a file with no sidecar yet is opened with GDAL's PAM off (nothing of it
to read); a file with one (it may say the georeferencing or nodata, which the layer must see) and a
layer the project already has are QGIS's own, taken as they are.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext

PAM_KEY = "GDAL_PAM_ENABLED"


def without_sidecar(value) -> bool:
    """Whether ``value`` (an input parameter as given) is the path of a file GDAL finds no PAM sidecar for
    (``NAME.aux.xml``, ``NAME.aux``): the layer QGIS makes of it may be opened with PAM off, losing nothing."""
    if not isinstance(value, str) or not os.path.isfile(value):
        return False
    return not any(os.path.exists(name) for name in (value + ".aux.xml", os.path.splitext(value)[0] + ".aux"))


def pam_off_for(value):
    """:func:`pam_off` for an input ``value`` :func:`without_sidecar`, else nothing changed."""
    return pam_off() if without_sidecar(value) else nullcontext()


@contextmanager
def pam_off():
    """GDAL's PAM sidecars neither read nor written for the datasets opened meanwhile, on this thread
    (a thread-local GDAL setting, put back after)."""
    from osgeo import gdal

    before = gdal.GetThreadLocalConfigOption(PAM_KEY, None)
    gdal.SetThreadLocalConfigOption(PAM_KEY, "NO")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption(PAM_KEY, before)


def input_layer(alg, parameters, name: str, context):
    """``alg.parameterAsRasterLayer`` of ``name``, a layer QGIS loads for a file's path with no sidecar
    opened with PAM off (:func:`pam_off_for`): reading the input writes nothing beside it."""
    with pam_off_for(parameters.get(name)):
        return alg.parameterAsRasterLayer(parameters, name, context)


#: What a layer that is no raster is, by its ``QgsMapLayerType``'s name.
_KINDS = {"VectorLayer": "a vector layer", "MeshLayer": "a mesh layer", "VectorTileLayer": "a vector tile layer",
          "PointCloudLayer": "a point cloud layer", "AnnotationLayer": "an annotation layer"}


def not_a_raster(value, context):
    """The ``InputError`` saying that ``value``, the input as given (a layer, a project layer's id or name, a file's
    path), is a layer but no raster (a vector layer, a vector file), and that a raster is needed; None otherwise
    (nothing QGIS loads as a layer there, or a raster). Before, such an input was 'input not found: roads'."""
    from qgis.core import QgsMapLayer, QgsMapLayerType, QgsProcessingUtils

    from ldcsr_core.errors import InputError

    if isinstance(value, QgsMapLayer):
        layer = value
    elif isinstance(value, str) and value.strip():
        # a project layer (by id or name) first; else a file QGIS loads as a vector layer (a raster file's layer
        # is the input's own, which QGIS could not open)
        layer = (QgsProcessingUtils.mapLayerFromString(value, context, False)
                 or os.path.isfile(value) and QgsProcessingUtils.mapLayerFromString(
                     value, context, True, QgsProcessingUtils.LayerHint.Vector))
    else:
        return None
    if not layer or layer.type() == QgsMapLayerType.RasterLayer:
        return None
    kinds = {getattr(QgsMapLayerType, name, None): kind for name, kind in _KINDS.items()}
    kind = kinds.get(layer.type(), "no raster layer")
    what = f"{value} is {kind.replace('layer', 'file')}" if isinstance(value, str) and os.path.isfile(value) \
        else f"layer '{layer.name()}' is {kind}"
    return InputError(f"{what}, not a raster: LDCSR super-resolves rasters; give a raster layer or a raster file "
                      "(e.g. a GeoTIFF) as the input")
