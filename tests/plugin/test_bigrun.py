"""Big runs: Run on a lazily opened GeoTIFF; a result over the in-memory limit streams to a
GeoTIFF next to the source (the CLI's raster path) and opens lazily, placed exactly.

The scene is small for speed: the lazy-open and in-memory limits are lowered for the test."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from napari_ldcsr.io import _lazy
from napari_ldcsr.run import _bigrun
from napari_ldcsr import _geometry as geo
from napari_ldcsr._viewer import camera, canvas_size

H, W = 96, 128


def _close_or_remove(viewer, widget, how):
    """Close the viewer (``how == "viewer closed"``, its window deleted) or remove the dock widget."""
    from qtpy.QtCore import QCoreApplication, QEvent

    if how == "viewer closed":
        viewer.close()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the window goes
    else:
        viewer.window.remove_dock_widget(widget)


@pytest.fixture
def big(tmp_path, monkeypatch):
    """A georeferenced RGB GeoTIFF that the reader opens lazily; results over 100 kB stream."""
    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 64 * 64)
    monkeypatch.setattr(_lazy, "TOP_LEVEL_SIDE", 64)  # two pyramid levels
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", str(100_000 / 2**20))
    yy, xx = np.mgrid[0:H, 0:W]
    rgb = np.stack([(yy * 7 + xx * 3) % 251, 120 + 60 * np.sin(xx / 6.0), (yy * 5) % 241]).astype(np.uint8)
    folder = tmp_path / "scene"
    folder.mkdir()
    path = folder / "ortho.tif"
    with rasterio.open(path, "w", driver="GTiff", height=H, width=W, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(400000.0, 3300000.0, 0.5, 0.5), photometric="RGB") as dst:
        dst.write(rgb)
    return path


def _bounds(layer):
    return geo.world_bounds(layer.data_to_world, layer.data.shape[:2])


def _errors(notes):
    return [text for sev, text in notes if sev in ("error", "warning")]


def _open_lazy(viewer, path):
    (layer,) = viewer.open(str(path), plugin="napari-ldcsr")
    assert layer.multiscale and layer.metadata["lazy"] and len(layer.data) == 2
    return layer


def test_whole_layer_run_streams_to_a_geotiff_and_opens_lazily(big, ldcsr, qtbot, notes, tiny_model):
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    squatter = big.with_name("ortho_x2.50_ldcsr.tif")
    squatter.write_bytes(b"somebody else's file")  # never overwritten: the run picks a new name
    widget.set_layer(src)
    widget.set_scale(2.5)
    assert widget.run()
    assert "streaming to ortho_x2.50_ldcsr-2.tif" in widget.status
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes), notes
    out_path = big.with_name("ortho_x2.50_ldcsr-2.tif")
    assert squatter.read_bytes() == b"somebody else's file"
    assert sorted(p.name for p in big.parent.iterdir()) == [
        "ortho.tif", "ortho_x2.50_ldcsr-2.tif", "ortho_x2.50_ldcsr.tif"]  # no part file left

    # the layer added is the file, opened lazily, and lies exactly over the source
    out = viewer.layers[-1]
    assert out is widget.last_result and out.name == "ortho ×2.50 (LDCSR fast)"
    assert out.multiscale and out.metadata["lazy"] and out.metadata["path"] == str(out_path)
    assert out.data.shape == (240, 320, 3) and out.rgb
    np.testing.assert_allclose(_bounds(out), _bounds(src), atol=1e-6)
    assert out.metadata["ldcsr"]["output_file"] == str(out_path)
    assert out.metadata["ldcsr"]["out_shape"] == [240, 320]
    assert "Added 'ortho ×2.50 (LDCSR fast)' (240×320 px), saved as ortho_x2.50_ldcsr-2.tif," in widget.status

    # same pixels and georeferencing as the CLI's raster path (`ldcsr upscale`: upscale_raster) on the
    # same file, with the same options and the same in-memory model (a model loaded from a file runs
    # its encoders channels-last, which rounds differently from a freshly built one)
    cli_out = big.parent.parent / "cli.tif"
    upscale_raster(big, cli_out, model=tiny_model, scale=2.5, options=UpscaleOptions(mode="fast"))
    with rasterio.open(cli_out) as c, rasterio.open(out_path) as o:
        cli, ours = c.read(), o.read()
        assert (o.transform, o.crs, o.shape) == (c.transform, c.crs, c.shape)
    np.testing.assert_array_equal(ours, cli)
    np.testing.assert_array_equal(np.asarray(out.data[0]), np.moveaxis(cli, 0, -1))
    # a streamed result has no in-memory bicubic baseline: Compare says so, nothing breaks
    widget.set_compare(True)
    assert not widget.comparing and any("streamed to a file" in t for _, t in notes)


@pytest.mark.viewer_hidden
def test_cancel_while_streaming_leaves_no_file(big, ldcsr, qtbot, notes, engine_held_at_second_tile):
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    widget.tile = 32  # several tiles, so that there is a "mid-run"
    gate = engine_held_at_second_tile
    second, release, ran = gate.second_started, gate.release, gate.ran
    claim = ".ortho_x2.50_ldcsr.tif.ldcsr-claim"
    try:
        widget.set_scale(2.5)
        assert widget.run(layer=src)
        qtbot.waitUntil(second.is_set, timeout=60_000)
        parts = [p.name for p in big.parent.iterdir() if p.name not in ("ortho.tif", claim)]
        # the engine is writing its hidden part file, and holds its claim on the output (output_claims.OutputClaim)
        assert (big.parent / claim).exists()
        assert len(parts) == 1 and parts[0].startswith(".ortho_x2.50_ldcsr.tif.") and "part" in parts[0]
        widget.cancel()
        release.set()
        qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    finally:
        release.set()
    assert len(ran) == 2  # stopped within one tile
    assert [p.name for p in big.parent.iterdir()] == ["ortho.tif"]
    assert [lyr.name for lyr in viewer.layers] == ["ortho"]
    assert widget.status == "Cancelled; nothing was added." and not _errors(notes)


def test_a_name_another_run_is_making_is_not_picked(big, ldcsr, qtbot, notes):
    """The streamed result's name is one no other live run (a command line, another napari) is
    making now (output_claims.OutputClaim.busy): the run takes the next. Before, it took that name and failed
    after loading the model: 'another run is making …/ortho_x2.50_ldcsr.tif now (wait for it to end,
    or write to another path)', a path napari's user cannot choose."""
    from ldcsr_core.output_claims import OutputClaim

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    making = OutputClaim.of(big.with_name("ortho_x2.50_ldcsr.tif"), wait=False)  # as `ldcsr upscale` holds it
    try:
        widget.set_layer(src)
        widget.set_scale(2.5)
        assert widget.run()
        assert "streaming to ortho_x2.50_ldcsr-2.tif" in widget.status
        qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    finally:
        making.release()
    assert not _errors(notes), notes
    assert widget.last_result.metadata["path"] == str(big.with_name("ortho_x2.50_ldcsr-2.tif"))
    assert not OutputClaim.busy(big.with_name("ortho_x2.50_ldcsr.tif"))  # released: free again
    assert sorted(p.name for p in big.parent.iterdir()) == ["ortho.tif", "ortho_x2.50_ldcsr-2.tif"]


def test_current_view_of_a_lazy_layer_runs_in_memory(big, ldcsr, qtbot, notes, tiny_model):
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    viewer, widget = ldcsr
    viewer.window.resize(1200, 800)  # napari < 0.9 opens at 744 px wide: the docked widget left a 4 px canvas
    src = _open_lazy(viewer, big)
    h, _ = canvas_size(viewer)
    camera(viewer).zoom = h / 20.0  # 20 m = 40 px of canvas height
    camera(viewer).center = tuple(src.data_to_world((40, 60)))
    widget.set_region("view")
    widget.set_scale(2.0)
    assert widget.run(layer=src)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes), notes
    out = viewer.layers[-1]
    region = geo.Region(**out.metadata["ldcsr"]["region"])
    assert 30 <= region.rows < H and region.cols < W  # a part of the layer, not all of it
    assert not out.multiscale and out.data.shape == (2 * region.rows, 2 * region.cols, 3)
    np.testing.assert_allclose(_bounds(out), geo.world_bounds(src.data_to_world, (H, W), region), atol=1e-6)
    expected = upscale_window(str(big), model=tiny_model, scale=2.0, window=region.window,
                              options=UpscaleOptions(mode="fast"))
    np.testing.assert_array_equal(np.asarray(out.data), np.moveaxis(expected.data, 0, -1))
    assert [p.name for p in big.parent.iterdir()] == ["ortho.tif"]  # nothing written
    # the same view at x8 would be over the in-memory limit: refused with a plain message
    widget.set_scale(8.0)
    assert not widget.run(layer=src)
    assert any("larger than the" in t and "'Whole layer'" in t for s, t in notes if s == "error")


@pytest.mark.viewer_hidden
def test_in_memory_layer_without_file_is_refused_over_the_limit(ldcsr, monkeypatch, notes):
    from napari_ldcsr.run._job import JobSpec, layer_source

    viewer, widget = ldcsr
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", "0.05")
    layer = viewer.add_image(np.zeros((64, 64, 3), np.uint8), name="plain")
    assert _bigrun.stream_threshold_bytes() == int(0.05 * 2**20)
    source = layer_source(viewer, layer)
    small = JobSpec(scale=2.0, region=geo.Region.whole((64, 64)))  # 128 x 128 x 3 = 48 kB
    assert _bigrun.plan_run(source, small) is small  # in memory, as before
    widget.set_scale(3.0)  # 192 x 192 x 3 = 108 kB: over the limit, and no file to stream from
    assert not widget.run(layer=layer) and not widget.running
    assert any("has no source file to stream from" in t for s, t in notes if s == "error")
    # in the tool's one convention (files.human_bytes); before, '(192×192 px, 0 MB) is larger than the 0 MB'
    assert any(t.startswith("The result (192×192 px, 108.0 KiB) is larger than the 51.2 KiB kept in memory")
               for s, t in notes if s == "error"), notes
    assert [lyr.name for lyr in viewer.layers] == ["plain"]


@pytest.mark.viewer_hidden
def test_band_layers_read_whole_stream_to_one_file_and_open_as_band_layers(tmp_path, ldcsr, qtbot, notes,
                                                                            monkeypatch, tiny_model):
    """A 4-band 16-bit file with nodata, read eagerly (one layer per band): over the limit, the
    whole-layer run streams from the file, and each band comes back as a lazy layer over its band."""
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_window

    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", "0.05")
    rng = np.random.default_rng(3)
    bands = (900 + 200 * rng.random((4, 40, 48))).astype(np.uint16)
    bands[:, :5, :7] = 0
    path = tmp_path / "s2.tif"
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=4, dtype="uint16", crs="EPSG:32633",
                       transform=from_origin(500000.0, 4100000.0, 10.0, 10.0), nodata=0) as dst:
        dst.write(bands)
        dst.descriptions = ("blue", "green", "red", "nir")
    viewer, widget = ldcsr
    layers = viewer.open(str(path), plugin="napari-ldcsr")
    assert len(layers) == 4 and not any(lyr.multiscale for lyr in layers)  # small: read whole
    widget.set_scale(2.0)  # 80 x 96 x 4 bands x 2 bytes = 60 kB > 50 kB
    assert widget.run(layer=layers[2])
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes), notes
    out_path = tmp_path / "s2_x2.00_ldcsr.tif"
    results = widget.last.results
    assert [r.name for r in results] == [f"s2 [{b}] ×2.00 (LDCSR fast)" for b in ("blue", "green", "red", "nir")]
    assert widget.last_result is results[2]
    expected = upscale_window(str(path), model=tiny_model, scale=2.0, options=UpscaleOptions(mode="fast"))
    for i, (src, out) in enumerate(zip(layers, results)):
        assert out.multiscale and out.metadata["path"] == str(out_path) and out.metadata["band"] == i
        np.testing.assert_allclose(_bounds(out), _bounds(src), atol=1e-6)
        np.testing.assert_array_equal(np.asarray(out.data[0]), expected.data[i])
    assert (expected.data[:, 0, 0] == 0).all()  # nodata kept


def run_under_file_size_limit(widget, src, limit: int) -> bool:
    """``widget.run(layer=src)`` with the process's file size limit (``ulimit -f``, a real one) at ``limit``
    bytes for the moment of its checks, put back after; whether the run started."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        return widget.run(layer=src)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@pytest.mark.viewer_hidden
