"""What an output's write leaves beside it for another run (its marker, the old image's sidecars set aside, a
sidecar kept as .set-aside), and what that other run, or ldcsr info, does with it."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ldcsr_core import files
from ldcsr_core.output_claims import OutputClaim
from ldcsr_core.geo import raster_io as rio_io

OLD = {".aux.xml": b"<PAMDataset>old</PAMDataset>", ".ovr": b"old ovr"}
NEW = {".aux.xml": b"<PAMDataset>new</PAMDataset>", ".msk": b"new msk"}


def _left(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)}


@pytest.mark.parametrize("new_sidecars", [False, True])
def test_another_run_s_clean_up_across_a_live_overwrite_s_raster_rename_leaves_its_files_to_it(
        rasters, tmp_path, monkeypatch, caplog, new_sidecars):
    """A second run's stale-part clean-up (upscale_raster's, before it waits for the first run's claim) lists the
    part files while a live --overwrite's part is there (locked: none of its files stale), and the first run renames
    its raster before the clean-up removes what it found: nothing of the live run is removed, whether or not its new
    image has sidecars (the same rule, by its marker). Before: the clean-up listed the files again to remove them,
    found the old image's sidecars set aside (.old0, .old2) with no part file beside them (and, with new sidecars,
    the marker and those sidecars), removed them and warned 'removed N stale part files of o.tif left by an
    interrupted run' of a run that was alive; with new sidecars the live run then warned 'o.tif.aux.xml not put in
    place: No such file or directory' and the new image had lost its .aux.xml and .msk."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out = tmp_path / "o.tif"
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    for side, data in OLD.items():
        Path(f"{out}{side}").write_bytes(data)
    commit, replace, listed, cleared = GeoTiffWriter.commit, os.replace, files.stale_parts, []

    def commit_with_sidecars(self):
        for side, data in NEW.items():
            Path(f"{self.tmp_path}{side}").write_bytes(data)
        commit(self)

    def another_run_across_the_rename(src, dst, **kw):
        if Path(dst) != out or cleared:
            return replace(src, dst, **kw)

        def then_renamed(path):  # the clean-up's listing, then the live run's raster rename
            found = listed(path)
            if os.path.lexists(src):
                replace(src, dst, **kw)
            return found

        with monkeypatch.context() as m:
            m.setattr(files, "stale_parts", then_renamed)
            cleared.append(rio_io.clear_stale_parts(out))
        if os.path.lexists(src):
            replace(src, dst, **kw)

    if new_sidecars:
        monkeypatch.setattr(GeoTiffWriter, "commit", commit_with_sidecars)
    monkeypatch.setattr(os, "replace", another_run_across_the_rename)
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    monkeypatch.undo()
    assert cleared == [[]]
    assert "interrupted run" not in caplog.text and "not put in place" not in caplog.text
    new = {f"o.tif{side}": data for side, data in NEW.items()} if new_sidecars else {}
    assert _left(tmp_path) == {"o.tif": out.read_bytes(), **new}
    assert out.read_bytes() != Path(rasters["gray"]).read_bytes()


QGIS_PAM = b"<PAMDataset>QGIS style</PAMDataset>"


