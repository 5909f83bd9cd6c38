"""The manifest ships inside a plain (non-editable) install and validates with npe2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_in_package_is_the_root_manifest():
    """napari_ldcsr/napari.yaml (what the entry point names) is the repo-root napari.yaml."""
    import yaml

    assert (ROOT / "napari_ldcsr" / "napari.yaml").read_text() == (ROOT / "napari.yaml").read_text()
    manifest = yaml.safe_load((ROOT / "napari.yaml").read_text())
    commands = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    import importlib

    for python_name in commands.values():  # every command points at a real callable
        module, attr = python_name.split(":")
        assert callable(getattr(importlib.import_module(module), attr))


def test_entry_point_modules_are_shims_of_the_rooms():
    """The manifest's module paths re-export the io room's functions (users' saved settings name them)."""
    import napari_ldcsr._reader
    import napari_ldcsr._sample
    import napari_ldcsr._writer
    from napari_ldcsr.io import _reader, _sample, _writer

    assert napari_ldcsr._reader.napari_get_reader is _reader.napari_get_reader
    assert napari_ldcsr._writer.write_geotiff is _writer.write_geotiff
    assert napari_ldcsr._sample.neon_osbs_sample is _sample.neon_osbs_sample


def test_npe2_finds_the_installed_plugin():
    from npe2 import PluginManager

    pm = PluginManager()
    pm.discover()
    mf = pm.get_manifest("napari-ldcsr")
    assert [w.display_name for w in mf.contributions.widgets] == ["LDCSR super-resolution"]
    assert [s.key for s in mf.contributions.sample_data] == ["neon_osbs"]
    assert mf.contributions.writers[0].layer_types == ["image"]


def _run(cmd, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, cwd=cwd, env=env)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


@pytest.mark.slow
def test_npe2_validate_after_plain_pip_install(tmp_path):
    """`pip install .` (not editable) into a fresh venv, then `npe2 validate napari-ldcsr`."""
    import npe2

    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "napari.yaml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    if not (src / "README.md").exists():
        (src / "README.md").write_text("napari-ldcsr\n")
    shutil.copytree(ROOT / "napari_ldcsr", src / "napari_ldcsr", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "src", src / "src", symlinks=True, ignore=ignore)
    assert (src / "napari_ldcsr" / "napari.yaml").is_symlink()  # the repo layout, as committed

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path)
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "--no-deps", "--no-cache-dir", src], tmp_path)  # plain, non-editable
    _run([py, "-m", "pip", "install", f"npe2=={npe2.__version__}"], tmp_path)
    site = Path(_run([py, "-c", "import napari_ldcsr, os; print(os.path.dirname(napari_ldcsr.__file__))"], tmp_path).strip())
    assert site.is_relative_to(venv)
    shipped = site / "napari.yaml"
    assert shipped.is_file() and not shipped.is_symlink()
    assert shipped.read_text() == (ROOT / "napari.yaml").read_text()
    assert (site / "data" / "neon_osbs_029.tif").stat().st_size > 100_000
    out = _run([venv / "bin" / "npe2", "validate", "napari-ldcsr"], tmp_path)
    assert "valid!" in out and "invalid" not in out.lower()


def test_plugin_imports_are_light():
    """Importing the plugin's modules loads neither torch nor the engine's model code (they load in
    the worker); only the torch-free rules of ``ldcsr_core`` are imported."""
    code = (
        "import sys, pkgutil, importlib, napari_ldcsr\n"
        "for m in pkgutil.walk_packages(napari_ldcsr.__path__, 'napari_ldcsr.'): importlib.import_module(m.name)\n"
        "heavy = sorted(m for m in ('torch', 'ldcsr_core.api', 'ldcsr_core.tiling', 'ldcsr_core.models') "
        "if m in sys.modules)\n"
        "print(heavy)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "[]"
    # and the pure modules need no Qt at all
    code = ("import sys, napari_ldcsr._geometry, napari_ldcsr.run._job, napari_ldcsr.run._region, "
            "napari_ldcsr.run._results, napari_ldcsr.compare._sidebyside, napari_ldcsr._viewer; "
            "print('qtpy' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.stdout.strip() == "False", res.stderr[-2000:]
