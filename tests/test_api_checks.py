"""The public API checks what it is given before any work, and its messages speak to a Python
caller: callables (callback=, on_rows=, read_window/sink, polling's predicate), a tile's read
window, an ambiguous (rows, cols, 1) array, and how an OutputExistsError says to replace."""

import re

import numpy as np
import PIL.Image
import pytest

import ldcsr_core
from ldcsr_core import InputError, OutputExistsError
from ldcsr_core.config import tiny_test_config
from ldcsr_core.geo.pipeline import UpscaleOptions, bicubic_window, upscale_raster, upscale_window
from ldcsr_core.geo.raster_io import dataset_from_array
from ldcsr_core.geo.spread import upscale_window_spread


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


def _image(n=48):
    return np.random.default_rng(0).integers(0, 256, (n, n, 3), dtype=np.uint8)


def _png(tmp_path):
    path = tmp_path / "scene.png"
    PIL.Image.fromarray(_image()).save(path)
    return path


_FAST = UpscaleOptions(mode="fast")
_RUNS = {  # each entry point that takes a progress callback, called with one
    "upscale": lambda m, cb, tmp: ldcsr_core.upscale(_image(), 2, model=m, mode="fast", callback=cb),
    "samples": lambda m, cb, tmp: ldcsr_core.upscale(_image(), 2, model=m, samples=1, callback=cb),
    "selfcheck": lambda m, cb, tmp: ldcsr_core.selfcheck(_image(), 2, model=m, mode="fast", callback=cb),
    "adapt": lambda m, cb, tmp: ldcsr_core.adapt(_image(64), 2, m, steps=1, callback=cb),
    "upscale_window": lambda m, cb, tmp: upscale_window(_png(tmp), model=m, scale=2, options=_FAST, callback=cb),
    "upscale_window_spread": lambda m, cb, tmp: upscale_window_spread(
        _png(tmp), model=m, scale=2, options=UpscaleOptions(samples=2), callback=cb),
    "upscale_raster": lambda m, cb, tmp: upscale_raster(_png(tmp), tmp / "out.tif", model=m, scale=2,
                                                        options=_FAST, callback=cb),
}


@pytest.mark.parametrize("name", sorted(_RUNS))
@pytest.mark.parametrize("bad", ["stop", 5])
def test_a_callback_that_is_no_function_is_refused_before_any_work(tiny, tmp_path, name, bad):
    """Before: Python's TypeError "'str' object is not callable" at its first call, after the
    model was resolved and the scene read (adapt: after the scene was read and hashed)."""
    with pytest.raises(InputError, match=f"callback must be a function or None, got {type(bad).__name__}"):
        _RUNS[name](tiny, bad, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["scene.png"])  # no output, no part file


def test_the_other_callables_are_checked_too(tiny, tmp_path):
    from ldcsr_core.tileplan import plan_tiles

    plan = plan_tiles((20, 20), (40, 40))

    def read(y0, x0, h, w):
        return np.zeros((h, w, 3), np.float32)

    with pytest.raises(InputError, match="read_window must be a function, got str"):
        ldcsr_core.run_plan(tiny, plan, "read", lambda y0, rows: None, mode="fast")
    with pytest.raises(InputError, match="sink must be a function, got NoneType"):
        ldcsr_core.run_plan(tiny, plan, read, None, mode="fast")
    with pytest.raises(InputError, match="sink must be a function"):
        ldcsr_core.RowMerger(plan, "sink")
    with pytest.raises(InputError, match="on_rows must be a function or None, got int"):
        upscale_window(_png(tmp_path), model=tiny, scale=2, options=_FAST, on_rows=1)
    with pytest.raises(InputError, match="on_rows must be a function or None, got int"):
        bicubic_window(_png(tmp_path), scale=2, on_rows=1)
    # polling(button.isChecked()) (the value, not the method) stopped nothing: it failed at the first tile
    with pytest.raises(InputError, match="should_stop must be a function, got bool False"):
        ldcsr_core.polling(False)
    with pytest.raises(InputError, match="then must be a function or None, got str"):
        ldcsr_core.polling(lambda: False, "print")
    ldcsr_core.run_plan(tiny, plan, read, lambda y0, rows: None, mode="fast",
                        callback=ldcsr_core.polling(lambda: False, lambda info: None))  # functions pass


