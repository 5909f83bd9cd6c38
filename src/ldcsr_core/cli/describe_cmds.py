"""``ldcsr models`` (the built-in and given checkpoints) and ``ldcsr convert`` (an official checkpoint
into the ldcsr format); ``ldcsr info`` is in :mod:`.info_cmd`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from . import options as opt
from ..words import counted, signed

__all__ = ["models", "convert"]


@click.command()
@click.argument("paths", nargs=-1, type=opt.CheckpointPathType())
@click.option("--notes", "full_notes", is_flag=True,
              help="Print each model's training notes in full (JSON) instead of a summary.")
def models(paths, full_notes):
    """List the built-in models, the adapted models of the user's model folder and the
    checkpoints PATHS...: name, config, size, SHA-256, a summary of how it was trained (and what
    an adapted model was adapted on); a model folder that is a file is warned of. A file that cannot
    be read is listed as unreadable, the others still are, and the exit status is then that of its
    (first) error: 6 for a file that is no checkpoint of ours, 5 for one that cannot be read
    (permission denied)."""
    from ..adaptation import model_folder_problem, user_model_files
    from ..builtin_models import builtin_model_paths, builtin_name, default_model_path, model_identity

    default = default_model_path()
    files = builtin_model_paths()  # the files the shipped checksum list names, not any .safetensors there
    user = user_model_files()
    problem = model_folder_problem()  # LDCSR_MODELS_DIR set to a file: before, the built-in models alone, without a word
    if problem:
        click.echo(f"warning: {problem}", err=True)
    from ..errors import CheckpointError, ConfigError

    if not files and not paths and not user:
        click.echo("no built-in model is installed; pass checkpoint paths to describe them")
    failed = []
    entries: dict[object, tuple[Path, bool]] = {}  # a file given twice (by a link, or a copy of a built-in) once
    for p, builtin in [(p, True) for p in files] + [(p, False) for p in user] + [(p, False) for p in paths]:
        name = p.name if builtin else builtin_name(p)  # a built-in model, wherever it is: listed as that one
        entries.setdefault(("built-in", name) if name else model_identity(p), (p, builtin))
    loads = _load_names(user)
    for p, builtin in entries.values():
        try:
            _describe_model(p, builtin=builtin, default=builtin and p.name == default.name, full_notes=full_notes,
                            load=loads.get(p))
        except (CheckpointError, ConfigError, OSError) as e:  # one damaged file hides none of the others
            click.echo(f"{p.name}  [unreadable]\n  path:    {p}\n  error:   {e}")
            failed.append(e)
    if failed:  # each was listed where it is; the exit status says something could not be read
        raise failed[0]


def _ldcsr_metadata(path: Path, shipped: bool = False):
    """``(metadata, {tensor: parameter count})`` of a safetensors file in our format, or None for another
    safetensors file; :class:`CheckpointError` when unreadable or when its configuration or its tensors
    are not what :func:`~ldcsr_core.load_model` loads (:func:`~ldcsr_core.checkpoints.check_recorded_tensors`, and
    its weights finite: :func:`~ldcsr_core.checkpoints.check_finite_file`, as ``info --model``; ``shipped``: a
    built-in model checked intact, whose configuration alone is checked)."""
    import numpy as np
    from safetensors import safe_open

    from ..checkpoints import FORMAT_TAG, check_finite_file, check_recorded_tensors, config_from_metadata
    from ..errors import CheckpointError, one_line

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            sizes = {k: int(np.prod(f.get_slice(k).get_shape())) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"{path} is not a readable safetensors file: {one_line(e)}") from None
    if meta.get("format") != FORMAT_TAG:
        return None
    if shipped:
        config_from_metadata(meta, path)
    else:  # listed only if load_model loads it (NaN or inf weights: before, listed as fine)
        check_recorded_tensors(meta, path)
        check_finite_file(path)
    return meta, sizes


def _params_text(sizes: dict) -> str:
    """The parameters inference loads (``load_model``; an adapted model is saved with these only),
    and the training-only ones a file also holds (the stage-1 encoder of a trained model)."""
    from ..checkpoints import IGNORED_KEYS, IGNORED_PREFIXES

    extra = sum(v for k, v in sizes.items() if k in IGNORED_KEYS or k.startswith(IGNORED_PREFIXES))
    text = f"{(sum(sizes.values()) - extra) / 1e6:.2f} M (inference parts)"
    return text + (f"; +{extra / 1e6:.2f} M training-only (stage-1 encoder)" if extra else "")


def _steps(value) -> str:
    """A model's recorded step count (a number, or its text in the metadata), e.g. '1 step'."""
    try:
        return counted(int(value), "step")
    except (TypeError, ValueError):
        return f"{value} steps"


def _window_text(meta: dict) -> str:
    """``, its window of columns 0-59 and rows 0-47`` for a model adapted to a part of its scene, else ""."""
    import json

    try:
        y, x, h, w = (int(v) for v in json.loads(meta.get("adapt_window") or "null"))
    except (TypeError, ValueError):
        return ""
    return f", its window of columns {x}-{x + w - 1} and rows {y}-{y + h - 1},"


