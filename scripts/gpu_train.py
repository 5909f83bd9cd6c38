#!/usr/bin/env python
"""One-command training on a lent GPU machine (see docs/training-gpu.md), in three verbs:

``pack``  — here, once: the RSSCN7 train split (and a fixed small val subset) re-encoded as JPEG
            into one ``.npz`` at an ignored path inside the checkout (``artifacts/``), no larger
            than what the device machine's 64 MiB working-tree limit leaves (tracked files count);
``run``   — there: train for ``--minutes`` (the process budget; it ends with a checkpoint), resuming
            from ``--resume`` when given, and write the weights, the JSON-lines log and the
            checkpoint (split into parts of ≤ 15 MiB; optionally a bf16 copy) into ``--out``;
``merge`` — here, afterwards: rebuild the checkpoint from its parts (``run`` also accepts the parts).

``size`` prints what would travel. Needs only torch, numpy and Pillow (no rasterio, no install:
the script puts ``src/`` on ``sys.path``).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MIB = 2 ** 20
TRAVEL_LIMIT = 64 * MIB     # the device tool's working-tree limit (tracked + untracked + carried)
PART_BYTES = 15 * MIB       # result files come back when ≤ 16 MiB
MAX_RESULT_FILES = 8
MAX_RESULT_BYTES = 64 * MIB  # ... at most 8 of them, 64 MiB together
CKPT_NAME = "run.ckpt"
WEIGHTS_NAME = "ldcsr-gpu.safetensors"
LOG_NAME = "train.jsonl"
ENTRY_OVERHEAD = 400        # bytes per archived image beyond its JPEG: zip headers, .npy header, its name


def _checkout_files() -> set:
    """The checkout's files that travel whatever is carried: tracked and untracked-not-ignored."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return {ROOT / p for p in out.decode().split("\0") if p and (ROOT / p).is_file()}


def travel_bytes(extra=()) -> int:
    """Bytes that travel to the device machine: tracked and untracked-not-ignored files of the
    checkout, plus the ``extra`` (carried) paths."""
    total = sum(p.stat().st_size for p in _checkout_files())
    for e in extra:
        e = Path(e)
        total += sum(f.stat().st_size for f in ([e] if e.is_file() else e.rglob("*")) if f.is_file())
    return total


def beside_bytes(archive) -> int:
    """Bytes of the other files in the archive's folder that travel only when carried: the documented
    ``carry=["artifacts"]`` takes them along with the archive (``artifacts/wheels``, the pytest
    wheels of scripts/gpu_check.py; a previous run's results to resume from)."""
    archive, travels = Path(archive).resolve(), _checkout_files()
    return sum(f.stat().st_size for f in archive.parent.rglob("*")
               if f.is_file() and f.resolve() != archive and f.resolve() not in travels)