def test_a_tiles_read_window_outside_zero_one_is_refused(tiny):
    """process_tile ran NaN through the model (NaN out) and 0-255 values (a white picture) without a
    word; the engine's own readers clip to [0, 1], so their windows pass as before."""
    from ldcsr_core.tileplan import plan_tiles
    from ldcsr_core.tiling import process_tile

    plan = plan_tiles((20, 20), (40, 40))
    t = plan.tiles[0]
    win = np.random.default_rng(0).random((t.read_y.size, t.read_x.size, 3)).astype(np.float32)
    ref = process_tile(tiny, win, t, plan, mode="fast")
    with pytest.raises(InputError, match=r"read window must hold values in \[0, 1\].*got values in \[0, 255\]: "
                                         "0–255 levels. divide them by 255"):
        process_tile(tiny, np.round(win * 255), t, plan, mode="fast")
    over = win.astype(np.float64)
    over[0, 0, 0] = 1 + 1e-12  # a sum's rounding: before, told 'e.g. 8-bit values / 255' (a picture 255 times darker)
    with pytest.raises(InputError, match=r"got values in \[.*, 1.000000000001\]: just beyond it \(rounding\?\): "
                                         r"np.clip\(window, 0, 1\) takes them in"):
        process_tile(tiny, over, t, plan, mode="fast")
    for bad in (np.nan, np.inf):
        dirty = win.copy()
        dirty[3, 4, 1] = bad
        with pytest.raises(InputError, match="got NaN or infinite values"):
            process_tile(tiny, dirty, t, plan, mode="fast")
    shifted = win - 0.5
    shifted[0, 0, 0] = -0.5
    with pytest.raises(InputError, match=r"got values in \[-0\.5, "):  # the model's [-1, 1] units
        process_tile(tiny, shifted, t, plan, mode="fast")
    edges = win.copy()
    edges[0, 0], edges[0, 1] = 0.0, 1.0  # the range's ends are in it
    assert process_tile(tiny, edges, t, plan, mode="fast").shape == ref.shape


def test_a_rows_cols_1_array_says_how_it_was_read_and_how_to_pass_one_band():
    """(64, 64, 1) was read by the bands-last rule as 64 bands of 64×1 px, and the run then
    failed on 'the raster is 1 px wide and 64 px high'."""
    grey = np.random.default_rng(0).integers(0, 256, (64, 64, 1), dtype=np.uint8)
    with pytest.raises(InputError, match=r"shape \(64, 64, 1\) is ambiguous: .* reads as 64 bands of "
                                         r"64×1 px; for a single-band image pass array\[\.\.\., 0\]"):
        dataset_from_array(grey)
    with dataset_from_array(grey[..., 0]) as a, dataset_from_array(grey, bands_last=True) as b:
        assert (a.count, a.height, a.width) == (b.count, b.height, b.width) == (1, 64, 64)
    with dataset_from_array(grey, bands_last=False) as c:  # said in so many words: as asked
        assert (c.count, c.height, c.width) == (64, 64, 1)
    with dataset_from_array(np.zeros((64, 64, 3), np.uint8)) as rgb:  # the rule itself is unchanged
        assert rgb.count == 3


