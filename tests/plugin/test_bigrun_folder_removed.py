"""A streamed Run whose folder is removed while it writes its result and spread file says it as the engine and
the command line do (:func:`ldcsr_core.folder_removed.outputs_removed`): the result the user asked for, not written."""

from __future__ import annotations

import shutil

from . import test_bigrun
from .test_bigrun import _open_lazy, _stream_with_samples
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

big = test_bigrun.big  # the fixture: a small RGB GeoTIFF opened lazily, results over 100 kB streamed


def test_the_folder_removed_before_the_spread_file_is_in_place_names_the_result(big, ldcsr, qtbot, notes,
                                                                                 monkeypatch):
    """The source's folder (where the result and its spread file go) removed as the spread file is renamed into
    place. Before: 'the output folder scene was removed or renamed during the run; scene/ortho_x2.00_ldcsr_spread.tif
    was not written (…)', the spread file alone, of a run whose result was not written either (the first writer's
    words). Now the engine's words for the run, which `ldcsr upscale` says too: the result not written."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    folder = big.parent
    commit = GeoTiffWriter.commit

    def removing(self):
        if self.path.name.endswith("_spread.tif") and folder.is_dir():
            shutil.rmtree(folder)
        return commit(self)

    monkeypatch.setattr(GeoTiffWriter, "commit", removing)
    _stream_with_samples(widget, src)
    assert widget.run()
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    said = (f"the output folder {folder} was removed or renamed during the run; {folder / 'ortho_x2.00_ldcsr.tif'} "
            "was not written (make the folder again, or give it its name back, and run again)")
    assert widget.status == f"Failed: {said}"
    assert ("error", f"LDCSR could not super-resolve 'ortho': {said}") in notes, notes
    assert [lyr.name for lyr in viewer.layers] == ["ortho"] and not folder.exists()
