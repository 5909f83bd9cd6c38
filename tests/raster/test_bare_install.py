"""Packaging: the engine, `ldcsr` and Dask workers need neither napari nor any Qt binding."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUI = ("napari", "pyqt5", "pyqt6", "pyside2", "pyside6", "qtpy", "magicgui", "superqt", "vispy")
# import name -> distribution that provides it (only where they differ)
DIST = {"PIL": "pillow", "yaml": "pyyaml"}


def _names(reqs) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() for r in reqs}


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_napari_and_qt_are_extras():
    proj = _project()
    required = _names(proj["dependencies"])
    assert not required & {"napari", "pyqt5", "pyqt6", "pyside2", "pyside6"}, required
    extras = proj["optional-dependencies"]
    assert {"napari", "pyqt6"} <= _names(extras["napari"])
    assert _names(extras["qt"]) == {"pyqt6"}
    assert "dask" in _names(extras["cluster"])


def test_every_engine_import_is_a_required_dependency():
    """Each third-party module imported anywhere in ldcsr_core is a required dependency (or, for
    dask/distributed, the cluster extra), and none is a GUI package."""
    proj = _project()
    allowed = _names(proj["dependencies"]) | {"affine"}  # affine: rasterio's own dependency
    cluster = {"dask", "distributed"}
    seen = set()
    for py in (ROOT / "src" / "ldcsr_core").rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(), str(py))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for m in mods:
                top = m.split(".")[0]
                if top in sys.stdlib_module_names or top == "ldcsr_core":
                    continue
                seen.add(top)
                dist = DIST.get(top, top).lower()
                assert dist not in GUI, f"{py.name} imports {m}"
                assert dist in allowed or dist in cluster, f"{py.name} imports {m} ({dist})"
    assert {"torch", "numpy", "rasterio", "click"} <= seen


GUARD = '''
import importlib.abc, sys
BLOCKED = {blocked!r}
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0].lower() in BLOCKED:
            raise ImportError(f"{{name}} is blocked: the bare install has no GUI stack")
        return None
sys.meta_path.insert(0, _Block())
'''


@pytest.mark.slow
def test_cli_and_dask_worker_run_with_gui_packages_blocked(rasters, tiny_model_file, tmp_path):
    """`ldcsr upscale --dask local:1` end to end while importing napari/Qt/magicgui raises, in the
    client and (through sitecustomize, inherited by every process) in the Dask worker."""
    pytest.importorskip("distributed")
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD.format(blocked=set(GUI) | {"pyqt5"}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(guard)] + [p for p in sys.path if p])
    probe = subprocess.run([sys.executable, "-c", "import napari"], env=env, capture_output=True,
                           text=True)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the guard is active
    out = tmp_path / "o.tif"
    r = subprocess.run([sys.executable, "-m", "ldcsr_core.cli", "upscale", str(rasters["gray"]),
                        "-o", str(out), "-s", "2", "--mode", "fast", "--model", str(tiny_model_file),
                        "--device", "cpu", "--dask", "local:1"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.exists() and "1 written" in r.stderr
    h = subprocess.run([sys.executable, "-m", "ldcsr_core.cli", "--help"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert h.returncode == 0 and "upscale" in h.stdout


def test_python_m_napari_ldcsr_without_napari_says_how_to_install_it(tmp_path):
    """`python -m napari_ldcsr` on the bare install (no napari, no Qt binding): one line naming
    the [napari] extra and a non-zero exit, no traceback."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD.format(blocked=set(GUI) | {"pyqt5"}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(guard)] + [p for p in sys.path if p])
    r = subprocess.run([sys.executable, "-m", "napari_ldcsr", "--no-sample"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and 'pip install napari PyQt6' in r.stderr, r.stderr[-2000:]