def _adapted_text(meta: dict) -> str:
    """How an adapted model was adapted: base, scene, scale, the scene's bands and stretch."""
    from ..adapted_use import checked_from_metadata

    checked = checked_from_metadata(meta)
    read = (checked.reading.text() if checked else "") or "bands and stretch not recorded"
    base = " ".join(filter(None, (meta["adapted_from"], meta.get("adapted_from_version"))))  # v1…v4 share a name
    sha = meta.get("adapted_from_sha256") or ""
    return (f"from {base}{f' (sha256 {sha[:12]})' if sha else ''} on {meta.get('adapted_on') or 'an array'} "
            f"(sha256 {meta.get('adapted_on_sha256', '')[:12]}){_window_text(meta)} at x{meta.get('adapt_scale')}, "
            f"read as {read}, "
            f"{_steps(meta.get('adapt_steps'))}, {meta.get('adapt_minutes')} min"
            + _earlier_text(checked))


def _earlier_text(checked) -> str:
    """The scenes an adapted model's base had been adapted on (latest first), "" for none."""
    earlier = checked.earlier[::-1] if checked else ()
    return "; before, its base was adapted on " + ", and before that on ".join(
        f"{scene or 'an array'} (sha256 {sha[:12]})" for scene, sha in earlier) if earlier else ""


def _load_names(user) -> dict[Path, str]:
    """``{file: what --model takes for it}`` of the adapted models of the user's model folder: its
    name (:func:`~ldcsr_core.model_names.named_models`, QGIS's and napari's list), or its path where a
    file of that name in the working folder would be read instead (a path there wins)."""
    from ..builtin_models import model_identity
    from ..model_names import named_models

    if not user:
        return {}
    names = {file: name for name, file in named_models().items()}
    return {p: str(p) if os.path.lexists(name) and model_identity(name) != model_identity(p) else name
            for p, name in names.items() if p in user}


def _describe_model(path: Path, *, builtin: bool, default: bool = False, full_notes: bool = False,
                    load: str | None = None) -> None:
    """Read what is known of the checkpoint first (refusing a non-checkpoint with a one-line
    :class:`CheckpointError`, before hashing it: ``/dev/zero`` never ends), then print it;
    ``load``: what ``--model`` takes for an adapted model of the user's folder."""
    import json

    from ..builtin_models import intact_builtin_sha256
    from ..checkpoints import check_checkpoint_file, is_safetensors
    from ..files import human_bytes, sha256_file

    check_checkpoint_file(path)  # a regular file in a checkpoint format
    digest = intact_builtin_sha256(path)  # a damaged install: unreadable, with what to do
    lines = []
    meta = _ldcsr_metadata(path, shipped=digest is not None) if is_safetensors(path) else None
    if meta is not None:  # our format: described from its metadata, without loading it
        meta, sizes = meta
        lines.append(f"  name:    {meta.get('name', '-')} {meta.get('version', '')}".rstrip())
        lines.append(f"  params:  {_params_text(sizes)}")
        if meta.get("notes"):
            lines.append(f"  notes:   {meta['notes'] if full_notes else notes_summary(meta['notes'])}")
        if meta.get("config"):
            lines.append(f"  config:  {_config_summary(json.loads(meta['config']))}")
        if meta.get("adapted_from"):
            lines.append(f"  adapted: {_adapted_text(meta)}")
    else:  # an official .ckpt or a bare state dict: loaded, so that a file that is none is refused
        from .. import load_model

        m = load_model(path, device="cpu")
        digest = digest or m.weights_sha256  # of the bytes it loaded: the file is not read a second time
        n = sum(p.numel() for p in m.parameters())
        lines.append(f"  name:    {m.name} {m.version}")
        if m.copy_of:  # a built-in model's tensors saved without our metadata: loaded as that model
            lines.append(f"  copy:    of the built-in {m.copy_of} (its tensors without its metadata; loaded as it)")
        elif m.rounded_copy_of:  # its float16 (bfloat16) copy saved alone: the same model rounded, loaded as it
            lines.append(f"  copy:    of the built-in {m.rounded_copy_of} at a lower float type (its tensors rounded, "
                         "without its metadata; loaded as it)")
        lines.append(f"  params:  {n / 1e6:.2f} M (inference parts)")
        if m.notes:  # a built-in model's copy: its training notes
            lines.append(f"  notes:   {m.notes if full_notes else notes_summary(m.notes)}")
        lines.append(f"  config:  {_config_summary(m.config.to_dict())}")
    size = path.stat().st_size
    tag = "  [built-in, default]" if default else "  [built-in]" if builtin else ""
    click.echo(f"{path.name}{tag}")
    if builtin:
        click.echo(f"  load:    --model {path.stem}{' (or no --model)' if default else ''}")
    elif load:
        click.echo(f"  load:    --model {load}")
    click.echo(f"  path:    {path}")
    click.echo(f"  size:    {human_bytes(size)}")
    click.echo(f"  sha256:  {digest or sha256_file(path)}")
    for line in lines:
        click.echo(line)


