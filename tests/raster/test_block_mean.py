"""nodata_masks.valid_block_mean (a lazy layer's coarser levels) gives, bit for bit, what it gave
before it was made faster: the reference below is its code as of 2026-12-06 (commit 08c56e7), but
for 64-bit integers, whose sums it wrapped past 64 bits and which it now averages exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ldcsr_core.geo import nodata_masks
from ldcsr_core.geo.nodata_masks import restore_nodata, valid_block_mean, valid_mask


def reference(data, valid, k, nodata=None):
    """valid_block_mean as of 08c56e7: its steps as they were, its padding condensed (its _block_sum:
    :data:`reference_sum`), 64-bit integers summed exactly (Python's integers)."""
    if k == 1:
        return data, valid
    first, (H, W) = data[:, ::k, ::k], data.shape[1:]
    whole = bool(valid.all()) and not (H % k or W % k)
    if H % k or W % k:  # the last blocks filled with invalid pixels
        data, valid = (np.pad(x, ((0, 0), (0, -H % k), (0, -W % k))) for x in (data, valid))
    dt = data.dtype
    acc = (np.float64 if dt.kind == "f" else np.int32 if dt.itemsize <= 2 and k <= 128
           else object if dt.itemsize == 8 else np.int64)  # 64-bit: Python's integers (08c56e7's wrapped)
    if whole:
        total, count = reference_sum(data.astype(acc), k, acc), k * k
    else:
        total = reference_sum(np.where(valid, data, 0).astype(acc), k, acc)
        count = reference_sum(valid, k, np.int16 if k <= 128 else np.int32)
    if dt.kind == "f":
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (total / count).astype(dt)
    else:
        n = count if whole else np.maximum(count, 1).astype(acc)
        out = ((total + n // 2) // n).astype(dt)
    any_valid = np.ones(out.shape, bool) if whole else count > 0
    restore_nodata(out, any_valid, nodata, dt)
    return np.where(any_valid, out, first), any_valid


#: 08c56e7's _block_sum, for every type: kept verbatim as the floats' (their sums' order is their last bit)
reference_sum = nodata_masks._block_sum_float


DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float16", "float32", "float64"]


def values(rng, dtype, shape):
    """Random pixels of ``dtype`` over its whole range (floats: every magnitude, both signs, ±0)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        mant = rng.uniform(-1, 1, shape)
        exp = rng.integers(-20, 21 if dt.itemsize > 2 else 14, shape)
        a = (mant * 2.0 ** exp).astype(dt)
        a[rng.random(shape) < 0.02] = -0.0
        return a
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)


def cases(dtype, rng):
    """(data, valid, nodata) of ``dtype``: nodata speckles and a border, NaN/±inf, masks, a block
    whose mean is the nodata value, all valid; sizes that are and are not multiples of k."""
    dt = np.dtype(dtype)
    for shape in [(1, 37, 50), (3, 64, 64), (2, 9, 300)]:
        a = values(rng, dtype, shape)
        nodata = -9999 if dt.kind in "if" and dt.itemsize > 1 else 0
        a[:, :, :5] = nodata
        a[rng.random(shape) < 0.1] = nodata
        if dt.kind == "f":
            a[rng.random(shape) < 0.05] = np.nan
            a[0, 3, 7:9] = np.inf, -np.inf
        yield a, valid_mask(a, nodata), nodata
        yield a, rng.random(shape) < 0.7, None  # a mask alone: NaN pixels left valid, nodata values averaged
        small = rng.integers(0, 100, shape).astype(dt)
        small[:, :4, :4] = 50  # nodata 50 beside data whose mean can be 50 (moved off it)
        yield small, valid_mask(small, 50), 50
        yield a[:, 1:], np.ones(a[:, 1:].shape, bool), nodata  # whole (multiples of some k: no padding)
        yield small, np.zeros(shape, bool), nodata


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_block_mean_is_what_it_was(dtype, monkeypatch):
    rng = np.random.default_rng(DTYPES.index(dtype))
    n = 0
    for strip in [nodata_masks.STRIP_PIXELS, 64]:  # many strips of block rows, or one
        monkeypatch.setattr(nodata_masks, "STRIP_PIXELS", strip)
        for data, valid, nodata in cases(dtype, rng):
            for k in [2, 3, 4, 5, 8, 16, 17]:
                before = data.copy(), valid.copy()
                with np.errstate(over="ignore", invalid="ignore"):
                    got, got_valid = valid_block_mean(data, valid, k, nodata)
                    want, want_valid = reference(data, valid, k, nodata)
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"),
                                              err_msg=f"{dtype} {data.shape} k={k} nodata={nodata}")
                np.testing.assert_array_equal(got_valid, want_valid)
                np.testing.assert_array_equal(data, before[0])  # its inputs untouched
                np.testing.assert_array_equal(valid, before[1])
                n += 1
    assert n == 2 * 3 * 5 * 7


@pytest.mark.parametrize("dtype", ["uint16", "int32", "float32"])
def test_a_block_larger_than_128_pixels_a_side(dtype):
    """Counts in int32, 16-bit sums in int64 (k > 128): the same as before too."""
    rng = np.random.default_rng(9)
    a = values(rng, dtype, (1, 300, 290))
    valid = rng.random(a.shape) < 0.9
    valid[:, :140, :140] = False
    with np.errstate(over="ignore", invalid="ignore"):
        got, want = valid_block_mean(a, valid, 130, 0), reference(a, valid, 130, 0)
    np.testing.assert_array_equal(got[0].view(f"u{a.itemsize}"), want[0].view(f"u{a.itemsize}"))
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("dtype,k", [("int16", 2), ("float32", 8), ("uint64", 3)])
def test_the_block_mean_holds_less_memory_than_it_did(dtype, k):
    """Its peak (a lazy layer's pass: about a million pixels) stays below the former code's."""
    import tracemalloc

    rng = np.random.default_rng(4)
    a = values(rng, dtype, (1, 512, 2048))
    valid = rng.random(a.shape) < 0.9
    peaks = []
    for fn in (reference, valid_block_mean):
        tracemalloc.start()
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                fn(a, valid, k, 0)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < peaks[0], peaks


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_64_bit_means_whose_sums_pass_64_bits_are_exact(dtype):
    """A block of 64-bit values beyond 2^63/k² (IDs, nanosecond times, a sensor's raw counts in
    uint64): its mean is theirs, rounded half up. Before: the sum wrapped past 64 bits (four int64
    pixels of 2^62 + 5 averaged to 5; uint64 ones of 2^63 + 5 to 3074457345618258608)."""
    info = np.iinfo(dtype)
    big = np.array([info.max - 6, info.max, info.max - 1, info.max - 2] if dtype == "uint64" else
                   [2**62 + 5, 2**62 + 5, info.min + 3, info.min], dtype).reshape(1, 2, 2)
    whole, _ = valid_block_mean(big, np.ones(big.shape, bool), 2)
    assert int(whole[0, 0, 0]) == (sum(int(x) for x in big.ravel()) + 2) // 4
    some = np.ones(big.shape, bool)
    some[0, 1, 1] = False
    part, _ = valid_block_mean(big, some, 2)
    assert int(part[0, 0, 0]) == (sum(int(x) for x in big.ravel()[:3]) + 1) // 3
    rng = np.random.default_rng(11)
    a = values(rng, dtype, (2, 40, 45))
    valid = rng.random(a.shape) < 0.8
    for k in (2, 3, 7, 16):
        got, _ = valid_block_mean(a, valid, k, 0)
        h, w = got.shape[1:]
        for b, i, j in [(0, 0, 0), (1, 2, 1), (0, h - 1, w - 1), (1, 1, w - 1)]:  # the last ones partial
            blk, ok = (x[b, i * k:(i + 1) * k, j * k:(j + 1) * k] for x in (a, valid))
            xs = [int(x) for x in blk[ok]]
            want = int(blk[0, 0]) if not xs else (sum(xs) + len(xs) // 2) // len(xs)
            want = want + 1 if xs and want == 0 else want  # a mean equal to the nodata (0) moved off it
            assert int(got[b, i, j]) == want, (dtype, k, b, i, j)
