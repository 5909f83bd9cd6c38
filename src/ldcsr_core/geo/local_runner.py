"""Running a raster job's tiles in this process: one after another on a CPU; on a card, nearby
tiles of one window geometry as one batch while the next ones are read (the other runner, on a
Dask cluster, is :class:`ldcsr_core.geo.distributed.DaskRunner`)."""

from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator

import numpy as np

__all__ = ["LocalRunner", "infer_tile", "run_triplets", "check_runner"]


def check_runner(runner):
    """``runner`` if it runs tiles (a :class:`LocalRunner`, a ``DaskRunner``: it has ``map``) or
    None (a :class:`LocalRunner` of the run's model); anything else is an :class:`InputError`
    naming the parameter, before any work (a string failed after the scene was read, with
    "'str' object has no attribute 'map'")."""
    if runner is None or callable(getattr(runner, "map", None)):
        return runner
    from ..errors import InputError

    raise InputError("runner must be a ldcsr_core.geo.local_runner.LocalRunner, a "
                     f"ldcsr_core.geo.distributed.DaskRunner or None, got {type(runner).__name__} {runner!r:.60}")


def infer_tile(model, arr: np.ndarray, tile, plan, *, mode: str, seed: int, processor=None) -> np.ndarray:
    """Run every triplet of ``arr`` ``(h, w, 3·g)`` through the engine; ``(H, W, 3·g)`` float32.
    ``processor``: the run's :class:`~ldcsr_core.tiling.TileProcessor` (out-of-memory fallback
    that persists across tiles); a new one is made if None."""
    from ..tiling import TileProcessor

    if processor is None:
        processor = TileProcessor(model, plan, mode=mode, seed=seed)
    return _launch_tiles(processor, [(tile, arr)]).result()[0]


def run_triplets(processor, group: list) -> list[np.ndarray]:
    """The outputs ``(H, W, 3·g)`` float32 of every ``(tile, arr)`` of ``group`` (tiles of one
    window geometry, inputs ``(h, w, 3·g)``: each triplet one model pass), as a Run computes them
    (the live lens's windows too)."""
    return _launch_tiles(processor, group).result()


def _launch_tiles(processor, group: list):
    """Every triplet of every ``(tile, arr)`` of ``group`` (tiles of one window geometry) launched
    through ``processor.submit`` (one batch where the device takes batches, one window at a time
    elsewhere): a :class:`~ldcsr_core.tiling.HostOutputs` whose ``result()`` is the outputs."""
    from ..tiling import HostOutputs

    g = group[0][1].shape[-1] // 3
    items = [(np.ascontiguousarray(arr[..., 3 * k:3 * k + 3]), tile) for tile, arr in group for k in range(g)]
    pending = processor.submit(items)

    def outputs() -> list[np.ndarray]:
        outs = [np.asarray(o, dtype=np.float32) for o in pending.result()]
        return [outs[i * g] if g == 1 else np.concatenate(outs[i * g:(i + 1) * g], axis=-1)
                for i in range(len(group))]
    return HostOutputs(wait=outputs)


class LocalRunner:
    """Runs tiles in this process: one after another on a CPU; on a GPU nearby tiles of one window
    geometry as one batch, the next tiles read by a background thread, and the next batch
    launched, while the card computes (:func:`~ldcsr_core.prefetch.pipelined`)."""

    def __init__(self, model):
        self.model = model

    def map(self, jobs: Iterable[tuple[Any, np.ndarray | None]], plan, *, mode: str, seed: int
            ) -> Iterator[tuple[Any, np.ndarray | None]]:
        from ..prefetch import pipelined
        from ..tiling import HostOutputs, TileProcessor

        processor = TileProcessor(self.model, plan, mode=mode, seed=seed)  # one per run

        def key(job):
            tile, arr = job
            return None if arr is None else (processor.signature(tile), arr.shape[-1])

        def launch(group):
            if group[0][1] is None:  # all-invalid tiles: nothing to compute
                return HostOutputs([None] * len(group))
            return _launch_tiles(processor, group)

        with contextlib.closing(pipelined(processor, jobs, key, launch)) as steps:
            for (tile, _), out in steps:  # a cancel closes this generator, and so stops ``steps`` now
                yield tile, out

    def close(self) -> None:
        pass