def _kept_aside_by_a_killed_overwrite(rasters, out: Path) -> Path:
    """``out`` (the gray raster, with :data:`OLD`'s sidecars) after kill -9 of an --overwrite before its raster's
    rename, QGIS's .aux.xml written since and the next run's clean-up: the old image's .aux.xml kept aside."""
    from .test_stale_parts import KILLED_AT_THE_RENAME, _env

    out.write_bytes(Path(rasters["gray"]).read_bytes())
    for side, data in OLD.items():
        Path(f"{out}{side}").write_bytes(data)
    r = subprocess.run([sys.executable, "-c", KILLED_AT_THE_RENAME, str(rasters["rgba"]), str(out), "before"],
                       env=_env(), capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    Path(f"{out}.aux.xml").write_bytes(QGIS_PAM)
    rio_io.clear_stale_parts(out)
    return out.parent / f"{out.name}.aux.xml.set-aside"


def test_a_sidecar_kept_aside_is_said_with_its_path_listed_by_info_and_removed_only_by_the_next_overwrite(
        rasters, tmp_path, monkeypatch, caplog):
    """kill -9 of an --overwrite before its raster's rename, then QGIS writes o.tif.aux.xml: the next run's clean-up
    keeps QGIS's and the old image's as o.tif.aux.xml.set-aside, and says where it is (its path); ldcsr info o.tif
    lists it; a clean-up and an --overwrite that fails (its rename) leave it; the next --overwrite that writes removes
    it once its new image is in place, saying so, and keeps one kept aside during that run (the new image's .aux.xml,
    QGIS's written again meanwhile). Before: the warning named no folder, info did not list it, and nothing ever
    removed it (it stayed beside the new image, inviting a rename that would give it the old image's metadata)."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo import sidecars
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out, qgis = tmp_path / "o.tif", QGIS_PAM
    kept = _kept_aside_by_a_killed_overwrite(rasters, out)
    assert _left(tmp_path) == {"o.tif": Path(rasters["gray"]).read_bytes(), "o.tif.aux.xml": qgis,
                               "o.tif.ovr": OLD[".ovr"], kept.name: OLD[".aux.xml"]}
    assert (f"the one that write had is now {kept} (rename it to o.tif.aux.xml to use it instead, or remove it; the "
            "next write of o.tif removes it)") in caplog.text
    monkeypatch.chdir(tmp_path)
    said = CliRunner().invoke(main, ["info", "o.tif"])
    assert said.exit_code == 0, said.output
    assert ("set aside:   o.tif.aux.xml.set-aside (a sidecar a write kept aside: rename it to o.tif.aux.xml to use "
            "it instead, or remove it)") in said.output.splitlines()

    replace = os.replace

    def failing(src, dst, **kw):
        if Path(dst) == out:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return replace(src, dst, **kw)

    with monkeypatch.context() as m:
        m.setattr(os, "replace", failing)
        with pytest.raises(RasterIOError, match="Input/output error"):
            rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    rio_io.clear_stale_parts(out)
    assert kept.read_bytes() == OLD[".aux.xml"] and out.read_bytes() == Path(rasters["gray"]).read_bytes()

    commit, settle = GeoTiffWriter.commit, sidecars._settle

    def commit_with_sidecars(self):
        for side, data in NEW.items():
            Path(f"{self.tmp_path}{side}").write_bytes(data)
        commit(self)

    def qgis_meanwhile(path, *args):  # the new image renamed, QGIS writes its .aux.xml before ours goes there
        Path(f"{out}.aux.xml").write_bytes(qgis)
        settle(path, *args)

    caplog.clear()
    monkeypatch.setattr(GeoTiffWriter, "commit", commit_with_sidecars)
    monkeypatch.setattr(sidecars, "_settle", qgis_meanwhile)
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    monkeypatch.undo()
    assert _left(tmp_path) == {"o.tif": out.read_bytes(), "o.tif.aux.xml": qgis, "o.tif.msk": NEW[".msk"],
                               "o.tif.aux.xml.set-aside-2": NEW[".aux.xml"]}
    assert out.read_bytes() != Path(rasters["gray"]).read_bytes()
    assert ("removed o.tif.aux.xml.set-aside beside o.tif: sidecars of the image there before, kept aside by an "
            "earlier write of it") in caplog.text


def test_a_sidecar_kept_aside_of_an_image_deleted_since_is_removed_by_a_new_output_of_its_name(
        rasters, tmp_path, caplog):
    """A sidecar kept aside (kill -9 of an --overwrite before its raster's rename, then QGIS's o.tif.aux.xml) whose
    image was deleted since, with its .aux.xml and .ovr, not the .set-aside: a new output of that name (no image there,
    so no --overwrite) removes it once its image is in place, as an --overwrite does, and says so in words true of
    either write. Before: it stayed beside the new image, listed by ldcsr info with the advice to rename it to
    o.tif.aux.xml, which would give the new image the deleted one's metadata (what 3c9d017 ended for --overwrite)."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    out = tmp_path / "o.tif"
    kept = _kept_aside_by_a_killed_overwrite(rasters, out)
    assert kept.read_bytes() == OLD[".aux.xml"] and Path(f"{out}.aux.xml").read_bytes() == QGIS_PAM
    assert "(rename it to o.tif.aux.xml to use it instead, or remove it; the next write of o.tif removes it)" \
        in caplog.text
    for side in ("", ".aux.xml", ".ovr"):  # the image deleted by hand, with the sidecars by its name
        Path(f"{out}{side}").unlink()
    caplog.clear()
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=False)
    assert _left(tmp_path) == {"o.tif": out.read_bytes()}
    assert ("removed o.tif.aux.xml.set-aside beside o.tif: sidecars of the image there before, kept aside by an "
            "earlier write of it") in caplog.text
    said = CliRunner().invoke(main, ["info", str(out)])
    assert said.exit_code == 0 and "set aside:" not in said.output, said.output


