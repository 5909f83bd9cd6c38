"""The algorithm's parameters, as the dialog, batch, the modeler and ``qgis_process`` show them,
and its help text."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingOutputHtml,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

HELP = """<p>Super-resolves a raster layer with LDCSR (continuous-scale latent-diffusion
super-resolution) and writes a tiled, compressed GeoTIFF with exactly the input's bounds and CRS
(the layer's, also one set in QGIS), its band count and data type (a paletted layer is written as
RGB or RGBA, a picture of the map: the log warns), and its nodata (the layer's, also one set in
QGIS; a float layer without nodata gets NaN, the value its invalid pixels are written), plus
provenance tags (<code>LDCSR_*</code>). An existing file at the output's path is replaced, as
QGIS's own algorithms replace theirs (the dialog's file picker asks first), its <code>.aux.xml</code>
and <code>.ovr</code> removed; not a file a raster layer of the project reads (its file, a VRT's
source), which may be a batch row's input: that is refused, except an earlier LDCSR result in a run on its own, whose
layer then shows the new raster, its name and style kept.
<b>The output pixels are AI-generated, not measurements.</b></p>
<p><b>Scale</b>: upscaling factor, &gt; 1 and &le; {max_scale:g} (non-integer allowed).
<b>Target pixel size</b>: if set (&gt; 0), replaces the scale: the output pixel size in the
layer's CRS units (metres for UTM); it must be finer than the input's, by at most ×{max_scale:g},
and needs a projected CRS.</p>
<p><b>Bands</b>: one or three bands fed to the model as R, G, B (all bands are super-resolved,
the others three at a time), in the order of the band list, not the order they were checked in:
drag them into R, G, B order there (the red, green and blue bands the automatic rule knows, listed
in another order, are a warning in the log). Left empty: the bands whose colour interpretation is
red, green and blue; else, if the band names are Sentinel-2 band names (B2, B03, B4 red, ...)
including B4, B3 and B2, those as R, G, B; else, for a 12- or 13-band layer without band names (a
full Sentinel-2 stack), bands 4, 3, 2; else the red, green and blue bands the layer is drawn with in
QGIS (Symbology, Multiband color) where they are not QGIS's default for a new layer (1, 2, 3);
otherwise the first three.</p>
<p><b>Mode</b>: <i>diffusion</i> (the seeded 4-step sampler; with the shipped model sharper, but
the detail may be invented) or <i>fast</i> (one deterministic decode: the most faithful, and
for previews). <b>Seed</b>: the sampler's seed; the same seed gives the same file.
<b>Model</b>: a built-in model by name (the versions shipped with the engine; default {default_model})
or an adapted one of your model folder (napari's <i>Adapt to this layer</i>, <code>ldcsr adapt</code>),
as <code>ldcsr models</code> lists them. <b>Model file</b>: an LDCSR <code>.safetensors</code> or
an official <code>.ckpt</code>; if set, it is used instead of the Model; an adapted model used beyond what its guard checked (another
scale, diffusion mode, other bands or stretch) is a warning in the log. <b>Tile size</b> (advanced): fast mode's tile side in input pixels
(&ge; {min_tile}; 0: the engine's default); diffusion mode always uses its fixed windows, so that a
seed gives one picture. <b>Stretch</b> (advanced): how band values map to the model's range:
auto (8-bit as is, other types by robust percentiles of the whole layer), percentile, or dtype
(the full integer range). <b>Samples for the uncertainty map</b> (advanced; diffusion mode): K &gt; 1
runs the sampler K times (seeds Seed … Seed+K-1, K times slower; at most {max_samples}); the output is their mean and the
<b>Uncertainty (spread) raster</b> their per-pixel spread (standard deviation), as the command line writes them: float32, one band per colour band (<code>spread of
red</code> …), in the layer's units, NaN where the layer has no data, tags <code>LDCSR_SPREAD</code>,
<code>LDCSR_SAMPLES</code>, <code>LDCSR_SPREAD_OF</code>. Left empty with K &gt; 1, it is written next to
the output as <code>NAME_spread.tif</code>. It is loaded as its own <i>Open output file after running</i> says (left empty: with the output), on a colour ramp. High where
the samples disagree: detail the layer does not pin down, invented; {spread_limits}. 1 (default): no
uncertainty map; a spread raster is then refused, as K &gt; 1 in fast mode.</p>
<p>Memory stays at about one row of tiles, whatever the layer size. Cancel stops within one
tile and leaves no output file (nor spread raster); during the quality report, it stops the report and the raster
already written is kept (the log says where).</p>
<p><b>Quality report</b> (optional, .json or .html): a reduced-resolution self-check of the
model on the input at the chosen scale (Wald's protocol, as <code>ldcsr evaluate</code>): the input
is degraded by the scale, restored by the model and by bicubic, and both are compared with the
input (PSNR, SSIM, gain over bicubic); a layer above {max_pixels:,} pixels is checked on
up to {samples} windows of {sample_size} px that do not overlap (fewer where the layer holds no more:
the report says how many). Nodata pixels are left out of the figures (the report says
how many). With K &gt; 1 samples it scores their mean, as the output is. A report that cannot be made (e.g. too little data to score) is an error in the log;
the raster is kept. Limits: {limits}.</p>"""


def help_html() -> str:
    """:data:`HELP` with the engine's limits, on one line."""
    from ldcsr_core import quality
    from ldcsr_core.model_names import default_model_name
    from ldcsr_core.rules import MAX_SAMPLES, MAX_SCALE, MIN_TILE_IN
    from ldcsr_core.uncertainty import SPREAD_LIMITS

    # QGIS turns newlines into line breaks: keep the HTML on one line.
    return " ".join(HELP.format(
        max_scale=MAX_SCALE, min_tile=MIN_TILE_IN, max_pixels=quality.MAX_PIXELS,
        samples=quality.SAMPLES, sample_size=quality.SAMPLE_SIZE, limits=quality.LIMITS,
        default_model=default_model_name(), spread_limits=SPREAD_LIMITS, max_samples=MAX_SAMPLES).split())


def add_parameters(alg) -> None:
    """Add the algorithm's parameters to ``alg`` (named by its ``INPUT``, ``SCALE``, … attributes)."""
    from ldcsr_core.rules import MAX_SAMPLES, MODES, STRETCHES

    alg.addParameter(QgsProcessingParameterRasterLayer(alg.INPUT, "Input raster layer"))
    alg.addParameter(QgsProcessingParameterNumber(
        alg.SCALE, "Scale factor", QgsProcessingParameterNumber.Double, defaultValue=2.0,
        optional=True, minValue=0.0))
    alg.addParameter(QgsProcessingParameterNumber(
        alg.TARGET, "Target pixel size, in the layer's CRS units (replaces the scale)",
        QgsProcessingParameterNumber.Double, defaultValue=None, optional=True, minValue=0.0))
    alg.addParameter(QgsProcessingParameterBand(
        alg.BANDS, "Bands fed to the model as R, G, B, in the list's order (1 or 3; empty: automatic)",
        parentLayerParameterName=alg.INPUT, optional=True, allowMultiple=True))
    alg.addParameter(QgsProcessingParameterEnum(
        alg.MODE, "Mode", options=list(MODES), defaultValue=0))
    alg.addParameter(QgsProcessingParameterNumber(
        alg.SEED, "Seed", QgsProcessingParameterNumber.Integer, defaultValue=0,
        minValue=-2 ** 31 + 1, maxValue=2 ** 31 - 1))  # the dialog box's widest range; beyond: checkParameterValues
    from ldcsr_core.adaptation import model_folder_problem
    from ldcsr_core.model_names import default_model_name, named_models

    names, default = list(named_models()), default_model_name()  # the engine's one list, read afresh each dialog
    problem = model_folder_problem()  # LDCSR_MODELS_DIR set to a file: said where the list is
    alg.addParameter(QgsProcessingParameterEnum(
        alg.MODEL_NAME, "Model: a built-in or an adapted one" + (f" ({problem})" if problem else ""), options=names,
        optional=True, usesStaticStrings=True, defaultValue=default if default in names else None))
    alg.addParameter(QgsProcessingParameterFile(
        alg.MODEL, "Model file (if set, used instead of the Model)", optional=True,
        fileFilter="LDCSR checkpoints (*.safetensors *.ckpt);;All files (*)"))
    tile = QgsProcessingParameterNumber(
        alg.TILE, "Tile size in input pixels, fast mode (0: default)",
        QgsProcessingParameterNumber.Integer, defaultValue=0, optional=True, minValue=0)
    tile.setFlags(tile.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    alg.addParameter(tile)
    stretch = QgsProcessingParameterEnum(alg.STRETCH, "Stretch of the band values",
                                         options=list(STRETCHES), defaultValue=0, optional=True)
    stretch.setFlags(stretch.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    alg.addParameter(stretch)
    samples = QgsProcessingParameterNumber(  # ldcsr upscale --samples, and the engine's limit (napari's too)
        alg.SAMPLES, "Samples for the uncertainty map",
        QgsProcessingParameterNumber.Integer, defaultValue=1, optional=True, minValue=1, maxValue=MAX_SAMPLES)
    samples.setFlags(samples.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    alg.addParameter(samples)
    alg.addParameter(QgsProcessingParameterRasterDestination(
        alg.OUTPUT, "Super-resolved raster"))
    alg.addParameter(QgsProcessingParameterRasterDestination(
        alg.SPREAD, "Uncertainty (spread) raster", optional=True,
        createByDefault=False))
    # the report's output, declared as what is written (QGIS declares a FileDestination whose filter names .html an
    # HTML output, which the Results Viewer lists, a JSON report too): a file, and an HTML output only where it is one
    alg.addParameter(QgsProcessingParameterFileDestination(
        alg.REPORT, "Quality report: self-check against bicubic (.json or .html; optional)",
        fileFilter="JSON (*.json);;HTML (*.html)", optional=True, createByDefault=False), createOutput=False)
    alg.addOutput(QgsProcessingOutputFile(alg.REPORT, "Quality report: self-check against bicubic"))
    alg.addOutput(QgsProcessingOutputHtml(alg.REPORT_HTML, "Quality report: self-check against bicubic"))
