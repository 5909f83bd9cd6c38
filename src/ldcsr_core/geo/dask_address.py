"""The ``--dask`` address: parsed (:func:`parse_dask_address`; a malformed one is a usage error) and
connected to (:func:`_connect`: a clear one-line error within the timeout for an address where no
Dask scheduler answers), or ``local:N`` started (:func:`_start_local`: Ctrl-C stops it at once) and
stopped (:func:`_stop_local`); :func:`dask_runner` makes the runner on it (also importable from
:mod:`ldcsr_core.geo.distributed`)."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ..errors import InputError, LdcsrError, one_line
from ..words import counted

if TYPE_CHECKING:
    from .dask_model import ModelSource

__all__ = ["DASK_SCHEMES", "parse_dask_address", "dask_runner"]


# The comm schemes of distributed (distributed.comm.registry), known without importing it.
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "inproc", "ucx")


def parse_dask_address(text: str) -> tuple[str, Any]:
    """``"local:N"`` → ``("local", N)``; ``"tcp://host:8786"`` (or tls://, ws://) → address."""
    t = text.strip()
    if t.startswith("local:") or t == "local":
        n = t.partition(":")[2] or "2"
        try:
            k = int(n)
        except ValueError:
            raise InputError(f"local:N needs a worker count, got {text!r}") from None
        if k < 1:
            raise InputError(f"local:N needs at least one worker, got {text!r}")
        return "local", k
    if "://" in t and t.split("://", 1)[1]:
        scheme, rest = t.split("://", 1)
        scheme = scheme.lower()  # distributed knows 'tcp', not 'TCP'
        if scheme not in DASK_SCHEMES:
            raise InputError(f"{scheme}:// is not a Dask scheduler address (use "
                             f"{', '.join(s + '://' for s in DASK_SCHEMES)} or local:N), got {text!r}")
        if scheme != "inproc":  # a network address: HOST:PORT (distributed has no default port)
            host, colon, port = rest.rpartition(":")
            if not (colon and host.strip("[]") and port.isdigit() and 0 < int(port) < 65536):
                raise InputError(f"the address needs the scheduler's HOST:PORT, like {scheme}://HOST:8786, "
                                 f"got {text!r}")
        return "remote", f"{scheme}://{rest}"
    raise InputError(
        f"a Dask address is a scheduler's, like tcp://HOST:8786, or local:N, got {text!r}"
    )


def _connect(client_cls, address: str, timeout: float):
    """A client of the scheduler at ``address``, or a clear :class:`LdcsrError` within about
    ``timeout`` s: a refused port fails at once, and a service that is no Dask scheduler (e.g. the
    dashboard's port) neither hangs the run nor surfaces as a bogus error of the handshake."""
    import socket
    import threading

    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme in ("tcp", "tls", "ws", "wss") and port.isdigit():  # all over TCP: a refused port at once
        try:
            socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=min(timeout, 5.0)).close()
        except OSError as e:
            raise LdcsrError(f"cannot reach the Dask scheduler at {address}: {e.strerror or one_line(e)}") from None
    box: dict = {}

    def connect():
        try:
            box["client"] = client_cls(address, timeout=timeout)
        except BaseException as e:  # noqa: BLE001 - reported below, in the caller's thread
            box["error"] = e

    t = threading.Thread(target=connect, name="ldcsr-dask-connect", daemon=True)
    t.start()
    t.join(timeout + 5.0)
    if "client" in box:
        return box["client"]
    e = box.get("error")
    if isinstance(e, OSError):
        raise e
    if e is None:
        why = f"no Dask handshake within {timeout + 5:g} s"
    elif isinstance(e, MemoryError):  # another protocol's bytes read as a Dask frame's length
        why = "it answers in another protocol, an HTTP server's say"
    else:
        why = one_line(e)
    raise LdcsrError(f"{address} does not answer as a Dask scheduler ({why}); the scheduler listens on "
                     "port 8786 by default, its dashboard on 8787")


def _start_local(cluster_cls, n_workers: int, **kwargs):
    """A ``LocalCluster`` of ``n_workers`` processes whose workers never see Ctrl-C, while this
    process does, also while it starts.

    A terminal sends Ctrl-C (SIGINT) to the whole process group: each local worker would print a
    ``KeyboardInterrupt`` traceback, so they must not get it; this process handles it and closes
    the cluster, which stops them. The cluster is started in a thread that blocks SIGINT: its event
    loop thread inherits that mask, and so do the worker processes it starts (then or later, a
    worker restarted by its nanny). Ignoring SIGINT process-wide instead (``SIG_IGN``) also dropped
    the user's Ctrl-C while the workers started: seconds in which Ctrl-C did nothing, the run going
    on. On Ctrl-C this returns at once (``KeyboardInterrupt``); a cluster still starting is closed
    when its start ends (its processes also end with this one)."""
    import signal
    import threading
    from multiprocessing import resource_tracker

    box: dict = {}
    lock = threading.Lock()

    def start():
        # multiprocessing unblocks SIGINT in the thread that starts its resource tracker: start it first
        resource_tracker.ensure_running()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # this thread only
        try:
            cluster = cluster_cls(n_workers=n_workers, **kwargs)
        except BaseException as e:  # noqa: BLE001 - raised below, in the caller's thread
            box["error"] = e
            return
        with lock:
            abandoned = box.setdefault("cluster", cluster) is not cluster
        if abandoned:  # the caller was interrupted meanwhile (an exiting interpreter fails to close it:
            with contextlib.suppress(Exception):  # its processes end with this one)
                cluster.close()

    t = threading.Thread(target=start, name="ldcsr-dask-local", daemon=True)
    t.start()
    try:
        t.join()  # a Ctrl-C interrupts the wait (SIGINT is blocked in the starting threads only)
    except BaseException:
        with lock:
            cluster = box.get("cluster")
            box["cluster"] = None  # tells the start to close what it made
        if cluster is not None:
            cluster.close()
        raise
    if "error" in box:
        raise box["error"]
    return box["cluster"]