def _mountinfo(folder: Path, kind: str, at: Path) -> Path:
    """A mountinfo file: / on ext4, ``at`` (its spaces as the kernel writes them) on ``kind``."""
    at_field = str(at.resolve()).replace(" ", "\\040")
    text = ("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
            f"40 22 8:17 / {at_field} rw,relatime shared:2 - {kind} /dev/sdb1 rw,fmask=0022\n")
    (folder / "mountinfo").write_text(text)
    return folder / "mountinfo"


def test_renumbers_files_by_the_mount_of_a_file_s_folder(tmp_path):
    """FAT, exFAT and FUSE mounts are told from /proc/self/mountinfo by the longest mount point over the file's
    folder (a mount point with a space, as the kernel escapes it); other file systems, or none told, are not."""
    from ldcsr_core.file_names import renumbers_files

    stick = tmp_path / "my stick"
    (stick / "sub").mkdir(parents=True)
    for kind, renumbers in (("vfat", True), ("exfat", True), ("fuseblk", True), ("ext4", False), ("nfs4", False)):
        info = _mountinfo(tmp_path, kind, stick)
        assert renumbers_files(stick / "sub" / "o.tif", info) is renumbers
        assert renumbers_files(stick / "o.tif", info) is renumbers
        assert renumbers_files(tmp_path / "o.tif", info) is False  # on / (ext4): not under the stick
        assert renumbers_files(tmp_path / "my stickier" / "o.tif", info) is False
    assert renumbers_files(tmp_path / "o.tif", tmp_path / "missing") is False


def _remounted_then_cleared(out: Path, kind: str, tmp_path: Path, monkeypatch) -> None:
    """``out`` renumbered as a remount does (copied onto itself: the same bytes and times, another inode), its folder
    on a ``kind`` mount (a mountinfo of :func:`_mountinfo`), then the next run's clean-up."""
    from ldcsr_core import file_names

    number, renumbers = out.stat().st_ino, file_names.renumbers_files
    shutil.copy2(out, out.parent / "copy")
    os.replace(out.parent / "copy", out)
    assert out.stat().st_ino != number
    info = _mountinfo(tmp_path, kind, out.parent)
    monkeypatch.setattr(file_names, "renumbers_files", lambda path, mountinfo=info: renumbers(path, mountinfo))
    rio_io.clear_stale_parts(out)
    monkeypatch.undo()


KILLED_BEFORE_ITS_SIDECARS = 2  # KILLED_AT_A_STEP: an --overwrite without old sidecars, killed after its raster's rename


def test_a_killed_write_s_sidecars_go_beside_its_image_renumbered_by_a_remount_on_fat(rasters, tmp_path, monkeypatch):
    """kill -9 of an --overwrite (new .aux.xml and .msk) after its raster's rename, then the disk remounted: on FAT,
    exFAT or FUSE the image gets another inode number (copied here onto itself: its bytes under another inode), and
    the next run still knows it for the file its marker names (by its size and the digest of its ends) and puts the
    new sidecars beside it; elsewhere too (ext4: as in a copy of the folder on another disk), since 2026-12-07.
    Before: the marker's inode did not match, and the new image's .msk and .aux.xml were removed with the dead run's
    files (its mask lost; on ext4 until 2026-12-07)."""
    from .test_stale_parts import KILLED_AT_A_STEP, _env

    disk = tmp_path / "disk"
    out = disk / "o.tif"
    disk.mkdir()
    for kind in ("vfat", "ext4"):
        out.write_bytes(Path(rasters["gray"]).read_bytes())
        r = subprocess.run([sys.executable, "-c", KILLED_AT_A_STEP, str(rasters["rgba"]), str(out),
                            str(KILLED_BEFORE_ITS_SIDECARS), "old"], env=_env(), capture_output=True, timeout=120)
        assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
        new = out.read_bytes()
        assert new != Path(rasters["gray"]).read_bytes() and not Path(f"{out}.msk").exists()
        _remounted_then_cleared(out, kind, tmp_path, monkeypatch)
        assert _left(disk) == {"o.tif": new, **{f"o.tif{side}": data for side, data in NEW.items()}}, kind
        for p in disk.iterdir():
            p.unlink()