def notes_summary(notes: str, width: int = 160) -> str:
    """One line of a model's training notes: the phases of its last training run (steps, minutes),
    its resumes with other settings (:func:`_resumed_phrase`) and that run's last validation (gain over bicubic per mode and scale, on the validation subset
    it used); other notes are shortened to ``width`` characters (``ldcsr models --notes``: all)."""
    import json

    short = notes if len(notes) <= width else notes[:width - 1] + "…"
    try:
        history = json.loads(notes)["history"]
        phases = ", ".join(f"{k} {_steps(v['steps'])} ({v['minutes']:.0f} min{', unfinished' if v.get('unfinished') else ''})"
                           for k, v in history["phases"].items())
        if not phases:  # ldcsr train --init X with every phase 0: X's weights as they were
            init = (json.loads(notes).get("settings") or {}).get("init")
            phases = f"no steps (the weights of --init {init})" if init else "no steps"
        last = (history.get("val") or [{}])[-1]
        gains = []
        for mode in ("fast", "diffusion"):
            per_scale = last.get(mode) or (last.get("gain_db") if mode == "fast" else None) or {}
            if per_scale:
                gains.append(f"{mode} " + ", ".join(
                    f"×{float(s):g} {signed(g['gain_db'] if isinstance(g, dict) else g)} dB" for s, g in per_scale.items()))
    except (ValueError, KeyError, TypeError, AttributeError):
        return short
    trained = history.get("val_in_train") if isinstance(history, dict) else None
    also = f" ({trained} of its images also trained on)" if isinstance(trained, int) and trained > 0 else ""
    val = f"; gain over bicubic on that run's validation subset{also}: {'; '.join(gains)}" if gains else ""
    return f"last training run: {phases}{_resumed_phrase(history)}{val} (ldcsr models --notes: all)"


def _resumed_phrase(history: dict) -> str:
    """``, resumed 2× with other settings (batch_size, seed)``: the resumes of a run that changed
    its settings (its notes' ``history.resumed``; the notes' ``settings`` are the last process's)."""
    resumed = history.get("resumed") if isinstance(history, dict) else None
    if not isinstance(resumed, list) or not resumed:
        return ""
    names = list(dict.fromkeys(k for r in resumed if isinstance(r, dict) for k in r.get("changed") or {}))
    which = f" ({', '.join(names[:3])}{f' and {len(names) - 3} more' if len(names) > 3 else ''})" if names else ""
    return f", resumed {len(resumed)}× with other settings{which}"


def _config_summary(cfg: dict) -> str:
    d, u, dd = cfg.get("decoder", {}), cfg.get("unet", {}), cfg.get("detail_decoder")
    detail = f", diffusion-mode detail decoder ch {dd.get('ch')} x{tuple(dd.get('ch_mult', ()))}" if dd else ""
    return (f"decoder ch {d.get('ch')} x{tuple(d.get('ch_mult', ()))}, "
            f"unet ch {u.get('model_channels')} x{tuple(u.get('channel_mult', ()))}{detail}")


@click.command()
@click.argument("ckpt", type=opt.CheckpointPathType())
@click.argument("out", type=opt.OutputFileType("the converted model"))
@click.option("--name", default=None, help="Model name stored in the file (default: CKPT's stem).")
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT (otherwise: exit 4).")
def convert(ckpt, out, name, overwrite):
    """Convert an official Lightning CKPT into the ldcsr .safetensors format OUT."""
    from ..files import human_bytes
    from ..geo.raster_io import same_file

    if same_file(ckpt, out):
        raise click.BadParameter("OUT is CKPT itself", param_hint="'OUT'")
    if out.suffix.lower() != ".safetensors":  # the format that --model and load_model recognise by content
        raise click.BadParameter(f"OUT must be named .safetensors (the format it is written in), got {out.name}",
                                 param_hint="'OUT'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"output folder does not exist: {out.parent}", param_hint="'OUT'")
    from ..builtin_models import builtin_folder_refusal

    refused = builtin_folder_refusal(out)  # --overwrite or not
    if refused:
        raise click.BadParameter(refused, param_hint="'OUT'")
    from ..errors import InputError, OutputExistsError
    from ..files import check_not_special

    try:
        check_not_special(out, "OUT")  # a named pipe is never replaced by a file
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'OUT'") from None
    if os.path.lexists(out) and not overwrite:  # a broken link too: the write would replace it
        link = "" if out.exists() else f" (a link to {os.readlink(out)}, which is missing)"
        raise OutputExistsError(f"output exists: {out}{link} (use --overwrite to replace it)")
    from ..checkpoints import convert_checkpoint

    t0 = time.perf_counter()
    try:  # a file that appeared at OUT meanwhile (another run's) is not replaced
        dst = convert_checkpoint(ckpt, out, name=name, overwrite=overwrite)
    except OutputExistsError:
        raise OutputExistsError(f"output exists: {out} (it appeared while the checkpoint was converted; "
                                "kept: use --overwrite to replace it)") from None
    click.echo(f"wrote {dst} ({human_bytes(Path(dst).stat().st_size)}) in "
               f"{time.perf_counter() - t0:.1f} s")
