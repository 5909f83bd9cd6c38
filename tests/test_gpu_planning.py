"""GPU planning without a GPU (issue 22): the window budget comes from the card's free memory
(``torch.cuda.mem_get_info``, simulated here) and ``dtype="auto"`` means float16 on CUDA."""

from __future__ import annotations

import pytest
import torch

from ldcsr_core import precision, tiling
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
    assert tiling.memory_budget_mb(torch.device("cuda", 0)) == pytest.approx(50 * 1024)
    card["bytes"] = 2 ** 30
    assert tiling.memory_budget_mb(torch.device("cuda", 0)) == pytest.approx(512)
    card["bytes"] = 2 ** 28  # a nearly full card: a floor, and the out-of-memory fallback beyond
    assert tiling.memory_budget_mb(torch.device("cuda", 0)) == pytest.approx(tiling.DEFAULT_BUDGET_MB / 4)
    assert tiling.memory_budget_mb(torch.device("cpu")) == tiling.DEFAULT_BUDGET_MB


def test_a_large_card_gets_large_windows_and_half_precision_larger_still(card):
    cpu_side = tiling.model_window(CudaModel(), 4.0, budget_mb=tiling.DEFAULT_BUDGET_MB)
    fp32 = tiling.model_window(CudaModel(), 4.0)
    fp16 = tiling.model_window(CudaModel(torch.float16), 4.0)
    assert fp32 >= 6 * cpu_side and fp16 > 1.3 * fp32
    plan = tiling.plan_tiles((512, 512), (2048, 2048), window=fp16)
    assert len(plan.tiles) == 1  # 2048² ×4 in one window on a 100 GB card (196 on the CPU budget)
    card["bytes"] = 4 * 2 ** 30
    assert tiling.model_window(CudaModel(), 4.0) < fp32
    assert tiling.model_window(CudaModel(tile_max=256), 4.0) == 256  # the official weights' limit holds


def test_auto_is_float16_on_cuda_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv(precision.ENV, raising=False)
    cuda = torch.device("cuda", 0)
    assert precision.resolve_dtype("auto", cuda) is torch.float16
    assert precision.resolve_dtype("float32", cuda) is torch.float32
    assert precision.resolve_dtype("auto", cuda, float32_only=True) is torch.float32  # training
    assert precision.describe(cuda) == "float16 (auto: half precision on CUDA)"
    monkeypatch.setenv(precision.ENV, "float32")
    assert precision.resolve_dtype("auto", cuda) is torch.float32
