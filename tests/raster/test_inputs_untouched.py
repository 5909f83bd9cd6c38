"""Never modify an input, nor write next to it: after runs of ``ldcsr upscale``, ``info`` and
``selfcheck`` and of the Python API on a GeoTIFF (with its own ``.aux.xml``, as QGIS leaves one),
a PNG and a VRT, the input folder holds the same names with the same bytes and times. (GDAL keeps
statistics in an ``.aux.xml``, or inside a VRT, when they were computed on a dataset it closes; the
engine opens inputs read-only and computes none. QGIS does: docs/qgis.md, *Files next to the input*.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio.shutil
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main
from ldcsr_core.errors import InputError
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

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


@pytest.mark.parametrize("sidecar", [".msk", ".ovr"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_an_input_named_as_a_sidecar_of_the_output_is_refused_and_kept(rasters, tiny_model, tiny_model_file,
                                                                         tmp_path, sidecar, overwrite):
    """``ldcsr upscale o.tif.msk -o o.tif --overwrite``: the output's write removes the sidecars of the file
    it replaces (GDAL would read them as part of the new ``o.tif``), and ``o.tif.msk`` is the input. Before,
    the run said '1 written' (exit 0) and the input was gone; now refused before any work, exit 2, as an
    output that is a file the input reads (a VRT's source) is; so is ``upscale_raster``'s."""
    src = Path(shutil.copy(rasters["gray"], tmp_path / f"o.tif{sidecar}"))
    vrt = tmp_path / "v.vrt"
    rasterio.shutil.copy(src, vrt, driver="VRT")  # reads o.tif<sidecar> as its source
    before = _listing(tmp_path)
    flag = ["--overwrite"] if overwrite else []
    for inp in (src, vrt):
        r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp, "-o", tmp_path / "o.tif", "-s", 2,
                                                       "--mode", "fast", "--model", tiny_model_file, *flag]])
        assert r.exit_code == 2, r.output
        assert f"{src} is " in r.output and f"sidecar of the output {tmp_path / 'o.tif'}" in r.output, r.output
        with pytest.raises(InputError, match="inputs are never overwritten"):
            upscale_raster(inp, tmp_path / "o.tif", model=tiny_model, scale=2,
                           options=UpscaleOptions(mode="fast"), output=OutputOptions(overwrite=overwrite))
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("name, says", [(".o.tif.abcdefgh.ldcsr-part", "named as a part file of"),
                                        ("o.tif.aux.xml.set-aside", "a sidecar of {o} kept aside")])
def test_an_input_named_as_a_file_the_output_s_write_removes_is_refused_and_kept(rasters, tiny_model_file,
                                                                                   tmp_path, name, says):
    """A write of ``o.tif`` removes the part files a killed run left for it and, with ``--overwrite``, the sidecars
    kept aside beside it. Before, an input by such a name (a dead run's unfinished output, given to be made again) was
    removed: the part file by the clean-up, then 'Error: [Errno 2] No such file or directory' (exit 5); the set-aside
    one by the write, '1 written' (exit 0)."""
    src = shutil.copy(rasters["gray"], tmp_path / name)
    before = _listing(tmp_path)
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", src, "-o", tmp_path / "o.tif", "-s", 2, "--mode",
                                                   "fast", "--model", tiny_model_file, "--overwrite"]])
    assert r.exit_code == 2, r.output
    assert says.format(o=tmp_path / "o.tif") in r.output and "inputs are never overwritten" in r.output, r.output
    assert _listing(tmp_path) == before
