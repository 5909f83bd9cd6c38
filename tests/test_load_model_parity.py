"""load_model builds its model without the random initial weights the file then replaces, and takes each tensor to
its device, layout and dtype in one visit (ldcsr_core.checkpoint_loading): 0.17 s a load before, paid by every run
and a thousand times by this suite. What it gives must stay what it gave: the model built with its random weights,
the file's tensors copied in, then ``.to(device)``, the device's layout and ``.to(dtype)`` over the whole model, bit
for bit (values, dtypes, strides, buffers), torch's generator as it was."""

import threading

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import ldcsr_core
from ldcsr_core import checkpoints as C
from ldcsr_core.checkpoints import FORMAT_TAG, read_state_dict, remap_official
from ldcsr_core.config import tiny_test_config
from ldcsr_core.devices import device_layout
from tests.test_checkpoints import official_like

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    model = ldcsr_core.build_model(tiny_test_config(), seed=3)
    return ldcsr_core.save_model(model, tmp_path_factory.mktemp("m") / "tiny.safetensors", name="tiny")


def step_by_step(model, path, seed=None):
    """What load_model made of ``path`` before, step by step, for the configuration and dtype ``model`` has: the
    model built with torch's random weights (from the generator as seeded with ``seed``), the file's tensors copied
    in, then on the CPU, channels-last (the UNet too for our format) and in its dtype, each over the whole model."""
    raw, meta = read_state_dict(path)
    ours = meta.get("format") == FORMAT_TAG
    sd = raw if ours else remap_official(raw)
    if seed is not None:
        torch.manual_seed(seed)
    ref = C._construct(model.config)
    with torch.no_grad():
        for k, v in ref.state_dict().items():
            if k in sd:
                v.copy_(sd[k].to(v.dtype))
    ref = ref.eval().requires_grad_(False).to(CPU)
    device_layout(ref, CPU, all_networks=ours)
    dtype = model.first_stage_model.post_quant_conv.weight.dtype
    if dtype != torch.float32:
        ref = ref.to(dtype)
        ref.scale_factor.data = ref.scale_factor.data.float()
    return ref


def assert_same(got, want):
    def tensors(m):
        return dict([*m.named_parameters(remove_duplicate=False), *m.named_buffers(remove_duplicate=False)])

    got_t, want_t = tensors(got), tensors(want)
    assert list(got_t) == list(want_t)
    for name, w in want_t.items():
        g = got_t[name]
        assert (g.dtype, g.shape, g.stride(), g.device, g.requires_grad, type(g)) == \
            (w.dtype, w.shape, w.stride(), w.device, w.requires_grad, type(w)), name
        assert torch.equal(g, w), name
    assert list(got.state_dict()) == list(want.state_dict())
    assert (got.memory_format, got.encoders_channels_last) == (want.memory_format, want.encoders_channels_last)
    assert [m.training for m in got.modules()] == [m.training for m in want.modules()]


def official_without_style(tmp_path):
    """An official-format .ckpt lacking the dead ``style.weight``: the one tensor load_model leaves as built."""
    sd = official_like(ldcsr_core.build_model(tiny_test_config(), seed=4))
    sd.pop("first_stage_model.decoder.style.weight")
    torch.save({"state_dict": sd}, tmp_path / "official.ckpt")
    return tmp_path / "official.ckpt"


@pytest.mark.parametrize("which, dtype, with_encoder", [
    ("ours", "float32", False), ("ours", "bfloat16", False), ("ours", "float16", False),
    ("official", "float32", False), ("official", "bfloat16", False), ("golden", "float32", True),
    ("shipped", "auto", False)])
def test_a_loaded_model_is_the_one_built_with_random_weights_and_loaded_step_by_step(
        which, dtype, with_encoder, tiny_file, tmp_path, monkeypatch, request):
    """Fails on main: it drew the random initial weights (kaiming_uniform_ on every convolution) that the file then
    replaced, a third of the model's construction."""
    path = {"ours": lambda: tiny_file, "official": lambda: official_without_style(tmp_path),
            "golden": lambda: request.getfixturevalue("golden_dir") / "small_official.ckpt",
            "shipped": lambda: None}[which]()
    draws = []
    for name in ("kaiming_uniform_", "uniform_", "normal_"):
        monkeypatch.setattr(nn.init, name, lambda t, *a, _f=getattr(nn.init, name), **k: draws.append(t) or _f(t, *a, **k))
    before = torch.random.get_rng_state()
    model = ldcsr_core.load_model(path, device="cpu", dtype=dtype, with_encoder=with_encoder)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert not draws, f"{len(draws)} random initialisations of weights the file replaces"
    monkeypatch.undo()
    assert_same(model, step_by_step(model, path or C.model_path(None)))