def _image(tmp_path: Path, name: str, mkfs: str) -> tuple[Path, Path, bool]:
    """A disk image of 16 MB made by ``mkfs`` in ``tmp_path``, a folder ``stick`` to mount it at, and whether mkfs
    made it."""
    image, stick = tmp_path / name, tmp_path / "stick"
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    stick.mkdir()
    return image, stick, subprocess.run([mkfs, str(image)], capture_output=True).returncode == 0


def _mount_vfat(tmp_path: Path) -> Path:
    """A FAT file system of 16 MB mounted at ``tmp_path / 'stick'`` (a loop device: root), or the test skipped."""
    mkfs = shutil.which("mkfs.vfat")
    if os.geteuid() != 0 or mkfs is None:
        pytest.skip("mounting a FAT image needs root and mkfs.vfat (dosfstools)")
    image, stick, made = _image(tmp_path, "fat.img", mkfs)
    mounted = made and subprocess.run(["mount", "-o", "loop", str(image), str(stick)],
                                      capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("this system does not mount a FAT image (no loop devices or vfat in this kernel or container)")
    return stick


def test_a_killed_write_s_sidecars_go_beside_its_image_after_a_real_fat_remount(rasters, tmp_path):
    """As above on a real FAT image, unmounted and mounted again between the kill and the next run (skipped where
    this system cannot mount one: not root, no dosfstools, a container without loop devices)."""
    from .test_stale_parts import KILLED_AT_A_STEP, _env

    stick = _mount_vfat(tmp_path)
    image, out = tmp_path / "fat.img", stick / "o.tif"
    try:
        out.write_bytes(Path(rasters["gray"]).read_bytes())
        r = subprocess.run([sys.executable, "-c", KILLED_AT_A_STEP, str(rasters["rgba"]), str(out),
                            str(KILLED_BEFORE_ITS_SIDECARS), "old"], env=_env(), capture_output=True, timeout=120)
        assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
        new = out.read_bytes()
        subprocess.run(["umount", str(stick)], check=True)
        subprocess.run(["mount", "-o", "loop", str(image), str(stick)], check=True)
        rio_io.clear_stale_parts(out)
        assert _left(stick) == {"o.tif": new, **{f"o.tif{side}": data for side, data in NEW.items()}}
    finally:
        subprocess.run(["umount", str(stick)], capture_output=True)


KILLED_AFTER_ITS_SET_ASIDES = 3  # KILLED_AT_A_STEP: an --overwrite over old .aux.xml and .ovr, before its raster's rename


def _killed_over_an_old_image(rasters, out: Path) -> bytes:
    """``out`` and its old .aux.xml and .ovr, made 10 s before the image was last written (copied before it, or the
    image edited in place since), then an --overwrite of it killed once both are set aside (.old0, .old2), before its
    raster's rename. Returns the old image's bytes."""
    from .test_stale_parts import KILLED_AT_A_STEP, _env

    old = Path(rasters["gray"]).read_bytes()
    out.write_bytes(old)
    when = out.stat().st_mtime - 10
    for side, data in OLD.items():
        Path(f"{out}{side}").write_bytes(data)
        os.utime(f"{out}{side}", (when, when))
    r = subprocess.run([sys.executable, "-c", KILLED_AT_A_STEP, str(rasters["rgba"]), str(out),
                        str(KILLED_AFTER_ITS_SET_ASIDES), "old"], env=_env(), capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    assert out.read_bytes() == old and sorted(p.suffix for p in out.parent.glob(".o.tif.*.old*")) == [".old0", ".old2"]
    return old


def test_an_overwrite_s_old_sidecars_set_aside_go_back_beside_its_image_renumbered_by_a_remount_on_fat(
        rasters, tmp_path, monkeypatch):
    """kill -9 of an --overwrite once the old image's .aux.xml and .ovr are set aside, before its raster's rename,
    then the disk remounted: on FAT, exFAT or FUSE the old image gets another inode number and change time (copied
    here onto itself), and the next run still knows it for the image they were set aside from (by the key its part's
    marker recorded: size and the digest of its ends) and puts them back; elsewhere too (ext4: the image copied onto
    itself, as a copy of the folder on another disk has it), since 2026-12-07. Before: the put-back went by change
    times alone, the image's now the later, and the old image lost its sidecars (removed with the dead run's files;
    on ext4 until 2026-12-07)."""

    disk = tmp_path / "disk"
    out = disk / "o.tif"
    disk.mkdir()
    for kind in ("vfat", "ext4"):
        old = _killed_over_an_old_image(rasters, out)
        _remounted_then_cleared(out, kind, tmp_path, monkeypatch)
        assert _left(disk) == {"o.tif": old, **{f"o.tif{side}": data for side, data in OLD.items()}}, kind
        for p in disk.iterdir():
            p.unlink()


def _mount_exfat(tmp_path: Path) -> tuple[Path, str]:
    """An exFAT file system of 16 MB mounted through FUSE (exfat-fuse, on a loop device: root) at
    ``tmp_path / 'stick'``, and that device; or the test skipped."""
    tools = [shutil.which(t) for t in ("mkfs.exfat", "mount.exfat-fuse", "losetup")]
    if os.geteuid() != 0 or None in tools:
        pytest.skip("mounting an exFAT image needs root, exfatprogs (or exfat-utils), exfat-fuse and losetup")
    image, stick, made = _image(tmp_path, "exfat.img", tools[0])
    if not made:
        pytest.skip("mkfs.exfat failed here")
    loop = subprocess.run([tools[2], "-f", "--show", str(image)], capture_output=True, text=True)
    if loop.returncode:
        pytest.skip("this system has no loop device to mount an image on")
    dev = loop.stdout.strip()
    if subprocess.run([tools[1], dev, str(stick)], capture_output=True).returncode:
        subprocess.run([tools[2], "-d", dev], capture_output=True)
        pytest.skip("this system does not mount exFAT through FUSE (no /dev/fuse in this container?)")
    return stick, dev


def test_an_overwrite_s_old_sidecars_set_aside_go_back_after_a_real_exfat_remount(rasters, tmp_path):
    """As above on a real exFAT disk (through FUSE), unmounted and mounted again between the kill and the next run
    (skipped where this system cannot mount one). There a file's change time is its modification time: the sidecars,
    older than the image, never read as set aside after it, remount or not. Before: the old image lost them."""
    stick, dev = _mount_exfat(tmp_path)
    try:
        old = _killed_over_an_old_image(rasters, stick / "o.tif")
        subprocess.run(["umount", str(stick)], check=True)
        subprocess.run(["mount.exfat-fuse", dev, str(stick)], check=True, capture_output=True)
        rio_io.clear_stale_parts(stick / "o.tif")
        assert _left(stick) == {"o.tif": old, **{f"o.tif{side}": data for side, data in OLD.items()}}
    finally:
        subprocess.run(["umount", str(stick)], capture_output=True)
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def _one_scene_twice(folder: Path) -> list:
    """Two GeoArrays of one scene upscaled twice (a nodata border, other pixels inside), whose uncompressed GeoTIFFs
    (--compress none) have one size and the same first and last 64 KiB: header, tile directory, border zeros."""
    import numpy as np
    from rasterio.crs import CRS
    from rasterio.transform import from_origin

    from ldcsr_core.geo.arrays import GeoArray
    from ldcsr_core.geo.sidecars import _ends_digest

    geos = []
    for seed in (1, 2):
        data = np.zeros((3, 1024, 1024), np.uint8)
        data[:, 100:-100, 100:-100] = np.random.default_rng(seed).integers(1, 255, (3, 824, 824), dtype=np.uint8)
        geos.append(GeoArray(data, from_origin(500000, 4000000, 1, 1), CRS.from_epsg(32633), nodata=0))
        rio_io.write_raster(folder / f"{seed}.tif", geos[-1], compress="none")
    one, two = folder / "1.tif", folder / "2.tif"
    assert one.read_bytes() != two.read_bytes() and one.stat().st_size == two.stat().st_size
    assert _ends_digest(one, one.stat().st_size) == _ends_digest(two, two.stat().st_size)  # what the key sees alike
    return geos


def test_an_overwrite_s_old_sidecars_never_go_beside_another_image_of_its_size_and_ends_put_there_by_hand(
        rasters, tmp_path, monkeypatch):
    """kill -9 of an --overwrite once the old image's .aux.xml and .ovr are set aside, then the image replaced by hand
    minutes later (cp) with another of the same scene, size and ends (:func:`_one_scene_twice`), then the FAT disk
    remounted: the next run's clean-up does not take the new image for the old one (its modification time is not the
    old one's, nor a time zone's shift from it) and leaves it without the old image's sidecars, as it does on ext4.
    Before: they were put back beside it by its size and ends alone (QGIS drew the old image's overviews)."""
    from .test_stale_parts import KILLED_AT_A_STEP, _env

    disk, scenes = tmp_path / "disk", tmp_path / "scenes"
    out = disk / "o.tif"
    disk.mkdir(), scenes.mkdir()
    _one_scene_twice(scenes)
    old, other = (scenes / "1.tif").read_bytes(), (scenes / "2.tif").read_bytes()
    for kind in ("vfat", "ext4"):
        out.write_bytes(old)
        for side, data in OLD.items():
            Path(f"{out}{side}").write_bytes(data)
        r = subprocess.run([sys.executable, "-c", KILLED_AT_A_STEP, str(rasters["rgba"]), str(out),
                            str(KILLED_AFTER_ITS_SET_ASIDES), "old"], env=_env(), capture_output=True, timeout=120)
        assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
        assert sorted(p.suffix for p in disk.glob(".o.tif.*.old*")) == [".old0", ".old2"]
        shutil.copyfile(scenes / "2.tif", out)  # cp 2.tif o.tif, five minutes after the old image was written
        when = out.stat().st_mtime + 300
        os.utime(out, (when, when))
        _remounted_then_cleared(out, kind, tmp_path, monkeypatch)
        assert _left(disk) == {"o.tif": other}, kind
        for p in disk.iterdir():
            p.unlink()


def test_an_overwrite_interrupted_before_its_rename_on_fat_leaves_the_old_image_its_sidecars(tmp_path, monkeypatch):
    """An --overwrite on FAT interrupted (Ctrl-C, an error) between setting the old image's sidecars aside and its
    raster's rename, the old image another of the new one's size and ends written in the same 2 s (a script's two
    runs of one scene): the old image keeps its .aux.xml and .ovr and the error is raised. Before: the new image
    was taken as renamed by its size and ends, the old sidecars set aside were removed as the replaced image's."""
    from ldcsr_core import file_names, files

    first, second = _one_scene_twice(tmp_path)
    disk = tmp_path / "disk"
    out = disk / "o.tif"
    disk.mkdir()
    renumbers, replace, info = file_names.renumbers_files, os.replace, _mountinfo(tmp_path, "vfat", disk)
    monkeypatch.setattr(file_names, "renumbers_files", lambda path, mountinfo=info: renumbers(path, mountinfo))
    rio_io.write_raster(out, first, compress="none")
    old = out.read_bytes()
    for side, data in OLD.items():
        Path(f"{out}{side}").write_bytes(data)

    def interrupted(src, dst):
        if str(dst) == str(out) and str(src).endswith(files.PART_SUFFIX):  # the raster's rename, not made
            t = os.stat(src).st_mtime_ns
            os.utime(out, ns=(t, t))  # (the same 2 s)
            raise KeyboardInterrupt
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rio_io.write_raster(out, second, overwrite=True, compress="none")
    monkeypatch.undo()
    assert _left(disk) == {"o.tif": old, **{f"o.tif{side}": data for side, data in OLD.items()}}


def test_an_image_on_fat_is_still_itself_with_its_time_shifted_by_a_time_zone(rasters, tmp_path, monkeypatch):
    """FAT records local times: remounted in another time zone (or after a change to summer time), an image's
    modification time moves by whole quarter hours, give or take FAT's 2 s, and it is still that image; another time
    is another file put there, whatever its size and ends."""
    from ldcsr_core import file_names
    from ldcsr_core.geo.sidecars import _file_key, _is_file

    out = tmp_path / "o.tif"
    shutil.copyfile(rasters["gray"], out)
    key, then, renumbers = _file_key(out), out.stat().st_mtime_ns, file_names.renumbers_files
    info = _mountinfo(tmp_path, "vfat", tmp_path)
    monkeypatch.setattr(file_names, "renumbers_files", lambda path, mountinfo=info: renumbers(path, mountinfo))
    seen = {}
    for shift in (0, 1, 3600, -5 * 3600 - 45 * 60 + 2, 300, -60, 3600 + 7):
        os.utime(out, ns=(then + shift * 10**9, then + shift * 10**9))
        seen[shift] = _is_file(out, key.replace(f" {out.stat().st_ino} ", " 1 ", 1))  # (another inode: remounted)
    assert seen == {0: True, 1: True, 3600: True, -5 * 3600 - 45 * 60 + 2: True, 300: False, -60: False,
                    3600 + 7: False}
