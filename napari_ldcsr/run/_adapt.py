"""*Adapt to this layer* (Qt-free): the engine's scene adaptation on the picked layer.

The pixels adapted to are those *Check quality here* checks (the whole layer when small, else the
central square of the view: :func:`_selfcheck.check_region`), read through the same radiometry as a
Run. The engine (:func:`ldcsr_core.adapt`) fine-tunes the model's fast path on them for the chosen
minutes and keeps the result only if it beats the base model on a held-back strip; a kept model is
saved in the user's model folder (:func:`ldcsr_core.adaptation.user_models_dir`), where the model
picker finds it. The worker that runs it is :class:`_runner.AdaptRunner`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from .._workers import in_napari_words
from .. import _geometry as geo

__all__ = ["AdaptRequest", "AdaptOutcome", "TOOLTIP", "prepare_adapt", "run_adapt", "status_text",
           "model_file_name", "check_model_folder", "run_note"]

TOOLTIP = ("Fine-tune the model's fast path on this layer's own pixels (its downscaled copies teach "
           "it about this ground) for the chosen minutes. A strip of the layer is held back: the "
           "adapted model is kept only if it restores that strip better than the current model; it is "
           "then saved to your model folder and selected for Run and the live lens (use Mode: fast preview). Offered up to ×2.")


@dataclass(frozen=True)
class AdaptRequest:
    """What to adapt to: the region of the source, the scale, the budget and the base model."""

    layer: object
    scale: float
    region: geo.Region
    where: str
    minutes: float
    seed: int = 0
    model_source: str | None = None
    bands: tuple[int, ...] | None = None
    stretch: str = "auto"
    nodata: float | str | None = None


@dataclass(frozen=True)
class AdaptOutcome:
    """The engine's :class:`~ldcsr_core.adaptation.Adaptation` and where a kept model was saved."""

    result: object
    path: str | None


@in_napari_words  # the engine's messages name the form's controls
def prepare_adapt(viewer, settings, minutes: float, layer=None) -> AdaptRequest | str:
    """The adaptation of the widget's current settings, or a plain sentence saying why there is none."""
    from ._job import plain_message
    from ._selfcheck import checked_region

    try:
        s = settings()
    except ValueError as exc:
        return plain_message(exc)
    from ldcsr_core.adaptation import MAX_ADAPT_SCALE

    if s.scale > MAX_ADAPT_SCALE:
        return (f"Adaptation is offered up to ×{MAX_ADAPT_SCALE:g} (not ×{s.scale:g}): at larger scales the "
                "layer's own copies are too coarse to teach the model. Adapt at ×2 and use the model at ×2.")
    layer = s.layer if layer is None else layer
    found = checked_region(viewer, layer, s.scale, s.nodata, use="adapt")
    if isinstance(found, str):
        return found
    return AdaptRequest(layer, s.scale, *found, minutes=float(minutes), seed=s.seed,
                        model_source=s.model_source, bands=s.bands, stretch=s.stretch,
                        nodata=s.nodata)


def model_file_name(layer_name: str, scale: float, when: float | None = None) -> str:
    """``<layer>-x<scale>-<YYYYmmdd-HHMMSS>.safetensors`` with the name made file-safe, and not a Windows device's
    (a layer ``CON.x`` gives ``CON_1.x-x2-….safetensors``: refused on Windows once the model was trained)."""
    from ldcsr_core.file_names import made_not_a_device

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(layer_name)).strip("._") or "layer"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    return made_not_a_device(f"{safe[:60]}-x{scale:g}-{stamp}.safetensors")


def check_model_folder(folder: Path) -> Path:
    """``folder``, if a kept model can be saved there (it may not exist yet: its nearest existing
    parent must be a writable folder); else an ``OSError`` that says so. Checked before training,
    so that no trained model is lost."""
    import os

    found = folder
    while not found.exists() and found != found.parent:
        found = found.parent
    why = (None if found.is_dir() and os.access(found, os.W_OK | os.X_OK)
           else f"{found} is not a folder" if not found.is_dir() else f"{found} is not writable")
    if why is not None:
        raise OSError(f"cannot save adapted models in {folder}: {why} (set LDCSR_MODELS_DIR to a writable folder)")
    return folder


