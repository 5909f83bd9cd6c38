"""`upscale` throughput per mode and float type on one device, with the plan, peak memory and the
agreement with float32 (issue 22's `upscale` table; prepared on CPU for a GPU session)::

    python benchmarks/bench_gpu.py --device cuda --sizes 512,2048 --json gpu.json
    python benchmarks/bench_gpu.py --device cpu --sizes 256 --dtypes float32,bfloat16 --repeats 3
    python benchmarks/bench_gpu.py --device cuda --big 8000 --json big.json

For each float type the shipped model is loaded once; for each input size (×4 by default) and
mode, `ldcsr_core.upscale` runs on the engine's default plan and, for comparison, as one window
(``tile`` = the input size), after one warm-up call; the median of ``--repeats`` timed calls is
reported (CUDA synchronised; a call whose warm-up took ``--slow`` s or more is timed once, so that
a slow card still gets through the table), with output megapixels per second, the number of windows and of
model launches (batches: :meth:`~ldcsr_core.tiling.TileProcessor.groups`), peak
device memory (CUDA: ``max_memory_allocated``; CPU: the process's peak RSS) and the PSNR of the
output against float32's (8-bit, same seed); on CUDA also the GPU busy fraction of one more call
(kernel time summed by ``torch.profiler`` over its wall time). Diffusion mode runs on its fixed
windows only (``tile`` is fast mode's). The float types run in ``--dtypes`` order, CUDA's default
float16 first, so a run stopped at a time limit has the default's figures; each row's agreement
with float32 is filled in (and the JSON saved again) once float32's output of that case exists.
A case that fails (out of memory, say) is a row with its ``error``, and the next case runs.
``--big SIDE`` instead runs one ``SIDE``² scene ×``--scale`` in fast mode on the default plan, in
memory (the raster path needs rasterio, which the device machine lacks), once, and samples the
card's utilisation with ``nvidia-smi`` every 0.1 s; its row is saved every 2 s while it runs
(``partial``: windows done, seconds so far), so a run stopped at a limit still gives its speed.
Not measured here: the official code side by side (it is not in this repository).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

# the device machine runs it from the checkout, with nothing installed (docs/training-gpu.md)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def scene(side: int, seed: int = 0) -> np.ndarray:
    """A deterministic RGB uint8 test image with structure at several scales."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64)
    chans = [128 + 50 * np.sin(xx / (5 + 3 * c)) * np.cos(yy / (7 + 2 * c)) + 30 * np.sin((xx + yy) / 23)
             for c in range(3)]
    return np.clip(np.stack(chans, -1) + rng.normal(0, 8, (side, side, 3)), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    from ldcsr_core.training.metrics import psnr  # imported where the engine is (see main)

    return psnr(a, b)  # uint8 images


def busy_fraction(call, sync) -> float | None:
    """Share of one call's wall time the GPU spent in kernels (None without CUDA kernels, or where
    the profiler fails: the timings measured before it are kept)."""
    try:
        return _busy_fraction(call, sync)
    except Exception as e:  # noqa: BLE001 - a profiler that cannot run (CUPTI) loses this figure only
        print(f"GPU busy not measured: {type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}",
              flush=True)
        return None


def _busy_fraction(call, sync) -> float | None:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        sync()
        t0 = time.perf_counter()
        call()
        sync()
        wall = time.perf_counter() - t0
    kernel_us = 0.0
    for ev in prof.key_averages():
        kernel_us += getattr(ev, "self_device_time_total", None) or getattr(ev, "self_cuda_time_total", 0.0) or 0.0
    return kernel_us / 1e6 / wall if kernel_us else None


class Utilisation:
    """``nvidia-smi``'s GPU utilisation sampled every ``every`` s while in the ``with`` block
    (``mean``: None where nvidia-smi is missing)."""

    def __init__(self, every: float = 0.1):
        self.every, self.samples, self._stop = every, [], threading.Event()

    def _run(self):
        cmd = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
               f"--loop-ms={int(self.every * 1000)}"]
        try:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except FileNotFoundError:
            return
        for line in self._proc.stdout:
            if self._stop.is_set():
                break
            try:
                self.samples.append(float(line.split(",")[0]))
            except ValueError:
                pass

    def __enter__(self):
        self._proc = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._proc is not None:
            self._proc.kill()
        self._thread.join(timeout=5)

    @property
    def mean(self) -> float | None:
        return statistics.mean(self.samples) / 100 if self.samples else None


