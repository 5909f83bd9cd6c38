"""What an adapted model's guard checked, and the note for a use beyond it.

:func:`ldcsr_core.adapt` keeps a model only if it beats the base at one scale, in fast mode, on the
scene as it was read (its RGB triplet and stretch). Its metadata records these (``adapt_scale``,
``adapt_bands``, ``adapt_band_count``, ``adapt_stretch``); :func:`outside_use` is the one rule that
``ldcsr upscale``, the plugin's Run and its live lens, and the QGIS algorithm apply to say when a
use goes beyond them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

__all__ = ["Reading", "Checked", "reading_of", "resolved_stretch", "checked_from_metadata", "adapted_check",
           "adapted_scale", "outside_use", "own_pixels_caution"]


@dataclass(frozen=True)
class Reading:
    """How a scene's pixels reach the model: the 1-based bands of its RGB triplet (of ``count``)
    and the stretch as resolved for the data type ("dtype" or "percentile"); None: unknown."""

    bands: tuple[int, ...] | None = None
    stretch: str | None = None
    count: int | None = None

    def text(self) -> str:
        """``bands 4,3,2 of 4 with the dtype stretch`` (the known parts), "" when nothing is known."""
        parts = []
        if self.bands:
            parts.append(f"bands {','.join(map(str, self.bands))}" + (f" of {self.count}" if self.count else ""))
        if self.stretch:
            parts.append(f"the {self.stretch} stretch")
        return " with ".join(parts)

    def metadata(self) -> dict:
        """The keys saved with an adapted model (only the known ones)."""
        out = {}
        if self.bands:
            out["adapt_bands"] = ",".join(map(str, self.bands))
        if self.count:
            out["adapt_band_count"] = str(self.count)
        if self.stretch:
            out["adapt_stretch"] = self.stretch
        return out


@dataclass(frozen=True)
class Checked:
    """What the guard of an adapted model checked: fast mode at ``scale``, on pixels read as ``reading``."""

    scale: float
    reading: Reading = field(default_factory=Reading)
    scene: str = ""  # what it was adapted on: a file's resolved path ("" for pixels in memory)
    scene_sha256: str = ""  # that file's SHA-256, or of the pixels adapted on (adaptation._scene_id)
    strip_gain_db: float | None = None  # the guard's: adapted minus base PSNR on the held-back strip
    trained_on: tuple[str, ...] = ()  # the folders its base was trained on, as the base recorded them
    earlier: tuple[tuple[str, str], ...] = ()  # (scene, SHA-256) its base was adapted on, oldest first
    base_sha256: str = ""  # its base's SHA-256 (adapted_from_sha256): a built-in base's folders, for older models

    def scenes(self) -> tuple[tuple[str, str], ...]:
        """Every ``(scene, SHA-256)`` this model learnt: its base's earlier adaptations', then its own."""
        return (*self.earlier, (self.scene, self.scene_sha256))

    def metadata_of_scenes(self) -> dict:
        """``adapted_earlier_on`` for a model adapted from this one: :meth:`scenes` as JSON."""
        return {"adapted_earlier_on": json.dumps([{"scene": a, "sha256": b} for a, b in self.scenes() if a or b])}

    def own_pixels_note(self) -> str:
        """The self-check's caution when it checks the pixels the model was adapted on."""
        from .words import signed

        strip = "" if self.strip_gain_db is None else (
            f"; its guard measured {signed(self.strip_gain_db)} dB over the base model on a strip held back from training")
        return (f"this model was adapted to this scene at ×{self.scale:g} (it learnt this very degradation "
                f"of its pixels), so here the figures overstate what it does on other scenes{strip}")


def resolved_stretch(method: str, dtype) -> str:
    """The stretch ``method`` ("auto", "percentile", "dtype") applies to ``dtype``: "auto" keeps
    uint8's 0..255 ("dtype") and stretches other types by percentiles (``compute_stretch``)."""
    import numpy as np

    return "dtype" if method == "dtype" or (method == "auto" and np.dtype(dtype) == np.uint8) else "percentile"