def _encode(img, quality, crop):
    import numpy as np
    from PIL import Image
    if crop:
        H, W = img.shape[:2]
        c = min(crop, H, W)
        img = img[(H - c) // 2:(H - c) // 2 + c, (W - c) // 2:(W - c) // 2 + c]
    b = io.BytesIO()
    Image.fromarray(img).save(b, "JPEG", quality=quality, subsampling=0)
    return np.frombuffer(b.getvalue(), dtype=np.uint8)


def _round_robin(files):
    """Files in an order that takes one image of each class (parent folder) in turn, so that any
    prefix is spread over the classes."""
    by_class = {}
    for f in files:
        by_class.setdefault(Path(f).parent.name, []).append(f)
    lists = [by_class[k] for k in sorted(by_class)]
    out = []
    for i in range(max(map(len, lists), default=0)):  # a source without val/ has none there
        out += [lst[i] for lst in lists if i < len(lst)]
    return out


def pack(src, out, *, quality=90, crop=None, max_mb=None, reserve_mb=0.0, val_count=14, log=print):
    """Write the archive; returns a summary dict. ``max_mb`` None: what the travel limit leaves
    after the checkout, the other files of the archive's folder (carried with it: :func:`beside_bytes`)
    and ``reserve_mb`` (e.g. for a checkpoint to resume from)."""
    import numpy as np
    from ldcsr_core.training.data import list_images, load_rgb
    src, out = Path(src), Path(out)
    if out.suffix != ".npz":  # np.savez would add it: name the file it writes
        out = Path(f"{out}.npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    if max_mb is None:  # what the checkout and the rest of the carried folder leave
        free = (TRAVEL_LIMIT - travel_bytes() - beside_bytes(out)
                - (out.stat().st_size if out.exists() and _travels(out) else 0))
        max_mb = free / MIB - reserve_mb - 1.0  # 1 MiB for code written later and the zip overhead
    budget = int(max_mb * MIB)
    if budget <= 0:
        raise SystemExit(f"no room for an archive: the checkout leaves {max_mb + reserve_mb + 1:.1f} MiB")
    val_files = list_images(src / "val") if (src / "val").is_dir() else []
    val_files = _round_robin(val_files)[:val_count]
    arrays, used = {}, 0
    for i, f in enumerate(val_files):
        arrays[f"val/{i}"] = _encode(load_rgb(f), quality, None)  # full frames, as validate() crops them
        used += arrays[f"val/{i}"].nbytes + ENTRY_OVERHEAD
    train_files = _round_robin(list_images(src / "train" if (src / "train").is_dir() else src))
    n = 0
    for f in train_files:
        a = _encode(load_rgb(f), quality, crop)
        if used + a.nbytes + ENTRY_OVERHEAD > budget:
            break
        arrays[f"train/{n}"] = a
        used += a.nbytes + ENTRY_OVERHEAD
        n += 1
    if n == 0:
        raise SystemExit(f"not one training image fits in {max_mb:.1f} MiB")
    names = [str(Path(f).relative_to(src)) for f in (val_files + train_files[:n])]
    arrays["names"] = np.frombuffer(json.dumps(names).encode(), dtype=np.uint8)
    np.savez(out, **arrays)  # JPEG bytes do not compress further: stored, not deflated
    summary = {"archive": str(out), "bytes": out.stat().st_size, "train_images": n,
               "train_available": len(train_files), "val_images": len(val_files), "quality": quality,
               "crop": crop, "budget_mib": round(max_mb, 2)}
    log(json.dumps(summary))
    return summary


def _copy(src, dst) -> Path:
    """``src`` copied to ``dst`` atomically (the engine's writer, files.atomic_write_bytes): a run
    killed at the device's time limit leaves the file whole or absent (a hidden ``.NAME.*.ldcsr-part``
    at most), never a file cut short under its name."""
    from ldcsr_core.files import atomic_write_bytes

    return atomic_write_bytes(dst, Path(src).read_bytes())


def _write_json(path, obj):
    from ldcsr_core.files import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(obj, indent=1).encode())


def _travels(path):
    r = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT)
    return r.returncode != 0


def resolve_resume(resume, work: Path) -> Path | None:
    """A checkpoint file, or a folder with ``run.ckpt`` or its parts (a previous ``--out``)."""
    if not resume:
        return None
    from ldcsr_core.training.checkpoint import PART_SUFFIX, merge_parts
    r = Path(resume)
    if r.is_dir():
        for name in (CKPT_NAME, "run-bf16.ckpt"):
            if (r / name).is_file():
                return r / name
            if (r / (name + PART_SUFFIX + "000")).is_file():
                if (r / f"{name}.parts.json").exists():
                    _copy(r / f"{name}.parts.json", work / f"{name}.parts.json")
                for p in sorted(r.glob(name + PART_SUFFIX + "[0-9][0-9][0-9]")):
                    _copy(p, work / p.name)
                return merge_parts(work / name)
        raise SystemExit(f"no {CKPT_NAME} (or its parts) in {r}")
    if not r.exists() and Path(str(r) + PART_SUFFIX + "000").exists():
        return merge_parts(r, work / r.name)
    return r


