"""Training runs that a GPU machine needs, tested on CPU with a tiny model: bit-exact resume across
processes, process budgets, the JSON-lines log, the loader, mixed precision, LR scaling,
torch.compile, checkpoint parts and half copies, the packed archive, and the one-command script."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import ldcsr_core
from ldcsr_core.config import tiny_test_config

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("suite_thread_count")  # tests/conftest.py


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :96]
    for cls in ("a", "b"):
        (d / cls).mkdir()
        for i in range(2):
            base = 127 + 80 * np.sin(xx / (3 + i + (cls == "b"))) * np.cos(yy / (5 + i))
            img = np.clip(base[..., None] + rng.normal(0, 5, (96, 96, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(d / cls / f"img{i}.png")
    return d


def _kw(image_dir, tmp_path, **over):
    kw = dict(config=tiny_test_config(with_encoder=True), steps=(3, 2, 3), minutes=(0.0, 0.0, 0.0), batch_size=2,
              lr_size=16, scale_range=(2.0, 3.0), seed=1, device="cpu", adv_weight=0.01, pix_weight=1.0,
              lat_weight=0.1, train_decoder_in_diffusion=True, val_dir=image_dir, val_limit=1, val_every_steps=2,
              warmup=2, log_every=1)
    kw.update(over)
    return kw


def _tensors(obj, prefix=""):
    """Every tensor in a nested checkpoint, by path."""
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_tensors(v, f"{prefix}/{k}"))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(_tensors(v, f"{prefix}/{i}"))
    return out


@pytest.fixture(scope="module")
def runs(image_dir, tmp_path_factory):
    """One run straight through, and the same run in three processes' worth of trainers (stopped in
    phase A, again in phase C), with a copy of the checkpoint the second one stopped at: the resumed
    run's test checks them, its control and the checkpoint-parts test continue from that copy."""
    from ldcsr_core.training.trainer import Trainer

    d = tmp_path_factory.mktemp("runs")
    kw = _kw(image_dir, d, steps=(2, 1, 2))
    straight = Trainer(image_dir, d / "s.safetensors", **kw)
    straight.run()
    log, ck = d / "r.jsonl", d / "r.ckpt"
    t1 = Trainer(image_dir, d / "r.safetensors", stop_after_steps=1, log_path=log, **kw)
    t1.run()
    t2 = Trainer(image_dir, d / "r.safetensors", stop_after_steps=3, log_path=log, **kw)
    t2.resume(ck)
    t2.run()
    shutil.copy(ck, d / "mid.ckpt")
    t3 = Trainer(image_dir, d / "r.safetensors", log_path=log, **kw)
    t3.resume(ck)
    t3.run()
    return SimpleNamespace(dir=d, kw=kw, straight=straight, t1=t1, t2=t2, t3=t3, mid=d / "mid.ckpt", log=log)