def _stop_local(cluster, *, at_once: bool = False) -> None:
    """Close a ``LocalCluster`` from :func:`_start_local`. ``at_once`` (Ctrl-C): each worker process
    is killed if it has not ended within half a second, instead of the 4 s distributed gives it: a
    worker loading the model (its event loop busy) ends only once its load is over. distributed's
    lines about the workers it then loses are not shown (the run says it was interrupted).

    Each nanny only kills its worker here (told first not to start another), and the cluster's close
    then closes the nannies: a nanny's own close whose kill timed out (the killed worker not yet gone
    within its last tenth of a second) stayed 'closing' for ever before distributed 2026.8, and the
    cluster's close waited for it (Ctrl-C hung the run)."""
    import asyncio

    from distributed import Nanny

    if at_once:
        async def stop():  # the cluster's workers are processes (_start_local): each a Nanny
            nannies = [w for w in list(cluster.workers.values()) if isinstance(w, Nanny)]
            for w in nannies:
                w.close_gracefully()  # its worker's end is no reason to start a new one
            await asyncio.gather(*(w.kill(timeout=0.5) for w in nannies), return_exceptions=True)

        quiet = [logging.getLogger(n) for n in ("distributed", "asyncio")]  # its broadcasts' futures too
        levels = [q.level for q in quiet]
        try:
            for q in quiet:
                q.setLevel(logging.CRITICAL)
            with contextlib.suppress(Exception):
                cluster.sync(stop)
            cluster.close()
        finally:
            for q, level in zip(quiet, levels):
                q.setLevel(level)
        return
    # A worker still ending after distributed's 4 s (a loaded machine, the model freed) is killed:
    # the run is over, its outputs written; not a 'WARNING distributed.nanny' line above its summary.
    nanny, still = logging.getLogger("distributed.nanny"), _NotStillAlive()
    nanny.addFilter(still)
    try:
        cluster.close()
    finally:
        nanny.removeFilter(still)


class _NotStillAlive(logging.Filter):
    """Drops the nanny's 'Worker process still alive after 4.0 seconds, killing' of a closing cluster."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Worker process still alive after")


@contextlib.contextmanager
def dask_runner(address: str, source: ModelSource, *, timeout: float = 20.0, in_flight=None):
    """A :class:`~ldcsr_core.geo.distributed.DaskRunner` on ``local:N`` (a LocalCluster of N
    processes) or a scheduler address."""
    import dataclasses

    from ..threads import policy, worker_threads, workers_provenance
    from .distributed import DaskRunner

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise LdcsrError(
            'Dask is not installed: pip install "dask[distributed]" (the package\'s [cluster] extra)'
        ) from None
    kind, arg = parse_dask_address(address)
    if logging.getLogger("ldcsr_core").getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines only with -vv
        # "Failed to reconnect to scheduler": the run's own error says it, in one line
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    cluster = None
    client = None
    interrupted = False
    try:
        try:
            if kind == "local":
                # No dashboard; the scheduler's HTTP server (health routes) still starts: on a free
                # port of this machine, not 8787 (taken, distributed printed a 4-line UserWarning)
                cluster = _start_local(LocalCluster, arg, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.WARNING,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
                client = Client(cluster)
            else:
                client = _connect(Client, arg, timeout)
        except OSError as e:
            where = f"start a local Dask cluster of {counted(arg, 'worker')}" if kind == "local" else \
                f"reach the Dask scheduler at {arg}"
            raise LdcsrError(f"cannot {where}: {one_line(e)}") from None
        share = None
        if kind == "local" and source.threads is None and policy()[0] == "auto":
            # the workers share this machine's cores (one tile at a time each)
            share = worker_threads(arg)
            source = dataclasses.replace(source, threads=share)
        runner = DaskRunner(client, source, in_flight=in_flight, timeout=timeout, unload=cluster is None)
        if share is not None:  # auto: their share, not a count fixed on the client
            runner.threads_tag = workers_provenance(share)
        try:
            yield runner
        except BaseException as e:  # Ctrl-C: not waiting for workers that load the model (one joined)
            runner.close(wait=isinstance(e, Exception))
            raise
        runner.close()
    except BaseException as e:
        interrupted = not isinstance(e, Exception)
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            _stop_local(cluster, at_once=interrupted)

