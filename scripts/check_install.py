"""The package as users get it: build the wheel, install it (not editable) with its dependencies into
a fresh venv, and run it from outside the checkout.

    python scripts/check_install.py [--wheel dist/napari_ldcsr-0.1.0-py3-none-any.whl] [--work DIR]

Without ``--wheel`` it builds one with ``python -m build`` (``pip install build``). The venv gets
``$TORCH`` (default ``torch==2.13.0``) first, then the wheel with ``[napari]``, as README's Install
says. Then, in an empty folder: ``ldcsr --help``, ``models``, ``info``, ``upscale`` of a crop of the
sample scene in fast and diffusion mode (the pixels must equal those of this checkout's engine run
with the interpreter that runs the script), ``selfcheck``, ``npe2 validate napari-ldcsr``. Slow (a
few minutes, mostly pip), so not part of the test suite; tests/plugin/test_packaging.py checks what
the sdist and the wheel hold. Exits 1 at the first failed step.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, env=None) -> str:
    print("$", " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def _crop(src: Path, dst: Path) -> None:
    """An 80×64 window of the sample scene as its own GeoTIFF (small enough for diffusion on a CPU)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(src) as ds:
        window = Window(100, 120, 80, 64)
        profile = {**ds.profile, "width": 80, "height": 64, "transform": ds.window_transform(window), "tiled": False}
        for key in ("blockxsize", "blockysize"):
            profile.pop(key, None)
        with rasterio.open(dst, "w", **profile) as out:
            out.write(ds.read(window=window))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wheel", type=Path, help="an existing wheel (default: build one)")
    p.add_argument("--work", type=Path, help="folder for the build, the venv and the outputs (default: a temporary one)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="ldcsr-install-"))
    work.mkdir(parents=True, exist_ok=True)
    wheel = args.wheel.resolve() if args.wheel else None
    if wheel is None:
        _run([sys.executable, "-m", "build", "--outdir", work / "dist", ROOT], ROOT)
        wheel = next((work / "dist").glob("*.whl"))
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--clear", venv], work)
    py, ldcsr = venv / "bin" / "python", venv / "bin" / "ldcsr"
    _run([py, "-m", "pip", "install", *shlex.split(os.environ.get("TORCH", "torch==2.13.0"))], work)
    _run([py, "-m", "pip", "install", f"{wheel}[napari]"], work)
    _run([py, "-m", "pip", "check"], work)

    run = work / "run"  # not the checkout: only the installed package can be imported here
    run.mkdir(exist_ok=True)
    where = _run([py, "-c", "import ldcsr_core, napari_ldcsr; print(ldcsr_core.__file__, napari_ldcsr.__file__)"], run)
    assert all(Path(f).is_relative_to(venv) for f in where.split()), where
    _crop(ROOT / "napari_ldcsr" / "data" / "neon_osbs_029.tif", run / "small.tif")
    _run([ldcsr, "--help"], run)
    assert "[built-in, default]" in _run([ldcsr, "models"], run)
    _run([ldcsr, "info", "small.tif"], run)
    one = {"LDCSR_THREADS": "1"}
    import numpy as np
    import rasterio

    for mode in ("fast", "diffusion"):
        opts = ["upscale", "small.tif", "--scale", "2.5", "--mode", mode, "--seed", "3", "--overwrite"]
        _run([ldcsr, "-q", *opts, "-o", f"installed_{mode}.tif"], run, one)
        _run([sys.executable, "-m", "ldcsr_core.cli", "-q", *opts, "-o", f"checkout_{mode}.tif"], run,
             {**one, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])})
        with rasterio.open(run / f"installed_{mode}.tif") as a, rasterio.open(run / f"checkout_{mode}.tif") as b:
            same = np.array_equal(a.read(), b.read()) and a.transform == b.transform and a.crs == b.crs
        print(f"{mode}: installed and checkout pixels {'identical' if same else 'DIFFER'}", flush=True)
        if not same:
            sys.exit(1)
    _run([ldcsr, "selfcheck", "small.tif", "--scale", "2", "--mode", "fast"], run, one)
    assert "valid!" in _run([venv / "bin" / "npe2", "validate", "napari-ldcsr"], run)
    print(f"the installed package works ({wheel.name}; in {work})")


if __name__ == "__main__":
    main()
