"""upscale(): geometry, dtypes and clear errors for bad input."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import ldcsr_core
from ldcsr_core import InputError
from ldcsr_core.config import tiny_test_config


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=0)


@pytest.mark.parametrize("shape,scale,expected", [((20, 30), 2.5, (50, 75)), ((33, 17), 3.7, (122, 63)),
                                                  ((16, 16), (2.0, 3.0), (32, 48)), ((9, 9), 8, (72, 72))])
def test_output_geometry(tiny, shape, scale, expected):
    img = np.full(shape + (3,), 128, np.uint8)
    out = ldcsr_core.upscale(img, scale, model=tiny, mode="fast")
    assert out.shape == expected + (3,) and out.dtype == np.uint8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_in_float_out(tiny, dtype):
    img = np.random.default_rng(0).random((12, 14, 3)).astype(dtype)
    out = ldcsr_core.upscale(img, 2, model=tiny, mode="fast")
    assert out.dtype == dtype and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("mode", ["fast", "diffusion"])
def test_uniform_image_stays_uniform(mode):
    # a flat grey scene has nothing to sharpen: the shipped model must not invent structure
    model = ldcsr_core.load_model(device="cpu")
    out = ldcsr_core.upscale(np.full((24, 24, 3), 0.5, np.float32), 3, model=model, mode=mode, seed=1)
    assert out.shape == (72, 72, 3)
    assert np.abs(out - 0.5).max() < 2 / 255 and out.std() < 0.5 / 255


def test_seed_reproducible_and_seed_matters(tiny):
    img = np.random.default_rng(1).random((20, 20, 3)).astype(np.float32)
    a = ldcsr_core.upscale(img, 2.5, model=tiny, seed=3)
    b = ldcsr_core.upscale(img, 2.5, model=tiny, seed=3)
    c = ldcsr_core.upscale(img, 2.5, model=tiny, seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4


@pytest.mark.parametrize("kwargs,match", [
    (dict(scale=1.0), r"scale must be in \(1, 8\]"),
    (dict(scale=0.5), r"scale must be in \(1, 8\]"),
    (dict(scale=float("nan")), "scale must be"),
    (dict(scale=40), r"scale must be in \(1, 8\]"),
    (dict(scale="big"), "scale must be a number"),
    (dict(scale=2, out_shape=(40, 40)), "exactly one of scale and out_shape"),
    (dict(), "exactly one of scale and out_shape"),
    (dict(out_shape=(10, 40)), "does not enlarge the input's height"),
    (dict(scale=2, mode="magic"), "mode must be"),
    (dict(scale="2.5"), "scale must be a number"),  # a string is no number, even when it reads as one
    (dict(scale=b"2"), "scale must be a number"),
    (dict(out_shape=(40.9, 40.2)), "pair of whole numbers"),  # not truncated silently
    (dict(out_shape=("40", "40")), "pair of whole numbers"),
    (dict(scale=2, seed=None), "seed must be a whole number"),
    (dict(scale=2, seed=1.5), "seed must be a whole number"),  # 1.5 would have given seed 1's picture
    (dict(scale=2, seed=True), "seed must be a whole number"),
    (dict(scale=True), "scale must be a number, got True"),  # was taken as ×1: 'scale must be in (1, 8], got 1.0'
    (dict(scale=(2, np.bool_(True))), "scale must be a number, got np.True_|scale must be a number, got True"),
    (dict(scale=2, mode="fast", tile="64"), "tile must be a whole number"),
    (dict(scale=2, mode="fast", tile=33.5), "tile must be a whole number"),
    (dict(scale=2, mode="fast", tile=16), "at least 32"),
    (dict(scale=2, model="ldcsr-compact-rsscn7"), r"pass model=ldcsr_core.load_model\('ldcsr-compact-rsscn7'\)"),
])
def test_bad_arguments(tiny, kwargs, match):
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(InputError, match=match):
        ldcsr_core.upscale(img, **{"model": tiny, **kwargs})


def test_zero_dimensional_arrays_and_numpy_integers_are_numbers(tiny):
    img = np.random.default_rng(1).integers(0, 255, (12, 12, 3), dtype=np.uint8)
    ref = ldcsr_core.upscale(img, 2.5, model=tiny, mode="diffusion", seed=3)
    for scale, seed in ((np.array(2.5), np.int64(3)), (torch.tensor(2.5), np.array(3)), (np.float32(2.5), 3)):
        np.testing.assert_array_equal(ldcsr_core.upscale(img, scale, model=tiny, mode="diffusion", seed=seed), ref)


def test_masked_arrays_are_refused_rather_than_unmasked_silently(tiny):
    img = np.ma.masked_array(np.zeros((12, 12, 3), np.float32), mask=np.zeros((12, 12, 3), bool))
    with pytest.raises(InputError, match="masked arrays are not supported"):
        ldcsr_core.upscale(img, 2, model=tiny)


def test_building_blocks_refuse_what_upscale_would(tiny):
    from ldcsr_core.tileplan import plan_tiles
    from ldcsr_core.tiling import process_tile
    with pytest.raises(InputError, match=r"out_shape \(48, 48\) does not enlarge the input's height or width: 96 x"):
        plan_tiles((96, 96), (48, 48))
    plan = plan_tiles((20, 20), (40, 40))
    t = plan.tiles[0]
    good = np.zeros((t.read_y.size, t.read_x.size, 3), np.float32)
    assert process_tile(tiny, good, t, plan, mode="fast").shape == (t.write_y.size, t.write_x.size, 3)
    with pytest.raises(InputError, match="floats in \\[0, 1\\]"):
        process_tile(tiny, good.astype(np.uint8), t, plan, mode="fast")
    with pytest.raises(InputError, match="read window"):
        process_tile(tiny, good[1:], t, plan, mode="fast")


def test_process_tiles_takes_one_numpy_window_per_tile(tiny):
    from ldcsr_core.tileplan import plan_tiles
    from ldcsr_core.tiling import process_tiles
    plan = plan_tiles((20, 20), (40, 40))
    t = plan.tiles[0]
    good = np.zeros((t.read_y.size, t.read_x.size, 3), np.float32)
    with pytest.raises(InputError, match="one read window per tile, at least one: got 1 window for 2 tiles"):
        process_tiles(tiny, [good], [t, t], plan, mode="fast")  # zip() gave 1 output for 2 tiles
    with pytest.raises(InputError, match="got 0 windows for 0 tiles"):
        process_tiles(tiny, [], [], plan, mode="fast")  # numpy's 'need at least one array to stack'
    with pytest.raises(InputError, match=r"got a Tensor \(a NumPy array is needed\)"):
        process_tiles(tiny, [torch.from_numpy(good)], [t], plan, mode="fast")  # "Cannot interpret 'torch.float32'"


def test_plan_for_model_checks_its_mode_and_budget(tiny):
    from ldcsr_core.tiling import plan_for_model
    with pytest.raises(InputError, match="mode must be one of"):  # 'Diffusion' planned fast mode's windows
        plan_for_model(tiny, (40, 40), (80, 80), mode="Diffusion")
    for budget in (-1, 0, float("nan"), "512"):  # -1: 'int() argument must be ... not complex'
        with pytest.raises(InputError, match="budget_mb must be"):
            plan_for_model(tiny, (40, 40), (80, 80), budget_mb=budget)
    assert plan_for_model(tiny, (40, 40), (80, 80), budget_mb=64).out_shape == (80, 80)


@pytest.mark.parametrize("image,match", [
    (np.zeros((1, 1, 3), np.uint8), "at least 4×4"),
    (np.zeros((0, 0, 3), np.float32), "at least 4×4"),  # was numpy's 'zero-size array to reduction ...'
    (np.zeros((0, 12, 3), np.float64), "at least 4×4"),
    (np.zeros((20, 20), np.uint8), r"H×W×3"),
    (np.zeros((20, 20, 4), np.uint8), r"H×W×3"),
    (np.zeros((20, 20, 3), np.int32), "dtype must be uint8 or float"),
    (np.full((20, 20, 3), np.nan, np.float32), "NaN"),
    (np.full((20, 20, 3), 2.0, np.float32), r"must lie in \[0, 1\]"),
    ([[1, 2, 3]], "NumPy array"),
])
def test_bad_images(tiny, image, match):
    with pytest.raises(InputError, match=match):
        ldcsr_core.upscale(image, 2, model=tiny)


@pytest.mark.parametrize("image,hint", [
    # each said only what was wrong ('got shape (40, 48)', 'got uint16'), not what to do
    (np.zeros((40, 48), np.uint8), r"one band\? np.dstack\(\[image\] \* 3\) makes it grey RGB"),
    (np.zeros((40, 48, 1), np.uint8), r"one band\? np.dstack"),
    (np.zeros((40, 48, 7), np.uint8), r"7 bands\? the model takes three: pick them in R, G, B order"),
    (np.zeros((6, 40, 48), np.uint8), r"bands first\? np.moveaxis\(image, 0, -1\)"),
    (np.zeros((4, 40, 48), np.uint8), r"bands first\?"),
    (np.zeros((40, 48, 3), np.uint16), r"got uint16: scale it to \[0, 1\] yourself .*dataset_from_array\(image\)"),
    (np.zeros((40, 48, 3), np.int16), r"got int16: scale it to \[0, 1\]"),
    (np.zeros((40, 48, 3), bool), r"got bool: image.astype\(np.uint8\) \* 255"),
    (np.full((40, 48, 3), 200.0, np.float32), r"got values in \[200, 200\]: 0–255 levels\? divide them by 255"),
    (np.full((40, 48, 3), -0.5), r"got values in \[-0.5, -0.5\]: rescale them to \[0, 1\]"),
    # a sum's rounding just beyond 1 was said 'values in [1, 1]: 0–255 levels? divide them by 255' (a dark picture)
    (np.full((40, 48, 3), 1 + 1e-12), r"got values in \[1.000000000001, 1.000000000001\]: just beyond it "
                                      r"\(rounding\?\): np.clip\(image, 0, 1\) takes them in$"),
    (np.full((40, 48, 3), 1.001, np.float16), r"got values in \[1.00097656, 1.00097656\]: just beyond it"),
    (np.full((40, 48, 3), -1e-9), r"got values in \[-1e-09, -1e-09\]: just beyond it \(rounding\?\)"),
])
def test_refused_images_say_what_to_do(tiny, image, hint):
    with pytest.raises(InputError, match=hint):
        ldcsr_core.upscale(image, 2, model=tiny, mode="fast")


def test_the_integer_route_the_message_names_works(tiny):
    from ldcsr_core.geo.pipeline import upscale_window
    from ldcsr_core.geo.raster_io import dataset_from_array

    image = np.random.default_rng(0).integers(0, 4000, (40, 48, 3)).astype(np.uint16)
    out = upscale_window(dataset_from_array(image), model=tiny, scale=2)
    assert out.data.shape == (3, 80, 96) and out.data.dtype == np.uint16


def test_a_result_too_large_for_memory_is_refused_before_the_model_loads(tiny, monkeypatch):
    # numpy's MemoryError ('Unable to allocate 192.0 TiB ...') came from inside upscale after the
    # model had loaded. A broadcast view: an 8-million-pixel square input costs no memory.
    import ldcsr_core.api as api

    image = np.broadcast_to(np.uint8(7), (2**20, 2**20, 3))
    monkeypatch.setattr(api, "_default_model", lambda: pytest.fail("the shipped model was loaded"))
    with pytest.raises(InputError, match=r"the result, 8388608×8388608×3 uint8 \(192.0 TiB\), does not fit in "
                                         r"memory( \([^)]*free on this machine\))?: upscale a part .* write it to a GeoTIFF in strips"):
        ldcsr_core.upscale(image, 8, mode="fast")
    with pytest.raises(InputError, match=r"float32 ×2 \(.*\), does not fit in memory"):  # the K-sample path's mean and spread
        ldcsr_core.upscale(image, 8, samples=2)
    # Where the free memory is not known (not Linux), numpy's own refusal gives the same message.
    monkeypatch.setattr("ldcsr_core.host_memory.available_bytes", lambda: None)
    with pytest.raises(InputError, match=r"\(192.0 TiB\), does not fit in memory: upscale a part"):
        ldcsr_core.upscale(image, 8, mode="fast")


def test_errors_are_also_standard_exceptions():
    assert issubclass(InputError, ValueError) and issubclass(ldcsr_core.CheckpointError, KeyError)


def test_super_resolve_small_outputs_that_crash_the_official_code(tiny):
    lr = torch.rand(1, 3, 6, 9) * 2 - 1
    for size in [(15, 22), (36, 60), (7, 90)]:
        out = tiny.super_resolve(lr, size, generator=torch.Generator().manual_seed(0))
        assert out.shape == (1, 3) + size and torch.isfinite(out).all()


def test_super_resolve_rejects_bad_noise(tiny):
    lr = torch.rand(1, 3, 16, 16) * 2 - 1
    with pytest.raises(InputError, match="latent shape"):
        tiny.super_resolve(lr, (64, 64), noise=[torch.zeros(1, 4, 4, 4)] * 4)


# One fresh interpreter for the two import checks below: first what `import ldcsr_core` alone gives (the
# submodules the docs write reached as attributes, torch not imported yet), then the engine's modules
# imported and which GUI packages came with them. Each check's outcome is recorded, not asserted there,
# so that each test says its own.
_FRESH_IMPORTS = """
import json, sys, traceback
out = {}
try:
    import ldcsr_core
    ldcsr_core.rules.MAX_TILE_MARGIN
    assert 'torch' not in sys.modules
    ldcsr_core.tiling.process_tiles; ldcsr_core.geo.pipeline.upscale_raster; ldcsr_core.uncertainty.UpscaleSamples
    assert not hasattr(ldcsr_core, 'nope') and not hasattr(ldcsr_core.geo, 'nope')
    out['submodules'] = None
