"""How a message names a setting its reader can change: in the words of the front end they use.

The engine's messages say what to do ("give the nodata yourself"), and the control that does it
has another name in each front end: the command line's ``--nodata``, the Python API's
``nodata=``, a QGIS layer's *Transparency* properties. A front end that has its own words says so
for the calls it makes (:func:`speaking`, a context variable: the engine's threads run in a copy
of their caller's context), and each message takes the control's name from :data:`CONTROLS`
(:func:`say`): one table, not words replaced in each front end. The command line and Python (no
front end declared) keep the words the messages always had.
"""

from __future__ import annotations

import contextlib
import contextvars

__all__ = ["CONTROLS", "FRONT_END", "NAPARI", "QGIS", "say", "speaking"]

#: The QGIS Processing algorithm (``qgis_ldcsr``).
QGIS = "qgis"
#: The napari dock widget (``napari_ldcsr``: its workers speak so).
NAPARI = "napari"

#: The front end of the calls going on in this context; None: the command line or Python.
FRONT_END: contextvars.ContextVar = contextvars.ContextVar("ldcsr_front_end", default=None)

_TRANSPARENCY = "in QGIS: Layer Properties ▸ Transparency"

#: Per control, its words in each front end (None: the command line's and Python's); format
#: fields are filled by :func:`say`'s keywords.
CONTROLS: dict[str, dict] = {
    # a nodata value the file does not declare
    "nodata": {None: "ldcsr --nodata VALUE; nodata=VALUE in Python; in QGIS the layer's Transparency properties",
               QGIS: f"{_TRANSPARENCY}, 'Additional no data value'",
               NAPARI: "the Nodata field under Advanced"},
    # a nodata value instead of the file's, or none at all
    "nodata or none": {None: "--nodata VALUE, or none: every value is data",
                       QGIS: f"{_TRANSPARENCY}, uncheck 'No data value' to read every value as data, and "
                             "add an 'Additional no data value' if one value is nodata",
                       NAPARI: "the Nodata field under Advanced: a value, or none: every value is data"},
    # 64-bit bands converted to 32 bits with a new nodata value
    "convert": {None: "gdal_translate -ot {ot} -a_nodata {nodata} in.tif out.tif",
                QGIS: "Raster ▸ Conversion ▸ Translate, output data type {ot} and 'Assign a specified nodata "
                      "value' {nodata}"},
    # where a raster's values lie (nodata left out)
    "value range": {None: "gdalinfo -mm in.tif shows them",
                    QGIS: "Raster ▸ Miscellaneous ▸ Information, 'Force computation of the actual min/max values for "
                          "each band', shows them"},
    # one page of a TIFF of several, as a file of its own
    "convert page": {None: "gdal_translate '{page}' page2.tif",
                     QGIS: "add '{page}' as a layer and save it as a GeoTIFF (Raster ▸ Conversion ▸ Translate)"},
    # a part of the scene for the self-check
    "window": {None: "--window; window= in Python",
               QGIS: "clip the layer to it: Raster ▸ Extraction ▸ Clip Raster by Extent",
               NAPARI: "Check quality takes a layer of at most 1,048,576 px whole, a larger one's view"},
    # the bands setting, named in a sentence about its value ("bands must name 1 or 3 bands")
    "bands setting": {None: "bands", QGIS: "Bands", NAPARI: "Bands (R,G,B)"},
    # the nodata setting, named in a sentence about its value (QGIS's, from the layer's Transparency
    # properties, is said so where it is refused)
    "nodata setting": {None: "nodata", NAPARI: "Nodata"},
    # a raster reprojected (to {utm}: the UTM zone of its centre), orthorectified by its control points or
    # placed by hand (for a pixel size)
    "reproject": {None: "e.g. gdalwarp -t_srs {utm}, the UTM zone of its centre",
                  QGIS: "Raster ▸ Projections ▸ Warp (Reproject) to a projected CRS such as the UTM zone of its "
                        "centre, {utm}"},
    "orthorectify": {None: "e.g. gdalwarp", QGIS: "Raster ▸ Projections ▸ Warp (Reproject)"},
    # a CRS given to a raster placed without one (QGIS's, set on the layer, is the output's: no file changed)
    "assign crs": {None: "e.g. gdal_edit -a_srs EPSG:32633",
                   QGIS: "in QGIS: Layer Properties ▸ Source, which the output gets"},
    "place": {None: "e.g. gdal_edit -a_ullr",
              QGIS: "Layer ▸ Georeferencer; Raster ▸ Georeferencer before QGIS 3.26"},
    # a singular geotransform corrected (or, where the front end can, removed)
    "correct geotransform": {None: "correct it (e.g. gdal_edit -a_ullr ULX ULY LRX LRY) or remove it (gdal_edit "
                                   "-unsetgt) to super-resolve the image unplaced",
                             QGIS: "correct it: Raster ▸ Conversion ▸ Translate, with -a_ullr ULX ULY LRX LRY (the "
                                   "upper-left and lower-right corners' coordinates) in its 'Additional "
                                   "command-line parameters' (Advanced Parameters)"},
    # a stretch method, as a value
    "stretch": {None: "stretch='{value}'", QGIS: "Stretch '{value}'", NAPARI: "Stretch '{value}'"},
    # a stretch method, as the option
    "stretch option": {None: "--stretch {value}", QGIS: "Stretch '{value}'", NAPARI: "Stretch '{value}'"},
    # the samples of an uncertainty map, as a value
    "samples": {None: "samples={value}", QGIS: "Samples for the uncertainty map {value}",
                NAPARI: "Uncertainty: samples {value}"},
}


def say(control: str, **fields) -> str:
    """The words for ``control`` (a key of :data:`CONTROLS`) of the front end in use, ``fields``
    filled in."""
    words = CONTROLS[control]
    return words.get(FRONT_END.get(), words[None]).format(**fields)


@contextlib.contextmanager
def speaking(front_end: str):
    """Within the block (and the threads the engine starts from it), messages name controls in
    ``front_end``'s words."""
    if not any(front_end in words for words in CONTROLS.values()):
        raise ValueError(f"unknown front end {front_end!r}")
    token = FRONT_END.set(front_end)
    try:
        yield
    finally:
        try:
            FRONT_END.reset(token)
        except ValueError:
            # A generator worker closed from another context (garbage-collected on another
            # thread, a worker quit): the context it set the words in is not this one, and
            # ends with the generator, so there is nothing to undo here.
            pass
