"""Run a raster's tiles on a Dask cluster (optional extra: ``pip install "napari-ldcsr[cluster]"``).

The client reads each tile's window, the workers run the model on it, and the client feeds the
results, in plan order, into the same ``RowMerger`` and GeoTIFF sink as a single-process run.
Each worker loads the model once (a :class:`ModelPlugin` registered on the cluster, also set up
on workers that join later). The engine keys noise to the global latent position, so the same
seed gives the same output file as the single-process run. Workers need no access to the input
or output files; with a checkpoint path they do need the checkpoint at that path.

>>> with dask_runner("local:2", ModelSource(path="model.safetensors")) as runner:  # doctest: +SKIP
...     upscale_raster("in.tif", "out.tif", model=model, scale=2, runner=runner)
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..errors import InputError, LdcsrError, one_line
from ..files import sha256_file

__all__ = ["ModelSource", "ModelPlugin", "DaskRunner", "dask_runner", "parse_dask_address"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """How a worker obtains the model: a checkpoint ``path`` or a picklable zero-arg ``builder``.

    ``path=None`` and no builder means the shipped default model. ``key`` identifies the model in
    each worker's cache; by default the path's SHA-256 (or the builder's repr). ``threads`` is the
    torch CPU thread count of the workers: floating-point sums depend on it (by one ulp, enough to
    flip a rounding now and then), so :class:`DaskRunner` sets it to the client's own count unless
    given, which is what makes the output identical to a single-process run on the client.
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

    def cache_key(self) -> str:
        if self.key:
            return self.key
        if self.path is not None:
            return f"{Path(self.path).name}-{sha256_file(self.path)[:16]}-{self.device}-{self.dtype}"
        if self.builder is not None:
            return hashlib.sha256(repr(self.builder).encode()).hexdigest()[:16] + f"-{self.device}"
        return f"default-{self.device}-{self.dtype}"

    def load(self):
        self.apply_threads()
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
        from .. import __version__

        if self.software and self.software != __version__:
            raise LdcsrError(f"it runs ldcsr_core {__version__}, the client {self.software}: install the "
                             "same version on the workers (other code can give other pixels)")

    def apply_threads(self) -> None:
        if self.threads:
            import torch

            if torch.get_num_threads() != self.threads:  # per calling thread with OpenMP
                torch.set_num_threads(self.threads)


try:  # the plugin base class only exists with the cluster extra installed
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask not installed
    _WorkerPlugin = object


class ModelPlugin(_WorkerPlugin):
    """Loads the model once per worker, when the worker starts (or when the plugin is registered)."""

    def __init__(self, source: ModelSource, name: str):
        self.source = source
        self.name = name
        self.model = None
        self.loads = 0

    def setup(self, worker=None):
        try:
            self.model = self.source.load()
        except Exception as e:  # noqa: BLE001 - say where: the path or the weights may be fine on the client
            raise _on_worker(e, worker) from None
        self.loads += 1

    def teardown(self, worker=None):
        self.model = None


def _on_worker(e: BaseException, worker) -> Exception:
    """``e`` (a model load failure) as the same error class, its message naming the worker."""
    where = getattr(worker, "address", None) or "?"
    msg = f"the Dask worker {where} could not load the model: {one_line(e)}"
    if isinstance(e, LdcsrError):
        with contextlib.suppress(Exception):
            return type(e)(msg)
    return LdcsrError(msg)


def _worker_model(plugin_name: str, source: ModelSource):
    """The worker's cached model (loaded by its plugin; loaded here if the plugin is missing)."""
    from distributed import get_worker

    worker = get_worker()
    plugin = worker.plugins.get(plugin_name)
    if plugin is None:
        plugin = ModelPlugin(source, plugin_name)
        worker.plugins[plugin_name] = plugin
    if plugin.model is None:
        plugin.setup(worker)
    return plugin.model


def _run_tile(plugin_name: str, source: ModelSource, arr: np.ndarray, tile, plan, mode: str,
              seed: int) -> np.ndarray:
    from ..threads import fixed_threads
    from .local_runner import infer_tile

    model = _worker_model(plugin_name, source)
    source.apply_threads()
    with fixed_threads(source.threads):  # not adapted to load: the client's count, bit for bit
        return infer_tile(model, arr, tile, plan, mode=mode, seed=seed)


def _plugin_loads(dask_worker, plugin_name: str) -> int:
    p = dask_worker.plugins.get(plugin_name)
    return 0 if p is None else p.loads


class DaskRunner:
    """Runs tiles as Dask tasks; yields results in plan order with a bounded number in flight.

    Parameters
    ----------
    client : a ``distributed.Client``.
    source : how workers load the model.
    in_flight : tiles submitted ahead of the one being merged (default: 2 per worker thread + 2);
        bounds the client's memory.
    timeout : seconds to wait for a worker when the cluster has none (at the start, or after it
        lost them all) before failing with a clear :class:`LdcsrError`.
    """

    def __init__(self, client, source: ModelSource, *, in_flight: int | None = None, timeout: float = 20.0):
        from .. import __version__

        if source.threads is None:
            from ..threads import policy

            source = dataclasses.replace(source, threads=policy()[1])
        if source.software is None:
            source = dataclasses.replace(source, software=__version__)
        if source.weights_sha256 is None and source.builder is None and source.path and Path(source.path).is_file():
            source = dataclasses.replace(source, weights_sha256=sha256_file(source.path))
        self.client = client
        self.source = source
        self.timeout = float(timeout)
        self.plugin_name = f"ldcsr-model-{source.cache_key()}"
        try:
            client.register_plugin(ModelPlugin(source, self.plugin_name), name=self.plugin_name)
        except Exception as e:
            # The scheduler keeps a plugin whose setup failed and gives it to every worker that
            # joins later (a worker killed over its memory limit while loading: forever): remove it.
            self.close()
            raise LdcsrError(_registration_error(e)) from None
        if in_flight is None:
            threads = sum(client.nthreads().values()) or 1
            in_flight = 2 * threads + 2
        self.in_flight = max(1, int(in_flight))

    def model_loads(self) -> dict[str, int]:
        """How many times each worker loaded the model (1 each, by design)."""
        return self.client.run(_plugin_loads, plugin_name=self.plugin_name)

    #: Times a run re-sends its plan and tiles after the cluster lost them (a worker died).
    RESUBMITS = 3

    def map(self, jobs: Iterable[tuple[Any, np.ndarray | None]], plan, *, mode: str, seed: int
            ) -> Iterator[tuple[Any, np.ndarray | None]]:
        from concurrent.futures import CancelledError

        shared = {"plan": self._scatter(plan)}

        def submit(tile, arr):
            if arr is None:
                return None
            return self.client.submit(_run_tile, self.plugin_name, self.source, arr, tile, shared["plan"],
                                      mode, seed, pure=False, retries=1)

        queue: collections.deque = collections.deque()  # (tile, arr, future) in plan order
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
                    queue.append((tile, arr, submit(tile, arr)))
                if not queue:
                    return
                tile, arr, fut = queue[0]
                try:
                    out = None if fut is None else fut.result()
                except CancelledError as e:  # the scattered plan went with a dead worker
                    if resubmits >= self.RESUBMITS:
                        raise LdcsrError(f"the Dask cluster lost tile {tile.index}'s work {resubmits + 1} "
                                         f"times (workers died?): {one_line(e)}") from None
                    resubmits += 1
                    log.warning("the Dask cluster lost work in progress (%s); sending the plan and the "
                                "%d pending tiles again", one_line(e), len(queue))
                    with contextlib.suppress(Exception):
                        self.client.cancel([f for *_, f in queue if f is not None])
                    shared["plan"] = self._scatter(plan)
                    queue = collections.deque((t, a, submit(t, a)) for t, a, _ in queue)
                    continue
                queue.popleft()
                yield tile, out
        finally:
            pending = [f for *_, f in queue if f is not None]
            if pending:
                with contextlib.suppress(Exception):  # the scheduler may be gone
                    self.client.cancel(pending)

    def _scatter(self, plan):
        """The plan on every worker, once there is one: a cluster without workers (none started,
        all lost) or without its scheduler is a clear :class:`LdcsrError` after ``timeout``."""
        where = getattr(getattr(self.client, "scheduler", None), "address", None) or "the scheduler"
        try:
            if not self.client.nthreads():
                self.client.wait_for_workers(1, timeout=self.timeout)
            return self.client.scatter([plan], broadcast=True, hash=False)[0]
        except Exception as e:  # noqa: BLE001 - TimeoutError, OSError, CommClosedError ...
            if getattr(self.client, "status", "running") != "running":
                raise LdcsrError(f"lost the Dask scheduler at {where}: {one_line(e)}") from None
            workers = True
            with contextlib.suppress(Exception):
                workers = bool(self.client.nthreads())
            if not workers:
                raise LdcsrError(f"the Dask cluster at {where} has no workers (none within {self.timeout:g} s): "
                                 f"start some with 'dask worker {where}'") from None
            raise LdcsrError(f"the Dask cluster at {where} failed: {one_line(e)}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.unregister_worker_plugin(self.plugin_name)


def _registration_error(e: BaseException) -> str:
    msg = one_line(e)
    if msg.startswith("the Dask worker "):
        return msg
    if type(e).__name__ == "CommClosedError":  # the worker went away while loading the model
        return f"a Dask worker died while loading the model (killed over its --memory-limit?): {msg}"
    return f"the Dask workers could not load the model: {msg}"


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
            raise InputError(f"--dask local:N needs a worker count, got {text!r}") from None
        if k < 1:
            raise InputError(f"--dask local:N needs at least one worker, got {text!r}")
        return "local", k
    if "://" in t and t.split("://", 1)[1]:
        scheme = t.split("://", 1)[0].lower()
        if scheme not in DASK_SCHEMES:
            raise InputError(f"--dask: {scheme}:// is not a Dask scheduler address (use "
                             f"{', '.join(s + '://' for s in DASK_SCHEMES)} or local:N), got {text!r}")
        return "remote", t
    raise InputError(
        f"--dask must be a scheduler address like tcp://HOST:8786 or local:N, got {text!r}"
    )


def _connect(client_cls, address: str, timeout: float):
    """A client of the scheduler at ``address``, or a clear :class:`LdcsrError` within about
    ``timeout`` s: a refused port fails at once, and a service that is no Dask scheduler (e.g. the
    dashboard's port) neither hangs the run nor surfaces as a bogus error of the handshake."""
    import socket
    import threading

    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme == "tcp" and port.isdigit():
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
    why = f"no Dask handshake within {timeout + 5:g} s" if e is None else one_line(e)
    raise LdcsrError(f"{address} does not answer as a Dask scheduler ({why}); the scheduler listens on "
                     "port 8786 by default, its dashboard on 8787")


@contextlib.contextmanager
def _children_ignore_ctrl_c():
    """Processes started inside ignore Ctrl-C (SIGINT): a terminal sends it to the whole process
    group, and each local worker would print a ``KeyboardInterrupt`` traceback; this process handles
    it and closes the cluster, which stops them.  Only from the main thread (elsewhere: no change)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by spawned children
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def dask_runner(address: str, source: ModelSource, *, timeout: float = 20.0, in_flight=None):
    """A :class:`DaskRunner` on ``local:N`` (a LocalCluster of N processes) or a scheduler address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise LdcsrError(
            'Dask is not installed: pip install "napari-ldcsr[cluster]"'
        ) from None
    kind, arg = parse_dask_address(address)
    if logging.getLogger("ldcsr_core").getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines only with -vv
        # "Failed to reconnect to scheduler": the run's own error says it, in one line
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    cluster = None
    client = None
    try:
        try:
            if kind == "local":
                with _children_ignore_ctrl_c():
                    cluster = LocalCluster(n_workers=arg, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.WARNING)
                client = Client(cluster)
            else:
                client = _connect(Client, arg, timeout)
        except OSError as e:
            raise LdcsrError(f"cannot reach the Dask scheduler at {arg}: {one_line(e)}") from None
        runner = DaskRunner(client, source, in_flight=in_flight, timeout=timeout)
        try:
            yield runner
        finally:
            runner.close()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

