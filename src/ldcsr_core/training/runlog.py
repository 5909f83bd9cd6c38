"""The run's log as JSON lines: one object per line (``event``: start, step, val, checkpoint,
phase_end, stop, end), appended, so that the runs of a resumed training continue one file."""

from __future__ import annotations

import json
import time
from pathlib import Path

__all__ = ["JsonlLog", "read_jsonl"]


class JsonlLog:
    """Appends events to ``path`` (nothing when ``path`` is None); each line is flushed at once. A
    line that cannot be written (a full disk, ``ulimit -f``) is :class:`~ldcsr_core.errors.RasterIOError`
    naming the log (:func:`~ldcsr_core.files.write_error`). A log that is no regular file (a named
    pipe, ``/dev/stdout``) is opened once and kept open for the run: a reader (``cat PIPE``) sees
    one stream, not an end of file after the first line and then a writer blocked for ever."""

    def __init__(self, path=None):
        self.path = Path(path) if path else None
        self._stream = None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields):
        if not self.path:
            return
        rec = {"event": event, "time": round(time.time(), 3), **fields}
        try:
            # a line cut short by a kill or a full disk is closed first, not joined to this one; a
            # pipe (--log /dev/stdout into jq) has no end to look at, nor can it be opened to read
            cut = False
            if self._stream is None and self.path.exists() and not self.path.is_file():
                self._stream = self.path.open("ab")
            if self._stream is None and self.path.is_file() and (end := self.path.stat().st_size):
                with self.path.open("rb") as f:
                    f.seek(end - 1)
                    cut = f.read(1) != b"\n"
            line = (("\n" if cut else "") + json.dumps(rec, default=_plain) + "\n").encode("utf-8")
            if self._stream is not None:
                self._stream.write(line)
                self._stream.flush()
            else:
                with self.path.open("ab") as f:
                    f.write(line)
        except OSError as e:  # errno's words named no file: '[Errno 28] No space left on device'
            from ..files import write_error

            raise write_error(self.path, e) from None

    def close(self):
        """Close a pipe kept open (:meth:`write`); a regular file is closed after each line."""
        if self._stream is not None:
            self._stream, stream = None, self._stream
            stream.close()


def _plain(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def read_jsonl(path) -> list[dict]:
    """The events of a JSON-lines log (for tests and reports); a line cut short by a kill or a
    full disk is skipped."""
    events = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:  # empty or cut short
            continue
    return events
