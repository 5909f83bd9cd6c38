"""Model-sized tile plans, the fast upsampler's exactness, the OOM fallback and device handling."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from suite_helpers import small_device
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ldcsr_core
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import DeviceError, InputError
from ldcsr_core.models.resample import AxisWindow, Window2d
from ldcsr_core.rules import DEFAULT_TILE_OUT, LATENT, MAX_TILE_MARGIN, TILE_OVERLAP_OUT
from ldcsr_core.tileplan import plan_tiles
from ldcsr_core.tiling import model_window, plan_for_model, run_plan
from ldcsr_core.training import metrics


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


psnr = partial(metrics.psnr, data_range=1.0)  # engine images in [0, 1]


# -- plans -------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(h=st.integers(4, 400), w=st.integers(4, 400), s=st.floats(1.05, 8.0), window=st.integers(48, 1200),
       ov=st.integers(0, 64))
@example(h=4, w=191, s=5.40234375, window=48, ov=0)  # a float step once made the last window 56 px
def test_balanced_plan_properties(h, w, s, window, ov):
    H, W = round(h * s), round(w * s)
    if H <= h or W <= w:
        return
    plan = plan_tiles((h, w), (H, W), window=window, overlap_out=ov)
    cover = np.zeros((H, W), np.int32)
    limit = max(window // LATENT * LATENT, 48)
    if H > limit:
        assert plan.overlap_out[0] >= min(math.ceil(ov / LATENT) * LATENT, (limit // 2 - LATENT) // LATENT * LATENT)
    for t in plan.tiles:
        y0, x0, hh, ww = t.write
        assert y0 % LATENT == 0 and x0 % LATENT == 0
        assert hh <= limit and ww <= limit, "a window may not exceed the maximum"
        assert t.read_y.start <= math.floor(y0 * h / H) and t.read_y.stop >= min(h, math.ceil((y0 + hh) * h / H))
        cover[y0:y0 + hh, x0:x0 + ww] += 1
    assert cover.min() >= 1
    # neighbours overlap by at least the requested overlap (rounded up to the latent grid)
    need = plan.overlap_out[0]
    ys = sorted({t.write_y for t in plan.tiles}, key=lambda sp: sp.start)
    for a, b in zip(ys, ys[1:]):
        assert a.stop - b.start >= need
    # balanced: no window is much smaller than the others (no thin leftover)
    sizes = [sp.size for sp in ys]
    assert max(sizes) - min(sizes) < 2 * LATENT


def test_model_sized_windows_read_a_bounded_margin():
    big = plan_tiles((512, 512), (2048, 2048), window=528, overlap_out=16)
    for t in big.tiles:  # context beyond MAX_TILE_MARGIN LR px only costs time on big windows
        y0, x0, hh, ww = t.write
        assert math.floor(y0 / 4) - t.read_y.start <= MAX_TILE_MARGIN
        assert t.read_y.stop - math.ceil((y0 + hh) / 4) <= MAX_TILE_MARGIN
    assert max(t.read_y.size for t in big.tiles) == 132 + 2 * MAX_TILE_MARGIN < 132 + 2 * (8 + 132 // 8)
    fixed = plan_tiles((512, 512), (2048, 2048), tile=132)  # tile= keeps its 8 + tile/8 margin
    inner = [t for t in fixed.tiles if t.read_y.start > 0 and t.read_y.stop < 512]
    assert inner and all(t.read_y.size == 132 + 2 * (8 + 132 // 8) for t in inner)


def test_official_weights_plan_256_windows_with_the_measured_overlap(tiny):
    tiny.tile_max = DEFAULT_TILE_OUT
    try:
        plan = plan_for_model(tiny, (300, 300), (1200, 1200))
        assert max(plan.tile_out) <= DEFAULT_TILE_OUT
        assert min(plan.overlap_out) >= TILE_OVERLAP_OUT
    finally:
        tiny.tile_max = None


def test_model_window_follows_the_budget_and_tile_overrides(tiny):
    small, big = model_window(tiny, 4.0, budget_mb=64), model_window(tiny, 4.0, budget_mb=1024)
    assert small < big and small % LATENT == 0
    assert len(plan_for_model(tiny, (128, 128), (512, 512))) == 1  # fits: one window
    assert plan_for_model(tiny, (128, 128), (512, 512), tile=64) == plan_tiles((128, 128), (512, 512), 64)
    with pytest.raises(InputError):
        plan_tiles((10, 10), (40, 40), window=16)


def test_window_limits_travel_in_our_checkpoint_metadata(tmp_path, tiny):
    tiny.tile_max = 320
    try:
        p = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="t")
    finally:
        tiny.tile_max = None
    m = ldcsr_core.load_model(p, device="cpu")
    assert m.tile_max == 320 and m.tile_overlap == TILE_OVERLAP_OUT
    assert max(plan_for_model(m, (200, 200), (800, 800)).tile_out) <= 320


@pytest.mark.parametrize("scale", [2.0, 2.5, 3.7, 4.0])
@pytest.mark.parametrize("mode,floor_db", [("fast", 45.0), ("diffusion", 35.0)])
def test_model_sized_tiles_match_one_window(tiny, scale, mode, floor_db):
    rng = np.random.default_rng(3)
    img = rng.random((52, 60, 3)).astype(np.float32)  # at ×2 already 2×2 windows, at ×3.7 and ×4 3×3 (an inner one)
    H, W = round(52 * scale), round(60 * scale)
    ref = ldcsr_core.upscale(img, out_shape=(H, W), model=tiny, mode=mode, tile=10_000)
    plan = plan_tiles((52, 60), (H, W), window=96, overlap_out=TILE_OVERLAP_OUT)
    assert len({t.write_y.start for t in plan.tiles}) > 1 and len({t.write_x.start for t in plan.tiles}) > 1
    out = np.empty((H, W, 3), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    run_plan(tiny, plan, lambda y0, x0, h, w: img[y0:y0 + h, x0:x0 + w], sink, mode=mode, seed=0)
    assert psnr(np.clip(out, 0, 1), ref) > floor_db


# -- the fast upsampler is the official computation ---------------------------------------------
@pytest.mark.parametrize("lr,out,win", [
    ((20, 30), (80, 120), None),          # ×4: the finest level as one phase-averaged conv
    ((21, 17), (78, 63), None),           # anisotropic, non-integer
    ((16, 16), (24, 24), None),           # ×1.5
    ((16, 16), (128, 128), None),         # ×8
    ((26, 33), None, Window2d(AxisWindow(41, 164, 5, 26, 24, 48), AxisWindow(37, 148, 2, 33, 16, 64))),  # tile ×4
    ((26, 33), None, Window2d(AxisWindow(41, 103, 5, 26, 24, 48), AxisWindow(37, 95, 2, 33, 16, 64))),   # tile ×2.5
])
def test_fast_upsampler_equals_reference(lr, out, win):
    from ldcsr_core.models.autoencoder import SADNUpsampler
    torch.manual_seed(0)
    up = SADNUpsampler(32, 3, 64).eval()
    x = torch.randn(1, 32, *lr).contiguous(memory_format=torch.channels_last)
    win = win or Window2d.whole(lr, out)
    s = win.y.in_full / win.y.out_full
    with torch.no_grad():
        ref, got = up.forward_reference(x, win, s), up(x, win, s)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, atol=2e-5 * float(ref.abs().max()), rtol=0)


# -- out of memory → smaller windows -------------------------------------------------------------
def test_out_of_memory_retries_with_smaller_windows(tiny, monkeypatch, caplog):
    img = np.random.default_rng(4).random((60, 60, 3)).astype(np.float32)
    ref = ldcsr_core.upscale(img, 4, model=tiny, mode="fast", tile=10_000)
    sizes = small_device(monkeypatch, tiny, 150 * 150)
    out = ldcsr_core.upscale(img, 4, model=tiny, mode="fast")  # one 240² window: too big
    assert out.shape == ref.shape
    assert sizes[0] == 240 * 240 and max(sizes[1:]) <= 150 * 150
    assert psnr(out, ref) > 40
    assert "out of memory" in caplog.text


@pytest.mark.parametrize("message", [
    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED",
    "cuFFT error: CUFFT_ALLOC_FAILED"])
def test_a_cuda_librarys_allocation_failure_retries_with_smaller_windows(tiny, monkeypatch, message):
    """cuBLAS, cuDNN and cuFFT allocate outside torch's caching allocator and say so in their own
    words (torch's strings; cuDNN 9's): a card nearly full is the same out of memory."""
    img = np.random.default_rng(4).random((60, 60, 3)).astype(np.float32)
    sizes = small_device(monkeypatch, tiny, 150 * 150, error=RuntimeError(message))
    out = ldcsr_core.upscale(img, 4, model=tiny, mode="fast")
    assert out.shape == (240, 240, 3) and sizes[0] == 240 * 240 and max(sizes[1:]) <= 150 * 150


def test_other_errors_are_not_retried(tiny, monkeypatch):
    def broken(self, lr, win, **kw):
        raise RuntimeError("something else")
    monkeypatch.setattr(type(tiny), "run_window", broken)
    with pytest.raises(RuntimeError, match="something else"):
        ldcsr_core.upscale(np.zeros((20, 20, 3), np.float32), 2, model=tiny, mode="fast")


def test_is_out_of_memory():
    from ldcsr_core.tiling import is_out_of_memory
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: can't allocate memory"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    # oneDNN under ulimit -v: a smaller window may fit, so the tile loop retries on it too
    assert is_out_of_memory(RuntimeError("could not create a primitive"))
    from ldcsr_core.errors import (
        is_out_of_memory as torch_free,  # one rule, also for the CLI's message
    )

    assert torch_free is is_out_of_memory


# -- devices and dtypes ------------------------------------------------------------------------
def test_device_selection(monkeypatch):
    from ldcsr_core.devices import resolve_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="MPS"):
        resolve_device("mps")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu9")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto").type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"  # CUDA first
    assert resolve_device(torch.device("cpu")).type == "cpu"


def test_a_cuda_card_number_the_machine_lacks_is_refused(monkeypatch):
    """device='cuda:3' on a one-GPU machine passed resolve_device, and load_model failed when the
    weights moved, with torch's 'CUDA error: invalid device ordinal' (a RuntimeError, exit 1
    from the CLI's callers): now one DeviceError (exit 7) before the checkpoint is read."""
    import ldcsr_core
    from ldcsr_core.devices import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0") and resolve_device("cuda").index is None
    for dev in ("cuda:3", torch.device("cuda", 1)):
        with pytest.raises(DeviceError, match=r"has 1 CUDA GPU, numbered 0$"):
            resolve_device(dev)
    with pytest.raises(DeviceError, match="'cuda:1'"):
        ldcsr_core.load_model("no such file.safetensors", device="cuda:1")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_models_run_and_return_float(tmp_path, tiny, dtype):
    """The GPU dtypes run end to end (here on the CPU): float outputs, close to float32."""
    p = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="t")
    m = ldcsr_core.load_model(p, device="cpu", dtype=dtype)
    assert next(m.parameters()).dtype == getattr(torch, dtype) and m.scale_factor.dtype == torch.float32
    img = np.random.default_rng(5).random((24, 24, 3)).astype(np.float32)
    ref = ldcsr_core.upscale(img, 2.5, model=tiny, mode="fast")
    for mode in ("fast", "diffusion"):
        out = ldcsr_core.upscale(img, 2.5, model=m, mode=mode)
        assert out.dtype == np.float32 and np.isfinite(out).all()
    assert psnr(ldcsr_core.upscale(img, 2.5, model=m, mode="fast"), ref) > 25
    with pytest.raises(ldcsr_core.ConfigError, match="dtype"):
        ldcsr_core.load_model(p, device="cpu", dtype="int8")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_super_resolve_takes_float32_input_on_half_precision_models(tmp_path, tiny, dtype):
    """The README's API example: load_model's default ("auto") is bfloat16 on AMX CPUs and float16
    on cards, and super_resolve is still called with a float32 tensor (it raised a dtype error)."""
    p = ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name="t")
    m = ldcsr_core.load_model(p, device="cpu", dtype=dtype)
    lr = torch.rand(1, 3, 16, 16) * 2 - 1
    ref = tiny.super_resolve(lr, (40, 40), mode="fast")
    for mode in ("fast", "diffusion"):
        out = m.super_resolve(lr, (40, 40), mode=mode, generator=torch.Generator().manual_seed(0))
        assert out.shape == (1, 3, 40, 40) and out.dtype == torch.float32 and torch.isfinite(out).all()
    assert (m.super_resolve(lr, (40, 40), mode="fast") - ref).abs().mean() < 0.05