def test_output_exists_names_the_api_parameter_to_a_python_caller(tiny, tmp_path):
    """A Python caller was told 'use --overwrite' (the CLI's flag) by upscale_raster, write_raster,
    save_model and write_report; the CLI still says --overwrite (test_report_paths, test_adapt)."""
    from ldcsr_core.geo.raster_io import read_raster, write_raster
    from ldcsr_core.report import write_report

    there = tmp_path / "there.tif"
    there.write_bytes(b"kept")
    src = _png(tmp_path)
    with pytest.raises(OutputExistsError, match=r"\(not a raster; use output=OutputOptions\(overwrite=True\) to replace "
                       r"it\)"):  # what is there, and how to replace it
        upscale_raster(src, there, model=tiny, scale=2, options=_FAST)
    with pytest.raises(OutputExistsError, match=r"\(use overwrite=True to replace it\)") as err:
        write_raster(there, read_raster(src))
    assert err.value.worded("--overwrite").endswith("(use --overwrite to replace it)")
    with pytest.raises(OutputExistsError, match=r"\(use overwrite=True to replace it\)"):
        ldcsr_core.save_model(tiny, there, name="t", overwrite=False)
    with pytest.raises(OutputExistsError, match=r"\(use overwrite=True to replace it\)"):
        write_report(there, [], overwrite=False)
    assert there.read_bytes() == b"kept"


def test_shapes_and_plan_settings_are_whole_numbers_checked_not_cut():
    """output_shape and plan_tiles took (10.5, 10) as (10, 10) and (40.5, 40) as (40, 40) silently;
    'ab' failed in int(), None with "'NoneType' object is not subscriptable", overlap='a', window='a'
    in a comparison ('<' not supported ...), window=64.5 was cut to 64."""
    from ldcsr_core.tileplan import plan_tiles

    for bad in ("ab", None, (10,), (10.5, 10), ("10", "10")):
        with pytest.raises(InputError, match=r"in_shape must be a \(rows, cols\) pair of whole numbers"):
            ldcsr_core.output_shape(bad, 2)
    assert ldcsr_core.output_shape(np.zeros((10, 12, 3)).shape, 2) == (20, 24)  # an array's shape
    with pytest.raises(InputError, match="out_shape must be a"):
        plan_tiles((20, 20), (40.5, 40))
    with pytest.raises(InputError, match="in_shape must be a"):
        plan_tiles((20.5, 20), (41, 40))
    with pytest.raises(InputError, match="overlap must be a number, got 'a'"):
        plan_tiles((20, 20), (40, 40), overlap="a")
    for kw, what in ((dict(window=64.5), "window"), (dict(window="64"), "window"),
                     (dict(window=64, overlap_out="8"), "overlap_out"), (dict(margin=-4), "margin")):
        with pytest.raises(InputError, match=f"{what} .*must be a whole number"):
            plan_tiles((200, 200), (400, 400), **kw)
    assert plan_tiles((200, 200), (400, 400), window=np.int64(64), margin=0).tile_out == (64, 64)


def test_the_building_blocks_take_their_model_plan_and_tiles_by_the_api_rules(tiny):
    """A model name, a plan or a tile that is none failed with AttributeErrors ("'str' object has no
    attribute 'config'/'in_shape'/'read_y'"); a tile of another plan ran and gave a wrong picture."""
    from ldcsr_core.tileplan import plan_tiles
    from ldcsr_core.tiling import TileProcessor, process_tile

    plan = plan_tiles((20, 20), (40, 40))
    t = plan.tiles[0]
    win = np.zeros((t.read_y.size, t.read_x.size, 3), np.float32)
    name = r"model must be a loaded model, got the name 'ldcsr-compact-rsscn7'"
    with pytest.raises(InputError, match=name):
        process_tile("ldcsr-compact-rsscn7", win, t, plan, mode="fast")
    with pytest.raises(InputError, match=name):
        ldcsr_core.plan_for_model("ldcsr-compact-rsscn7", (20, 20), (40, 40))
    with pytest.raises(InputError, match=name):
        TileProcessor("ldcsr-compact-rsscn7", plan, mode="fast")
    with pytest.raises(InputError, match=name):
        ldcsr_core.run_plan("ldcsr-compact-rsscn7", plan, lambda *a: win, lambda y0, rows: None, mode="fast")
    with pytest.raises(InputError, match="plan must be a TilePlan"):
        process_tile(tiny, win, t, "plan", mode="fast")
    with pytest.raises(InputError, match="plan must be a TilePlan"):
        ldcsr_core.run_plan(tiny, (20, 20), lambda *a: win, lambda y0, rows: None, mode="fast")
    with pytest.raises(InputError, match="tiles must be Tiles of the plan"):
        process_tile(tiny, win, t.read, plan, mode="fast")
    big = plan_tiles((200, 200), (400, 400), window=64)
    far = big.tiles[-1]
    with pytest.raises(InputError, match=f"tile {far.index} lies outside the plan's 20×20 → 40×40 px"):
        process_tile(tiny, np.zeros((far.read_y.size, far.read_x.size, 3), np.float32), far, plan, mode="fast")
    with pytest.raises(InputError, match="channels must be a whole number of at least 1"):
        ldcsr_core.RowMerger(plan, lambda y0, rows: None, channels=0)


