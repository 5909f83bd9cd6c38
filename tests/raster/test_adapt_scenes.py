"""`ldcsr adapt` on odd scenes and on a part of one: what the user is told when nodata leaves the
guard nothing, and what the model records of the part it was adapted to."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core import adaptation as adapt_mod
from ldcsr_core.cli import main

from .test_adapt import scene


def _corner_tif(path):
    """``scene()`` as a uint16 GeoTIFF (nodata 0) with data in its top-left 64×48 px only."""
    from .conftest import write_tif

    data = np.moveaxis(scene(), -1, 0).astype(np.uint16) * 256 + 1
    data[:, 48:, :] = 0
    data[:, :, 64:] = 0
    return write_tif(path, data, dtype="uint16", nodata=0)


def test_a_scene_with_data_only_in_a_corner_says_where_the_strip_is_and_what_to_do(tiny_model_file, tmp_path):
    """Data in the top-left corner only, nodata elsewhere: exit 3 'every pixel of the held-back strip
    is nodata: the guard cannot check', which said neither where that strip is nor what to do (the
    strip with a little data said both). Now where, and the window to give; with it, adapt trains."""
    tif = _corner_tif(tmp_path / "corner.tif")
    before = tif.read_bytes()
    out = tmp_path / "a.safetensors"
    args = ["-q", "adapt", str(tif), "--scale", "2", "-o", str(out), "--steps", "1", "--model", str(tiny_model_file)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 3, r.output
    assert ("the held-back strip (the last quarter of the scene or window: columns 90 to 119, rows 0 to 71) cannot "
            "guard the adaptation: every pixel of it is nodata; adapt to a window with data in its last quarter "
            "(--window; window= in Python)") in r.output, r.output
    assert not out.exists() and tif.read_bytes() == before
    r = CliRunner().invoke(main, [*args, "--window", "0,0,64,48"])
    assert r.exit_code in (0, 8) and "adaptation ×2:" in r.output, r.output  # trained and guarded
    assert tif.read_bytes() == before


def test_a_model_adapted_to_a_window_records_it(tiny_model_file, tmp_path, monkeypatch):
    """--window (and the plugin's Adapt, on the view's central square of a large layer) adapted to a
    part of the scene, but the model recorded and `ldcsr models` said only the file, as if adapted to
    all of it. Now `adapt_window` (row, col, height, width, as the guard's holdout) and the line."""
    from safetensors import safe_open

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})  # kept: what it records is tested
    from .conftest import write_tif

    tif = write_tif(tmp_path / "scene.tif", np.moveaxis(scene(), -1, 0), dtype="uint8")
    for window, out in (("0,0,64,48", tmp_path / "w.safetensors"), (None, tmp_path / "all.safetensors")):
        args = ["-q", "adapt", str(tif), "--scale", "2", "-o", str(out), "--steps", "1", "--model", str(tiny_model_file)]
        r = CliRunner().invoke(main, args + (["--window", window] if window else []))
        assert r.exit_code == 0, r.output
        with safe_open(str(out), framework="numpy") as f:
            meta = f.metadata()
        r = CliRunner().invoke(main, ["models", str(out)])
        assert r.exit_code == 0, r.output
        if window:
            assert meta["adapt_window"] == "[0, 0, 48, 64]"
            assert f"on {tif.resolve()} (sha256 " in r.output and "), its window of columns 0-63 and rows 0-47, at x2," \
                in r.output, r.output
        else:
            assert "adapt_window" not in meta and "its window" not in r.output, r.output


def test_a_large_strip_whose_sampled_windows_are_nodata_is_guarded_on_its_data(tiny_model_file, tmp_path, monkeypatch):
    """A held-back strip over 1 M px is guarded on sampled windows: where they all fall on nodata the
    whole strip is looked at, and the guard's windows go where its data is; "every pixel of it is
    nodata" only when the whole strip is. Before: that refusal (exit 3) for a strip whose unsampled
    part had data (here its last 488 of 1000 columns)."""
    from ldcsr_core.errors import InputError

    from .conftest import write_tif

    sampled = adapt_mod._guard_boxes((0, 3000, 1100, 1000))
    assert sampled and all(3000 <= x and x + bw <= 3512 for _, x, _, bw in sampled)  # all on nodata
    h, data, tif, before, base, strip = _guarded_swath(tiny_model_file, tmp_path, monkeypatch, 3512)
    assert len(strip) == 2, [b for b, _, _ in strip]  # one above the other on the data; a third would overlap
    for (y, x, bh, bw), a, v in strip:
        assert (bh, bw) == (512, 512) and 0 <= y <= h - 512 and 3000 <= x <= 4000 - 512
        with rasterio.open(tif) as ds:  # the valid pixels are the file's data, read as it is
            assert np.array_equal(v, ds.read(1, window=((y, y + bh), (x, x + bw))) != 0)
        assert v.sum() >= 512 * 488
    assert len({b[0] for b, _, _ in strip}) == 2
    data[:, :, 3512:] = 0  # the whole strip nodata: refused, now truly
    write_tif(tmp_path / "all.tif", data, dtype="uint8", nodata=0)
    with pytest.raises(InputError, match=r"columns 3000 to 3999, rows 0 to 1099\) cannot guard the adaptation: "
                                         r"every pixel of it is nodata"):
        adapt_mod.adapt(tmp_path / "all.tif", 2.0, base, steps=1)
    assert tif.read_bytes() == before