def reading_of(count: int, colorinterp, bands, stretch: str, dtype, descriptions=(), holder: str = "the file") -> Reading:
    """The :class:`Reading` of a raster of ``count`` bands read with ``bands``/``stretch``
    (``plan_bands``: its first triplet feeds the model; ``holder``: its words for what has the bands)."""
    from .geo.radiometry import plan_bands

    first = plan_bands(int(count), colorinterp, bands, descriptions, holder).groups[0]
    return Reading(tuple(b + 1 for b in first), resolved_stretch(stretch, dtype), int(count))


def checked_from_metadata(meta: dict) -> Checked | None:
    """The :class:`Checked` of a model's metadata; None for a model that was not adapted. Models
    saved before bands and stretch were recorded give an unknown :class:`Reading`."""
    try:
        scale = float(meta["adapt_scale"])
    except (KeyError, TypeError, ValueError):
        return None
    try:
        bands = tuple(int(b) for b in meta["adapt_bands"].split(",")) if meta.get("adapt_bands") else None
        count = int(meta["adapt_band_count"]) if meta.get("adapt_band_count") else None
    except ValueError:
        bands = count = None
    try:
        guard = json.loads(meta.get("adapt_guard") or "{}")
        strip = float(guard["psnr_adapted"]) - float(guard["psnr_base"])
    except (KeyError, TypeError, ValueError):
        strip = None
    try:
        folders = json.loads(meta.get("adapted_from_trained_on") or "[]")
    except ValueError:
        folders = []
    folders = tuple(f for f in folders if isinstance(f, str)) if isinstance(folders, list) else ()
    try:
        earlier = json.loads(meta.get("adapted_earlier_on") or "[]")
    except ValueError:
        earlier = []
    earlier = tuple((str(e.get("scene") or ""), str(e.get("sha256") or "")) for e in earlier
                    if isinstance(e, dict)) if isinstance(earlier, list) else ()
    return Checked(scale, Reading(bands, meta.get("adapt_stretch") or None, count),
                   str(meta.get("adapted_on") or ""), str(meta.get("adapted_on_sha256") or ""), strip, folders,
                   earlier, str(meta.get("adapted_from_sha256") or ""))


def adapted_check(model_or_path) -> Checked | None:
    """The :class:`Checked` of a loaded model (``adapt_checked``, set by ``load_model``) or of an
    ``.safetensors`` file's metadata; None for a model that was not adapted (or unreadable)."""
    if not isinstance(model_or_path, (str, os.PathLike)):
        checked = getattr(model_or_path, "adapt_checked", None)
        at = getattr(model_or_path, "adapt_scale", None)
        return checked if checked is not None else (Checked(float(at)) if at is not None else None)
    from .model_metadata import is_safetensors

    if not os.path.isfile(model_or_path) or not is_safetensors(model_or_path):  # by content: m.sft too
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(model_or_path), framework="numpy") as f:
            return checked_from_metadata(f.metadata() or {})
    except Exception:  # noqa: BLE001 - not readable: loading it will say so
        return None


def adapted_scale(model_or_path) -> float | None:
    """The scale a model was adapted (and guarded) at (:func:`adapted_check`), None if not adapted."""
    checked = adapted_check(model_or_path)
    return None if checked is None else checked.scale


def _same_scale(s, at: float) -> bool:
    return abs(float(s) - at) <= 1e-4 * at  # a target resolution's scale: 0.6 / 0.3 = 1.9999999999999998


