"""Qt-free plugin logic on napari's viewer *model* (no window, no Qt): regions, result layers,
the side-by-side grid and the A/B blink."""

from __future__ import annotations

import numpy as np
import pytest
from napari.components import ViewerModel

from napari_ldcsr import _geometry as geo
from napari_ldcsr.compare import _sidebyside as sbs
from napari_ldcsr.run._job import JobSpec, layer_source
from napari_ldcsr.run._region import region_for
from napari_ldcsr.run._results import ProgressiveResult, nearest_preview, result_kwargs
from napari_ldcsr._viewer import camera, canvas_size, grid, grid_position


@pytest.fixture
def model():
    v = ViewerModel()
    yield v
    v.layers.clear()



def test_regions_whole_view_and_shapes(model):
    img = model.add_image(np.zeros((100, 120), np.float32), scale=(2.0, 2.0), translate=(10.0, 20.0))
    assert region_for(model, img, "whole") == geo.Region(0, 0, 100, 120)
    cam = camera(model)
    cam.center = (10.0 + 2 * 50, 20.0 + 2 * 60)  # pixel (50, 60)
    cam.zoom = min(canvas_size(model)) / 40.0  # 40 world units = 20 px across the short side
    r = region_for(model, img, "view")
    h, w = np.asarray(canvas_size(model)) / cam.zoom / 2.0  # world units on screen, in pixels
    assert isinstance(r, geo.Region)
    assert abs(r.rows - h) <= 2 and abs(r.cols - w) <= 2 and r.row0 <= 50 < r.row0 + r.rows
    cam.center = (1e6, 1e6)
    assert "shows no part" in region_for(model, img, "view")
    shapes = model.add_shapes([[[30.0, 40.0], [30.0, 80.0], [50.0, 80.0], [50.0, 40.0]]], shape_type="rectangle")
    # world rows 30..50 -> pixel-centre rows 10..20 -> edges 10.5..20.5: pixels 10..20 (partly covered ones count)
    assert region_for(model, img, "shapes", shapes) == geo.Region(10, 10, 11, 21)
    empty = model.add_shapes()
    assert "has no shape" in region_for(model, img, "shapes", empty)
    assert "Add a Shapes layer" in region_for(model, img, "shapes", None)
    with pytest.raises(ValueError, match="region must be one of"):
        region_for(model, img, "everything")


def test_result_kwargs_overlay_the_region_exactly(model):
    src = model.add_image(np.zeros((50, 60, 3), np.uint8), rgb=True, scale=(0.5, 0.25), translate=(3.0, -7.0),
                          rotate=30.0, metadata={"transform": (0.25, 0, 100.0, 0, -0.5, 900.0), "crs": "EPSG:32633",
                                                 "path": "/x.tif"})
    spec = JobSpec(scale=2.5, region=geo.Region(10, 20, 16, 24), mode="fast")
    kw = result_kwargs(src, spec, "ldcsr")
    out = model.add_image(np.zeros(spec.out_shape + (3,), np.uint8), **kw)
    np.testing.assert_allclose(geo.world_bounds(out.data_to_world, spec.out_shape),
                               geo.world_bounds(src.data_to_world, (50, 60), spec.region), atol=1e-9)
    assert kw["name"].endswith("×2.50 (LDCSR fast)") and "path" not in kw["metadata"]
    assert kw["metadata"]["transform"] == pytest.approx((0.1, 0, 105.0, 0, -0.2, 895.0))
    assert kw["metadata"]["pixel_size"] == pytest.approx((0.2, 0.1))


