"""*Save layer as GeoTIFF…* onto a file another run (``ldcsr upscale``, a second napari) is making
now: refused in one sentence, the other run's part file and claim untouched, nothing written."""

from __future__ import annotations

import os

import numpy as np
import rasterio


def test_a_save_onto_an_output_another_run_is_making_is_refused(ldcsr, qtbot, tmp_path, notes):
    from ldcsr_core.files import make_part
    from ldcsr_core.output_claims import OutputClaim

    viewer, widget = ldcsr
    layer = viewer.add_image(np.arange(40 * 48, dtype=np.uint16).reshape(40, 48), name="img")
    out = tmp_path / "o.tif"
    claim = OutputClaim.of(out, wait=False)  # the other run: its claim, then its part file
    part, fd = make_part(out)
    try:
        viewer.layers.selection.active = layer
        assert widget.saves.save(str(out))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
        assert widget.status == (f"'img' was not saved: another run is making {out} now "
                                 "(wait for it to end, or write to another path)")
        assert [t for s, t in notes if s == "error"] == [widget.status]
        assert sorted(tmp_path.iterdir()) == sorted([claim.path, part])  # its work as it was, no o.tif
    finally:
        os.close(fd)
        claim.release()
    os.unlink(part)
    assert widget.saves.save(str(out))  # that run over: saved
    qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
    assert widget.status == f"Saved 'img' as {out}."
    with rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(1), layer.data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif"]
