"""scripts/check_install.py's arguments (the script itself takes minutes of pip: not in the suite):
the torch it installs first, and the index it takes it from (PyTorch's CPU builds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def check_install(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    monkeypatch.delenv("TORCH", raising=False)
    import check_install

    return check_install


def test_the_torch_installed_first_is_an_option(check_install, monkeypatch):
    """Before: only $TORCH (not in --help) chose it, and PyPI's torch==2.13.0 is the CUDA build on Linux."""
    pip = check_install.torch_install
    assert pip(check_install.parse_args([])) == ["torch==2.13.0"]
    index = "https://download.pytorch.org/whl/cpu"
    assert pip(check_install.parse_args(["--torch-index-url", index])) == ["torch==2.13.0", "--index-url", index]
    assert pip(check_install.parse_args(["--torch", "torch>=2.3,<3", "--torch-index-url", index])) == \
        ["torch>=2.3,<3", "--index-url", index]
    monkeypatch.setenv("TORCH", "torch==2.5.1 --no-cache-dir")  # the earlier way, still taken
    assert pip(check_install.parse_args([])) == ["torch==2.5.1", "--no-cache-dir"]
    assert pip(check_install.parse_args(["--torch", "torch==2.13.0"])) == ["torch==2.13.0"]
    with pytest.raises(SystemExit, match="--torch: give a requirement"):
        pip(check_install.parse_args(["--torch", " "]))


def test_the_help_says_how_to_get_the_cpu_build():
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_install.py"), "--help"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    assert "--torch REQUIREMENT" in text and "--torch-index-url https://download.pytorch.org/whl/cpu" in text
    assert "default: $TORCH, else torch==2.13.0" in text
