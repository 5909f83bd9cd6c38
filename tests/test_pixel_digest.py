"""ldcsr_core.pixel_digest: whether an in-memory image still holds the pixels work was made of."""

from __future__ import annotations

import numpy as np
import pytest

from ldcsr_core import pixel_digest as pd


def test_an_edit_in_place_changes_the_digest_and_a_view_digests_as_its_copy(monkeypatch):
    monkeypatch.setattr(pd, "DIGEST_ROWS_BYTES", 1000)  # several passes over the rows
    a = np.random.default_rng(0).integers(0, 255, (70, 50, 3), dtype=np.uint8)
    before = pd.pixel_digest(a)
    bgr = a[:, :, ::-1]  # not contiguous: digested a few rows at a time, as its C-order copy
    assert pd.pixel_digest(bgr) == pd.pixel_digest(np.ascontiguousarray(bgr)) != before
    a[60, 49, 2] ^= 1  # one bit, in the last pass
    assert pd.pixel_digest(a) != before
    a[60, 49, 2] ^= 1
    assert pd.pixel_digest(a) == before
    assert pd.pixel_digest(a.reshape(50, 70, 3)) != before  # same bytes, another shape
    assert pd.pixel_digest(a.astype(np.int8)) != before


def test_arrays_not_held_by_numpy_or_dask_have_no_digest():
    assert pd.pixel_digest([[1, 2]]) is None and pd.pixel_digest(np.zeros((0, 3)))[3] == 0


def test_a_dask_array_edited_in_place_changes_its_digest_without_a_read():
    """``data[…] = …`` on a dask array gives the same object another task graph. Before: every dask array's
    digest was None, so an edit in place of a dask layer was never seen; now its graph's name, and not one
    block is computed for it."""
    import dask
    import dask.array as da

    reads = []

    def block():
        reads.append(1)
        return np.ones((8, 8), np.uint8)

    data = da.from_delayed(dask.delayed(block)(), (8, 8), np.uint8)
    digest = pd.pixel_digest(data)
    assert pd.same_pixels(data, digest) and pd.pixel_digest(data) == digest
    data[2:4, 2:4] = 0
    assert not pd.same_pixels(data, digest) and pd.pixel_digest(data) != digest
    assert reads == []
    assert not pd.same_pixels(np.ones((8, 8), np.uint8), digest)  # a NumPy array is not its graph


def test_a_view_with_its_axes_moved_is_digested_in_its_own_memory_without_a_copy():
    """A GeoTIFF's bands read as one RGB layer are ``np.moveaxis`` of (bands, h, w): before, each digest
    copied it a few rows at a time into C order (0.8 s a 192 MB layer, each Run, Compare, redraw)."""
    import tracemalloc

    bands = np.random.default_rng(1).integers(0, 255, (3, 600, 700), dtype=np.uint8)
    rgb = np.moveaxis(bands, 0, -1)
    tracemalloc.start()
    try:
        digest = pd.pixel_digest(rgb)
        copied = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert copied < 64_000  # not the 1 MB passes of a copy (nor the 1.26 MB layer)
    copy = np.ascontiguousarray(rgb)  # the same pixels laid out in C order: the same pixels still
    assert pd.same_pixels(copy, digest) and pd.same_pixels(rgb, pd.pixel_digest(copy))
    assert pd.same_pixels(rgb, [list(digest[0]), digest[1], list(digest[2]), digest[3]])  # as metadata keeps it
    copy[599, 699, 1] ^= 1
    assert not pd.same_pixels(copy, digest) and not pd.same_pixels(rgb[:-1], digest)
    bands[1, 599, 699] ^= 1  # the layer's own pixel, through its bands
    assert not pd.same_pixels(rgb, digest)


def test_an_xarray_layer_is_digested_as_the_array_it_holds():
    """napari keeps an xarray ``DataArray`` as the layer's data; an edit in place of it writes to the NumPy (or
    dask) array it holds. Before: its digest was None, the edit never seen."""
    xr = pytest.importorskip("xarray")
    import dask.array as da

    base = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    held = xr.DataArray(base, dims=("y", "x", "c"))
    digest = pd.pixel_digest(held)
    assert digest == pd.pixel_digest(base) and pd.same_pixels(held, digest)
    held[1:3, 1:3] = 0
    assert not pd.same_pixels(held, digest) and pd.pixel_digest(held) == pd.pixel_digest(base)
    lazy = xr.DataArray(da.from_array(base.copy(), chunks=2), dims=("y", "x", "c"))
    digest = pd.pixel_digest(lazy)
    assert digest[3].startswith("dask:") and pd.same_pixels(lazy, digest)
    lazy[0, 0] = 7
    assert not pd.same_pixels(lazy, digest)