def outside_use(at, scales, mode: str, reading: Reading | None = None) -> str | None:
    """What to tell a user who runs a model adapted as ``at`` (a :class:`Checked`, its scale, or
    None: not adapted) at ``scales`` in ``mode`` on pixels read as ``reading``: None inside what
    the guard checked, else why the result is untested. Bands or a stretch that either side does
    not know are not compared."""
    if at is None:
        return None
    checked = at if isinstance(at, Checked) else Checked(float(at))
    at, saw = checked.scale, checked.reading
    from .words import scale_said

    other = sorted({f"×{scale_said(s)}" for s in scales if not _same_scale(s, at)})  # (a run's -s as typed)
    use = reading or Reading()
    bands = saw.bands and use.bands and tuple(saw.bands) != tuple(use.bands)
    stretch = saw.stretch and use.stretch and saw.stretch != use.stretch
    shown = Reading(use.bands if bands else None, use.stretch if stretch else None).text()
    why = ([f"at {', '.join(other)}"] if other else []) + ([f"in {mode} mode"] if mode != "fast" else []) + (
        [f"{'on' if bands else 'with'} {shown}"] if shown else [])
    if not why:
        return None
    because = (["adapted models lost quality above ×2"] if other else []) + (
        ["diffusion mode decodes with the base's sampler"] if mode != "fast" else []) + (
        ["it learnt the colours of the pixels it was adapted on"] if shown else [])
    read = Reading(saw.bands if bands else None, saw.stretch if stretch else None).text()
    on = f" {'on' if bands else 'with'} {read}" if shown else ""
    return (f"this model was adapted and checked at ×{at:g} in fast mode{on} only; {' and '.join(why)} it is "
            f"untested ({'; '.join(because)}; docs/adaptation.md): use it at ×{at:g} in fast mode{on}, or use "
            "the base model")


def own_pixels_caution(model, scene, src, box) -> str:
    """The self-check's caution for a model adapted on region ``box`` of ``scene`` itself (read as
    ``src``, a ``scene_windows.RGBScene``): there it measures the degradation it was fine-tuned on
    (:func:`ldcsr_core.adaptation.adapted_here`); "" otherwise."""
    checked = adapted_check(model)
    if checked is None or not checked.scene_sha256:
        return ""
    from .adaptation import adapted_here

    return checked.own_pixels_note() if adapted_here(checked, scene, src, box) else ""


def scale_note(model, scales, measure: str, source=None, *, shipped: bool | None = None) -> str | None:
    """:func:`ldcsr_core.rules.untrained_scale_note` for a run of ``model`` (a loaded model; or None and its
    ``source``, what ``load_model`` reads: a path, a built-in model's name, None for the default) at ``scales``:
    None for an adapted model (:func:`outside_use` says where it is untested; at its own scale its guard measured
    it), and for a model not shipped (the authors' checkpoint, one's own training) its training scales are said to
    be unknown instead of the shipped models' claimed for it. Shipped or not is
    :func:`ldcsr_core.builtin_models.is_shipped`'s rule, or ``shipped`` where the front end knows it without
    loading the model (napari's ``ModelCache.shipped``)."""
    from .builtin_models import is_shipped
    from .rules import untrained_scale_note

    if untrained_scale_note(scales) is None or adapted_check(model if model is not None else source or "") is not None:
        return None
    if shipped is None:
        shipped = is_shipped(model if model is not None else source)
    return untrained_scale_note(scales, measure, model=None if shipped else _model_name(model, source))


def _model_name(model, source) -> str:
    """What to call a model that is not a shipped one: the authors' checkpoint, a loaded model's name, else its
    file's name (``source``), else "this model" (one built in memory, another provider's not loaded yet)."""
    from .builtin_models import model_path

    if model is not None:
        if getattr(model, "version", None) == "official":
            return "the authors' official checkpoint"
        name = str(getattr(model, "name", "") or "")
        return name if name not in ("", "unnamed") else "this model"  # (built in memory: LDCSR's own default)
    if source is None:  # the engine's loader reads the default model, a shipped one: another provider's
        return "this model"
    try:
        return model_path(source).name
    except Exception:  # noqa: BLE001 - a name of no model: loading it will say so
        return "this model"