def test_streamed_run_that_cannot_fit_is_refused_before_any_compute(big, ldcsr, notes):
    """The plugin checks the destination as the CLI does: a streamed result that cannot fit even at
    4:1 compression is refused up front with both sizes (here the process's file size limit, a
    real one: set for the moment of the check), and no file is made."""
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    widget.set_layer(src)
    widget.set_scale(2.5)  # 240 x 320 x 3 = 225 kB: streamed (over the 100 kB limit)
    started = run_under_file_size_limit(widget, src, 20_000)
    assert not started and not widget.running
    errors = [t for s, t in notes if s == "error"]
    assert any("cannot be streamed next to its source" in t and "file size limit" in t for t in errors), notes
    assert sorted(p.name for p in big.parent.iterdir()) == ["ortho.tif"]


@pytest.mark.parametrize("how", ["viewer closed", "widget removed"])
def test_closing_mid_run_stops_the_run_and_leaves_nothing(how, big, ldcsr, qtbot, notes,
                                                          engine_held_at_second_tile):
    """Issue 20: closing the viewer (or removing the widget) while a streamed Run writes its part
    file stops the worker within one tile, removes the part file, and raises nothing in the worker
    thread (pytest-qt fails the test on an exception in a Qt thread or slot)."""
    import threading

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    widget.tile = 32
    gate = engine_held_at_second_tile
    widget.set_scale(2.5)
    assert widget.run(layer=src)
    qtbot.waitUntil(gate.second_started.is_set, timeout=60_000)
    assert any("ldcsr-part" in p.name for p in big.parent.iterdir())
    threading.Timer(0.5, gate.release.set).start()  # the held tile ends, as a real one would
    _close_or_remove(viewer, widget, how)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert len(gate.ran) == 2  # stopped within one tile
    assert [p.name for p in big.parent.iterdir()] == ["ortho.tif"]


