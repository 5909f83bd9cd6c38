"""A write that fails only as GDAL closes the finished file (its last bytes, the TIFF directory with
the tags, cannot be written: the disk fills or the file size limit is reached there). GDAL says so
without raising; the check of the finished file finds it (``verify_geotiff``), and the one line then
says the cause, as for a failure mid-write, and names the output, never the hidden part file.
Before: ``cannot write out.tif: .out.tif.xxxxxxxx.ldcsr-part does not read back: ...
TIFFReadDirectory:Failed to read directory at offset ...``, and for the size limit or a disk whose
part file held more than 1 MB, no word of the cause. (Exit 5 and nothing left, then as now.)"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from .conftest import cli_here, write_tif
from .test_cli_faults import _ldcsr, _leftovers, _small_tmpfs

# uncompressed, with a tag of this many characters: the directory GDAL writes last holds it, so
# the pixels fit below a limit that the directory crosses
BIG_TAG = 12_000


def _scene(path, size, seed=0, dtype="uint8"):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (3, size, size)) if dtype == "uint8" else rng.random((3, size, size))
    return write_tif(path, data, dtype=dtype, tags={"NOTE": "n" * BIG_TAG})


def _args(src, out, model):
    return ["upscale", src, "-o", out, "-s", 2, "--mode", "fast", "--compress", "none", "--model", model]


def _whole_size(tmp_path, src, model) -> int:
    """The size of the whole output, written once without a limit (and removed; in this process)."""
    ref = tmp_path / "ref" / "out.tif"
    ref.parent.mkdir()
    r = cli_here(_args(src, ref, model))
    assert r.exit_code == 0, r.output
    size = ref.stat().st_size
    ref.unlink()
    return size


def _one_line(r, *says):
    assert r.returncode == 5, r.stderr
    assert r.stderr.splitlines() == [ln for ln in r.stderr.splitlines() if ln.startswith("Error")], r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and "ldcsr-part" not in line and "does not read back" not in line, line
    for s in says:
        assert s in line, line


def test_the_file_size_limit_reached_by_the_last_bytes_is_said(tmp_path, tiny_model_file):
    src = _scene(tmp_path / "s.tif", 48)
    whole = _whole_size(tmp_path, src, tiny_model_file)
    work = tmp_path / "w"
    work.mkdir()
    out = work / "out.tif"
    for short in (1, BIG_TAG // 2):  # no byte of the directory, or half of it, fits
        r = _ldcsr(_args(src, out, tiny_model_file), fsize_limit=whole - short)
        _one_line(r, f"cannot write {out}: the file size limit (ulimit -f)")
        assert not out.exists() and _leftovers(work) == []


def test_a_disk_that_fills_as_the_last_bytes_are_written_is_said(tmp_path, tiny_model_file):
    """A tmpfs a page short of the whole file (> 1 MB: its unfinished part file's space, free again
    once it is removed, is more than the 1 MB under which the disk is said to be full)."""
    # its 320 × 320 × 3 float32 pixels alone are 1.2 MB (as many bytes as 640² uint8 ones, a quarter
    # of the model's work)
    src = _scene(tmp_path / "s.tif", 160, dtype="float32")
    whole = _whole_size(tmp_path, src, tiny_model_file)
    assert whole > 1 << 20
    disk = tmp_path / "disk"
    if not _small_tmpfs(disk, str((whole - 1) // 4096 * 4096)):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission); the file size limit "
                    "test covers the same path")
    try:
        r = _ldcsr(_args(src, disk / "out.tif", tiny_model_file))
        _one_line(r, f"cannot write {disk / 'out.tif'}: no space left on device")
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_failure_with_its_own_cause_on_a_nearly_full_disk_says_that_cause(tmp_path):
    """A write that fails with an errno of its own (the name made a folder meanwhile: EISDIR) on a
    disk that happens to have under 1 MB free (a 2 MiB tmpfs, 1.5 MiB of it used) says that errno's
    words: the free space tells the cause only of a failure that says none (GDAL's). Before:
    'cannot write …/report.json: no space left on device: … free, the file is 2 bytes'. (A folder there
    before the write is refused up front, in the raster writers' words.)"""
    import errno
    import os
    import shutil

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.files import atomic_write_bytes, write_error

    disk = tmp_path / "disk"
    if not _small_tmpfs(disk, "2m"):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
    try:
        (disk / "other.bin").write_bytes(b"\0" * (3 << 19))
        assert shutil.disk_usage(disk).free < 1 << 20
        (disk / "report.json").mkdir()
        said = write_error(disk / "report.json", IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)), 2,
                           exact=True)  # the rename's failure onto a folder made meanwhile
        assert said.errno == errno.EISDIR and str(said) == f"cannot write {disk / 'report.json'}: Is a directory"
        with pytest.raises(RasterIOError) as ei:
            atomic_write_bytes(disk / "report.json", b"{}")
        assert ei.value.errno == errno.EISDIR, str(ei.value)
        assert str(ei.value) == f"output path is a folder: {disk / 'report.json'}"
        assert sorted(p.name for p in disk.iterdir()) == ["other.bin", "report.json"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)