def test_progressive_result_rows_then_final(model):
    src = model.add_image(np.arange(12 * 10, dtype=np.uint16).reshape(12, 10), name="dem")
    spec = JobSpec(scale=2.0, region=geo.Region.whole((12, 10)), mode="fast")
    source = layer_source(model, src)
    prog = ProgressiveResult(model, source, spec)
    rows = np.full((1, 6, 20), 7, np.uint16)
    prog.rows(0, rows)
    (layer,) = prog.layers
    assert layer in model.layers and layer.data.shape == (24, 20)
    assert (layer.data[:6] == 7).all()
    np.testing.assert_array_equal(layer.data[6:], nearest_preview(np.asarray(src.data), (24, 20))[6:])
    # a finished tile shows at once, but never over rows that are final already
    prog.tile((4, 2, 6, 8), [0], np.full((1, 6, 8), 9, np.uint16))
    assert (layer.data[4:6] == 7).all() and (layer.data[6:10, 2:10] == 9).all()
    assert (layer.data[6:10, :2] != 9).all() and (layer.data[10:] != 9).all()
    prog.discard()
    assert [lyr.name for lyr in model.layers] == ["dem"]
    # removing the source during a run: no result layer is made
    prog = ProgressiveResult(model, source, spec)
    model.layers.remove(src)
    prog.rows(0, rows)
    assert prog.layers == [] and len(model.layers) == 0


def test_nearest_preview_is_the_source_enlarged():
    crop = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(nearest_preview(crop, (4, 6)), np.repeat(np.repeat(crop, 2, 0), 2, 1))


def test_grid_compare_round_trip_and_blink(model):
    a = model.add_image(np.zeros((8, 8)), name="src")
    pts = model.add_points([[0, 0]], name="pts")
    b = model.add_image(np.zeros((16, 16)), name="bic", scale=(0.5, 0.5), translate=(-0.25, -0.25))
    c = model.add_image(np.zeros((16, 16)), name="sr", scale=(0.5, 0.5), translate=(-0.25, -0.25), opacity=0.3)
    cam = camera(model)
    cam.center, cam.zoom = (100.0, 100.0), 3.0
    state = sbs.enter_grid(model, a, b, c)
    g = grid(model)
    assert g.enabled and tuple(g.shape) == (1, 3) and not pts.visible and c.opacity == 1.0
    assert [grid_position(model, model.layers.index(x)) for x in (a, b, c)] == [(0, 0), (0, 1), (0, 2)]
    np.testing.assert_allclose(cam.center[-2:], (3.5, 3.5))
    sbs.leave_grid(model, state)
    assert not g.enabled and pts.visible and c.opacity == pytest.approx(0.3)
    assert [lyr.name for lyr in model.layers] == ["src", "pts", "bic", "sr"]
    assert tuple(cam.center[-2:]) == (100.0, 100.0) and cam.zoom == 3.0
    sbs.blink(a, c)
    assert not c.visible and a.visible
    sbs.blink(a, c)
    assert c.visible


def test_plain_message_says_out_of_memory_in_words():
    """A torch allocation failure (CPU allocator, oneDNN, a card) reads as what it is, with what to do."""
    import torch

    from napari_ldcsr.run._job import plain_message

    want = "out of memory; try a smaller region, a smaller scale or a smaller tile"
    for exc in (MemoryError(), torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
                RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
                RuntimeError("could not create a primitive")):
        assert plain_message(exc) == want
    assert plain_message(RuntimeError("shape mismatch")) == "RuntimeError: shape mismatch"


def test_spread_layer_keeps_the_spread_scale_not_the_sources_offset(model):
    """The spread layer (mean over the colour bands) saves with the engine's |scale| and unit of the
    spread, never the source band's offset (before: raw × 1e-4 − 0.1, a negative 'spread')."""
    from ldcsr_core.geo.raster_io import GeoArray
    from napari_ldcsr.run._spread import spread_kwargs

    src = model.add_image(np.zeros((20, 24), np.uint16), metadata={
        "transform": (10, 0, 600000.0, 0, -10, 5340000.0), "crs": "EPSG:32633", "band": 1,
        "scales": [1e-4, 1e-4], "offsets": [-0.1, -0.1], "band_units": ["refl", "refl"]})
    spec = JobSpec(scale=2.0, region=geo.Region.whole((20, 24)), mode="diffusion")
    spread = GeoArray(np.ones((1, 40, 48), np.float32), None, scales=(1e-4,), units=("refl",),
                      descriptions=("spread of band 2",))
    md = spread_kwargs(src, spec, spread)["metadata"]
    assert (md.get("scales"), md.get("offsets"), md.get("band_units")) == ([1e-4], None, ["refl"])
    assert "band" not in md