def _stream_with_samples(widget, src):
    widget.set_layer(src)
    widget.set_scale(2.0)
    widget.set_mode("diffusion")
    widget.form.samples.value = 2  # a spread file next to the result


@pytest.mark.viewer_hidden
def test_streamed_run_with_samples_avoids_a_taken_spread_name(big, ldcsr, qtbot, notes):
    """The output name is free for the result and its spread file (``<name>_spread.tif``) alike,
    and the status line names both files (before: only the result, while no spread layer is added
    for a streamed run: nothing said that a spread file had been written, nor where)."""
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    squatter = big.with_name("ortho_x2.00_ldcsr_spread.tif")
    squatter.write_bytes(b"somebody else's file")
    _stream_with_samples(widget, src)
    assert widget.run()
    assert "streaming to ortho_x2.00_ldcsr-2.tif" in widget.status
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes), notes
    assert ("saved as ortho_x2.00_ldcsr-2.tif and its spread as ortho_x2.00_ldcsr-2_spread.tif (not opened),"
            in widget.status), widget.status
    assert widget.last.spread is None
    assert squatter.read_bytes() == b"somebody else's file"
    assert sorted(p.name for p in big.parent.iterdir()) == [
        "ortho.tif", "ortho_x2.00_ldcsr-2.tif", "ortho_x2.00_ldcsr-2_spread.tif", "ortho_x2.00_ldcsr_spread.tif"]


