"""`load_model` against the plain way of loading the same file, side by side (README, "Loading")::

    python benchmarks/bench_load_model.py --repeats 7 --json load_model.json
    python benchmarks/bench_load_model.py --models shipped --dtypes float32 --threads 2

The plain way is what load_model did before it built its model without the random initial weights
the file replaces (ldcsr_core.checkpoint_loading): build the model with its random initialisation
(``LDCSR(config)``, the configuration read from the file's metadata), read the file
(``read_state_dict``), ``load_state_dict``, then ``.eval()``, on the device, in the device's layout
(``device_layout``: channels-last on a CPU) and in the float type load_model chose (``.to(dtype)``,
the latent scale kept float32). Models: ``shipped`` (the default model inside the package) and
``tiny`` (the test suite's configuration, saved once into a temporary folder). For each model and
float type both ways load once to warm up, then alternately (the order swapped each round, so a
change of machine load hits both alike) ``--repeats`` times each (at least 5), in this process; the
table gives the medians of wall time and of CPU time (all threads) and their ratios plain /
load_model. Both ways' models are checked to hold the same tensors (names, dtypes, shapes, values,
strides). With ``--json`` the rows, the machine and its load average before and after are written.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the checkout's engine, installed or not


def plain_load(path: Path, device, dtype):
    """The model of ``path`` loaded the plain way (module docstring)."""
    import torch

    from ldcsr_core.checkpoints import config_from_metadata, read_state_dict
    from ldcsr_core.devices import device_layout
    from ldcsr_core.models.ldcsr import LDCSR

    sd, meta = read_state_dict(path)
    model = LDCSR(dataclasses.replace(config_from_metadata(meta, path), encoder=None))
    missing, _unexpected = model.load_state_dict(sd, strict=False)  # the file may hold the training encoder
    if missing:
        raise SystemExit(f"{path}: the plain way leaves {len(missing)} tensors as built, e.g. {missing[0]}")
    model = device_layout(model.eval().requires_grad_(False).to(device), device, all_networks=True)
    if dtype != torch.float32:
        model = model.to(dtype)
        model.scale_factor.data = model.scale_factor.data.float()
    return model


def differences(a, b) -> list[str]:
    """Names of the tensors (parameters and buffers) in which two models differ: set, dtype, shape, values, strides."""
    def tensors(m):
        return dict([*m.named_parameters(remove_duplicate=False), *m.named_buffers(remove_duplicate=False)])

    ta, tb = tensors(a), tensors(b)
    if list(ta) != list(tb):
        return sorted(set(ta) ^ set(tb)) or ["(order)"]
    import torch

    return [k for k, v in ta.items() if (v.dtype, v.shape, v.stride()) != (tb[k].dtype, tb[k].shape, tb[k].stride())
            or not torch.equal(v, tb[k])]


def timed(load):
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    model = load()
    return model, time.perf_counter() - w0, time.process_time() - c0


def measure(name: str, path: Path, dtype_arg: str, device, repeats: int) -> dict:
    import ldcsr_core
    from ldcsr_core.precision import dtype_name

    def ours():
        return ldcsr_core.load_model(path, device=device, dtype=dtype_arg)

    first = ours()  # warm-up; its float type is the one the plain way casts to
    dtype = first.first_stage_model.post_quant_conv.weight.dtype
    differ = differences(first, plain_load(path, device, dtype))
    del first
    ways = {"load_model": ours, "plain": lambda: plain_load(path, device, dtype)}
    wall, cpu = {w: [] for w in ways}, {w: [] for w in ways}
    for i in range(repeats):
        for way in (list(ways) if i % 2 == 0 else list(ways)[::-1]):
            model, w, c = timed(ways[way])
            del model
            wall[way].append(w)
            cpu[way].append(c)
    med = {f"{k}_{way}_ms": round(1000 * statistics.median(v[way]), 1) for k, v in (("wall", wall), ("cpu", cpu))
           for way in ways}
    return {"model": name, "file": str(path), "file_bytes": path.stat().st_size, "dtype": dtype_name(dtype),
            "repeats": repeats, **med,
            "wall_ratio": round(med["wall_plain_ms"] / med["wall_load_model_ms"], 2),
            "cpu_ratio": round(med["cpu_plain_ms"] / med["cpu_load_model_ms"], 2),
            "same_tensors": not differ, "differing": differ[:10],
            "wall_s": {w: [round(x, 4) for x in v] for w, v in wall.items()},
            "cpu_s": {w: [round(x, 4) for x in v] for w, v in cpu.items()}}


def model_files(names, folder: Path) -> dict:
    import ldcsr_core
    from ldcsr_core.builtin_models import model_path
    from ldcsr_core.config import tiny_test_config

    files = {}
    for name in names:
        if name == "shipped":
            files[name] = model_path(None)
        elif name == "tiny":
            files[name] = ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(), seed=3),
                                                folder / "tiny.safetensors", name="tiny")
        else:
            files[name] = model_path(name)  # a model's name or a .safetensors path of ours
    return files


def machine() -> dict:
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="shipped,tiny", help="shipped, tiny, a model's name or a .safetensors path")
    p.add_argument("--dtypes", default="auto,float32", help="load_model's dtype argument, comma-separated")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=7, help="timed loads of each way (at least 5)")
    p.add_argument("--threads", type=int, default=1, help="torch's CPU threads (LDCSR_THREADS)")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    if a.repeats < 5:
        p.error("--repeats: at least 5 (medians of fewer move with the machine's load)")
    os.environ["LDCSR_THREADS"] = str(a.threads)  # before the engine is imported
    import torch

    from ldcsr_core.devices import resolve_device
    from ldcsr_core.files import atomic_write_bytes

    torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    load_before = os.getloadavg()
    rows = []
    print(f"{'model':<8} {'dtype':<9} {'wall ms load_model / plain':>27} {'ratio':>6} "
          f"{'CPU ms load_model / plain':>26} {'ratio':>6}  same tensors")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in model_files(a.models.split(","), Path(tmp)).items():
            for dtype in a.dtypes.split(","):
                r = measure(name, Path(path), dtype, device, a.repeats)
                rows.append(r)
                print(f"{name:<8} {r['dtype']:<9} {r['wall_load_model_ms']:>12.1f} / {r['wall_plain_ms']:>8.1f} ms "
                      f"{r['wall_ratio']:>5.2f}× {r['cpu_load_model_ms']:>11.1f} / {r['cpu_plain_ms']:>8.1f} ms "
                      f"{r['cpu_ratio']:>5.2f}×  {'yes' if r['same_tensors'] else 'NO: ' + ', '.join(r['differing'])}",
                      flush=True)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; device {device}, "
          f"{a.threads} thread(s)")
    if a.json:
        doc = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "device": str(device),
               "machine": machine(), "loadavg_before": load_before, "loadavg_after": load_after, "rows": rows}
        atomic_write_bytes(a.json, json.dumps(doc, indent=2).encode())
    return 0 if all(r["same_tensors"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