def run(args):
    t0 = time.time()
    import torch
    from ldcsr_core.training.checkpoint import half_precision_copy, read_checkpoint, split_file
    from ldcsr_core.training.trainer import Trainer

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ldcsr-gpu-"))
    tlog = logging.getLogger("ldcsr_core.training")
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    tlog.addHandler(h)
    tlog.setLevel(logging.INFO)
    tlog.propagate = False
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        resume = resolve_resume(args.resume, work)
        log_path = out / LOG_NAME
        if resume and args.resume and Path(args.resume).is_dir() and (Path(args.resume) / LOG_NAME).is_file():
            _copy(Path(args.resume) / LOG_NAME, log_path)  # one log for the whole training
        val = args.val or (f"{args.data}#val" if str(args.data).endswith(".npz") else None)
        extra = json.loads(args.train_kwargs) if args.train_kwargs else {}
        interrupted = None
        with Trainer(args.data, work / WEIGHTS_NAME, val_dir=val, checkpoint=work / CKPT_NAME,
                     minutes=tuple(args.phase_minutes), steps=tuple(args.steps) if args.steps else None,
                     batch_size=args.batch, lr_size=args.lr_size, scale_range=tuple(args.scale_range), base_lr=args.base_lr, lr_scaling=args.lr_scaling,
                     warmup=args.warmup_steps, seed=args.seed, device=args.device, amp=args.amp,
                     workers=args.workers, compile=args.compile, val_every_steps=args.val_every_steps,
                     val_limit=args.val_limit, checkpoint_every_s=args.checkpoint_every * 60, log_every=args.log_every,
                     log_path=log_path, name=args.name, version=args.version, **extra) as t:
            if resume:
                t.resume(resume)
            # the process budget: --minutes from the start of this script, less the time to write results
            t.stop_after_s = max(0.0, args.minutes * 60 - args.reserve_s - (time.time() - t0))
            try:
                t.run()
            except KeyboardInterrupt as e:  # SIGTERM (the device's time limit) or Ctrl-C: the Trainer checkpointed
                # at the step's end, and that checkpoint comes back in OUT (--resume OUT), not lost in work/
                interrupted = str(e).replace(str(work / CKPT_NAME), str(out))
                print(interrupted, file=sys.stderr, flush=True)
                if not ((work / CKPT_NAME).is_file() and (work / WEIGHTS_NAME).is_file()):  # none written yet
                    raise SystemExit(130) from None
            else:
                if not t.stopped:
                    t.checkpoint()  # finished: the final state (history) is resumable too
        results = write_results(t, work, out, args, read_checkpoint, split_file, half_precision_copy,
                                interrupted=interrupted)
        print(json.dumps(results), flush=True)
        if interrupted:
            raise SystemExit(130)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bytes(files) -> int:
    return sum(f.stat().st_size for f in files if f.is_file())


