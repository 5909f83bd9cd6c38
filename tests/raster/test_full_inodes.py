"""A disk with bytes free but no file entries (inodes) left: a write makes a few small files beside its raster (its
claim, part file, the marker before its rename), each an inode. Before: 'cannot write o.tif: no space left on device:
20.0 MB free', which the user cannot make sense of; now the line says the file entries are used up. Needs root to
mount a tmpfs with few inodes; skipped elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main


@pytest.fixture
def few_inodes(tmp_path):
    """A 20 MB tmpfs of ``n`` inodes (the folder itself is one), mounted at tmp_path/disk by ``mount(n)``."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def mount(n: int):
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=20m,nr_inodes={n}", "tmpfs", str(disk)],
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
