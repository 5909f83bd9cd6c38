"""``python -m MODULE ARGS`` and ``python -c CODE ARGS`` as processes of their own, each forked from one
interpreter that has imported torch, rasterio and the engine once (one per pytest process): a run
costs its own work, not the 1.5-2 s a new interpreter spends importing torch again.

Each run is a real process, as ``subprocess.run``'s: its exit status (-N for a signal's), its own
file descriptors 1 and 2 (what GDAL, libtiff and logging's last-resort handler write there too,
after what the imports printed, as a new interpreter prints it), its working folder (this
process's at the run unless ``cwd``, as subprocess's) and file size limit (``ulimit -f``), kill -9
as it lands, and the interpreter's own exit (atexit handlers). It differs from a new interpreter
only in the modules imported before its code ran (:data:`PRELOAD`, in the order a command imports
them: ``ldcsr_core`` first, whose import sets the thread variables before torch loads, from the
same environment) and in its stdin (/dev/null). Its environment is this process's at the run, as
subprocess's: the server is started again when that has changed since it started (pytest's note of the
test running aside). A test of its signal handling or of its imports runs a new interpreter
(``subprocess``) instead.
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

__all__ = ["PRELOAD", "run", "start"]

# What ``ldcsr upscale`` imports on its way, in its order (a child imports the rest itself). None of
# them reads the working folder at import; ``ldcsr_core`` reads LDCSR_THREADS (threads.prepare).
PRELOAD = ("ldcsr_core", "ldcsr_core.cli.commands", "torch", "rasterio", "ldcsr_core.geo.pipeline")

_SERVER = r"""
import importlib, json, os, sys, tempfile, traceback
inbox, outbox = os.fdopen(os.dup(0), "rb", buffering=0), os.fdopen(os.dup(1), "w")
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
said = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # what the imports print
os.dup2(said[0].fileno(), 1)
os.dup2(said[1].fileno(), 2)
try:
    for name in sys.argv[1:]:
        importlib.import_module(name)
    hello = {"ready": True}
except BaseException:
    hello = {"ready": False, "error": traceback.format_exc()}
import gc
gc.collect()
gc.freeze()  # what the imports made stays shared with each child: its exit does not walk (copy) it all
sys.stdout.flush()
sys.stderr.flush()
for f, key in zip(said, ("out", "err")):
    f.seek(0)
    hello[key] = f.read().hex()
    f.close()
outbox.write(json.dumps(hello) + "\n")
outbox.flush()
if not hello["ready"]:
    sys.exit(1)
for line in inbox:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        break
    outbox.write(json.dumps({"pid": pid}) + "\n")
    outbox.flush()
    outbox.write(json.dumps({"status": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}) + "\n")
    outbox.flush()
else:
    sys.exit(0)  # the test process has gone
# --- the child: from here on as `python ARGV` would run ----------------------------------------
inbox.close()
outbox.close()
os.chdir(req["cwd"])
for fd, path in ((1, req["out"]), (2, req["err"])):
    f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(f, fd)
    os.close(f)
    if fd == req["reader_gone"]:  # a pipe whose reader has gone (`| head` after head ended)
        rd, wr = os.pipe()
        os.close(rd)
        os.dup2(wr, fd)
        os.close(wr)
if req["fsize_limit"]:
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (req["fsize_limit"], resource.RLIM_INFINITY))
if "numpy.random" in sys.modules:  # a new interpreter's global NumPy generator is its own
    sys.modules["numpy.random"].seed()
mode, target, *args = req["argv"]
if mode == "-m":
    import runpy
    sys.argv, sys.path[0] = [target, *args], os.getcwd()
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    import types
    sys.argv = ["-c", *args]
    __main = types.ModuleType("__main__")
    sys.modules["__main__"] = __main
    exec(compile(target, "<string>", "exec"), __main.__dict__)
