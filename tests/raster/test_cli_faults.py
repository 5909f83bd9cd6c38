"""Nothing reported written unless it is, and right results or a clear refusal (issues 20 and 26).

One table of real faults against ``ldcsr upscale`` / ``ldcsr info``: full disks (the process's file
size limit, ``ulimit -f``, and a small tmpfs where this machine lets us mount one), outputs that
cannot fit, truncated inputs, a VRT whose source is missing, stale outputs of another request, and
output paths that must be refused. Each row gives the exit status, the one line it must print,
and checks that nothing was left at the output path (no part file either) and the input is intact.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from . import forked
from .conftest import UTM33, cli_here, sha256, write_tif

# each test's runs load the tiny model once (conftest.model_loaded_once): none of them tests the loading
pytestmark = pytest.mark.usefixtures("model_loaded_once")

FAST = ["--mode", "fast"]


def noise_tif(path: Path, size: int = 256, seed: int = 0) -> Path:
    """RGB noise: its super-resolved output hardly compresses (about 0.96 of its raw size)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (3, size, size)).astype(np.uint8)
    from rasterio.enums import ColorInterp

    return write_tif(path, data, dtype="uint8",
                     colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue])


def truncated_tif(path: Path) -> Path:
    good = path.with_name("whole.tif")
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, (3, 512, 512)).astype(np.uint8)
    with rasterio.open(good, "w", driver="GTiff", width=512, height=512, count=3, dtype="uint8",
                       tiled=True, blockxsize=256, blockysize=256, compress="deflate", crs=UTM33,
                       transform=from_origin(600000.0, 5340000.0, 10.0, 10.0)) as ds:
        ds.write(data)
    raw = good.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    good.unlink()
    return path


def vrt(path: Path, source: str, size: int) -> Path:
    """A VRT of ``size``² pixels reading band 1 of ``source`` (which may be missing)."""
    path.write_text(f"""<VRTDataset rasterXSize="{size}" rasterYSize="{size}">
  <SRS>EPSG:32633</SRS>
  <GeoTransform>600000, 10, 0, 5340000, 0, -10</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="1">{source}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="64" ySize="64"/>
      <DstRect xOff="0" yOff="0" xSize="64" ySize="64"/>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
""")
    return path


@dataclass
class Case:
    """``setup(tmp, model)`` makes the inputs and returns ``(args, output path or None)``."""

    setup: Callable
    code: int
    says: tuple[str, ...]
    fsize_limit: int | None = None  # ulimit -f for the run, in bytes
    stdout: tuple[str, ...] = ()
    keeps_output: bool = False  # an output there before the run must be left as it was
    quiet: bool = True  # run with -q (only the error line)
    # then the same run without the limit (in this process) writes a whole, readable file of this size
    # (bands, height, width), over the limit: the limit was the cause
    then_without_limit: tuple[int, int, int] | None = None
    extra: dict = field(default_factory=dict)


def _full_after_precheck(tmp, model):
    src = noise_tif(tmp / "noise.tif")
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 2, *FAST, "--model", model], tmp / "out.tif"


def _cannot_fit(tmp, model):
    src = noise_tif(tmp / "noise.tif")
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 4, *FAST, "--model", model], tmp / "out.tif"


def _huge_vrt(tmp, model):
    noise_tif(tmp / "small.tif", size=64)
    src = vrt(tmp / "big.vrt", "small.tif", 1_000_000)
    # 8 000 000² px at x8: 58 TiB uncompressed; refused before any compute.
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 8, *FAST, "--model", model], tmp / "out.tif"


def _truncated(tmp, model):
    src = truncated_tif(tmp / "trunc.tif")
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 2, *FAST, "--model", model], tmp / "out.tif"


