"""Concurrency, callbacks, cancellation and repeated use of the Python API (power users' scripts)."""

import threading

import numpy as np
import pytest
import torch

import ldcsr_core
from ldcsr_core import Cancelled, threads
from ldcsr_core.config import tiny_test_config


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(config=tiny_test_config(), seed=0)


def _image(n=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, n, 3), dtype=np.uint8)


def _in_threads(fns):
    out, errors = [None] * len(fns), []

    def run(i, fn):
        try:
            out[i] = fn()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    ths = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        raise errors[0]
    return out


def test_threads_sharing_a_model_get_the_sequential_results(tiny):
    other = ldcsr_core.build_model(config=tiny_test_config(), seed=1)
    jobs = [(_image(64, k), model, mode, k) for k, (model, mode) in
            enumerate([(tiny, "fast"), (tiny, "diffusion"), (other, "fast"), (tiny, "diffusion")])]

    def call(im, model, mode, seed):
        return ldcsr_core.upscale(im, 2, model=model, mode=mode, seed=seed, tile=32 if mode == "fast" else None)
    with threads.fixed_threads(1):
        sequential = [call(*job) for job in jobs]

    def in_thread(job):
        with threads.fixed_threads(1):  # bit-identical diffusion sums whatever the machine's load
            return call(*job)
    parallel = _in_threads([lambda job=job: in_thread(job) for job in jobs])
    for a, b in zip(sequential, parallel):
        np.testing.assert_array_equal(a, b)


def test_a_thread_new_to_torch_does_not_keep_another_threads_tile_count(tiny, monkeypatch):
    """A tile's count is also torch's process-wide one while it runs, which a thread new to torch
    takes as its own: it used to keep it after its own call (and cap its later tiles by it)."""
    monkeypatch.delenv(threads.ENV, raising=False)  # the auto policy, whatever the caller's shell set
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    inside, release = threading.Event(), threading.Event()

    def other_tile():  # a tile running on a count of its own (1) while the fresh thread starts
        with threads.fixed_threads(1), threads.tile_threads():
            inside.set()
            release.wait(20)
    try:
        t = threading.Thread(target=other_tile)
        t.start()
        assert inside.wait(20)
        try:
            def fresh():
                ldcsr_core.upscale(_image(40), 2, model=tiny, mode="fast")
                return torch.get_num_threads(), threads.policy()[1]
            (after, most), = _in_threads([fresh])
        finally:
            release.set()
            t.join()
        assert after == 2
        assert most == min(2, threads.available_cores())
        (later,), = _in_threads([lambda: (torch.get_num_threads(),)])
        assert later == 2  # and the process-wide count is back
    finally:
        torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def diffusion_ref(tiny):
    """The diffusion picture of one image before any callback raised: each case's model, after its
    raise, must give it again (computed once, not once per case)."""
    im = _image(96)
    return im, ldcsr_core.upscale(im, 2, model=tiny, mode="diffusion", seed=3)


@pytest.mark.parametrize("error", [Cancelled, RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("at", ["first", "last"])
def test_a_callback_that_raises_stops_cleanly_and_the_model_is_reusable(tiny, diffusion_ref, error, at):
    im, ref = diffusion_ref
    before = torch.get_num_threads()
    seen = []

    def callback(info):
        seen.append(info.done)
        if info.done == (0 if at == "first" else info.total):
            raise error("stop")
    with pytest.raises(error):
        ldcsr_core.upscale(im, 2, model=tiny, mode="diffusion", seed=3, callback=callback)
    assert torch.get_num_threads() == before and not tiny.training
    np.testing.assert_array_equal(ldcsr_core.upscale(im, 2, model=tiny, mode="diffusion", seed=3), ref)


def test_build_model_from_several_threads_gives_each_seeds_weights():
    """The weights come from torch's global generator: threads used to draw from each other's seeds."""
    cfg = tiny_test_config()
    want = {s: ldcsr_core.build_model(config=cfg, seed=s).state_dict() for s in range(4)}
    torch.manual_seed(7)
    expected_draw = torch.rand(3)
    torch.manual_seed(7)
    for _ in range(2):
        got = _in_threads([lambda s=s: ldcsr_core.build_model(config=cfg, seed=s).state_dict() for s in range(4)])
        for s in range(4):
            assert all(torch.equal(want[s][k], got[s][k]) for k in want[s]), f"seed {s}"
    assert torch.equal(torch.rand(3), expected_draw)  # the caller's generator is left as it was


def test_adapt_leaves_the_callers_torch_generator_as_it_was(tiny):
    """adapt used to reseed torch's global generator with its own seed (and leave it so)."""
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    ldcsr_core.adapt(_image(64, 5), 2, base=tiny, steps=1, seed=0)  # any size: the draws are what counts
    assert torch.equal(torch.rand(3), expected_draw)


def test_load_model_leaves_the_callers_torch_generator_as_it_was(tiny, tmp_path):
    """load_model built the model with random initial weights drawn from torch's global generator
    (then replaced by the file's): a script's seeded draws after it depended on the load."""
    path = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="m")
    torch.manual_seed(5)
    expected_draw = torch.rand(3)
    torch.manual_seed(5)
    model = ldcsr_core.load_model(path, device="cpu", dtype="float32")
    assert torch.equal(torch.rand(3), expected_draw)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), tiny.state_dict().values()))
