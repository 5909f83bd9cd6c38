"""Several windows per batch (issue 22 part 2), checked on the CPU: windows of one geometry go
through the model together and give what they give one by one; a batch that runs out of memory is
halved; cancel stops within one batch; a CPU runs one window at a time, a card as many as fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ldcsr_core
from ldcsr_core import tiling
from ldcsr_core.config import tiny_test_config
from ldcsr_core.prefetch import batches
from ldcsr_core.tileplan import plan_tiles, window_signature

PROCESS_TILES = tiling.process_tiles


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


def _image(h, w, seed=0):
    return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


def _run(model, img, plan, mode, monkeypatch, batch, seed=2):
    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: batch)
    out = np.empty(plan.out_shape + (3,), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    calls = []
    monkeypatch.setattr(tiling, "process_tiles", lambda *a, **k: calls.append(len(a[2])) or PROCESS_TILES(*a, **k))
    tiling.run_plan(model, plan, lambda y0, x0, h, w: img[y0:y0 + h, x0:x0 + w], sink, mode=mode, seed=seed)
    return out, calls


def test_interior_windows_share_a_signature_border_ones_do_not():
    plan = plan_tiles((96, 128), (240, 320), window=64, overlap_out=16)  # ×2.5: taps vary with position
    sigs = [window_signature(plan, t) for t in plan.tiles]
    ny = len({t.write_y.start for t in plan.tiles})
    nx = len(plan.tiles) // ny
    row = sigs[nx:2 * nx]  # the second row: its interior tiles are translates of each other
    assert len(set(row[1:-1])) < len(row) - 2 and row[0] != row[1] and row[-1] != row[-2]
    assert sigs[0] != sigs[nx]  # the top border row differs from the rows below


@pytest.mark.parametrize("shape,scale,mode,batched", [((64, 96), 2.0, "fast", True),
                                                      ((48, 64), 4.0, "diffusion", True),
                                                      ((39, 57), 4.0, "diffusion", True),
                                                      ((64, 96), 2.5, "diffusion", False)])
def test_batched_windows_equal_one_by_one(tiny, monkeypatch, shape, scale, mode, batched):
    """Integer scales: interior windows are translates and share batches, also where the output
    length is not a multiple of the latent grid (39×57 → 156×228); at ×2.5 the taps shift from
    window to window, so few windows batch — and results never change."""
    img = _image(*shape, seed=int(scale))
    H, W = int(round(shape[0] * scale)), int(round(shape[1] * scale))
    plan = plan_tiles(shape, (H, W), window=64, overlap_out=16)
    one, calls1 = _run(tiny, img, plan, mode, monkeypatch, batch=1)
    many, calls4 = _run(tiny, img, plan, mode, monkeypatch, batch=4)
    assert max(calls1) == 1 and sum(calls4) == sum(calls1) == len(plan.tiles)
    if batched:  # fewer model calls; windows at the image border batch only with themselves
        assert max(calls4) > 1 and len(calls4) < len(calls1)
    np.testing.assert_allclose(many, one, atol=2e-5, rtol=0)


def test_a_batch_out_of_memory_is_halved(tiny, monkeypatch):
    img = _image(40, 96)  # two rows of interior windows: groups of 6, more than the card holds
    plan = plan_tiles((40, 96), (160, 384), window=64, overlap_out=16)
    ref, _ = _run(tiny, img, plan, "fast", monkeypatch, batch=1)
    def small_card(model, lrs, tiles, *a, **k):  # a device that holds two windows at a time
        if len(tiles) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return PROCESS_TILES(model, lrs, tiles, *a, **k)

    monkeypatch.setattr(tiling, "process_tiles", small_card)
    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 8)
    processor = tiling.TileProcessor(tiny, plan, mode="fast")
    out = np.empty(plan.out_shape + (3,), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    groups = list(batches(plan.tiles, processor.signature, processor.batch))
    assert max(len(g) for g in groups) > 2  # a batch the card cannot hold
    merger = tiling.RowMerger(plan, sink)
    for group in groups:
        for t, o in zip(group, processor.many([(img[t.read_y.start:t.read_y.stop, t.read_x.start:t.read_x.stop], t)
                                               for t in group])):
            merger.aggregate(o, t)
    merger.finalize()
    assert processor.batch <= 2
    np.testing.assert_allclose(out, ref, atol=2e-5, rtol=0)


def test_cancel_stops_within_one_batch(tiny, monkeypatch):
    img = _image(64, 96)
    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 3)
    calls = []
    monkeypatch.setattr(tiling, "process_tiles", lambda *a, **k: calls.append(len(a[2])) or PROCESS_TILES(*a, **k))
    seen = []
    with pytest.raises(ldcsr_core.Cancelled):
        ldcsr_core.upscale(img, 4, model=tiny, mode="fast", tile=32,
                           callback=ldcsr_core.polling(lambda: len(seen) >= 2, lambda p: seen.append(p.done)))
    assert sum(calls) <= 2 + 3  # the batch holding the second window, at most one more


def test_a_cpu_runs_one_window_at_a_time_a_card_as_many_as_fit(tiny, monkeypatch):
    plan = plan_tiles((512, 512), (2048, 2048), window=608, overlap_out=0)
    assert tiling.batch_size(tiny, plan) == 1

    class OnCard(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.config, self.w = model.config, torch.nn.Parameter(torch.zeros(1, dtype=torch.float16))

        @property
        def device(self):
            return torch.device("cuda", 0)

    free = {"bytes": 100 * 2 ** 30}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free["bytes"], 141 * 2 ** 30))
    shipped = OnCard(ldcsr_core.load_model(device="cpu", dtype="float32"))
    big = tiling.batch_size(shipped, plan)
    free["bytes"] = 8 * 2 ** 30
    assert big > tiling.batch_size(shipped, plan) >= 1 and big > 8


def test_a_card_gets_the_next_batch_before_the_host_takes_this_ones_outputs(tiny, monkeypatch):
    """Outputs come back asynchronously (issue 22 part 2): on a card each batch is launched before
    the host waits for the previous batch's outputs, so the card computes while the host blends;
    the pixels are those of the one-by-one run."""
    img = _image(40, 96)  # two rows of interior windows: groups of 6, more than the card holds
    plan = plan_tiles((40, 96), (160, 384), window=64, overlap_out=16)
    ref, _ = _run(tiny, img, plan, "fast", monkeypatch, batch=1)
    events = []

    def card(*a, **k):
        n = len(events)
        events.append(("launch", n))
        assert k.get("deferred") is True  # the loop asks for outputs it can take later
        pending = PROCESS_TILES(*a, **k)

        def wait():
            events.append(("take", n))
            return pending.result()
        return tiling.HostOutputs(wait=wait)

    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 4)
    monkeypatch.setattr(tiling, "process_tiles", card)
    out = np.empty(plan.out_shape + (3,), np.float32)

    def sink(y0, rows):
        out[y0:y0 + rows.shape[0]] = rows

    tiling.run_plan(tiny, plan, lambda y0, x0, h, w: img[y0:y0 + h, x0:x0 + w], sink, mode="fast")
    launches = [n for kind, n in events if kind == "launch"]
    assert len(launches) > 2
    for n in launches[1:]:  # batch n was launched before the outputs of batch n-1 were taken
        assert events.index(("launch", n)) < events.index(("take", launches[launches.index(n) - 1]))
    np.testing.assert_allclose(out, ref, atol=2e-5, rtol=0)


def test_the_noise_schedule_goes_to_the_device_once(tiny, monkeypatch):
    """An upload to a card waits for its queue: the sampler's schedule is moved once per device,
    not once per window."""
    from ldcsr_core.schedules import DDPMSchedule

    moved = []
    real = DDPMSchedule.to
    monkeypatch.setattr(DDPMSchedule, "to", lambda self, device: moved.append(device) or real(self, device))
    model = ldcsr_core.build_model(tiny_test_config(), seed=0)
    ldcsr_core.upscale(_image(64, 96), 4, model=model, mode="diffusion", tile=32)
    ldcsr_core.upscale(_image(64, 96, seed=1), 2, model=model, mode="diffusion", tile=32)
    assert len(moved) == 1


def test_interior_windows_batch_whatever_the_output_length_modulo_the_latent_grid():
    """The latent grid's taps onto the LR pixels are compared as they are: at ×4 an output of
    8·k + 4 pixels (a 2001-px side) batches its interior windows like a multiple of 8 does."""
    for n_in in (2000, 2001, 2003):
        plan = plan_tiles((n_in, n_in), (4 * n_in, 4 * n_in), window=592, overlap_out=32)
        sigs = [window_signature(plan, t) for t in plan.tiles]
        assert len(set(sigs)) == 9, n_in  # 4 corners, 4 edges, the interior


def test_batches_over_a_span_group_one_geometry_across_rows_and_close_the_source():
    closed = []

    def source():
        try:
            yield from "aXbXXcXdXX"
        finally:
            closed.append(True)

    sig = lambda c: c == "X"  # noqa: E731
    assert list(batches(source(), sig, 3)) == [["a"], ["X"], ["b"], ["X", "X"], ["c"], ["X"], ["d"],
                                                      ["X", "X"]]
    assert list(batches(source(), sig, 3, span=5)) == [["a", "b"], ["X", "X", "X"],
                                                              ["c", "d"], ["X", "X", "X"]]
    groups = batches(source(), sig, 3, span=5)
    next(groups)
    groups.close()
    assert closed == [True, True, True]


def test_a_card_batches_interior_windows_of_several_tile_rows_and_blends_in_plan_order(tiny, monkeypatch):
    """On a card the interior windows of several tile rows share a launch (a row alone holds few);
    the merger still receives the tiles in plan order, and the pixels are the one-by-one run's."""
    img = _image(64, 64)
    plan = plan_tiles((64, 64), (256, 256), window=64, overlap_out=16)  # 5×5 windows at ×4: 3 rows of 3 interior
    one, calls1 = _run(tiny, img, plan, "diffusion", monkeypatch, batch=1)
    rows_of = []
    monkeypatch.setattr(tiling, "batch_size", lambda model, plan: 16)
    monkeypatch.setattr(tiling, "process_tiles",
                        lambda *a, **k: rows_of.append({t.write_y.start for t in a[2]}) or PROCESS_TILES(*a, **k))
    out = np.empty(plan.out_shape + (3,), np.float32)
    order = []

    def sink(y0, rows):
        order.append(y0)
        out[y0:y0 + rows.shape[0]] = rows

    tiling.run_plan(tiny, plan, lambda y0, x0, h, w: img[y0:y0 + h, x0:x0 + w], sink, mode="diffusion", seed=2)
    assert len(calls1) == len(plan.tiles) == 25
    sig = lambda t: window_signature(plan, t)  # noqa: E731
    row_by_row = len(list(batches(plan.tiles, sig, 16)))  # groups of consecutive windows only
    assert max(len(r) for r in rows_of) >= 3 and len(rows_of) < row_by_row == 15
    assert order == sorted(order) and order[0] == 0
    np.testing.assert_allclose(out, one, atol=2e-5, rtol=0)
