"""Never modify an input, nor write next to it: after runs of ``ldcsr upscale``, ``info`` and
``selfcheck`` and of the Python API on a GeoTIFF (with its own ``.aux.xml``, as QGIS leaves one),
a PNG and a VRT, the input folder holds the same names with the same bytes and times. (GDAL keeps
statistics in an ``.aux.xml``, or inside a VRT, when they were computed on a dataset it closes; the
engine opens inputs read-only and computes none. QGIS does: docs/qgis.md, *Files next to the input*.)"""

from __future__ import annotations

import shutil

import numpy as np
import rasterio.shutil
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

from .conftest import sha256


def _listing(folder):
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns, sha256(p)) for p in sorted(folder.iterdir())}


def test_runs_leave_the_input_folder_as_it_was(rasters, tiny_model, tiny_model_file, tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    tif = shutil.copy(rasters["uint16_nodata"], inp / "s.tif")
    (inp / "s.tif.aux.xml").write_text('<PAMDataset><Metadata><MDI key="K">v</MDI></Metadata></PAMDataset>\n')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(inp / "p.png")
    rasterio.shutil.copy(tif, inp / "v.vrt", driver="VRT")
    before = _listing(inp)
    runs = [["-q", "upscale", inp, "-o", out, "-s", 2, "--mode", "fast", "--model", tiny_model_file]]
    for name in ("s.tif", "p.png", "v.vrt"):
        runs += [["info", inp / name], ["-q", "selfcheck", inp / name, "-s", 2, "--model", tiny_model_file]]
    for args in runs:
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 0, (args, r.output)
    for name in ("s.tif", "p.png", "v.vrt"):
        upscale_raster(inp / name, out / f"api_{name}.tif", model=tiny_model, scale=2,
                       options=UpscaleOptions(mode="fast"))
    assert _listing(inp) == before
    assert len(list(out.glob("*.tif"))) == 6