def test_a_file_that_leaves_a_layer_unloaded_gets_it_with_torchs_random_weights(tiny_file, tmp_path, monkeypatch):
    """Where a file leaves a tensor of a layer built without random weights (none can today: only the dead
    style.weight may be missing, and it is made of zeros), the model is built again with them: not memory left as
    allocated."""
    sd, meta = read_state_dict(tiny_file)
    gap = tmp_path / "gap.safetensors"
    save_file({k: v for k, v in sd.items() if k != "cond_stage_model.conv_in.weight"}, str(gap), metadata=meta)
    monkeypatch.setattr(C, "_check_fit", lambda expected, shapes, source, **why: [])  # a missing tensor allowed
    torch.manual_seed(11)
    model = ldcsr_core.load_model(gap, device="cpu", dtype="float32")
    assert_same(model, step_by_step(model, gap, seed=11))


def test_layers_another_thread_builds_during_a_load_keep_torchs_random_weights(tiny_file, monkeypatch):
    """The random initialisation is left out in the loading thread only: a layer built elsewhere meanwhile (a
    user's model, another plugin) has torch's weights, as before."""
    with torch.random.fork_rng():
        torch.manual_seed(5)
        want = nn.Conv2d(8, 8, 3).weight.detach().clone()
    seen = []

    def build_elsewhere():
        with torch.random.fork_rng():
            torch.manual_seed(5)
            seen.append(nn.Conv2d(8, 8, 3).weight.detach().clone())

    real = C.LDCSR

    def constructed(config):  # the load builds its model: its layers' initialisation is left out now
        thread = threading.Thread(target=build_elsewhere)
        thread.start()
        thread.join()
        return real(config)

    monkeypatch.setattr(C, "LDCSR", constructed)
    torchs = [cls.__dict__["reset_parameters"] for cls in (nn.modules.conv._ConvNd, nn.Linear, nn.GroupNorm)]
    ldcsr_core.load_model(tiny_file, device="cpu", dtype="float32")
    assert len(seen) == 1 and torch.equal(seen[0], want)
    assert [cls.__dict__["reset_parameters"] for cls in (nn.modules.conv._ConvNd, nn.Linear, nn.GroupNorm)] == torchs


def test_build_model_keeps_its_seeds_random_weights():
    """build_model's weights are still torch's initialisation from ``seed`` (load_model's shortcut is not its)."""
    from ldcsr_core.models.ldcsr import LDCSR

    with torch.random.fork_rng():
        torch.manual_seed(2)
        want = LDCSR(tiny_test_config()).state_dict()
    got = ldcsr_core.build_model(tiny_test_config(), seed=2).state_dict()
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)


def test_another_thread_s_draws_from_torch_s_generator_during_a_load_are_kept(tiny_file, monkeypatch):
    """Before: load_model saved torch's global CPU generator, built, and put it back, though its build draws nothing:
    numbers another thread drew from it meanwhile (not under the build's lock: a user's script, another plugin)
    were drawn again after the load, the same numbers. Now its sequence is the seeded sequence drawn alone. The
    other thread draws while the load builds (a pause there: deterministic)."""
    with torch.random.fork_rng():
        torch.manual_seed(9)
        alone = [torch.rand(4) for _ in range(3)]
    building, drawn, got = threading.Event(), threading.Event(), []

    def draw_meanwhile():
        building.wait(30)
        got.append(torch.rand(4))
        drawn.set()

    real = C.LDCSR

    def constructed(config):  # the load's build, paused while the other thread draws
        model = real(config)
        building.set()
        assert drawn.wait(30)
        return model

    monkeypatch.setattr(C, "LDCSR", constructed)
    with torch.random.fork_rng():
        torch.manual_seed(9)
        got.append(torch.rand(4))
        thread = threading.Thread(target=draw_meanwhile)
        thread.start()
        ldcsr_core.load_model(tiny_file, device="cpu", dtype="float32")
        thread.join()
        got.append(torch.rand(4))
    assert all(torch.equal(g, a) for g, a in zip(got, alone, strict=True)), "a number drawn twice"


def test_the_load_model_benchmark_compares_with_the_plain_way_and_checks_it_loads_the_same_tensors(
        tiny_file, tmp_path, monkeypatch):
    """benchmarks/bench_load_model.py (README's "Loading" figures): both ways timed, alternately, and
    their models compared tensor by tensor; a model that differs in one value is told apart."""
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench_load_model", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_load_model.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setenv("LDCSR_THREADS", "1")  # main sets it: put back after the test
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--models", "tiny", "--dtypes", "float32,bfloat16", "--repeats", "5",
                           "--json", str(tmp_path / "load.json")]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = json.loads((tmp_path / "load.json").read_text())["rows"]
    assert [(r["model"], r["dtype"], r["same_tensors"]) for r in rows] == [("tiny", "float32", True),
                                                                           ("tiny", "bfloat16", True)]
    assert all(len(r[k][way]) == 5 and min(r[k][way]) > 0 for r in rows for k in ("wall_s", "cpu_s")
               for way in ("load_model", "plain"))
    plain = bench.plain_load(tiny_file, CPU, torch.float32)
    assert bench.differences(ldcsr_core.load_model(tiny_file, device="cpu", dtype="float32"), plain) == []
    with torch.no_grad():
        plain.first_stage_model.post_quant_conv.weight[0, 0, 0, 0] += 1e-3
    assert bench.differences(ldcsr_core.load_model(tiny_file, device="cpu", dtype="float32"), plain) == [
        "first_stage_model.post_quant_conv.weight"]
