"""The package as users get it: build the wheel, install it (not editable) with its dependencies into
a fresh venv, and run it from outside the checkout.

    python scripts/check_install.py [--wheel dist/napari_ldcsr-0.1.0-py3-none-any.whl] [--work DIR]
        [--torch REQUIREMENT] [--torch-index-url URL]

Without ``--wheel`` it builds one with ``python -m build`` (``pip install build``). The venv gets
torch first (``--torch``, default ``$TORCH`` or ``torch==2.13.0``, the Makefile's), then the wheel with
``[napari]``, as README's Install says. On Linux, PyPI's torch is the CUDA build (several GB); for the
far smaller CPU build give PyTorch's CPU index: ``--torch-index-url https://download.pytorch.org/whl/cpu``
(pip's ``--index-url`` for torch only). Then, in an empty folder: ``ldcsr --help``, ``models``,
``info``, ``upscale`` of a crop of the sample scene in fast and diffusion mode (the pixels must equal
those of this checkout's engine run with the interpreter that runs the script), ``selfcheck``,
``npe2 validate napari-ldcsr``. Slow (a few minutes, mostly pip), so not part of the test suite;
tests/plugin/test_packaging.py checks what the sdist and the wheel hold, tests/test_check_install.py
its arguments. Exits 1 at the first failed step.
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
#: The torch installed first unless --torch or $TORCH says another: the Makefile's pin (README's newest tested)
DEFAULT_TORCH = "torch==2.13.0"
#: PyTorch's index of CPU-only builds (--torch-index-url): no CUDA libraries to download
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


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


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()),
                                epilog=f"Without a CUDA card: --torch-index-url {CPU_INDEX} (torch's CPU build).")
    p.add_argument("--wheel", type=Path, help="an existing wheel (default: build one)")
    p.add_argument("--work", type=Path, help="folder for the build, the venv and the outputs (default: a temporary one)")
    p.add_argument("--torch", default=os.environ.get("TORCH") or DEFAULT_TORCH, metavar="REQUIREMENT",
                   help="the torch that pip installs first, a requirement or pip arguments ('torch>=2.3,<3'; "
                        f"default: $TORCH, else {DEFAULT_TORCH}). From PyPI, Linux gets the CUDA build (several GB)")
    p.add_argument("--torch-index-url", metavar="URL",
                   help=f"the index pip installs torch from (pip's --index-url, for torch only): {CPU_INDEX} "
                        "for the CPU build, far smaller (default: pip's own index, PyPI)")
    return p.parse_args(argv)


def torch_install(args: argparse.Namespace) -> list[str]:
    """pip install's arguments for the torch ``args`` ask for: ``--torch`` split as a shell would, then
    ``--index-url URL`` for ``--torch-index-url``."""
    spec = shlex.split(args.torch)
    if not spec:
        raise SystemExit("--torch: give a requirement, e.g. torch==2.13.0")
    return spec + (["--index-url", args.torch_index_url] if args.torch_index_url else [])


def main(argv=None):
    args = parse_args(argv)
    torch = torch_install(args)  # before any work
    work = args.work or Path(tempfile.mkdtemp(prefix="ldcsr-install-"))
    work.mkdir(parents=True, exist_ok=True)
    wheel = args.wheel.resolve() if args.wheel else None
    if wheel is None:
        _run([sys.executable, "-m", "build", "--outdir", work / "dist", ROOT], ROOT)
        wheel = next((work / "dist").glob("*.whl"))
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--clear", venv], work)
    py, ldcsr = venv / "bin" / "python", venv / "bin" / "ldcsr"
    _run([py, "-m", "pip", "install", *torch], work)
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
