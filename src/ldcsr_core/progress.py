"""The one progress/cancel protocol of every run (cf. k-diffusion's sampler ``callback``).

A run calls ``callback(TileProgress(...))`` once before the first tile (``done == 0``) and once
after each finished tile.  To stop a run, the callback raises :class:`~ldcsr_core.Cancelled`; the
run then ends within one tile and leaves no output behind.  :func:`polling` adapts a
``should_stop() -> bool`` predicate (a Cancel button, QGIS's ``feedback.isCanceled``) to this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from .errors import Cancelled, InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .tileplan import Tile

__all__ = ["TileProgress", "ProgressCallback", "polling", "one_run"]


@dataclass(frozen=True)
class TileProgress:
    """A run's state after a tile: ``done`` of ``total`` tiles, the tile and its model output."""

    done: int
    total: int
    tile: "Tile | None" = None
    output: "np.ndarray | None" = None  # the tile's output window (H×W×C float32, unblended)

    def __post_init__(self):  # 'a' tiles done failed only in .fraction, with Python's TypeError
        import numpy as np

        from .rules import check_count
        from .tileplan import Tile

        done, total = check_count(self.done, "done", 0), check_count(self.total, "total", 0)
        if done > total:
            raise InputError(f"done must be at most total, got done={done} of total={total}")
        object.__setattr__(self, "done", done)
        object.__setattr__(self, "total", total)
        if self.tile is not None and not isinstance(self.tile, Tile):
            raise InputError(f"tile must be a Tile or None, got {type(self.tile).__name__}")
        if self.output is not None and not isinstance(self.output, np.ndarray):
            raise InputError(f"output must be a NumPy array or None, got {type(self.output).__name__}")

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[TileProgress], None]


def polling(should_stop: Callable[[], bool],
            then: Optional[ProgressCallback] = None) -> ProgressCallback:
    """A callback that raises :class:`Cancelled` when ``should_stop()`` is true, else calls ``then``."""
    from .rules import check_callable

    check_callable(should_stop, "should_stop", optional=False)
    check_callable(then, "then")

    def callback(info: TileProgress) -> None:
        if should_stop():
            raise Cancelled("cancelled by the user")
        if then is not None:
            then(info)

    return callback


def one_run(callback: Optional[ProgressCallback], total: int) -> Optional[ProgressCallback]:
    """``callback`` for several runs of the tile loop shown as one of ``total`` tiles (the
    self-check's windows and scales): ``done == 0`` once, then ``done`` = 1 … ``total`` across the
    runs, each with its tile and output; the later runs' own ``done == 0`` calls are not passed on."""
    if callback is None:
        return None
    state = {"done": 0, "started": False}

    def each(info: TileProgress) -> None:
        if info.done == 0:
            if not state["started"]:
                state["started"] = True
                callback(TileProgress(0, total))
            return
        state["done"] += 1
        callback(TileProgress(state["done"], max(total, state["done"]), info.tile, info.output))

    return each
