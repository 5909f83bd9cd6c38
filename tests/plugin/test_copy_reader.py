"""The run's copy of the layers read back into each layer's layout by one reader (``LayerSource.read_layer``): the
progressive result's first look (``placeholders``) and the digests of the pixels the run read (``copy_digests``)
are of the layers' own pixels, an RGB layer of a file stored blue, green, red included."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ldcsr_core.pixel_digest import pixel_digest
from napari_ldcsr import _geometry as geo
from napari_ldcsr.run._job import JobSpec
from napari_ldcsr.run._layer_source import LayerSource
from napari_ldcsr.run._results import nearest_preview, placeholders


def _layers(layout):
    rng = np.random.default_rng(4)
    if layout == "rgb":
        return LayerSource(layers=(SimpleNamespace(data=rng.integers(0, 255, (37, 41, 3), dtype=np.uint8)),),
                           layout="rgb", order=(2, 1, 0))  # the layer's red is the file's band 3
    if layout == "gray":
        return LayerSource(layers=(SimpleNamespace(data=rng.integers(0, 4000, (37, 41), dtype=np.uint16)),),
                           layout="gray")
    return LayerSource(layers=tuple(SimpleNamespace(data=rng.integers(0, 4000, (37, 41), dtype=np.uint16))
                                    for _ in range(4)), layout="bands")


@pytest.mark.parametrize("layout", ["rgb", "gray", "bands"])
def test_the_first_look_and_the_digests_are_of_the_layers_pixels(layout):
    source = _layers(layout)
    spec = JobSpec(scale=2.0, region=geo.Region(5, 7, 20, 30))
    with source.dataset() as ds:
        assert ds.count == (3 if layout == "rgb" else len(source.layers))
        if layout == "rgb":  # the copy is in the file's band order: its band 1 is the layer's blue
            np.testing.assert_array_equal(ds.read(1), source.data()[..., 2])
        first = placeholders(source, spec, ds)
        digests = source.copy_digests(ds)
    for layer, shown in zip(source.layers, first):
        expected = nearest_preview(layer.data[spec.region.slices], spec.out_shape)
        assert shown.dtype == layer.data.dtype
        np.testing.assert_array_equal(shown, expected, strict=True)
    assert digests == tuple(pixel_digest(layer.data, tuple(range(layer.data.ndim))) for layer in source.layers)
