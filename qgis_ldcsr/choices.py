"""The option a list parameter (the Mode, the Stretch) picks, read as given rather than by QGIS's
``parameterAsEnum``, which reads an expression's name (``'fast'``) or a number past the list as the
default, silently."""

from __future__ import annotations

from .values import _evaluated, _is_number


def option_chosen(alg, parameters, name: str, what: str, context) -> str:
    """The option of the list parameter ``name`` picked by its number (QGIS's rule, as
    ``processing.algorithmHelp`` lists them; text of one too) or by its name (``'fast'``, as
    ``ldcsr upscale --mode fast`` takes it), also as an expression's value (``QgsProperty``); unset
    or NULL: the parameter's default. Anything else is an ``InputError`` naming the options."""
    from qgis.core import QgsProperty
    from qgis.PyQt.QtCore import QVariant

    from ldcsr_core.errors import InputError

    definition = alg.parameterDefinition(name)
    options, raw = definition.options(), parameters.get(name)
    if isinstance(raw, QgsProperty):
        raw = _evaluated(raw, what, context)
    if raw is None or isinstance(raw, QVariant) and raw.isNull() or isinstance(raw, str) and not raw.strip():
        return options[int(definition.defaultValue())]
    text = raw.strip() if isinstance(raw, str) else None
    if text in options:
        return text
    if text is not None and text.isascii() and text.isdigit():
        raw = int(text)
    if _is_number(raw) and float(raw).is_integer() and 0 <= raw < len(options):
        return options[int(raw)]
    listed = ", ".join(f"{i}: {option}" for i, option in enumerate(options))
    raise InputError(f"{what} must be one of its options, by number or name ({listed}), got {raw!r}")
