"""The model on Dask workers: how a worker obtains it (:class:`ModelSource`), the plugin that loads
it once per worker (:class:`ModelPlugin`) and the functions that run on the workers. The client
side (submitting tiles, choosing the workers) is :mod:`ldcsr_core.geo.distributed`.

A worker that cannot load the model (its checkpoint missing or other weights at the path, another
ldcsr_core version or torch release, no memory) keeps the reason instead of failing: the client asks every worker
(:func:`model_state`), sends tiles only to the ones that hold the model and says which were left out.
Asked again later, a left-out worker loads the model again only if its checkpoint file has changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import LdcsrError, one_line
from ..files import sha256_file

__all__ = ["ModelSource", "ModelPlugin", "PLUGIN_PREFIX", "NOT_YET", "model_state", "torch_release", "remove_plugin"]

log = logging.getLogger(__name__)

#: Every model plugin's name starts so; it ends in ``@`` and the id of the client that registered it.
PLUGIN_PREFIX = "ldcsr-model-"


@dataclass(frozen=True)
class ModelSource:
    """How a worker obtains the model: a checkpoint ``path`` or a picklable zero-arg ``builder``.

    ``path=None`` and no builder means the shipped default model. ``key`` identifies the model in
    each worker's cache; by default the path's SHA-256 (or the builder's repr). ``threads`` is the
    torch CPU thread count of each tile on the workers; None: each worker's share of its machine's
    cores (:func:`~ldcsr_core.threads.worker_threads` of the Dask threads of the workers on those
    cores, :func:`shared_threads`). Floating-point sums
    depend on it (by one ulp, enough to flip a rounding now and then in diffusion mode), so
    :class:`~ldcsr_core.geo.distributed.DaskRunner` sets it to the client's count when that is
    fixed (``LDCSR_THREADS``, ``--threads``): the output is then identical to a single-process run
    on the client. A worker's torch setting is its own again after each tile.
    """

    path: str | None = None
    builder: Callable[[], Any] | None = None
    device: str = "cpu"
    key: str | None = None
    threads: int | None = None
    dtype: str | None = None  # the client's model's float type (same pixels on every worker)
    #: The SHA-256 of the client's weights file: a worker whose file at ``path`` differs (another
    #: checkpoint under the same name on its machine) refuses to run instead of mixing its tiles in.
    weights_sha256: str | None = None
    software: str | None = None  # the client's ldcsr_core version: a worker with another refuses
    torch: str | None = None  # the client's torch release (:func:`torch_release`): likewise

    def cache_key(self) -> str:
        if self.key:
            return self.key
        if self.path is not None:  # a built-in model's name: its file in the client's installation
            from ..builtin_models import model_path

            return f"{Path(self.path).name}-{sha256_file(model_path(self.path))[:16]}-{self.device}-{self.dtype}"
        if self.builder is not None:
            return hashlib.sha256(repr(self.builder).encode()).hexdigest()[:16] + f"-{self.device}"
        return f"default-{self.device}-{self.dtype}"

    def load(self):
        self.check_software()
        if self.builder is not None:
            return self.builder()
        from .. import load_model

        model = load_model(self.path, device=self.device, dtype=self.dtype or "auto")
        got = str(getattr(model, "weights_sha256", "") or "")
        if self.weights_sha256 and got and got != self.weights_sha256:
            raise LdcsrError(f"its model {self.path or '(the shipped default)'} has other weights than the "
                             f"client's (sha256 {got[:12]}… here, {self.weights_sha256[:12]}… there): give "
                             "every worker the same model file")
        return model

    def check_software(self) -> None:
        """The worker's code must be the client's: another ldcsr_core, or another torch release
        (its random noise and its kernels: PyTorch does not promise the same results across
        releases), can give other pixels, silently mixed into the client's file."""
        from .. import __version__

        if self.software and self.software != __version__:
            raise LdcsrError(f"it runs ldcsr_core {__version__}, the client {self.software}: install the "
                             "same version on the workers (other code can give other pixels)")
        if self.torch and self.torch != torch_release():
            raise LdcsrError(f"it runs torch {torch_release()}, the client {self.torch}: install the same "
                             "torch release on the workers (another can give other pixels)")


def torch_release() -> str:
    """This process's torch version without its build tag: ``2.13.0`` for ``2.13.0+cpu`` and for
    ``2.13.0+cu126`` (a CPU client with CUDA workers runs the same release)."""
    import torch

    return str(torch.__version__).partition("+")[0]


try:  # the plugin base class only exists with the cluster extra installed
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask not installed
    _WorkerPlugin = object


class ModelPlugin(_WorkerPlugin):
    """Loads the model once per worker, when the worker starts (or when the plugin is registered).

    A load that fails is kept in :attr:`error` (the worker's tiles go to the others) rather than
    raised: raised, it failed the registration for every worker, i.e. the whole run."""

    def __init__(self, source: ModelSource, name: str):
        self.source = source
        self.name = name
        self.model = None
        self.error: Exception | None = None
        self.loads = 0  # loads that succeeded
        self.tries = 0  # loads tried
        self.failed_file: tuple | None = None  # the checkpoint file as it was when the load failed

    def setup(self, worker=None):
        self.tries += 1
        try:
            model = self.source.load()
        except Exception as e:  # noqa: BLE001 - say where: the path or the weights may be fine on the client
            self.model, self.error = None, _on_worker(e, worker, self.source.path)
            self.failed_file = _file_state(self.source.path)
            log.info("%s", self.error)  # the worker's log; the client says it to the user
            return
        self.model, self.error = model, None
        self.loads += 1

    def file_changed(self) -> bool:
        """The load failed and the checkpoint file has changed since (it appeared, was replaced or
        finished copying): worth loading again. Never for a builder or the shipped model."""
        return (self.model is None and self.error is not None and self.source.path is not None
                and _file_state(self.source.path) != self.failed_file)

    def teardown(self, worker=None):
        self.model = None


def _file_state(path: str | None) -> tuple | None:
    """``path``'s (size, mtime, inode) on this machine; None when it is missing (or no path)."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _on_worker(e: BaseException, worker, path: str | None = None) -> Exception:
    """``e`` (a model load failure) as the same error class, its message naming the worker and, when
    the model's ``path`` cannot be read there, why and what to do (:func:`_unreadable`): workers read
    it at the client's path, as the user they run as."""
    where = getattr(worker, "address", None) or "?"
    msg = f"the Dask worker {where} could not load the model: {one_line(e)}"
    why = _unreadable(e, path) if path is not None else None
    if why == "denied":
        msg += ("; the user this Dask worker runs as may not read the model file at that path (permission "
                "denied): on every worker machine, let that user read the file and open its folders")
    elif why == "missing":
        msg += ("; each Dask worker reads the model at the client's path: copy the file to that path on "
                "every worker machine, or put it in a folder they all share")
    if isinstance(e, LdcsrError):
        with contextlib.suppress(Exception):
            return type(e)(msg)
    return LdcsrError(msg)


def _unreadable(e: BaseException, path: str) -> str | None:
    """Why the checkpoint ``path`` cannot be read on this machine: "denied" (a permission error, the
    load's or a look at the file: a folder this user may not open, a file it may not read), "missing"
    (nothing there; never for a built-in model's name), else None (the file's own fault: the load says it)."""
    from ..builtin_models import in_builtin_folder, model_path

    if isinstance(e, PermissionError):
        return "denied"
    try:
        read = model_path(path)  # a built-in model's name: its file in the package
    except Exception as err:  # noqa: BLE001 - an empty path ...: said by the load's own error
        return "denied" if isinstance(err, PermissionError) else None
    try:
        os.lstat(read)
    except PermissionError:  # not 'nothing there' (os.path.lexists says False for it too)
        return "denied"
    except OSError:
        return None if in_builtin_folder(read) else "missing"
    return None


def _worker_model(plugin_name: str, source: ModelSource):
    """The worker's cached model (loaded by its plugin; loaded here if the plugin is missing or its
    load failed, e.g. the file has appeared since); the load's error if it fails."""
    from distributed import get_worker

    worker = get_worker()
    plugin = worker.plugins.get(plugin_name)
    if plugin is None:  # e.g. removed as stale while its client was cut off and came back
        plugin = ModelPlugin(source, plugin_name)
        worker.plugins[plugin_name] = plugin
    if plugin.model is None:
        plugin.setup(worker)
        if plugin.model is None:
            raise plugin.error
    return plugin.model


def cpu_set() -> tuple[int, ...] | None:
    """Run on each worker (``client.run``): the CPUs its process may run on (its affinity set: a
    cpuset, ``taskset``), None where the system does not say."""
    try:
        return tuple(sorted(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return None


def shared_threads(nthreads: dict[str, int], cpus: dict[str, tuple | None]) -> dict[str, int]:
    """The Dask threads that share each worker's cores (by address), from ``client.nthreads()`` and
    the workers' :func:`cpu_set`: those of the workers on its machine (by host) whose CPU sets
    overlap its own, itself included. Before, all the workers of one address: workers in separate
    cpusets of one node (Slurm jobs, containers on the host's network) each divided its own cores
    by all their threads. A worker whose set is not known (not asked yet, it cannot say) shares with
    every worker on its machine, as before; one of an address of no host, with none."""
    from distributed.comm import get_address_host

    hosts: dict[str, list] = {}
    for address, n in nthreads.items():
        try:
            host = get_address_host(address)
        except Exception:  # noqa: BLE001 - an address of no host: its worker counts its own threads
            host = address
        hosts.setdefault(host, []).append((address, int(n), cpus.get(address)))
    sharing = {}
    for workers in hosts.values():
        sets = {a: None if c is None else set(c) for a, _, c in workers}
        for a, _, c in workers:
            sharing[a] = sum(n for b, n, _ in workers if c is None or sets[b] is None or sets[a] & sets[b])
    return sharing


class CoreSharing:
    """What :func:`shared_threads` needs to know, for a client: each live worker's :func:`cpu_set`,
    asked once per worker (at the look that first sees it). Not waited for, except up to ``wait`` s,
    returning as soon as the answers are in (a worker loading the model answers only after its load):
    else they are taken at a later look."""

    def __init__(self, client):
        self.client = client
        self.cpus: dict[str, tuple | None] = {}
        self._asking = None  # (future, workers) of the question not answered yet

    def unknown(self, workers) -> None:
        """``workers`` are not asked (they, or the scheduler, refused ``client.run``): each shares
        with all on its machine, as one that cannot say."""
        for a in workers:
            self.cpus.setdefault(a, None)

    def threads(self, nthreads: dict[str, int], wait: float = 0.0, among=None) -> dict[str, int]:
        """:func:`shared_threads` of the live workers ``nthreads``, as far as they have said; only
        those ``among`` (None: all) are asked now, the others at a later look."""
        import asyncio
        import concurrent.futures

        new = sorted(a for a in set(nthreads) - set(self.cpus) if among is None or a in among)
        if new and self._asking is None:
            with contextlib.suppress(Exception):  # the client closing: they count as before
                coro = self.client.run(cpu_set, workers=new, on_error="return", asynchronous=True)
                self._asking = (asyncio.run_coroutine_threadsafe(coro, self.client.loop.asyncio_loop), new)
        if self._asking is not None and wait > 0:
            concurrent.futures.wait([self._asking[0]], timeout=wait)  # its error is taken below
        if self._asking is not None and self._asking[0].done():
            (fut, asked), self._asking = self._asking, None
            try:
                said = fut.result()
            except Exception:  # noqa: BLE001 - a scheduler that refuses client.run: known as unknown
                said = {}
            for a in asked:  # a worker that cannot say (an error, another system) counts as before
                self.cpus[a] = said.get(a) if isinstance(said.get(a), tuple) else None
        for a in set(self.cpus) - set(nthreads):
            del self.cpus[a]
        return shared_threads(nthreads, self.cpus)


def _run_tile(plugin_name: str, source: ModelSource, arr: np.ndarray, tile, plan, mode: str,
              seed: int, sharing: dict[str, int] | None = None) -> np.ndarray:
    from distributed import get_worker

    from ..threads import fixed_threads, worker_threads
    from .local_runner import infer_tile

    model = _worker_model(plugin_name, source)
    worker = get_worker()
    own = worker.state.nthreads  # a worker that joined since the client looked: its own threads
    threads = max(own, (sharing or {}).get(worker.address, own))  # of the workers on its cores
    # not adapted to load: the same count for each tile (the client's when fixed, bit for bit)
    with fixed_threads(source.threads or worker_threads(threads)):
        return infer_tile(model, arr, tile, plan, mode=mode, seed=seed)


def _plugin_loads(dask_worker, plugin_name: str) -> int:
    p = dask_worker.plugins.get(plugin_name)
    return 0 if p is None else p.loads


#: :func:`model_state` of a worker whose plugin is not set up yet (it has just joined): ask again.
NOT_YET = "not loaded yet"


def model_state(dask_worker, plugin_name: str, reload: bool = False) -> Exception | str | None:
    """Run on each worker (``client.run``): ``None`` when it holds the model, else why not (an
    error), or :data:`NOT_YET` (a worker that has just joined sets its plugins up after it appears).
    ``reload``: a worker whose load failed loads the model again if its checkpoint file has changed
    since (:meth:`ModelPlugin.file_changed`; a stat, no load, when it has not)."""
    p = dask_worker.plugins.get(plugin_name)
    if reload and p is not None and p.file_changed():
        p.setup(dask_worker)
    if p is not None and p.model is not None:
        return None
    if p is not None and p.error is not None:
        return p.error
    return NOT_YET


def _remove_stale_plugins(client) -> None:
    """Remove the model plugins of clients that went without closing (``kill -9``, a lost machine):
    each worker kept their model in memory, and every worker joining later loaded it again. Their
    quieting plugins (:func:`~ldcsr_core.geo.dask_quiet.quiet_workers`) go too."""
    from .dask_quiet import QUIET_PREFIX

    try:
        names, clients = client.run_on_scheduler(
            lambda dask_scheduler: (list(dask_scheduler.worker_plugins), list(dask_scheduler.clients)))
    except Exception:  # noqa: BLE001 - e.g. a scheduler that refuses to run functions: nothing to clean
        return
    for name in names:
        prefix, at, owner = name.rpartition("@")
        if name.startswith((PLUGIN_PREFIX, QUIET_PREFIX)) and at and owner not in clients:
            if remove_plugin(client, name):
                log.info("removed the plugin %s of a Dask client that is gone", name)


#: Seconds :func:`remove_plugin` waits for the workers to drop the model (the scheduler goes on after).
UNLOAD_WAIT = 10.0


def remove_plugin(client, name: str, *, wait: bool = True) -> bool:
    """Remove the model plugin ``name``: the scheduler forgets it as it gets the message (workers
    joining later no longer load the model) and each worker drops the model. ``wait``: until the
    workers have dropped it, at most :data:`UNLOAD_WAIT` s. Without (Ctrl-C), only until the message
    is sent: a worker still loading the model answers only once its load ends (seconds to minutes),
    and drops it then. Never raises: False when it failed (the scheduler gone: a later run removes
    the plugin as stale)."""
    try:  # without an answer to wait for, the connection is closed after it: no later call waits on it
        client.sync(client.scheduler.unregister_worker_plugin, name=name, reply=wait, close=not wait,
                    callback_timeout=UNLOAD_WAIT if wait else 5)
    except Exception:  # noqa: BLE001 - a closed client, a lost scheduler, a plugin already removed
        return False
    return True


def _none_can(left_out: dict[str, Exception], gone: bool = False) -> Exception:
    """No worker can run the model: the first one's error (its class: the exit status), saying so."""
    addr = sorted(left_out)[0]
    err = left_out[addr]
    n = len(left_out)
    why = (f"; the workers that held the model are gone and the {n} left could not load it" if gone
           else f" (nor could the other {n - 1})" if n > 1 else "")
    msg = f"{one_line(err)}{why}"
    with contextlib.suppress(Exception):
        return type(err)(msg)
    return LdcsrError(msg)


def _died(e: BaseException) -> bool:
    """``e`` (of the registration) says a worker went away while loading the model."""
    return type(e).__name__ == "CommClosedError"


def _registration_error(e: BaseException) -> str:
    msg = one_line(e)
    if msg.startswith("the Dask worker "):
        return msg
    if _died(e):  # the worker went away while loading the model
        return f"a Dask worker died while loading the model (killed over its --memory-limit?): {msg}"
    return f"the Dask workers could not load the model: {msg}"
