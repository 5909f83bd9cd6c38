"""Checks of raw parameter values and of the input layer, before QGIS converts or the engine reads them.

``processing.run``, batch cells and modeler values arrive untyped, and QGIS's conversions are
silent: an optional number that is not one becomes the parameter's default, a fraction is rounded
to an integer, and ``-2**31`` reads as 0. Here such a value is one clear line instead.
"""

from __future__ import annotations

import math
import numbers
import os
import re


#: QGIS's evaluation error where a value on the way was a float past its range ("Cannot convert 'inf' to double"),
#: in an expression that does not write inf itself (``'inf' + 1`` fails as it says)
_INF_ON_THE_WAY = re.compile(r"'-?inf'")


def _evaluated(raw, what: str, context, *, whole: bool = False):
    """The value of an expression or static ``QgsProperty`` (what QGIS reads as the parameter's
    default when it is not a number); an ``InputError`` for an expression that fails, for a ``whole`` number one that
    overflows partway (``-(2.0^5000) + 1``) the size rule's (:func:`_check_overflow`)."""
    from qgis.core import QgsExpression, QgsProperty

    from ldcsr_core.errors import InputError

    if raw.propertyType() != QgsProperty.ExpressionBasedProperty:
        return raw.value(context.expressionContext(), None)[0]
    exp = QgsExpression(raw.expressionString())
    value = exp.evaluate(context.expressionContext())
    if exp.hasParserError() or exp.hasEvalError():
        why = exp.parserErrorString().strip() if exp.hasParserError() else exp.evalErrorString()
        if whole and not exp.hasParserError() and _INF_ON_THE_WAY.search(why) and \
                "inf" not in raw.expressionString().lower():
            _check_overflow(math.inf, what, raw.expressionString(), partway=True)
        raise InputError(f"{what}: the expression {raw.expressionString()!r} fails: {why}")
    return value


def check_number(raw, what: str, *, whole: bool = False, context=None) -> float | int | None:
    """Refuse a raw value that is not a (finite, with ``whole`` whole) number, text of one or a ``Decimal``, a bool
    or a list among them; unset and NULL pass (None).
    An expression (``QgsProperty``) is evaluated with ``context`` and its value checked. Returns the number as
    read here, which the run uses: QGIS's ``parameterAsDouble`` makes text Qt does not read (``'３'``, full-width
    digits, which Python reads as 3) the parameter's default, silently."""
    from decimal import Decimal

    from qgis.core import QgsProperty
    from qgis.PyQt.QtCore import QVariant

    from ldcsr_core.errors import InputError
    from ldcsr_core.rules import number_text
    from ldcsr_core.whole_numbers import whole_text

    if isinstance(raw, QgsProperty) and context is not None:
        raw = _evaluated(raw, what, context, whole=whole)
    if isinstance(raw, Decimal):  # exact, as its text (float() fails on a signalling NaN)
        raw = str(raw)
    if isinstance(raw, str):
        if not raw.strip():
            return None
        try:  # a whole number grouped (seed 1_000) is as ldcsr --seed reads it; a scale's 1.2_5 no number
            value = whole_text(raw) if whole else number_text(raw)  # '２．５' read as ldcsr -s reads it
        except (ValueError, ArithmeticError):  # (Decimal's InvalidOperation)
            raise InputError(f"{what} must be a number, got {raw!r}") from None
    elif _is_number(raw):
        value = Decimal(int(raw)) if whole and isinstance(raw, numbers.Integral) else float(raw)  # 2**1100: no float
    elif raw is None or isinstance(raw, QgsProperty) or (isinstance(raw, QVariant) and raw.isNull()):
        return None
    else:  # True, [3], np.bool_: QGIS read them as 1 or, silently, the parameter's default
        raise InputError(f"{what} must be a number, got {raw!r}")
    if whole:
        return _whole_value(Decimal(value), raw, what)
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {raw!r}")
    return value


def _whole_value(value, raw, what: str) -> int:
    """A whole number ``value`` (a ``Decimal``: exact, where a float of text or of an int past 2**1024 is inf, said
    'not a finite number', or overflows) as an int, of at most ``rules.MOST_BITS`` bits (as :func:`_whole_sum`'s:
    the engine's rule, ``rules.check_whole_size``, as ``ldcsr upscale --seed``'s)."""
    from ldcsr_core.whole_numbers import check_whole_size

    return check_whole_size(value, what, raw)