"""


class _Server:
    """The interpreter that forks the runs, started at the first one."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ldcsr-forked-")
        self.env = _environment()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, *PRELOAD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        self.buf = b""
        self.count = 0
        self.running: Forked | None = None
        hello = self.message(None)
        if not hello["ready"]:
            raise RuntimeError(f"the fork server could not import {PRELOAD}:\n{hello['error']}")
        self.said = bytes.fromhex(hello["out"]), bytes.fromhex(hello["err"])

    def message(self, timeout: float | None) -> dict | None:
        """The server's next message, or None when none came within ``timeout`` seconds."""
        end = None if timeout is None else time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = None if end is None else max(0.0, end - time.monotonic())
            if not select.select([fd], [], [], left)[0]:
                return None
            data = os.read(fd, 65536)
            if not data:
                raise RuntimeError(f"the fork server ended (status {self.proc.wait()})")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Forked:
    """A run in progress: ``pid`` (a child of the server, not of this process: signal it with
    ``os.kill``), ``poll()``, ``wait(timeout)``, then ``returncode``, ``stdout`` and ``stderr``."""

    def __init__(self, server: _Server, args, text: bool):
        self.server, self.args, self.text = server, args, text
        server.count += 1
        self.paths = [os.path.join(server.dir, f"{server.count}.{k}") for k in ("out", "err")]
        self.returncode: int | None = None
        self.stdout = self.stderr = None

    def poll(self) -> int | None:
        return self.wait(0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status, or None when the run has not ended within ``timeout`` (0: a poll)."""
        if self.returncode is not None:
            return self.returncode
        msg = self.server.message(timeout)
        if msg is None:
            return None
        self.returncode = msg["status"]
        self.server.running = None
        out = []
        for said, path in zip(self.server.said, self.paths):
            try:  # (none where the child was killed before it opened them)
                with open(path, "rb") as f:
                    data = said + f.read()
                os.unlink(path)
            except FileNotFoundError:
                data = said
            if self.text:  # as subprocess's text=True reads a pipe
                data = data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")
            out.append(data)
        self.stdout, self.stderr = out
        return self.returncode


_server: _Server | None = None


def _environment() -> dict:
    """This process's environment as a child's would be, but for pytest's note of the test running."""
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def start(argv, *, cwd=None, fsize_limit: int | None = None, text: bool = True,
          reader_gone: int | None = None) -> Forked:
    """Start ``python ARGV`` (``argv`` = ``["-m", module, *args]`` or ``["-c", code, *args]``);
    ``reader_gone`` (1 or 2): that descriptor is a pipe whose reader has gone (nothing said on it
    comes back), as ``subprocess``'s ``stdout=`` a pipe whose read end was closed."""
    global _server
    if _server is not None and _server.running is not None:  # a run an earlier test left (interrupted
        os.kill(_server.running.pid, signal.SIGKILL)  # between start and wait): ended, so that its status
        _server.running.wait()  # is not taken for this one's
    if _server is not None and _server.proc.poll() is None and _environment() != _server.env:
        _server.close()  # the environment changed since it started (a Dask cluster's OMP_NUM_THREADS, a
        _server = None  # test's monkeypatch.setenv): a child must see this process's, as subprocess's does
    if _server is None or _server.proc.poll() is not None:  # the first run, the server died or was closed
        _server = _Server()
        atexit.register(_server.close)
    argv = [str(a) for a in argv]
    if argv[0] not in ("-m", "-c") or len(argv) < 2:
        raise ValueError(f"argv must start with -m MODULE or -c CODE, not {argv[:2]}")
    run = Forked(_server, [sys.executable, *argv], text)
    # as subprocess's: from this process's folder now (a test's monkeypatch.chdir), not the server's
    req = {"argv": argv, "cwd": os.path.abspath("." if cwd is None else cwd), "fsize_limit": fsize_limit,
           "out": run.paths[0], "err": run.paths[1], "reader_gone": reader_gone}
    _server.proc.stdin.write((json.dumps(req) + "\n").encode())
    _server.proc.stdin.flush()
    said = _server.message(60)
    if said is None:  # the server is stuck: a later run starts a new one rather than read this one's answers
        _server.proc.kill()
        raise RuntimeError("the fork server gave no process id within 60 s")
    run.pid = said["pid"]
    _server.running = run
    return run


def run(argv, *, cwd=None, fsize_limit: int | None = None, text: bool = True, reader_gone: int | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """``subprocess.run([sys.executable, *argv], capture_output=True, ...)`` in a forked process: a
    run that has not ended after ``timeout`` s is killed and raises ``subprocess.TimeoutExpired``."""
    p = start(argv, cwd=cwd, fsize_limit=fsize_limit, text=text, reader_gone=reader_gone)
    if p.wait(timeout) is None:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        raise subprocess.TimeoutExpired(p.args, timeout, p.stdout, p.stderr)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout, p.stderr)
