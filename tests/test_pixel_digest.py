"""ldcsr_core.pixel_digest: whether an in-memory image still holds the pixels work was made of."""

from __future__ import annotations

import numpy as np

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


def test_arrays_not_held_by_numpy_have_no_digest():
    import dask.array as da

    assert pd.pixel_digest(da.zeros((8, 8))) is None and pd.pixel_digest([[1, 2]]) is None
    assert pd.pixel_digest(np.zeros((0, 3)))[2] == 0
