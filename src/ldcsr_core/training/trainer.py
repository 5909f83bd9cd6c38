"""One training run of an LDCSR model on any folder (or packed archive) of images, on CPU or GPU.

The phases and their losses are in :mod:`.phases`; this module runs them: data loading (crops made
ahead by worker processes into pinned memory), bf16 autocast on fp32 master weights, optional
``torch.compile``, validation, the JSON-lines log, checkpoints, and the budgets — per phase
(minutes or steps; a phase ends with a checkpoint) and per process (``stop_after_s`` /
``stop_after_steps``: checkpoint and return, a later run resumes). Checkpoint, resume and stop
are methods of :class:`~.resumable.ResumableMixin` (:mod:`.resumable`).

A resume restores the model, EMA, optimisers, discriminator, every random state and the phase's
step; the batch of a step depends on (seed, phase, step) alone (:meth:`MultiScaleCrops.batch_at`),
so on CPU a run stopped and resumed ends with the same weights, bit for bit, as one that was not
(tested).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import build_model, check_model_texts, load_model
from ..devices import resolve_device
from ..private_draws import drawing_from, seeded_generator
from ..config import compact_config
from .checkpoint import TrainState, read_checkpoint
from .data import (MultiScaleCrops, StepBatches, also_trained, check_source, images_identity, load_named_images, not_read,
                   source_path, to_tensor)
from .ema import EMA
from ..words import signed
from .errors import TrainingError
from .evaluate import trained_folders
from .growth import add_detail_decoder, grow_model
from .losses import PatchDiscriminator
from .phases import PHASES, PhaseMixin, lr_at, scaled_lr
from .resumable import (  # noqa: F401 - SPEED_SETTINGS re-exported
    SPEED_SETTINGS, ResumableMixin, budgeted_phases, changed_settings, check_output_folders, phase_copy, plain_settings,
    refused_write,
)
from .runlog import JsonlLog
from ..rules import check_flag, check_training_seed
from ..threads import fixed_count
from .validation import validate, validation_set
from ..words import counted, noun

__all__ = ["Trainer", "train", "AMP_MODES", "changed_settings", "nothing_to_train"]

log = logging.getLogger("ldcsr_core.training")

AMP_MODES = ("auto", "bf16", "off")


def nothing_to_train(minutes, steps=None, init=None, resume=None) -> str:
    """Why a run would train nothing and write a model of random weights, or "": every phase's
    budget (``steps`` when given, else ``minutes``) is 0, with neither ``init`` (then OUT is the
    --init model's weights as they are) nor ``resume`` (the checkpoint's weights)."""
    budgets, option = (steps, "--steps") if steps else (minutes, "--minutes")
    if init or resume or any(float(b) > 0 for b in budgets):
        return ""
    given = " ".join(f"{float(b):g}" for b in budgets)
    return (f"nothing to train: every phase has a budget of 0 ({option} {given}) and there is no --init, so OUT "
            "would be a model of random weights; give a phase steps or minutes")


class Trainer(PhaseMixin, ResumableMixin):
    """One training run: the model, data, optimisers, EMA and the resumable ``TrainState``. Its log,
    when a pipe, is kept open until :meth:`close` (``with Trainer(...) as t:`` closes it on leaving,
    raised or not; :func:`train` does so)."""

    def __init__(self, data_dir, out, *, val_dir=None, config=None, init=None, minutes=(50.0, 10.0, 15.0),
                 batch_size=8, lr_size=32, scale_range=(1.2, 8.0), base_lr=1e-3, seed=0, device="auto",
                 log_every=10, val_every_s=900.0, checkpoint_every_s=600.0, name="ldcsr-custom", version="0",
                 adv_weight=0.0, fft_weight=0.0, pix_weight=0.0, lat_weight=1.0, hf_weight=0.0, lrc_weight=0.0,
                 es_weight=0.0, spread_weight=0.0, spread_ratio=0.3, train_decoder_in_diffusion=False,
                 train_decoder_in_prior=False, train_detail_decoder=False, val_limit=35, checkpoint=None,
                 grow_sr_modules=None, steps=None, amp="auto", workers=None, pin_memory=None,
                 lr_scaling="none", lr_ref_batch=8, warmup=50, compile=False, compile_backend="inductor",
                 val_every_steps=None, stop_after_s=None, stop_after_steps=None, log_path=None):
        # checked now, not when the model is saved at the end of training ('no' was true)
        check_model_texts(name, version)
        seed = check_training_seed(seed)  # (2**64: torch's 'Overflow when unpacking long long' after the data's read)
        train_decoder_in_diffusion, train_decoder_in_prior, train_detail_decoder, compile = (
            check_flag(v, k) for k, v in (("train_decoder_in_diffusion", train_decoder_in_diffusion),
                                          ("train_decoder_in_prior", train_decoder_in_prior),
                                          ("train_detail_decoder", train_detail_decoder), ("compile", compile)))
        pin_memory = check_flag(pin_memory, "pin_memory", optional=True)
        if train_decoder_in_diffusion and train_detail_decoder:
            raise TrainingError("train either the shared decoder or the detail decoder in the diffusion phase, not both")
        if amp not in AMP_MODES:
            raise TrainingError(f"amp must be one of {AMP_MODES}, not {amp!r}")
        inputs = {"--init": init if init and os.path.isfile(init) else None, "DATA": data_dir, "--val": val_dir}
        option, why = refused_write(out, checkpoint, log_path, inputs,  # the CLI said it already (usage error)
                                    phases=budgeted_phases(minutes, steps))
        if why:
            raise TrainingError(f"{option}: {why}")
        check_output_folders(out, checkpoint, log_path)  # not after the model and the data are loaded
        for source, split in ((data_dir, "train"), (val_dir, "val")):  # nor a --val that cannot be read after DATA
            if source and (skipped := check_source(source, split)):
                log.warning("%s: %s", "DATA" if split == "train" else "--val", not_read(skipped))
        self.dev = resolve_device(device)
        cuda = self.dev.type == "cuda"
        if cuda:  # fp32 work outside autocast may use TF32 tensor cores
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.amp = ("bf16" if cuda else "off") if amp == "auto" else amp
        self.workers = (min(8, max(0, (os.cpu_count() or 1) - 2)) if cuda else 0) if workers is None else int(workers)
        self.pin_memory = cuda if pin_memory is None else bool(pin_memory)
        self.gen = torch.Generator(self.dev).manual_seed(seed)
        self.trained_on = []  # folders of images the weights have seen: --init's (its notes), then DATA
        self.has_init = bool(init)
        if init:
            model = load_model(init, device=self.dev, with_encoder=True).requires_grad_(True)
            self.trained_on = trained_folders(model)
            if getattr(model.first_stage_model, "encoder", None) is None:
                raise TrainingError(f"{init} has no stage-1 encoder; cannot fine-tune the prior from it")
            if grow_sr_modules:
                levels = len(model.config.decoder.num_sr_modules)
                config = replace(model.config, decoder=replace(model.config.decoder,
                                                               num_sr_modules=(int(grow_sr_modules),) * levels))
            if config is not None and config != model.config:
                model = grow_model(model, config, seed=seed)
        else:
            model = build_model(config or compact_config(with_encoder=True), seed=seed, device=self.dev)
            with torch.no_grad():  # a residual that starts at zero: the output begins as the bicubic skip
                last = model.first_stage_model.decoder.upsampler.fuse[8]
                last.weight.mul_(0.1)
                last.bias.zero_()
        if train_detail_decoder and model.config.detail_decoder is None:
            model = add_detail_decoder(model)
        self.model = model.train()
        self.out = Path(out)
        self.ckpt_path = Path(checkpoint) if checkpoint else self.out.with_suffix(".ckpt")
        self.data_dir = source_path(data_dir)  # the notes' "data": it names the folder from anywhere
        if any(float(b) > 0 for b in (steps or minutes)):  # a run of no steps (--init's copy) learns nothing of it
            self.trained_on.append(self.data_dir)
        names, images = zip(*load_named_images(data_dir))
        self.data = MultiScaleCrops(images, lr_size=lr_size, scale_range=scale_range, seed=seed, names=names)
        val = validation_set(val_dir, val_limit)
        self.val_images, self.val_in_train = [a for _, a in val], also_trained(self.data.images, val)
        self.minutes = dict(zip(PHASES, minutes))
        # a step budget (when given) replaces the wall clock: pausing the process or sharing the
        # CPU then changes how long a run takes, not what it computes
        self.steps = dict(zip(PHASES, (int(v) for v in steps))) if steps else None
        self.batch_size = batch_size
        self.base_lr = scaled_lr(base_lr, batch_size, lr_scaling, lr_ref_batch)
        self.warmup = int(warmup)
        self.log_every, self.val_every_s, self.checkpoint_every_s = log_every, val_every_s, checkpoint_every_s
        self.val_every_steps = val_every_steps
        self.stop_after_s, self.stop_after_steps = stop_after_s, stop_after_steps
        self.name, self.version = name, version
        self.adv_weight, self.fft_weight, self.pix_weight = adv_weight, fft_weight, pix_weight
        self.lat_weight, self.hf_weight, self.lrc_weight = lat_weight, hf_weight, lrc_weight
        self.es_weight, self.spread_weight, self.spread_ratio = es_weight, spread_weight, spread_ratio
        self.train_decoder_in_diffusion = train_decoder_in_diffusion
        self.train_decoder_in_prior = train_decoder_in_prior
        self.train_detail_decoder = train_detail_decoder
        self.state = TrainState()
        self.disc = None
        if adv_weight > 0:  # initialised from the run's seed (a private generator: torch's global one left alone)
            with drawing_from(seeded_generator(seed + 1)):
                self.disc = PatchDiscriminator()
            self.disc = self.disc.to(self.dev)
        self.ema: EMA | None = None
        self.opt: torch.optim.Optimizer | None = None
        self.opt_d: torch.optim.Optimizer | None = None
        self.runlog = JsonlLog(log_path)
        self.stopped = False  # the last run() ended on its process budget, not at the end of training
        self.last_checkpoint = None  # (path, phase, step, total_steps) of the last checkpoint written or resumed
        self._run_t0, self._run_steps = time.time(), 0
        self._pending = []  # (loss, parts) tensors of steps not yet logged: no device sync per step
        self.compiled = bool(compile)
        if compile:
            self._compile(compile_backend)
        self.settings = plain_settings({"init": str(init) if init else None, "minutes": list(minutes), "steps": list(steps) if steps else None,
                         "batch_size": batch_size,
                         "lr_size": lr_size, "scale_range": list(scale_range), "base_lr": base_lr, "seed": seed,
                         "lr_scaling": lr_scaling, "lr_ref_batch": lr_ref_batch, "effective_base_lr": self.base_lr,
                         "warmup": self.warmup, "amp": self.amp, "compile": self.compiled,
                         "adv_weight": adv_weight, "fft_weight": fft_weight, "pix_weight": pix_weight, "lat_weight": lat_weight,
                         "hf_weight": hf_weight, "lrc_weight": lrc_weight, "es_weight": es_weight,
                         "spread_weight": spread_weight, "spread_ratio": spread_ratio,
                         "train_decoder_in_diffusion": train_decoder_in_diffusion,
                         "train_decoder_in_prior": train_decoder_in_prior,
                         "train_detail_decoder": train_detail_decoder,
                         "grow_sr_modules": grow_sr_modules,
                         "data": images_identity(self.data.images)})  # a resume on other images says so

    def close(self):
        """Close what the run keeps open (a log that is a pipe: its reader then sees the end)."""
        self.runlog.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _compile(self, backend):
        """``torch.compile`` the networks that take tensors alone (condition encoder, stage-1 encoder,
        UNet), in place: their state-dict keys, hence checkpoints, do not change. Shapes change with
        the scale of each batch; dims become dynamic after the first recompilation."""
        m = self.model
        for mod in (m.cond_stage_model, getattr(self._fs, "encoder", None), m.model):
            if mod is not None:
                mod.compile(backend=backend)

    # -- bookkeeping -------------------------------------------------------------------------------
    def _make_optimizers(self, phase):
        # small early gradients: keep Adam's steps (eps 1e-10); on CUDA one fused kernel per step
        self.opt = torch.optim.Adam(self._params(phase), eps=1e-10, fused=self.dev.type == "cuda" or None)
        for g in self.opt.param_groups:
            g["base_lr"] = g["lr"]
        if phase == "diffusion":
            self.ema = EMA(self._ema_modules())
            if self.disc is not None:
                self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=2e-4, betas=(0.5, 0.999),
                                              fused=self.dev.type == "cuda" or None)

    def _autocast(self):
        return torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.amp == "bf16")

    def _flush_losses(self):
        """Turn the pending per-step loss tensors into numbers (one device sync); returns the
        logged window's mean loss and mean parts."""
        if not self._pending:
            return None, {}
        losses = torch.stack([l.float() for l, _ in self._pending]).cpu().tolist()
        parts = {}
        for _, p in self._pending:
            for k, v in p.items():
                parts.setdefault(k, []).append(v.float())
        parts = {k: float(torch.stack(v).mean()) for k, v in parts.items()}
        self._pending = []
        self.state.recent_losses = (self.state.recent_losses + losses)[-50:]
        return float(np.mean(losses)), parts

    def run_validation(self, phase):
        if not self.val_images:
            return
        entry = {"phase": phase, "step": self.state.phase_step}
        if phase != "diffusion":
            entry["fast"] = validate(self.model, self.val_images, mode="fast")
        else:
            if self.ema is not None:
                self.ema.swap()
            try:
                entry["fast"] = validate(self.model, self.val_images, mode="fast")
                entry["diffusion"] = validate(self.model, self.val_images, mode="diffusion")
            finally:
                if self.ema is not None:
                    self.ema.swap()
        entry = {k: ({str(s): v for s, v in d.items()} if isinstance(d, dict) else d) for k, d in entry.items()}
        self.state.history["val"].append(entry)
        self.runlog.write("val", total_steps=self.state.total_steps, **entry)
        for mode in ("fast", "diffusion"):
            if mode in entry:
                log.info("VAL %s step %d %s: %s", phase, entry["step"], mode,
                         "  ".join(f"x{s}: gain {signed(v['gain_db'], 3)} dB HF {v['hf_ratio']:.3f} "
                                   f"(bic {v['bicubic_hf_ratio']:.3f})" for s, v in entry[mode].items()))

    # -- phases --------------------------------------------------------------------------------------
    def trains(self, phase) -> bool:
        """Whether ``phase`` is still to train (not done, a budget above 0; the prior phase needs the
        stage-1 encoder): else :meth:`run_phase` skips it."""
        budget = float(self.steps[phase]) if self.steps else self.minutes[phase] * 60
        return (phase not in self.state.done and budget > 0
                and not (phase == "prior" and getattr(self._fs, "encoder", None) is None))

    def run_phase(self, phase):
        """Run (or continue) ``phase``; returns False when the process budget stopped it."""
        s = self.state
        budget = self.minutes[phase] * 60
        n_steps = self.steps[phase] if self.steps else None
        if n_steps is not None:
            budget = float(n_steps)
        if phase in s.done:
            return True
        if not self.trains(phase):
            s.done.append(phase)  # skipped: the weights keep what init/resume gave them
            # an --init model's scale was calibrated by its own run; random weights' never was
            s.calibrated = s.calibrated or (phase == "fast" and self.has_init)
            return True
        if phase != "fast" and not s.calibrated:  # fast phase skipped without --init: calibrate first
            self.calibrate_scale()
        if s.phase != phase:  # a fresh phase
            s.phase, s.phase_step, s.phase_elapsed, s.recent_losses = phase, 0, 0.0, []
            self._set_trainable(phase)
            self._make_optimizers(phase)
        loss_fn = {"fast": self.loss_fast, "prior": self.loss_prior, "diffusion": self.loss_diffusion}[phase]
        params = [p for g in self.opt.param_groups for p in g["params"]]
        t_start = time.time() - s.phase_elapsed
        last_ckpt = last_val = last_log = time.time()
        last_log_step = s.phase_step

        def progress():  # fraction of the phase's budget spent
            return s.phase_step / n_steps if n_steps is not None else (time.time() - t_start) / budget

        batches = StepBatches(self.data, phase, self.batch_size, start=s.phase_step, stop=n_steps,
                              workers=self.workers, pin_memory=self.pin_memory)
        it = iter(batches)
        try:
            while progress() < 1.0:
                if self._out_of_run_budget():
                    self._stop()
                    return False
                self._stop_if_asked()
                frac = progress()
                for g in self.opt.param_groups:
                    g["lr"] = lr_at(s.phase_step, frac, g["base_lr"], self.warmup)
                try:
                    lr_u8, hr_u8 = next(it)
                except Exception:  # e.g. a loader worker ended by the same Ctrl-C: the step never began
                    self._stop_if_asked()
                    raise
                with self._autocast():
                    loss, parts = loss_fn(to_tensor(lr_u8, self.dev), to_tensor(hr_u8, self.dev))
                self.opt.zero_grad(set_to_none=True)
                loss.float().backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                self.opt.step()
                if self.ema is not None and phase == "diffusion":
                    self.ema.update()
                self._pending.append((loss.detach(), parts))
                s.phase_step += 1
                s.total_steps += 1
                self._run_steps += 1
                s.phase_elapsed = time.time() - t_start
                if s.phase_step % self.log_every == 0:
                    mean, extra = self._flush_losses()
                    now = time.time()
                    ips = (s.phase_step - last_log_step) * self.batch_size / max(now - last_log, 1e-9)
                    last_log, last_log_step = now, s.phase_step
                    log.info("%s step %d loss %.5f %s lr %.2e (%.0f s, %.1f img/s)", phase, s.phase_step, mean,
                             " ".join(f"{k} {v:.4f}" for k, v in extra.items()), self.opt.param_groups[0]["lr"],
                             s.phase_elapsed, ips)
                    rec = dict(phase=phase, step=s.phase_step, total_steps=s.total_steps, loss=mean, parts=extra,
                               lr=self.opt.param_groups[0]["lr"], elapsed_s=round(s.phase_elapsed, 2),
                               img_per_s=round(ips, 2))
                    if self.dev.type == "cuda":
                        rec["max_mem_gib"] = round(torch.cuda.max_memory_allocated(self.dev) / 2 ** 30, 3)
                    self.runlog.write("step", **rec)
                self._stop_if_asked()
                if self.val_images and (
                        (self.val_every_steps and s.phase_step % self.val_every_steps == 0)
                        or (not self.val_every_steps and time.time() - last_val > self.val_every_s)):
                    self.run_validation(phase)
                    last_val = time.time()
                if time.time() - last_ckpt > self.checkpoint_every_s:
                    self.checkpoint()
                    last_ckpt = time.time()
        finally:
            batches.close()
        self._flush_losses()
        s.history["phases"][phase] = {"steps": s.phase_step, "minutes": round(s.phase_elapsed / 60, 1),
                                      "final_loss": float(np.mean(s.recent_losses)) if s.recent_losses else None}
        s.done.append(phase)
        s.phase = None
        if phase == "fast" and not s.calibrated:
            self.calibrate_scale()
        last = (s.history["val"] or [{}])[-1]
        if (last.get("phase"), last.get("step")) != (phase, s.phase_step):  # not twice at one step
            self.run_validation(phase)  # (--val-every-steps validated the last one: the same weights)
        self.runlog.write("phase_end", phase=phase, **s.history["phases"][phase])
        self.checkpoint()
        self.save_weights(phase_copy(self.out, phase))
        return True

    def run(self):
        """Run what is left of the phases, or until the process budget is spent (``self.stopped``); on a fixed thread
        count if one is set (``LDCSR_THREADS``, ``threads.set_threads``: ``threads.fixed_count``, as :func:`train`),
        the caller's restored after."""
        with fixed_count():
            return self._run_phases()

    def _run_phases(self):
        self._run_t0, self._run_steps, self.stopped = time.time(), 0, False
        if self.state.phase is None and all(p in self.state.done for p in PHASES):
            # a finished run resumed: its weights were written at its end (EMA-averaged); writing
            # them again from the checkpoint's raw training weights would replace them
            log.info("the run of this checkpoint is complete (%s): nothing left to do; %s left as it is",
                     ", ".join(self.state.done), self.out)
            return self.model, self.state.history
        self.check_save_room()  # a full disk is said now, not at the first checkpoint
        self.state.runs += 1
        log.info("data: %s, %s; device %s, %s, amp %s, %s; settings %s",
                 counted(len(self.data.images), "training image"), counted(len(self.val_images), "validation image"),
                 self.dev, counted(torch.get_num_threads(), "thread"), self.amp,
                 counted(self.workers, "loader worker"), self.settings)
        if self.val_in_train:  # said, logged and kept in the model's notes (ldcsr models)
            both = self.val_in_train
            log.warning("%d of the %s %s training %s too (%s): the validation figures are "
                        "not on held-out images; give a training folder without them (e.g. DATA/train, not the "
                        "folder that holds --val)", len(both), counted(len(self.val_images), "validation image"),
                        noun(len(both), "is", "are"), noun(len(both), "image"),
                        ", ".join(both[:3]) + (f" and {len(both) - 3} more" if len(both) > 3 else ""))
        small = self.data.small_note()
        if small:  # said once a command; the crops come only from the images they fit
            log.warning("%s", small)
        self.state.history["val_in_train"] = len(self.val_in_train)
        trained = self.state.history.get("trained_on", [])  # a resume on other images adds theirs (evaluate says so)
        self.state.history["trained_on"] = list(dict.fromkeys([*trained, *self.trained_on]))
        self.runlog.write("start", device=str(self.dev), amp=self.amp, workers=self.workers, run=self.state.runs,
                          train_images=len(self.data.images), val_images=len(self.val_images),
                          val_in_train=len(self.val_in_train),
                          done=self.state.done, phase=self.state.phase, step=self.state.phase_step,
                          settings=self.settings)
        try:
            with self._stop_at_step_end():
                for phase in PHASES:
                    self._stop_if_asked()
                    if not self.run_phase(phase):
                        return self.model, self.state.history
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM: say where the run can be continued from
            raise KeyboardInterrupt(self._interrupted_note()) from None
        self.save_weights()
        self.runlog.write("end", total_steps=self.state.total_steps, history=self.state.history["phases"])
        return self.model, self.state.history


