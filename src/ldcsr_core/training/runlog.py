"""The run's log as JSON lines: one object per line (``event``: start, step, val, checkpoint,
phase_end, stop, end), appended, so that the runs of a resumed training continue one file."""

from __future__ import annotations

import json
import time
from pathlib import Path

__all__ = ["JsonlLog", "read_jsonl"]


class JsonlLog:
    """Appends events to ``path`` (nothing when ``path`` is None); each line is flushed at once."""

    def __init__(self, path=None):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields):
        if not self.path:
            return
        rec = {"event": event, "time": round(time.time(), 3), **fields}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec, default=_plain) + "\n")


def _plain(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def read_jsonl(path) -> list[dict]:
    """The events of a JSON-lines log (for tests and reports)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