def is_plain_number(raw) -> bool:
    """Whether ``raw`` is a number, or text of one (what :func:`check_number` checks in full)."""
    return plain_value(raw) is not None


def plain_value(raw):
    """The number ``raw`` is (as given: an int of any size, a ``Decimal``), or its text's (``float``'s reading, a
    full-width point a point: '３．０' is 3.0, as :func:`check_number` reads it); None where it is neither."""
    from decimal import Decimal

    from ldcsr_core.rules import point_text

    if isinstance(raw, Decimal):
        raw = str(raw)
    if isinstance(raw, str):
        try:
            return float(point_text(raw))
        except ValueError:
            return None
    return raw if _is_number(raw) else None


def _is_number(raw) -> bool:
    """A number as a script gives it: Python's or NumPy's (``np.float32(2.5)``, ``np.int64(3)``, which QGIS's
    ``parameterAsDouble``/``parameterAsInt`` read as nothing, the parameter's default), not a bool."""
    return isinstance(raw, numbers.Real) and not isinstance(raw, bool)


def whole_number(alg, parameters, name: str, what: str, context) -> int:
    """An integer parameter as given: checked as :func:`check_number` checks a whole number, then the
    number itself (text of one, an expression's value too), not QGIS's ``parameterAsInt`` reading, which
    makes one past a 32-bit int (``2**31``, ``'1e10'``) 0, silently the parameter's default; an expression
    that is a number alone read as its text, one of whole numbers alone computed exactly (:func:`_whole_sum`), and a
    float past 2**53 refused (:func:`_check_exact`). Unset (``None``, empty text, NULL): QGIS's reading, the
    parameter's default."""
    from decimal import Decimal

    from qgis.core import QgsProperty

    from ldcsr_core.whole_numbers import whole_text

    raw = computed = parameters.get(name)
    if isinstance(raw, QgsProperty) and context is not None:  # a number written as the expression: its text, exact
        raw = _literal(raw) or _whole_sum(raw) or _evaluated(raw, what, context, whole=True)
        _check_overflow(raw, what, computed.expressionString())
    if isinstance(raw, Decimal):  # exact, as its text (check_number's reading)
        raw = str(raw)
    check_number(raw, what, whole=True, context=context)
    _check_exact(raw, what, computed.expressionString() if isinstance(computed, QgsProperty) else None)
    if not is_plain_number(raw):
        return alg.parameterAsInt(parameters, name, context)
    return int(whole_text(raw)) if isinstance(raw, str) else int(raw)