def train(data_dir, out, *, val_dir=None, config=None, init: str | None = None,
          minutes=(50.0, 10.0, 15.0), batch_size=8, lr_size=32, scale_range=(1.2, 8.0), base_lr=1e-3,
          seed=0, device="auto", threads=None, log_every=10, val_every_s=900.0, name="ldcsr-custom",
          version="0", resume=None, **kw):
    """Train (or fine-tune, with ``init``; or continue, with ``resume``) an LDCSR model; writes our
    safetensors format to ``out``. Returns (model, history). A bad ``LDCSR_THREADS`` is a
    :class:`~ldcsr_core.errors.SettingError` before any work, as for every command; every phase's
    budget 0 without ``init`` or ``resume`` a :class:`TrainingError` (:func:`nothing_to_train`). It runs on
    ``threads`` torch threads, else on a fixed count (``LDCSR_THREADS``, ``threads.set_threads``) if set
    (``threads.fixed_threads``, ``threads.fixed_count``: for the run only, the caller's count given back)."""
    from ..threads import fixed_threads, policy

    policy()  # reads (and so checks) LDCSR_THREADS unless a count is set (ldcsr --threads)
    refused = nothing_to_train(minutes, kw.get("steps"), init, resume)
    if refused:
        raise TrainingError(refused)
    # its own count (ldcsr train --threads), else a fixed one (LDCSR_THREADS, set_threads), for the run, as tiles run
    with fixed_threads(threads or None), fixed_count():
        if resume:  # a checkpoint that is not there, cannot be read, is cut short or is not this trainer's:
            read_checkpoint(resume, lazily=True)  # before the model and the data (its tensors mapped, not read)
        with Trainer(data_dir, out, val_dir=val_dir, config=config, init=init, minutes=minutes,
                     batch_size=batch_size, lr_size=lr_size, scale_range=scale_range, base_lr=base_lr, seed=seed,
                     device=device, log_every=log_every, val_every_s=val_every_s, name=name, version=version,
                     **kw) as t:  # a log that is a pipe is closed at the end, raised or not
            if resume:
                t.resume(resume)
            return t.run()
