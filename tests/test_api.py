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
    (dict(out_shape=(10, 40)), "must be larger than the input"),
    (dict(scale=2, mode="magic"), "mode must be"),
])
def test_bad_arguments(tiny, kwargs, match):
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(InputError, match=match):
        ldcsr_core.upscale(img, model=tiny, **kwargs)


@pytest.mark.parametrize("image,match", [
    (np.zeros((1, 1, 3), np.uint8), "at least 4×4"),
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


def test_engine_never_imports_qt_or_napari():
    code = ("import sys, ldcsr_core, ldcsr_core.tiling, ldcsr_core.api, ldcsr_core.training.train, ldcsr_core.geo.pipeline, "
            "ldcsr_core.cli.commands; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', "
            "'PySide6', 'magicgui', 'superqt')]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
