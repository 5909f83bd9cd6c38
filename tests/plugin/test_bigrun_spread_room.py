"""A streamed Run with samples checks the room of its result and its spread file before any work, as ldcsr upscale
and QGIS do (the engine's ``pipeline.check_room``), in a real napari viewer (Xvfb) on a real GeoTIFF."""

from __future__ import annotations

from .test_bigrun import _open_lazy, _stream_with_samples, big, run_under_file_size_limit  # noqa: F401 - the fixture
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def test_a_spread_file_too_big_for_the_file_size_limit_is_refused_before_the_run(big, ldcsr, notes):  # noqa: F811
    """Before: napari checked the result's size alone (192×256×3 bytes, 144 KiB: 36 KiB at 4:1 fits a 78 KiB
    ``ulimit -f``), so the Run started and its float spread file (4× that) was refused by the engine only once the
    model had loaded. Now it is refused at once, the spread file named with what it needs, nothing made."""
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    _stream_with_samples(widget, src)
    started = run_under_file_size_limit(widget, src, 80_000)
    assert not started and not widget.running and widget.provider_calls == []
    errors = [t for s, t in notes if s == "error"]
    assert len(errors) == 1 and "it cannot be streamed next to its source: ortho_x2.00_ldcsr_spread.tif cannot be " \
        "written: the file size limit (ulimit -f) is 78.1 KiB, the spread file needs about " in errors[0], notes
    assert sorted(p.name for p in big.parent.iterdir()) == ["ortho.tif"]