except BaseException:
    out['submodules'] = traceback.format_exc()
import ldcsr_core, ldcsr_core.tiling, ldcsr_core.api, ldcsr_core.training.train, ldcsr_core.geo.pipeline
import ldcsr_core.cli.commands
out['gui'] = [m for m in sys.modules if m.split('.')[0] in ('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6',
                                                            'magicgui', 'superqt')]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def fresh_imports():
    import json

    r = subprocess.run([sys.executable, "-c", _FRESH_IMPORTS], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_engine_never_imports_qt_or_napari(fresh_imports):
    assert fresh_imports["gui"] == []


def test_the_default_model_follows_ldcsr_dtype_set_between_calls(monkeypatch):
    """upscale(model=None) kept the default model of its first call: LDCSR_DTYPE set afterwards (a
    notebook comparing float32 with bfloat16) was ignored without a word, both runs in the first
    type. The type asked for now is part of the cached model's key."""
    from ldcsr_core import api
    from ldcsr_core.precision import model_dtype

    api._load_default_model.cache_clear()
    try:
        monkeypatch.setenv("LDCSR_DTYPE", "float32")
        first = api.resolve_model(None)
        monkeypatch.setenv("LDCSR_DTYPE", "bfloat16")
        assert model_dtype(api.resolve_model(None)) == "bfloat16" and model_dtype(first) == "float32"
        monkeypatch.setenv("LDCSR_DTYPE", "float32")
        assert api.resolve_model(None) is first  # still loaded once per type
    finally:
        api._load_default_model.cache_clear()


def test_threads_that_start_together_load_the_default_model_once(monkeypatch):
    import threading
    import time

    from ldcsr_core import api, checkpoints
    loads = []

    def slow_load(source=None, **kw):
        loads.append(source)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(checkpoints, "load_model", slow_load)
    api._load_default_model.cache_clear()
    try:
        got = []
        threads = [threading.Thread(target=lambda: got.append(api._default_model("cpu"))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(loads) == 1 and len({id(m) for m in got}) == 1
    finally:
        api._load_default_model.cache_clear()


def test_submodules_are_reached_as_the_docs_write_them(fresh_imports):
    # ENGINE_API writes ldcsr_core.tiling.process_tiles, ldcsr_core.geo.pipeline.upscale_raster,
    # ldcsr_core.rules.MAX_TILE_MARGIN after 'import ldcsr_core': each was an AttributeError in a
    # fresh process (a submodule is an attribute only once something imported it); checked in
    # _FRESH_IMPORTS before anything else is imported there
    assert fresh_imports["submodules"] is None, fresh_imports["submodules"]


def _modules_loaded_by_ldcsr(args: list[str], said: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` ``ldcsr ARGS`` (exit 0, ``said`` in its output) imports, in a fresh process."""
    code = ("import sys, contextlib, io\nfrom ldcsr_core.cli.commands import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    try:\n        main({args!r}, prog_name='ldcsr')\n"
            "    except SystemExit as e:\n        assert e.code == 0, e.code\n"
            f"assert {said!r} in out.getvalue(), out.getvalue()\n"
            f"print('loaded:', *[m for m in {modules!r} if m in sys.modules])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1].split()[1:]


def test_ldcsr_help_imports_neither_torch_nor_the_adaptation_engine():
    # `ldcsr --help` (which loads every command for its one-line help) and `ldcsr adapt` imported
    # ldcsr_core.adaptation with its fine-tuning and scene-hashing modules for one constant of
    # adapt's help text (MAX_ADAPT_SCALE): ~10 ms of CPU at start-up that commit aefbf26 did not
    # spend. The constant lives in rules now; adaptation loads when adapt runs.
    assert _modules_loaded_by_ldcsr(["adapt", "--help"], "up to ×2", (
        "torch", "ldcsr_core.adaptation", "ldcsr_core.finetune", "ldcsr_core.adapt_scene", "ldcsr_core.adapted_use")) == []


@pytest.mark.parametrize("args, said", [(["--version"], "ldcsr, version "), (["--help"], "Commands:")])
def test_ldcsr_version_and_help_import_no_heavy_library(args, said):
    """`ldcsr --version` and `ldcsr --help` imported NumPy (ldcsr_core.rules, for the CLI's limits): 271 and 234
    modules, CPU medians 220-240 and 200-220 ms on a busy 2-core machine; now 181 and 144 modules, 110-170 ms, and the
    same output (every command's --help too)."""
    assert _modules_loaded_by_ldcsr(args, said, ("torch", "numpy", "rasterio", "dask", "PIL", "safetensors",
                                                 "ldcsr_core.geo")) == []


def test_ldcsr_version_imports_neither_torch_nor_the_thread_rules_cgroup_and_mount_readers():
    # `ldcsr --version` imported ldcsr_core.cgroups and .mounts (the thread rule's CPU quota, read at the first tile)
    # and dataclasses (one replace() of a batch's options): 7 modules more than commit aefbf26 (cgroups, mounts,
    # dataclasses with copy and org.python.core's three tries). They load where they are used now. Only our own
    # modules are asserted: whether the standard library's dataclasses or copy load is click's and numpy's business.
    assert _modules_loaded_by_ldcsr(["--version"], "version", (
        "torch", "ldcsr_core.cgroups", "ldcsr_core.mounts")) == []
