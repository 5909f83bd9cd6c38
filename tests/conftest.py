"""Shared fixtures: locating ../shared (golden vectors, data) next to the checkout."""

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


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return require_shared("golden")
