"""The run's warnings about how the model is used: a scale below the shipped models' training scales, a layer
whose pixels on the ground are outside their training imagery's, an adapted model beyond its guard's check,
red, green and blue bands listed in another order, and bands drawn in QGIS that are not fed; and the words of
the automatic bands' rule."""

from __future__ import annotations


def adapted_note(model, info, request: dict, options) -> str | None:
    """The engine's note for an adapted ``model`` used beyond what its guard checked
    (:func:`ldcsr_core.adapted_use.outside_use`: scale, mode, bands, stretch), as a sentence."""
    from ldcsr_core.adapted_use import adapted_check, outside_use, reading_of
    from ldcsr_core.geo.georef import scale_for_resolution

    checked = adapted_check(model)
    if checked is None:
        return None
    scales = (request["scale"] if "scale" in request  # the scales asked for, as ldcsr upscale
              else scale_for_resolution(info, request["target_resolution"]))
    note = outside_use(checked, scales, options.mode,
                       reading_of(info.count, info.colorinterp, options.bands, options.stretch, info.dtype,
                                  info.descriptions))
    return note and note[0].upper() + note[1:] + "."


def scale_note(model, info, request: dict) -> str | None:
    """The engine's note for a scale below the shipped models' training scales, for ``model``
    (:func:`ldcsr_core.adapted_use.scale_note`), as a sentence."""
    from ldcsr_core.adapted_use import scale_note as engine_note

    return _sentence(engine_note(model, _scales(info, request), MEASURE))


def _scales(info, request: dict):
    """The run's scale (a number or ``(sy, sx)``): the one asked, or its target resolution's."""
    from ldcsr_core.geo.georef import scale_for_resolution

    return request["scale"] if "scale" in request else scale_for_resolution(info, request["target_resolution"])


def ground_note(model, info, request: dict) -> str | None:
    """The engine's note for a run whose result's pixels are, on the ground, outside those the shipped models were
    trained to make (:func:`ldcsr_core.rules.untrained_ground_note`), as a sentence; None for another ``model``."""
    from ldcsr_core.geo.ground import ground_pixel_of
    from ldcsr_core.rules import untrained_ground_note

    ground = ground_pixel_of(info)
    return _sentence(untrained_ground_note(ground, MEASURE, model=model, scale=_scales(info, request) if ground else 1))


MEASURE = "the Quality report (or ldcsr selfcheck) measures it on this layer"  # how a QGIS user checks it


def _sentence(note: str | None) -> str | None:
    return note and note[0].upper() + note[1:] + "."


def band_order_note(bands, auto, rule: str) -> str | None:
    """A warning when a list of bands (the dialog's band list returns the bands checked in the
    list's order, 1, 2, 3, …, not in the order they were checked) holds the red, green and blue
    bands the engine's rule knows, in another order: the model would see the colours swapped."""
    from ldcsr_core.geo.radiometry import is_fallback

    if isinstance(bands, str) or is_fallback(rule) or len(bands) != 3:
        return None
    chosen, rgb = [int(b) for b in bands], [b + 1 for b in auto]
    if sorted(chosen) != sorted(rgb) or chosen == rgb:
        return None
    fmt = ",".join
    return (f"bands {fmt(map(str, chosen))} are fed to the model as R, G, B, but by the {rule} bands "
            f"{fmt(map(str, rgb))} are red, green and blue: the model sees the colours swapped. The band "
            f"list gives its bands in the list's order: drag them into R, G, B order there, or leave the "
            f"bands empty (automatic: {fmt(map(str, rgb))})")


def shown_note(shown, rgb, rule: str) -> str:
    """The log's line for a layer drawn in QGIS with bands other than those the engine's ``rule``
    (not its fallback) feeds the model as R, G, B: the file's, as the command line's and napari's."""
    fmt = ",".join
    return (f"The layer is drawn with bands {fmt(map(str, shown))} in QGIS; bands {fmt(map(str, rgb))} are its "
            f"red, green and blue by the {rule} and are fed to the model as R, G, B, as by the command line "
            f"and napari (set the Bands to feed others)")


def default_rule(auto, rule: str, count: int) -> str:
    """The Model input line's words for the engine's automatic bands ``auto`` (0-based) of a layer of ``count``
    bands by ``rule`` (:func:`~ldcsr_core.geo.band_plan.default_triplet`'s): its last rule as the default, and, for
    a layer of fewer than three colour bands, what is fed (a short triplet repeats its last band: ``plan_bands``)
    and which bands are alpha (the others: ``default_triplet`` takes every colour band then; ``ldcsr info``'s
    'alpha/mask band'), not 'the first three'."""
    from ldcsr_core.geo.band_plan import is_fallback
    from ldcsr_core.words import noun

    if not is_fallback(rule) or len(auto) >= 3:
        return f"default: {rule}" if is_fallback(rule) else rule
    alpha = [b + 1 for b in range(count) if b not in auto]
    colour = " colour" if alpha else ""
    said = (f" ({noun(len(alpha), 'band')} {', '.join(map(str, alpha))} {'is' if len(alpha) == 1 else 'are'} "
            "alpha)" if alpha else "")
    if len(auto) == 1:
        return f"default: the one{colour} band there is{said}, as R, G and B"
    return f"default: the two{colour} bands there are{said}, the second as G and B"
