"""Cancel pressed while a Run digests its copy of the layer (``LayerSource.copy_digests``, in the run's worker,
about a second a GB) ends the run within one pass of the digest, in a real napari viewer (Xvfb)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def test_cancel_during_the_digest_of_the_runs_copy_ends_the_run_within_one_pass(ldcsr, qtbot, notes, monkeypatch,
                                                                                bicubic_engine):
    """A 128-row layer digested a row a pass, each pass slowed to 50 ms (a large layer's digest, seconds long).
    Before: Cancel pressed during it waited for the whole digest (all 128 passes, 6 s here; a 10 GB layer's,
    some 10 s) before the run stopped. Now the digest hears the run's callback between passes (the engine's
    progress/cancel protocol): the run ends at once, cancelled, no tile run, nothing added."""
    import zlib

    from ldcsr_core import pixel_digest
    from napari_ldcsr.run import _layer_source

    viewer, widget = ldcsr
    src = viewer.add_image(np.random.default_rng(3).integers(0, 255, (128, 96, 3), dtype=np.uint8), name="scene")
    monkeypatch.setattr(_layer_source, "COPY_PASS_BYTES", 96 * 3)  # one row a pass
    passes, digesting = [], threading.Event()

    def slow_crc32(data, value=0):
        if threading.current_thread() is not threading.main_thread():  # the run's worker's digest
            passes.append(time.perf_counter())
            if len(passes) == 3:
                digesting.set()
            time.sleep(0.05)
        return zlib.crc32(data, value)

    monkeypatch.setattr(pixel_digest, "zlib", SimpleNamespace(crc32=slow_crc32))
    widget.set_layer(src)
    assert widget.run(layer=src, scale=2.0)
    qtbot.waitUntil(digesting.is_set, timeout=60_000)
    widget.cancel()
    pressed = time.perf_counter()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    after = [t for t in passes if t > pressed]
    assert len(after) <= 1, f"{len(after)} passes of the digest after Cancel, of {len(passes)}"
    assert time.perf_counter() - pressed < 2.0
    assert bicubic_engine == []  # no tile ran
    assert [lyr.name for lyr in viewer.layers] == ["scene"]
    assert widget.status == "Cancelled; nothing was added."
    assert ("info", "LDCSR run cancelled; no layer was added.") in notes, notes
