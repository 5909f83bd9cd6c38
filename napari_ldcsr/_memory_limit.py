"""The in-memory limit of a napari result (Qt-free, imports nothing of the plugin): a Run's result over
it is streamed to a file (``run._bigrun``, which re-exports it), a PNG or JPEG over it is opened
lazily by the reader (``io._lazy``). One home below both: before, ``io._lazy`` imported it from
``run._bigrun``, which imports ``io._lazy`` (an import circle)."""

from __future__ import annotations

import os
import sys

__all__ = ["STREAM_THRESHOLD_MB", "stream_threshold_bytes"]

#: Results larger than this (MiB, all bands, in the source dtype) are not built in memory:
#: whole-layer runs of a file-backed layer stream to a GeoTIFF next to the source, other
#: regions are refused. The environment variable ``NAPARI_LDCSR_STREAM_MB`` overrides it.
STREAM_THRESHOLD_MB = 512


def stream_threshold_bytes() -> int:
    """The in-memory limit of a result in bytes (``NAPARI_LDCSR_STREAM_MB`` or the constant;
    ``inf``: no limit, never stream)."""
    mb = os.environ.get("NAPARI_LDCSR_STREAM_MB", "").strip()
    try:
        value = float(mb) if mb else float(STREAM_THRESHOLD_MB)
    except ValueError:
        value = float(STREAM_THRESHOLD_MB)
    if value == float("inf"):  # int() of it failed with OverflowError at every Run ("nan": ValueError)
        return sys.maxsize
    return int((value if value == value else STREAM_THRESHOLD_MB) * 2**20)
