"""GPU planning without a GPU (issue 22): the batch budget comes from the card's free memory
(``torch.cuda.mem_get_info``, simulated here), the windows are the CPU's, and ``dtype="auto"``
means float16 on CUDA."""

from __future__ import annotations

import pytest
import torch

from ldcsr_core import precision, window_sizing
from ldcsr_core.config import compact_config


class CudaModel(torch.nn.Module):
    """Stands in for a model on a CUDA device: the planner reads its config, limits, device, dtype."""

    def __init__(self, dtype=torch.float32, tile_max=None):
        super().__init__()
        self.config = compact_config()
        self.tile_max = tile_max
        self.w = torch.nn.Parameter(torch.zeros(1, dtype=dtype))

    @property
    def device(self):
        return torch.device("cuda", 0)


@pytest.fixture
def card(monkeypatch):
    free = {"bytes": 100 * 2 ** 30}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free["bytes"], 141 * 2 ** 30))
    return free


def test_budget_is_half_the_free_card_memory(card):
    assert window_sizing.memory_budget_mb(torch.device("cuda", 0)) == pytest.approx(50 * 1024)
    card["bytes"] = 2 ** 30
    assert window_sizing.memory_budget_mb(torch.device("cuda", 0)) == pytest.approx(512)
    card["bytes"] = 2 ** 28  # a nearly full card: a floor, and the out-of-memory fallback beyond
    assert window_sizing.memory_budget_mb(torch.device("cuda", 0)) == pytest.approx(window_sizing.DEFAULT_BUDGET_MB / 4)
    assert window_sizing.memory_budget_mb(torch.device("cpu")) == window_sizing.DEFAULT_BUDGET_MB


def test_a_large_card_gets_large_batches_of_the_cpus_windows(card):
    """A card's memory goes into batches, not into larger windows: the picture depends on the windows."""
    cpu_side = window_sizing.model_window(CudaModel(), 4.0, budget_mb=window_sizing.DEFAULT_BUDGET_MB)
    assert window_sizing.model_window(CudaModel(), 4.0) >= 6 * cpu_side  # what the card's budget would allow
    shapes = (512, 512), (2048, 2048)
    for dtype in (torch.float32, torch.float16):
        plan = window_sizing.plan_for_model(CudaModel(dtype), *shapes, mode="fast")
        assert max(plan.tile_out) <= cpu_side < 2048 and len(plan.tiles) > 1
        assert window_sizing.batch_size(CudaModel(dtype), plan) >= min(64, len(plan.tiles))  # one launch or few
    fp32 = window_sizing.batch_size(CudaModel(), plan)
    card["bytes"] = 2 * 2 ** 30
    assert 1 <= window_sizing.batch_size(CudaModel(), plan) < fp32  # a fuller card: smaller batches
    assert window_sizing.model_window(CudaModel(tile_max=256), 4.0) == 256  # the official weights' limit holds


def test_auto_is_float16_on_cuda_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv(precision.ENV, raising=False)
    cuda = torch.device("cuda", 0)
    assert precision.resolve_dtype("auto", cuda) is torch.float16
    assert precision.resolve_dtype("float32", cuda) is torch.float32
    assert precision.resolve_dtype("auto", cuda, float32_only=True) is torch.float32  # training
    assert precision.describe(cuda) == "float16 (auto: half precision on CUDA)"
    monkeypatch.setenv(precision.ENV, "float32")
    assert precision.resolve_dtype("auto", cuda) is torch.float32


@pytest.mark.parametrize("mode", ["fast", "diffusion"])
def test_windows_do_not_depend_on_the_device(card, mode):
    """The picture depends on the windows (diffusion: the UNet and detail decoder; fast: the
    GroupNorms and channel attention), so they are fixed by the model and the scale alone: a card
    of any free memory, in any float type, gets the CPU's plan."""
    shapes = ((512, 512), (2048, 2048))
    cpu_plan = window_sizing.plan_for_model(CudaModel(), *shapes, budget_mb=window_sizing.DEFAULT_BUDGET_MB)
    assert len(cpu_plan.tiles) > 1
    for free in (100 * 2 ** 30, 2 ** 29):
        card["bytes"] = free
        for dtype in (torch.float32, torch.float16):
            assert window_sizing.plan_for_model(CudaModel(dtype), *shapes, mode=mode) == cpu_plan
    if mode == "diffusion":
        assert window_sizing.plan_for_model(CudaModel(), *shapes, mode=mode, budget_mb=10 ** 6) == cpu_plan
    else:  # fast mode takes a caller's budget_mb (another plan): here one window
        assert len(window_sizing.plan_for_model(CudaModel(), *shapes, mode=mode, budget_mb=10 ** 6).tiles) == 1
    assert window_sizing.engine_window(CudaModel(tile_max=256), 4.0) == 256  # the official weights' limit holds


def test_layout_is_channels_last_on_cpu_and_contiguous_on_cuda(monkeypatch):
    """CPU: NHWC (oneDNN); CUDA: NCHW and cuDNN's autotuner (channels-last was slower on an H200)."""
    from ldcsr_core import build_model
    from ldcsr_core.devices import device_layout

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    model = build_model()  # on the CPU: channels-last decoders and condition encoder
    conv = model.first_stage_model.decoder.head.weight
    assert model.memory_format is torch.channels_last and conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()
    device_layout(model, torch.device("cuda", 0))  # what load_model does for a card (weights stay here)
    assert model.memory_format is torch.contiguous_format and not model.encoders_channels_last
    assert model.first_stage_model.decoder.head.weight.is_contiguous()
    assert torch.backends.cudnn.benchmark