def test_build_and_save_model_check_their_arguments(tiny, tmp_path):
    """build_model('x') failed with "'str' object has no attribute 'validate'", seed=1.5 in torch
    ('manual_seed expected a long'); save_model(m, '') with 'cannot write .: Device or resource
    busy', name=5 or extra={'k': 1} with safetensors' "'int' object is not an instance of 'str'",
    extra={'config': ...} wrote a file that no longer loads, name='' or '  ' a model of no name;
    convert_checkpoint(None, ...) with os.fspath's TypeError."""
    with pytest.raises(ldcsr_core.ConfigError, match="config must be a ldcsr_core.ModelConfig or None, got str"):
        ldcsr_core.build_model("tiny")
    for seed in (1.5, "1"):
        with pytest.raises(InputError, match="seed must be a whole number"):
            ldcsr_core.build_model(tiny_test_config(), seed=seed)
    out = tmp_path / "m.safetensors"
    with pytest.raises(InputError, match="the output path is empty"):
        ldcsr_core.save_model(tiny, "", name="t")
    with pytest.raises(InputError, match="output must be a file path, got NoneType"):
        ldcsr_core.save_model(tiny, None, name="t")
    with pytest.raises(InputError, match="model must be an LDCSR model"):
        ldcsr_core.save_model("tiny", out, name="t")
    for kw, what in ((dict(name=5), "name"), (dict(name="t", version=2), "version"),
                     (dict(name="t", notes=None), "notes"), (dict(name="t", extra={"k": 1}), r"extra\['k'\]"),
                     (dict(name="t", extra={1: "v"}), "extra's keys")):
        with pytest.raises(InputError, match=f"{what} must be text"):
            ldcsr_core.save_model(tiny, out, **kw)
    with pytest.raises(InputError, match="extra may not replace the format's own metadata: config"):
        ldcsr_core.save_model(tiny, out, name="t", extra={"config": "{}"})
    for name, said in (("", "name is empty"), ("  ", r"name is only blanks \('  '\)"), ("\t\n", "only blanks")):
        with pytest.raises(InputError, match=said + ".*give the model a name"):  # (before: written with that name)
            ldcsr_core.save_model(tiny, out, name=name)
    assert not list(tmp_path.iterdir())
    ldcsr_core.save_model(tiny, out, name="t", extra={"k": "v"})
    assert ldcsr_core.load_model(out, device="cpu").name == "t"
    from ldcsr_core.adaptation import Adaptation

    kept = Adaptation(model=tiny, kept=True, scale=2.0, steps=1, seconds=0.0, holdout=(0, 0, 8, 8), psnr_base=30.0,
                      psnr_adapted=31.0, psnr_bicubic=29.0, octave_base=30.0, octave_twin=31.0, base_name="b",
                      base_sha256="", scene="", scene_sha256="", seed=0)
    with pytest.raises(InputError, match="output must be a file path, got NoneType"):
        kept.save(None)  # pathlib's TypeError
    with pytest.raises(InputError, match="the output path is empty"):
        kept.save("")  # '.: an adapted model is saved as .safetensors'
    with pytest.raises(InputError, match="checkpoint must be a file path, got NoneType"):
        ldcsr_core.convert_checkpoint(None, tmp_path / "c.safetensors")
    with pytest.raises(InputError, match="the output path is empty"):
        ldcsr_core.convert_checkpoint(out, "")


