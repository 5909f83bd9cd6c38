"""A disk with bytes free but no file entries (inodes) left: a write makes a few small files beside its raster (its
claim, part file, the marker before its rename), each an inode. Before: 'cannot write o.tif: no space left on device:
20.0 MB free', which the user cannot make sense of; now the line says the file entries are used up. Needs root to
mount a tmpfs with few inodes; skipped elsewhere."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main


@pytest.fixture
def few_inodes(tmp_path):
    """A tmpfs of ``n`` inodes (the folder itself is one) and ``size`` (20 MB), mounted at tmp_path/disk by
    ``mount(n)``."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def mount(n: int, size: str = "20m"):
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={n}", "tmpfs", str(disk)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(n)
        return disk

    yield mount
    if mounted:
        subprocess.run(["umount", str(disk)], check=False)


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_no_file_entries_left_is_said_and_the_old_output_kept(few_inodes, rasters, tiny_model_file):
    up = ("upscale", rasters["gray"], "--mode", "fast", "--device", "cpu", "--model", tiny_model_file)
    disk = few_inodes(3)  # the folder, the claim and the part: no entry for the marker its rename needs
    r = _run(*up, "-o", disk / "o.tif", "-s", 2.5, "--overwrite")
    assert r.exit_code == 5, r.output
    assert f"cannot write {disk / 'o.tif'}: no space left on device: its file entries (inodes) are used up" in r.output
    assert list(disk.iterdir()) == []
    disk = few_inodes(5)
    assert _run(*up, "-o", disk / "o.tif", "-s", 2).exit_code == 0
    old = (disk / "o.tif").read_bytes()
    (disk / "o.tif.aux.xml").write_text("<PAMDataset/>\n")
    r = _run(*up, "-o", disk / "o.tif", "-s", 2.5, "--overwrite")
    assert r.exit_code == 5 and "file entries (inodes) are used up" in r.output, r.output
    assert (disk / "o.tif").read_bytes() == old and (disk / "o.tif.aux.xml").exists()
    assert sorted(p.name for p in disk.iterdir()) == ["o.tif", "o.tif.aux.xml"]


def test_a_disk_whose_bytes_are_used_up_is_not_said_to_lack_file_entries(tmp_path, monkeypatch):
    """XFS and ZFS count as many file entries left as the bytes free hold: a full XFS says 3 left. Before: a write
    that filled such a disk said 'its file entries (inodes) are used up (3 left, 0 bytes free)', not its bytes; the
    entries are said only with 1 MB free or more (a tmpfs of few inodes: test above)."""
    from ldcsr_core import files

    entries, free = [3], [0]
    monkeypatch.setattr(files, "_file_entries_left", lambda folder: entries[0])
    monkeypatch.setattr(files, "free_bytes", lambda folder: free[0])
    full = OSError(errno.ENOSPC, "No space left on device")
    said = str(files.write_error(tmp_path / "o.tif", full, 12 << 20))
    assert said == f"cannot write {tmp_path / 'o.tif'}: no space left on device: 0 bytes free, the output needs about " \
                   "12.0 MiB uncompressed", said
    free[0] = 20 << 20
    assert "its file entries (inodes) are used up (3 left, 20.0 MiB free)" in str(files.write_error(tmp_path / "o.tif",
                                                                                                    full))


@pytest.mark.parametrize("n", [1, 2])
def test_no_file_entry_for_the_part_file_or_the_free_space_probe_is_said_alike(few_inodes, rasters, tiny_model_file, n):
    """A fresh write where the free-space probe (n=1: the folder takes the one entry) or the part file (n=2) finds no
    entry. Before: 'cannot write to DISK: No space left on device', with 20 MB free; now as every write's ENOSPC
    (files.write_error)."""
    disk = few_inodes(n)
    r = _run("upscale", rasters["gray"], "--mode", "fast", "--device", "cpu", "--model", tiny_model_file,
             "-o", disk / "o.tif", "-s", 2)
    assert r.exit_code == 5, r.output
    assert f"cannot write {disk / 'o.tif'}: no space left on device: its file entries (inodes) are used up" in r.output
    assert list(disk.iterdir()) == []


def test_a_full_disk_refusing_the_output_and_its_spread_file_says_what_each_needs(few_inodes, rasters, tiny_model_file):
    """A 512 KiB disk with no file entry left (under 1 MiB free: said as a full disk) for a run writing the output and
    its spread file (--samples 2). Before: '… 512.0 KiB free, the output needs about 214.5 KiB uncompressed', the two
    files' sum as the output's; now each file's size."""
    disk = few_inodes(1, size="512k")
    r = _run("upscale", rasters["gray"], "--model", tiny_model_file, "--device", "cpu", "-s", 4, "--samples", 2,
             "-o", disk / "o.tif")
    said = " ".join(r.output.split())
    assert r.exit_code == 5, r.output
    assert (f"cannot write {disk / 'o.tif'} and its spread file o_spread.tif: no space left on device: 512.0 KiB free, "
            "the output needs about 42.9 KiB and its spread file about 171.6 KiB uncompressed") in said, said
    assert list(disk.iterdir()) == []
