"""Which Dask workers hold the model: a :class:`~ldcsr_core.geo.distributed.DaskRunner`'s looks at its cluster.

The runner asks the workers whether they loaded the model (:func:`~.dask_model.model_state`) at the
start, as workers join or die, and now and then again for those left out (their checkpoint may have
changed); the answers make its roster: the workers tiles go to (``usable``), those left out and why
(``left_out``), the tiles in flight and the cores each worker shares.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..errors import ClusterError, LdcsrError, one_line
from ..words import counted
from .dask_model import NOT_YET, _none_can, model_state

# the logger these warnings have always come from (the module this one was split out of)
log = logging.getLogger("ldcsr_core.geo.distributed")


class WorkerRoster:
    """The looks a :class:`~ldcsr_core.geo.distributed.DaskRunner` (a subclass) takes at its cluster's
    workers. They use the runner's state, set in its ``__init__`` (``client``, ``usable``,
    ``left_out``, ``timeout``, ``cores`` ...), its ``POLL`` and ``RELOOK`` and its :meth:`close`."""

    def _go_on_without(self, before: set[str], died: Exception) -> None:
        """A worker died while the workers loaded the model (the registration failed): the run goes
        on with the others once one says it holds the model, waited for up to ``timeout`` (while they
        load it; a worker its nanny restarts loads it too), as after a death mid-run; with none, one
        line. Only answers count: the scheduler may list the dead worker a little longer."""
        deadline = time.monotonic() + self.timeout
        try:
            # The scheduler drops the dead worker an instant after the error: a question sent to it
            # before that waits distributed's connect timeout (30 s) for a worker that is gone.
            settled = time.monotonic() + min(self.timeout, 2.0)
            while before <= set(self.client.nthreads()) and time.monotonic() < settled:
                time.sleep(0.05)
            while True:
                alive = set(self.client.nthreads())
                if alive - set(self.left_out):
                    self._look(sorted(alive - set(self.left_out)), strict=True)
                self.usable &= alive
                if self.usable or time.monotonic() > deadline:
                    break
                if self.left_out and not alive - set(self.left_out):  # none still loading it
                    raise _none_can(self.left_out)
                time.sleep(min(0.5, self.POLL))
            gone = sorted(before - set(self.client.nthreads()))
        except BaseException as e:  # Ctrl-C: not waiting for the workers still loading it
            self.close(wait=isinstance(e, Exception))
            raise
        what = f"the Dask worker {gone[0]}" if len(gone) == 1 else "a Dask worker"
        msg = f"{what} died while loading the model (killed over its --memory-limit?)"
        if not self.usable:
            self.close()
            raise LdcsrError(f"{msg}, and no other worker holds it (none within {self.timeout:g} s)")
        log.warning("%s; its tiles go to the %s", msg, counted(len(self.usable), "other worker"))
        log.info("the death while loading: %s", one_line(died))

    def _fit_in_flight(self, nthreads: dict, wait: float = 0.0, among=None) -> None:
        """The default tiles in flight, 2 per thread of the live workers that hold the model (all
        live ones until one is known to) + 2: again at each look, as workers join or go. Also the
        Dask threads that share each worker's cores (:func:`~.dask_model.shared_threads`; ``wait``:
        for the CPU sets of the workers ``among``, up to so many seconds)."""
        self.sharing = self.cores.threads(nthreads, wait, among)
        if self._auto_in_flight:
            threads = sum(n for a, n in nthreads.items() if a in self.usable) or sum(nthreads.values())
            self.in_flight = 2 * (threads or 1) + 2

    def _look(self, workers, *, retry: bool = False, reload: bool = False, strict: bool = False, wait=True) -> None:
        """Ask ``workers`` (None: all) whether they hold the model; say each one newly left out.
        ``retry``: if the question fails where an earlier one was answered (a transient error, not a
        scheduler that refuses it), leave them unknown (no tiles) until the next look. ``strict``:
        only answers count (just after a worker died: it may be listed still), the workers that give
        none stay unknown. ``reload``: see :func:`model_state`. ``wait=False`` (tiles are awaited): the
        question is sent, its answers taken at a later look (:meth:`_answers`), one at a time: a worker
        loading the model (it just joined, its checkpoint changed) answers only after its load."""
        if not wait:
            if self._asking is None:
                coro = self.client.run(model_state, plugin_name=self.plugin_name, reload=reload,  # a coroutine
                                       workers=workers, on_error="return", asynchronous=True)
                self._asking = (asyncio.run_coroutine_threadsafe(coro, self.client.loop.asyncio_loop), workers, retry)
            return
        try:
            states = self.client.run(model_state, plugin_name=self.plugin_name, reload=reload,
                                     workers=workers, on_error="return")
        except Exception as e:  # noqa: BLE001 - a scheduler that refuses to broadcast functions
            states = e
        self._take(states, workers, retry=retry, strict=strict)

    def _answers(self) -> None:
        """Take the answers to the question of a look that did not wait, if they are in."""
        if self._asking is None or not self._asking[0].done():
            return
        (fut, workers, retry), self._asking = self._asking, None
        try:
            states = fut.result()
        except Exception as e:  # noqa: BLE001 - as in _look (or cancelled: the client closing)
            states = e
        self._take(states, workers, retry=retry, strict=False)

    def _take(self, states: dict | Exception, workers, *, retry: bool, strict: bool) -> None:
        """The workers' answers to a look (see :meth:`_look`), or the error of the question."""
        if isinstance(states, Exception):
            if strict or (retry and self._answered):
                log.info("cannot ask the Dask workers %s whether they hold the model (%s): asked again at "
                         "the next look", ", ".join(workers or ()), one_line(states))
                return
            # Nothing is known about the workers: use them all, as before this look existed; a worker
            # that cannot load the model says so in its first tile (_worker_model). Their CPU sets are
            # not asked either (the scheduler logged one error for this question, not one more).
            why, states = one_line(states), dict.fromkeys(workers if workers is not None else self.client.nthreads())
            self.cores.unknown(states)
            (log.info if self._refused else log.warning)(
                "the Dask scheduler at %s did not run the client's question on its workers (%s): without "
                "their answers all workers get tiles, and each shares its machine's cores with all the Dask "
                "threads there", self.where, why)
            self._refused = True
        else:
            self._answered = True
        new = []
        for addr, err in sorted(states.items()):
            if err is not None and not isinstance(err, (str, LdcsrError)):
                if strict:
                    continue
                # model_state did not run there (the worker refuses client.run, a comm error): that
                # says nothing about its model. Leaving it out ("could not load the model") failed runs
                # on workers that hold it; it gets tiles and, if it cannot load it, fails its first one.
                log.info("cannot ask the Dask worker %s whether it holds the model (%s): using it",
                         addr, one_line(err))
                self.cores.unknown([addr])  # nor which cores it may use: not asked (one error there, not two)
                err = None
            if err is None:
                self.usable.add(addr)
                if self.left_out.pop(addr, None) is not None:
                    log.warning("the Dask worker %s now holds the model (its checkpoint changed): it gets "
                                "tiles again", addr)
                continue
            if isinstance(err, str) and err == NOT_YET:  # asked again at the next look
                continue
            self.usable.discard(addr)
            if addr not in self.left_out:
                new.append(addr)
            self.left_out[addr] = err
        for addr in new if self.usable else ():
            log.warning("%s; its tiles go to the %s", one_line(self.left_out[addr]),
                        counted(len(self.usable), "other worker"))

    def _targets(self) -> set[str]:
        """The live workers that hold the model, once there is one (workers that joined are asked
        first); the left-out workers' error after ``timeout`` s without one."""
        deadline = time.monotonic() + self.timeout
        while True:
            nthreads = self.client.nthreads()
            alive = set(nthreads)
            self._answers()
            new = alive - self.usable - set(self.left_out)
            if new:
                self._look(sorted(new), retry=bool(self.usable & alive))
            self._relook(alive)
            usable = self.usable & alive
            if usable:
                self._fit_in_flight(nthreads)
                return usable
            if time.monotonic() > deadline:
                if self.left_out:
                    raise _none_can({a: e for a, e in self.left_out.items() if a in alive} or self.left_out,
                                    gone=True)
                where = self.where
                if alive:
                    none = "the one Dask worker" if len(alive) == 1 else f"none of the {len(alive)} Dask workers"
                    raise ClusterError(f"{none} at {where} had {'not ' if len(alive) == 1 else ''}loaded the "
                                       f"model within {self.timeout:g} s")
                raise ClusterError(f"the Dask cluster at {where} has no workers (none within {self.timeout:g} s): "
                                 f"start some with 'dask worker {where}'")
            time.sleep(min(0.5, self.POLL))

    def _relook(self, alive: set[str]) -> None:
        """Every :attr:`RELOOK` s, ask the live left-out workers again: one whose checkpoint file has
        changed since its failed load (it appeared, was replaced) loads the model again and, holding
        it, gets tiles. The others only look at their file: a load that fails is not tried again
        and again (each can take long and much memory). Not waited for (a load takes long): the
        answers are taken at a later look (:meth:`_look`'s ``wait=False``)."""
        again = sorted(set(self.left_out) & alive)
        if not again or time.monotonic() < self._relook_at or self._asking is not None:
            return
        self._relook_at = time.monotonic() + self.RELOOK
        self._look(again, retry=True, reload=True, wait=False)
