"""How a training run is saved, resumed and stopped: :class:`ResumableMixin` holds these as methods of
the :class:`~ldcsr_core.training.trainer.Trainer` — the atomic checkpoint and the weights file, the
resume (every state restored, settings that changed said), the process budget, and a Ctrl-C
(SIGTERM, SIGHUP) that lets the step finish and checkpoints before it stops.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..checkpoints import save_model
from .checkpoint import (TrainState, atomic_torch_save, read_checkpoint, restore_generator, restore_rng_states,
                         rng_states)
from ..words import counted
from .errors import ResumeError

__all__ = ["ResumableMixin", "changed_settings", "SPEED_SETTINGS", "refused_write", "check_output_folders", "notes_json", "plain_settings",
           "resumed_entry", "budgeted_phases", "phase_copy"]

log = logging.getLogger("ldcsr_core.training")


def _numpy_plain(value):
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":  # a NumPy number or array
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r:.40} is not a number, text or a list of them")


def notes_json(value) -> str:
    """The JSON of a model's training notes (its settings and history): NumPy numbers as Python's."""
    return json.dumps(value, default=_numpy_plain)


def plain_settings(settings: dict) -> dict:
    """``settings`` as they are written in the model's notes (NumPy numbers as Python's, tuples as
    lists), checked when the run is made: batch_size=np.int64(8) failed json.dumps when the model
    was saved, at the end of training. A value JSON cannot hold is an :class:`InputError` naming it."""
    from ..errors import InputError

    plain = {}
    for key, value in settings.items():
        try:
            plain[key] = json.loads(notes_json(value))
        except (TypeError, ValueError) as e:
            raise InputError(f"{key}: {e} (the settings are written in the model's notes)") from None
    return plain


def check_output_folders(out, checkpoint=None, log_path=None) -> None:
    """The folders a run writes in (OUT's, the checkpoint's, the log's: its nearest existing one,
    as the log makes the folders it lacks) can be written: else a
    :class:`~ldcsr_core.errors.RasterIOError` naming the first that cannot (permissions, a read-only
    disk), exit 5 as for every output, checked before the model and the data are loaded. A log
    that exists is appended to: the file itself must be writable, not its folder (``/dev/stdout``,
    a log in a shared folder)."""
    import errno
    import os

    from ..errors import RasterIOError
    from ..files import check_writable

    out = Path(out)
    folders = [Path(checkpoint).parent if checkpoint else out.parent, out.parent]
    if log_path and os.path.exists(log_path):
        if not os.access(log_path, os.W_OK):
            raise RasterIOError(errno.EACCES, f"the training's log is not writable: {log_path}")
    elif log_path:
        found = Path(log_path).parent
        while not found.exists() and found != found.parent:
            found = found.parent
        folders.append(found)
    for folder in folders:
        check_writable(folder, "the training's output folder")


_WRITTEN = {"--out": "OUT", "--checkpoint": "the checkpoint", "--log": "the log"}


def budgeted_phases(minutes, steps=None) -> tuple[str, ...]:
    """The phases given a budget (``steps`` when given, else ``minutes``, above 0): the only ones a
    run (fresh or resumed, whose budgets are this run's) trains, so writes the ``-after-<phase>`` copy of."""
    from .phases import PHASES

    return tuple(p for p, b in zip(PHASES, steps or minutes) if float(b) > 0)


def phase_copy(out, phase) -> Path:
    """OUT's copy after ``phase``: ``<OUT's stem>-after-<phase>.safetensors`` beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}-after-{phase}.safetensors")


def refused_write(out, checkpoint=None, log_path=None, inputs=None, resume=None, phases=None) -> tuple[str, str]:
    """``(option, why)`` for the first file a run would write (OUT and its ``-after-<phase>``
    copies of ``phases``, default all three: :func:`budgeted_phases`, a copy of a phase not
    trained is never written; the checkpoint, the log) that is in the built-in models' folder (``overwrite`` or
    not), has a name its file system cannot hold (``files.check_name_length``), is a device, a
    pipe, a stream or a folder (not the log, which is appended to), is another of them (the checkpoint OUT, the log OUT or the checkpoint: the log's lines appended to a model made it
    unreadable) or is one of its ``inputs`` (option -> path: --init, --config, DATA, ...;
    ``resume`` only as the checkpoint it continues); ``("", "")`` when none is. ``ldcsr train``
    says it as its usage error, :class:`Trainer` as a :class:`TrainingError`, before any work."""
    from ..builtin_models import builtin_folder_refusal
    from ..errors import InputError, OutputNameError, RasterIOError
    from ..files import check_name_length, check_not_folder, check_not_special, same_file
    from .phases import PHASES

    out = Path(out)
    written = {"--out": [out, *(phase_copy(out, p) for p in (PHASES if phases is None else phases))],
               "--checkpoint": [Path(checkpoint) if checkpoint else out.with_suffix(".ckpt")],
               "--log": [Path(log_path)] if log_path else []}
    for option, paths in written.items():  # the -after-<phase> copies: OUT's folder
        refused = builtin_folder_refusal(paths[0]) if paths else ""
        if refused:
            return option, f"the run would write {refused}"
    for option, paths in written.items():  # a name the file system cannot hold: said, not errno's words
        for path in paths:
            try:
                check_name_length(path, _WRITTEN[option] if path == paths[0] else "OUT's copy")
            except OutputNameError as e:  # a copy's name is made from OUT's: the user can shorten OUT's
                return option, str(e) if path == paths[0] else e.worded(f"choose a shorter {option}")
    for option, paths in written.items():  # replaced by a file at every checkpoint: never a pipe, a device
        for path in paths if option != "--log" else ():  # or a folder; the log is appended to: a pipe may take it
            try:
                check_not_special(path, _WRITTEN[option] if path == paths[0] else "OUT's copy")
                check_not_folder(path, _WRITTEN[option] if path == paths[0] else "OUT's copy")
            except InputError as e:
                return option, str(e)
            except RasterIOError as e:  # before, found when the phase ended (a copy) or said as an earlier checkpoint
                return option, f"{e.strerror} (a folder is never replaced: move it away or choose another {option})"
    seen: list[tuple[str, Path]] = []
    for option, paths in written.items():
        for path in paths:
            for what, other in seen:
                if same_file(path, other):
                    return option, f"{_WRITTEN[option]} would be {what}: {path}"
            seen.append((f"{_WRITTEN[option]} itself" if path == paths[0] else
                         f"OUT's copy after the {path.stem.rpartition('-after-')[2]} phase", path))
    given = {**(inputs or {}), "--resume": resume}
    for option, paths in written.items():
        for path in paths:
            for what, src in given.items():
                if src is None or not Path(src).is_file() or (option == "--checkpoint" and what == "--resume"):
                    continue
                if same_file(path, src):
                    return option, f"the run would write {path}, which is its {what} file (inputs are never overwritten)"
    return "", ""


class ResumableMixin:
    """Checkpoint, resume and stop of a training run (methods of the Trainer)."""

    def checkpoint(self):
        """Atomically write the resumable checkpoint and the current (EMA) weights."""
        self._flush_losses()
        s = self.state
        obj = {"format": 2, "model": self.model.state_dict(), "config": self.model.config.to_dict(),
               "state": dict(s.__dict__), "settings": self.settings,
               "opt": self.opt.state_dict() if self.opt else None,
               "ema": self.ema.state_dict() if self.ema else None,
               "disc": self.disc.state_dict() if self.disc is not None else None,
               "opt_d": self.opt_d.state_dict() if self.opt_d else None,
               "data_rng": self.data.rng.getstate(), "gen": self.gen.get_state(), "rng": rng_states(self.gen)}
        atomic_torch_save(obj, self.ckpt_path)
        self.last_checkpoint = (self.ckpt_path, s.phase or (s.done[-1] if s.done else None), s.phase_step,
                                s.total_steps)
        self.save_weights()
        log.info("checkpoint written: %s (+ %s)", self.ckpt_path, self.out)
        self.runlog.write("checkpoint", path=str(self.ckpt_path), phase=s.phase, step=s.phase_step,
                          total_steps=s.total_steps, bytes=self.ckpt_path.stat().st_size)

    def check_save_room(self):
        """Before any step: the checkpoint's and OUT's folders are writable, their filesystems have
        room for what the run writes and the file size limit (``ulimit -f``) lets each file be
        written, each at least the model's float32 weights (the checkpoint holds the optimiser's
        moments too). What it writes, on each filesystem: the files not there yet (the checkpoint,
        OUT, the ``-after-<phase>`` copy of each phase left to train) and one more file, as every
        rewrite of the checkpoint or OUT is a new file beside the old one until it replaces it.
        Else a :class:`~ldcsr_core.errors.RasterIOError` naming what lacks, before the steps up to
        the first checkpoint (``--checkpoint-every``, or the whole phase) are computed and lost at
        it (or, without that one more file, at the second)."""
        import os

        from ..files import check_room
        from .phases import PHASES

        size = sum(t.numel() * t.element_size() for t in self.model.state_dict().values())
        check_output_folders(self.out, self.ckpt_path, self.runlog.path)
        copies = [phase_copy(self.out, p) for p in PHASES if self.trains(p)]
        need: dict = {}
        for path in (self.ckpt_path, self.out, *copies):
            room = need.setdefault(os.stat(path.parent).st_dev, [path.parent, size])  # the rewrite's new file
            room[1] += 0 if os.path.lexists(path) else size
        for folder, n in need.values():  # one filesystem may hold them all
            check_room(folder, n, "the checkpoint and the model", largest=size, at_least=True, they=True)

    def save_weights(self, path=None):
        """The EMA weights to ``path`` (OUT), with the run's notes; a phase stopped part-way (a
        periodic checkpoint, --stop-after, Ctrl-C) is in their history as ``unfinished``, its steps so far."""
        s, history = self.state, self.state.history
        if s.phase and s.phase_step:  # the checkpoint's own history gets it when the phase ends
            history = {**history, "phases": {**history["phases"], s.phase: {
                "steps": s.phase_step, "minutes": round(s.phase_elapsed / 60, 1), "unfinished": True}}}
        if self.ema is not None:
            self.ema.swap()
        try:
            save_model(self.model, path or self.out, name=self.name, version=self.version,
                       notes=notes_json({"data": self.data_dir, "settings": self.settings, "history": history}))
        finally:
            if self.ema is not None:
                self.ema.swap()

    def resume(self, path):
        """Continue the run of checkpoint ``path`` (or of its parts ``PATH.part000``…). Settings
        that changed are said, logged, and kept in the history (:func:`resumed_entry`), so the
        model's notes record each part of the run's settings, not the last process's alone."""
        from .phases import PHASES

        obj = read_checkpoint(path, map_location=self.dev)
        self._check_config(obj, path)
        self._load_run_weights(obj, path)
        self.state = TrainState(**obj["state"])
        self.data.rng.setstate(obj["data_rng"])
        # a checkpoint of another device's run: its noise stream cannot continue here (said below)
        other = restore_rng_states(obj["rng"], self.gen) if "rng" in obj else restore_generator(self.gen, obj["gen"])
        if self.state.phase:
            self._set_trainable(self.state.phase)
            self._make_optimizers(self.state.phase)
            if obj.get("opt"):
                self.opt.load_state_dict(obj["opt"])
            if self.ema is not None and obj.get("ema"):
                self.ema.load_state_dict(obj["ema"])
            if self.opt_d is not None and obj.get("opt_d"):
                self.opt_d.load_state_dict(obj["opt_d"])
        self.last_checkpoint = (Path(path), self.state.phase, self.state.phase_step, self.state.total_steps)
        log.info("resumed from %s: done %s, in %s at step %d (%.1f min)", path, self.state.done,
                 self.state.phase, self.state.phase_step, self.state.phase_elapsed / 60)
        changed = changed_settings(obj.get("settings"), self.settings)
        if other:
            changed["device"] = other
        if changed and not (self.state.phase is None and all(p in self.state.done for p in PHASES)):
            self.state.history.setdefault("resumed", []).append(resumed_entry(self.state, changed))
        if changed:
            log.warning("resumed with other settings than the run that wrote %s: %s; the result will differ "
                        "from a run that was not stopped (give the same DATA and options to continue it exactly)", path,
                        ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items()))
        self.runlog.write("resume", path=str(path), done=self.state.done, phase=self.state.phase,
                          step=self.state.phase_step, total_steps=self.state.total_steps,
                          half_precision=obj.get("half_precision"),
                          changed={k: list(v) for k, v in changed.items()})

    def _check_config(self, obj, path):
        """A :class:`ResumeError` naming the fields in which the checkpoint's model configuration
        (recorded since it is compared) differs from this run's: other heads, a diffusion schedule
        or a grown decoder fit the same weight shapes, but they are another model."""
        if not isinstance(obj.get("config"), dict):
            return

        def flat(d, prefix=""):
            out = {}
            for k, v in (d or {}).items():
                out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
            return out

        before, now = (flat(json.loads(json.dumps(c))) for c in (obj["config"], self.model.config.to_dict()))
        diff = [f"{k} {before.get(k)} -> {now.get(k)}" for k in sorted(set(before) | set(now))
                if before.get(k) != now.get(k)]
        if diff:
            raise ResumeError(
                f"{path} is a checkpoint of another model configuration ({', '.join(diff[:4])}"
                f"{f' and {len(diff) - 4} more' if len(diff) > 4 else ''}): resume with the --config, --init, "
                "--grow-sr-modules and --train-detail-decoder of the run that wrote it")

    def _load_run_weights(self, obj, path):
        """The checkpoint's weights into the fp32 master weights (also from a half copy), or a
        :class:`ResumeError` when they are another model's (other config, --init, growth)."""
        try:
            self.model.load_state_dict(obj["model"])
        except RuntimeError as e:
            ours, theirs = self.model.state_dict(), obj["model"]
            missing, extra = ours.keys() - theirs.keys(), theirs.keys() - ours.keys()
            shape = [k for k in ours.keys() & theirs.keys() if ours[k].shape != theirs[k].shape]
            raise ResumeError(
                f"{path} is a checkpoint of another model ({counted(len(missing), 'tensor')} missing, {len(extra)} "
                f"unexpected, {len(shape)} of another shape): resume with the --config, --init, "
                "--grow-sr-modules and --train-detail-decoder of the run that wrote it") from e
        if self.disc is not None and obj.get("disc") is not None:
            self.disc.load_state_dict(obj["disc"])

    def _out_of_run_budget(self):
        return ((self.stop_after_steps is not None and self._run_steps >= self.stop_after_steps)
                or (self.stop_after_s is not None and time.time() - self._run_t0 >= self.stop_after_s))

    def _stop(self):
        """The process budget is spent: checkpoint, so that a later run resumes here."""
        self.stopped = True
        self.checkpoint()
        s = self.state
        log.info("run budget spent in %s at step %d: resume with the checkpoint %s", s.phase, s.phase_step,
                 self.ckpt_path)
        self.runlog.write("stop", phase=s.phase, step=s.phase_step, total_steps=s.total_steps,
                          run_steps=self._run_steps, run_s=round(time.time() - self._run_t0, 1))

    @contextmanager
    def _stop_at_step_end(self):
        """While training: the first Ctrl-C (or SIGTERM, SIGHUP) lets the step being computed finish, then the
        run checkpoints and stops (:meth:`_stop_if_asked`), so no work is lost; a second one stops at
        once.  Only where signals can be handled (the main thread); elsewhere they unwind as before."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._stop_signal = None

        def ask_to_stop(signum, frame):
            if self._stop_signal is not None:  # the second one: now
                raise KeyboardInterrupt
            self._stop_signal = signum
            log.warning("%s: stopping after this step with a checkpoint (again to stop at once, losing the "
                        "steps since the last checkpoint)", signal.Signals(signum).name)

        signals = [signal.SIGINT, signal.SIGTERM]  # and a hang-up (terminal or ssh closed) unless nohup
        if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            signals.append(signal.SIGHUP)
        before = {sig: signal.signal(sig, ask_to_stop) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)

    def _stop_if_asked(self):
        """A stop was asked for (:meth:`_stop_at_step_end`): checkpoint here, between steps, and unwind."""
        if getattr(self, "_stop_signal", None) is not None:
            if self.state.phase is not None:  # between phases the phase's own checkpoint was just written
                self.checkpoint()
            raise KeyboardInterrupt

    def _interrupted_note(self) -> str:
        s = self.state
        where = f"interrupted in {s.phase} at step {s.phase_step}" if s.phase else "interrupted between phases"
        self.runlog.write("interrupted", phase=s.phase, step=s.phase_step, total_steps=s.total_steps)
        if self.last_checkpoint is None:
            return f"{where}, before any checkpoint: nothing to resume"
        path, phase, step, total = self.last_checkpoint
        again = ("" if total == s.total_steps else  # it is where the run stopped (a phase's end too)
                 " (the steps after it are done again, with the same result)")
        return f"{where}; the last checkpoint ({phase}, step {step}) is {path}: continue with --resume {path}{again}"


def resumed_entry(state, changed: dict) -> dict:
    """The history's record of a resume with other settings (``history["resumed"]``, one a
    resume): where it continued (``phase`` and ``step``, the phase None between phases;
    ``total_steps`` before it) and each change, ``name: [before, now]``. The notes' ``settings``
    are the last process's; these entries, undone from the last, give every earlier part's."""
    return {"phase": state.phase, "step": state.phase_step, "total_steps": state.total_steps,
            "changed": {k: list(v) for k, v in changed.items()}}


# Settings that do not change the computed weights (speed only): a resume may change them freely.
SPEED_SETTINGS = ("compile",)


def changed_settings(before: dict | None, now: dict) -> dict:
    """The settings a resumed run changes from the run that wrote its checkpoint: name -> (before,
    now), speed-only ones (:data:`SPEED_SETTINGS`) left out; {} for a checkpoint without settings.
    ``data`` (the training images' identity) is compared only when the checkpoint records it (one
    written before it was recorded would read as changed from None), by
    :func:`~ldcsr_core.training.data.same_images` (one image read "1 images" before)."""
    from .data import same_images

    if not before:
        return {}

    def same(k):
        return same_images(before.get(k), now.get(k)) if k == "data" else before.get(k) == now.get(k)
    return {k: (before.get(k), now.get(k)) for k in sorted(set(before) | set(now))
            if k not in SPEED_SETTINGS and not same(k) and (k in before or k != "data")}

