"""Run a raster's tiles on a Dask cluster (optional extra `cluster`: `pip install ".[cluster]"` from the checkout, or `pip install "dask[distributed]"`).

The client reads each tile's window, the workers run the model on it, and the client feeds the
results, in plan order, into the same ``RowMerger`` and GeoTIFF sink as a single-process run.
Each worker loads the model once (a :class:`ModelPlugin` registered on the cluster, also set up
on workers that join later). The engine keys noise to the global latent position, so the same
seed gives the same output file as the single-process run. Workers need no access to the input
or output files; with a checkpoint path they do need the checkpoint at that path. Which workers hold
the model, asked as they join, die or their checkpoint changes: :mod:`.dask_roster`.

>>> with dask_runner("local:2", ModelSource(path="model.safetensors")) as runner:  # doctest: +SKIP
...     upscale_raster("in.tif", "out.tif", model=model, scale=2, runner=runner)
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import ClusterError, LdcsrError, one_line
from ..words import counted
from ..files import sha256_file
from .dask_address import DASK_SCHEMES, _connect, _start_local, dask_runner, parse_dask_address  # noqa: F401
from .dask_model import (PLUGIN_PREFIX, ModelPlugin, ModelSource, _died, _none_can,  # noqa: F401
                         _plugin_loads, _registration_error, _remove_stale_plugins, _run_tile, _worker_model,
                         CoreSharing, remove_plugin, torch_release)
from .dask_roster import WorkerRoster
from .dask_quiet import QuietCancelledTasks, quiet_workers, tile_key  # noqa: F401 - QuietCancelledTasks re-exported

__all__ = ["ModelSource", "ModelPlugin", "DaskRunner", "dask_runner", "parse_dask_address"]

log = logging.getLogger(__name__)


class DaskRunner(WorkerRoster):
    """Runs tiles as Dask tasks; yields results in plan order with a bounded number in flight.

    Tiles go only to the workers that loaded the model: a worker that could not (its checkpoint
    missing, other weights at the path, another ldcsr_core version or torch release) is left out
    with a warning naming it and why (:attr:`left_out`), and the run goes on on the others (also
    when a worker dies while they load it); when no worker can, the first worker's error is raised
    (its class gives the CLI's exit status). Workers that join later are used once they hold the
    model, and a left-out worker whose checkpoint file has changed (it appeared) once it has loaded
    it (asked every :attr:`RELOOK` s).

    Parameters
    ----------
    client : a ``distributed.Client``.
    source : how workers load the model.
    in_flight : tiles submitted ahead of the one being merged (default: 2 per thread of the workers
        that hold the model + 2, followed as workers join or go); bounds the client's memory.
    timeout : seconds to wait for a worker when the cluster has none that can run the model (at the
        start, or after it lost them all) before failing with a clear :class:`LdcsrError`.
    unload : remove the model from the workers when the runner closes (False: the cluster closes
        with it, as ``local:N``'s does, so a Ctrl-C while they load it does not wait for them).
    """

    #: Seconds between looks at the cluster while a tile is awaited (workers gone or joined).
    POLL = 2.0
    #: Seconds between asking the left-out workers again (:meth:`_relook`).
    RELOOK = 60.0
    #: Most seconds the start waits for the workers' CPU sets (at most ``timeout``); past it, a
    #: worker that has not said shares with all on its machine until its answer is in.
    SETS_WAIT = 10.0

    def __init__(self, client, source: ModelSource, *, in_flight: int | None = None, timeout: float = 20.0,
                 unload: bool = True):
        from .. import __version__
        from ..rules import check_flag

        unload = check_flag(unload, "unload")  # 'no' was true: the model was removed from a shared cluster
        from ..threads import policy, workers_provenance

        kind, n = policy()
        if source.threads is None and kind == "fixed":  # the client's LDCSR_THREADS or --threads: its pixels,
            source = dataclasses.replace(source, threads=n)  # bit for bit
        #: Its outputs' ``LDCSR_THREADS`` tag: the count every worker runs, else their rule (not the client's).
        self.threads_tag = str(source.threads) if source.threads else workers_provenance()
        if source.software is None:
            source = dataclasses.replace(source, software=__version__)
        if source.torch is None:
            source = dataclasses.replace(source, torch=torch_release())
        if source.weights_sha256 is None and source.builder is None and source.path and Path(source.path).is_file():
            source = dataclasses.replace(source, weights_sha256=sha256_file(source.path))
        self.client = client
        self.source = source
        #: The scheduler's address for messages (a client that lost it no longer knows it).
        self.where = getattr(getattr(client, "scheduler", None), "address", None) or "the scheduler"
        self.timeout, self.unload = float(timeout), unload
        #: Workers that hold the model, and those left out (address → why), as last looked at.
        self.usable: set[str] = set()
        self.left_out: dict[str, Exception] = {}
        self._answered = False  # a look at the workers has been answered (the scheduler allows it)
        self._refused = False  # the scheduler refused a look (said once, in a warning)
        self._relook_at = time.monotonic() + self.RELOOK
        self._asking = None  # (future, workers, retry) of a look that did not wait for its answers
        # One plugin per client: closing one run never unloads another's model, and the plugin of a
        # client that went without closing (kill -9) is recognised and removed by the next one.
        self.plugin_name = f"{PLUGIN_PREFIX}{source.cache_key()}@{getattr(client, 'id', 'client')}"
        self._auto_in_flight = in_flight is None
        self.cores = CoreSharing(client)
        self.sharing: dict[str, int] = {}  # the Dask threads that share each worker's cores
        self.in_flight = max(1, int(in_flight or 4))
        _remove_stale_plugins(client)
        self.quiet_name = quiet_workers(client)  # its own: another run's end leaves it on the cluster
        died = None  # a worker died while the workers loaded the model: the others may hold it
        try:
            before = set(client.nthreads())
            try:
                client.register_plugin(ModelPlugin(source, self.plugin_name), name=self.plugin_name)
            except Exception as e:
                if not _died(e) or getattr(client, "status", "running") != "running":
                    raise
                died = e
            if died is None:
                self._look(None)
        except Exception as e:
            # The scheduler keeps a plugin whose setup failed and gives it to every worker that
            # joins later (a worker killed over its memory limit while loading: forever): remove it.
            self.close()
            raise LdcsrError(_registration_error(e)) from None
        except BaseException:  # Ctrl-C while the workers load it (a notebook's client lives on): the
            self.close(wait=False)  # model would stay on every worker, and on each that joins; not
            raise                   # waited for: they answer only once their load ends
        if self.left_out and not self.usable and died is None:
            self.close()
            raise _none_can(self.left_out)
        if died is not None:
            self._go_on_without(before, died)
        # The CPU sets of the workers that answered the look (not of one that joined since: it loads
        # the model, and answers after its load): in ms when idle, waited for longer on a loaded machine.
        self._fit_in_flight(client.nthreads(), wait=min(self.timeout, self.SETS_WAIT),
                            among=self.usable | set(self.left_out))

    def model_loads(self) -> dict[str, int]:
        """How many times each worker loaded the model (1 each, by design)."""
        return self.client.run(_plugin_loads, plugin_name=self.plugin_name)

    #: Times a run re-sends its plan and tiles after the cluster lost them (a worker died).
    RESUBMITS = 3

    def map(self, jobs: Iterable[tuple[Any, np.ndarray | None]], plan, *, mode: str, seed: int
            ) -> Iterator[tuple[Any, np.ndarray | None]]:
        from concurrent.futures import CancelledError

        shared: dict = {}
        self._send_plan(plan, shared)  # shared["to"] grows when a worker that holds the model joins (_result)

        def submit(tile, arr):
            """The tile's future and the workers it may run on."""
            to = shared["to"]
            if arr is None:
                return None, to
            if shared["fresh"]:  # a worker usable since the plan was sent holds no copy of it, and the
                to = {shared["fresh"].pop()}  # scheduler places tiles where it is: send it this tile
            return self.client.submit(_run_tile, self.plugin_name, self.source, arr, tile, shared["plan"],
                                      mode, seed, self.sharing, key=tile_key(), retries=1, workers=sorted(to),
                                      allow_other_workers=False), to

        queue: collections.deque = collections.deque()  # (tile, arr, future, its workers) in plan order
        it = iter(jobs)
        exhausted, resubmits = False, 0
        try:
            while True:
                while not exhausted and len(queue) < self.in_flight:
                    try:
                        tile, arr = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    queue.append((tile, arr, *submit(tile, arr)))
                if not queue:
                    return
                tile, arr, fut, to = queue[0]
                try:
                    out = None if fut is None else self._result(fut, to, shared)
                except (CancelledError, _Stranded) as e:  # the plan went with a dead worker, or
                    if resubmits >= self.RESUBMITS:        # every worker the tiles may go to did
                        # Not a ClusterError: it may be this input's (a tile too big for the workers'
                        # memory limit kills them), so a batch goes on with the next input.
                        raise LdcsrError(f"the Dask cluster lost tile {tile.index}'s work {resubmits + 1} "
                                         f"times (workers died?): {one_line(e)}") from None
                    resubmits += 1
                    if isinstance(e, _Stranded) and e.workers_gone:  # the plan is still on the others:
                        queue = self._send_stranded_again(queue, submit, shared)  # only those tiles again
                        continue
                    log.warning("the Dask cluster lost work in progress (%s); sending the plan and the "
                                "%s again", one_line(e), counted(len(queue), "pending tile"))
                    with contextlib.suppress(Exception):
                        self.client.cancel([f for _, _, f, _ in queue if f is not None])
                    self._send_plan(plan, shared)
                    queue = collections.deque((t, a, *submit(t, a)) for t, a, _, _ in queue)
                    continue
                queue.popleft()
                yield tile, out
        finally:
            pending = [f for _, _, f, _ in queue if f is not None]
            if pending:
                with contextlib.suppress(Exception):  # the scheduler may be gone
                    self.client.cancel(pending)

    def _result(self, fut, targets: set[str], shared: dict):
        """``fut``'s result (sent to ``targets``); :class:`_Stranded` when none of them is alive any
        more (the scheduler would hold it forever), so that it is sent again to the workers there
        are now. Workers that joined meanwhile are asked, and the next tiles also go to those that
        hold the model (``shared["to"]``; ``shared["fresh"]``: those new among them). A question to
        the scheduler that fails is asked again at the next wait, the tiles in flight kept
        (:meth:`_unanswered`)."""
        # Waited for without fetching: fut.result(timeout) cancels, when it times out during the
        # transfer, a gather that distributed shares with the next fetch (which then fails).
        done = threading.Event()
        fut.add_done_callback(lambda _: done.set())
        failing_since = None
        while not done.wait(self.POLL):
            try:
                nthreads = self.client.nthreads()
            except Exception as e:  # noqa: BLE001 - OSError, CommClosedError, TimeoutError ...
                failing_since = self._unanswered(e, failing_since)
                continue
            failing_since, alive = None, set(nthreads)
            with contextlib.suppress(Exception):  # a look that fails is tried at the next wait
                self._answers()  # the questions do not wait: a worker loading the model answers late
                if alive - self.usable - set(self.left_out):
                    self._look(sorted(alive - self.usable - set(self.left_out)), retry=True, wait=False)
                self._relook(alive)
            self._fit_in_flight(nthreads)
            if self.usable & alive:
                shared["fresh"] = (shared["fresh"] | (self.usable & alive) - shared["to"]) & alive
                shared["to"] = self.usable & alive
            if not targets & alive:
                raise _Stranded(f"the workers holding the model are gone ({', '.join(sorted(targets))})",
                                workers_gone=True)
        return _fetch(fut)

    def _send_stranded_again(self, queue, submit, shared) -> collections.deque:
        """``queue`` with the tiles that may only run on workers that are gone sent again to the live
        workers that hold the model; the others' tiles are kept (done or running, not computed twice)."""
        shared["to"] = self._targets()
        alive = set(self.client.nthreads())
        shared["fresh"] &= alive
        stranded = [f for _, _, f, to in queue if f is not None and not to & alive]
        with contextlib.suppress(Exception):
            self.client.cancel(stranded)
        log.warning("the Dask workers that held %s are gone: sending %s again", counted(len(stranded), "tile"),
                    "it" if len(stranded) == 1 else "them")
        return collections.deque((t, a, *submit(t, a)) if f is not None and not to & alive else (t, a, f, to)
                                 for t, a, f, to in queue)

    def _unanswered(self, e: Exception, since: float | None) -> float:
        """The scheduler did not answer a question of the poll loop: it is asked again at the next wait
        (the tiles it holds are not lost: re-sending them computed them twice). :class:`_Stranded` (the
        plan and tiles sent again, or the clear error of :meth:`_scatter`) once the client has lost its
        scheduler, or after ``timeout`` s without an answer. Returns when the failures began."""
        now = time.monotonic()
        since = now if since is None else since
        if getattr(self.client, "status", "running") != "running" or now - since > self.timeout:
            raise _Stranded(f"cannot ask the scheduler: {one_line(e)}")
        log.info("cannot ask the Dask scheduler which workers are alive (%s): asked again in %g s",
                 one_line(e), self.POLL)
        return since

    def _send_plan(self, plan, shared: dict) -> None:
        """The plan to the live workers that hold the model (all, when none is known yet): one busy
        loading it (a left-out one whose checkpoint changed) would take it only after its load, and
        the run would wait. The workers the tiles may go to; those that hold no copy of the plan get
        a first tile each (``shared["fresh"]``), as the scheduler places tiles where the plan is."""
        had = set(self.usable)
        shared["plan"] = self._scatter(plan)
        shared["to"] = self._targets()
        shared["fresh"] = shared["to"] - had if had else set()

    def _scatter(self, plan):
        """The plan on every live worker that holds the model (on all when none is known to), once
        there is one: a cluster without workers (none started, all lost) or without its scheduler
        is a clear :class:`ClusterError` after ``timeout``."""
        where = self.where
        try:
            if not self.client.nthreads():
                self.client.wait_for_workers(1, timeout=self.timeout)
            to = sorted(self.usable & set(self.client.nthreads())) or None
            return self.client.scatter([plan], broadcast=True, hash=False, workers=to)[0]
        except Exception as e:  # noqa: BLE001 - TimeoutError, OSError, CommClosedError ...
            status = getattr(self.client, "status", "running")
            why = one_line(e) if isinstance(e, (OSError, TimeoutError)) else f"the client is {status}"
            # A closed client fails with AttributeErrors (say it is closed); a connection closed an
            # instant before the client noticed (its status still 'running') is the same loss.
            if status != "running" or isinstance(e, ConnectionError) or type(e).__name__ == "CommClosedError":
                raise ClusterError(f"lost the Dask scheduler at {where}: {why}") from None
            workers = True
            with contextlib.suppress(Exception):
                workers = bool(self.client.nthreads())
            if not workers:
                raise ClusterError(f"the Dask cluster at {where} has no workers (none within {self.timeout:g} s): "
                                 f"start some with 'dask worker {where}'") from None
            raise ClusterError(f"the Dask cluster at {where} failed: {one_line(e)}") from None

    def close(self, *, wait: bool = True) -> None:
        """Remove the model from the workers (:func:`~ldcsr_core.geo.dask_model.remove_plugin`);
        ``wait=False`` (Ctrl-C): without waiting for workers still loading it. The scheduler forgets
        this runner's quieting plugin too (not another run's), ``unload=False`` as well: many runs on a
        long-lived client left one each; the workers keep its filter (they print those lines as they close)."""
        from ..rules import check_flag

        wait = check_flag(wait, "wait")
        if self.unload:
            remove_plugin(self.client, self.plugin_name, wait=wait)
        remove_plugin(self.client, self.quiet_name, wait=wait)


class _Stranded(Exception):
    """The tiles in flight may only run on workers that are all gone (``workers_gone``: the awaited
    tile's; the plan may still be on the others), or their results cannot be fetched."""

    def __init__(self, message: str, workers_gone: bool = False):
        super().__init__(message)
        self.workers_gone = workers_gone


def _fetch(fut):
    """The result of ``fut`` (done); :class:`_Stranded` when fetching it fails (the scheduler's
    connection lost: said by the plan's re-sending), while the task's own error is raised as is."""
    try:
        return fut.result()
    except OSError as e:  # CommClosedError, ConnectionResetError ...
        if getattr(fut, "status", "error") == "error":
            raise
        raise _Stranded(f"cannot fetch a tile's result: {one_line(e)}") from None
