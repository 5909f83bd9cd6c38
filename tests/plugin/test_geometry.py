"""Pure geometry of result layers and georeferenced placement: no viewer, no Qt."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldcsr_core.rules import output_shape

from napari_ldcsr import _geometry as geo

finite = dict(allow_nan=False, allow_infinity=False)
pos_scale = st.floats(0.01, 100.0, **finite)
coord = st.floats(-1e6, 1e6, **finite)


def _to_world(scale, translate, linear=None):
    lin = np.eye(2) if linear is None else np.asarray(linear)

    def f(p):
        return tuple(lin @ (np.asarray(scale) * np.asarray(p, dtype=float)) + np.asarray(translate))

    return f


@settings(max_examples=200, deadline=None)
@given(
    sy=pos_scale, sx=pos_scale, ty=coord, tx=coord,
    h=st.integers(4, 3000), w=st.integers(4, 3000), s=st.floats(1.25, 8.0, **finite),
)
def test_result_overlays_source_exactly(sy, sx, ty, tx, h, w, s):
    out = output_shape((h, w), scale=s)
    scale_out, translate_out = geo.result_placement((sy, sx), (ty, tx), (h, w), out)
    src = geo.world_bounds(_to_world((sy, sx), (ty, tx)), (h, w))
    res = geo.world_bounds(_to_world(scale_out, translate_out), out)
    np.testing.assert_allclose(res, src, rtol=1e-9, atol=1e-6 * max(1.0, abs(ty), abs(tx)))
    # the formula of the issue: scale_out = scale_in*in/out, translate_out = translate_in + (scale_out-scale_in)/2
    assert scale_out == pytest.approx((sy * h / out[0], sx * w / out[1]))
    assert translate_out[0] == pytest.approx(ty + (scale_out[0] - sy) / 2)


@settings(max_examples=200, deadline=None)
@given(
    h=st.integers(2, 500), w=st.integers(2, 500), s=st.floats(1.0, 8.0, **finite),
    angle=st.floats(-180, 180, **finite), shear=st.floats(-1, 1, **finite), data=st.data(),
)
def test_region_result_overlays_region_with_rotation_and_shear(h, w, s, angle, shear, data):
    r0 = data.draw(st.integers(0, h - 1))
    c0 = data.draw(st.integers(0, w - 1))
    region = geo.Region(r0, c0, data.draw(st.integers(1, h - r0)), data.draw(st.integers(1, w - c0)))
    t = np.radians(angle)
    linear = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.array([[1, shear], [0, 1]])
    scale_in, translate_in = (0.3, 0.7), (12.5, -40.0)
    out = (max(1, round(region.rows * s)), max(1, round(region.cols * s)))  # any size, also <= in
    scale_out, translate_out = geo.result_placement(
        scale_in, translate_in, region.shape, out, offset=region.offset, linear=linear
    )
    # every output pixel-edge corner lands on the matching input corner of the region
    src = _to_world(scale_in, translate_in, linear)
    res = _to_world(scale_out, translate_out, linear)
    for rr, cc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        p_in = (r0 - 0.5 + rr * region.rows, c0 - 0.5 + cc * region.cols)
        p_out = (-0.5 + rr * out[0], -0.5 + cc * out[1])
        np.testing.assert_allclose(res(p_out), src(p_in), atol=1e-7)


@given(
    a=st.floats(0.01, 50, **finite), e=st.floats(0.01, 50, **finite),
    c=st.floats(-1e6, 1e6, **finite), f=st.floats(-1e7, 1e7, **finite),
    b=st.sampled_from([0.0, 0.05, -0.3]), d=st.sampled_from([0.0, 0.02]),
)
def test_geotransform_placement_round_trip(a, e, c, f, b, d):
    transform = (a, b, c, d, -e, f)
    placement = geo.layer_placement_from_transform(transform)
    if "affine" in placement:
        matrix = placement["affine"]
    else:
        (sy, sx), (ty, tx) = placement["scale"], placement["translate"]
        assert (sy, sx) == (e, a)  # scale = pixel size
        matrix = np.array([[sy, 0, ty], [0, sx, tx], [0, 0, 1.0]])
    np.testing.assert_allclose(geo.transform_from_world_matrix(matrix), transform, rtol=1e-12, atol=1e-6)
    # pixel (0, 0)'s top-left corner is the geotransform origin, in (-northing, easting)
    corner = matrix @ np.array([-0.5, -0.5, 1.0])
    np.testing.assert_allclose(corner[:2], (-f, c), atol=1e-6)


def test_result_transform_matches_pixel_corners():
    t = (0.1, 0.0, 404211.9, 0.0, -0.1, 3285142.9)
    out = geo.result_transform(t, (100, 80), (250, 200), offset=(10, 20))
    assert out == pytest.approx((0.04, 0.0, 404211.9 + 2.0, 0.0, -0.04, 3285142.9 - 1.0))


def test_pixel_size_and_scale_are_inverse():
    assert geo.output_pixel_size(0.1, 2.5) == pytest.approx(0.04)
    assert geo.scale_for_pixel_size(0.1, 0.04) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="target pixel size"):
        geo.scale_for_pixel_size(0.1, 0.0)


def test_visible_box_and_region_from_view():
    box = geo.visible_world_box((0.0, 50.0, 40.0), zoom=2.0, canvas_size=(40, 60))
    np.testing.assert_allclose(box, [[40, 25], [60, 55]])
    # data points are pixel centres: -0.5..H-0.5 covers the image; partial pixels are kept
    assert geo.region_from_data_points(np.array([[9.6, 19.9], [20.2, 30.0]]), (100, 100)) == geo.Region(10, 20, 11, 11)
    assert geo.region_from_data_points(np.array([[-50, -50], [500, 500]]), (30, 40)) == geo.Region(0, 0, 30, 40)
    assert geo.region_from_data_points(np.array([[200, 200], [300, 300]]), (30, 40)) is None


def test_region_rejects_empty():
    with pytest.raises(ValueError, match="at least 1x1"):
        geo.Region(0, 0, 0, 5)