@pytest.mark.viewer_hidden
def test_cancel_after_the_streamed_files_are_written_removes_them(big, ldcsr, qtbot, notes, job_held_after_engine):
    """Cancel pressed once the engine has written the result and its spread file (superqt then
    drops the worker's ``returned``): both files go and the run ends cancelled."""
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    _stream_with_samples(widget, src)
    done, release = job_held_after_engine
    assert widget.run()
    qtbot.waitUntil(done.is_set, timeout=120_000)
    assert sorted(p.name for p in big.parent.iterdir()) == [
        "ortho.tif", "ortho_x2.00_ldcsr.tif", "ortho_x2.00_ldcsr_spread.tif"]
    widget.cancel()
    release.set()
    qtbot.waitUntil(lambda: not widget.running, timeout=30_000)
    assert [p.name for p in big.parent.iterdir()] == ["ortho.tif"]
    assert [lyr.name for lyr in viewer.layers] == ["ortho"] and widget.status == "Cancelled; nothing was added."
    assert not _errors(notes), notes


@pytest.mark.parametrize("how", ["viewer closed", "widget removed"])
def test_closing_once_the_streamed_file_is_written_removes_it(how, big, ldcsr, qtbot, notes, job_held_after_engine):
    """The viewer closed (or the widget removed) after the engine has put the streamed file in
    place, before the run handed it on: the run is cancelled as by Cancel, and its file goes.
    Before, the teardown let the worker go unheard (its ``finished`` never came, or came after
    the cancel was forgotten): the file stayed, unreported (or was opened as a result)."""
    import threading

    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    done, release = job_held_after_engine
    widget.set_scale(2.5)
    assert widget.run(layer=src)
    qtbot.waitUntil(done.is_set, timeout=120_000)
    assert sorted(p.name for p in big.parent.iterdir()) == ["ortho.tif", "ortho_x2.50_ldcsr.tif"]
    threading.Timer(0.5, release.set).start()  # the teardown waits for the worker meanwhile
    _close_or_remove(viewer, widget, how)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    qtbot.waitUntil(lambda: [p.name for p in big.parent.iterdir()] == ["ortho.tif"], timeout=30_000)
    if how == "widget removed":
        assert [lyr.name for lyr in viewer.layers] == ["ortho"]