def _cut_in_half(tmp, model, driver, name, seed):
    """A whole 96² picture written by ``driver``, then only its first half kept, as ``cut.<name>``."""
    data = np.random.default_rng(seed).integers(0, 256, (3, 96, 96)).astype(np.uint8)
    good = tmp / f"whole.{name}"
    with rasterio.open(good, "w", driver=driver, width=96, height=96, count=3, dtype="uint8") as ds:
        ds.write(data)
    raw = good.read_bytes()
    good.unlink()
    src = tmp / f"cut.{name}"
    src.write_bytes(raw[: len(raw) // 2])
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 2, *FAST, "--model", model], tmp / "out.tif"


def _truncated_png(tmp, model):
    # GDAL reads a damaged PNG whole without an error (and different garbage each time)
    return _cut_in_half(tmp, model, "PNG", "png", 2)


def _truncated_jpeg(tmp, model):
    return _cut_in_half(tmp, model, "JPEG", "jpg", 3)


def _undeclared_fill(tmp, model):
    # a float DEM whose corner holds float32's minimum, not declared as nodata: the stretch would
    # squeeze the terrain into one grey level (before: -2e36..0 m written, exit 0)
    dem = (np.add.outer(np.arange(48), np.arange(48)) * 4 + 300).astype(np.float32)[None]
    dem[:, :16, :16] = np.finfo(np.float32).min
    src = write_tif(tmp / "dem.tif", dem, dtype="float32")
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 2, *FAST, "--model", model], tmp / "out.tif"


def _one_pixel(tmp, model):
    # ldcsr_core.upscale refuses under 4x4 px (rules.MIN_INPUT_SIDE); the raster path wrote a 2x2
    # "super-resolution" of one pixel, exit 0 (before)
    src = write_tif(tmp / "dot.tif", np.full((3, 1, 1), 100), dtype="uint8")
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 2, *FAST, "--model", model], tmp / "out.tif"


def _vrt_missing_source(tmp, model):
    src = vrt(tmp / "scene.vrt", "gone.tif", 64)
    return ["upscale", src, "-o", tmp / "out.tif", "-s", 2, *FAST, "--model", model], tmp / "out.tif"


def _earlier_run(args) -> None:
    """The run whose output a row starts from: in this process (the row's own run is the real
    command, in a child), and it must have written its output."""
    from .conftest import cli_here

    r = cli_here(args)
    assert r.exit_code == 0, r.output