def write_results(t, work, out, args, read_checkpoint, split_file, half_precision_copy, interrupted=None):
    """The results into ``out``, each file written atomically (:func:`_copy`, split_file): a kill
    (the device's time limit) leaves the files finished before it whole, and summary.json, written
    last, is there only when all are."""
    from ldcsr_core.training.checkpoint import atomic_torch_save

    _copy(work / WEIGHTS_NAME, out / WEIGHTS_NAME)
    ckpt = work / CKPT_NAME
    files = [out / WEIGHTS_NAME, out / LOG_NAME]
    size = ckpt.stat().st_size
    if size <= PART_BYTES:
        files.append(_copy(ckpt, out / CKPT_NAME))
    else:
        files += split_file(ckpt, PART_BYTES, out) + [out / f"{CKPT_NAME}.parts.json"]
    half_size = None

    def too_much(files):  # more than comes back, summary.json (below 1 MiB) counted
        return len(files) + 1 > MAX_RESULT_FILES or _bytes(files) + MIB > MAX_RESULT_BYTES

    if args.half or too_much(files):
        half = work / "run-bf16.ckpt"
        atomic_torch_save(half_precision_copy(read_checkpoint(ckpt)), half)
        half_size = half.stat().st_size
        full = files[2:]
        if half_size <= PART_BYTES:
            halves = [_copy(half, out / half.name)]
        else:
            halves = split_file(half, PART_BYTES, out) + [out / f"{half.name}.parts.json"]
        if too_much(files + halves):  # the full one cannot come back: the half copy instead,
            for f in sorted(full, key=lambda f: not f.name.endswith(".parts.json")):  # once written
                f.unlink()  # (its parts.json first: parts without it read as a split cut short)
            files = files[:2]
        files += halves
    s = t.state
    summary = {"stopped_early": t.stopped or bool(interrupted), "interrupted": interrupted, "done": s.done,
               "phase": s.phase, "phase_step": s.phase_step,
               "total_steps": s.total_steps, "runs": s.runs, "checkpoint_bytes": size, "bf16_checkpoint_bytes": half_size,
               "weights_bytes": (out / WEIGHTS_NAME).stat().st_size, "files": [f.name for f in files]}
    _write_json(out / "summary.json", summary)
    if too_much(files):
        print(f"warning: {len(files) + 1} result files, {_bytes(files) / MIB:.1f} MiB; only "
              f"{MAX_RESULT_FILES} files, {MAX_RESULT_BYTES // MIB} MiB together come back", file=sys.stderr)
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pk = sub.add_parser("pack", help="pack train (and a val subset) into an archive in the checkout")
    pk.add_argument("--src", default=str(ROOT.parent / "shared" / "data" / "rsscn7"),
                    help="folder with train/ and val/ (default: ../shared/data/rsscn7)")
    pk.add_argument("--out", default=str(ROOT / "artifacts" / "rsscn7.npz"))
    pk.add_argument("--quality", type=int, default=90, help="JPEG quality (4:4:4)")
    pk.add_argument("--crop", type=int, default=None, help="keep a centre square of this side per image")
    pk.add_argument("--max-mb", type=float, default=None, help="archive budget (default: what the 64 MiB leaves)")
    pk.add_argument("--reserve-mb", type=float, default=0.0, help="leave room for a carried checkpoint")
    pk.add_argument("--val-count", type=int, default=14, help="validation images (2 per class)")
    sz = sub.add_parser("size", help="what would travel to the device machine")
    sz.add_argument("carry", nargs="*")
    r = sub.add_parser("run", help="train for --minutes, then checkpoint and write the results to --out")
    r.add_argument("--data", required=True, help="archive .npz (from pack) or a folder of images")
    r.add_argument("--val", default=None, help="validation images (default: the archive's val split)")
    r.add_argument("--out", required=True, help="results folder (on the device machine: $OUT)")
    r.add_argument("--minutes", type=float, required=True, help="budget of this process, start to results")
    r.add_argument("--reserve-s", type=float, default=40.0, help="of --minutes, kept for writing the results")
    r.add_argument("--resume", default=None, help="checkpoint, its parts, or a previous --out folder")
    r.add_argument("--device", default="auto")
    r.add_argument("--phase-minutes", type=float, nargs=3, default=(4.0, 1.0, 2.0), metavar=("FAST", "PRIOR", "DIFF"),
                   help="wall-clock budget of each phase over all runs together (default: one 8-minute run "
                        "finishes all three; raise them, e.g. 12 3 9, for training carried over several runs)")
    r.add_argument("--steps", type=int, nargs=3, default=None, metavar=("FAST", "PRIOR", "DIFF"),
                   help="steps of each phase over all runs (replaces --phase-minutes)")
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--lr-size", type=int, default=32)
    r.add_argument("--scale-range", type=float, nargs=2, default=(1.2, 8.0))
    r.add_argument("--base-lr", type=float, default=1e-3, help="LR tuned at batch 8 (the CPU runs')")
    r.add_argument("--lr-scaling", choices=("none", "linear", "sqrt"), default="sqrt")
    r.add_argument("--warmup-steps", type=int, default=200)
    r.add_argument("--amp", choices=("auto", "bf16", "off"), default="auto")
    r.add_argument("--workers", type=int, default=None)
    r.add_argument("--compile", action="store_true")
    r.add_argument("--val-every-steps", type=int, default=500)
    r.add_argument("--val-limit", type=int, default=14)
    r.add_argument("--checkpoint-every", type=float, default=1000.0, help="minutes (default: at the end only)")
    r.add_argument("--log-every", type=int, default=50)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--threads", type=int, default=None)
    r.add_argument("--half", action="store_true", help="also return a bf16 copy of the checkpoint")
    r.add_argument("--name", default="ldcsr-compact-rsscn7-gpu")
    r.add_argument("--version", default="0")
    r.add_argument("--train-kwargs", default=None,
                   help='JSON of further Trainer arguments, e.g. \'{"pix_weight": 1, "train_detail_decoder": true}\'')
    m = sub.add_parser("merge", help="rebuild a checkpoint from its parts")
    m.add_argument("path", help="the checkpoint's path without the .partNNN suffix (parts beside it)")
    m.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.cmd == "pack":
        archive = Path(pack(args.src, args.out, quality=args.quality, crop=args.crop, max_mb=args.max_mb,
                            reserve_mb=args.reserve_mb, val_count=args.val_count)["archive"])
        carried = archive.stat().st_size + beside_bytes(archive)
        print(f"travels with carry [{archive.parent.name!r}]: {(travel_bytes() + carried) / MIB:.1f} MiB of "
              f"{TRAVEL_LIMIT / MIB:.0f} (checkout {travel_bytes() / MIB:.1f} MiB + carried {carried / MIB:.1f} MiB)")
    elif args.cmd == "size":
        print(f"{travel_bytes(args.carry) / MIB:.2f} MiB of {TRAVEL_LIMIT / MIB:.0f}")
    elif args.cmd == "run":
        run(args)
    elif args.cmd == "merge":
        from ldcsr_core.training.checkpoint import merge_parts
        print(merge_parts(args.path, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