def test_hints_name_the_python_parameter_beside_the_cli_flag(tiny, tmp_path):
    """selfcheck, adapt, upscale_window and convert_checkpoint told a Python caller only the CLI's
    --window, --nodata or --model (the convention of scene_windows' '--max-pixels; max_pixels= in Python')."""
    with pytest.raises(InputError, match=r"\(--window; window= in Python\)"):
        ldcsr_core.selfcheck(_image(70), 8, model=tiny, mode="fast")
    with pytest.raises(InputError, match="declare it: ldcsr --nodata VALUE; nodata=VALUE in Python; .*; or choose a window"):
        ldcsr_core.adapt(np.full((64, 64, 3), 40, np.uint8), 2, tiny, steps=1)
    fill = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    fill[:, :4, :4] = -3.4e38  # a fill value the file does not declare
    with dataset_from_array(fill) as ds, pytest.raises(InputError, match=r"ldcsr --nodata VALUE; nodata=VALUE in Python"):
        upscale_window(ds, model=tiny, scale=2, options=_FAST)
    ours = ldcsr_core.save_model(tiny, tmp_path / "ours.safetensors", name="t")
    with pytest.raises(ldcsr_core.CheckpointError, match=r"use it as it is \(--model; load_model\(path\) in Python\)"):
        ldcsr_core.convert_checkpoint(ours, tmp_path / "again.safetensors")


def test_the_building_blocks_refuse_arguments_of_the_wrong_kind_naming_them(tiny):
    """Before: Python's or torch's own errors, or nothing: TileProgress('a', 2) was made (its
    .fraction a TypeError), LatentNoise(channels='a') torch's "empty(): argument 'size' failed to
    unpack ...", run_plan(tiles=5) "'int' object is not iterable", a str output numpy's
    UFuncTypeError, RowMerger('plan'), noise=5 and window_signature((20, 20), tile) AttributeErrors,
    batch='a' int()'s ValueError, process_tiles(tiles=5) and TileProcessor.many([window]) TypeErrors,
    tile='a' taken without a word in diffusion mode."""
    from ldcsr_core.latent_noise import LatentNoise
    from ldcsr_core.tileplan import plan_tiles, window_signature
    from ldcsr_core.tiling import TileProcessor, process_tile, process_tiles

    plan = plan_tiles((20, 20), (40, 40))
    t = plan.tiles[0]
    win = np.zeros((t.read_y.size, t.read_x.size, 3), np.float32)
    out = np.zeros((t.write_y.size, t.write_x.size, 3), np.float32)
    rows = []

    def run(tiles):
        return ldcsr_core.run_plan(tiny, plan, None, lambda y0, r: rows.append(y0), mode="fast", tiles=tiles)

    cases = [
        (lambda: ldcsr_core.TileProgress("a", 2), "done must be a whole number of at least 0, got 'a'"),
        (lambda: ldcsr_core.TileProgress(1, "b"), "total must be a whole number of at least 0, got 'b'"),
        (lambda: ldcsr_core.TileProgress(3, 2), "done must be at most total"),
        (lambda: ldcsr_core.TileProgress(1, 1, t.read), "tile must be a Tile or None, got tuple"),
        (lambda: LatentNoise(0, channels="a"), "channels must be a whole number of at least 1, got 'a'"),
        (lambda: LatentNoise(0).window(0, 0, 0, 4.5, 4), r"h \(latent rows\) must be a whole number"),
        (lambda: run(5), r"tiles must be an iterable of \(tile, output\) pairs .*got int 5"),
        (lambda: run([t]), r"tiles must hold \(tile, output\) pairs, got Tile"),
        (lambda: run([(t, "x")]), "tile 0's output must be a 40×40×3 NumPy array of numbers .* got a str"),
        (lambda: run([(t, out[1:])]), r"tile 0's output must be a 40×40×3 .* got shape \(39, 40, 3\)"),
        (lambda: ldcsr_core.RowMerger((20, 20), lambda y0, r: None), "plan must be a TilePlan"),
        (lambda: process_tile(tiny, win, t, plan, mode="diffusion", noise=5), "noise must be a LatentNoise or None"),
        (lambda: TileProcessor(tiny, plan, mode="fast", batch="a"), "batch must be a whole number of at least 1"),
        (lambda: ldcsr_core.plan_for_model(tiny, (20, 20), (40, 40), tile="a", mode="diffusion"),
         "tile must be a whole number of at least 32"),
        (lambda: process_tiles(tiny, win, 5, plan, mode="fast"), "tiles must be a list of Tiles of the plan, got int"),
        (lambda: TileProcessor(tiny, plan, mode="fast").many([win]), r"items must hold \(read window, tile\) pairs"),
        (lambda: window_signature((20, 20), t), "plan must be a TilePlan"),
    ]
    for call, said in cases:
        with pytest.raises(InputError, match=said):
            call()
    assert rows == []  # nothing was merged or written
    run([(t, out)])  # the right kinds run: one tile of the plan, its rows written
    assert rows == [0]


