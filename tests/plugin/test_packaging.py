"""The manifest ships inside a plain (non-editable) install and validates with npe2."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen

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


def test_the_manifest_reader_claims_the_engines_raster_names():
    """napari.yaml's filename_patterns are the engine's RASTER_SUFFIXES (what ldcsr upscale reads), one list."""
    import yaml
    from ldcsr_core.rules import RASTER_SUFFIXES

    (reader,) = yaml.safe_load((ROOT / "napari.yaml").read_text())["contributions"]["readers"]
    assert reader["filename_patterns"] == [f"*{s}" for s in RASTER_SUFFIXES]


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


def _stand_in_weights(tree: Path) -> None:
    """The shipped weights in ``tree`` made a few bytes each, same names: which files a build takes does
    not depend on their bytes, and their ~48 MB were compressed and unpacked at every build (half of
    test_sdist_and_the_wheel_built_from_it's time). Their bytes are checked by
    tests/test_checkpoints_our_format.py (sha256.json)."""
    for weights in (tree / "src" / "ldcsr_core" / "weights").glob("*.safetensors"):
        weights.unlink()
        weights.write_bytes(b"stand-in")


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
    for name in ("pyproject.toml", "napari.yaml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    if not (src / "README.md").exists():
        (src / "README.md").write_text("napari-ldcsr\n")
    shutil.copytree(ROOT / "napari_ldcsr", src / "napari_ldcsr", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "src", src / "src", symlinks=True, ignore=ignore)
    _stand_in_weights(src)
    assert (src / "napari_ldcsr" / "napari.yaml").is_symlink()  # the repo layout, as committed

    venv = tmp_path / "venv"
    # this environment's pip installs into the venv (pip --python), so the venv needs no pip of its own;
    # pip before 22.3 (Ubuntu 22.04's venvs have 22.0.2) has no --python: the venv's own pip, as before
    elsewhere = tuple(map(int, re.findall(r"\d+", version("pip"))[:2])) >= (22, 3)
    _run([sys.executable, "-m", "venv", *(["--without-pip"] if elsewhere else []), venv], tmp_path)
    py = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", py] if elsewhere else [py, "-m", "pip"]
    _run([*pip, "install", "--no-deps", "--no-cache-dir", src], tmp_path)  # plain, non-editable
    site = Path(_run([py, "-c", "import napari_ldcsr, os; print(os.path.dirname(napari_ldcsr.__file__))"], tmp_path).strip())
    assert site.is_relative_to(venv)  # imported from the venv holding nothing else
    shipped = site / "napari.yaml"
    assert shipped.is_file() and not shipped.is_symlink()
    assert shipped.read_text() == (ROOT / "napari.yaml").read_text()
    assert (site / "data" / "neon_osbs_029.tif").stat().st_size > 100_000
    # npe2 (and its dependencies) are this environment's, on the venv's path after its own packages:
    # installing them into the venv was over half of the test's time. A .pth line adds a folder, not
    # the .pth files in it, so this environment's editable napari_ldcsr is not importable there, and
    # the distribution npe2 reads is the venv's (asserted).
    (site.parent / "zz_this_environment.pth").write_text(str(Path(npe2.__file__).parents[1]) + "\n")
    where = "import importlib.metadata as m, npe2; print(m.distribution('napari-ldcsr').locate_file(''), npe2.__file__)"
    dist, used_npe2 = map(Path, _run([py, "-c", where], tmp_path).split())
    assert dist == site.parent and used_npe2 == Path(npe2.__file__)
    out = _run([py, "-m", "npe2", "validate", "napari-ldcsr"], tmp_path)
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


def _tracked_tree(dest: Path) -> Path:
    """The files a clean clone has (tracked plus untracked-not-ignored), symlinks as links."""
    res = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True)
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    for rel in filter(None, res.stdout.decode().split("\0")):
        src, dst = ROOT / rel, dest / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


@pytest.mark.slow
def test_sdist_and_the_wheel_built_from_it(tmp_path):
    """What pip gets: the sdist of a clean checkout holds the whole source (full test suite, QGIS
    plugin, licence), and the wheel built from that sdist holds the packages with the manifest,
    the sample and its licence, the weights and their credits, the licence, and nothing else."""
    import tarfile
    import zipfile

    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} < 77 (pyproject's build requirement)")
    tree = _tracked_tree(tmp_path / "tree")
    _stand_in_weights(tree)
    out = tmp_path / "dist"
    out.mkdir()
    build = ("import sys; from setuptools import build_meta as b; "
             "print(getattr(b, sys.argv[1])(sys.argv[2]))")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    run = lambda *a, cwd: subprocess.run([sys.executable, "-c", build, *a], cwd=cwd, env=env,  # noqa: E731
                                         capture_output=True, text=True, timeout=300)
    r = run("build_sdist", str(out), cwd=tree)
    assert r.returncode == 0, r.stderr[-3000:]
    sdist = out / r.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp_path / "unpacked", filter="tar")
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    tracked = {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}
    for rel in tracked:
        if rel.startswith(("tests/", "qgis_ldcsr/", "napari_ldcsr/", "src/")) or rel in ("LICENSE", "napari.yaml"):
            assert rel in names, f"{rel} is missing from the sdist"
    assert not [n for n in names if n.endswith((".pyc", ".aux.xml")) or n.startswith((".venv", "build/", "dist/"))]

    # What a used source tree holds besides its files (a checkout `pip install .` builds from): GDAL's
    # .aux.xml beside the sample (written when statistics are computed), part files of a copy
    # cut short, a stray JSON beside the weights. None of it is package data.
    unpacked = next((tmp_path / "unpacked").iterdir())
    for rel in ("napari_ldcsr/data/neon_osbs_029.tif.aux.xml", "napari_ldcsr/data/neon_osbs_029.tif.part",
                "src/ldcsr_core/weights/notes.json", "src/ldcsr_core/weights/x.safetensors.part"):
        (unpacked / rel).write_text("stray")
    r = run("build_wheel", str(out), cwd=unpacked)
    assert r.returncode == 0, r.stderr[-3000:]
    # the data folders are package data, not packages setuptools warns it "would ignore"
    assert "would be ignored" not in r.stdout + r.stderr, r.stderr[-3000:]
    wheel = out / r.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = zf.read(info).decode()
        manifest = zf.read("napari_ldcsr/napari.yaml").decode()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"ldcsr_core", "napari_ldcsr"}
    assert manifest == (ROOT / "napari.yaml").read_text()
    weights = {Path(n).name for n in names if n.startswith("ldcsr_core/weights/")}
    shipped = {p.name for p in (ROOT / "src" / "ldcsr_core" / "weights").iterdir() if p.suffix == ".safetensors"}
    assert shipped and weights == shipped | {"README.md", "sha256.json"}
    data = {n for n in names if n.startswith("napari_ldcsr/data/")}
    assert data == {"napari_ldcsr/data/neon_osbs_029.tif", "napari_ldcsr/data/NEON_OSBS_029_LICENSE.txt"}
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert not [n for n in names if n.endswith((".pyc", ".aux.xml")) or "/tests/" in n]
    assert wheel.stat().st_size < 3 * 2**20  # nothing big (the weights, ~46 MB compressed, are stand-ins here)