@pytest.mark.viewer_hidden
def test_a_streamed_result_that_cannot_be_opened_says_failed(big, ldcsr, qtbot, notes, job_held_after_engine):
    """The streamed file gone before the run opens it (deleted meanwhile): the status line says the
    run failed and why, as the notification does. Before, it kept '1 / 1 tiles · finishing…'."""
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    done, release = job_held_after_engine
    ended = []
    widget.runFinished.connect(ended.append)
    widget.set_scale(2.5)
    assert widget.run(layer=src)
    qtbot.waitUntil(done.is_set, timeout=120_000)
    out = big.with_name("ortho_x2.50_ldcsr.tif")
    out.unlink()
    release.set()
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert ended == ["failed"] and [lyr.name for lyr in viewer.layers] == ["ortho"]
    assert widget.status == f"Failed: could not add the result layer: input not found: {out}"
    assert _errors(notes) == [f"LDCSR could not add the result layer: input not found: {out}"]


@pytest.mark.viewer_hidden
def test_an_output_that_appears_before_the_engine_writes_is_said_in_naparis_words(big, ldcsr, qtbot, notes,
                                                                                   monkeypatch):
    """A file put at the streamed result's name after napari picked it (another program, between
    the pick and the engine's check) is kept and the run fails in words for napari's user. Before:
    '(use output=OutputOptions(overwrite=True) to replace it)', a Python parameter."""
    viewer, widget = ldcsr
    src = _open_lazy(viewer, big)
    out = big.with_name("ortho_x2.50_ldcsr.tif")
    pick = _bigrun.output_path_for

    def picked_then_taken(*args, **kwargs):
        path = pick(*args, **kwargs)
        path.write_bytes(b"another program's")
        return path

    monkeypatch.setattr(_bigrun, "output_path_for", picked_then_taken)
    widget.set_scale(2.5)
    assert widget.run(layer=src)
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    said = f"output exists: {out} (not a raster; run again: napari picks a free name)"  # what the file is (job.not_ours)
    assert widget.status == f"Failed: {said}"
    assert _errors(notes) == [f"LDCSR could not super-resolve 'ortho': {said}"]
    assert out.read_bytes() == b"another program's"


def test_a_streamed_output_name_is_not_one_with_a_stale_sidecar(tmp_path):
    """``o_x2.00_ldcsr.tif.aux.xml`` left by a deleted result (QGIS statistics, say): GDAL would read
    it as part of a new file of that name, and the engine refuses to write there, so the next name
    is taken."""
    from napari_ldcsr.run._bigrun import output_path_for

    src = tmp_path / "o.tif"
    assert output_path_for(src, 2.0).name == "o_x2.00_ldcsr.tif"
    (tmp_path / "o_x2.00_ldcsr.tif.aux.xml").write_text("<PAMDataset/>")
    assert output_path_for(src, 2.0).name == "o_x2.00_ldcsr-2.tif"
    (tmp_path / "o_x2.00_ldcsr-2_spread.tif.ovr").write_bytes(b"")
    assert output_path_for(src, 2.0, samples=2).name == "o_x2.00_ldcsr-3.tif"