def test_the_building_blocks_apply_upscales_one_scale_rule(tiny):
    """upscale refuses an output beyond ×8 or of the input's size on an axis (rules.output_shape); before,
    plan_tiles and plan_for_model planned ×20 and ×1, and run_plan ran them (a plan made by hand too)."""
    import dataclasses

    from ldcsr_core.tileplan import plan_tiles

    for out in ((400, 400), (40, 200)):
        with pytest.raises(InputError, match=r"exceeds the maximum scale 8 for input \(20, 20\)"):
            plan_tiles((20, 20), out)
        with pytest.raises(InputError, match="exceeds the maximum scale 8"):
            ldcsr_core.plan_for_model(tiny, (20, 20), out, mode="fast")
        with pytest.raises(InputError, match="exceeds the maximum scale 8"):
            ldcsr_core.upscale(np.zeros((20, 20, 3), np.uint8), out_shape=out, model=tiny, mode="fast")
    for out in ((20, 20), (160, 20)):  # ×1 on both axes or one: upscale's rule too
        for call in (lambda: plan_tiles((20, 20), out), lambda: ldcsr_core.plan_for_model(tiny, (20, 20), out)):
            with pytest.raises(InputError, match=rf"out_shape \({out[0]}, 20\) does not enlarge the input's "):
                call()
    made = dataclasses.replace(plan_tiles((20, 20), (160, 160)), out_shape=(200, 200))  # by hand
    with pytest.raises(InputError, match=r"plan: out_shape \(200, 200\) exceeds the maximum scale 8"):
        ldcsr_core.run_plan(tiny, made, lambda y, x, h, w: np.zeros((h, w, 3), np.float32), lambda y0, r: None,
                            mode="fast")


@pytest.mark.parametrize("name", ["\u3164", "\u3164\u3164", "\u2800", "\ufe0f"])
def test_a_model_name_drawn_as_nothing_is_refused(tiny, tmp_path, name):
    """Before: a name of Hangul fillers ('\u3164', a letter Python calls printable, the 'blank name' a paste brings),
    the braille blank or a variation selector alone was written, listed by ldcsr models under a name no one sees;
    now refused as a zero-width space is (its name said escaped), and kept where a visible character is in it."""
    with pytest.raises(InputError, match=rf"name is only blanks \({re.escape(ascii(name))}\): give the model a name"):
        ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name=name)  # said escaped: '\u3164', not 'ㅤ'
    assert not list(tmp_path.iterdir())
    assert ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name=f"a{name}").exists()


@pytest.mark.parametrize("name", ["\u200b", "\ufeff", "\u2060 \u200b"])
def test_a_model_name_of_invisible_characters_is_refused(tiny, tmp_path, name):
    """Before: save_model (ldcsr train --name) wrote a model named a zero-width space or a BOM, listed by ldcsr models
    and loaded with a name no one sees (' '.strip() catches blanks, not these); now refused as blanks are."""
    with pytest.raises(InputError, match=rf"name is only blanks \({re.escape(repr(name))}\): give the model a name"):
        ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name=name)
    assert not list(tmp_path.iterdir())
    assert ldcsr_core.save_model(tiny, tmp_path / "m.safetensors", name=f"a{name}").exists()  # a visible one in it