def launches(model, plan, mode: str) -> int:
    """How many model calls the engine makes for ``plan`` (its batches on this device)."""
    from ldcsr_core.tiling import TileProcessor

    return sum(1 for _ in TileProcessor(model, plan, mode=mode).groups(plan.tiles))


def big_scene(a, dev, sync, report=lambda row: None, every: float = 2.0) -> dict:
    """One ``a.big``² scene ×``a.scale`` in fast mode (float type: the device's default).
    ``report(row)`` gets the row every ``every`` s while it runs (``partial``), then the final one."""
    import ldcsr_core
    from ldcsr_core.precision import model_dtype
    from ldcsr_core.window_sizing import plan_for_model

    model = ldcsr_core.load_model(device=str(dev))
    img = scene(a.big)
    side = int(round(a.big * a.scale))
    plan = plan_for_model(model, img.shape[:2], (side, side), mode="fast")
    # warm-up: full-size windows (cuDNN tunes each window shape once), not the timed run's job
    ldcsr_core.upscale(scene(min(a.big, 512)), a.scale, model=model, mode="fast")
    sync()
    row = {"in_side": a.big, "out_side": side, "mode": "fast", "dtype": model_dtype(model),
           "windows": len(plan.tiles), "launches": launches(model, plan, "fast")}
    last = [time.perf_counter()]

    def progress(info):  # the engine's callback, after each window (batch) taken
        now = time.perf_counter()
        if info.done and now - last[0] >= every:
            last[0] = now
            t = now - t0
            report({**row, "partial": True, "windows_done": info.done, "seconds": t,
                    "mp_per_s": side * side * info.done / info.total / t / 1e6, "gpu_utilisation": util.mean})

    with Utilisation() as util:
        t0 = time.perf_counter()
        out = ldcsr_core.upscale(img, out_shape=(side, side), model=model, mode="fast", seed=0, callback=progress)
        sync()
        t = time.perf_counter() - t0
    row.update({"partial": False, "windows_done": len(plan.tiles), "seconds": t, "mp_per_s": side * side / t / 1e6,
                "gpu_utilisation": util.mean, "out_shape": list(out.shape)})
    report(row)
    print(f"{a.big}² ×{a.scale:g} fast {row['dtype']}: {row['windows']} windows in {row['launches']} launches, "
          f"{t:.1f} s, {row['mp_per_s']:.1f} MP/s"
          + (f", GPU utilisation {util.mean:.0%} ({len(util.samples)} samples)" if util.mean is not None else ""),
          flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--sizes", default="512,2048", help="output sides (px), comma-separated")
    p.add_argument("--scale", type=float, default=4.0)
    p.add_argument("--modes", default="fast,diffusion")
    p.add_argument("--dtypes", default="float16,float32", help="in this order (float16: CUDA's default)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--slow", type=float, default=2.0, help="a call whose warm-up took this long (s) is timed once")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: the engine's default)")
    p.add_argument("--json", default=None)
    p.add_argument("--big", type=int, default=0, help="instead: one scene of this input side, fast mode")
    a = p.parse_args(argv)

    import torch

    import ldcsr_core
    from ldcsr_core.files import atomic_write_bytes
    from ldcsr_core.window_sizing import plan_for_model

    if a.threads:
        torch.set_num_threads(a.threads)
    dev = ldcsr_core.resolve_device(a.device)
    cuda = dev.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    rows, outs = [], {}  # outs: (side, mode, plan) -> {dtype: output}, for the agreement with float32

    def save():  # after every row: a run stopped at a time limit keeps what it measured, whole (atomic: a
        if a.json:  # kill in the middle of a save leaves the last one, not a file cut short)
            atomic_write_bytes(a.json, json.dumps(
                {"device": str(dev), "torch": torch.__version__, "scale": a.scale, "rows": rows,
                 "gpu": torch.cuda.get_device_name(dev) if cuda else None,
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, indent=2).encode())

    print(f"device {dev}{' (' + torch.cuda.get_device_name(dev) + ')' if cuda else ''}, torch {torch.__version__}",
          flush=True)
    if a.big:
        def report(row):
            rows[:] = [row]
            save()

        big_scene(a, dev, sync, report)
    for dtype in ([] if a.big else a.dtypes.split(",")):
        model = ldcsr_core.load_model(device=str(dev), dtype=dtype)
        for side in (int(v) for v in a.sizes.split(",")):
            img = scene(int(round(side / a.scale)))
            for mode in a.modes.split(","):
                variants = (("default", None),) if mode == "diffusion" else (("default", None),
                                                                               ("one window", img.shape[0]))
                for plan_name, tile in variants:
                    plan = plan_for_model(model, img.shape[:2], (side, side), tile, mode=mode)

                    def call():
                        return ldcsr_core.upscale(img, out_shape=(side, side), model=model, mode=mode,
                                                  seed=0, tile=tile)

                    base = {"dtype": dtype, "out_side": side, "mode": mode, "plan": plan_name,
                            "windows": len(plan.tiles)}
                    try:
                        t0 = time.perf_counter()
                        out = call()  # warm-up (cuDNN autotuning, allocator)
                        sync()
                        repeats = a.repeats if time.perf_counter() - t0 < a.slow else 1
                        if cuda:
                            torch.cuda.reset_peak_memory_stats(dev)
                        times = []
                        for _ in range(repeats):
                            sync()
                            t0 = time.perf_counter()
                            out = call()
                            sync()
                            times.append(time.perf_counter() - t0)
                    except (RuntimeError, MemoryError) as e:  # e.g. one window too large for the device
                        msg = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
                        print(f"{dtype:9s} {side:5d}² {mode:9s} {plan_name:10s}: failed ({msg[:80]})", flush=True)
                        rows.append({**base, "error": f"{type(e).__name__}: {msg}"})
                        save()
                        if cuda:
                            torch.cuda.empty_cache()
                        continue
                    t = statistics.median(times)
                    peak = (torch.cuda.max_memory_allocated(dev) if cuda
                            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
                    busy = busy_fraction(call, sync) if cuda else None
                    key = (side, mode, plan_name)
                    outs.setdefault(key, {})[dtype] = out
                    row = {**base, "launches": launches(model, plan, mode), "repeats": repeats, "seconds": t,
                           "mp_per_s": side * side / t / 1e6, "peak_bytes": int(peak), "psnr_vs_float32": None,
                           "gpu_busy": busy}
                    rows.append(row)
                    print(f"{dtype:9s} {side:5d}² {mode:9s} {plan_name:10s}: {len(plan.tiles):4d} windows "
                          f"{row['launches']:4d} launches "
                          f"{t:8.3f} s {row['mp_per_s']:7.2f} MP/s  peak {peak / 2**30:6.2f} GiB"
                          + (f"  GPU busy {busy:.0%}" if busy is not None else ""),
                          flush=True)
                    for other in rows:  # the agreement with float32, for every row of this case it completes
                        k = (other["out_side"], other["mode"], other["plan"])
                        if (k == key and "error" not in other and other["dtype"] != "float32"
                                and other["psnr_vs_float32"] is None and "float32" in outs[key]):
                            other["psnr_vs_float32"] = psnr(outs[key][other["dtype"]], outs[key]["float32"])
                            print(f"{other['dtype']:9s} {side:5d}² {mode:9s} {plan_name:10s}: "
                                  f"{other['psnr_vs_float32']:.1f} dB vs float32", flush=True)
                    save()
        model = None  # free it before the next float type
        if cuda:
            torch.cuda.empty_cache()
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
