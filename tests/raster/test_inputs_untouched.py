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

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")


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
        # what the write does: removes it, or (before: 'whose write removes it' too) is refused while it is there
        says = "whose write removes it" if overwrite else "so the output is not written while it is there"
        assert says in " ".join(r.output.split()), r.output
        with pytest.raises(InputError, match=says):
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


@pytest.mark.parametrize("second", ["a_sr.tif.msk", ".a_sr.tif.abcdefgh.ldcsr-part", "a_sr.tif.aux.xml.set-aside"])
def test_an_input_named_as_a_file_another_input_s_write_removes_is_refused_and_kept(rasters, tiny_model_file,
                                                                                    tmp_path, second):
    """``ldcsr upscale in/a.tif out/a_sr.tif.msk -o out --overwrite``: a's write replaces out/a_sr.tif and removes
    its sidecars, its part files and its sidecars kept aside, and one of them is the second input. Before: each input's
    own files only were looked at, so a's write removed the second input before its turn ('failed ... input not
    found', exit 1; the input gone); now refused before any work, exit 2."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["gray"], inp / "a.tif")
    shutil.copy(rasters["rgba"], out / second)
    before = _listing(out)
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp / "a.tif", out / second, "-o", out, "-s", 2,
                                                   "--mode", "fast", "--model", tiny_model_file, "--overwrite"]])
    assert r.exit_code == 2, r.output
    assert f"{out / second} is an input and " in r.output and "inputs are never overwritten" in r.output, r.output
    assert _listing(out) == before


def _b_and_a_vrt_of_its_output(rasters, tiny_model_file, tmp_path, scale):
    """in/b.tif, its output out/b_sr.tif at ``scale``, and in/v.vrt reading that output."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["gray"], inp / "b.tif")
    cli = ["-s", scale, "--mode", "fast", "--model", tiny_model_file]
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp / "b.tif", "-o", out, *cli]])
    assert r.exit_code == 0, r.output
    try:
        from osgeo import gdal
    except ImportError:
        rasterio.shutil.copy(out / "b_sr.tif", inp / "v.vrt", driver="VRT")
    else:
        gdal.BuildVRT(str(inp / "v.vrt"), [str(out / "b_sr.tif")]).FlushCache()
    with rasterio.open(inp / "v.vrt") as ds:
        assert any(Path(f).name == "b_sr.tif" for f in ds.files)
    return inp, out, cli


def test_an_output_of_a_folder_run_that_another_input_reads_is_refused(rasters, tiny_model_file, tmp_path):
    """``ldcsr upscale in/b.tif in/v.vrt -o out --scale 2 --overwrite``, v.vrt reading out/b_sr.tif (an earlier ×3
    result). Before: each input's reads were compared with its own outputs only, so b's write replaced out/b_sr.tif
    before v was read: v_sr.tif of the new 2× file, its bottom third 0, exit 0. Now refused before any work, exit 2, in
    the single input's words (as ``v.vrt -o out/b_sr.tif``)."""
    inp, out, cli = _b_and_a_vrt_of_its_output(rasters, tiny_model_file, tmp_path, 3)
    before, kept = _listing(out), sha256(out / "b_sr.tif")
    for ins in ([inp / "b.tif", inp / "v.vrt"], [inp / "v.vrt", inp / "b.tif"], [inp]):
        r = CliRunner().invoke(main, [str(a) for a in ["upscale", *ins, "-o", out, *cli, "-s", 2, "--overwrite"]])
        assert r.exit_code == 2, r.output
        assert (f"output path is a file v.vrt reads: {out / 'b_sr.tif'} (inputs are never overwritten)"
                in " ".join(r.output.split())), r.output
        assert _listing(out) == before and sha256(out / "b_sr.tif") == kept
    (out / "b_sr.tif").unlink()  # not there yet: written without --overwrite too, so refused
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp / "b.tif", inp / "v.vrt", "-o", out, *cli, "-s", 2]])
    assert r.exit_code == 2 and "output path is a file v.vrt reads" in " ".join(r.output.split()), r.output
    assert not any(out.iterdir())