def test_a_streamed_output_name_of_a_long_source_name_fits_the_file_system(tmp_path):
    """A source named with 80 CJK characters (240 bytes): before, the Run picked
    '<name>_x2.00_ldcsr.tif' (258 bytes), which the engine then refused, 'output name too long: ...
    choose a shorter name', a name napari's user cannot choose. Now its stem is cut to fit, with room
    for a numbered name, its spread file and their sidecars."""
    from ldcsr_core.files import check_name_length
    from napari_ldcsr.run._bigrun import output_path_for

    src = tmp_path / ("北" * 80 + ".tif")
    out = output_path_for(src, 2.0, samples=2)
    assert out.name.startswith("北" * 70) and out.name.endswith("北_x2.00_ldcsr.tif"), out.name
    for p in (out.with_name(out.stem + "-99.tif"), out.with_name(out.stem + "-99_spread.tif.aux.xml")):
        check_name_length(p)
    assert output_path_for(tmp_path / "o.tif", 2.0).name == "o_x2.00_ldcsr.tif"  # short names as they were


@pytest.mark.parametrize("fs, says", [("vfat", 1530), ("exfat", 765)])
def test_a_streamed_output_name_of_a_long_source_name_fits_a_kernel_fat_disk(tmp_path, monkeypatch, fs, says):
    """The kernel's FAT and exFAT say 1530 and 765 bytes a name (pathconf), yet hold 255 UTF-16 units. Before: a
    source named with 250 letters there gave '<name>_x2.00_ldcsr.tif' (266 characters), which the engine refused,
    'output name too long: ... choose a shorter name', a name napari's user never chose. Now cut to fit 255."""
    import os

    from ldcsr_core import file_names
    from ldcsr_core.files import check_name_length
    from ldcsr_core.mounts import Mount
    from napari_ldcsr.run._bigrun import output_path_for

    usb = tmp_path / "usb"
    usb.mkdir()
    real_mounts, real_pathconf = file_names.mounts, os.pathconf
    monkeypatch.setattr(file_names, "mounts", lambda mountinfo="/proc/self/mountinfo": [
        *(real_mounts(mountinfo) or []), Mount(os.path.realpath(usb), "/", fs, "/dev/sdz1", ())])
    monkeypatch.setattr(file_names.os, "pathconf", lambda f, name: says if os.path.realpath(f) == str(
        os.path.realpath(usb)) and name == "PC_NAME_MAX" else real_pathconf(f, name))
    assert file_names.name_max(usb) == says and file_names.windows_names(usb) == "sure"
    out = output_path_for(usb / ("a" * 250 + ".tif"), 2.0, samples=2)
    assert out.name.startswith("a" * 200) and out.name.endswith("a_x2.00_ldcsr.tif"), out.name
    for p in (out, out.with_name(out.stem + "-99.tif"), out.with_name(out.stem + "-99_spread.tif.aux.xml")):
        check_name_length(p)  # (before: refused, 266 characters; the file system takes at most 255)


def test_a_streamed_output_name_whose_spread_file_another_run_is_making_is_not_picked(tmp_path):
    """With samples, a name whose spread file another live run is making now (an ``ldcsr upscale
    --spread-out`` there holds its claim) is not picked: before, the Run took that name, and two runs
    made one spread file at once (one of them lost its work)."""
    from ldcsr_core.output_claims import OutputClaim
    from napari_ldcsr.run._bigrun import output_path_for

    src = tmp_path / "o.tif"
    making = OutputClaim.of(tmp_path / "o_x2.00_ldcsr_spread.tif", wait=False)
    try:
        assert output_path_for(src, 2.0).name == "o_x2.00_ldcsr.tif"  # one sample: no spread file
        assert output_path_for(src, 2.0, samples=2).name == "o_x2.00_ldcsr-2.tif"
    finally:
        making.release()
    assert output_path_for(src, 2.0, samples=2).name == "o_x2.00_ldcsr.tif"


@pytest.mark.parametrize("value, expected", [("inf", sys.maxsize), ("nan", 512 * 2**20), ("abc", 512 * 2**20),
                                             ("2048", 2048 * 2**20)])
def test_stream_threshold_takes_inf_as_no_limit(monkeypatch, value, expected):
    """``NAPARI_LDCSR_STREAM_MB=inf`` (never stream) or ``nan``: before, every Run failed with
    'OverflowError: cannot convert float infinity to integer' (ValueError for nan)."""
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", value)
    assert _bigrun.stream_threshold_bytes() == expected