def test_a_large_training_part_whose_sampled_windows_are_nodata_is_trained_on_its_data(tiny_model_file, tmp_path,
                                                                                      monkeypatch):
    """A training part over 16 M px is read in sampled windows: where they all fall on nodata, the
    whole part is looked at and the windows go where its data is. Before: 'every pixel of the scene's
    training part is nodata: nothing to adapt to' (exit 3), with 700 of its 4200 rows data."""
    from ldcsr_core import adapt_scene

    sampled = adapt_scene._windows((0, 0, 4200, 4200), adapt_scene.MAX_TRAIN_PIXELS, adapt_scene.POOL_WINDOWS)
    assert len(sampled) == adapt_scene.POOL_WINDOWS and not any(
        y < 1220 and 520 < y + bh for y, _, bh, _ in sampled)  # none on a row with data
    pool, valid = _pool_of_a_band_of_data(tiny_model_file, tmp_path, monkeypatch, 520, 1220)
    assert len(pool) == 8 and all(a.shape == (512, 512, 3) for a in pool)  # the 8 cells of rows 512-1023 that fit
    assert all(v is not None and v.mean() >= 0.5 for v in valid)


def test_a_large_strip_whose_sampled_windows_catch_a_sliver_of_data_is_guarded_on_its_data(tiny_model_file, tmp_path,
                                                                                          monkeypatch):
    """The sampled windows of a held-back strip over 1 M px catch a sliver of its data (a swath edge 3 px
    into them), too little to score: the whole strip is looked at, as where they catch none, and the
    guard's windows go on its data. Before: exit 3 'cannot guard the adaptation: too little data to
    score', with 491 of the strip's 1000 columns data."""
    sampled = adapt_mod._guard_boxes((0, 3000, 1100, 1000))
    assert sampled and all(3000 <= x and x + bw == 3512 for _, x, _, bw in sampled)  # a sliver in each
    strip = _guarded_swath(tiny_model_file, tmp_path, monkeypatch, 3509)[-1]  # nodata but columns 3509-3511
    assert strip and all(v is not None and v.sum() >= 512 * 488 for _b, _a, v in strip)


def test_a_large_training_part_whose_sampled_windows_catch_a_sliver_of_data_is_trained_on_its_data(
        tiny_model_file, tmp_path, monkeypatch):
    """The training part's sampled windows catch 3 rows of its data (its rows 509-1228): too little to
    score, so its windows go where its data is, as where they catch none. Before: exit 3 'the training
    part ... cannot be checked one octave finer, as the guard does: too little data to score'."""
    pool, valid = _pool_of_a_band_of_data(tiny_model_file, tmp_path, monkeypatch, 509, 1229)
    assert pool and all(a.shape == (512, 512, 3) for a in pool)
    assert all(v is None or v.mean() >= 0.5 for v in valid)


def _pool_of_a_band_of_data(tiny_model_file, tmp_path, monkeypatch, top: int, bottom: int):
    """(pool, valid) the model trains on (the twin's is its coarser copy) when adapted at ×2 to a 5600×4200 px
    scene whose training part (columns 0-4199) has data in rows ``top`` to ``bottom`` - 1 only, its strip
    (columns 4200-5599) all data."""
    from rasterio.transform import from_origin

    import ldcsr_core

    h, w = 4200, 5600
    data = np.zeros((3, h, w), np.uint8)
    data[:, :, 4200:] = np.tile(np.moveaxis(scene(600, 700, lo=1), -1, 0), (1, 7, 2))
    data[:, top:bottom, :4200] = np.moveaxis(scene(bottom - top, 4200, lo=1), -1, 0)
    tif = tmp_path / "band.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=w, height=h, count=3, dtype="uint8", nodata=0, tiled=True,
                       crs="EPSG:32633", transform=from_origin(500000, 6000000, 10, 10)) as ds:
        ds.write(data)
    pools = []
    real = adapt_mod.PairSampler.__init__

    def sampler(self, pool, scale, recipe, seed, valid=None):
        pools.append((pool, valid))
        real(self, pool, scale, recipe, seed, valid=valid)

    monkeypatch.setattr(adapt_mod.PairSampler, "__init__", sampler)
    monkeypatch.setattr(adapt_mod, "_pooled_psnr", lambda refs, scale, models, tick: {
        "base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0})  # the figures are not what is tested
    base = ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float32")
    res = adapt_mod.adapt(tif, 2.0, base, steps=1, recipe=adapt_mod.Recipe(batch=2, crop_lr=12))
    assert res.holdout == (0, 4200, h, 1400) and res.steps == 1
    return pools[0]


def _guarded_swath(tiny_model_file, tmp_path, monkeypatch, edge: int):
    """(h, data, tif, its bytes, base model, the guard's windows) of ×2 adaptation of a 4000×1100 px scene
    whose held-back strip (columns 3000-3999, over MAX_GUARD_PIXELS) is nodata (0) up to column ``edge``."""
    import ldcsr_core

    from .conftest import write_tif

    h, w = 1100, 4000
    data = np.moveaxis(scene(h, w, lo=1), -1, 0).copy()  # nodata 0: none in the data
    data[:, :, 3000:edge] = 0
    tif = write_tif(tmp_path / "swath.tif", data, dtype="uint8", nodata=0)
    before, guarded = tif.read_bytes(), []

    def pooled(refs, scale, models, tick):  # the guard's figures (kept): which windows it scores is tested
        guarded.append(refs)
        return {"base": 30.0, "adapted": 30.1, "twin": 30.1, "bicubic": 29.0}

    monkeypatch.setattr(adapt_mod, "_pooled_psnr", pooled)
    base = ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float32")
    res = adapt_mod.adapt(tif, 2.0, base, steps=1, recipe=adapt_mod.Recipe(batch=2, crop_lr=12))
    assert res.holdout == (0, 3000, h, 1000) and res.kept
    return h, data, tif, before, base, guarded[0]
