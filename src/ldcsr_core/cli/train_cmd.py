"""``ldcsr train`` and ``ldcsr evaluate``: thin click wrappers over :mod:`ldcsr_core.training`."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

import click

from ..rules import MAX_SCALE
from . import options as opt

__all__ = ["train_command", "evaluate_command"]


def _read_config(path: Path):
    """--config: the model configuration its JSON file says, checked as a model file's is
    (``ModelConfig.validate``); a file that is none is a bad --config value naming the file."""
    from ..config import ModelConfig
    from ..errors import ConfigError
    from ..files import check_readable

    check_readable(path)  # exit 5, as any input this user may not read
    try:
        return ModelConfig.from_json(path.read_text()).validate()
    except ConfigError as e:
        raise click.BadParameter(f"{path}: {e}", param_hint="'--config'") from None
    except ValueError as e:  # not JSON (json's JSONDecodeError), not text (UnicodeDecodeError)
        raise click.BadParameter(f"{path} is not a JSON file ({e})", param_hint="'--config'") from None


def _check_train_paths(out: Path, checkpoint: Path | None, resume: Path | None,
                       inputs: dict[str, Path | None] | None = None, log_path: Path | None = None,
                       overwrite: bool = False, phases=None) -> None:
    """Before any work: OUT is a .safetensors in an existing folder, no file the run writes is in
    the built-in models' folder (the installed package; --overwrite or not), the files it writes
    are different files (the checkpoint not OUT, the log neither), a fresh run never replaces an earlier run's checkpoint (only --resume continues
    it) nor, without ``overwrite``, an earlier model at OUT or its per-phase copies, and no file
    the run writes (OUT, its per-phase copies, the checkpoint, the log) is one of its ``inputs``
    (option -> path: --init, --config, ...; --resume only as the checkpoint it continues). The
    per-phase copies are those of ``phases`` (default all three): a phase not trained writes none."""
    from ..errors import OutputExistsError
    from ..training.phases import PHASES
    from ..training.resumable import phase_copy, refused_write

    if resume is not None:  # neither it nor its parts (RUN.ckpt.part000...): as an input not found
        from ..training.checkpoint import check_resume_file
        from ..training.errors import ResumeError

        try:
            check_resume_file(resume)  # one this user may not read: exit 5, before any work
        except ResumeError as e:
            raise click.BadParameter(str(e), param_hint="'--resume'") from None
    if out.suffix.lower() != ".safetensors":
        raise click.BadParameter(f"OUT must be named .safetensors, got {out.name}", param_hint="'--out'")
    phases = PHASES if phases is None else phases
    option, why = refused_write(out, checkpoint, log_path, inputs, resume, phases)
    if why:
        raise click.BadParameter(why, param_hint=f"'{option}'")
    written = [out, *(phase_copy(out, p) for p in phases)]

    ckpt = checkpoint or out.with_suffix(".ckpt")
    for path, hint in ((out, "'--out'"), (ckpt, "'--checkpoint'")):
        if not path.parent.is_dir():
            raise click.BadParameter(f"folder does not exist: {path.parent}", param_hint=hint)
    if resume is None and (ckpt.exists() or Path(f"{ckpt}.part000").exists()):
        raise OutputExistsError(f"an earlier run's checkpoint is there: {ckpt}; continue it with --resume "
                                f"{ckpt}, or move it away (or give another --checkpoint) to start afresh")
    earlier = [p for p in written if p.exists()]
    if resume is None and earlier and not overwrite:
        raise OutputExistsError(f"a model is already there: {earlier[0]}; a fresh run would replace it when it "
                                "ends: give another --out, move it away, or add --overwrite")


@click.command("train")
@click.argument("data", type=opt.ImagesType())
@click.option("--val", "val_dir", default=None, type=opt.ImagesType(), metavar="DIR|ARCHIVE.npz",
              help="Folder of validation images, or a packed archive (ARCHIVE.npz#val); a fixed subset "
                   "of at most --val-limit images is validated every --val-every minutes (or steps).")
@click.option("--out", required=True, type=opt.OutputFileType("the model"),
              help="Output .safetensors (rewritten at every checkpoint).")
@click.option("--init", type=opt.WeightsFileType(),
              help="Start from these weights (fine-tuning): an ldcsr .safetensors or the name of a "
                   "built-in model (`ldcsr models`), e.g. ldcsr-compact-rsscn7, the shipped default.")
@click.option("--resume", type=click.Path(dir_okay=False, readable=False, path_type=Path),
              help="Continue a run from its checkpoint (.ckpt), or from its parts (RUN.ckpt.part000...).")
@click.option("--checkpoint", type=opt.OutputFileType("the checkpoint"),
              help="Checkpoint path (default: OUT with suffix .ckpt).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, readable=False, path_type=Path),
              help="Model configuration, a JSON file of the sections decoder, cond_encoder, unet and "
                   "diffusion, as ModelConfig.to_json writes it (default: the compact config).")
@click.option("--grow-sr-modules", type=click.IntRange(min=1), default=None,
              help="With --init: give every decoder FRU this many IMD modules; the new ones start "
                   "switched off, so training starts from the --init model's outputs.")
@click.option("--minutes", type=click.FloatRange(min=0.0), nargs=3, default=(50.0, 10.0, 15.0), show_default=True,
              metavar="FAST PRIOR DIFF", help="Wall-clock budget of each phase.")
@click.option("--steps", type=click.IntRange(min=0), nargs=3, default=None, metavar="FAST PRIOR DIFF",
              help="Steps of each phase; replaces --minutes (runs then compute the same whether the "
                   "machine is busy or the process is paused).")
@click.option("--batch-size", "--batch", "batch_size", type=click.IntRange(min=2), default=8, show_default=True,
              help="Images per step (at least 2: the model's batch statistics need two).")
@click.option("--lr-size", type=click.IntRange(min=8), default=32, show_default=True,
              help="Side of the LR training patches.")
@click.option("--scale-range", type=opt.ScaleType(), nargs=2, default=(1.2, 8.0),
              show_default=True, help=f"Lowest and highest training scale, each in (1, {MAX_SCALE:g}].")
@click.option("--base-lr", type=float, default=1e-3, show_default=True,
              help="Learning rate at --lr-ref-batch (see --lr-scaling).")
@click.option("--lr-scaling", type=click.Choice(["none", "linear", "sqrt"]), default="none", show_default=True,
              help="Scale --base-lr with the batch: linear = x batch/ref, sqrt = x sqrt(batch/ref).")
@click.option("--lr-ref-batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="The batch size --base-lr was tuned for.")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=50, show_default=True,
              help="Linear LR warm-up at the start of each phase (longer for large scaled LRs).")
@click.option("--amp", type=click.Choice(["auto", "bf16", "off"]), default="auto", show_default=True,
              help="Mixed precision: bf16 autocast over fp32 master weights; auto = bf16 on CUDA, off on CPU.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Loader worker processes making the crops ahead (default: 0 on CPU, up to 8 on CUDA).")
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the condition encoder, stage-1 encoder and UNet (in place; checkpoints unchanged).")
@click.option("--stop-after", type=click.FloatRange(min=0), default=None, metavar="MINUTES",
              help="Budget of this process: checkpoint and exit after MINUTES; --resume continues.")
@click.option("--stop-after-steps", type=click.IntRange(min=0), default=None,
              help="Like --stop-after, counted in steps of this process.")
@click.option("--log", "log_path", type=opt.OutputFileType("the log"), default=None,
              help="Append the run's events (steps, validation, checkpoints) to this JSON-lines file.")
@click.option("--pix-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: L1 + gradient-L1 on the decoded chain output.")
@click.option("--fft-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: L1 on FFT amplitudes of the decoded chain output.")
@click.option("--adv-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: hinge loss of a conditional PatchGAN (0 = no discriminator).")
@click.option("--hf-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: L1 on the RMS spectral amplitude of the decoded chain output in 3 "
                   "bands above the LR Nyquist frequency (the amount of detail, not its phase).")
@click.option("--lrc-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: L1 between the decoded chain output downsampled again (antialiased "
                   "bicubic) and the LR input (LR-consistency).")
@click.option("--es-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: energy score (a proper scoring rule) of two independent chains per "
                   "image, so that samples disagree where the detail is uncertain (costs a second chain).")
@click.option("--spread-weight", type=float, default=0.0, show_default=True,
              help="Diffusion phase: two independent chains per image learn to disagree where their mean "
                   "is wrong (L1 between their local disagreement and --spread-ratio x the local error).")
@click.option("--spread-ratio", type=click.FloatRange(min=0.0, min_open=True), default=0.3, show_default=True,
              help="Target disagreement as a fraction of the error (< 1: under-dispersed samples).")
@click.option("--lat-weight", type=float, default=1.0, show_default=True,
              help="Diffusion phase: the recipe's latent loss ||x0_chain - x0||^2.")
@click.option("--train-decoder-in-prior", is_flag=True,
              help="Also train the decoder in the prior phase, on the HR latent z (its fast path on c keeps its loss).")
@click.option("--train-decoder-in-diffusion", is_flag=True,
              help="Also train the decoder in the diffusion phase (the fast path keeps its MSE loss).")
@click.option("--train-detail-decoder", is_flag=True,
              help="Diffusion phase: train a separate detail decoder for diffusion mode (a copy of the "
                   "decoder at first); the fast path keeps its decoder unchanged.")
@click.option("--val-every", type=float, default=15.0, show_default=True, help="Minutes between validations.")
@click.option("--val-every-steps", type=click.IntRange(min=1), default=None,
              help="Validate every N steps of a phase instead (the same steps in every run).")
@click.option("--val-limit", type=click.IntRange(min=1), default=35, show_default=True,
              help="Validate on every k-th validation image, at most this many (a fixed subset).")
@click.option("--checkpoint-every", type=float, default=10.0, show_default=True,
              help="Minutes between checkpoints.")
@click.option("--seed", type=opt.TrainingSeedType(), default=0, show_default=True,
              help="Random seed of the initial weights, the crops and the noise (reproducible runs).")
@opt.device_opt
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.option("--overwrite", is_flag=True,
              help="Let a fresh run replace a model already at --out (and its per-phase copies); otherwise exit 4 "
                   "before any work. A --resume run always writes its own --out.")
@click.option("--name", default="ldcsr-custom", show_default=True, help="Model name stored in the file.")
@click.option("--version", "model_version", default="0", show_default=True, help="Model version stored in the file.")
def train_command(data, val_dir, out, init, resume, checkpoint, config_path, grow_sr_modules, minutes, steps,
                  batch_size, lr_size, scale_range, base_lr, pix_weight, fft_weight, adv_weight, lat_weight, hf_weight, lrc_weight, es_weight,
                  spread_weight, spread_ratio, train_decoder_in_prior, train_decoder_in_diffusion,
                  train_detail_decoder, lr_scaling, lr_ref_batch, warmup_steps, amp, workers, compile_,
                  stop_after, stop_after_steps, log_path, val_every_steps, val_limit,
                  val_every, checkpoint_every, seed, device, threads, overwrite, name, model_version):
    """Train or fine-tune a model on the images in DATA (three phases: fast, prior, diffusion)."""
    from ..training.trainer import train

    with _progress_on_stderr():
        if grow_sr_modules and not init:
            raise click.UsageError("--grow-sr-modules needs --init (the model to grow)")
        from ..training.data import split_source

        inputs = {"--init": init, "--config": config_path, "DATA": Path(split_source(data)[0]),
                  "--val": Path(split_source(val_dir)[0]) if val_dir else None}
        from ..training.resumable import budgeted_phases

        _check_train_paths(out, checkpoint, resume, inputs, log_path, overwrite, budgeted_phases(minutes, steps))
        from ..threads import policy
        from ..training.trainer import nothing_to_train

        policy()  # a bad LDCSR_THREADS is said first, alone, as by every command
        if nothing_to_train(minutes, steps, init, resume):
            raise click.UsageError(nothing_to_train(minutes, steps, init, resume))
        if scale_range[0] > scale_range[1]:
            raise click.BadParameter(f"lowest above highest: {scale_range[0]:g} > {scale_range[1]:g}",
                                     param_hint="'--scale-range'")
        cfg = _read_config(config_path) if config_path else None
        train(data, out, val_dir=val_dir, config=cfg, init=init, minutes=tuple(minutes), batch_size=batch_size,
              lr_size=lr_size, scale_range=tuple(scale_range), base_lr=base_lr, seed=seed, device=device,
              threads=threads, name=name, version=model_version, resume=resume, checkpoint=checkpoint,
              pix_weight=pix_weight, fft_weight=fft_weight, adv_weight=adv_weight, lat_weight=lat_weight, hf_weight=hf_weight, lrc_weight=lrc_weight,
              es_weight=es_weight, spread_weight=spread_weight, spread_ratio=spread_ratio,
              train_decoder_in_diffusion=train_decoder_in_diffusion, train_detail_decoder=train_detail_decoder,
              train_decoder_in_prior=train_decoder_in_prior, val_every_s=val_every * 60,
              checkpoint_every_s=checkpoint_every * 60, grow_sr_modules=grow_sr_modules,
              steps=tuple(steps) if steps else None, lr_scaling=lr_scaling, lr_ref_batch=lr_ref_batch,
              warmup=warmup_steps, amp=amp, workers=workers, compile=compile_,
              stop_after_s=stop_after * 60 if stop_after is not None else None, stop_after_steps=stop_after_steps,
              log_path=log_path, val_every_steps=val_every_steps, val_limit=val_limit)


@contextlib.contextmanager
def _progress_on_stderr():
    """The training logger prints the run's progress on stderr while the command runs; it is put
    back as it was when the command ends (a notebook's or a test runner's later callers find it
    unchanged: before, it kept this handler and stopped propagating for the rest of the process)."""
    tlog = logging.getLogger("ldcsr_core.training")
    kept = (tlog.handlers[:], tlog.propagate, tlog.level)
    if not tlog.handlers:
        h = _StderrNow()
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        tlog.addHandler(h)
        tlog.propagate = False
    tlog.setLevel(logging.INFO)
    try:
        yield
    finally:
        tlog.handlers[:] = kept[0]
        tlog.propagate = kept[1]
        tlog.setLevel(kept[2])


class _StderrNow(logging.StreamHandler):
    """A handler writing to ``sys.stderr`` as it is at each record, not as it was when the first
    ``train`` of the process made it (a second command in one process, e.g. a test runner's or a
    notebook's redirected stderr, got nothing)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


@click.command("evaluate")
@click.argument("directory", type=opt.ImagesType(archives=False))  # a file, a broken link: the engine says it
@click.option("--scales", type=opt.ScaleListType(), default="2,2.5,3,4,6,8", show_default=True,
              help=f"Comma-separated scale factors (each > 1 and <= {MAX_SCALE:g}).")
@click.option("--model", "-m", "model_name", default=None, type=opt.ModelType(),
              help="Checkpoint (.ckpt or .safetensors) or a model's name as `ldcsr models` gives it; default: the shipped model.")
@click.option("--mode", type=click.Choice(list(opt.MODES)), default="fast", show_default=True,
              help="'fast': one deterministic decode; 'diffusion': the seeded 4-step sampler.")
@opt.seed_opt
@opt.tile_opt
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use only every k-th image so that at most N remain.")
@click.option("--json", "json_out", type=opt.ReportPathType(),
              help="Write results as JSON (atomically; a .json name, not .html).")
@opt.report_overwrite_opt
@opt.device_opt
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default=None,
              help="Float type the model computes in (default: LDCSR_DTYPE, else float32: auto's bfloat16 or "
                   "float16 move PSNR by as much as two models may differ).")