def run_adapt(source, request: AdaptRequest, model, *, callback=None, folder: Path | None = None) -> AdaptOutcome:
    """Adapt ``model`` to ``request``'s pixels of ``source`` (a ``_job.LayerSource``) in this thread;
    a kept model is saved to ``folder`` (default: the user's model folder, checked first)."""
    import ldcsr_core
    from ldcsr_core.adaptation import check_save_room, user_models_dir
    from ldcsr_core.precision import model_dtype

    folder = check_model_folder(Path(folder) if folder is not None else user_models_dir())
    check_save_room(folder, model)  # disk space and ulimit -f, before the minutes of training
    if model_dtype(model) != "float32":  # e.g. the CPU's bfloat16: fine-tune from the exact weights
        model = ldcsr_core.load_model(request.model_source, device=model.device, dtype="float32")
    with source.dataset() as ds:
        source.unpin()  # trained on its copy from here on (a pinned source: an array given meanwhile frees the old)
        result = ldcsr_core.adapt(ds, request.scale, model, minutes=request.minutes, seed=request.seed,
                                  window=request.region.window, bands=request.bands,
                                  stretch=request.stretch, nodata=request.nodata, callback=callback)
    if not result.kept:
        return AdaptOutcome(result, None)
    folder.mkdir(parents=True, exist_ok=True)
    return AdaptOutcome(result, str(_save_new(result, folder, getattr(request.layer, "name", "layer"),
                                              request.scale, getattr(model, "name", "model"))))


def _save_new(result, folder: Path, layer_name: str, scale: float, base_name: str) -> Path:
    """Save ``result`` under a new name in ``folder``: ``model_file_name``, or with ``-2``, ``-3`` …
    where a file of that name exists (another adaptation of a same-named layer in the same second):
    an earlier adapted model is never written over."""
    from ldcsr_core.errors import OutputExistsError

    first = Path(model_file_name(layer_name, scale))
    for n in range(1, 1000):
        path = folder / (first.name if n == 1 else f"{first.stem}-{n}{first.suffix}")
        if path.exists():
            continue
        try:
            return result.save(path, name=f"{base_name}-adapted-{path.stem}", overwrite=False)
        except OutputExistsError:  # it appeared meanwhile
            continue
    raise OutputExistsError(f"{folder}: no free name for {first.name}")


def status_text(outcome: AdaptOutcome, where: str) -> str:
    """The base and the adapted model side by side, as the guard measured them."""
    from ldcsr_core.adaptation import db_text
    from ldcsr_core.words import signed

    r = outcome.result
    side = (f"base {signed(r.psnr_base - r.psnr_bicubic)} dB, adapted {signed(r.psnr_adapted - r.psnr_bicubic)} dB "
            f"over bicubic at ×{r.scale:g} on the held-back strip of {where} (fast)")
    octave = f"octave check {db_text(r.octave_gain_db)} dB"
    if outcome.path is None:
        why = f"; {r.refusal}" if r.refusal else ""  # which of the guard's checks said no
        return f"Adaptation not kept ({db_text(r.gain_db)} dB{why}): {side}; {octave}; the current model stays."
    return f"Adapted model selected ({db_text(r.gain_db)} dB): {side}; {octave}."


def source_reading(source, bands, stretch: str):
    """How a Run of ``source`` (a ``LayerSource``) with the form's ``bands`` and ``stretch`` feeds the
    model (``ldcsr_core.adapted_use.reading_of``: its first triplet, the stretch for its type), or
    None for bands it refuses itself (a Run's note and the live lens's)."""
    from ldcsr_core.adapted_use import reading_of

    try:
        return reading_of(source.count, source.colorinterp, bands, stretch, source.layers[0].data.dtype,
                          source.descriptions or ())
    except Exception:  # noqa: BLE001 - bands the run refuses itself: the scale and mode are still said
        return None


def run_note(spec, source) -> str | None:
    """The Run's warning when its model is an adapted one used beyond what the guard checked
    (another scale, diffusion mode, other bands or stretch: :func:`ldcsr_core.adapted_use.outside_use`)."""
    from ldcsr_core.adapted_use import adapted_check, outside_use

    checked = adapted_check(spec.model_source or "")
    if checked is None:
        return None
    note = outside_use(checked, [spec.scale], spec.mode, source_reading(source, spec.bands, spec.stretch))
    return None if note is None else note[0].upper() + note[1:] + "."