def test_a_resumed_run_ends_with_the_same_weights_bit_for_bit(runs):
    from ldcsr_core.training.checkpoint import read_checkpoint
    from ldcsr_core.training.runlog import read_jsonl

    d, straight, t1, t2, t3 = runs.dir, runs.straight, runs.t1, runs.t2, runs.t3
    assert not straight.stopped and straight.state.done == ["fast", "prior", "diffusion"]
    assert t1.stopped and (t1.state.phase, t1.state.phase_step) == ("fast", 1)
    mid = read_checkpoint(runs.mid)
    assert t2.stopped and mid["state"]["phase"] == "diffusion" and mid["state"]["phase_step"] == 1
    assert mid["ema"] is not None and mid["opt_d"] is not None  # EMA, discriminator and its optimiser mid-way
    assert not t3.stopped and t3.state.total_steps == 5 and t3.state.runs == 3

    a, b = read_checkpoint(d / "s.ckpt"), read_checkpoint(d / "r.ckpt")
    # the run's own state; of the random streams the trainer's generator (it draws from no global one)
    ta, tb = _tensors({**{k: a[k] for k in ("model", "ema", "opt", "disc", "opt_d")}, "gen": a["rng"]["gen"]}), \
        _tensors({**{k: b[k] for k in ("model", "ema", "opt", "disc", "opt_d")}, "gen": b["rng"]["gen"]})
    assert ta.keys() == tb.keys() and len(ta) > 100
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert different == []
    assert a["state"]["history"]["phases"]["diffusion"]["final_loss"] == b["state"]["history"]["phases"]["diffusion"]["final_loss"]
    assert a["state"]["history"]["val"] == b["state"]["history"]["val"]  # same validations, same numbers
    wa = ldcsr_core.load_model(d / "s.safetensors", device="cpu").state_dict()
    wb = ldcsr_core.load_model(d / "r.safetensors", device="cpu").state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # and the training did something: the weights moved from the initial ones
    init = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=1).state_dict()
    assert not torch.equal(init["model.diffusion_model.out.2.weight"], wa["model.diffusion_model.out.2.weight"])

    events = read_jsonl(runs.log)
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 3 and kinds.count("stop") == 2 and kinds.count("resume") == 2
    assert kinds[-1] == "end" and kinds.count("phase_end") == 3
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all(np.isfinite(e["loss"]) and e["img_per_s"] > 0 for e in steps)
    vals = [e for e in events if e["event"] == "val"]
    assert {(v["phase"], v["step"]) for v in vals} >= {("fast", 2), ("prior", 1), ("diffusion", 2)}
    assert all("2.0" in v["fast"] for v in vals)


def test_a_stopped_run_without_its_random_states_would_diverge(image_dir, runs, tmp_path):
    """The control of the test above: the batches and the noise really are part of the resumed state.
    The same resume of the same checkpoint as its last trainer's, with the noise generator reseeded."""
    from ldcsr_core.training.checkpoint import read_checkpoint
    from ldcsr_core.training.trainer import Trainer

    t = Trainer(image_dir, tmp_path / "r.safetensors", **runs.kw)
    t.resume(runs.mid)
    t.gen.manual_seed(12345)  # a resume that forgot the noise generator's state
    t.run()
    assert t.state.total_steps == 5
    k = "model.diffusion_model.out.2.weight"
    a, b = read_checkpoint(runs.dir / "s.ckpt")["model"][k], read_checkpoint(tmp_path / "r.ckpt")["model"][k]
    assert not torch.equal(a, b)