def test_selfcheck_error_map_is_placed_on_its_region_and_has_no_source_values(model):
    """A self-check error map of a region of a GCP-placed reflectance layer: its GCPs move onto the
    region, and it carries none of the source bands' scale, offset, unit or tags (before: a saved
    error map was placed as the whole scene and read as reflectance = error × 1e-4 − 0.1)."""
    from types import SimpleNamespace

    from napari_ldcsr.run._selfcheck import error_kwargs

    src = model.add_image(np.zeros((40, 50), np.uint16), metadata={
        "gcps": [[0.0, 0.0, 600000.0, 5340000.0, 0.0], [40.0, 50.0, 600500.0, 5339600.0, 0.0]],
        "scales": [1e-4], "offsets": [-0.1], "band_units": ["refl"], "band_tags": [{"WAVELENGTH": "665nm"}]})
    region = geo.Region(8, 10, 20, 24)
    result = SimpleNamespace(windows=[SimpleNamespace(error={"model": np.ones((20, 24), np.float32)})],
                             to_dict=lambda: {}, scale=2.0, mode="fast", seed=0, mean_of=1)
    md = error_kwargs(src, region, result, "model")["metadata"]
    assert md["gcps"] == [[-8.0, -10.0, 600000.0, 5340000.0, 0.0], [32.0, 40.0, 600500.0, 5339600.0, 0.0]]
    assert not {"scales", "offsets", "band_units", "band_tags"} & set(md)


@pytest.mark.parametrize("rgb", [False, True], ids=["grey", "RGB"])
def test_a_runs_tile_preview_is_what_its_final_rows_will_be(model, rgb):
    """A Run's tile previews map the model's output to the layer's units by the final rows' rule
    (``BandPlan.unit_planes``: each channel clipped to [0, 1], a grey band's three then averaged).
    Before, the preview averaged a grey band's channels unclipped and clipped none: channels 0.98,
    1.05, 0.98 showed 1.003 of the stretch (beyond its top) instead of the 0.987 the rows then wrote;
    an RGB band's 1.05 showed 5 % of its span beyond its top, -0.02 below its bottom."""
    from ldcsr_core.geo.scene_io import ArrayWriter, RasterSink, SceneReader

    from napari_ldcsr.run._job import TilePreview

    data = np.random.default_rng(0).integers(1000, 3001, (8, 8) + ((3,) if rgb else ())).astype(np.uint16)
    data[0, :2], data[-1, -2:] = 1000, 3000  # the percentile stretch is 1000…3000: nothing beyond it
    layer = model.add_image(data, rgb=rgb)
    out = np.full((8, 8, 3), 0.5, np.float32)
    out[:4] = (0.98, 1.05, 0.98)
    out[4:6] = (-0.02, 0.01, 0.4)
    spec = JobSpec(scale=1.5, region=geo.Region.whole((8, 8)), mode="fast")
    with layer_source(model, layer).dataset() as ds:
        preview = TilePreview(ds, spec)
        writer = ArrayWriter(ds.count, (8, 8), ds.dtypes[0])
        RasterSink(SceneReader(ds), writer, (8, 8))(0, out.copy())  # the final rows of that output
    np.testing.assert_array_equal(preview(out), writer.data)
    if rgb:
        assert writer.data[1, 0, 0] == 3000 and writer.data[0, 4, 0] == 1000
    else:
        assert writer.data[0, 0, 0] == round(1000 + 2000 * (0.98 + 1 + 0.98) / 3)
