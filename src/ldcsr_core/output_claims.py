"""The claim a run holds on an output while it makes it (:class:`OutputClaim`): ``.NAME.ldcsr-claim``
beside it, ``flock``ed, so that a second run on the same output waits for it (or, in a batch, does
its other inputs first) instead of computing it again; the kernel drops it when its run dies.
No torch, no rasterio."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .errors import OutputBusy
from .files import part_prefix

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)


class OutputClaim:
    """A run's claim on making output ``path``: an exclusive ``flock`` on ``.NAME.ldcsr-claim`` beside
    it, held from before the run checks the output until its file is in place (or the run failed).

    Crash-safe: the kernel drops the lock when its process dies, however it dies; a claim file left
    unlocked is simply taken by the next run (and removed when it is done). Where a claim cannot be
    made (no ``fcntl``, a folder we cannot write in, a share without locks) the run goes on
    unclaimed, as without claims: the output's hard-link rename still keeps two runs from both
    writing it. Only an optimisation, never needed for a right result."""

    SUFFIX = ".ldcsr-claim"

    def __init__(self, path: str | os.PathLike) -> None:
        p = Path(path)
        self.output = p
        self.path = p.parent / f"{part_prefix(p)[:-1]}{self.SUFFIX}"
        self.fd: int | None = None
        self.waited = False  # taken by :meth:`of` after a wait for another run (the disk may have filled meanwhile)

    @classmethod
    def of(cls, path: str | os.PathLike, *, wait: bool) -> "OutputClaim":
        """The claim on ``path``, taken: held by another live run, waited for (said once as a
        warning), or with ``wait`` False :class:`~ldcsr_core.errors.OutputBusy`."""
        claim = cls(path)
        if not claim.take(wait=False):
            if not wait:
                raise OutputBusy(f"another run is making {path} now (wait for it to end, or write to another path)")
            log.warning("another run is making %s now; waiting for it", path)
            claim.waited = claim.take(wait=True)
        return claim

    @classmethod
    def each(cls, paths, *, wait: bool) -> list["OutputClaim"]:
        """The claims on every file a run will write (its output, its spread file...; None entries
        skipped), each taken as :meth:`of` takes one, in one order (by the claim file's real path), so
        that two runs sharing two of their files never each hold one and wait for the other. When one
        cannot be taken (:class:`~ldcsr_core.errors.OutputBusy`, Ctrl-C) those taken are given up."""
        claims = {c.key(): c for c in map(cls, filter(None, paths))}  # one per claim file
        taken: list[OutputClaim] = []
        try:
            for key in sorted(claims):
                taken.append(cls.of(claims[key].output, wait=wait))
        except BaseException:
            for c in taken:
                c.release()
            raise
        return taken

    def key(self) -> str:
        """The claim file's real path: one for every spelling of the output's name."""
        return os.path.join(os.path.realpath(self.path.parent), self.path.name)

    @classmethod
    def busy(cls, path: str | os.PathLike) -> bool:
        """Whether another live run is making ``path`` now (napari's streamed Run picks another name)."""
        claim = cls(path)
        free = not claim.path.exists() or claim.take(wait=False)  # a dead run's claim file: free
        claim.release()
        return not free

    def take(self, wait: bool) -> bool:
        """Claim the output (``wait``: until the run holding it is done). False only when another
        live run holds it and ``wait`` is False."""
        if fcntl is None or self.fd is not None:  # pragma: no cover - Windows
            return True
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError:
                return True  # cannot make one here: unclaimed (the write itself says what is wrong)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException as e:  # no locks on this filesystem (ENOLCK...): unclaimed; Ctrl-C: raised
                os.close(fd)
                if isinstance(e, OSError):
                    return True
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)  # its holder removed it as we locked it: claim the file there now

    def release(self) -> None:
        """Give the claim up: the file removed first, then the lock (a run that locked the removed
        file sees it is gone and takes the new one)."""
        if self.fd is None:
            return
        try:
            self.path.unlink()
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
