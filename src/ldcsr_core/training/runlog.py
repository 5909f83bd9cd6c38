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
    naming the log (:func:`~ldcsr_core.files.write_error`)."""

    def __init__(self, path=None):
        self.path = Path(path) if path else None
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
            if self.path.is_file() and (end := self.path.stat().st_size):
                with self.path.open("rb") as f:
                    f.seek(end - 1)
                    cut = f.read(1) != b"\n"
            with self.path.open("ab") as f:
                f.write((("\n" if cut else "") + json.dumps(rec, default=_plain) + "\n").encode("utf-8"))
        except OSError as e:  # errno's words named no file: '[Errno 28] No space left on device'
            from ..files import write_error

            raise write_error(self.path, e) from None


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