@pytest.mark.parametrize("scale, says", [(2, "skipped"), (3, "output exists from another request")])
def test_an_output_another_input_reads_that_is_there_is_not_refused_without_overwrite(rasters, tiny_model_file,
                                                                                        tmp_path, scale, says):
    """Without --overwrite an output there is never written: a complete one of this request is skipped (the same
    command run again, as the summary advises, to resume), another's fails in its own words; v.vrt reads it as it is.
    Before (a05daa3): 'output path is a file v.vrt reads: out/b_sr.tif', exit 2, nothing done, for a rerun that
    writes nothing v reads."""
    inp, out, cli = _b_and_a_vrt_of_its_output(rasters, tiny_model_file, tmp_path, scale)
    kept = sha256(out / "b_sr.tif")
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp / "b.tif", inp / "v.vrt", "-o", out, *cli, "-s", 2]])
    assert r.exit_code == (0 if scale == 2 else 1), r.output
    words = " ".join(r.output.split())
    assert "file v.vrt reads" not in words and says in words and "written" in words, r.output
    assert sha256(out / "b_sr.tif") == kept and (out / "v_sr.tif").is_file()


def test_the_files_a_vrt_reads_are_listed_once_for_its_outputs(tmp_path, monkeypatch):
    """GDAL stats each source of a VRT as it lists them; an output, its spread file and their sidecars are compared
    with one listing. Before: listed again for each output's every check (7 listings of 1001 files: 2.3 s for two
    outputs, where 0.3 s before those checks; /work/exp/h32/write32b/vrt_cost.py)."""
    from ldcsr_core.geo import pipeline, raster_io

    from .conftest import write_tif

    for i in range(20):
        write_tif(tmp_path / f"s{i}.tif", np.full((1, 8, 8), i, np.uint8), dtype="uint8")
    vrt = tmp_path / "m.vrt"
    rasterio.shutil.copy(tmp_path / "s0.tif", vrt, driver="VRT")
    text = vrt.read_text()
    source = text[text.index("<SimpleSource>"):text.index("</SimpleSource>") + len("</SimpleSource>")]
    vrt.write_text(text.replace(source, "".join(source.replace("s0.tif", f"s{i}.tif") for i in range(20))))
    listed, files_read = [], raster_io.files_read
    monkeypatch.setattr(raster_io, "files_read", lambda src: listed.append(1) or files_read(src))
    with rasterio.open(vrt) as ds:
        pipeline.check_not_read(ds, [tmp_path / "o.tif", tmp_path / "o_spread.tif"])
        assert len(listed) == 1
        with pytest.raises(InputError, match="output path is a file m.vrt reads"):  # and they are still compared
            pipeline.check_not_read(ds, [tmp_path / "o.tif", tmp_path / "s19.tif"])


def test_the_reads_of_an_input_that_fails_its_checks_refuse_no_other_output(rasters, tiny_model_file, tmp_path):
    """``ldcsr upscale in/b.tif in/v.vrt -o out --bands 1,2,3 --overwrite``, v.vrt (one band: refused by --bands, so
    never read) reading out/b_sr.tif: b is done and v fails in its own words. Before: v's reads, listed before its
    checks failed, refused b's output: 'output path is a file v.vrt reads', exit 2, nothing done."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["rgba"], inp / "b.tif")
    cli = ["--bands", "1,2,3", "--mode", "fast", "--model", tiny_model_file]
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp / "b.tif", "-o", out, "-s", 3, *cli]])
    assert r.exit_code == 0, r.output
    with rasterio.open(out / "b_sr.tif") as ds:
        w, h = ds.width, ds.height
    (inp / "v.vrt").write_text(
        f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">{out / "b_sr.tif"}</SourceFilename><SourceBand>1</SourceBand>'
        '</SimpleSource></VRTRasterBand></VRTDataset>')
    with rasterio.open(inp / "v.vrt") as ds:
        assert ds.count == 1 and any(Path(f).name == "b_sr.tif" for f in ds.files)
    kept = sha256(out / "b_sr.tif")
    r = CliRunner().invoke(main, [str(a) for a in ["upscale", inp / "b.tif", inp / "v.vrt", "-o", out, "-s", 2, *cli,
                                                   "--overwrite"]])
    words = " ".join(r.output.split())
    assert r.exit_code == 1 and "file v.vrt reads" not in words, r.output
    assert "1 written" in words and "1 failed" in words and "v.vrt" in words, r.output
    assert sha256(out / "b_sr.tif") != kept and not (out / "v_sr.tif").exists()
