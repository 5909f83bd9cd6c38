"""A view kept from the live lens is a result like a Run's: the source's GCPs and RPCs move onto its
grid (before: it kept the source's, so saving it placed the window as if it were the whole scene). What
is tested is the kept view's metadata, not its pixels: the tiles are the bicubic stand-in's (``bicubic_engine``)."""

from __future__ import annotations

import numpy as np
from rasterio.rpc import RPC
from rasterio.transform import RPCTransformer

from napari_ldcsr.lens._lens import LiveLens

from .test_lens import _look, _scene, _wait_done, small_viewer

RPCS = RPC(height_off=100.0, height_scale=300.0, lat_off=48.2, lat_scale=0.02, long_off=16.3, long_scale=0.03,
           line_off=99.5, line_scale=100.0, samp_off=99.5, samp_scale=100.0,
           line_num_coeff=[0.0, 0.0, -1.0] + [0.0] * 17, line_den_coeff=[1.0] + [0.0] * 19,
           samp_num_coeff=[0.0, 1.0] + [0.0] * 18, samp_den_coeff=[1.0] + [0.0] * 19)
GCPS = [[0.0, 0.0, 600000.0, 5340000.0, 0.0], [0.0, 200.0, 602000.0, 5340000.0, 0.0],
        [200.0, 0.0, 600000.0, 5338000.0, 0.0], [130.5, 70.25, 600702.5, 5338695.0, 0.0]]


def test_a_kept_view_carries_gcps_and_rpcs_on_its_own_grid(make_napari_viewer, qtbot, tiny_model, bicubic_engine):
    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(), rgb=True, name="l1",
                           metadata={"gcps": GCPS, "gcps_crs": None, "rpcs": RPCS.to_dict()})
    lens = LiveLens(viewer, model_provider=lambda source: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    try:
        _look(viewer, src, (120, 90), 2.0)
        lens.set_enabled(True)
        _wait_done(qtbot, lens)
        kept = lens.keep()
        md = kept.metadata
        (gh, gw), (y0, x0) = md["ldcsr"]["grid_out_shape"], md["ldcsr"]["out_window"][:2]
        sy, sx = gh / 200, gw / 200
        assert (y0, x0) != (0, 0)  # a window inside the scene: the offset matters
        for (r, c, *_), (r2, c2, *_) in zip(GCPS, md["gcps"]):
            assert np.allclose((r2, c2), (r * sy - y0, c * sx - x0))
        ground = (16.301, 48.199, 150.0)
        where = np.array(RPCTransformer(RPCS).rowcol(*ground[:2], zs=ground[2], op=float))
        got = np.array(RPCTransformer(RPC(**md["rpcs"])).rowcol(*ground[:2], zs=ground[2], op=float))
        assert np.allclose(got, where * (sy, sx) - (y0, x0), atol=1e-6)
    finally:
        lens.close()
        qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)


def test_a_kept_view_is_tagged_as_its_own_ai_generated_result(make_napari_viewer, qtbot, tiny_model, tmp_path,
                                                              bicubic_engine):
    """Saved, a kept view says what a Run's result says: the AI-generated notice and its own
    LDCSR_* tags (mode, scale, model). Before, it carried its source's tags as they were: no
    notice, and over a result of a diffusion run that run's LDCSR_MODE 'diffusion' and scale
    though the view was computed fast at its own scale; the source's other tags stay."""
    import rasterio
    from ldcsr_core.geo.raster_io import AI_NOTICE

    from napari_ldcsr.io._writer import write_geotiff

    viewer = small_viewer(make_napari_viewer, qtbot)
    src = viewer.add_image(_scene(), rgb=True, name="sr", metadata={"tags": {
        "SENSOR": "UltraCam", "LDCSR_MODE": "diffusion", "LDCSR_SCALE_X": "4.0"}})
    lens = LiveLens(viewer, model_provider=lambda source: tiny_model, debounce_ms=30)
    lens.set_layer(src)
    try:
        _look(viewer, src, (120, 90), 2.0)
        lens.set_enabled(True)
        _wait_done(qtbot, lens)
        kept = lens.keep()
    finally:
        lens.close()
        qtbot.waitUntil(lambda: not lens.busy, timeout=30_000)
    out = tmp_path / "kept.tif"
    write_geotiff(str(out), *kept.as_layer_data_tuple()[:2])
    with rasterio.open(out) as ds:
        tags = ds.tags()
    grid = kept.metadata["ldcsr"]["grid_out_shape"]
    assert tags["LDCSR_NOTICE"] == AI_NOTICE and tags["LDCSR_MODE"] == "fast" and tags["LDCSR_SOURCE"] == "sr"
    assert float(tags["LDCSR_SCALE_X"]) == grid[1] / 200 and tags["SENSOR"] == "UltraCam"