def _stale_other_source(tmp, model):
    a, b = noise_tif(tmp / "a.tif", 32, seed=1), noise_tif(tmp / "b.tif", 32, seed=2)
    out = tmp / "out.tif"
    _earlier_run(["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model])
    return ["upscale", b, "-o", out, "-s", 2, *FAST, "--model", model], out


def _stale_other_bands(tmp, model):
    a = noise_tif(tmp / "a.tif", 32, seed=1)
    out = tmp / "out.tif"
    _earlier_run(["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model])
    return ["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model, "--bands", "3,2,1"], out


def _stale_other_stretch(tmp, model):
    a = noise_tif(tmp / "a.tif", 32, seed=1)
    out = tmp / "out.tif"
    _earlier_run(["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model])
    return ["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model, "--stretch", "percentile"], out


def _stale_source_changed(tmp, model):
    a = noise_tif(tmp / "a.tif", 32, seed=1)
    out = tmp / "out.tif"
    _earlier_run(["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model])
    noise_tif(a, 32, seed=3)  # same name and size, new content
    os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 10**9))
    return ["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model], out


def _same_request_resumes(tmp, model):
    a = noise_tif(tmp / "a.tif", 32, seed=1)
    out = tmp / "out.tif"
    _earlier_run(["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model])
    return ["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model], out


def _fast_other_seed_resumes(tmp, model):
    # fast mode ignores the seed: another --seed is the same request
    a = noise_tif(tmp / "a.tif", 32, seed=1)
    out = tmp / "out.tif"
    _earlier_run(["upscale", a, "-o", out, "-s", 2, *FAST, "--model", model])
    return ["upscale", a, "-o", out, "-s", 2, *FAST, "--seed", 7, "--model", model], out


def _empty_output(tmp, model):
    return ["upscale", noise_tif(tmp / "a.tif", 32), "-o", "", "-s", 2, *FAST], None


def _missing_folder_slash(tmp, model):
    return ["upscale", noise_tif(tmp / "a.tif", 32), "-o", f"{tmp}/missing_folder/", "-s", 2,
            *FAST], tmp / "missing_folder"


def _png_name(tmp, model):
    return ["upscale", noise_tif(tmp / "a.tif", 32), "-o", tmp / "x.png", "-s", 2, *FAST], tmp / "x.png"


def _info_missing_destination(tmp, model):
    return ["info", noise_tif(tmp / "small.tif", size=32), "-s", 2, "-o", tmp / "nodir" / "o.tif"], None


def _info_free_space(tmp, model):
    noise_tif(tmp / "small.tif", size=64)
    return ["info", vrt(tmp / "big.vrt", "small.tif", 1_000_000), "-s", 8, "-o", tmp / "o.tif"], None


CASES = {
    # The file size limit is reached mid-run: the pre-check passes (1/4 of 0.79 MB < 0.4 MB), the
    # output compresses to ~0.75 MB, the first block row past 0.4 MB fails.
    "write fails mid-run (ulimit -f)": Case(_full_after_precheck, 5, ("cannot write", "out.tif",
                                                                       "file size limit"),
                                            fsize_limit=400_000, then_without_limit=(3, 512, 512)),
    "cannot fit even compressed (ulimit -f)": Case(_cannot_fit, 5, ("out.tif", "file size limit",
                                                                    "3.0 MiB"),
                                                   fsize_limit=400_000),
    "1 000 000² x8 cannot fit the disk": Case(_huge_vrt, 5, ("not enough space for out.tif",
                                                           "TiB uncompressed", "free")),
    "truncated GeoTIFF": Case(_truncated, 5, ("trunc.tif is truncated or damaged",
                                              "could not read tile")),
    "truncated PNG": Case(_truncated_png, 5, ("cut.png is truncated or damaged",)),
    # before: 'cannot read cut.jpg: libjpeg: ... (this error can be turned as a warning by setting
    # GDAL_ERROR_ON_LIBJPEG_WARNING to FALSE)', which would write the missing part grey
    "truncated JPEG": Case(_truncated_jpeg, 5, ("cut.jpg is truncated or damaged: libjpeg: Premature end",)),
    "undeclared fill value": Case(_undeclared_fill, 3, ("band 1", "-3.403e+38", "nodata")),
    "1x1 raster": Case(_one_pixel, 3, ("the raster is 1 px wide and 1 px high", "at least 4×4")),
    "VRT with a missing source": Case(_vrt_missing_source, 5, ("scene.vrt", "gone.tif")),
    "stale output of another source": Case(_stale_other_source, 4, ("another request", "out.tif",
                                                                    "--overwrite"),
                                           keeps_output=True),
    "stale output of other --bands": Case(_stale_other_bands, 4, ("another request",),
                                          keeps_output=True),
    "stale output of other --stretch": Case(_stale_other_stretch, 4, ("another request",),
                                            keeps_output=True),
    "stale output of a changed source": Case(_stale_source_changed, 4, ("another request",),
                                             keeps_output=True),
    "fast mode, another --seed, is skipped": Case(_fast_other_seed_resumes, 0, ("1 skipped",),
                                                  keeps_output=True, quiet=False),
    "same request is skipped": Case(_same_request_resumes, 0, ("complete output already there",
                                                               "1 skipped"),
                                    keeps_output=True, quiet=False),
    "-o ''": Case(_empty_output, 2, ("output path is empty",)),
    "-o missing_folder/": Case(_missing_folder_slash, 2, ("output folder does not exist",)),
    "-o x.png": Case(_png_name, 2, ("not a GeoTIFF name", ".tif")),
    "info: a destination folder that does not exist": Case(_info_missing_destination, 0, (),
                                                           stdout=("folder does not exist",
                                                                   "upscale would refuse")),
    "info: free space of the destination": Case(_info_free_space, 0, (),
                                                stdout=("destination:", "free",
                                                        "upscale would refuse")),
}


def _ldcsr(args, fsize_limit=None, cwd=None, quiet=True):
    """The real command in a process of its own (:mod:`.forked`), its stderr as a user sees it: the
    file size limit (ulimit -f) is that process's alone, the test process keeps writing its files."""
    return forked.run(["-m", "ldcsr_core.cli", *(["-q"] if quiet else []), *args], cwd=cwd,
                      fsize_limit=fsize_limit, timeout=300)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "ldcsr-part" in p.name)


@pytest.mark.parametrize("name", list(CASES))
def test_fault_matrix(name, tmp_path, tiny_model_file):
    case = CASES[name]
    work = tmp_path / "w"
    work.mkdir()
    args, out = case.setup(work, tiny_model_file)
    inputs = {p: sha256(p) for p in work.iterdir() if p.is_file() and p != out}
    before = sha256(out) if out is not None and out.is_file() else None
    r = _ldcsr(args, case.fsize_limit, cwd=work, quiet=case.quiet)
    err_lines = [ln for ln in r.stderr.splitlines() if ln.startswith("Error")]
    assert r.returncode == case.code, r.stderr
    assert "Traceback" not in r.stderr
    if case.code not in (0,):
        assert len(err_lines) == 1, r.stderr
        # -q: our one line alone (click adds its usage lines to 2); before, libtiff's raw
        # "_tiffWriteProc: File too large." lines came too
        if case.quiet and case.code != 2:
            assert r.stderr.splitlines() == err_lines, r.stderr
        for s in case.says:
            assert s in err_lines[0], r.stderr
    else:
        for s in case.says:
            assert s in r.stderr, r.stderr
    for s in case.stdout:
        assert s in r.stdout, r.stdout
    if out is not None:
        if case.keeps_output:
            assert sha256(out) == before  # the earlier output is untouched
        else:
            assert not out.exists(), f"{out} was left behind"
    assert _leftovers(work) == []
    assert not any(p.name.endswith("_sr.tif") for p in work.iterdir())
    for p, digest in inputs.items():  # no input modified
        assert sha256(p) == digest, p
    if case.then_without_limit:  # the failed run left nothing in the way of a later one
        r = cli_here(args)
        assert r.exit_code == 0, r.output
        assert out.stat().st_size > case.fsize_limit  # so the limit really was in the way
        with rasterio.open(out) as ds:
            assert ds.read().shape == case.then_without_limit


def _small_tmpfs(path: Path, size: str) -> bool:
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)
    return r.returncode == 0


def _said_free(line: str) -> float:
    said = re.search(r"device: ([\d.]+) (bytes|KiB|MiB) free", line)
    return float(said.group(1)) * {"bytes": 1, "KiB": 2 ** 10, "MiB": 2 ** 20}[said.group(2)]


def test_full_tmpfs_disk(tmp_path, tiny_model_file):
    """A real full filesystem (a 600 KiB tmpfs) where the machine allows mounting one: refused up
    front when even 4:1 compression cannot fit; when only compression could make it fit, the
    write fails mid-run with ENOSPC and nothing is left."""
    disk = tmp_path / "disk"
    if not _small_tmpfs(disk, "600k"):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission); "
                    "the ulimit -f rows of the fault matrix cover the same paths")
    try:
        src = noise_tif(tmp_path / "noise.tif")
        r = _ldcsr(["upscale", src, "-o", disk / "x4.tif", "-s", 4, *FAST, "--model", tiny_model_file])
        assert r.returncode == 5 and "not enough space for x4.tif" in r.stderr, r.stderr
        r = _ldcsr(["upscale", src, "-o", disk / "x2.tif", "-s", 2, *FAST, "--model", tiny_model_file])
        assert r.returncode == 5, r.stderr
        line = [ln for ln in r.stderr.splitlines() if ln.startswith("Error")]
        assert r.stderr.splitlines() == line, r.stderr  # not libtiff's "_tiffWriteProc: No space ..."
        assert len(line) == 1 and "no space left on device" in line[0] and "x2.tif" in line[0], r.stderr
        assert list(disk.iterdir()) == []
        # the free space said is what the user then finds (before: "0 bytes free", measured while
        # the unfinished file still filled the disk)
        assert _said_free(line[0]) >= 0.8 * shutil.disk_usage(disk).free, line[0]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_full_tmpfs_disk_with_a_spread_file(tmp_path, tiny_model_file):
    """--samples on a full disk (a 200 KiB tmpfs): the output and its spread file fail together and
    both part files go, so the free space said is what the user then finds. Before: the other
    file's unfinished part counted as used ('272.0 KiB free' of an empty 600 KiB disk)."""
    disk = tmp_path / "disk"
    if not _small_tmpfs(disk, "200k"):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
    try:
        src = noise_tif(tmp_path / "noise.tif", size=128)
        r = _ldcsr(["upscale", src, "-o", disk / "s.tif", "-s", 1.3, "--mode", "diffusion", "--samples", 2,
                    "--device", "cpu", "--model", tiny_model_file])
        assert r.returncode == 5 and r.stderr.startswith("Error: cannot write") and "no space" in r.stderr, r.stderr
        assert list(disk.iterdir()) == []
        assert _said_free(r.stderr) >= 0.8 * shutil.disk_usage(disk).free, r.stderr
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.parametrize("err, says", [(MemoryError(), "out of memory: free memory"),
                                       (RuntimeError("could not create a primitive"),
                                        "out of memory (could not create a primitive)")])
def test_out_of_memory_is_said_in_words(tmp_path, tiny_model_file, monkeypatch, err, says):
    """Under ulimit -v: before, 'Error: MemoryError: MemoryError (run ldcsr -v ...)' or oneDNN's
    'RuntimeError: could not create a primitive', which do not say what ran out."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main, upscale_cmd

    def no_memory(*a, **k):
        raise err

    monkeypatch.setattr(upscale_cmd, "_load_model", no_memory)
    src = noise_tif(tmp_path / "a.tif", 32)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", *FAST])
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1 and says in lines[0] and "--tile" in lines[0], r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]


def test_an_input_this_user_may_not_read_is_exit_5(tmp_path, tiny_model_file, monkeypatch):
    """The exit table's 'permission denied' (5, the engine's one line). Before: click refused such an
    input first as a usage error, exit 2 'Path 'in.tif' is not readable.' (upscale, info, selfcheck,
    adapt), while one in a folder given to upscale failed in the engine's words. Root reads anything:
    the file is made unreadable for os.access, which click and the engine both ask."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    src = noise_tif(tmp_path / "in.tif", size=32)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(src) else real_access(p, mode, **kw))
    model = ["--model", str(tiny_model_file), "--device", "cpu"]
    for args in (["info", src], ["upscale", src, "-o", tmp_path / "o.tif", "-s", 2, *FAST, *model],
                 ["selfcheck", src, "-s", 2, *FAST, *model], ["adapt", src, "-s", 2, "-o", tmp_path / "a.safetensors", *model]):
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 5, (args[0], r.output)
        assert r.output.strip().splitlines()[-1] == f"Error: cannot read {src}: permission denied", r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_an_input_that_is_a_broken_link_or_a_loop_says_so_exit_5(tmp_path, tiny_model_file):
    """The exit table's 'a broken link or a link loop' (5, the engine's one line, as of such a link
    in a folder of inputs). Before: upscale, info, selfcheck and adapt given it by name refused it as
    missing, exit 2 'input not found: gone.tif' (a name ls shows; a loop is not missing). A name
    with nothing at it stays exit 2 'input not found'."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    (tmp_path / "gone.tif").symlink_to(tmp_path / "moved.tif")
    (tmp_path / "loop.tif").symlink_to("loop.tif")
    says = {"gone.tif": f"Error: input is a broken link: {tmp_path / 'gone.tif'} -> {tmp_path / 'moved.tif'} (not found)",
            "loop.tif": f"Error: input is a link that leads back to itself (a loop): {tmp_path / 'loop.tif'} -> loop.tif"}
    model = ["--model", str(tiny_model_file), "--device", "cpu"]
    for name, line in says.items():
        src = tmp_path / name
        for args in (["info", src], ["upscale", src, "-o", tmp_path / "o.tif", "-s", 2, *FAST, *model],
                     ["selfcheck", src, "-s", 2, *FAST, *model],
                     ["adapt", src, "-s", 2, "-o", tmp_path / "a.safetensors", *model]):
            r = CliRunner().invoke(main, [str(a) for a in args])
            assert r.exit_code == 5, (args[0], r.output)
            assert r.output.strip().splitlines()[-1] == line, r.output
    r = CliRunner().invoke(main, ["info", str(tmp_path / "nothing.tif")])
    assert r.exit_code == 2 and "input not found" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone.tif", "loop.tif"]


def test_an_input_folder_this_user_may_not_read_is_said_in_the_engines_words(tmp_path, tiny_model_file, monkeypatch):
    """Before: upscale listed the folder first and said errno's words, exit 5 '[Errno 13] Permission
    denied: 'in'', where a file says 'cannot read in.tif: permission denied' (files.check_readable).
    Root reads anything: os.access refuses the folder and listing it raises as it would for a user."""
    from pathlib import Path

    from click.testing import CliRunner

    from ldcsr_core.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    noise_tif(folder / "a.tif", size=32)
    real_access, real_iterdir = os.access, Path.iterdir
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(folder) else real_access(p, mode, **kw))

    def iterdir(p):
        if str(p) == str(folder):
            raise PermissionError(13, "Permission denied", str(p))
        return real_iterdir(p)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    r = CliRunner().invoke(main, ["upscale", str(folder), "-o", str(tmp_path / "out"), "-s", "2", *FAST,
                                  "--model", str(tiny_model_file), "--device", "cpu"])
    assert r.exit_code == 5, r.output
    assert r.output.strip().splitlines()[-1] == f"Error: cannot read {folder}: permission denied", r.output