#: A number as an expression may be written alone (QGIS reads one past a 64-bit int as a float, rounded).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _check_overflow(value, what: str, expression: str, *, partway: bool = False) -> None:
    """Refuse the float inf an ``expression`` (not of whole numbers alone: ``2.0^5000``) overflowed to, or reached
    ``partway`` (``-(2.0^5000) + 1``, where QGIS's evaluation fails: "Cannot convert 'inf' to double"), in the size
    rule a number that large typed meets (``whole_numbers.check_whole_size``), not as 'no finite number'."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.rules import MOST_BITS

    if isinstance(value, float) and math.isinf(value):
        where = f"partway through {expression!r}" if partway else f"(the value of {expression!r})"
        raise InputError(f"{what} must be less than 2**{MOST_BITS} in size, got {value!r} {where}")


def _literal(prop) -> str | None:
    """The text of an expression that is a number alone (``1e23``, ``-1180591620717411303424``), which
    :func:`whole_number` reads exactly as it reads the text; None for any other expression or property."""
    from qgis.core import QgsProperty

    text = prop.expressionString().strip() if prop.propertyType() == QgsProperty.ExpressionBasedProperty else ""
    return text if _NUMBER.fullmatch(text) else None


def _whole_sum(prop) -> str | None:
    """The value, as text, of an expression of whole numbers alone (``2^60``, ``(2^30)*(2^30)+1``: literals, unary
    minus, ``+``, ``-``, ``*``, ``^`` by a whole power >= 0) computed exactly, where QGIS computes ``^`` in floats
    (``2^60`` is the float 1.152921504606847e+18, which :func:`_check_exact` refuses while the plain 2**60 runs;
    ``2^5000`` inf, which the size rule then refuses with the number it is, as typed); None for any other expression
    or property (its value as QGIS computes it)."""
    from decimal import Decimal

    from qgis.core import QgsExpression, QgsProperty

    if prop.propertyType() != QgsProperty.ExpressionBasedProperty:
        return None
    exp = QgsExpression(prop.expressionString())
    value = _exact(exp.rootNode()) if not exp.hasParserError() else None
    return None if value is None else str(Decimal(value))  # (past int's 4300 digits of text too)


def _exact(node) -> int | None:
    """A node of :func:`_whole_sum`'s expression computed in Python's integers, as QGIS parses it; None where it
    is not one of whole numbers alone, or its result is past 16 times ``rules.MOST_BITS`` bits, where QGIS's reading
    (inf) stands (one past ``MOST_BITS`` is computed, for the size rule to refuse it as typed, and for
    ``2^4096 - 2^4095``, 2**4095)."""
    from qgis.core import QgsExpressionNodeBinaryOperator as Binary
    from qgis.core import QgsExpressionNodeLiteral as Literal
    from qgis.core import QgsExpressionNodeUnaryOperator as Unary

    from ldcsr_core.rules import MOST_BITS

    working_bits = 16 * MOST_BITS  # (fast: a few 65536-bit products)
    if isinstance(node, Literal):
        value = node.value()
        return value if isinstance(value, int) and not isinstance(value, bool) else None  # not 2.0, 1e20, TRUE
    if isinstance(node, Unary):
        value = _exact(node.operand()) if node.op() == Unary.uoMinus else None
        return None if value is None else -value
    if not isinstance(node, Binary):
        return None
    a, b = _exact(node.opLeft()), _exact(node.opRight())
    if a is None or b is None:
        return None
    if node.op() == Binary.boPow:  # (a negative power: a fraction; one surely past the bits: not computed)
        if b < 0 or abs(a) > 1 and b * (abs(a).bit_length() - 1) >= working_bits:
            return None
        value = a ** b  # (under 2 * working_bits bits: 2^4095 is 2**4095, not refused as QGIS's inf)
    else:
        ops = {Binary.boPlus: int.__add__, Binary.boMinus: int.__sub__, Binary.boMul: int.__mul__}
        value = ops[node.op()](a, b) if node.op() in ops else None
    return None if value is None or value.bit_length() > working_bits else value


def _check_exact(raw, what: str, expression: str | None = None) -> None:
    """Refuse a float past 2**53 (a Python float, a computed expression's value), where it holds a
    whole number near the one given, not it: ``1e23`` is 99999999999999991611392, while the text '1e23'
    (and ``ldcsr upscale --seed 1e23``) is 10**23, so one seed gave two pictures. Its e.g.: the number a float
    given is written as (10**23), that of the ``expression`` QGIS computed (``2^70 + 0.5``) the float's value
    itself, the number it holds (its shortest digits, 1180591620717411300000, were neither)."""
    from decimal import Decimal

    from ldcsr_core.errors import InputError

    if _is_number(raw) and not isinstance(raw, numbers.Integral) and abs(raw) > 2 ** 53:  # np.float32 too
        if expression is not None:
            raise InputError(f"{what} {raw!r} (the value of {expression!r}) is past 2**53, where a floating-point "
                             f"number is not exact: give it as whole-number text, e.g. '{int(raw)}', the number "
                             "that float holds")
        raise InputError(f"{what} {raw!r} is past 2**53, where a floating-point number is not exact (it holds "
                         f"{int(raw)}): give it as whole-number text, e.g. '{int(Decimal(str(raw)))}'")


def band_choice(alg, parameters, name: str, context):
    """The bands parameter as the engine takes it: typed text (``"4,3,2"``, ``"4;3;2"``, as the CLI's
    ``--bands``) for it to check, band numbers (a list, a tuple, a NumPy array; one number alone) as its
    ``parse_bands`` checks them, or ``None`` (automatic, also for empty text); an expression (``QgsProperty``)
    as its value. Not QGIS's
    ``parameterAsInts``, which read an expression's text or array, a tuple or an array as band 0 and
    rounded 2.7 to band 3."""
    from qgis.core import QgsProperty
    from qgis.PyQt.QtCore import QVariant

    raw = parameters.get(name)
    if isinstance(raw, QgsProperty):
        raw = _evaluated(raw, "the Bands", context)
    if raw is None or isinstance(raw, QVariant) and raw.isNull():
        return None
    if isinstance(raw, str):
        return raw.strip().replace(";", ",") or None
    from ldcsr_core.geo.radiometry import parse_bands

    items = list(raw) if isinstance(raw, (list, tuple)) or getattr(raw, "ndim", 0) == 1 else [raw]
    return parse_bands([_band_number(item) for item in items]) if items else None  # the engine's check


def _band_number(item):
    """``item`` as a band number where it is a whole number as QGIS or a script gives one (an int, NumPy's, a
    whole float such as JSON's ``3.0``, digit text); else as it is, for the engine to refuse (2.7, ``'x'``, True)."""
    if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
        return int(item)
    if _is_number(item) and (isinstance(item, numbers.Integral) or math.isfinite(item) and float(item).is_integer()):
        return int(item)
    return item


RGB = ("Red", "Green", "Blue")


def shown_bands(layer) -> list[int] | None:
    """The red, green and blue bands ``layer`` is drawn with in QGIS (Symbology: a multiband colour
    renderer with all three set) when they are not QGIS's default for a new layer (Settings ▸ Options
    ▸ Rendering: bands 1, 2, 3, its setting read as QGIS reads it): the bands a user chose to see, the
    Bands' default where the engine's rule has nothing to go on (``radiometry.is_fallback``; a file
    that says which bands are R, G, B keeps them, whatever is drawn). None otherwise (a layer left as
    QGIS drew it). On QGIS's main thread: the renderer is the layer's, which the user may change
    meanwhile."""
    from qgis.core import QgsSettings

    renderer = layer.renderer() if layer is not None else None
    if renderer is None or renderer.type() != "multibandcolor":
        return None
    count = layer.bandCount()
    shown = [renderer.redBand(), renderer.greenBand(), renderer.blueBand()]
    settings = QgsSettings()  # QgsRasterRendererRegistry's default for a multiband colour layer
    default = [settings.value(f"/Raster/default{colour}Band", n, int) for n, colour in enumerate(RGB, 1)]
    if not all(1 <= b <= count for b in shown) or shown == [b if 0 <= b <= count else -1 for b in default]:
        return None
    return shown


def model_by_name(alg, parameters, name: str, context) -> str | None:
    """The file of the model picked by name (the engine's list,
    :func:`ldcsr_core.model_names.named_models`: a name as ``processing.run``, a batch cell or the
    modeler give it, an option's number, also as text (``1``, ``"1"``: QGIS's rule for its enums, as
    ``processing.algorithmHelp`` says it; a listed name wins), or a ``QgsProperty`` giving one); None
    for the default model, also when unset. A name not in the list is an ``InputError`` naming those
    there are (QGIS's own check, which says only 'Incorrect parameter value', is skipped for it)."""
    from qgis.core import QgsProperty
    from qgis.PyQt.QtCore import QVariant

    from ldcsr_core.errors import InputError
    from ldcsr_core.model_names import default_model_name, model_named

    raw = parameters.get(name)
    if isinstance(raw, QgsProperty):  # its value, checked as a name (QGIS reads one it lacks as the default)
        raw = _evaluated(raw, "the Model", context)
    options = alg.parameterDefinition(name).options()
    text = raw.strip() if isinstance(raw, str) else None
    if text and text.isascii() and text.isdigit() and text not in options:  # an option's number as text
        raw = int(text)
    if _is_number(raw) and isinstance(raw, numbers.Integral):  # a script's np.int64 too (before: no model named '1')
        raw = int(raw)
        if not 0 <= raw < len(options):
            raise InputError(f"Model {raw} is no option's number (0 to {len(options) - 1}): give a model's name, "
                             f"one of {', '.join(options)}")
        value = options[raw]
    elif raw is None or isinstance(raw, str):
        value = (raw or "").strip()
    else:  # a NULL: unset; anything else is no name (QGIS read it as the default model)
        value = "" if isinstance(raw, QVariant) and raw.isNull() else str(raw)
    if not value or value == default_model_name():
        return None
    return str(model_named(value))


def layer_source(layer, value=None) -> str:
    """The file of a GDAL raster layer; an ``InputError`` for anything the engine cannot open.
    ``value``: the parameter as given, which names what QGIS could not load as a layer (a batch row's
    path that is not there: the batch dialog, unlike the others, does not check it first)."""
    from ldcsr_core.errors import InputError

    if layer is None:
        if isinstance(value, str) and value.strip():
            if not os.path.exists(value):
                from ldcsr_core.words import path_said

                raise InputError(f"input not found: {path_said(value)}")
            raise InputError(f"QGIS cannot open {value} as a raster layer")
        raise InputError("no input raster layer")
    if layer.providerType() != "gdal":
        raise InputError(f"layer '{layer.name()}' is not a file raster (provider "
                         f"{layer.providerType()}): save it as a GeoTIFF first")
    from qgis.core import QgsProviderRegistry

    # QGIS's own reading of its GDAL source (a file name may hold a '|', which is also the
    # separator of the URI's options): the path, and a table or /vsi… prefix if any
    parts = QgsProviderRegistry.instance().decodeUri("gdal", layer.source())
    src = parts.get("path") or layer.source()
    # and not a GDAL virtual file QGIS leaves in the path (/vsicurl/ of Add Raster Layer's HTTP(S) or cloud
    # protocol, /vsis3/, /vsimem/): no file on this computer, not one moved or deleted
    virtual = src.startswith("/vsi") and not os.path.exists(src)
    plain = not parts.get("layerName") and not parts.get("vsiPrefix") and not virtual
    if plain and os.path.isfile(src):
        return src
    if plain and os.path.isabs(src) and not os.path.exists(src):
        raise InputError(f"the file of layer '{layer.name()}' no longer exists (moved or deleted?): {src}")
    table = parts.get("layerName")
    rasters = _geopackage_rasters(src) if table and not parts.get("vsiPrefix") else 0
    if rasters == 1:  # the Browser's GPKG:path:table of a GeoPackage of one raster: the file is that raster
        return src
    if rasters:
        raise InputError(f"layer '{layer.name()}' is the table '{table}' of a GeoPackage of {rasters} rasters "
                         f"({src}), and the engine reads a GeoPackage of one raster only: save this layer as a "
                         "GeoTIFF first (Raster ▸ Conversion ▸ Translate)")
    # a GeoPackage table, /vsizip/, /vsicurl/, a subdataset…
    raise InputError(f"layer '{layer.name()}' is not a plain raster file ({layer.source()}): save it as a "
                     "GeoTIFF first (Raster ▸ Conversion ▸ Translate)")


def layer_values(layer, value=None):
    """What the run takes of the input layer, read where the layer lives (``prepareAlgorithm``: QGIS's
    main thread, a model's step's thread), not on the run's thread: ``(file, nodata, CRS, note)`` from
    :func:`layer_source`, :func:`layer_nodata`, :func:`layer_crs` and :func:`options_note`; or the
    ``InputError`` refusing the layer, or the ``ImportError`` of an engine part QGIS's Python lacks (numpy,
    rasterio), for the run to raise and log as it logs every refusal (raised here, the dialog's log showed
    a Python traceback, and the run did not start)."""
    from ldcsr_core.errors import InputError

    try:
        return layer_source(layer, value), layer_nodata(layer), layer_crs(layer), options_note(layer)
    except (InputError, ImportError) as e:
        return e


def _geopackage_rasters(path: str) -> int:
    """How many raster tables the GeoPackage at ``path`` holds, as GDAL (the engine's reader) opens it
    by its path (one: that raster; several: subdatasets, which the engine refuses); 0 for a file that
    is no GeoPackage or that GDAL cannot open."""
    import warnings

    import rasterio
    from rasterio.errors import RasterioError

    if not os.path.isfile(path):
        return 0
    try:
        with warnings.catch_warnings():  # a GeoPackage of several has no geotransform of its own
            warnings.simplefilter("ignore")
            with rasterio.open(path) as ds:
                if ds.driver != "GPKG":
                    return 0
                return len(ds.subdatasets) or min(ds.count, 1)
    except RasterioError:
        return 0


def options_note(layer) -> str | None:
    """A warning when QGIS opens the layer's file with GDAL open options (``|option:KEY=VALUE`` in
    its source, e.g. GEOREF_SOURCES, OVERVIEW_LEVEL): the engine opens the file without them."""
    from qgis.core import QgsProviderRegistry

    from ldcsr_core.words import noun

    options = QgsProviderRegistry.instance().decodeUri("gdal", layer.source()).get("openOptions") or []
    if not options:
        return None
    return (f"layer '{layer.name()}' is opened in QGIS with the GDAL open {noun(len(options), 'option')} {', '.join(options)}, "
            "which the engine does not use: it reads the file as GDAL opens it by default (its own "
            "georeferencing, full resolution), and the output gets that")


def layer_crs(layer) -> str | None:
    """The CRS QGIS shows the layer in when it was set in QGIS and differs from its file's (a file
    without one, or a wrong one), as the engine's CRS override (``"EPSG:…"`` or WKT): the output
    must carry it to overlay the layer. None when the layer's CRS is its file's (or unknown)."""
    from qgis.core import QgsCoordinateReferenceSystem

    crs, file_crs = layer.crs(), layer.dataProvider().crs()
    if not crs.isValid() or crs == file_crs:
        return None
    if crs.authid().upper().startswith("EPSG:"):
        return crs.authid()
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def _key(value: float):
    return "nan" if math.isnan(value) else value


def layer_nodata(layer):
    """The nodata the layer's QGIS properties say (Transparency: its file's value, extra nodata
    values and ranges, or the file's switched off), as the engine's nodata override.

    None (the file's nodata: nothing set in QGIS), ``"none"`` (the file's switched off on every
    band, nothing added), one value, or a tuple of several values and ranges (``NodataRange``: the
    file's first when in use, then the extra ones: each is nodata, the first number is the one the
    output declares) when they are the same on every band, else each band's (``{band: tuple}``).
    A range with an end excluded (not one QGIS's Transparency page makes) is an ``InputError``."""
    from qgis.core import QgsRasterRange

    from ldcsr_core.errors import InputError
    from ldcsr_core.geo.nodata_override import NodataRange

    dp = layer.dataProvider()
    bands = range(1, layer.bandCount() + 1)
    src_used = {b for b in bands if dp.sourceHasNoDataValue(b) and dp.useSourceNoDataValue(b)}
    extra = {b: [r for r in dp.userNoDataValues(b)  # the file's own value typed again adds nothing
                 if not (b in src_used and _key(r.min()) == _key(r.max()) == _key(dp.sourceNoDataValue(b)))]
             for b in bands}
    extra = {b: ranges for b, ranges in extra.items() if ranges}
    off = {b for b in bands if dp.sourceHasNoDataValue(b) and not dp.useSourceNoDataValue(b)}
    if not extra and not off:
        return None
    if not extra and not src_used:
        return "none"
    per_band = []  # each band's values and ranges
    for b in bands:
        entries = [dp.sourceNoDataValue(b)] if b in src_used else []
        for r in extra.get(b, []):
            if _key(r.min()) == _key(r.max()):
                entries.append(r.min())
            elif r.bounds() != QgsRasterRange.IncludeMinAndMax:
                raise InputError(f"layer '{layer.name()}' has a nodata range {r.min():g}..{r.max():g} on band {b} "
                                 "with an end excluded, which the engine cannot follow (it takes ranges with both "
                                 "ends included, as Layer Properties ▸ Transparency sets them): set it there")
            else:  # QGIS: a NaN end is unbounded
                entries.append(NodataRange(-math.inf if math.isnan(r.min()) else r.min(),
                                           math.inf if math.isnan(r.max()) else r.max()))
        per_band.append(tuple(entries))
    # the same on every band? (NaN, a float layer's usual fill, compares unequal to itself: by its text)
    keys = {frozenset(_key(v) if isinstance(v, float) else v for v in entries) for entries in per_band}
    if len(keys) == 1:
        return per_band[0][0] if len(per_band[0]) == 1 and isinstance(per_band[0][0], float) else per_band[0]
    return {b: entries for b, entries in enumerate(per_band, 1)}