def evaluate_command(directory, scales, model_name, mode, seed, tile, limit, json_out, overwrite, device, dtype):
    """Score the model against bicubic on the HR images in DIRECTORY (PSNR, SSIM, LR-consistency, HF ratio)."""
    from ..checkpoints import check_model_file, load_model
    from ..precision import measuring_dtype
    from ..training.data import list_images
    from ..training.evaluate import evaluate, format_table, read_set, select_files

    skipped = []  # a VRT of the folder's own images: its pixels would be scored twice
    images = list_images(directory, archives=False, skipped=skipped)  # a file is exit 5, as train's DATA
    if skipped:
        from ..training.data import not_read

        click.echo(f"note: {not_read(skipped)}", err=True)
    files = select_files(images, limit)
    if json_out:  # checked before the work: not an image of the set nor the model, a folder that exists
        opt.check_report(json_out, "'--json'", overwrite=overwrite, html=False,
                         inputs=[*((f, "an image of the set") for f in images),
                                 (opt.model_file(model_name), "the model file")])
    if (path := opt.model_file(model_name)) is not None:  # a file that is no model, from its header: before the
        check_model_file(path)  # set is read (a large one takes long), as it was said before nodata36 read it first
    # the images' refusals (unreadable, nodata, too small for a scale) before the model loads (before nodata36, after)
    read = read_set(files, scales)
    model = load_model(model_name, device=device, dtype=measuring_dtype(dtype))
    result = evaluate(model, files, scales, mode=mode, seed=seed, tile=tile, images=read,  # its note and caution:
                      tell=lambda line: click.echo(line, err=True))  # said first, then the caution under the table
    click.echo(format_table(result))
    if json_out:
        from ..files import atomic_write_bytes
        from ..quality import finite_json

        atomic_write_bytes(json_out, (json.dumps(finite_json(result), indent=2, allow_nan=False) + "\n").encode(),
                           overwrite=overwrite)