def test_checkpoint_parts_rebuild_it_and_a_half_copy_resumes(image_dir, runs, tmp_path):
    from ldcsr_core.training.checkpoint import half_precision_copy, merge_parts, read_checkpoint, split_file
    from ldcsr_core.training.errors import TrainingError
    from ldcsr_core.training.trainer import Trainer
    kw = {**runs.kw, "val_dir": None}
    ck = tmp_path / "m.ckpt"  # the resumed run's checkpoint in its diffusion phase, at step 1 of 2
    shutil.copy(runs.mid, ck)
    data = ck.read_bytes()
    parts_dir = tmp_path / "parts"
    parts_dir.mkdir()
    parts = split_file(ck, max_bytes=len(data) // 3 + 1, out_dir=parts_dir)
    assert len(parts) == 3 and all(p.stat().st_size <= len(data) // 3 + 1 for p in parts)
    assert merge_parts(parts_dir / "m.ckpt").read_bytes() == data
    (parts_dir / "m.ckpt").unlink()
    assert read_checkpoint(parts_dir / "m.ckpt")["state"]["phase_step"] == 1  # read through its parts
    parts[1].write_bytes(parts[1].read_bytes()[:-1])
    with pytest.raises(TrainingError, match="do not rebuild"):
        merge_parts(parts_dir / "m.ckpt", tmp_path / "x.ckpt")
    half = half_precision_copy(read_checkpoint(ck))
    torch.save(half, tmp_path / "h.ckpt")
    assert (tmp_path / "h.ckpt").stat().st_size < 0.6 * len(data)
    full = Trainer(image_dir, tmp_path / "f.safetensors", **kw)
    full.resume(ck)
    t2 = Trainer(image_dir, tmp_path / "h.safetensors", **kw)
    t2.resume(tmp_path / "h.ckpt")
    k = "model.diffusion_model.out.2.weight"
    w_full, w_half = full.model.state_dict()[k], t2.model.state_dict()[k]
    assert w_half.dtype == torch.float32 and not torch.equal(w_full, w_half)
    assert torch.allclose(w_full, w_half, rtol=1e-2, atol=1e-4)
    assert t2.opt.state_dict()["state"][0]["exp_avg"].dtype == torch.float32
    t2.run()
    assert t2.state.done == ["fast", "prior", "diffusion"] and t2.state.total_steps == 5


def test_a_checkpoint_of_another_devices_run_resumes_and_says_so(image_dir, tmp_path, caplog):
    """The trainer's noise generator lives on its device: a CUDA generator's state is 16 bytes (Philox),
    the CPU's 5056. Before, a GPU run's checkpoint resumed on CPU (or a CPU run's carried to the GPU)
    was exit 1, torch's 'Expected a CPUGeneratorImplState of size 5056 but found the input RNG state
    size to be 16', once the model had loaded. Now it resumes with a stream seeded from that state (the
    same for two resumes of one checkpoint) and says the device changed."""
    from ldcsr_core.training.trainer import Trainer

    kw = _kw(image_dir, tmp_path, steps=(0, 0, 2), adv_weight=0.0, val_dir=None)
    Trainer(image_dir, tmp_path / "r.safetensors", **kw).checkpoint()  # a CPU run's, at its start
    ckpt = torch.load(tmp_path / "r.ckpt", weights_only=True)
    cuda_state = torch.arange(16, dtype=torch.uint8)  # what torch.Generator("cuda").get_state() holds
    ckpt["gen"], ckpt["rng"]["gen"] = cuda_state, cuda_state.clone()
    torch.save(ckpt, tmp_path / "gpu.ckpt")
    states = []
    for _ in range(2):
        t = Trainer(image_dir, tmp_path / "r.safetensors", **kw)
        with caplog.at_level("WARNING", logger="ldcsr_core.training"):
            t.resume(tmp_path / "gpu.ckpt")
        states.append(t.gen.get_state())
    assert "resumed with other settings than the run that wrote" in caplog.text and "device gpu -> cpu" in caplog.text
    assert torch.equal(*states) and states[0].numel() == 5056


def test_a_resume_across_devices_says_both_kinds_in_one_word():
    """The resume's 'changed' device says each side in one word, 'cpu' or 'gpu' (checkpoint's
    restore_generator, by the generators' own states). Before: the checkpoint's side was 'gpu' and
    this run's torch's device type, so a CPU run's carried to the GPU said 'device cpu -> cuda', a
    GPU run's on CPU 'device gpu -> cpu'."""
    from ldcsr_core.training.checkpoint import restore_generator

    class CudaLike:  # what torch.Generator("cuda") holds: a 16-byte Philox state
        def get_state(self):
            return torch.arange(16, dtype=torch.uint8)

        def manual_seed(self, seed):
            self.seed = seed

    cpu_state = torch.Generator().manual_seed(1).get_state()
    assert restore_generator(CudaLike(), cpu_state) == ("cpu", "gpu")
    assert restore_generator(torch.Generator(), torch.arange(16, dtype=torch.uint8)) == ("gpu", "cpu")
    assert restore_generator(torch.Generator(), cpu_state) is None

def test_batches_depend_on_the_step_alone_not_on_workers_or_the_start(image_dir):
    from ldcsr_core.training.data import MultiScaleCrops, StepBatches, load_images
    crops = MultiScaleCrops(load_images(image_dir), lr_size=16, scale_range=(2.0, 5.0), seed=3)
    ref = [crops.batch_at(f"fast:{i}", 2) for i in range(5)]
    assert len({r[1].shape for r in ref}) > 1  # a scale per batch
    seq = StepBatches(crops, "fast", 2, start=0, stop=5, workers=0)
    got = list(iter(seq))
    assert len(got) == 5 and all(np.array_equal(g[1].numpy(), r[1]) and np.array_equal(g[0].numpy(), r[0])
                                 for g, r in zip(got, ref))
    par = StepBatches(crops, "fast", 2, start=2, stop=None, workers=2)
    it = iter(par)
    got = [next(it) for _ in range(3)]
    par.close()
    assert all(np.array_equal(g[1].numpy(), r[1]) for g, r in zip(got, ref[2:5]))
    assert not np.array_equal(crops.batch_at("prior:0", 2)[1], ref[0][1]) or \
        crops.batch_at("prior:0", 2)[1].shape != ref[0][1].shape  # another phase, other crops


def test_bf16_autocast_trains_fp32_master_weights_on_cpu(image_dir, tmp_path):
    from ldcsr_core.training.data import to_tensor
    from ldcsr_core.training.trainer import Trainer
    t = Trainer(image_dir, tmp_path / "m.safetensors", amp="bf16", **_kw(image_dir, tmp_path, steps=(1, 1, 1),
                                                                         val_dir=None, hf_weight=1.0))
    dtypes = []
    conv = t.model.cond_stage_model.conv_in if hasattr(t.model.cond_stage_model, "conv_in") else \
        next(m for m in t.model.cond_stage_model.modules() if isinstance(m, torch.nn.Conv2d))
    h = conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    lr_u8, hr_u8 = t.data.batch_at("x:0", 2)
    with t._autocast():
        loss, _ = t.loss_fast(to_tensor(lr_u8, "cpu"), to_tensor(hr_u8, "cpu"))
    assert dtypes == [torch.bfloat16] and torch.isfinite(loss)
    dtypes.clear()
    loss32, _ = t.loss_fast(to_tensor(lr_u8, "cpu"), to_tensor(hr_u8, "cpu"))
    assert dtypes == [torch.float32] and abs(float(loss32) - float(loss)) < 0.1 * float(loss32) + 1e-3
    h.remove()
    before = t.model.state_dict()["first_stage_model.decoder.head.weight"].clone()
    _, hist = t.run()
    assert [hist["phases"][p]["steps"] for p in ("fast", "prior", "diffusion")] == [1, 1, 1]
    assert all(np.isfinite(hist["phases"][p]["final_loss"]) for p in ("fast", "prior", "diffusion"))
    assert all(p.dtype == torch.float32 for p in t.model.parameters())
    assert not torch.equal(before, t.model.state_dict()["first_stage_model.decoder.head.weight"])
    assert t.settings["amp"] == "bf16"
    assert Trainer(image_dir, tmp_path / "n.safetensors", **_kw(image_dir, tmp_path)).amp == "off"  # auto on CPU


def test_learning_rate_scales_with_the_batch(image_dir, tmp_path):
    from ldcsr_core.training.phases import scaled_lr
    from ldcsr_core.training.trainer import Trainer
    assert scaled_lr(1e-3, 64, "linear") == pytest.approx(8e-3)
    assert scaled_lr(1e-3, 32, "sqrt") == pytest.approx(2e-3)
    assert scaled_lr(1e-3, 64, "none") == 1e-3
    assert scaled_lr(1e-3, 32, "linear", ref_batch=16) == pytest.approx(2e-3)
    with pytest.raises(ValueError):
        scaled_lr(1e-3, 8, "cubic")
    t = Trainer(image_dir, tmp_path / "m.safetensors", lr_scaling="linear", base_lr=1e-3,
                **_kw(image_dir, tmp_path, batch_size=4, steps=(3, 0, 0), val_dir=None, warmup=1))
    t.run()
    assert t.settings["effective_base_lr"] == pytest.approx(5e-4)
    assert t.opt.param_groups[0]["base_lr"] == pytest.approx(5e-4)  # phase A's group: the full rate


def test_compile_keeps_the_checkpoint_keys_and_does_not_recompile_for_each_scale(image_dir, tmp_path):
    """A step and the scale's calibration (8 batches), each at its own scale: the no-grad condition's
    GroupNorm looped over bands of its rows, a count dynamo guards, so it recompiled for each scale
    (8 graphs, up to torch's recompile limit, then ran uncompiled). Now 2; the keys are the plain model's."""
    from torch._dynamo.utils import counters
    from ldcsr_core.training.trainer import Trainer
    torch._dynamo.reset()
    counters.clear()
    t = Trainer(image_dir, tmp_path / "m.safetensors", compile=True, compile_backend="eager",
                **_kw(image_dir, tmp_path, steps=(1, 0, 0), val_dir=None, scale_range=(2.0, 3.0)))
    assert t.model.cond_stage_model._compiled_call_impl is not None
    t.run()
    assert 0 < counters["stats"]["unique_graphs"] <= 2, dict(counters["stats"])
    plain = ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0).state_dict()
    assert set(t.model.state_dict()) == set(plain)
    assert set(ldcsr_core.load_model(tmp_path / "m.safetensors", device="cpu").state_dict()) <= set(plain)


def _gpu_train():
    spec = importlib.util.spec_from_file_location("gpu_train", ROOT / "scripts" / "gpu_train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_packed_archive_holds_the_train_images_and_a_val_subset(image_dir, tmp_path):
    from ldcsr_core.training.data import load_images
    from ldcsr_core.training.metrics import psnr
    g = _gpu_train()
    src = tmp_path / "src"
    (src / "train").mkdir(parents=True)
    import shutil
    shutil.copytree(image_dir, src / "train", dirs_exist_ok=True)
    shutil.copytree(image_dir, src / "val")
    s = g.pack(src, tmp_path / "a.npz", quality=95, max_mb=1.0, val_count=2, log=lambda *_: None)
    assert s["train_images"] == 4 and s["val_images"] == 2
    train, val = load_images(tmp_path / "a.npz"), load_images(f"{tmp_path / 'a.npz'}#val")
    assert len(train) == 4 and len(val) == 2 and train[0].shape == (96, 96, 3)
    orig = np.asarray(Image.open(image_dir / "a" / "img0.png"))
    assert psnr(train[0], orig) > 35  # round-robin order: class a's first image comes first
    small = g.pack(src, tmp_path / "b.npz", quality=95, max_mb=2 * (tmp_path / "a.npz").stat().st_size / 6 / 2 ** 20,
                   val_count=0, log=lambda *_: None)
    assert 1 <= small["train_images"] < 4  # the budget is kept
    assert (tmp_path / "b.npz").stat().st_size <= small["budget_mib"] * 2 ** 20
    named = g.pack(src, tmp_path / "c", quality=95, max_mb=1.0, val_count=0, log=lambda *_: None)
    assert named["archive"] == str(tmp_path / "c.npz") and (tmp_path / "c.npz").is_file()  # as np.savez names it


def test_the_gpu_script_runs_resumes_and_never_imports_rasterio(image_dir, tmp_path):
    """The dry run of docs/training-gpu.md on CPU, in a process where rasterio cannot be imported."""
    g = _gpu_train()
    arch = tmp_path / "a.npz"
    src = tmp_path / "src"
    import shutil
    shutil.copytree(image_dir, src / "train")
    shutil.copytree(image_dir, src / "val")
    g.pack(src, arch, quality=95, max_mb=2.0, val_count=2, log=lambda *_: None)
    code = ("import sys, json; sys.modules['rasterio'] = None; sys.argv = sys.argv[:1]; "
            f"sys.path.insert(0, {str(ROOT / 'scripts')!r}); import gpu_train; "
            "from ldcsr_core.config import tiny_test_config; import ldcsr_core.training.trainer as tr; "
            "orig = tr.Trainer.__init__; "
            "tr.Trainer.__init__ = lambda self, *a, **k: orig(self, *a, **{**k, 'config': tiny_test_config(True)}); "
            "sys.exit(gpu_train.main(json.loads(sys.argv_json)))")
    def run(out, extra):
        argv = ["run", "--data", str(arch), "--out", str(out), "--minutes", "5", "--device", "cpu",
                "--steps", "1", "1", "2", "--batch", "2", "--lr-size", "16", "--scale-range", "2", "3", "--val-every-steps", "2",
                "--log-every", "1", "--threads", "1", "--half"] + extra
        c = code.replace("sys.argv_json", repr(json.dumps(argv)))
        r = subprocess.run([sys.executable, "-c", c], capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return json.loads(r.stdout.strip().splitlines()[-1])
    s1 = run(tmp_path / "o1", ["--train-kwargs", '{"stop_after_steps": 3}'])
    assert s1["stopped_early"] and s1["phase"] == "diffusion" and s1["phase_step"] == 1, s1
    files = set(s1["files"])
    assert {"ldcsr-gpu.safetensors", "train.jsonl", "run-bf16.ckpt"} <= files, s1
    assert "run.ckpt" in files or {"run.ckpt.part000", "run.ckpt.parts.json"} <= files
    assert len(files) + 1 <= 8 and all((tmp_path / "o1" / f).stat().st_size <= 15 * 2 ** 20 for f in files)
    assert (tmp_path / "o1" / "summary.json").is_file()
    s2 = run(tmp_path / "o2", ["--resume", str(tmp_path / "o1")])
    assert not s2["stopped_early"] and s2["done"] == ["fast", "prior", "diffusion"] and s2["total_steps"] == 4
    assert s2["runs"] == 2
    log = [json.loads(x) for x in (tmp_path / "o2" / "train.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log].count("start") == 2 and log[-1]["event"] == "checkpoint"
    assert any(e["event"] == "resume" for e in log)
    m = ldcsr_core.load_model(tmp_path / "o2" / "ldcsr-gpu.safetensors", device="cpu")
    assert json.loads(m.notes)["history"]["phases"]["diffusion"]["steps"] == 2


def test_cli_train_stops_on_its_budget_logs_json_lines_and_resumes(image_dir, tmp_path):
    from click.testing import CliRunner
    from ldcsr_core.cli import main
    from ldcsr_core.training.runlog import read_jsonl
    g = _gpu_train()
    src = tmp_path / "src"
    import shutil
    shutil.copytree(image_dir, src / "train")
    shutil.copytree(image_dir, src / "val")
    arch = tmp_path / "a.npz"
    g.pack(src, arch, quality=95, max_mb=2.0, val_count=1, log=lambda *_: None)
    (tmp_path / "cfg.json").write_text(tiny_test_config(with_encoder=True).to_json())
    out, log = tmp_path / "c.safetensors", tmp_path / "c.jsonl"
    args = ["train", str(arch), "--val", f"{arch}#val", "--out", str(out), "--config", str(tmp_path / "cfg.json"),
            "--steps", "2", "0", "2", "--batch", "4", "--lr-size", "16", "--scale-range", "2", "3", "--device", "cpu",
            "--lr-scaling", "linear", "--lr-ref-batch", "2", "--warmup-steps", "1", "--amp", "off", "--workers", "0",
            "--log", str(log), "--val-every-steps", "1", "--val-limit", "1"]
    r = CliRunner().invoke(main, args + ["--stop-after-steps", "3"])
    assert r.exit_code == 0, r.output
    ev = read_jsonl(log)
    assert ev[-1]["event"] == "stop" and ev[-1]["phase"] == "diffusion" and ev[-1]["step"] == 1
    assert ev[0]["settings"]["effective_base_lr"] == pytest.approx(2e-3) and ev[0]["settings"]["batch_size"] == 4
    assert any(e["event"] == "val" and e["phase"] == "fast" and e["step"] == 1 for e in ev)
    r = CliRunner().invoke(main, args + ["--resume", str(out.with_suffix(".ckpt"))])
    assert r.exit_code == 0, r.output
    ev = read_jsonl(log)
    assert ev[-1]["event"] == "end" and ev[-1]["total_steps"] == 4
    assert json.loads(ldcsr_core.load_model(out, device="cpu").notes)["history"]["phases"]["diffusion"]["steps"] == 2
    done = out.read_bytes()  # a finished run resumed again: nothing to do, its (EMA) weights kept
    r = CliRunner().invoke(main, args + ["--resume", str(out.with_suffix(".ckpt"))])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == done


def test_a_split_cut_short_is_not_merged_and_stale_parts_are_not_used(tmp_path):
    """``split_file`` writes its ``.parts.json`` last (atomically): a split killed before it has
    none and is refused by ``merge_parts``; a later, smaller split does not pick up the earlier
    split's extra parts."""
    from ldcsr_core.training.checkpoint import merge_parts, split_file
    from ldcsr_core.training.errors import TrainingError

    big, small = tmp_path / "a" / "m.ckpt", tmp_path / "b" / "m.ckpt"
    for p, n in ((big, 1000), (small, 500)):
        p.parent.mkdir()
        p.write_bytes(bytes(range(256)) * (n // 256) + b"x" * (n % 256))
    out = tmp_path / "out"
    out.mkdir()
    assert len(split_file(big, 300, out)) == 4
    assert len(split_file(small, 300, out)) == 2  # out still holds big's part002/part003
    assert merge_parts(out / "m.ckpt").read_bytes() == small.read_bytes()
    (out / "m.ckpt").unlink()
    (out / "m.ckpt.parts.json").unlink()  # as if killed before the end
    with pytest.raises(TrainingError, match="split was cut short"):
        merge_parts(out / "m.ckpt")
    assert not (out / "m.ckpt").exists()


def test_a_log_line_cut_short_does_not_break_the_log(tmp_path):
    """A kill or a full disk mid-line leaves a partial line: the next event starts on a line of its
    own and the log still reads (the cut line is skipped)."""
    from ldcsr_core.training.runlog import JsonlLog, read_jsonl

    path = tmp_path / "run.jsonl"
    log = JsonlLog(path)
    log.write("start", step=0)
    with path.open("ab") as f:
        f.write(b'{"event": "step", "st')
    log.write("start", step=5)
    assert [(e["event"], e["step"]) for e in read_jsonl(path)] == [("start", 0), ("start", 5)]
    assert path.read_text().splitlines()[2].startswith('{"event": "start"')


def test_pack_leaves_room_for_what_else_the_carried_folder_holds(image_dir, tmp_path, monkeypatch):
    """The device call carries the archive's folder (carry=["artifacts"]), so the archive's default
    budget leaves room for the other files there (artifacts/wheels: scripts/gpu_check.py's pytest
    wheels), or the call is refused as over 64 MiB."""
    g = _gpu_train()
    src = tmp_path / "src"
    import shutil
    shutil.copytree(image_dir, src / "train")
    folder = tmp_path / "artifacts"
    (folder / "wheels").mkdir(parents=True)
    (folder / "wheels" / "pytest.whl").write_bytes(b"w" * (2 ** 20 // 2))  # 0.5 MiB carried beside the archive
    monkeypatch.setattr(g, "TRAVEL_LIMIT", 2 * 2 ** 20)
    monkeypatch.setattr(g, "travel_bytes", lambda extra=(): 0)  # the checkout: nothing
    monkeypatch.setattr(g, "_checkout_files", lambda: set(), raising=False)
    s = g.pack(src, folder / "rsscn7.npz", quality=95, val_count=0, log=lambda *_: None)
    assert s["budget_mib"] == pytest.approx(2 - 1 - 0.5)  # the limit, less 1 MiB of margin and the wheels
    assert s["bytes"] + (folder / "wheels" / "pytest.whl").stat().st_size <= g.TRAVEL_LIMIT - 2 ** 20


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc/self/fd")
def test_the_log_may_be_a_pipe(tmp_path):
    """--log /dev/stdout piped into another program (jq): the run stopped at its first event,
    'File or stream is not seekable' (the log was opened to read its last byte). Now the events
    go down the pipe, one line each."""
    from ldcsr_core.training.runlog import JsonlLog

    r, w = os.pipe()
    try:
        log = JsonlLog(f"/proc/self/fd/{w}")
        log.write("start", step=0)
        log.write("end", step=1)
        os.close(w)
        w = None
        lines = os.read(r, 1 << 16).decode().splitlines()
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
    assert [(json.loads(s)["event"], json.loads(s)["step"]) for s in lines] == [("start", 0), ("end", 1)]
