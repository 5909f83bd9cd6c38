"""The watch on this process's mountinfo (mounts.mounts_changed, looked at before each tile by threads' cached
cpu levels): opened once whichever threads look first at once, in a forked child, and after someone closed it."""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ldcsr_core import mounts

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/mountinfo"), reason="Linux's /proc/self/mountinfo")


def _watches() -> list[int]:
    """This process's descriptors open on a mountinfo (its own, or its parent's when forked)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if re.fullmatch(r"/proc/\d+/mountinfo", os.readlink(f"/proc/self/fd/{fd}")):
                found.append(int(fd))
        except OSError:  # (the listing's own descriptor, closed since)
            pass
    return found


@pytest.fixture
def fresh(monkeypatch):
    """No watch yet (as in a new process); the one this test opens is closed after it."""
    monkeypatch.setattr(mounts, "_WATCH", ())
    before = set(_watches())
    yield before
    for fd in set(_watches()) - before:
        os.close(fd)


def test_threads_looking_first_at_once_open_one_watch(fresh, monkeypatch):
    """Eight threads' first look at once (a Dask worker's or napari's tiles): the mountinfo is opened once, and every
    later look polls that one. Before: each thread that found no watch opened its own, and the last to publish it
    won: the others' descriptors (7 here) stayed open for good."""
    n, opened, arrived, all_in = 8, [], [], threading.Event()
    real_open, start = os.open, threading.Barrier(8)

    def slow_open(path, *args, **kwargs):  # the first looks meet here, all of them if nothing keeps them apart
        fd = real_open(path, *args, **kwargs)
        if path == "/proc/self/mountinfo":
            opened.append(fd)
            all_in.wait(10)  # until every thread has started its look (on a loaded machine, late ones too)
            time.sleep(0.25)  # and the others are at the watch's lock, or here beside this one
        return fd

    monkeypatch.setattr(os, "open", slow_open)
    seen, errors = [], []

    def look():
        try:
            start.wait(10)
            arrived.append(1)
            if len(arrived) == n:
                all_in.set()
            seen.append(mounts.mounts_changed())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    workers = [threading.Thread(target=look) for _ in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    monkeypatch.setattr(os, "open", real_open)
    assert not errors and seen == [True] * n  # each thread's first look: its levels read afresh
    assert len(opened) == 1, opened
    assert set(_watches()) - fresh == {mounts._WATCH[1]} == set(opened)
    assert mounts.mounts_changed() is False  # the one kept is polled: no mount since


def test_a_forked_child_keeps_one_watch_its_own(fresh):
    """A child forked (multiprocessing's fork) after the parent opened its watch: the parent's copy is closed in the
    child, which opens its own; the parent's still answers. Before: the child kept the parent's descriptor open beside
    its own."""
    assert mounts.mounts_changed() is True
    parent = mounts._WATCH[1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: says how many watches it has after its first look, and whether that one is its own
        code = 1
        try:
            first = mounts.mounts_changed()
            own = mounts._WATCH and mounts._WATCH[0] == os.getpid()
            os.write(write, f"{first} {len(_watches())} {bool(own)}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as f:
        said = f.read()
    assert os.waitpid(pid, 0)[1] == 0
    assert said == f"True {len(fresh) + 1} True", said  # (those open before this test's, and the child's own)
    assert mounts._WATCH[1] == parent and mounts.mounts_changed() is False


def test_a_watch_closed_by_someone_else_is_opened_again_once(fresh, monkeypatch):
    """Someone closes the watch's descriptor (a clean-up closing every descriptor) while a thread has just looked it
    up and another thread's look finds it closed and drops it: the first thread's look still answers (a change: the
    levels read afresh), and the next look opens one watch. Before: the first thread's look raised IndexError
    (the watch emptied under it), in its tile."""
    assert mounts.mounts_changed() is True
    os.close(mounts._WATCH[1])
    inside, dropped, real_getpid, answers = threading.Event(), threading.Event(), os.getpid, []

    def getpid():  # the first thread stops between its look at the watch and its poll
        if threading.current_thread().name == "first" and not inside.is_set():
            inside.set()
            dropped.wait(10)
        return real_getpid()

    monkeypatch.setattr(os, "getpid", getpid)

    def first():
        try:
            answers.append(mounts.mounts_changed())
        except Exception as e:  # noqa: BLE001 - reported below
            answers.append(e)

    t = threading.Thread(target=first, name="first")
    t.start()
    assert inside.wait(10)
    assert mounts.mounts_changed() is True  # the other thread's look: closed (POLLNVAL), dropped
    dropped.set()
    t.join(30)
    monkeypatch.setattr(os, "getpid", real_getpid)
    assert answers == [True]
    assert mounts.mounts_changed() is True and mounts.mounts_changed() is False
    assert set(_watches()) - fresh == {mounts._WATCH[1]}


def test_a_look_while_another_thread_polls_the_watch_answers(fresh):
    """Threads' tiles look at once: one thread's look while another's poll of the one watch is under way (CPython
    refuses a second poll() of one poll object meanwhile: here the other's poll waits, as one can be caught in its
    system call on a loaded machine) answers, a change to be safe. Before: RuntimeError('concurrent poll()
    invocation') in the tile (7 of 8 threads polling at once, 20000 looks each, raised it)."""
    assert mounts.mounts_changed() is True
    other = threading.Thread(target=mounts._WATCH[2].poll, args=(1500,))  # (a mount meanwhile ends it sooner)
    answers = []
    other.start()
    try:
        while other.is_alive():
            answers.append(mounts.mounts_changed())
    except RuntimeError as e:
        answers.append(e)
    other.join(10)
    assert answers and set(answers) <= {True, False}, answers[-1]


def test_a_watch_whose_number_another_file_took_is_opened_again(fresh, tmp_path):
    """Someone closes the watch's descriptor and the next file opened takes its number (dup2: both at once): the
    next look answers a change and drops the watch, leaving that file open, and the one after opens a new watch.
    Before: the look polled the other file, which never has an exceptional condition: False at every look from then
    on, whatever was mounted (review31a: a tmpfs mounted under unshare -m never seen)."""
    assert mounts.mounts_changed() is True
    fd = mounts._WATCH[1]
    (tmp_path / "other").write_bytes(b"other")
    with open(tmp_path / "other", "rb") as f:
        os.dup2(f.fileno(), fd)
    try:
        assert mounts.mounts_changed() is True
        assert os.pread(fd, 5, 0) == b"other"  # not closed by the watch
        assert mounts.mounts_changed() is True and mounts._WATCH[1] != fd  # a new watch: its first look
        assert mounts.mounts_changed() is False
    finally:
        os.close(fd)
    assert set(_watches()) - fresh == {mounts._WATCH[1]}


REUSED_THEN_MOUNTED = """
import os, subprocess, sys
from ldcsr_core import mounts
mounts.mounts_changed()
fd = mounts._WATCH[1]
os.close(fd)  # someone closes it, and the next file opened takes its number
f = open(os.devnull, "rb")
assert f.fileno() == fd
looks = []
for folder in sys.argv[1:]:
    if subprocess.run(["mount", "-t", "tmpfs", "none", folder]).returncode:
        sys.exit(3)
    looks += [mounts.mounts_changed(), mounts.mounts_changed(), mounts.mounts_changed()]
print(looks)
"""


@pytest.mark.skipif(not shutil.which("unshare") or not shutil.which("mount") or os.geteuid() != 0,
                    reason="needs root's unshare -m (a private mount namespace)")
def test_mounts_after_the_watch_s_number_was_reused_are_seen(tmp_path):
    """As above in a private mount namespace, where tmpfs are mounted after the watch's number went to another
    file: the first mount is answered (the watch dropped, then opened again: its first look), and so is the next
    one. Before: [False] * 6, the mounts never seen."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("unshare -m not allowed here")
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    src = str(Path(mounts.__file__).resolve().parents[1])
    p = subprocess.run(["unshare", "-m", sys.executable, "-c", REUSED_THEN_MOUNTED, *map(str, folders)],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src}, timeout=120)
    if p.returncode == 3:
        pytest.skip("tmpfs cannot be mounted here")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[0] == str([True, True, False, True, False, False])
