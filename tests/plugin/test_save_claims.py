"""*Save layer as GeoTIFF…* onto a file another run (``ldcsr upscale``, a second napari) is making
now: refused in one sentence, the other run's part file and claim untouched, nothing written."""

from __future__ import annotations

import os

import numpy as np
import rasterio
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


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


def test_a_save_onto_the_spread_file_a_command_is_making_is_refused(ldcsr, qtbot, tmp_path, notes, tiny_model):
    """An ``ldcsr upscale --samples 2`` (here upscale_raster in a thread, held at its first tile) makes
    o.tif and o_spread.tif: a Save onto o_spread.tif is refused, and the command then ends with both
    its files. Before: 'Saved 'img' as …/o_spread.tif.', then the command failed 'output exists:
    …/o_spread.tif (it appeared while this run worked ...)' and lost its whole result."""
    import threading

    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    viewer, widget = ldcsr
    src = tmp_path / "in" / "scene.tif"
    src.parent.mkdir()
    with rasterio.open(src, "w", driver="GTiff", width=24, height=20, count=1, dtype="uint8") as ds:
        ds.write(np.arange(480, dtype=np.uint8).reshape(1, 20, 24))
    out, spread = tmp_path / "o.tif", tmp_path / "o_spread.tif"
    at_first_tile, go_on, done = threading.Event(), threading.Event(), {}

    def held(info):
        at_first_tile.set()
        assert go_on.wait(120)

    def command():
        try:
            done["result"] = upscale_raster(src, out, model=tiny_model, scale=2, options=UpscaleOptions(samples=2),
                                            callback=held)
        except BaseException as e:  # noqa: BLE001 - said by the test
            done["error"] = e

    worker = threading.Thread(target=command)
    worker.start()
    try:
        assert at_first_tile.wait(120)
        layer = viewer.add_image(np.ones((20, 24), np.uint8), name="img")
        viewer.layers.selection.active = layer
        assert widget.saves.save(str(spread))
        qtbot.waitUntil(lambda: not widget.saves.saving, timeout=60_000)
        assert widget.status == (f"'img' was not saved: another run is making {spread} now "
                                 "(wait for it to end, or write to another path)")
    finally:
        go_on.set()
        worker.join(120)
    assert "error" not in done and done["result"].status == "written", done
    with rasterio.open(spread) as ds:
        assert ds.dtypes == ("float32",) and "LDCSR_SPREAD" in ds.tags()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "o.tif", "o_spread.tif"]
