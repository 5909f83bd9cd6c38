"""Helpers the tests import (``from suite_helpers import ...``): a module of its own, not conftest.py,
whose name is not unique in the suite (tests/qgis has a conftest.py of its own, imported by the same
name ``conftest`` in one pytest run with it: ``from conftest import small_device`` then found QGIS's)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("LDCSR_SHARED", REPO.parent / "shared"))


def require_shared(*parts: str) -> Path:
    """Path under ../shared; skip when absent, but fail on CI (CI=true) where it must exist."""
    p = shared_dir().joinpath(*parts)
    if not p.exists():
        msg = f"{p} is not available (set LDCSR_SHARED to the shared folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " — required on CI")
        pytest.skip(msg)
    return p


def small_device(monkeypatch, model, max_pixels: int, error=None) -> list:
    """Make ``model``'s windows above ``max_pixels`` output pixels fail as a device with little memory
    would (``error``: default CUDA's ``OutOfMemoryError``). Returns the list of window sizes tried."""
    import torch

    sizes = []
    real = type(model).run_window

    def limited(self, lr, win, **kw):
        sizes.append(win.y.out_len * win.x.out_len)
        if win.y.out_len * win.x.out_len > max_pixels:
            raise error or torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, lr, win, **kw)

    monkeypatch.setattr(type(model), "run_window", limited)
    return sizes


def evaluate_says_first(monkeypatch, args) -> tuple:
    """Run ``ldcsr ARGS`` (an evaluate) with each image's scoring announced on stderr ("scoring an
    image"), then again with Ctrl-C at its first image: both runs' results (exit 0, exit 130), for
    tests of what evaluate says before it scores."""
    import click
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.training import evaluate as ev

    scored = ev.reduced_resolution

    def scoring(*a, **kw):
        click.echo("scoring an image", err=True)
        return scored(*a, **kw)

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(ev, "reduced_resolution", scoring)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    monkeypatch.setattr(ev, "reduced_resolution", interrupted)
    stopped = CliRunner().invoke(main, args)
    assert stopped.exit_code == 130 and "interrupted" in stopped.stderr, stopped.output
    return r, stopped
