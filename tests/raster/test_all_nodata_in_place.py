"""The look for data in pixels held in memory (``geo.empty_input.arrays_all_nodata``: napari's layers, looked at in
place, not copied into datasets) answers as the Run's look at a copy of them (``input_all_nodata``) answers."""

from __future__ import annotations

import numpy as np
import pytest

from ldcsr_core.geo.arrays import dataset_from_array
from ldcsr_core.geo.empty_input import arrays_all_nodata, input_all_nodata


def _nan(a):
    a = a.astype("float32")
    a[:, :, :] = np.nan
    return a


ZERO = np.zeros((3, 40, 40), np.uint8)


@pytest.mark.parametrize("data, nodata, given, bands", [
    (ZERO, 0, None, None),  # all nodata
    (np.where(np.arange(40)[None, None, :] == 39, 7, ZERO).astype(np.uint8), 0, None, None),  # data in a last column
    (np.stack([ZERO[0], ZERO[0] + 5, ZERO[0]]), 0, None, None),  # one band of data: the pixels are data
    (np.stack([ZERO[0], ZERO[0] + 5, ZERO[0]]), 0, (0, 5), None),  # several values: each is nodata
    (np.stack([ZERO[0], ZERO[0] + 5, ZERO[0]]), 0, {2: 5, 1: 0, 3: 0}, None),  # each band its own
    (np.stack([ZERO[0], ZERO[0] + 5, ZERO[0]]), 0, None, (1, 3, 1)),  # bands chosen: band 2 not among them
    (np.stack([ZERO[0], ZERO[0] + 5, ZERO[0]]), 0, None, (2, 2, 2)),  # band 2 chosen: data
    (_nan(ZERO), None, None, None),  # float NaN: nodata always
    (ZERO + 9, None, None, None),  # no nodata: every value is data
    (ZERO + 9, None, "9", None),  # the Nodata field's value
    (ZERO + 9, 0, "none", None),  # the Nodata field's 'none': every value is data
])
def test_the_look_in_place_answers_as_the_look_at_a_copy(data, nodata, given, bands):
    """New with the look in place (fails on main: no arrays_all_nodata): each case's answer is input_all_nodata's of
    the whole copy, looked at in strips of 7 rows read as a corner's copy is read."""
    with dataset_from_array(data, nodata=nodata, bands_last=False) as whole:
        want = bool(input_all_nodata(whole, nodata=given, bands=bands))
    with dataset_from_array(data[:, :4, :4], nodata=nodata, bands_last=False) as corner:
        strips = (data[:, y:y + 7] for y in range(0, 40, 7))
        assert arrays_all_nodata(corner, strips, nodata=given, bands=bands) is want


def test_an_alpha_band_is_left_to_the_look_at_a_copy():
    """Its alpha (0: nodata whatever the colours) is the dataset's: the values alone cannot tell (None)."""
    data = np.concatenate([ZERO + 9, ZERO[:1]])
    with dataset_from_array(data, bands_last=False, colorinterp=("red", "green", "blue", "alpha")) as ds:
        assert input_all_nodata(ds) == "mask"
        assert arrays_all_nodata(ds, [data]) is None
